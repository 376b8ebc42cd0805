/* bindings/awscreds.c — lode.awscreds: which AWS credentials lode would use.
 *
 *   local awscreds = require "lode.awscreds"
 *   awscreds.credentials()                 -- the default chain (AWS_PROFILE or "default")
 *   awscreds.credentials("dev")            -- an explicit profile (environment keys skipped, as botocore)
 *   awscreds.credentials{profile=, imds_timeout=ms}
 *   -> {access_key_id=, provider=, expiration=, session_token=true|nil}
 *
 * provider is botocore's method name ("env", "shared-credentials-file",
 * "custom-process", "config-file", "container-role", "iam-role", ...);
 * expiration is Unix seconds or nil. The secret key and the session token
 * never cross into Lua. Each call resolves a fresh chain. Failures raise
 * {op="aws.credentials", code=, message=, provider=, retryable=}. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lode.h"
#include "lode/aws/credentials.h"

typedef struct {
    lode_op op;
    lode_aws_creds_provider *p;
    lode_aws_creds_query *q;
    lode_aws_creds *creds;
    lode_aws_creds_error err;
    int failed;
} creds_op;

static void on_creds(void *ud, lode_aws_creds *c, const lode_aws_creds_error *e)
{
    creds_op *o = ud;
    o->q = NULL;
    if (c) o->creds = c;
    else {
        o->err = *e;
        o->failed = 1;
    }
    lode_op_done(&o->op);
}

static int creds_push(lua_State *L, lode_op *op)
{
    creds_op *o = (creds_op *)op;
    if (o->failed) {
        lode_push_error(L, "aws.credentials", o->err.code, o->err.message, o->err.retryable);
        if (o->err.provider[0]) {
            lua_pushstring(L, o->err.provider);
            lua_setfield(L, -2, "provider");
        }
        return -1;
    }
    lua_createtable(L, 0, 4);
    lua_pushstring(L, o->creds->keys.access_key_id);
    lua_setfield(L, -2, "access_key_id");
    lua_pushstring(L, o->creds->provider);
    lua_setfield(L, -2, "provider");
    if (o->creds->expiration) {
        lua_pushinteger(L, (lua_Integer)o->creds->expiration);
        lua_setfield(L, -2, "expiration");
    }
    if (o->creds->keys.session_token) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "session_token");
    }
    return 1;
}

static void creds_cancel(lode_op *op)
{
    creds_op *o = (creds_op *)op;
    lode_aws_creds_cancel(o->q);
    o->q = NULL;
    lode_op_done(op);
}

static void creds_release(lode_op *op)
{
    creds_op *o = (creds_op *)op;
    lode_aws_creds_cancel(o->q);
    lode_aws_creds_unref(o->creds);
    lode_aws_creds_provider_free(o->p);
    free(o);
}

static int l_credentials(lua_State *L)
{
    lode_aws_chain_opts opts = {0};
    if (lua_type(L, 1) == LUA_TSTRING) opts.profile = lua_tostring(L, 1);
    else if (lua_istable(L, 1)) {
        if (lua_getfield(L, 1, "profile") == LUA_TSTRING) opts.profile = lua_tostring(L, -1);
        if (lua_getfield(L, 1, "imds_timeout") == LUA_TNUMBER) opts.imds_timeout_ms = (long)lua_tointeger(L, -1);
    } else if (!lua_isnoneornil(L, 1)) {
        return luaL_argerror(L, 1, "profile name or options table expected");
    }
    lode_check_task(L, "aws.credentials");
    creds_op *o = (creds_op *)lode_op_new(L, sizeof *o, "aws.credentials", creds_push, creds_cancel, creds_release);
    o->p = lode_aws_creds_chain_new(&opts, &o->err);
    if (o->p) o->q = lode_aws_creds_get(o->p, on_creds, o, &o->err);
    if (!o->q) {
        o->failed = 1;
        o->op.done = 1;
    }
    return lode_op_yield(L, &o->op);
}

int luaopen_lode_awscreds(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"credentials", l_credentials},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}

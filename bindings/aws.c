/* bindings/aws.c — lode.aws: call any AWS service API that speaks Query or
 * JSON (STS, IAM, Redshift, Glue, Athena, Redshift Data/Serverless,
 * CloudWatch, Logs, SQS, SNS, ...) from a task, signed with the process's
 * AWS credentials (aws/client.c in the runtime).
 *
 *   local aws = require "lode.aws"
 *   local glue = aws.client("glue", { region = "eu-west-1" })   -- endpoint_url=, profile=, max_attempts=,
 *                                                               -- retry_base_ms=, timeout=
 *   local r = glue:call("GetTables", { DatabaseName = "lake" })  -- r.TableList, r.NextToken
 *   glue:endpoint(), glue:region()
 *   aws.credentials(profile?)                                  -- = lode.awscreds.credentials
 *
 * Calls sign with the profile's shared credential chain (the one S3 uses):
 * roles, web identity, SSO, containers and IMDS, refreshed before expiry.
 *
 * Failures raise a structured error {op = "glue.GetTables", code, message,
 * status, request_id, retryable, attempts}. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <cjson/cJSON.h>

#include "lode.h"
#include "lode/aws/client.h"
#include "lode/core/luajson.h"

#define CLIENT_MT "lode.aws.client"

typedef struct {
    lode_aws_client *c;          /* one reference; NULL once collected */
} client_ud;

typedef struct {
    lode_op op;
    lode_aws_call *call;         /* NULL when it could not start: start_err says why */
    lode_aws_error start_err;
    cJSON *result;
} call_op;

static int json_depth(const cJSON *j)
{
    int d = 0;
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
        int k = json_depth(c);
        if (k > d) d = k;
    }
    return d + 1;
}

static int call_push(lua_State *L, lode_op *op)
{
    call_op *o = (call_op *)op;
    const lode_aws_error *e = o->call ? lode_aws_call_error(o->call) : &o->start_err;
    if (e) {
        lode_aws_push_error(L, e);
        return -1;
    }
    o->result = lode_aws_call_take_result(o->call);
    if (json_depth(o->result) > 150) {
        lode_push_error(L, "aws", "response", "the response nests deeper than 150 levels", 0);
        return -1;
    }
    lode_json_push_value(L, o->result);
    return 1;
}

static void call_cancel(lode_op *op) { lode_aws_call_cancel(((call_op *)op)->call); }

static void call_release(lode_op *op)
{
    call_op *o = (call_op *)op;
    lode_aws_call_free(o->call);
    cJSON_Delete(o->result);
    free(o);
}

static void call_done(lode_aws_call *call, void *ud)
{
    (void)call;
    lode_op_done(&((call_op *)ud)->op);
}

/* Operations that only read, by AWS's naming convention: a dry run sends these. */
static int read_only_operation(const char *op)
{
    static const char *const verbs[] = {"Get", "List", "Describe", "Head", "Search", "BatchGet", "Query",
                                        "Scan", "Select", "Lookup", "Check", "Estimate", "Preview", NULL};
    for (int i = 0; verbs[i]; i++) {
        size_t n = strlen(verbs[i]);
        if (strncmp(op, verbs[i], n) == 0 && (op[n] == '\0' || (op[n] >= 'A' && op[n] <= 'Z'))) return 1;
    }
    return 0;
}

/* client:call(operation [, params]) -> result table; in a dry run (lode
 * plan) an operation that may write is logged and answers an empty table. */
static int l_call(lua_State *L)
{
    client_ud *u = luaL_checkudata(L, 1, CLIENT_MT);
    const char *operation = luaL_checkstring(L, 2);
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    lode_check_task(L, "aws client:call");
    if (lode_dry_run() && !read_only_operation(operation)) {
        const lode_aws_service *sv = lode_aws_client_service(u->c);
        lode_logf(LODE_LOG_INFO, "plan: %s.%s (not sent in a dry run)", sv ? sv->name : "aws", operation);
        lua_newtable(L);
        return 1;
    }
    cJSON *params = NULL;
    if (lua_istable(L, 3)) {
        lode_json_push_text(L, 3);
        params = cJSON_Parse(lua_tostring(L, -1));
        lua_pop(L, 1);
        if (!params) return luaL_error(L, "aws: out of memory");
    }
    call_op *o = (call_op *)lode_op_new(L, sizeof *o, "aws.call", call_push, call_cancel, call_release);
    o->call = lode_aws_call_start(u->c, operation, params, call_done, o, &o->start_err);
    cJSON_Delete(params);
    if (!o->call) o->op.done = 1;
    return lode_op_yield(L, &o->op);
}

static int l_endpoint(lua_State *L)
{
    client_ud *u = luaL_checkudata(L, 1, CLIENT_MT);
    lua_pushstring(L, lode_aws_client_endpoint(u->c));
    return 1;
}

static int l_region(lua_State *L)
{
    client_ud *u = luaL_checkudata(L, 1, CLIENT_MT);
    lua_pushstring(L, lode_aws_client_region(u->c));
    return 1;
}

static int l_gc(lua_State *L)
{
    client_ud *u = luaL_checkudata(L, 1, CLIENT_MT);
    lode_aws_client_release(u->c);
    u->c = NULL;
    return 0;
}

static int l_tostring(lua_State *L)
{
    client_ud *u = luaL_checkudata(L, 1, CLIENT_MT);
    lua_pushfstring(L, "lode.aws.client(%s, %s)", lode_aws_client_service(u->c)->name,
                    lode_aws_client_endpoint(u->c));
    return 1;
}

static const char *opt_string(lua_State *L, const char *k)
{
    lua_getfield(L, 2, k);
    const char *v = lua_isnil(L, -1) ? NULL : lua_tostring(L, -1);
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "aws.client: option '%s' must be a string", k);
    lua_pop(L, 1);                 /* the options table keeps the string alive */
    return v;
}

static lua_Integer opt_int(lua_State *L, const char *k, lua_Integer def, lua_Integer lo, lua_Integer hi)
{
    lua_Integer v = def;
    if (lua_getfield(L, 2, k) != LUA_TNIL) {
        if (!lua_isinteger(L, -1)) luaL_error(L, "aws.client: option '%s' must be an integer", k);
        v = lua_tointeger(L, -1);
        if (v < lo || v > hi) luaL_error(L, "aws.client: option '%s' must be between %I and %I", k, lo, hi);
    }
    lua_pop(L, 1);
    return v;
}

/* aws.client(service [, {region=, endpoint_url=, profile=, max_attempts=, retry_base_ms=, timeout=}]) */
static int l_client(lua_State *L)
{
    const char *service = luaL_checkstring(L, 1);
    lode_aws_client_opts o = {.retry_base_ms = -1};
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        static const char *const known[] = {"region", "endpoint_url", "profile", "max_attempts", "retry_base_ms",
                                            "timeout", NULL};
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            int ok = 0;
            for (int i = 0; lua_type(L, -2) == LUA_TSTRING && known[i]; i++)
                if (strcmp(lua_tostring(L, -2), known[i]) == 0) ok = 1;
            if (!ok) return luaL_error(L, "aws.client: unknown option '%s'", luaL_tolstring(L, -2, NULL));
            lua_pop(L, 1);
        }
        o.region = opt_string(L, "region");
        o.endpoint_url = opt_string(L, "endpoint_url");
        o.profile = opt_string(L, "profile");
        o.max_attempts = (int)opt_int(L, "max_attempts", 0, 1, 100);
        o.retry_base_ms = opt_int(L, "retry_base_ms", -1, 0, 60000);
        o.timeout_ms = (long)opt_int(L, "timeout", 0, 1, 3600000);
    }
    client_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->c = NULL;
    luaL_setmetatable(L, CLIENT_MT);
    lode_aws_error err;
    u->c = lode_aws_client_new(service, &o, &err);
    if (!u->c) {
        lode_aws_push_error(L, &err);
        return lua_error(L);
    }
    return 1;
}

int luaopen_lode_aws(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"call", l_call},
        {"endpoint", l_endpoint},
        {"region", l_region},
        {NULL, NULL}
    };
    lode_new_class(L, CLIENT_MT, methods, l_gc, NULL, l_tostring);
    static const luaL_Reg fns[] = {
        {"client", l_client},
        {NULL, NULL}
    };
    luaL_newlib(L, fns);
    /* lode.aws.credentials is lode.awscreds.credentials (the old name stays) */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "lode.awscreds");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "credentials");
    lua_setfield(L, -3, "credentials");
    lua_pop(L, 1);
    return 1;
}

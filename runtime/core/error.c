/* error.c — the structured error table every binding raises. */
#include <string.h>

#include <lauxlib.h>

#include "lode/core/error.h"

/* __tostring: "op: message (code, HTTP 503, key s3://b/k)" built from the
 * fields present. */
static int error_tostring(lua_State *L)
{
    /* fetched before the buffer so they stay below it on the stack */
    lua_getfield(L, 1, "message");
    const char *message = lua_tostring(L, -1);
    lua_getfield(L, 1, "sqlstate");
    const char *sqlstate = lua_tostring(L, -1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_getfield(L, 1, "op");
    if (lua_isstring(L, -1)) {
        luaL_addvalue(&b);
        luaL_addstring(&b, ": ");
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, 1, "message");
    if (lua_isstring(L, -1)) luaL_addvalue(&b);
    else {
        lua_pop(L, 1);
        luaL_addstring(&b, "error");
    }
    static const char *const extra[] = {"code", "status", "sqlstate", "key", "file", NULL};
    int first = 1;
    for (int i = 0; extra[i]; i++) {
        lua_getfield(L, 1, extra[i]);
        const char *v = lua_tostring(L, -1);
        /* say each thing once: a code that is the SQLSTATE, a file the message names */
        int repeated = 0;
        if (v && i == 0) {
            repeated = sqlstate && strcmp(sqlstate, v) == 0;
        } else if (v && (i == 3 || i == 4) && message) {
            repeated = strstr(message, v) != NULL;
        }
        if (v && !repeated) {
            luaL_addstring(&b, first ? " (" : ", ");
            if (i > 0) {
                luaL_addstring(&b, extra[i]);
                luaL_addstring(&b, " ");
            }
            luaL_addvalue(&b);
            first = 0;
        } else {
            lua_pop(L, 1);
        }
    }
    if (!first) luaL_addstring(&b, ")");
    luaL_pushresult(&b);
    return 1;
}

void lode_error_init(lua_State *L)
{
    if (luaL_newmetatable(L, LODE_ERROR_MT)) {
        lua_pushcfunction(L, error_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, LODE_ERROR_MT);
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);
}

void lode_push_error(lua_State *L, const char *op, const char *code,
                     const char *message, int retryable)
{
    lua_createtable(L, 0, 6);
    if (op) {
        lua_pushstring(L, op);
        lua_setfield(L, -2, "op");
    }
    if (code) {
        lua_pushstring(L, code);
        lua_setfield(L, -2, "code");
    }
    lua_pushstring(L, message ? message : "error");
    lua_setfield(L, -2, "message");
    lua_pushboolean(L, retryable);
    lua_setfield(L, -2, "retryable");
    luaL_setmetatable(L, LODE_ERROR_MT);
}

int lode_raise_error(lua_State *L, const char *op, const char *code,
                     const char *message, int retryable)
{
    lode_push_error(L, op, code, message, retryable);
    return lua_error(L);
}

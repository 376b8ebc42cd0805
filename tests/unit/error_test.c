/* Unit test of the structured error table and lode.null, through a bare Lua state. */
#include <lauxlib.h>
#include <lualib.h>

#include "lode.h"
#include "tap.h"

int main(void)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lode_error_init(L);

    lode_push_error(L, "s3.get", "NoSuchKey", "the key does not exist", 0);
    lua_pushliteral(L, "s3://bucket/a b");
    lua_setfield(L, -2, "key");
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, -2);
    lua_call(L, 1, 1);
    is_str(lua_tostring(L, -1), "s3.get: the key does not exist (NoSuchKey, key s3://bucket/a b)",
           "error __tostring names op, message, code and key");
    lua_pop(L, 1);
    lua_getfield(L, -1, "retryable");
    ok(lua_isboolean(L, -1) && !lua_toboolean(L, -1), "retryable is a boolean");
    lua_pop(L, 2);

    lode_push_null(L);
    lode_push_null(L);
    ok(lua_rawequal(L, -1, -2), "lode.null is one value");
    ok(lode_is_null(L, -1), "lode_is_null recognises it");
    lua_pushnil(L);
    ok(!lode_is_null(L, -1), "nil is not lode.null");
    lua_pop(L, 3);

    lua_close(L);
    return done_testing();
}

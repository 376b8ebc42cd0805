/* json.c — lode.json: JSON text <-> Lua values.
 *
 *   local json = require "lode.json"
 *   json.encode({ id = 1, tags = { "a", "b" }, note = json.null })  --> '{"id":1,"tags":["a","b"],"note":null}'
 *   json.decode('[1, {"a": null}]')                                --> { 1, { a = lode.null } }
 *
 * Invalid JSON raises a structured error with the byte offset. */
#include <string.h>

#include <lauxlib.h>
#include <cjson/cJSON.h>

#include "lode.h"
#include "lode/core/luajson.h"

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lode_json_push_text(L, 1);
    return 1;
}

static int tree_gc(lua_State *L)
{
    cJSON **box = lua_touserdata(L, 1);
    if (*box) cJSON_Delete(*box);
    *box = NULL;
    return 0;
}

static int l_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= s && at <= s + len ? (size_t)(at - s) : 0;
        lua_pushfstring(L, "invalid JSON at byte %d", (int)off);
        lode_push_error(L, "json.decode", "invalid_json", lua_tostring(L, -1), 0);
        lua_pushinteger(L, (lua_Integer)off);
        lua_setfield(L, -2, "offset");
        return lua_error(L);
    }
    /* anything but whitespace after the value is an error too */
    while (end && end < s + len && strchr(" \t\r\n", *end)) end++;
    if (end && end < s + len) {
        cJSON_Delete(j);
        lua_pushfstring(L, "unexpected text after the JSON value at byte %d", (int)(end - s));
        return lode_raise_error(L, "json.decode", "invalid_json", lua_tostring(L, -1), 0);
    }
    /* the tree is owned by a box whose __gc frees it if building the Lua
     * value raises (out of memory, absurd nesting) */
    cJSON **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = j;
    if (luaL_newmetatable(L, "lode.json.tree")) {
        lua_pushcfunction(L, tree_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    lode_json_push_value(L, j);
    cJSON_Delete(j);
    *box = NULL;
    return 1;
}

int luaopen_lode_json(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"encode", l_encode},
        {"decode", l_decode},
        {NULL, NULL}
    };
    luaL_newlib(L, fns);
    lode_push_null(L);
    lua_setfield(L, -2, "null");
    return 1;
}

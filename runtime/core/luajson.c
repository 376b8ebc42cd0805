/* luajson.c — Lua values <-> JSON (cJSON), shared by lode.json and lode.http.
 * Tables with keys 1..n are arrays, other tables objects; lode.null is null. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <cjson/cJSON.h>

#include "lode.h"
#include "lode/core/luajson.h"


static int is_array(lua_State *L, int idx, lua_Integer *n)
{
    lua_Integer count = 0, max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
            lua_pop(L, 1);
            return 0;
        }
        lua_Integer k = lua_tointeger(L, -1);
        if (k > max) max = k;
        count++;
    }
    *n = max;
    return count > 0 && count == max;
}

/* Append the Lua value at idx to `parent` (array when key is NULL). Each
 * item is attached before it is filled, so a raise leaves no orphan: the
 * root is owned by a boxed userdata whose __gc deletes it. */
static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void add_json(lua_State *L, int idx, cJSON *parent, const char *key, int depth)
{
    idx = lua_absindex(L, idx);
    if (depth > 64) luaL_error(L, "json: value nested too deeply (or cyclic)");
    luaL_checkstack(L, 6, "json: value nested too deeply");   /* lua_next + key copy per level */
    cJSON *item;
    lua_Integer n = 0;
    int t = lua_type(L, idx);
    switch (t) {
    case LUA_TNIL: item = cJSON_CreateNull(); break;
    case LUA_TBOOLEAN: item = cJSON_CreateBool(lua_toboolean(L, idx)); break;
    case LUA_TNUMBER:
        item = lua_isinteger(L, idx) ? cJSON_CreateNumber((double)lua_tointeger(L, idx))
                                     : cJSON_CreateNumber(lua_tonumber(L, idx));
        break;
    case LUA_TSTRING: item = cJSON_CreateString(lua_tostring(L, idx)); break;
    case LUA_TTABLE: item = is_array(L, idx, &n) ? cJSON_CreateArray() : cJSON_CreateObject(); break;
    default:
        if (lode_is_null(L, idx)) {
            item = cJSON_CreateNull();
            break;
        }
        luaL_error(L, "json: cannot encode a %s as JSON", luaL_typename(L, idx));
        return;
    }
    if (!item) luaL_error(L, "json: out of memory");
    if (key) cJSON_AddItemToObject(parent, key, item);
    else cJSON_AddItemToArray(parent, item);
    if (t != LUA_TTABLE) return;
    if (cJSON_IsArray(item)) {
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            add_json(L, -1, item, NULL, depth + 1);
            lua_pop(L, 1);
        }
        return;
    }
    /* Objects are written with their keys sorted, so the same table always
     * gives the same bytes (and the same S3 ETag). The key strings live in
     * an anchoring table; the sorted array is a userdata, freed by the GC
     * even when a value below raises. */
    int nkeys = 0;
    lua_newtable(L);                                   /* anchor: i -> key string */
    int anchor = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
            lua_pushvalue(L, -1);
            lua_tostring(L, -1);                       /* the copy, not the iteration key */
            lua_rawseti(L, anchor, ++nkeys);
        }
    }
    const char **keys = lua_newuserdatauv(L, sizeof(char *) * (size_t)(nkeys ? nkeys : 1), 0);
    for (int i = 0; i < nkeys; i++) {
        lua_rawgeti(L, anchor, i + 1);
        keys[i] = lua_tostring(L, -1);                 /* anchored by the table */
        lua_pop(L, 1);
    }
    qsort(keys, (size_t)nkeys, sizeof *keys, cmp_keys);
    for (int i = 0; i < nkeys; i++) {
        lua_getfield(L, idx, keys[i]);
        if (lua_isnil(L, -1)) {                        /* a numeric key */
            lua_pop(L, 1);
            lua_Integer k;
            if (lua_stringtonumber(L, keys[i])) {
                k = lua_tointeger(L, -1);
                lua_pop(L, 1);
                lua_geti(L, idx, k);
            } else {
                lua_pushnil(L);
            }
        }
        add_json(L, -1, item, keys[i], depth + 1);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);                                     /* keys, anchor */
}

static int json_box_gc(lua_State *L)
{
    cJSON **box = lua_touserdata(L, 1);
    if (*box) cJSON_Delete(*box);
    *box = NULL;
    return 0;
}

/* Encode the value at idx as a JSON string pushed on the stack. */
void lode_json_push_text(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    cJSON **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    if (luaL_newmetatable(L, "lode.json.box")) {
        lua_pushcfunction(L, json_box_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    *box = cJSON_CreateArray();
    if (!*box) luaL_error(L, "json: out of memory");
    add_json(L, idx, *box, NULL, 0);
    char *s = cJSON_PrintUnformatted((*box)->child);
    cJSON_Delete(*box);
    *box = NULL;
    if (!s) luaL_error(L, "json: out of memory");
    lua_pushstring(L, s);
    cJSON_free(s);
    lua_remove(L, -2);
}

static void json_to_lua(lua_State *L, const cJSON *j, int depth)
{
    luaL_checkstack(L, 4, "JSON too deep");
    if (depth > 200) luaL_error(L, "json: value nested more than 200 levels deep");
    if (cJSON_IsNull(j)) {
        lode_push_null(L);
    } else if (cJSON_IsBool(j)) {
        lua_pushboolean(L, cJSON_IsTrue(j));
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == (double)(lua_Integer)d && d > -9.2e18 && d < 9.2e18) lua_pushinteger(L, (lua_Integer)d);
        else lua_pushnumber(L, d);
    } else if (cJSON_IsString(j)) {
        lua_pushstring(L, j->valuestring);
    } else if (cJSON_IsArray(j)) {
        lua_createtable(L, cJSON_GetArraySize(j), 0);
        int i = 1;
        for (const cJSON *c = j->child; c; c = c->next) {
            json_to_lua(L, c, depth + 1);
            lua_rawseti(L, -2, i++);
        }
    } else {
        lua_newtable(L);
        for (const cJSON *c = j->child; c; c = c->next) {
            json_to_lua(L, c, depth + 1);
            lua_setfield(L, -2, c->string ? c->string : "");
        }
    }
}


void lode_json_push_value(lua_State *L, const cJSON *j)
{
    json_to_lua(L, j, 0);
}

/* lode/core/luajson.h — Lua values <-> JSON with cJSON (lode.json, lode.http). */
#ifndef LODE_LUAJSON_H
#define LODE_LUAJSON_H

#include <lua.h>

struct cJSON;

/* Push the JSON text of the Lua value at idx (raises on functions, cycles,
 * nesting deeper than 64). */
void lode_json_push_text(lua_State *L, int idx);
/* Push the Lua value of a parsed JSON document (null is lode.null). */
void lode_json_push_value(lua_State *L, const struct cJSON *j);

#endif

/* lode/core/luautil.h — small helpers shared by the bindings. */
#ifndef LODE_LUAUTIL_H
#define LODE_LUAUTIL_H

#include <lua.h>
#include <lauxlib.h>

/* Push lode.null, the one value that stands for SQL NULL / JSON null. */
void lode_push_null(lua_State *L);
int lode_is_null(lua_State *L, int idx);

/* Register metatable `name` (once): methods as __index, gc as __gc, and
 * close (may be NULL) as __close, tostring (may be NULL) as __tostring.
 * Leaves the stack as it was. */
void lode_new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc,
                    lua_CFunction close, lua_CFunction tostring);

/* Open every built-in C module into package.preload (generated from bindings/). */
void lode_open_modules(lua_State *L);

#endif

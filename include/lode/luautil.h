/* lode/luautil.h — small helpers shared by the bindings. */
#ifndef LODE_LUAUTIL_H
#define LODE_LUAUTIL_H

#include <lua.h>

/* Push lode.null, the one value that stands for SQL NULL / JSON null. */
void lode_push_null(lua_State *L);
int lode_is_null(lua_State *L, int idx);

/* Open every built-in C module into package.preload (generated from bindings/). */
void lode_open_modules(lua_State *L);

#endif

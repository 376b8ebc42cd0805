/* lode/core/error.h — structured errors raised by bindings.
 *
 * I/O failures raise a table { op=, code=, message=, retryable=, ... } whose
 * metatable "lode.error" gives it a __tostring, so task retries can inspect it
 * and a person reads one clear line. */
#ifndef LODE_ERROR_H
#define LODE_ERROR_H

#include <lua.h>

#define LODE_ERROR_MT "lode.error"

/* Push a new error table. Extra fields can be set on it afterwards with
 * lua_setfield(L, -2, ...). */
void lode_push_error(lua_State *L, const char *op, const char *code,
                     const char *message, int retryable);
/* Push an error and raise it (does not return). */
int lode_raise_error(lua_State *L, const char *op, const char *code,
                     const char *message, int retryable);
/* Install the metatable; called once by the runtime. */
void lode_error_init(lua_State *L);

#endif

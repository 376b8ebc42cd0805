/* core.c — lode.core: the scheduler primitives, logging and run flags that
 * stdlib/lode/init.lua builds the public `lode` module from. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <cjson/cJSON.h>

#include "lode.h"

/* Convert a flat Lua table of scalars into a cJSON object (for log fields). */
static cJSON *fields_to_json(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx)) return NULL;
    luaL_checktype(L, idx, LUA_TTABLE);
    cJSON *o = cJSON_CreateObject();
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -2);
            switch (lua_type(L, -1)) {
            case LUA_TBOOLEAN:
                cJSON_AddBoolToObject(o, k, lua_toboolean(L, -1));
                break;
            case LUA_TNUMBER:
                if (lua_isinteger(L, -1))
                    cJSON_AddNumberToObject(o, k, (double)lua_tointeger(L, -1));
                else
                    cJSON_AddNumberToObject(o, k, lua_tonumber(L, -1));
                break;
            default: {
                const char *v = luaL_tolstring(L, -1, NULL);
                cJSON_AddStringToObject(o, k, v);
                lua_pop(L, 1);
            }
            }
        }
        lua_pop(L, 1);
    }
    return o;
}

/* core.log(level, message [, fields]) */
static int l_log(lua_State *L)
{
    int level = lode_log_parse_level(luaL_checkstring(L, 1));
    if (level < 0 || level == LODE_LOG_OFF) return luaL_argerror(L, 1, "unknown log level");
    const char *msg = luaL_checkstring(L, 2);
    if (!lode_log_enabled(level)) return 0;
    lode_log_fields(level, lode_task_name(lode_task_of(L)), msg, fields_to_json(L, 3));
    return 0;
}

/* core.configure_log{level=, format=, run_id=, pipeline=} */
static int l_configure_log(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_getfield(L, 1, "level") == LUA_TSTRING) {
        int level = lode_log_parse_level(lua_tostring(L, -1));
        if (level < 0) return luaL_error(L, "unknown log level '%s' (use debug, info, warn, error or off)", lua_tostring(L, -1));
        lode_log_set_level(level);
    }
    if (lua_getfield(L, 1, "format") == LUA_TSTRING) {
        const char *f = lua_tostring(L, -1);
        if (strcmp(f, "json") == 0) lode_log_set_json(1);
        else if (strcmp(f, "text") == 0) lode_log_set_json(0);
        else return luaL_error(L, "unknown log format '%s' (use text or json)", f);
    }
    lua_getfield(L, 1, "run_id");
    lua_getfield(L, 1, "pipeline");
    if (!lua_isnil(L, -1) || !lua_isnil(L, -2))
        lode_log_set_run(lua_tostring(L, -2), lua_tostring(L, -1));
    return 0;
}

static int l_log_level(lua_State *L)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    lua_pushstring(L, names[lode_log_get_level()]);
    return 1;
}

static int l_dry_run(lua_State *L)
{
    lua_pushboolean(L, lode_dry_run());
    return 1;
}

static int l_set_dry_run(lua_State *L)
{
    lode_set_dry_run(lua_toboolean(L, 1));
    return 0;
}

/* core.now() -> milliseconds on the loop's monotonic clock */
static int l_now(lua_State *L)
{
    uv_update_time(lode_loop());
    lua_pushinteger(L, (lua_Integer)lode_now_ms());
    return 1;
}

/* core.hrtime() -> nanoseconds, monotonic */
static int l_hrtime(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)uv_hrtime());
    return 1;
}

/* core.time() -> seconds since the epoch, as a float (wall clock) */
static int l_time(lua_State *L)
{
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    lua_pushnumber(L, (double)tv.tv_sec + tv.tv_usec / 1e6);
    return 1;
}

/* core.maxrss() -> peak resident set size of this process in KiB */
static int l_maxrss(lua_State *L)
{
    uv_rusage_t ru;
    if (uv_getrusage(&ru) != 0) return 0;
    lua_pushinteger(L, (lua_Integer)ru.ru_maxrss);
    return 1;
}

/* core.exepath() -> absolute path of the running lode executable */
static int l_exepath(lua_State *L)
{
    char buf[4096];
    size_t len = sizeof buf;
    if (uv_exepath(buf, &len) != 0) return 0;
    lua_pushlstring(L, buf, len);
    return 1;
}

/* core.isatty(fd) -> whether fd (1 = stdout, 2 = stderr) is a terminal */
static int l_isatty(lua_State *L)
{
    int fd = (int)luaL_optinteger(L, 1, 2);
    lua_pushboolean(L, uv_guess_handle(fd) == UV_TTY);
    return 1;
}

static int l_in_task(lua_State *L)
{
    lua_pushboolean(L, lode_task_of(L) != NULL);
    return 1;
}

/* core.error{op=, code=, message=, retryable=, ...} -> structured error value */
static int l_error(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    luaL_setmetatable(L, LODE_ERROR_MT);
    return 1;
}

static int l_null(lua_State *L)
{
    lode_push_null(L);
    return 1;
}

int luaopen_lode_core(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"spawn", lode_l_spawn},
        {"future", lode_l_future},
        {"sleep", lode_l_sleep},
        {"wait_all", lode_l_wait_all},
        {"current", lode_l_current},
        {"set_task_name", lode_l_set_task_name},
        {"live_tasks", lode_l_live_tasks},
        {"log", l_log},
        {"configure_log", l_configure_log},
        {"log_level", l_log_level},
        {"dry_run", l_dry_run},
        {"set_dry_run", l_set_dry_run},
        {"now", l_now},
        {"hrtime", l_hrtime},
        {"time", l_time},
        {"maxrss", l_maxrss},
        {"in_task", l_in_task},
        {"exepath", l_exepath},
        {"isatty", l_isatty},
        {"error", l_error},
        {"get_null", l_null},
        {NULL, NULL}
    };
    luaL_newlib(L, fns);
    lode_push_null(L);
    lua_setfield(L, -2, "null");
    lua_pushliteral(L, LODE_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}

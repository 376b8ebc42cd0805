/* main.c — the `lode` executable: one lua_State, the stdlib on package.path,
 * and the CLI (stdlib/lode/cli.lua) run as the main task. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lode.h"
#include "lode/core/mem.h"

/* An error outside any protected call: say what it was and stop. */
static int panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "lode: unprotected Lua error: %s\n", msg ? msg : "(not a string)");
    return 0;   /* Lua aborts */
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Find the Lua stdlib: $LODE_STDLIB, then the build tree (<exe>/../stdlib),
 * then the installed layout (<prefix>/bin/lode -> <prefix>/share/lode/lua). */
static int find_stdlib(char *out, size_t n)
{
    const char *env = getenv("LODE_STDLIB");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return 0;
    }
    char exe[4096];
    size_t len = sizeof exe;
    if (uv_exepath(exe, &len) != 0) return -1;
    char *slash = strrchr(exe, '/');
    if (!slash) return -1;
    *slash = '\0';
    static const char *const candidates[] = {"%s/../stdlib", "%s/../share/lode/lua", NULL};
    for (int i = 0; candidates[i]; i++) {
        char probe[4200];
        snprintf(out, n, candidates[i], exe);
        snprintf(probe, sizeof probe, "%s/lode/init.lua", out);
        if (file_exists(probe)) {
            char *real = realpath(out, NULL);
            if (real) {
                snprintf(out, n, "%s", real);
                free(real);
            }
            return 0;
        }
    }
    return -1;
}

static void set_package_path(lua_State *L, const char *stdlib)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", stdlib, stdlib, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
}

/* Print the main task's error: structured CLI errors plainly, everything
 * else with its traceback. Returns the exit code. */
static int report_error(lua_State *L)
{
    /* stack: error value, traceback */
    int code = 1;
    if (lua_istable(L, -2)) {
        lua_getfield(L, -2, "exit_code");
        if (lua_isinteger(L, -1)) code = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    if (code == 2) {
        lua_getglobal(L, "tostring");
        lua_pushvalue(L, -3);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK) fprintf(stderr, "lode: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    } else {
        fprintf(stderr, "lode: %s\n", lua_tostring(L, -1));
    }
    return code;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    lode_mem_init();
    lua_State *L = lua_newstate(lode_lua_alloc, NULL);
    if (!L) {
        fprintf(stderr, "lode: cannot create the Lua state (out of memory)\n");
        return 1;
    }
    lua_atpanic(L, panic);
    luaL_openlibs(L);
    if (lode_runtime_init(L) != 0) {
        fprintf(stderr, "lode: cannot start the event loop\n");
        return 1;
    }
    lode_open_modules(L);
    char stdlib[4096];
    if (find_stdlib(stdlib, sizeof stdlib) != 0) {
        fprintf(stderr, "lode: cannot find the Lua standard library (stdlib/lode/init.lua "
                        "next to the binary, or share/lode/lua after `make install`); "
                        "set LODE_STDLIB to its folder\n");
        return 2;
    }
    set_package_path(L, stdlib);
    lua_pushstring(L, stdlib);
    lua_setglobal(L, "LODE_STDLIB");

    if (luaL_loadstring(L, "return require('lode.cli').main(...)") != LUA_OK) {
        fprintf(stderr, "lode: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_createtable(L, argc, 0);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_pushstring(L, argv[0]);
    lua_rawseti(L, -2, 0);
    int code;
    if (lode_runtime_run_main(L, 1) == 0) {
        code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
        lua_pop(L, 1);
    } else {
        code = report_error(L);
        lua_pop(L, 2);
    }
    fflush(stdout);
    lode_runtime_shutdown(L);
    return code;
}

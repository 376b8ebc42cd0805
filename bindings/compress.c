/* bindings/compress.c — lode.compress: streaming gzip / bzip2 / zstd.
 *
 *   local compress = require "lode.compress"
 *   local z <close> = compress.new("gzip")     -- "gzip" | "bzip2" | "zstd"
 *   out:write(z:write(data))                   -- the compressed bytes so far ("" is fine)
 *   out:write(z:finish())                      -- the rest; the stream has ended
 *
 * CPU only, no I/O: each call compresses what it is given and returns. */
#include <lauxlib.h>

#include "lode.h"
#include "lode/load/compress.h"

#define COMPRESSOR_MT "lode.compress.compressor"

typedef struct {
    lode_compressor *z;
    int closed;
} compressor_ud;

static compressor_ud *check(lua_State *L)
{
    compressor_ud *u = luaL_checkudata(L, 1, COMPRESSOR_MT);
    if (u->closed) luaL_error(L, "compress: the compressor is closed");
    return u;
}

static int close_ud(lua_State *L)
{
    compressor_ud *u = luaL_checkudata(L, 1, COMPRESSOR_MT);
    if (!u->closed) {
        u->closed = 1;
        lode_compressor_free(u->z);
        u->z = NULL;
    }
    return 0;
}

static int run(lua_State *L, int finish)
{
    compressor_ud *u = check(L);
    size_t n = 0;
    const char *src = finish ? luaL_optlstring(L, 2, "", &n) : luaL_checklstring(L, 2, &n);
    const uint8_t *out;
    size_t outlen;
    char err[200];
    if (lode_compressor_run(u->z, src, n, finish, &out, &outlen, err, sizeof err) < 0)
        return luaL_error(L, "compress: %s", err);
    lua_pushlstring(L, (const char *)out, outlen);
    return 1;
}

static int l_write(lua_State *L) { return run(L, 0); }
static int l_finish(lua_State *L) { return run(L, 1); }

static int l_new(lua_State *L)
{
    static const char *const kinds[] = { "gzip", "bzip2", "zstd", NULL };
    static const int codes[] = { LODE_COMPRESS_GZIP, LODE_COMPRESS_BZIP2, LODE_COMPRESS_ZSTD };
    int k = luaL_checkoption(L, 1, NULL, kinds);
    compressor_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->z = NULL;
    u->closed = 1;
    luaL_setmetatable(L, COMPRESSOR_MT);
    char err[200];
    u->z = lode_compressor_new(codes[k], err, sizeof err);
    if (!u->z) return luaL_error(L, "compress.new: %s", err);
    u->closed = 0;
    return 1;
}

int luaopen_lode_compress(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "write", l_write }, { "finish", l_finish }, { "close", close_ud }, { NULL, NULL },
    };
    lode_new_class(L, COMPRESSOR_MT, methods, close_ud, close_ud, NULL);
    static const luaL_Reg fns[] = { { "new", l_new }, { NULL, NULL } };
    luaL_newlib(L, fns);
    return 1;
}

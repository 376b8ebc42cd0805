/* bindings/parquetwrite.c — lode.parquetwrite: write rows of PostgreSQL text
 * values to a local Parquet file, or to memory drained by w:take()
 * (lode/parquet/write.h).
 *
 *   local pw = require "lode.parquetwrite"
 *   local w <close> = pw.open(path, { {name = "id", type = "int32"},
 *                                     {name = "amount", type = "decimal", precision = 12, scale = 2} },
 *                             { row_group_size = 32 * 1024 * 1024, compression = "snappy" })
 *   w:write({ "1", false })        -- one row: text values, false for NULL; an int or
 *                                  -- float column also takes a Lua number
 *   w:flush()                      -- end the row group now (row groups sized by rows)
 *   w:size(); w:rows()             -- bytes so far (incl. the row group being built), rows
 *   w:close()                      -- the footer; the file is complete
 *
 *   local m = pw.open(false, cols)  -- in memory: the bytes written so far wait
 *   m:pending()                     -- ... this many of them
 *   m:take(n)                       -- ... the first n (all without n) as a string, dropped
 *
 * Types: boolean int32 int64 float double string date timestamp timestamptz
 * time decimal (precision 1-38). Compression: snappy zstd gzip none.
 * CPU and local disk only, no yielding. */
#include <lauxlib.h>
#include <stdlib.h>

#include "lode.h"
#include "lode/parquet/codec.h"
#include "lode/parquet/write.h"

#define WRITER_MT "lode.parquetwrite.writer"

typedef struct {
    lode_pqw *w;
    int ncols;
    int closed;
} writer_ud;

static writer_ud *check_open(lua_State *L)
{
    writer_ud *u = luaL_checkudata(L, 1, WRITER_MT);
    if (u->closed) luaL_error(L, "parquetwrite: the writer is closed");
    return u;
}

static int gc_writer(lua_State *L)
{
    writer_ud *u = luaL_checkudata(L, 1, WRITER_MT);
    if (u->w) {
        lode_pqw_free(u->w);
        u->w = NULL;
    }
    u->closed = 1;
    return 0;
}

static int l_write(lua_State *L)
{
    writer_ud *u = check_open(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    char err[256];
    for (int i = 0; i < u->ncols; i++) {
        int t = lua_rawgeti(L, 2, i + 1);
        size_t len = 0;
        const char *s = NULL;
        if (t == LUA_TNUMBER) {      /* an int or float column's value as is, not printed and parsed back */
            int is_int = lua_isinteger(L, -1);
            int rc = lode_pqw_number(u->w, i, is_int, is_int ? (int64_t)lua_tointeger(L, -1) : 0,
                                     is_int ? 0 : (double)lua_tonumber(L, -1), err, sizeof err);
            lua_pop(L, 1);
            if (rc < 0) return luaL_error(L, "%s", err);
            continue;
        }
        if (t == LUA_TSTRING) s = lua_tolstring(L, -1, &len);
        else if (!(lua_isboolean(L, -1) && !lua_toboolean(L, -1)) && !lua_isnil(L, -1) && !lode_is_null(L, -1))
            return luaL_error(L, "parquetwrite: value %d must be a string or false (NULL)", i + 1);
        int rc = lode_pqw_value(u->w, i, s, len, err, sizeof err);
        lua_pop(L, 1);
        if (rc < 0) return luaL_error(L, "%s", err);
    }
    if (lode_pqw_end_row(u->w, err, sizeof err) < 0) return luaL_error(L, "%s", err);
    return 0;
}

static int l_flush(lua_State *L)
{
    char err[256];
    if (lode_pqw_flush(check_open(L)->w, err, sizeof err) < 0) return luaL_error(L, "%s", err);
    return 0;
}

static int l_size(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)lode_pqw_size(check_open(L)->w));
    return 1;
}

static int l_rows(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)lode_pqw_rows(check_open(L)->w));
    return 1;
}

static int l_pending(lua_State *L)
{
    size_t n;
    writer_ud *u = luaL_checkudata(L, 1, WRITER_MT);
    if (!u->w) return lua_pushinteger(L, 0), 1;
    lode_pqw_output(u->w, &n);
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* The output is kept after close (the footer is in it) until taken. */
static int l_take(lua_State *L)
{
    size_t n;
    writer_ud *u = luaL_checkudata(L, 1, WRITER_MT);
    if (!u->w) return luaL_error(L, "parquetwrite: the writer is closed");
    const char *p = lode_pqw_output(u->w, &n);
    lua_Integer want = luaL_optinteger(L, 2, (lua_Integer)n);
    luaL_argcheck(L, want >= 0, 2, "a byte count >= 0");
    if ((size_t)want < n) n = (size_t)want;
    lua_pushlstring(L, p ? p : "", n);
    lode_pqw_consume(u->w, n);
    return 1;
}

static int l_close(lua_State *L)
{
    writer_ud *u = luaL_checkudata(L, 1, WRITER_MT);
    if (u->closed) return 0;
    char err[256];
    int rc = lode_pqw_close(u->w, err, sizeof err);
    size_t left;
    lode_pqw_output(u->w, &left);
    if (rc < 0 || left == 0) {     /* an in-memory writer stays until its output is taken */
        lode_pqw_free(u->w);
        u->w = NULL;
    }
    u->closed = 1;
    if (rc < 0) return luaL_error(L, "%s", err);
    return 0;
}

static int l_open(lua_State *L)
{
    static const char *const types[] = { "boolean", "int32", "int64", "float", "double", "string", "date",
                                         "timestamp", "decimal", "timestamptz", "time", NULL };
    static const int codes[] = { LODE_PQW_BOOLEAN, LODE_PQW_INT32, LODE_PQW_INT64, LODE_PQW_FLOAT,
                                 LODE_PQW_DOUBLE, LODE_PQW_STRING, LODE_PQW_DATE, LODE_PQW_TIMESTAMP,
                                 LODE_PQW_DECIMAL, LODE_PQW_TIMESTAMPTZ, LODE_PQW_TIME };
    static const char *const codecs[] = { "snappy", "zstd", "gzip", "none", NULL };
    static const int codec_ids[] = { LODE_CODEC_SNAPPY, LODE_CODEC_ZSTD, LODE_CODEC_GZIP, LODE_CODEC_UNCOMPRESSED };
    const char *path = NULL;
    if (!(lua_isboolean(L, 1) && !lua_toboolean(L, 1))) path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 2);
    if (n < 1 || n > 10000) return luaL_argerror(L, 2, "expected 1 to 10000 columns");
    lua_Integer rg = 0;
    int codec = LODE_CODEC_SNAPPY;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "row_group_size");
        rg = luaL_optinteger(L, -1, 0);
        lua_pop(L, 1);
        lua_getfield(L, 3, "compression");
        codec = codec_ids[luaL_checkoption(L, -1, "snappy", codecs)];
        lua_pop(L, 1);
    }
    writer_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->w = NULL;
    u->ncols = (int)n;
    u->closed = 1;
    luaL_setmetatable(L, WRITER_MT);
    int ud = lua_gettop(L);
    lode_pqw_column *cols = lua_newuserdatauv(L, sizeof *cols * (size_t)n, 0);   /* freed by the GC */
    for (lua_Integer i = 0; i < n; i++) {
        lua_rawgeti(L, 2, i + 1);
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_getfield(L, -1, "name");
        cols[i].name = luaL_checkstring(L, -1);
        lua_pop(L, 1);                                /* the column table keeps the name alive */
        lua_getfield(L, -1, "type");
        cols[i].type = codes[luaL_checkoption(L, -1, NULL, types)];
        lua_pop(L, 1);
        lua_getfield(L, -1, "precision");
        cols[i].precision = (int)luaL_optinteger(L, -1, 0);
        lua_pop(L, 1);
        lua_getfield(L, -1, "scale");
        cols[i].scale = (int)luaL_optinteger(L, -1, 0);
        lua_pop(L, 2);
    }
    char err[256];
    u->w = lode_pqw_open(path, cols, (int)n, (size_t)rg, err, sizeof err);
    if (!u->w) return luaL_error(L, "%s", err);
    if (lode_pqw_set_codec(u->w, codec, err, sizeof err) < 0) return luaL_error(L, "%s", err);
    u->closed = 0;
    lua_settop(L, ud);
    return 1;
}

int luaopen_lode_parquetwrite(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "write", l_write }, { "flush", l_flush }, { "size", l_size }, { "rows", l_rows }, { "close", l_close },
        { "pending", l_pending }, { "take", l_take }, { NULL, NULL },
    };
    lode_new_class(L, WRITER_MT, methods, gc_writer, gc_writer, NULL);
    static const luaL_Reg fns[] = { { "open", l_open }, { NULL, NULL } };
    luaL_newlib(L, fns);
    return 1;
}

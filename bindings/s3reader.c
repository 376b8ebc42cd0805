/* bindings/s3reader.c — lode.s3reader: an S3 object as a random-access
 * reader over a lode_source (ranged GETs with If-Match); lode.s3 exports
 * its open as s3.open.
 *
 *   local r <close> = s3.open("s3://bucket/key")   -- r.size, r.etag, r.reads
 *   local bytes = r:read(offset, len)               -- shorter at the end of the object
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lode.h"
#include "lode/s3/s3.h"

#define READER_MT "lode.s3.reader"

typedef struct {
    lode_source *src;
    int closed;
} reader_ud;

typedef struct {
    lode_op op;
    lode_source *src;            /* open: the result; handed to the userdata on push */
    lode_s3_error err;
    int failed;
    char *buf;                   /* read: the destination */
    size_t nread;
    char msg[1500];
} src_op;

static void src_open_cb(void *ud, lode_source *src, const lode_s3_error *err)
{
    src_op *o = ud;
    if (src) o->src = src;
    else {
        o->err = *err;
        o->failed = 1;
    }
    if (!o->op.task && o->src) {            /* the task was cancelled meanwhile */
        lode_source_close(o->src);
        o->src = NULL;
    }
    lode_op_done(&o->op);
}

static void src_release(lode_op *op)
{
    src_op *o = (src_op *)op;
    if (o->src) lode_source_close(o->src);
    free(o->buf);
    free(o);
}

static int reader_close(lua_State *L)
{
    reader_ud *r = luaL_checkudata(L, 1, READER_MT);
    if (!r->closed) {
        r->closed = 1;
        lode_source_close(r->src);
        r->src = NULL;
    }
    return 0;
}

static int src_open_push(lua_State *L, lode_op *op)
{
    src_op *o = (src_op *)op;
    if (o->failed) {
        lode_s3_push_error(L, "s3.open", &o->err);
        return -1;
    }
    reader_ud *r = lua_newuserdatauv(L, sizeof *r, 0);
    r->src = o->src;
    r->closed = 0;
    o->src = NULL;
    luaL_setmetatable(L, READER_MT);
    return 1;
}

/* s3.open(url) -> reader {size, etag, :read(offset, len), :close()} */
static int l_open(lua_State *L)
{
    const char *url = luaL_checkstring(L, 1);
    lode_s3_error e;
    lode_s3 *c = lode_s3_default(&e);
    if (!c) {
        lode_s3_push_error(L, "s3.open", &e);
        return lua_error(L);
    }
    src_op *o = (src_op *)lode_op_new(L, sizeof *o, "s3.open", src_open_push, NULL, src_release);
    if (lode_source_open_s3(c, url, src_open_cb, o, &o->err) != 0) {
        o->failed = 1;
        o->op.done = 1;
    }
    return lode_op_yield(L, &o->op);
}

static void src_read_cb(void *ud, int status, size_t nread, const char *errmsg)
{
    src_op *o = ud;
    o->nread = nread;
    if (status != 0) {
        o->failed = 1;
        snprintf(o->msg, sizeof o->msg, "%s", errmsg ? errmsg : "read failed");
    }
    lode_op_done(&o->op);
}

static int src_read_push(lua_State *L, lode_op *op)
{
    src_op *o = (src_op *)op;
    if (o->failed) {
        lode_push_error(L, "s3.read", "read", o->msg, 1);
        return -1;
    }
    lua_pushlstring(L, o->buf ? o->buf : "", o->nread);
    return 1;
}

/* reader:read(offset, len) -> string (shorter at the end of the object) */
static int reader_read(lua_State *L)
{
    reader_ud *r = luaL_checkudata(L, 1, READER_MT);
    lua_Integer off = luaL_checkinteger(L, 2), len = luaL_checkinteger(L, 3);
    luaL_argcheck(L, off >= 0, 2, "offset must be >= 0");
    luaL_argcheck(L, len >= 0 && len <= (256 << 20), 3, "len must be between 0 and 256 MiB");
    if (r->closed) return luaL_error(L, "s3 reader is closed");
    src_op *o = (src_op *)lode_op_new(L, sizeof *o, "s3.read", src_read_push, NULL, src_release);
    o->buf = malloc((size_t)len + 1);
    /* the reader may be closed while this read is in flight: the source
     * completes it first (lode_source contract) */
    int rc = o->buf ? lode_source_read(r->src, (uint64_t)off, (size_t)len, o->buf, src_read_cb, o) : UV_ENOMEM;
    if (rc != 0) {
        o->failed = 1;
        snprintf(o->msg, sizeof o->msg, "%s: %s", r->src->name, uv_strerror(rc));
        o->op.done = 1;
    }
    return lode_op_yield(L, &o->op);
}

static int reader_index(lua_State *L)
{
    reader_ud *r = luaL_checkudata(L, 1, READER_MT);
    const char *k = luaL_checkstring(L, 2);
    if (!r->closed && strcmp(k, "size") == 0) lua_pushinteger(L, (lua_Integer)r->src->size);
    else if (!r->closed && strcmp(k, "etag") == 0) lua_pushstring(L, r->src->etag);
    else if (!r->closed && strcmp(k, "reads") == 0) lua_pushinteger(L, (lua_Integer)r->src->reads);
    else if (strcmp(k, "read") == 0) lua_pushcfunction(L, reader_read);
    else if (strcmp(k, "close") == 0) lua_pushcfunction(L, reader_close);
    else lua_pushnil(L);
    return 1;
}

int luaopen_lode_s3reader(lua_State *L)
{
    static const luaL_Reg fns[] = {{"open", l_open}, {NULL, NULL}};
    if (luaL_newmetatable(L, READER_MT)) {
        lua_pushcfunction(L, reader_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, reader_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, reader_close);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    luaL_newlib(L, fns);
    return 1;
}

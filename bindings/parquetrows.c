/* parquetrows.c — lode.parquetrows: Parquet rows for Lua and for
 * `lode parquet cat`.
 *
 *   local pr = require "lode.parquetrows"
 *   local n = pr.cat(path, {columns = {"a", "b"}, format = "csv"})  -- rows to stdout
 *   local rd = pr.open(path, {columns = {"a"}})
 *   for row in rd:rows() do ... row.a ... end    -- lode.null for NULL
 *   rd:close()
 *
 * Owns: one reader userdata per open file (a local path, file:// path or s3:// URL) (the lode_pqr and its
 * lode_source, freed by close/__gc); a cat op owns its reader and output
 * buffer until it completes. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lode.h"
#include "lode/parquet/parquet.h"
#include "lode/parquet/read.h"
#include "lode/s3/open.h"
#include "lode/core/source.h"

#define READER_MT "lode.parquetrows.reader"

typedef struct pq_handle {
    lode_source *src;         /* NULL until the open completes */
    lode_pqr *r;              /* created with src */
    lode_pqr_options opts;    /* kept until the source is open */
    const char **names;       /* projection (copies owned here) */
    size_t n_names;
    char *url;                /* what the caller asked to open */
    char open_err[1200];      /* why the source could not be opened ("" = fine) */
    const char *open_code;    /* "not_found", "ObjectChanged", "io" (lode/s3/open.h) */
    int open_retryable;
    lode_pqr_cb on_open;      /* run once the footer is read or the open failed */
    void *open_ud;
    int busy;                 /* an open, footer or row-group read is in flight */
    int close_requested;      /* closed while busy: the load frees it */
    char *suffix;             /* opts.row_suffix, owned */
} pq_handle;

static void handle_free(pq_handle *h)
{
    lode_pqr_free(h->r);
    lode_source_close(h->src);
    for (size_t i = 0; i < h->n_names; i++) free((void *)h->names[i]);
    free(h->names);
    free(h->suffix);
    free(h->url);
    free(h);
}

/* Whether the open or the reader failed, and why. */
static int handle_failed(const pq_handle *h)
{
    return h->open_err[0] || (h->r && lode_pqr_failed(h->r));
}

static const char *handle_error(const pq_handle *h)
{
    if (h->open_err[0]) return h->open_err;
    return h->r ? lode_pqr_error(h->r) : "parquet reader not open";
}

static const char *handle_code(const pq_handle *h)
{
    return h->open_err[0] && h->open_code ? h->open_code : "parquet";
}
/* Parse {columns=, format=, header=, accept_invalid_chars=, missing=,
 * suffix=} into opts; the column names and the suffix are copied into h.
 * missing = "null": named columns the file lacks read as NULL; suffix: text
 * put at the end of every text/CSV/TSV row (constant trailing columns). */
static void parse_opts(lua_State *L, int idx, pq_handle *h, lode_pqr_options *o, lode_pqr_format def_fmt)
{
    memset(o, 0, sizeof *o);
    o->format = def_fmt;
    if (lua_isnoneornil(L, idx)) return;
    luaL_checktype(L, idx, LUA_TTABLE);
    if (lua_getfield(L, idx, "columns") == LUA_TTABLE) {
        size_t n = (size_t)luaL_len(L, -1);
        h->names = calloc(n + 1, sizeof *h->names);
        if (!h->names) luaL_error(L, "out of memory");
        for (size_t i = 0; i < n; i++) {
            lua_rawgeti(L, -1, (lua_Integer)i + 1);
            const char *s = lua_tostring(L, -1);
            if (!s) luaL_argerror(L, idx, "columns must be a list of names");
            h->names[i] = strdup(s);
            h->n_names = i + 1;
            lua_pop(L, 1);
        }
        o->columns = h->names;
        o->n_columns = n;
    } else if (!lua_isnil(L, -1)) {
        luaL_argerror(L, idx, "columns must be a list of names");
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "format") == LUA_TSTRING) {
        const char *f = lua_tostring(L, -1);
        if (!strcmp(f, "csv")) o->format = LODE_PQR_CSV;
        else if (!strcmp(f, "tsv")) o->format = LODE_PQR_TSV;
        else if (!strcmp(f, "jsonl")) o->format = LODE_PQR_JSONL;
        else if (!strcmp(f, "text")) o->format = LODE_PQR_TEXT;
        else if (!strcmp(f, "binary")) o->format = LODE_PQR_BINARY;
        else luaL_argerror(L, idx, "format must be text, csv, tsv, jsonl or binary");
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "header") == LUA_TBOOLEAN) o->no_header = !lua_toboolean(L, -1);
    lua_pop(L, 1);
    int t = lua_getfield(L, idx, "accept_invalid_chars");
    if (t == LUA_TBOOLEAN) {
        o->replace_invalid_utf8 = lua_toboolean(L, -1);
    } else if (t == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        if (n != 1) luaL_argerror(L, idx, "accept_invalid_chars must be one ASCII character");
        o->replace_invalid_utf8 = 1;
        o->replacement = s[0];
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "missing") == LUA_TSTRING) {
        const char *m = lua_tostring(L, -1);
        if (!strcmp(m, "null")) o->missing_as_null = 1;
        else if (strcmp(m, "error") != 0) luaL_argerror(L, idx, "missing must be 'null' or 'error'");
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "suffix") == LUA_TSTRING) {
        size_t n;
        const char *sfx = lua_tolstring(L, -1, &n);
        h->suffix = malloc(n + 1);
        if (!h->suffix) luaL_error(L, "out of memory");
        memcpy(h->suffix, sfx, n + 1);
        o->row_suffix = h->suffix;
        o->row_suffix_len = n;
    } else if (!lua_isnil(L, -1)) {
        luaL_argerror(L, idx, "suffix must be a string");
    }
    lua_pop(L, 1);
}

/* A handle for the path or URL at index 1 with its options parsed; nothing
 * is opened yet (handle_start does that). */
static pq_handle *handle_new(lua_State *L, int opts_idx, lode_pqr_format def_fmt)
{
    const char *path = luaL_checkstring(L, 1);
    pq_handle *h = calloc(1, sizeof *h);
    if (!h) luaL_error(L, "out of memory");
    parse_opts(L, opts_idx, h, &h->opts, def_fmt);   /* may raise: h leaks only on misuse */
    h->url = strdup(path);
    if (!h->url) {
        handle_free(h);
        luaL_error(L, "out of memory");
    }
    return h;
}

/* The source is open: make the reader and read the footer. */
static void handle_attach(pq_handle *h, lode_source *src)
{
    h->src = src;
    h->r = lode_pqr_new(src, &h->opts);
    if (!h->r) {
        snprintf(h->open_err, sizeof h->open_err, "%s: out of memory", h->url);
        h->on_open(h->open_ud, NULL);
        return;
    }
    lode_pqr_open(h->r, h->on_open, h->open_ud);
}

static void on_source(void *ud, lode_source *src, const lode_source_open_error *e)
{
    pq_handle *h = ud;
    if (!src) {
        h->open_code = e->code;
        h->open_retryable = e->retryable;
        snprintf(h->open_err, sizeof h->open_err, "%s", e->message);
        h->on_open(h->open_ud, NULL);
        return;
    }
    handle_attach(h, src);
}

/* Open the source (lode_source_open_url: a local path, file://path, or s3://
 * URL, whose last bytes come with the open) and read the footer; cb(ud, r)
 * runs once either way, maybe before this returns. r is NULL when the open
 * failed: see handle_failed. */
static void handle_start(pq_handle *h, lode_pqr_cb cb, void *ud)
{
    h->on_open = cb;
    h->open_ud = ud;
    lode_source_open_url(h->url, NULL, LODE_PQ_SPECULATIVE_DEFAULT, on_source, h);
}

/* ---- cat: the whole file to stdout -------------------------------------------------- */

typedef struct {
    lode_op op;
    pq_handle *h;
    lode_pqr_dump dump;      /* the read loop (parquet/dump.c) */
    char err[1200];
    int failed;
} cat_op;

static void cat_finish(cat_op *c)
{
    if (c->dump.failed && !c->failed) {
        c->failed = 1;
        snprintf(c->err, sizeof c->err, "%s", c->dump.err);
    }
    if (handle_failed(c->h) && !c->failed) {
        c->failed = 1;
        snprintf(c->err, sizeof c->err, "%s", handle_error(c->h));
    }
    lode_op_done(&c->op);
}

static void cat_dumped(lode_pqr_dump *d, void *ud)
{
    (void)d;
    cat_finish(ud);
}

/* The footer is in (or the open failed): write every row to stdout. */
static void cat_opened(void *ud, lode_pqr *r)
{
    cat_op *c = ud;
    if (handle_failed(c->h) || c->dump.cancelled) {
        cat_finish(c);
        return;
    }
    lode_pqr_dump_start(&c->dump, r, 1, cat_dumped, c);
}

static int cat_push(lua_State *L, lode_op *op)
{
    cat_op *c = (cat_op *)op;
    if (c->failed) {
        lode_push_error(L, "parquet.cat", handle_code(c->h), c->err, c->h->open_retryable);
        lua_pushstring(L, c->h->url);
        lua_setfield(L, -2, "file");
        return -1;
    }
    lua_pushinteger(L, (lua_Integer)c->dump.rows);
    return 1;
}

static void cat_release(lode_op *op)
{
    cat_op *c = (cat_op *)op;
    handle_free(c->h);
    lode_pqr_dump_free(&c->dump);
    free(c);
}

static void cat_cancel(lode_op *op)
{
    /* reads in flight complete; the next step sees it and finishes */
    ((cat_op *)op)->dump.cancelled = 1;
}

static int l_cat(lua_State *L)
{
    lode_check_task(L, "parquetrows.cat");
    pq_handle *h = handle_new(L, 2, LODE_PQR_TEXT);
    cat_op *c = (cat_op *)lode_op_new(L, sizeof *c, "parquet.cat", cat_push, cat_cancel, cat_release);
    c->h = h;
    handle_start(h, cat_opened, c);
    return lode_op_yield(L, &c->op);
}

/* ---- open / rows ------------------------------------------------------------------------ */

typedef struct {
    pq_handle *h;             /* NULL once closed */
    int eof;
    int need_rg;              /* load the next row group before the next row */
} reader_ud;

/* A footer or row-group load in flight. The handle is freed by the load if
 * the reader was closed meanwhile (the reads write into its buffers). */
typedef struct {
    lode_op op;
    pq_handle *h;
    int is_open;
} load_op;

static reader_ud *check_reader(lua_State *L)
{
    reader_ud *rd = luaL_checkudata(L, 1, READER_MT);
    if (!rd->h) luaL_error(L, "parquet reader is closed");
    return rd;
}

static void on_loaded(void *ud, lode_pqr *r)
{
    (void)r;
    load_op *o = ud;
    o->h->busy = 0;
    lode_op_done(&o->op);
}

static int load_push(lua_State *L, lode_op *op)
{
    load_op *o = (load_op *)op;
    if (o->h->close_requested || handle_failed(o->h)) {
        if (o->is_open) {
            lua_pushnil(L);
            lua_rawsetp(L, LUA_REGISTRYINDEX, o);
        }
        lode_push_error(L, "parquet.read", o->h->close_requested ? "closed" : handle_code(o->h),
                        o->h->close_requested ? "parquet reader closed" : handle_error(o->h),
                        o->h->open_retryable);
        lua_pushstring(L, o->h->url);
        lua_setfield(L, -2, "file");
        return -1;
    }
    if (o->is_open) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, o);
        lua_pushnil(L);
        lua_rawsetp(L, LUA_REGISTRYINDEX, o);
    } else {
        lua_pushboolean(L, 1);
    }
    return 1;
}

static void load_release(lode_op *op)
{
    load_op *o = (load_op *)op;
    if (o->is_open) {   /* a cancelled open: drop the anchor */
        lua_State *ML = lode_main_state();
        lua_pushnil(ML);
        lua_rawsetp(ML, LUA_REGISTRYINDEX, o);
    }
    if (o->h->close_requested && !o->h->busy) handle_free(o->h);
    free(o);
}

static void noop_cancel(lode_op *op) { (void)op; }

static int l_open(lua_State *L)
{
    lode_check_task(L, "parquetrows.open");
    pq_handle *h = handle_new(L, 2, LODE_PQR_CELLS);
    reader_ud *rd = lua_newuserdatauv(L, sizeof *rd, 0);
    memset(rd, 0, sizeof *rd);
    rd->h = h;
    rd->need_rg = 1;
    luaL_setmetatable(L, READER_MT);
    load_op *o = (load_op *)lode_op_new(L, sizeof *o, "parquet.open", load_push, noop_cancel, load_release);
    o->h = h;
    o->is_open = 1;
    lua_rawsetp(L, LUA_REGISTRYINDEX, o);   /* the reader, until push hands it over */
    h->busy = 1;
    handle_start(h, on_loaded, o);
    return lode_op_yield(L, &o->op);
}

/* rd:_load() -> true when a row group is loaded, false when none is left */
static int l_load(lua_State *L)
{
    reader_ud *rd = check_reader(L);
    if (rd->eof) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lode_check_task(L, "parquet reader");
    load_op *o = (load_op *)lode_op_new(L, sizeof *o, "parquet.load", load_push, noop_cancel, load_release);
    o->h = rd->h;
    rd->h->busy = 1;
    int rc = lode_pqr_next_row_group(rd->h->r, on_loaded, o);
    if (rc != 0) {
        rd->h->busy = 0;
        if (rc == 1) rd->eof = 1;
        lode_op_done(&o->op);         /* push reports the failure, or we answer false below */
        if (rc == 1) {
            lode_op_yield(L, &o->op);
            lua_pushboolean(L, 0);
            return 1;
        }
    } else {
        rd->need_rg = 0;
    }
    return lode_op_yield(L, &o->op);
}

static void push_cell(lua_State *L, const lode_pqr_row *row, size_t i)
{
    if (row->len[i] < 0) {
        lode_push_null(L);
        return;
    }
    const char *s = (const char *)row->data + row->off[i];
    size_t n = (size_t)row->len[i];
    switch (row->kind[i]) {
    case LODE_PQR_CELL_BOOL:
        lua_pushboolean(L, n == 4);
        return;
    case LODE_PQR_CELL_INT:
    case LODE_PQR_CELL_NUMBER:
        lua_pushlstring(L, s, n);
        if (!lua_stringtonumber(L, lua_tostring(L, -1))) return;   /* keep the text (NaN, Infinity) */
        lua_remove(L, -2);
        return;
    default:
        lua_pushlstring(L, s, n);
    }
}

/* rd:_row() -> row table, false when the next row group must be loaded,
 * nil at the end */
static int l_row(lua_State *L)
{
    reader_ud *rd = check_reader(L);
    lode_pqr *r = rd->h->r;
    if (rd->eof) return 0;
    if (rd->need_rg) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lode_pqr_row row;
    int rc = lode_pqr_next_row(r, &row);
    if (rc < 0) return lode_raise_error(L, "parquet.read", "parquet", lode_pqr_error(r), 0);
    if (rc == 0) {
        rd->need_rg = 1;
        lua_pushboolean(L, 0);
        return 1;
    }
    size_t n = lode_pqr_ncolumns(r);
    lua_createtable(L, 0, (int)n);
    for (size_t i = 0; i < n; i++) {
        push_cell(L, &row, i);
        lua_setfield(L, -2, lode_pqr_column_name(r, i));
    }
    return 1;
}

static int l_columns(lua_State *L)
{
    reader_ud *rd = check_reader(L);
    size_t n = lode_pqr_ncolumns(rd->h->r);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, lode_pqr_column_name(rd->h->r, i));
        lua_setfield(L, -2, "name");
        lua_pushstring(L, lode_pqr_column_pg_type(rd->h->r, i));
        lua_setfield(L, -2, "pg_type");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int l_num_rows(lua_State *L)
{
    reader_ud *rd = check_reader(L);
    lua_pushinteger(L, (lua_Integer)lode_pqr_num_rows(rd->h->r));
    return 1;
}

static int l_close(lua_State *L)
{
    reader_ud *rd = luaL_checkudata(L, 1, READER_MT);
    if (rd->h) {
        if (rd->h->busy) rd->h->close_requested = 1;   /* the load in flight frees it */
        else handle_free(rd->h);
        rd->h = NULL;
    }
    return 0;
}

static const luaL_Reg reader_methods[] = {
    { "_row", l_row },
    { "_load", l_load },
    { "columns", l_columns },
    { "num_rows", l_num_rows },
    { "close", l_close },
    { NULL, NULL },
};

static const luaL_Reg funcs[] = {
    { "cat", l_cat },
    { "open", l_open },
    { NULL, NULL },
};

int luaopen_lode_parquetrows(lua_State *L)
{
    lode_new_class(L, READER_MT, reader_methods, l_close, l_close, NULL);
    /* rd:next(): rows across row groups; loading yields the task */
    luaL_getmetatable(L, READER_MT);
    lua_getfield(L, -1, "__index");
    if (luaL_dostring(L, "return function(self) while true do local r = self:_row() "
                         "if r ~= false then return r end "
                         "if not self:_load() then return nil end end end") != LUA_OK)
        return lua_error(L);
    lua_setfield(L, -2, "next");
    lua_pop(L, 2);
    luaL_newlib(L, funcs);
    return 1;
}

/* bindings/load.c — lode.load: the decoder of emulated COPY. Compressed
 * CSV/text bytes go in chunk by chunk; PostgreSQL text COPY rows come out,
 * checked and converted per target column; bad rows are kept aside with
 * file, line, column, raw value and reason (the shape of STL_LOAD_ERRORS).
 *
 *   local load = require "lode.load"
 *   local dec = load.decoder{ format = "csv", columns = {{name=, type=, length=, precision=, scale=}, ...},
 *                             delimiter=, quote=, ignoreheader=, null_as=, compression = "gzip"|"auto"|...,
 *                             encoding = "UTF8"|"UTF16"|..., widths = {3, 25, ...} (FIXEDWIDTH),
 *                             null_codes = {1220, ...} (Spectrum's SET_TO_NULL), ... }
 *   dec:begin_file("s3://b/k.csv")
 *   w:write(dec:feed(chunk))          -- rows completed by this chunk
 *   w:write(dec:end_file())           -- the last row; then dec:file_rows()
 *   for _, e in ipairs(dec:take_errors()) do ... end
 *
 * No I/O here: the caller moves the bytes (S3 → decoder → COPY stream), so
 * memory is bounded by the chunk size. The work is in the runtime, load/
 * (decoder.c, manifest.c, pqcopy.c); this file checks arguments, calls it,
 * yields and pushes results. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "lode.h"
#include "lode/load/decoder.h"
#include "lode/load/load.h"
#include "lode/load/manifest.h"
#include "lode/load/textcopy.h"
#include "lode/pg/pg.h"

#define DECODER_MT "lode.load.decoder"

typedef struct {
    lode_decoder *d;          /* NULL once closed */
} decoder_ud;

static int l_gc(lua_State *L)
{
    decoder_ud *u = luaL_checkudata(L, 1, DECODER_MT);
    lode_decoder_free(u->d);
    u->d = NULL;
    return 0;
}

static lode_decoder *check_decoder(lua_State *L)
{
    decoder_ud *u = luaL_checkudata(L, 1, DECODER_MT);
    if (!u->d) luaL_error(L, "lode.load decoder is closed");
    return u->d;
}

/* Push the rows produced so far and reset; raise a structured error on a fatal one. */
static int push_out(lua_State *L, lode_decoder *d, int rc)
{
    if (rc != 0) {
        lode_push_error(L, "copy", "bad_input", lode_decoder_error(d), 0);
        if (lode_decoder_file(d)) {
            lua_pushstring(L, lode_decoder_file(d));
            lua_setfield(L, -2, "key");
        }
        return lua_error(L);
    }
    size_t n;
    const char *out = lode_decoder_output(d, &n);
    lua_pushlstring(L, out, n);
    lode_decoder_output_reset(d);
    return 1;
}

/* dec:begin_file(name): a new file (IGNOREHEADER and line numbers restart). */
static int l_begin_file(lua_State *L)
{
    lode_decoder *d = check_decoder(L);
    size_t n;
    const char *name = luaL_checklstring(L, 2, &n);
    char err[300];
    int rc = lode_decoder_begin_file(d, name, n, err, sizeof err);
    if (rc == -1) return lode_raise_error(L, "copy", "bad_input", err, 0);
    if (rc != 0) return luaL_error(L, "out of memory");
    return 0;
}

/* dec:feed(bytes) -> COPY text of the rows completed by these bytes */
static int l_feed(lua_State *L)
{
    lode_decoder *d = check_decoder(L);
    size_t n;
    const char *p = luaL_checklstring(L, 2, &n);
    if (!lode_decoder_in_file(d)) return luaL_error(L, "dec:feed: call dec:begin_file(name) first");
    return push_out(L, d, lode_decoder_feed(d, p, n));
}

/* dec:end_file() -> COPY text of the last row; checks the file ended well */
static int l_end_file(lua_State *L)
{
    lode_decoder *d = check_decoder(L);
    if (!lode_decoder_in_file(d)) return luaL_error(L, "dec:end_file: no file begun");
    return push_out(L, d, lode_decoder_end_file(d));
}

/* dec:take_errors() -> { {file=, line=, column=, colname=, code=, raw_line=, raw_value=, reason=}, ... } */
static int l_take_errors(lua_State *L)
{
    lode_decoder *d = check_decoder(L);
    size_t nbad = lode_decoder_nbad(d), ncols = lode_decoder_ncols(d);
    const char *file = lode_decoder_file(d);
    lua_createtable(L, (int)nbad, 0);
    for (size_t i = 0; i < nbad; i++) {
        const lode_bad_row *b = lode_decoder_bad_row(d, i);
        lua_createtable(L, 0, 8);
        lua_pushstring(L, file ? file : "");
        lua_setfield(L, -2, "file");
        lua_pushinteger(L, b->line);
        lua_setfield(L, -2, "line");
        lua_pushinteger(L, b->column);
        lua_setfield(L, -2, "column");
        if (b->column >= 1 && (size_t)b->column <= ncols) {
            lua_pushstring(L, lode_decoder_column_name(d, (size_t)b->column - 1));
            lua_setfield(L, -2, "colname");
        }
        lua_pushinteger(L, b->code);
        lua_setfield(L, -2, "code");
        lua_pushlstring(L, b->raw_line ? b->raw_line : "", b->raw_line ? b->raw_line_len : 0);
        lua_setfield(L, -2, "raw_line");
        lua_pushlstring(L, b->raw_value ? b->raw_value : "", b->raw_value ? b->raw_value_len : 0);
        lua_setfield(L, -2, "raw_value");
        lua_pushstring(L, b->reason ? b->reason : "");
        lua_setfield(L, -2, "reason");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lode_decoder_clear_bad(d);
    return 1;
}

/* dec:stats() -> {rows=, errors=, bytes=, file_rows=, file_errors=} */
static int l_stats(lua_State *L)
{
    lode_decoder_stats s;
    lode_decoder_get_stats(check_decoder(L), &s);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, s.rows);
    lua_setfield(L, -2, "rows");
    lua_pushinteger(L, s.errors);
    lua_setfield(L, -2, "errors");
    lua_pushinteger(L, s.bytes);
    lua_setfield(L, -2, "bytes");
    lua_pushinteger(L, s.file_rows);
    lua_setfield(L, -2, "file_rows");
    lua_pushinteger(L, s.file_errors);
    lua_setfield(L, -2, "file_errors");
    return 1;
}

/* ---- construction ----------------------------------------------------------- */

/* lode_decoder_opts points into Lua strings and scratch arrays until
 * lode_decoder_new has copied them: strings read straight from the argument
 * table are anchored by it; numbers converted with lua_tostring and the
 * scratch arrays are anchored in the table `keep` (anchor() pops the top
 * value into it). */
static void anchor(lua_State *L, int keep)
{
    lua_rawseti(L, keep, (lua_Integer)lua_rawlen(L, keep) + 1);
}

static int opt_bool(lua_State *L, int idx, const char *k)
{
    lua_getfield(L, idx, k);
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* A one-character option, or `def` when absent. */
static char opt_char(lua_State *L, int idx, const char *k, char def)
{
    char c = def;
    if (lua_getfield(L, idx, k) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        if (n != 1) luaL_error(L, "load.decoder: '%s' must be one character", k);
        c = s[0];
    }
    lua_pop(L, 1);
    return c;
}

static const char *opt_str(lua_State *L, int idx, const char *k, size_t *len)
{
    const char *s = NULL;
    if (lua_getfield(L, idx, k) == LUA_TSTRING) s = lua_tolstring(L, -1, len);
    lua_pop(L, 1);
    return s;
}

static int l_decoder(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lode_decoder_opts o;
    memset(&o, 0, sizeof o);
    lua_newtable(L);
    int keep = lua_gettop(L);

    lua_getfield(L, 1, "format");
    const char *fmt = luaL_optstring(L, -1, "csv");
    if (strcmp(fmt, "csv") == 0) o.format = LODE_DEC_CSV;
    else if (strcmp(fmt, "text") == 0) o.format = LODE_DEC_TEXT;
    else if (strcmp(fmt, "json") == 0) o.format = LODE_DEC_JSON;
    else return luaL_error(L, "load.decoder: format '%s' is not csv, text or json", fmt);
    lua_pop(L, 1);
    if (o.format == LODE_DEC_JSON) {
        o.ignorecase = opt_bool(L, 1, "ignorecase");
        o.dots_in_keys = opt_bool(L, 1, "dots_in_keys");
        if (lua_getfield(L, 1, "jsonpaths") == LUA_TTABLE) {
            size_t n = (size_t)luaL_len(L, -1);
            const char **paths = lua_newuserdatauv(L, (n + 1) * sizeof *paths, 0);
            anchor(L, keep);
            for (size_t i = 0; i < n; i++) {
                lua_rawgeti(L, -1, (lua_Integer)i + 1);
                const char *e = lua_tostring(L, -1);
                if (!e) return luaL_error(L, "load.decoder: jsonpaths must be strings");
                paths[i] = e;
                anchor(L, keep);
            }
            o.jsonpaths = paths;
            o.njsonpaths = n;
        }
        lua_pop(L, 1);
    }

    int csv = o.format == LODE_DEC_CSV;
    o.csv.delimiter = opt_char(L, 1, "delimiter", csv ? ',' : '|');
    o.csv.quote = opt_char(L, 1, "quote", '"');
    o.csv.escape = opt_bool(L, 1, "escape");
    o.csv.opencsv = opt_bool(L, 1, "opencsv");
    o.csv.removequotes = opt_bool(L, 1, "removequotes");
    o.csv.ignoreblanklines = opt_bool(L, 1, "ignoreblanklines");
    lua_getfield(L, 1, "ignoreheader");
    o.csv.ignoreheader = luaL_optinteger(L, -1, 0);
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "widths") == LUA_TTABLE) {
        if (o.format != LODE_DEC_TEXT) return luaL_error(L, "load.decoder: widths (FIXEDWIDTH) need format 'text'");
        size_t nw = (size_t)luaL_len(L, -1);
        if (nw == 0) return luaL_error(L, "load.decoder: widths must not be empty");
        uint32_t *w = lua_newuserdatauv(L, nw * sizeof *w, 0);
        anchor(L, keep);
        for (size_t i = 0; i < nw; i++) {
            lua_rawgeti(L, -1, (lua_Integer)i + 1);
            lua_Integer v = lua_tointeger(L, -1);
            if (!lua_isinteger(L, -1) || v < 1 || v > 0xFFFFFF)
                return luaL_error(L, "load.decoder: widths[%d] must be a positive integer", (int)i + 1);
            w[i] = (uint32_t)v;
            lua_pop(L, 1);
        }
        o.csv.widths = w;
        o.csv.nwidths = nw;
    }
    lua_pop(L, 1);
    lua_getfield(L, 1, "encoding");
    const char *enc = luaL_optstring(L, -1, "UTF8");
    if (lode_encoding_of(enc, &o.encoding) != 0) return luaL_error(L, "load.decoder: unknown encoding '%s'", enc);
    lua_pop(L, 1);
    o.fillrecord = opt_bool(L, 1, "fillrecord");

    o.conv.null_as = opt_str(L, 1, "null_as", &o.conv.null_as_len);
    o.conv.emptyasnull = opt_bool(L, 1, "emptyasnull");
    o.conv.blanksasnull = opt_bool(L, 1, "blanksasnull");
    o.conv.truncatecolumns = opt_bool(L, 1, "truncatecolumns");
    o.conv.roundec = opt_bool(L, 1, "roundec");
    o.conv.trimblanks = opt_bool(L, 1, "trimblanks");
    o.conv.acceptanydate = opt_bool(L, 1, "acceptanydate");
    lua_getfield(L, 1, "acceptinvchars");
    if (lua_isstring(L, -1)) o.conv.acceptinvchars = lua_tostring(L, -1)[0];
    else if (lua_toboolean(L, -1)) o.conv.acceptinvchars = '?';
    lua_pop(L, 1);
    o.conv.dateformat = opt_str(L, 1, "dateformat", NULL);
    o.conv.timeformat = opt_str(L, 1, "timeformat", NULL);

    lua_getfield(L, 1, "compression");
    const char *z = luaL_optstring(L, -1, "auto");
    if (lode_zkind_of(z, &o.compression) != 0) return luaL_error(L, "load.decoder: unknown compression '%s'", z);
    lua_pop(L, 1);

    if (lua_getfield(L, 1, "columns") != LUA_TTABLE) return luaL_error(L, "load.decoder: 'columns' must be a list");
    size_t n = (size_t)luaL_len(L, -1);
    if (n == 0) return luaL_error(L, "load.decoder: no columns");
    lode_decoder_column *cols = lua_newuserdatauv(L, n * sizeof *cols, 0);
    anchor(L, keep);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i + 1);
        if (!lua_istable(L, -1)) return luaL_error(L, "load.decoder: column %d must be a table", (int)i + 1);
        lua_getfield(L, -1, "name");
        cols[i].name = luaL_optstring(L, -1, "?");
        anchor(L, keep);
        lua_getfield(L, -1, "type");
        cols[i].col.type = lode_load_type_of(luaL_optstring(L, -1, "text"));
        lua_pop(L, 1);
        lua_getfield(L, -1, "length");
        cols[i].col.length = (int32_t)luaL_optinteger(L, -1, -1);
        lua_pop(L, 1);
        lua_getfield(L, -1, "precision");
        cols[i].col.precision = (int)luaL_optinteger(L, -1, 0);
        lua_pop(L, 1);
        lua_getfield(L, -1, "scale");
        cols[i].col.scale = (int)luaL_optinteger(L, -1, 0);
        lua_pop(L, 1);
        lua_pop(L, 1);
    }
    o.columns = cols;
    o.ncols = n;
    if (lua_getfield(L, 1, "null_codes") == LUA_TTABLE) {
        /* Spectrum's SET_TO_NULL: the LODE_ERR_* codes whose bad field is NULL */
        size_t nc = (size_t)luaL_len(L, -1);
        int *codes = lua_newuserdatauv(L, (nc ? nc : 1) * sizeof *codes, 0);
        anchor(L, keep);
        for (size_t i = 0; i < nc; i++) {
            lua_rawgeti(L, -1, (lua_Integer)i + 1);
            if (!lua_isinteger(L, -1)) return luaL_error(L, "load.decoder: null_codes[%d] must be an integer", (int)i + 1);
            codes[i] = (int)lua_tointeger(L, -1);
            lua_pop(L, 1);
        }
        o.null_codes = codes;
        o.n_null_codes = nc;
    }
    lua_pop(L, 1);
    o.binary = opt_bool(L, 1, "binary");
    for (size_t i = 0; o.binary && i < n; i++)
        if (!lode_conv_binary_type(cols[i].col.type))
            return luaL_error(L, "load.decoder: column %d ('%s') has a type binary output does not render",
                              (int)i + 1, cols[i].name);

    decoder_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->d = NULL;
    luaL_setmetatable(L, DECODER_MT);
    u->d = lode_decoder_new(&o);
    if (!u->d) return luaL_error(L, "out of memory");
    return 1;
}

/* load.manifest(text, name) -> { {url=, mandatory=, content_length=}, ... }:
 * Redshift's manifest JSON; raises a clear error naming what is wrong. */
static int l_manifest(lua_State *L)
{
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    const char *name = luaL_optstring(L, 2, "manifest");
    char msg[300];
    lode_manifest_entry *e;
    size_t count;
    if (lode_manifest_parse(text, n, name, &e, &count, msg, sizeof msg) != 0)
        return lode_raise_error(L, "copy", "bad_manifest", msg, 0);
    lua_createtable(L, (int)count, 0);
    for (size_t i = 0; i < count; i++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, e[i].url);
        lua_setfield(L, -2, "url");
        lua_pushboolean(L, e[i].mandatory);
        lua_setfield(L, -2, "mandatory");
        if (e[i].content_length >= 0) {
            lua_pushinteger(L, e[i].content_length);
            lua_setfield(L, -2, "content_length");
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lode_manifest_free(e, count);
    return 1;
}


/* ---- Parquet into binary COPY ------------------------------------------------------------ */

typedef struct {
    lode_op op;
    lode_pqcopy *p;           /* NULL when the COPY could not start */
    char start_err[300];
} pqcopy_op;

static void pqcopy_done(void *ud, lode_pqcopy *p)
{
    (void)p;
    lode_op_done(&((pqcopy_op *)ud)->op);
}

static int pqcopy_push(lua_State *L, lode_op *op)
{
    pqcopy_op *po = (pqcopy_op *)op;
    lode_pqcopy *p = po->p;
    if (!p) {
        lode_push_error(L, "copy", "connection", po->start_err, 1);
        return -1;
    }
    if (lode_pqcopy_failed(p)) {
        lode_push_error(L, "copy", lode_pqcopy_error_code(p), lode_pqcopy_error(p), lode_pqcopy_retryable(p));
        if (lode_pqcopy_error_file(p)) {
            lua_pushstring(L, lode_pqcopy_error_file(p));
            lua_setfield(L, -2, "key");
        }
        /* the server's failure: SQLSTATE, the file's row and column it blamed */
        int rg;
        int64_t row = lode_pqcopy_error_row(p, &rg);
        const struct { const char *k; const char *v; } strs[] = {
            { "sqlstate", lode_pqcopy_sqlstate(p) }, { "column", lode_pqcopy_error_column(p) } };
        for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
            if (!strs[i].v) continue;
            lua_pushstring(L, strs[i].v);
            lua_setfield(L, -2, strs[i].k);
        }
        if (row > 0) {
            lua_pushinteger(L, row);
            lua_setfield(L, -2, "row");
            lua_pushinteger(L, rg);
            lua_setfield(L, -2, "row_group");
        }
        if (lode_pqcopy_copy_line(p) > 0) {
            lua_pushinteger(L, lode_pqcopy_copy_line(p));
            lua_setfield(L, -2, "copy_line");
        }
        return -1;
    }
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, lode_pqcopy_rows(p));
    lua_setfield(L, -2, "rows");
    size_t nf = lode_pqcopy_nfiles(p);
    lua_createtable(L, (int)nf, 0);
    for (size_t i = 0; i < nf; i++) {
        lua_pushinteger(L, lode_pqcopy_file_rows(p, i));
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "file_rows");
    int64_t ahead, direct;
    int peak;
    lode_pqcopy_read_stats(p, &ahead, &direct, &peak);
    lua_pushinteger(L, ahead);
    lua_setfield(L, -2, "reads_ahead");
    lua_pushinteger(L, direct);
    lua_setfield(L, -2, "reads_direct");
    lua_pushinteger(L, peak);
    lua_setfield(L, -2, "ahead_peak");
    return 1;
}

static void pqcopy_cancel(lode_op *op)
{
    pqcopy_op *po = (pqcopy_op *)op;
    if (po->p) lode_pqcopy_cancel(po->p);
}

static void pqcopy_release(lode_op *op)
{
    lode_pqcopy_free(((pqcopy_op *)op)->p);
    free(op);
}

/* ---- progress counters ---------------------------------------------------------------- */

#define PROGRESS_MT "lode.load.progress"

typedef struct {
    lode_load_progress *g;   /* one reference; NULL once closed */
} progress_ud;

/* load.progress() -> counters a load updates ({progress = p}); p:get() -> {files=, rows=, bytes=} */
static int l_progress(lua_State *L)
{
    progress_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->g = NULL;
    luaL_setmetatable(L, PROGRESS_MT);
    u->g = lode_load_progress_new();
    if (!u->g) return luaL_error(L, "load.progress: out of memory");
    return 1;
}

static lode_load_progress *check_progress(lua_State *L, int i)
{
    progress_ud *u = luaL_checkudata(L, i, PROGRESS_MT);
    if (!u->g) luaL_argerror(L, i, "closed progress counters");
    return u->g;
}

static int l_progress_get(lua_State *L)
{
    lode_load_progress *g = check_progress(L, 1);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, g->files);
    lua_setfield(L, -2, "files");
    lua_pushinteger(L, g->rows);
    lua_setfield(L, -2, "rows");
    lua_pushinteger(L, g->bytes);
    lua_setfield(L, -2, "bytes");
    return 1;
}

static int l_progress_gc(lua_State *L)
{
    progress_ud *u = luaL_checkudata(L, 1, PROGRESS_MT);
    lode_load_progress_unref(u->g);
    u->g = NULL;
    return 0;
}

/* load.parquet_copy(conn, sql, files, columns [, {prefetch=, ahead=, progress=, etags=}]) -> {rows=, file_rows={...},
 * reads_ahead=, reads_direct=, ahead_peak=}:
 * every Parquet file (s3:// URL or path) into one binary COPY on conn (a
 * pinned lode.pg.conn; sql is the COPY ... FROM STDIN (FORMAT binary)
 * statement), columns by position onto columns = {{name=, type=typname}...};
 * etags: per file the ETag listed, so every read is of that version.
 * Raises a structured error naming the file, row group, row and column. */
static int l_parquet_copy(lua_State *L)
{
    lode_pg_conn *c = lode_pg_check_conn(L, 1);
    const char *sql = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    lode_check_task(L, "load.parquet_copy");
    lode_pqcopy_opts o;
    memset(&o, 0, sizeof o);
    if (lua_istable(L, 5)) {
        lua_getfield(L, 5, "prefetch");
        o.prefetch = (int)luaL_optinteger(L, -1, 0);
        lua_getfield(L, 5, "ahead");
        o.ahead = (int)luaL_optinteger(L, -1, 0);
        lua_pop(L, 2);
        lua_getfield(L, 5, "progress");
        if (!lua_isnil(L, -1)) o.progress = check_progress(L, lua_gettop(L));
        lua_pop(L, 1);   /* the caller's table keeps it alive until the start takes a reference */
    }
    size_t nf = (size_t)luaL_len(L, 3), nc = (size_t)luaL_len(L, 4);
    luaL_argcheck(L, nf > 0, 3, "no files");
    luaL_argcheck(L, nc > 0, 4, "no columns");
    /* the strings stay anchored in the argument tables until the start copies them */
    const char **files = lua_newuserdatauv(L, nf * sizeof *files, 0);
    lode_pqcopy_column *cols = lua_newuserdatauv(L, nc * sizeof *cols, 0);
    for (size_t i = 0; i < nf; i++) {
        lua_rawgeti(L, 3, (lua_Integer)i + 1);
        files[i] = lua_tostring(L, -1);
        if (!files[i]) return luaL_argerror(L, 3, "files must be strings");
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < nc; i++) {
        lua_rawgeti(L, 4, (lua_Integer)i + 1);
        if (!lua_istable(L, -1)) return luaL_argerror(L, 4, "columns must be {name=, type=} tables");
        lua_getfield(L, -1, "name");
        lua_getfield(L, -2, "type");
        cols[i].name = lua_tostring(L, -2);
        cols[i].type = lua_tostring(L, -1);
        if (!cols[i].name || !cols[i].type) return luaL_argerror(L, 4, "columns must be {name=, type=} tables");
        lua_pop(L, 3);
    }
    if (lua_istable(L, 5) && lua_getfield(L, 5, "etags") == LUA_TTABLE) {
        const char **etags = lua_newuserdatauv(L, nf * sizeof *etags, 0);  /* anchored until the start copies */
        for (size_t i = 0; i < nf; i++) {
            lua_rawgeti(L, -2, (lua_Integer)i + 1);
            etags[i] = lua_tostring(L, -1);     /* the etags table keeps the string */
            lua_pop(L, 1);
        }
        o.etags = etags;
    }
    o.files = files;
    o.n_files = nf;
    o.columns = cols;
    o.n_columns = nc;
    pqcopy_op *op = (pqcopy_op *)lode_op_new(L, sizeof *op, "copy.parquet", pqcopy_push, pqcopy_cancel,
                                             pqcopy_release);
    op->p = lode_pqcopy_start(c, sql, &o, pqcopy_done, op, op->start_err, sizeof op->start_err);
    if (!op->p) lode_op_done(&op->op);   /* push reports why */
    return lode_op_yield(L, &op->op);
}

/* ---- CSV, JSON and text from S3 into one COPY ------------------------------------------- */

#define ERRORS_MT "lode.load.errors"

typedef struct {
    lode_load_errors *a;     /* one reference; NULL once closed */
} errors_ud;

/* load.errors(maxerror) -> the bad-row account a load's streams share
 * ({errors = acct} in load.text_copy's options); acct:take() -> the rows
 * kept since the last take, as dec:take_errors() gives them; acct:count(). */
static int l_errors(lua_State *L)
{
    lua_Integer maxerror = luaL_checkinteger(L, 1);
    errors_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->a = NULL;
    luaL_setmetatable(L, ERRORS_MT);
    u->a = lode_load_errors_new((int64_t)maxerror);
    if (!u->a) return luaL_error(L, "load.errors: out of memory");
    return 1;
}

static lode_load_errors *check_errors(lua_State *L, int i)
{
    errors_ud *u = luaL_checkudata(L, i, ERRORS_MT);
    if (!u->a) luaL_argerror(L, i, "closed error account");
    return u->a;
}

static int l_errors_take(lua_State *L)
{
    lode_load_errors *a = check_errors(L, 1);
    lua_createtable(L, (int)a->n, 0);
    for (size_t i = 0; i < a->n; i++) {
        const lode_load_error *e = &a->rows[i];
        lua_createtable(L, 0, 8);
        lua_pushstring(L, e->file ? e->file : "");
        lua_setfield(L, -2, "file");
        lua_pushinteger(L, e->row.line);
        lua_setfield(L, -2, "line");
        lua_pushinteger(L, e->row.column);
        lua_setfield(L, -2, "column");
        if (e->colname) {
            lua_pushstring(L, e->colname);
            lua_setfield(L, -2, "colname");
        }
        lua_pushinteger(L, e->row.code);
        lua_setfield(L, -2, "code");
        lua_pushlstring(L, e->row.raw_line ? e->row.raw_line : "", e->row.raw_line ? e->row.raw_line_len : 0);
        lua_setfield(L, -2, "raw_line");
        lua_pushlstring(L, e->row.raw_value ? e->row.raw_value : "", e->row.raw_value ? e->row.raw_value_len : 0);
        lua_setfield(L, -2, "raw_value");
        lua_pushstring(L, e->row.reason ? e->row.reason : "");
        lua_setfield(L, -2, "reason");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lode_load_errors_clear(a);
    return 1;
}

static int l_errors_count(lua_State *L)
{
    lua_pushinteger(L, check_errors(L, 1)->count);
    return 1;
}

static int l_errors_gc(lua_State *L)
{
    errors_ud *u = luaL_checkudata(L, 1, ERRORS_MT);
    lode_load_errors_unref(u->a);
    u->a = NULL;
    return 0;
}

typedef struct {
    lode_op op;
    lode_textcopy *t;         /* NULL when the COPY could not start */
    char start_err[300];
} textcopy_op;

static void textcopy_done(void *ud, lode_textcopy *t)
{
    (void)t;
    lode_op_done(&((textcopy_op *)ud)->op);
}

/* The errors today's Lua path raised: the decoder's (op copy), the GET's
 * (op s3.get), the server's (op pg.copy_in, code its SQLSTATE). */
static int textcopy_push(lua_State *L, lode_op *op)
{
    textcopy_op *to = (textcopy_op *)op;
    lode_textcopy *t = to->t;
    if (!t) {
        lode_push_error(L, "copy", "connection", to->start_err, 1);
        return -1;
    }
    if (lode_textcopy_failed(t)) {
        const char *code = lode_textcopy_error_code(t);
        if (strcmp(code, "s3") == 0 && lode_textcopy_s3_error(t)) {
            lode_s3_push_error(L, "s3.get", lode_textcopy_s3_error(t));
            return -1;
        }
        if (strcmp(code, "server") == 0) {
            const char *st = lode_textcopy_sqlstate(t);
            lode_push_error(L, "pg.copy_in", st ? st : (lode_textcopy_retryable(t) ? "connection" : "error"),
                            lode_textcopy_error(t), lode_textcopy_retryable(t));
            if (st) {
                lua_pushstring(L, st);
                lua_setfield(L, -2, "sqlstate");
            }
            /* the source row the server blamed: key, line (or row when the
             * line is no longer kept), column; copy_line is the server's own */
            if (lode_textcopy_server_line(t) > 0) {
                lua_pushinteger(L, lode_textcopy_server_line(t));
                lua_setfield(L, -2, "copy_line");
            }
            if (lode_textcopy_error_file(t)) {
                lua_pushstring(L, lode_textcopy_error_file(t));
                lua_setfield(L, -2, "key");
                lua_pushinteger(L, lode_textcopy_error_line(t) ? lode_textcopy_error_line(t) : lode_textcopy_error_row(t));
                lua_setfield(L, -2, lode_textcopy_error_line(t) ? "line" : "row");
            }
            if (lode_textcopy_error_column(t)) {
                lua_pushstring(L, lode_textcopy_error_column(t));
                lua_setfield(L, -2, "column");
            }
            return -1;
        }
        lode_push_error(L, "copy", code, lode_textcopy_error(t), lode_textcopy_retryable(t));
        if (lode_textcopy_error_file(t)) {
            lua_pushstring(L, lode_textcopy_error_file(t));
            lua_setfield(L, -2, "key");
        }
        return -1;
    }
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, lode_textcopy_rows(t));
    lua_setfield(L, -2, "rows");
    lua_pushinteger(L, lode_textcopy_bad(t));
    lua_setfield(L, -2, "errors");
    lua_pushinteger(L, lode_textcopy_bytes(t));
    lua_setfield(L, -2, "bytes");
    size_t nf = lode_textcopy_nfiles(t);
    lua_createtable(L, (int)nf, 0);
    for (size_t i = 0; i < nf; i++) {
        lua_pushinteger(L, lode_textcopy_file_rows(t, i));
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "file_rows");
    lua_createtable(L, (int)nf, 0);
    for (size_t i = 0; i < nf; i++) {
        lua_pushinteger(L, lode_textcopy_file_bad(t, i));
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "file_errors");
    return 1;
}

static void textcopy_cancel(lode_op *op)
{
    textcopy_op *to = (textcopy_op *)op;
    if (to->t) lode_textcopy_cancel(to->t);
}

static void textcopy_release(lode_op *op)
{
    lode_textcopy_free(((textcopy_op *)op)->t);
    free(op);
}

/* load.text_copy(conn, sql, dec, files, {sizes=, etags=, errors=, progress=, depth=, chunk=})
 *   -> {rows=, errors=, bytes=, file_rows={...}, file_errors={...}}:
 * every file (s3:// URL, its listed size in sizes[i], its ETag in etags[i])
 * through the decoder dec (taken: it is closed afterwards) into one COPY on
 * conn (sql: COPY ... FROM STDIN, in the decoder's format). Bad rows go to
 * the account `errors` (load.errors), which fails the load past its
 * MAXERROR. Raises the decoder's, the GET's or the server's error. */
static int l_text_copy(lua_State *L)
{
    lode_pg_conn *c = lode_pg_check_conn(L, 1);
    const char *sql = luaL_checkstring(L, 2);
    decoder_ud *du = luaL_checkudata(L, 3, DECODER_MT);
    if (!du->d) return luaL_argerror(L, 3, "closed decoder");
    luaL_checktype(L, 4, LUA_TTABLE);
    luaL_checktype(L, 5, LUA_TTABLE);
    lode_check_task(L, "load.text_copy");
    lode_textcopy_opts o;
    memset(&o, 0, sizeof o);
    lua_getfield(L, 5, "depth");
    o.depth = (int)luaL_optinteger(L, -1, 0);
    lua_getfield(L, 5, "chunk");
    lua_Integer chunk = luaL_optinteger(L, -1, 0);
    luaL_argcheck(L, chunk >= 0, 5, "chunk must not be negative");
    o.chunk = (size_t)chunk;
    lua_pop(L, 2);
    lua_getfield(L, 5, "progress");
    if (!lua_isnil(L, -1)) o.progress = check_progress(L, lua_gettop(L));
    lua_pop(L, 1);   /* the options table keeps it alive until the start takes a reference */
    lua_getfield(L, 5, "errors");
    if (!lua_isnil(L, -1)) o.errors = check_errors(L, lua_gettop(L));
    lua_pop(L, 1);
    size_t nf = (size_t)luaL_len(L, 4);
    const char **files = lua_newuserdatauv(L, (nf + 1) * sizeof *files, 0);
    const char **etags = lua_newuserdatauv(L, (nf + 1) * sizeof *etags, 0);
    int64_t *sizes = lua_newuserdatauv(L, (nf + 1) * sizeof *sizes, 0);
    if (lua_getfield(L, 5, "sizes") != LUA_TTABLE) return luaL_argerror(L, 5, "sizes must be a list");
    int st = lua_gettop(L);
    if (lua_getfield(L, 5, "etags") != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    int et = lua_gettop(L);
    for (size_t i = 0; i < nf; i++) {
        lua_rawgeti(L, 4, (lua_Integer)i + 1);
        files[i] = lua_tostring(L, -1);   /* the files table keeps the string */
        lua_pop(L, 1);
        if (!files[i]) return luaL_argerror(L, 4, "files must be strings");
        lua_rawgeti(L, st, (lua_Integer)i + 1);
        int isnum;
        lua_Integer n = lua_tointegerx(L, -1, &isnum);
        lua_pop(L, 1);
        if (!isnum || n < 0) return luaL_argerror(L, 5, "sizes must be non-negative integers, one per file");
        sizes[i] = (int64_t)n;
        lua_rawgeti(L, et, (lua_Integer)i + 1);
        etags[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    o.files = files;
    o.etags = etags;
    o.sizes = sizes;
    o.n_files = nf;
    textcopy_op *op = (textcopy_op *)lode_op_new(L, sizeof *op, "copy.text", textcopy_push, textcopy_cancel,
                                                 textcopy_release);
    lode_decoder *d = du->d;
    du->d = NULL;   /* the load owns it now */
    op->t = lode_textcopy_start(c, sql, d, &o, textcopy_done, op, op->start_err, sizeof op->start_err);
    if (!op->t) lode_op_done(&op->op);   /* push reports why */
    return lode_op_yield(L, &op->op);
}

int luaopen_lode_load(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "begin_file", l_begin_file }, { "feed", l_feed }, { "end_file", l_end_file },
        { "take_errors", l_take_errors }, { "stats", l_stats }, { NULL, NULL },
    };
    lode_new_class(L, DECODER_MT, methods, l_gc, l_gc, NULL);
    static const luaL_Reg progress_methods[] = { { "get", l_progress_get }, { NULL, NULL } };
    lode_new_class(L, PROGRESS_MT, progress_methods, l_progress_gc, l_progress_gc, NULL);
    static const luaL_Reg errors_methods[] = { { "take", l_errors_take }, { "count", l_errors_count },
                                               { NULL, NULL } };
    lode_new_class(L, ERRORS_MT, errors_methods, l_errors_gc, l_errors_gc, NULL);
    static const luaL_Reg funcs[] = { { "decoder", l_decoder }, { "manifest", l_manifest },
                                      { "parquet_copy", l_parquet_copy }, { "progress", l_progress },
                                      { "text_copy", l_text_copy }, { "errors", l_errors },
                                      { NULL, NULL } };
    luaL_newlib(L, funcs);
    return 1;
}

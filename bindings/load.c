/* bindings/load.c — lode.load: the decoder of emulated COPY. Compressed
 * CSV/text bytes go in chunk by chunk; PostgreSQL text COPY rows come out,
 * checked and converted per target column; bad rows are kept aside with
 * file, line, column, raw value and reason (the shape of STL_LOAD_ERRORS).
 *
 *   local load = require "lode.load"
 *   local dec = load.decoder{ format = "csv", columns = {{name=, type=, length=, precision=, scale=}, ...},
 *                             delimiter=, quote=, ignoreheader=, null_as=, compression = "gzip"|"auto"|..., ... }
 *   dec:begin_file("s3://b/k.csv")
 *   w:write(dec:feed(chunk))          -- rows completed by this chunk
 *   w:write(dec:end_file())           -- the last row; then dec:file_rows()
 *   for _, e in ipairs(dec:take_errors()) do ... end
 *
 * No I/O here: the caller moves the bytes (S3 → decoder → COPY stream), so
 * memory is bounded by the chunk size. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "lode.h"
#include "lode/load.h"
#include "lode/pg.h"

#define DECODER_MT "lode.load.decoder"
#define MAX_KEPT_ERRORS 1000  /* details kept per take_errors(); the count is exact */

typedef struct {
    int64_t line;
    int column;               /* 1-based target column, 0 for a row-level error */
    int code;
    char *raw_line, *raw_value, *reason;
    size_t raw_line_len, raw_value_len;
} bad_row;

typedef struct {
    int closed;
    int csv;                  /* CSV or text */
    lode_csv_opts copts;
    lode_conv_opts conv;
    lode_zkind zkind;
    int fillrecord;
    size_t ncols;
    lode_load_column *cols;
    char **colnames;
    char *null_as, *dateformat, *timeformat;
    /* per file */
    lode_csv *parser;
    int json;                 /* format json: jparser instead of parser */
    int ignorecase;
    char **jsonpaths;
    size_t njsonpaths;
    lode_jsonload *jparser;
    lode_unzip *unzip;
    char *file;
    int64_t file_rows, file_errors;
    /* totals */
    int64_t rows, errors, bytes_in;
    lode_buf out;             /* rows produced by the current call */
    bad_row *bad;
    size_t nbad, capbad;
    char fatal[400];
} decoder;

static void free_bad(decoder *d)
{
    for (size_t i = 0; i < d->nbad; i++) {
        free(d->bad[i].raw_line);
        free(d->bad[i].raw_value);
        free(d->bad[i].reason);
    }
    d->nbad = 0;
}

static void end_file_state(decoder *d)
{
    lode_csv_free(d->parser);
    d->parser = NULL;
    lode_jsonload_free(d->jparser);
    d->jparser = NULL;
    lode_unzip_free(d->unzip);
    d->unzip = NULL;
}

static void decoder_close(decoder *d)
{
    if (d->closed) return;
    d->closed = 1;
    end_file_state(d);
    free_bad(d);
    free(d->bad);
    for (size_t i = 0; i < d->ncols; i++) free(d->colnames[i]);
    free(d->colnames);
    for (size_t i = 0; i < d->njsonpaths; i++) free(d->jsonpaths[i]);
    free(d->jsonpaths);
    free(d->cols);
    free(d->null_as);
    free(d->dateformat);
    free(d->timeformat);
    free(d->file);
    lode_buf_free(&d->out);
}

static decoder *check_decoder(lua_State *L)
{
    decoder *d = luaL_checkudata(L, 1, DECODER_MT);
    if (d->closed) luaL_error(L, "lode.load decoder is closed");
    return d;
}

static char *dup_n(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* Keep a bad row aside (details for the first MAX_KEPT_ERRORS). */
static void record_bad(decoder *d, const lode_csv_record *r, int column, int code, const char *reason,
                       const char *value, size_t value_len)
{
    d->errors++;
    d->file_errors++;
    if (d->nbad >= MAX_KEPT_ERRORS) return;
    if (d->nbad == d->capbad) {
        size_t n = d->capbad ? d->capbad * 2 : 16;
        bad_row *b = realloc(d->bad, n * sizeof *b);
        if (!b) return;
        d->bad = b;
        d->capbad = n;
    }
    bad_row *b = &d->bad[d->nbad++];
    b->line = r->line;
    b->column = column;
    b->code = code;
    b->raw_line_len = r->raw_len;
    b->raw_line = dup_n(r->raw, r->raw_len);
    b->raw_value_len = value ? (value_len > 1024 ? 1024 : value_len) : 0;
    b->raw_value = dup_n(value ? value : "", b->raw_value_len);
    b->reason = dup_n(reason, strlen(reason));
}

static int on_record(void *ud, const lode_csv_record *r)
{
    decoder *d = ud;
    size_t mark = d->out.len;
    if (r->nfields > d->ncols) {
        char m[120];
        snprintf(m, sizeof m, "Extra column(s) found: %zu fields for %zu columns", r->nfields, d->ncols);
        record_bad(d, r, (int)d->ncols + 1, LODE_ERR_EXTRA_COLUMNS, m,
                   r->fields[d->ncols].data, r->fields[d->ncols].len);
        return 0;
    }
    if (r->nfields < d->ncols && !d->fillrecord) {
        char m[120];
        snprintf(m, sizeof m, "Delimiter not found: %zu fields for %zu columns (FILLRECORD allows this)",
                 r->nfields, d->ncols);
        record_bad(d, r, (int)r->nfields + 1, LODE_ERR_DELIMITER, m, NULL, 0);
        return 0;
    }
    for (size_t i = 0; i < d->ncols; i++) {
        lode_conv_error e;
        int rc;
        if (i < r->nfields) {
            const lode_field *f = &r->fields[i];
            rc = lode_conv_field(&d->cols[i], &d->conv, f->data, f->len, f->quoted, 0, &d->out, &e);
        } else {
            /* FILLRECORD: missing character columns are empty strings, others NULL */
            int text = d->cols[i].type == LODE_LT_TEXT;
            rc = lode_conv_field(&d->cols[i], &d->conv, "", 0, 0, !text, &d->out, &e);
        }
        if (rc != 0) {
            d->out.len = mark;
            const lode_field *f = i < r->nfields ? &r->fields[i] : NULL;
            record_bad(d, r, (int)i + 1, e.code, e.reason, f ? f->data : NULL, f ? f->len : 0);
            return 0;
        }
        if (lode_buf_putc(&d->out, i + 1 == d->ncols ? '\n' : '\t')) {
            snprintf(d->fatal, sizeof d->fatal, "out of memory");
            return 1;
        }
    }
    d->rows++;
    d->file_rows++;
    return 0;
}

/* One JSON object: every column's field through the same conversion. */
static int on_json_record(void *ud, const lode_json_record *r)
{
    decoder *d = ud;
    size_t mark = d->out.len;
    lode_csv_record cr = { .line = r->line, .nfields = r->nfields, .fields = r->fields, .raw = r->raw,
                           .raw_len = r->raw_len };
    for (size_t i = 0; i < d->ncols; i++) {
        lode_conv_error e;
        const lode_field *f = &r->fields[i];
        int rc = lode_conv_field(&d->cols[i], &d->conv, f->data, f->len, 1, r->isnull[i], &d->out, &e);
        if (rc != 0) {
            d->out.len = mark;
            record_bad(d, &cr, (int)i + 1, e.code, e.reason, f->data, f->len);
            return 0;
        }
        if (lode_buf_putc(&d->out, i + 1 == d->ncols ? '\n' : '\t')) {
            snprintf(d->fatal, sizeof d->fatal, "out of memory");
            return 1;
        }
    }
    d->rows++;
    d->file_rows++;
    return 0;
}

static int to_parser(void *ud, const char *data, size_t len)
{
    decoder *d = ud;
    if (d->json) {
        int rc = lode_jsonload_feed(d->jparser, data, len);
        if (rc == -1)
            snprintf(d->fatal, sizeof d->fatal, "%s, line %lld: %s", d->file ? d->file : "input",
                     (long long)lode_jsonload_error_line(d->jparser), lode_jsonload_error(d->jparser));
        return rc;
    }
    int rc = lode_csv_feed(d->parser, data, len);
    if (rc == -1)
        snprintf(d->fatal, sizeof d->fatal, "%s, line %lld: %s", d->file ? d->file : "input",
                 (long long)lode_csv_error_line(d->parser), lode_csv_error(d->parser));
    return rc;
}

/* Push the produced rows and reset; raise a structured error on a fatal one. */
static int push_out(lua_State *L, decoder *d, int rc)
{
    if (rc != 0) {
        if (!d->fatal[0] && d->unzip && lode_unzip_error(d->unzip))
            snprintf(d->fatal, sizeof d->fatal, "%s: %s", d->file ? d->file : "input", lode_unzip_error(d->unzip));
        if (!d->fatal[0]) snprintf(d->fatal, sizeof d->fatal, "decoding failed");
        d->out.len = 0;
        lode_push_error(L, "copy", "bad_input", d->fatal, 0);
        if (d->file) {
            lua_pushstring(L, d->file);
            lua_setfield(L, -2, "key");
        }
        return lua_error(L);
    }
    lua_pushlstring(L, d->out.data ? d->out.data : "", d->out.len);
    d->out.len = 0;
    return 1;
}

/* dec:begin_file(name): a new file (IGNOREHEADER and line numbers restart). */
static int l_begin_file(lua_State *L)
{
    decoder *d = check_decoder(L);
    size_t n;
    const char *name = luaL_checklstring(L, 2, &n);
    end_file_state(d);
    free(d->file);
    d->file = dup_n(name, n);
    d->file_rows = d->file_errors = 0;
    d->fatal[0] = 0;
    if (d->json) {
        lode_jsonload_opts jo = { .ncols = d->ncols, .names = (const char *const *)d->colnames,
                                  .ignorecase = d->ignorecase, .jsonpaths = (const char *const *)d->jsonpaths,
                                  .n_jsonpaths = d->njsonpaths };
        char err[300];
        d->jparser = lode_jsonload_new(&jo, on_json_record, d, err, sizeof err);
        if (!d->jparser) return lode_raise_error(L, "copy", "bad_input", err, 0);
    } else {
        d->parser = lode_csv_new(&d->copts, on_record, d);
    }
    d->unzip = lode_unzip_new(d->zkind);
    if (!d->file || !(d->parser || d->jparser) || !d->unzip) return luaL_error(L, "out of memory");
    return 0;
}

/* dec:feed(bytes) -> COPY text of the rows completed by these bytes */
static int l_feed(lua_State *L)
{
    decoder *d = check_decoder(L);
    size_t n;
    const char *p = luaL_checklstring(L, 2, &n);
    if (!d->parser && !d->jparser) return luaL_error(L, "dec:feed: call dec:begin_file(name) first");
    d->bytes_in += (int64_t)n;
    int rc = lode_unzip_feed(d->unzip, p, n, to_parser, d);
    return push_out(L, d, rc);
}

/* dec:end_file() -> COPY text of the last row; checks the file ended well */
static int l_end_file(lua_State *L)
{
    decoder *d = check_decoder(L);
    if (!d->parser && !d->jparser) return luaL_error(L, "dec:end_file: no file begun");
    int rc = lode_unzip_finish(d->unzip, to_parser, d);
    if (rc == 0 && d->json) {
        rc = lode_jsonload_finish(d->jparser);
        if (rc == -1)
            snprintf(d->fatal, sizeof d->fatal, "%s, line %lld: %s", d->file,
                     (long long)lode_jsonload_error_line(d->jparser), lode_jsonload_error(d->jparser));
    } else if (rc == 0) {
        rc = lode_csv_finish(d->parser);
        if (rc == -1)
            snprintf(d->fatal, sizeof d->fatal, "%s, line %lld: %s", d->file,
                     (long long)lode_csv_error_line(d->parser), lode_csv_error(d->parser));
    }
    int r = push_out(L, d, rc);
    end_file_state(d);
    return r;
}

/* dec:take_errors() -> { {file=, line=, column=, colname=, code=, raw_line=, raw_value=, reason=}, ... } */
static int l_take_errors(lua_State *L)
{
    decoder *d = check_decoder(L);
    lua_createtable(L, (int)d->nbad, 0);
    for (size_t i = 0; i < d->nbad; i++) {
        bad_row *b = &d->bad[i];
        lua_createtable(L, 0, 8);
        lua_pushstring(L, d->file ? d->file : "");
        lua_setfield(L, -2, "file");
        lua_pushinteger(L, b->line);
        lua_setfield(L, -2, "line");
        lua_pushinteger(L, b->column);
        lua_setfield(L, -2, "column");
        if (b->column >= 1 && (size_t)b->column <= d->ncols) {
            lua_pushstring(L, d->colnames[b->column - 1]);
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
    free_bad(d);
    return 1;
}

/* dec:stats() -> {rows=, errors=, bytes=, file_rows=, file_errors=} */
static int l_stats(lua_State *L)
{
    decoder *d = check_decoder(L);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, d->rows);
    lua_setfield(L, -2, "rows");
    lua_pushinteger(L, d->errors);
    lua_setfield(L, -2, "errors");
    lua_pushinteger(L, d->bytes_in);
    lua_setfield(L, -2, "bytes");
    lua_pushinteger(L, d->file_rows);
    lua_setfield(L, -2, "file_rows");
    lua_pushinteger(L, d->file_errors);
    lua_setfield(L, -2, "file_errors");
    return 1;
}

static int l_gc(lua_State *L)
{
    decoder *d = luaL_checkudata(L, 1, DECODER_MT);
    decoder_close(d);
    return 0;
}

/* ---- construction ----------------------------------------------------------- */

static const struct { const char *name; lode_load_type type; } TYPES[] = {
    { "text", LODE_LT_TEXT }, { "varchar", LODE_LT_TEXT }, { "character varying", LODE_LT_TEXT },
    { "char", LODE_LT_TEXT }, { "character", LODE_LT_TEXT }, { "bpchar", LODE_LT_TEXT },
    { "smallint", LODE_LT_INT2 }, { "int2", LODE_LT_INT2 },
    { "integer", LODE_LT_INT4 }, { "int", LODE_LT_INT4 }, { "int4", LODE_LT_INT4 },
    { "bigint", LODE_LT_INT8 }, { "int8", LODE_LT_INT8 },
    { "numeric", LODE_LT_NUMERIC }, { "decimal", LODE_LT_NUMERIC },
    { "real", LODE_LT_FLOAT4 }, { "float4", LODE_LT_FLOAT4 },
    { "double precision", LODE_LT_FLOAT8 }, { "float8", LODE_LT_FLOAT8 }, { "float", LODE_LT_FLOAT8 },
    { "boolean", LODE_LT_BOOL }, { "bool", LODE_LT_BOOL },
    { "date", LODE_LT_DATE },
    { "time", LODE_LT_TIME }, { "time without time zone", LODE_LT_TIME },
    { "timetz", LODE_LT_TIMETZ }, { "time with time zone", LODE_LT_TIMETZ },
    { "timestamp", LODE_LT_TIMESTAMP }, { "timestamp without time zone", LODE_LT_TIMESTAMP },
    { "timestamptz", LODE_LT_TIMESTAMPTZ }, { "timestamp with time zone", LODE_LT_TIMESTAMPTZ },
    { "json", LODE_LT_JSON }, { "jsonb", LODE_LT_JSON }, { "super", LODE_LT_JSON },
};

static lode_load_type type_of(const char *name)
{
    for (size_t i = 0; i < sizeof TYPES / sizeof *TYPES; i++)
        if (strcmp(TYPES[i].name, name) == 0) return TYPES[i].type;
    return LODE_LT_OTHER;
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

static char *opt_str(lua_State *L, int idx, const char *k, size_t *len)
{
    char *s = NULL;
    if (lua_getfield(L, idx, k) == LUA_TSTRING) {
        size_t n;
        const char *p = lua_tolstring(L, -1, &n);
        s = dup_n(p, n);
        if (len) *len = n;
    }
    lua_pop(L, 1);
    return s;
}

static int l_decoder(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lode_load_keep_freed_memory();
    decoder *d = lua_newuserdatauv(L, sizeof *d, 0);
    memset(d, 0, sizeof *d);
    d->closed = 1;           /* nothing to free until filled */
    luaL_setmetatable(L, DECODER_MT);
    d->closed = 0;

    lua_getfield(L, 1, "format");
    const char *fmt = luaL_optstring(L, -1, "csv");
    if (strcmp(fmt, "csv") == 0) d->csv = 1;
    else if (strcmp(fmt, "text") == 0) d->csv = 0;
    else if (strcmp(fmt, "json") == 0) d->json = 1;
    else return luaL_error(L, "load.decoder: format '%s' is not csv, text or json", fmt);
    lua_pop(L, 1);
    if (d->json) {
        d->ignorecase = opt_bool(L, 1, "ignorecase");
        if (lua_getfield(L, 1, "jsonpaths") == LUA_TTABLE) {
            size_t n = (size_t)luaL_len(L, -1);
            d->jsonpaths = calloc(n + 1, sizeof *d->jsonpaths);
            if (!d->jsonpaths) return luaL_error(L, "out of memory");
            for (size_t i = 0; i < n; i++) {
                lua_rawgeti(L, -1, (lua_Integer)i + 1);
                size_t len;
                const char *e = lua_tolstring(L, -1, &len);
                if (!e) return luaL_error(L, "load.decoder: jsonpaths must be strings");
                d->jsonpaths[i] = dup_n(e, len);
                d->njsonpaths = i + 1;
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }

    d->copts.csv = d->csv;
    d->copts.delimiter = opt_char(L, 1, "delimiter", d->csv ? ',' : '|');
    d->copts.quote = opt_char(L, 1, "quote", '"');
    d->copts.escape = opt_bool(L, 1, "escape");
    d->copts.removequotes = opt_bool(L, 1, "removequotes");
    d->copts.ignoreblanklines = opt_bool(L, 1, "ignoreblanklines");
    lua_getfield(L, 1, "ignoreheader");
    d->copts.ignoreheader = luaL_optinteger(L, -1, 0);
    lua_pop(L, 1);
    d->fillrecord = opt_bool(L, 1, "fillrecord");

    size_t null_len = 0;
    d->null_as = opt_str(L, 1, "null_as", &null_len);
    if (!d->null_as && !d->csv && !d->json) {   /* Redshift text format: \N is NULL */
        d->null_as = dup_n("\\N", 2);
        null_len = 2;
    }
    d->conv.null_as = d->null_as;
    d->conv.null_as_len = null_len;
    d->conv.emptyasnull = opt_bool(L, 1, "emptyasnull");
    d->conv.blanksasnull = opt_bool(L, 1, "blanksasnull");
    d->conv.truncatecolumns = opt_bool(L, 1, "truncatecolumns");
    d->conv.roundec = opt_bool(L, 1, "roundec");
    d->conv.trimblanks = opt_bool(L, 1, "trimblanks");
    d->conv.acceptanydate = opt_bool(L, 1, "acceptanydate");
    lua_getfield(L, 1, "acceptinvchars");
    if (lua_isstring(L, -1)) d->conv.acceptinvchars = lua_tostring(L, -1)[0];
    else if (lua_toboolean(L, -1)) d->conv.acceptinvchars = '?';
    lua_pop(L, 1);
    d->dateformat = opt_str(L, 1, "dateformat", NULL);
    d->timeformat = opt_str(L, 1, "timeformat", NULL);
    d->conv.dateformat = d->dateformat;
    d->conv.timeformat = d->timeformat;

    lua_getfield(L, 1, "compression");
    const char *z = luaL_optstring(L, -1, "auto");
    if (strcmp(z, "auto") == 0) d->zkind = LODE_Z_AUTO;
    else if (strcmp(z, "none") == 0) d->zkind = LODE_Z_NONE;
    else if (strcmp(z, "gzip") == 0) d->zkind = LODE_Z_GZIP;
    else if (strcmp(z, "bzip2") == 0) d->zkind = LODE_Z_BZIP2;
    else if (strcmp(z, "zstd") == 0) d->zkind = LODE_Z_ZSTD;
    else return luaL_error(L, "load.decoder: unknown compression '%s'", z);
    lua_pop(L, 1);

    if (lua_getfield(L, 1, "columns") != LUA_TTABLE) return luaL_error(L, "load.decoder: 'columns' must be a list");
    size_t n = (size_t)luaL_len(L, -1);
    if (n == 0) return luaL_error(L, "load.decoder: no columns");
    d->cols = calloc(n, sizeof *d->cols);
    d->colnames = calloc(n, sizeof *d->colnames);
    if (!d->cols || !d->colnames) return luaL_error(L, "out of memory");
    d->ncols = n;
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i + 1);
        if (!lua_istable(L, -1)) return luaL_error(L, "load.decoder: column %d must be a table", (int)i + 1);
        lua_getfield(L, -1, "name");
        d->colnames[i] = dup_n(luaL_optstring(L, -1, "?"), strlen(luaL_optstring(L, -1, "?")));
        lua_pop(L, 1);
        lua_getfield(L, -1, "type");
        d->cols[i].type = type_of(luaL_optstring(L, -1, "text"));
        lua_pop(L, 1);
        lua_getfield(L, -1, "length");
        d->cols[i].length = (int32_t)luaL_optinteger(L, -1, -1);
        lua_pop(L, 1);
        lua_getfield(L, -1, "precision");
        d->cols[i].precision = (int)luaL_optinteger(L, -1, 0);
        lua_pop(L, 1);
        lua_getfield(L, -1, "scale");
        d->cols[i].scale = (int)luaL_optinteger(L, -1, 0);
        lua_pop(L, 1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
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
    cJSON *root = cJSON_ParseWithLength(text, n);
    if (!root) {
        snprintf(msg, sizeof msg, "%s: not valid JSON", name);
        goto fail;
    }
    cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entries");
    if (!cJSON_IsArray(entries)) {
        snprintf(msg, sizeof msg, "%s: no \"entries\" array", name);
        goto fail;
    }
    lua_createtable(L, cJSON_GetArraySize(entries), 0);
    int i = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, entries) {
        i++;
        cJSON *url = cJSON_GetObjectItemCaseSensitive(e, "url");
        if (!cJSON_IsString(url) || strncmp(url->valuestring, "s3://", 5) != 0) {
            lua_pop(L, 1);
            snprintf(msg, sizeof msg, "%s: entry %d has no s3:// \"url\"", name, i);
            goto fail;
        }
        lua_createtable(L, 0, 3);
        lua_pushstring(L, url->valuestring);
        lua_setfield(L, -2, "url");
        cJSON *mand = cJSON_GetObjectItemCaseSensitive(e, "mandatory");
        lua_pushboolean(L, cJSON_IsTrue(mand));
        lua_setfield(L, -2, "mandatory");
        cJSON *meta = cJSON_GetObjectItemCaseSensitive(e, "meta");
        cJSON *len = meta ? cJSON_GetObjectItemCaseSensitive(meta, "content_length") : NULL;
        if (cJSON_IsNumber(len) && len->valuedouble >= 0) {
            lua_pushinteger(L, (lua_Integer)len->valuedouble);
            lua_setfield(L, -2, "content_length");
        }
        lua_rawseti(L, -2, i);
    }
    cJSON_Delete(root);
    return 1;
fail:
    cJSON_Delete(root);
    return lode_raise_error(L, "copy", "bad_manifest", msg, 0);
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

int luaopen_lode_load(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "begin_file", l_begin_file }, { "feed", l_feed }, { "end_file", l_end_file },
        { "take_errors", l_take_errors }, { "stats", l_stats }, { NULL, NULL },
    };
    lode_new_class(L, DECODER_MT, methods, l_gc, l_gc, NULL);
    static const luaL_Reg progress_methods[] = { { "get", l_progress_get }, { NULL, NULL } };
    lode_new_class(L, PROGRESS_MT, progress_methods, l_progress_gc, l_progress_gc, NULL);
    static const luaL_Reg funcs[] = { { "decoder", l_decoder }, { "manifest", l_manifest },
                                      { "parquet_copy", l_parquet_copy }, { "progress", l_progress },
                                      { NULL, NULL } };
    luaL_newlib(L, funcs);
    return 1;
}

/* decoder.c — the COPY decoder for CSV, text, fixed-width and JSON: unzip →
 * transcode to UTF-8 (ENCODING) → parser → per-column conversion into
 * PostgreSQL text COPY rows, bad rows kept aside.
 * Owns: copies of the option strings, the per-file parser and unzip state
 * (released by end_file, begin_file or free), the output and transcoding
 * buffers, the FIXEDWIDTH widths, the SET_TO_NULL codes, the kept
 * bad rows (released by clear_bad or free). No I/O, no Lua. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/load/decoder.h"

struct lode_decoder {
    lode_decoder_format format;
    lode_csv_opts copts;
    lode_conv_opts conv;
    lode_zkind zkind;
    lode_encoding enc;
    uint32_t *widths;         /* FIXEDWIDTH (copts.widths points here) */
    int fillrecord;
    size_t ncols;
    lode_load_column *cols;
    char **colnames;
    char *null_as, *dateformat, *timeformat;
    int ignorecase, dots_in_keys;
    char **jsonpaths;
    size_t njsonpaths;
    int *null_codes;          /* SET_TO_NULL: the LODE_ERR_* codes whose field becomes NULL */
    size_t n_null_codes;
    /* per file */
    lode_csv *parser;
    lode_jsonload *jparser;
    lode_unzip *unzip;
    char *file;
    int64_t file_rows, file_errors;
    /* per file: transcoding to UTF-8 */
    unsigned char enc_unit[2];  /* a UTF-16 code unit's first byte, waiting for its second */
    int enc_have;               /* bytes in enc_unit */
    int enc_started;            /* the byte order mark was looked for */
    int enc_be;                 /* big-endian UTF-16 */
    uint32_t enc_high;          /* a high surrogate waiting for its low half, or 0 */
    int64_t enc_offset;         /* bytes of the file transcoded */
    lode_buf enc_out;
    /* totals */
    int64_t rows, errors, bytes_in;
    lode_buf own;             /* rows produced since the last reset */
    lode_buf *out;            /* where rows go: &own, or the caller's (lode_decoder_output_to) */
    int binary;               /* rows as binary COPY tuples */
    lode_buf scratch;         /* a value's text on its way to binary */
    size_t out_base;          /* out's length when it was given */
    lode_bad_row *bad;
    size_t nbad, capbad;
    char fatal[400];
    lode_decoder_row_fn on_row;   /* each row that goes out, with its line (NULL: none) */
    void *on_row_ud;
};

static char *dup_n(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

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
    { "json", LODE_LT_JSON }, { "jsonb", LODE_LT_JSONB }, { "super", LODE_LT_JSON },
    { "bytea", LODE_LT_BYTEA },
};

lode_load_type lode_load_type_of(const char *name)
{
    for (size_t i = 0; i < sizeof TYPES / sizeof *TYPES; i++)
        if (strcmp(TYPES[i].name, name) == 0) return TYPES[i].type;
    return LODE_LT_OTHER;
}

int lode_encoding_of(const char *name, lode_encoding *out)
{
    static const struct { const char *name; lode_encoding enc; } E[] = {
        { "UTF8", LODE_ENC_UTF8 }, { "UTF16", LODE_ENC_UTF16 }, { "UTF16LE", LODE_ENC_UTF16LE },
        { "UTF16BE", LODE_ENC_UTF16BE }, { "ISO88591", LODE_ENC_ISO88591 },
    };
    for (size_t i = 0; i < sizeof E / sizeof *E; i++)
        if (strcmp(E[i].name, name) == 0) {
            *out = E[i].enc;
            return 0;
        }
    return -1;
}

int lode_zkind_of(const char *name, lode_zkind *out)
{
    static const struct { const char *name; lode_zkind kind; } Z[] = {
        { "auto", LODE_Z_AUTO }, { "none", LODE_Z_NONE }, { "gzip", LODE_Z_GZIP },
        { "bzip2", LODE_Z_BZIP2 }, { "zstd", LODE_Z_ZSTD },
    };
    for (size_t i = 0; i < sizeof Z / sizeof *Z; i++)
        if (strcmp(Z[i].name, name) == 0) {
            *out = Z[i].kind;
            return 0;
        }
    return -1;
}

/* ---- lifetime --------------------------------------------------------------- */

static void end_file_state(lode_decoder *d)
{
    lode_csv_free(d->parser);
    d->parser = NULL;
    lode_jsonload_free(d->jparser);
    d->jparser = NULL;
    lode_unzip_free(d->unzip);
    d->unzip = NULL;
}

void lode_decoder_clear_bad(lode_decoder *d)
{
    for (size_t i = 0; i < d->nbad; i++) {
        free(d->bad[i].raw_line);
        free(d->bad[i].raw_value);
        free(d->bad[i].reason);
    }
    d->nbad = 0;
}

void lode_decoder_free(lode_decoder *d)
{
    if (!d) return;
    end_file_state(d);
    lode_decoder_clear_bad(d);
    free(d->bad);
    if (d->colnames)
        for (size_t i = 0; i < d->ncols; i++) free(d->colnames[i]);
    free(d->colnames);
    for (size_t i = 0; i < d->njsonpaths; i++) free(d->jsonpaths[i]);
    free(d->jsonpaths);
    free(d->null_codes);
    free(d->cols);
    free(d->null_as);
    free(d->dateformat);
    free(d->timeformat);
    free(d->file);
    free(d->widths);
    lode_buf_free(&d->own);
    lode_buf_free(&d->scratch);
    lode_buf_free(&d->enc_out);
    free(d);
}

lode_decoder *lode_decoder_new(const lode_decoder_opts *o)
{
    lode_load_keep_freed_memory();
    lode_decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->out = &d->own;
    d->binary = o->binary;
    d->format = o->format;
    d->copts = o->csv;
    d->copts.csv = o->format == LODE_DEC_CSV;
    d->conv = o->conv;
    d->zkind = o->compression;
    d->enc = o->encoding;
    if (o->csv.nwidths) {
        if (!(d->widths = malloc(o->csv.nwidths * sizeof *d->widths))) goto nomem;
        memcpy(d->widths, o->csv.widths, o->csv.nwidths * sizeof *d->widths);
        d->copts.widths = d->widths;
    }
    d->fillrecord = o->fillrecord;
    d->ignorecase = o->ignorecase;
    d->dots_in_keys = o->dots_in_keys;
    if (o->conv.null_as) {
        if (!(d->null_as = dup_n(o->conv.null_as, o->conv.null_as_len))) goto nomem;
    } else if (o->format == LODE_DEC_TEXT) {   /* Redshift text format: \N is NULL */
        if (!(d->null_as = dup_n("\\N", 2))) goto nomem;
        d->conv.null_as_len = 2;
    }
    d->conv.null_as = d->null_as;
    if (o->conv.dateformat && !(d->dateformat = strdup(o->conv.dateformat))) goto nomem;
    if (o->conv.timeformat && !(d->timeformat = strdup(o->conv.timeformat))) goto nomem;
    d->conv.dateformat = d->dateformat;
    d->conv.timeformat = d->timeformat;
    if (o->jsonpaths) {
        if (!(d->jsonpaths = calloc(o->njsonpaths + 1, sizeof *d->jsonpaths))) goto nomem;
        for (size_t i = 0; i < o->njsonpaths; i++) {
            if (!(d->jsonpaths[i] = strdup(o->jsonpaths[i]))) goto nomem;
            d->njsonpaths = i + 1;
        }
    }
    if (o->n_null_codes) {
        if (!(d->null_codes = malloc(o->n_null_codes * sizeof *d->null_codes))) goto nomem;
        memcpy(d->null_codes, o->null_codes, o->n_null_codes * sizeof *d->null_codes);
        d->n_null_codes = o->n_null_codes;
    }
    d->cols = calloc(o->ncols ? o->ncols : 1, sizeof *d->cols);
    d->colnames = calloc(o->ncols ? o->ncols : 1, sizeof *d->colnames);
    if (!d->cols || !d->colnames) goto nomem;
    d->ncols = o->ncols;
    for (size_t i = 0; i < o->ncols; i++) {
        d->cols[i] = o->columns[i].col;
        if (!(d->colnames[i] = strdup(o->columns[i].name ? o->columns[i].name : "?"))) goto nomem;
    }
    return d;
nomem:
    lode_decoder_free(d);
    return NULL;
}

/* ---- records ------------------------------------------------------------------ */

/* Keep a bad row aside (details for the first LODE_DECODER_MAX_KEPT_ERRORS). */
static void record_bad(lode_decoder *d, const lode_csv_record *r, int column, int code, const char *reason,
                       const char *value, size_t value_len)
{
    d->errors++;
    d->file_errors++;
    if (d->nbad >= LODE_DECODER_MAX_KEPT_ERRORS) return;
    if (d->nbad == d->capbad) {
        size_t n = d->capbad ? d->capbad * 2 : 16;
        lode_bad_row *b = realloc(d->bad, n * sizeof *b);
        if (!b) return;
        d->bad = b;
        d->capbad = n;
    }
    lode_bad_row *b = &d->bad[d->nbad++];
    b->line = r->line;
    b->column = column;
    b->code = code;
    b->raw_line_len = r->raw_len;
    b->raw_line = dup_n(r->raw, r->raw_len);
    b->raw_value_len = value ? (value_len > 1024 ? 1024 : value_len) : 0;
    b->raw_value = dup_n(value ? value : "", b->raw_value_len);
    b->reason = dup_n(reason, strlen(reason));
}

/* Whether a bad value of this kind is NULL instead (Spectrum's SET_TO_NULL). */
static int sets_null(const lode_decoder *d, int code)
{
    for (size_t i = 0; i < d->n_null_codes; i++)
        if (d->null_codes[i] == code) return 1;
    return 0;
}

/* One field into the output in the decoder's format; 0, -1 a bad value
 * (e filled), 1 a fatal one (d->fatal set: the load stops). */
static int put_field(lode_decoder *d, const lode_csv_record *r, size_t i, const char *p, size_t n, int quoted,
                     int is_null, lode_conv_error *e)
{
    if (!d->binary) {
        if (lode_conv_field(&d->cols[i], &d->conv, p, n, quoted, is_null, d->out, e) != 0) return -1;
        if (lode_buf_putc(d->out, i + 1 == d->ncols ? '\n' : '\t')) goto oom;
        return 0;
    }
    int rc = lode_conv_field_binary(&d->cols[i], &d->conv, p, n, quoted, is_null, d->out, &d->scratch, e);
    if (rc == -2) {
        snprintf(d->fatal, sizeof d->fatal, "%s, line %lld, column %zu '%s': %s", d->file ? d->file : "input",
                 (long long)r->line, i + 1, d->colnames[i], e->reason);
        return 1;
    }
    if (rc == -1 && e->code == 0) goto oom;
    return rc;
oom:
    snprintf(d->fatal, sizeof d->fatal, "out of memory");
    return 1;
}

/* put_field, with a bad value the table's SET_TO_NULL governs written as
 * NULL (the row is kept, the other columns untouched). */
static int put_field_or_null(lode_decoder *d, const lode_csv_record *r, size_t i, const char *p, size_t n,
                             int quoted, int is_null, lode_conv_error *e)
{
    int rc = put_field(d, r, i, p, n, quoted, is_null, e);
    if (rc < 0 && e->code != 0 && sets_null(d, e->code)) rc = put_field(d, r, i, "", 0, 0, 1, e);
    return rc;
}

/* A binary tuple's field count. */
static int put_tuple_start(lode_decoder *d)
{
    if (!d->binary) return 0;
    char h[2] = { (char)(d->ncols >> 8), (char)d->ncols };
    if (lode_buf_append(d->out, h, 2) == 0) return 0;
    snprintf(d->fatal, sizeof d->fatal, "out of memory");
    return 1;
}

static int on_record(void *ud, const lode_csv_record *r)
{
    lode_decoder *d = ud;
    size_t mark = d->out->len;
    size_t nfields = r->nfields;
    /* A delimiter closing the line ("1|a|b|", as TPC-H/TPC-DS/SSB dbgen
     * files end every line) is accepted by Redshift's delimited-text COPY:
     * "Do not include any special characters or syntax to indicate the last
     * field in a record. This field can be a delimiter." (Developer Guide,
     * "Preparing your input data"). Not in CSV or FIXEDWIDTH. */
    if (!d->copts.csv && !d->widths && nfields == d->ncols + 1 && d->ncols > 0 &&
        r->fields[d->ncols].len == 0 && !r->fields[d->ncols].quoted)
        nfields = d->ncols;
    if (nfields > d->ncols && sets_null(d, LODE_ERR_EXTRA_COLUMNS))
        nfields = d->ncols;   /* SET_TO_NULL: the surplus fields are ignored */
    if (nfields > d->ncols) {
        char m[120];
        snprintf(m, sizeof m, "Extra column(s) found: %zu fields for %zu columns", r->nfields, d->ncols);
        record_bad(d, r, (int)d->ncols + 1, LODE_ERR_EXTRA_COLUMNS, m,
                   r->fields[d->ncols].data, r->fields[d->ncols].len);
        return 0;
    }
    if (nfields < d->ncols && !d->fillrecord && !sets_null(d, LODE_ERR_DELIMITER)) {
        char m[120];
        snprintf(m, sizeof m, "Delimiter not found: %zu fields for %zu columns (FILLRECORD allows this)",
                 nfields, d->ncols);
        record_bad(d, r, (int)nfields + 1, LODE_ERR_DELIMITER, m, NULL, 0);
        return 0;
    }
    if (put_tuple_start(d)) return 1;
    for (size_t i = 0; i < d->ncols; i++) {
        lode_conv_error e;
        int rc;
        if (i < nfields) {
            const lode_field *f = &r->fields[i];
            const char *p = f->data;
            size_t n = f->len;
            if (d->widths && d->cols[i].type != LODE_LT_TEXT) {
                /* FIXEDWIDTH: a number or date is padded with blanks to its width */
                while (n > 0 && p[0] == ' ') p++, n--;
                while (n > 0 && p[n - 1] == ' ') n--;
            }
            rc = put_field_or_null(d, r, i, p, n, f->quoted, 0, &e);
        } else {
            /* FILLRECORD: missing character columns are empty strings, others NULL;
             * SET_TO_NULL of a column count mismatch: all NULL */
            int empty = d->fillrecord && d->cols[i].type == LODE_LT_TEXT;
            rc = put_field(d, r, i, "", 0, 0, !empty, &e);
        }
        if (rc != 0) {
            d->out->len = mark;
            if (rc > 0) return 1;
            const lode_field *f = i < nfields ? &r->fields[i] : NULL;
            record_bad(d, r, (int)i + 1, e.code, e.reason, f ? f->data : NULL, f ? f->len : 0);
            return 0;
        }
    }
    d->rows++;
    d->file_rows++;
    if (d->on_row) d->on_row(d->on_row_ud, r->line);
    return 0;
}

/* One JSON object: every column's field through the same conversion. */
static int on_json_record(void *ud, const lode_json_record *r)
{
    lode_decoder *d = ud;
    size_t mark = d->out->len;
    lode_csv_record cr = { .line = r->line, .nfields = r->nfields, .fields = r->fields, .raw = r->raw,
                           .raw_len = r->raw_len };
    if (put_tuple_start(d)) return 1;
    for (size_t i = 0; i < d->ncols; i++) {
        lode_conv_error e;
        const lode_field *f = &r->fields[i];
        int rc = put_field_or_null(d, &cr, i, f->data, f->len, 1, r->isnull[i], &e);
        if (rc != 0) {
            d->out->len = mark;
            if (rc > 0) return 1;
            record_bad(d, &cr, (int)i + 1, e.code, e.reason, f->data, f->len);
            return 0;
        }
    }
    d->rows++;
    d->file_rows++;
    if (d->on_row) d->on_row(d->on_row_ud, r->line);
    return 0;
}

static int parse_utf8(lode_decoder *d, const char *data, size_t len)
{
    if (d->jparser) {
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

static int put_utf8(lode_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    return lode_buf_append(b, u, n);
}

static int enc_fail(lode_decoder *d, const char *why)
{
    snprintf(d->fatal, sizeof d->fatal, "%s, byte %lld: %s", d->file ? d->file : "input",
             (long long)d->enc_offset, why);
    return -1;
}

/* One UTF-16 code unit (the BOM handled by the caller) into enc_out. */
static int utf16_unit(lode_decoder *d, uint32_t u)
{
    if (d->enc_high) {
        if (u < 0xDC00 || u > 0xDFFF) return enc_fail(d, "a UTF-16 high surrogate without its low half");
        uint32_t cp = 0x10000 + ((d->enc_high - 0xD800) << 10) + (u - 0xDC00);
        d->enc_high = 0;
        return put_utf8(&d->enc_out, cp) ? enc_fail(d, "out of memory") : 0;
    }
    if (u >= 0xD800 && u <= 0xDBFF) {
        d->enc_high = u;
        return 0;
    }
    if (u >= 0xDC00 && u <= 0xDFFF) return enc_fail(d, "a UTF-16 low surrogate without its high half");
    return put_utf8(&d->enc_out, u) ? enc_fail(d, "out of memory") : 0;
}

/* ENCODING: transcode a chunk of the file to UTF-8 in enc_out. UTF16 reads
 * its byte order from the BOM (and needs one); UTF16LE / UTF16BE drop a BOM
 * of their order; ISO88591 maps each byte to its code point. */
static int transcode(lode_decoder *d, const unsigned char *s, size_t n)
{
    d->enc_out.len = 0;
    for (size_t i = 0; i < n; i++, d->enc_offset++) {
        if (d->enc == LODE_ENC_ISO88591) {
            if (put_utf8(&d->enc_out, s[i])) return enc_fail(d, "out of memory");
            continue;
        }
        d->enc_unit[d->enc_have++] = s[i];
        if (d->enc_have < 2) continue;
        d->enc_have = 0;
        unsigned char a = d->enc_unit[0], b = d->enc_unit[1];
        if (!d->enc_started) {
            d->enc_started = 1;
            int bom_be = a == 0xFE && b == 0xFF, bom_le = a == 0xFF && b == 0xFE;
            if (d->enc == LODE_ENC_UTF16) {
                if (!bom_be && !bom_le)
                    return enc_fail(d, "ENCODING UTF16 needs a byte order mark (FE FF or FF FE) at the start "
                                       "of the file, as on Redshift; UTF16LE or UTF16BE read a file without one");
                d->enc_be = bom_be;
                continue;
            }
            d->enc_be = d->enc == LODE_ENC_UTF16BE;
            if ((d->enc_be && bom_be) || (!d->enc_be && bom_le)) continue;
        }
        if (utf16_unit(d, d->enc_be ? (uint32_t)(a << 8 | b) : (uint32_t)(b << 8 | a))) return -1;
    }
    return 0;
}

static int to_parser(void *ud, const char *data, size_t len)
{
    lode_decoder *d = ud;
    if (d->enc == LODE_ENC_UTF8) return parse_utf8(d, data, len);
    if (transcode(d, (const unsigned char *)data, len)) return -1;
    return d->enc_out.len ? parse_utf8(d, d->enc_out.data, d->enc_out.len) : 0;
}

/* The end of a transcoded file: nothing may be left half read. */
static int transcode_finish(lode_decoder *d)
{
    if (d->enc == LODE_ENC_UTF8 || d->enc == LODE_ENC_ISO88591) return 0;
    if (d->enc_have) return enc_fail(d, "the file ends in the middle of a UTF-16 code unit (an odd byte count)");
    if (d->enc_high) return enc_fail(d, "the file ends after a UTF-16 high surrogate");
    return 0;
}

/* A failed feed/end_file: make sure the message says why, drop partial output. */
static int failed(lode_decoder *d)
{
    if (!d->fatal[0] && d->unzip && lode_unzip_error(d->unzip))
        snprintf(d->fatal, sizeof d->fatal, "%s: %s", d->file ? d->file : "input", lode_unzip_error(d->unzip));
    if (!d->fatal[0]) snprintf(d->fatal, sizeof d->fatal, "decoding failed");
    d->out->len = d->out_base;
    return -1;
}

/* ---- files -------------------------------------------------------------------- */

int lode_decoder_begin_file(lode_decoder *d, const char *name, size_t name_len, char *err, size_t errlen)
{
    end_file_state(d);
    free(d->file);
    d->file = dup_n(name, name_len);
    d->file_rows = d->file_errors = 0;
    d->fatal[0] = 0;
    d->enc_have = d->enc_started = d->enc_be = 0;
    d->enc_high = 0;
    d->enc_offset = 0;
    if (d->format == LODE_DEC_JSON) {
        lode_jsonload_opts jo = { .ncols = d->ncols, .names = (const char *const *)d->colnames,
                                  .ignorecase = d->ignorecase, .dots_in_keys = d->dots_in_keys,
                                  .jsonpaths = (const char *const *)d->jsonpaths,
                                  .n_jsonpaths = d->njsonpaths };
        d->jparser = lode_jsonload_new(&jo, on_json_record, d, err, errlen);
        if (!d->jparser) return -1;
    } else {
        d->parser = lode_csv_new(&d->copts, on_record, d);
    }
    d->unzip = lode_unzip_new(d->zkind);
    if (!d->file || !(d->parser || d->jparser) || !d->unzip) return -2;
    return 0;
}

int lode_decoder_in_file(const lode_decoder *d)
{
    return d->parser || d->jparser;
}

int lode_decoder_feed(lode_decoder *d, const void *p, size_t n)
{
    d->bytes_in += (int64_t)n;
    int rc = lode_unzip_feed(d->unzip, p, n, to_parser, d);
    return rc ? failed(d) : 0;
}

int lode_decoder_end_file(lode_decoder *d)
{
    int rc = lode_unzip_finish(d->unzip, to_parser, d);
    if (rc == 0) rc = transcode_finish(d);
    if (rc == 0 && d->jparser) {
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
    if (rc) rc = failed(d);
    end_file_state(d);
    return rc;
}

const char *lode_decoder_error(const lode_decoder *d) { return d->fatal; }
const char *lode_decoder_file(const lode_decoder *d) { return d->file; }

const char *lode_decoder_output(const lode_decoder *d, size_t *len)
{
    *len = d->own.len;
    return d->own.data ? d->own.data : "";
}

void lode_decoder_output_reset(lode_decoder *d) { d->own.len = 0; }

int lode_decoder_binary(const lode_decoder *d) { return d->binary; }

void lode_decoder_output_to(lode_decoder *d, lode_buf *b)
{
    d->out = b ? b : &d->own;
    d->out_base = d->out->len;
}

size_t lode_decoder_nbad(const lode_decoder *d) { return d->nbad; }
const lode_bad_row *lode_decoder_bad_row(const lode_decoder *d, size_t i) { return i < d->nbad ? &d->bad[i] : NULL; }
size_t lode_decoder_ncols(const lode_decoder *d) { return d->ncols; }
const char *lode_decoder_column_name(const lode_decoder *d, size_t i) { return i < d->ncols ? d->colnames[i] : NULL; }

void lode_decoder_get_stats(const lode_decoder *d, lode_decoder_stats *s)
{
    s->rows = d->rows;
    s->errors = d->errors;
    s->bytes = d->bytes_in;
    s->file_rows = d->file_rows;
    s->file_errors = d->file_errors;
}

void lode_decoder_on_row(lode_decoder *d, lode_decoder_row_fn fn, void *ud)
{
    d->on_row = fn;
    d->on_row_ud = ud;
}

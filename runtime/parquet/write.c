/* write.c — the Parquet writer behind lode/parquet/write.h.
 * Owns: the FILE (or the in-memory output), per-column buffers for one row group (values, definition
 * levels), one page buffer, and the footer's record of the row groups
 * written; all freed by lode_pqw_free. Thrift compact encoding of the page
 * headers and the footer is done here (the reader's thrift.c only decodes). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "lode/parquet/codec.h"
#include "lode/parquet/write.h"

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static int buf_reserve(buf *b, size_t more)
{
    if (b->cap - b->n >= more) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->n < more) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_put(buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) < 0) return -1;
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

static int buf_byte(buf *b, uint8_t c) { return buf_put(b, &c, 1); }

/* ---- Thrift compact protocol, the writing half --------------------------- */

enum { T_STOP = 0, T_TRUE = 1, T_FALSE = 2, T_I32 = 5, T_I64 = 6, T_BINARY = 8, T_LIST = 9, T_STRUCT = 12 };

typedef struct {
    buf *b;
    int16_t last[16];
    int depth;
    int failed;
} tenc;

static void t_varint(tenc *t, uint64_t v)
{
    while (v >= 0x80) {
        if (buf_byte(t->b, (uint8_t)(v | 0x80)) < 0) t->failed = 1;
        v >>= 7;
    }
    if (buf_byte(t->b, (uint8_t)v) < 0) t->failed = 1;
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static void t_field(tenc *t, int16_t id, int type)
{
    int16_t delta = (int16_t)(id - t->last[t->depth]);
    if (delta > 0 && delta <= 15) {
        if (buf_byte(t->b, (uint8_t)((delta << 4) | type)) < 0) t->failed = 1;
    } else {
        if (buf_byte(t->b, (uint8_t)type) < 0) t->failed = 1;
        t_varint(t, zigzag(id));
    }
    t->last[t->depth] = id;
}

static void t_i32(tenc *t, int16_t id, int32_t v) { t_field(t, id, T_I32); t_varint(t, zigzag(v)); }
static void t_bool(tenc *t, int16_t id, int v) { t_field(t, id, v ? T_TRUE : T_FALSE); }
static void t_i64(tenc *t, int16_t id, int64_t v) { t_field(t, id, T_I64); t_varint(t, zigzag(v)); }

static void t_binary(tenc *t, int16_t id, const char *s, size_t n)
{
    t_field(t, id, T_BINARY);
    t_varint(t, n);
    if (buf_put(t->b, s, n) < 0) t->failed = 1;
}

static void t_list(tenc *t, int16_t id, int elem_type, size_t n)
{
    t_field(t, id, T_LIST);
    if (n < 15) {
        if (buf_byte(t->b, (uint8_t)((n << 4) | (size_t)elem_type)) < 0) t->failed = 1;
    } else {
        if (buf_byte(t->b, (uint8_t)(0xF0 | elem_type)) < 0) t->failed = 1;
        t_varint(t, n);
    }
}

/* a struct as a field (id > 0) or as a list element (id 0) */
static void t_begin(tenc *t, int16_t id)
{
    if (id) t_field(t, id, T_STRUCT);
    t->depth++;
    t->last[t->depth] = 0;
}

static void t_end(tenc *t)
{
    if (buf_byte(t->b, T_STOP) < 0) t->failed = 1;
    t->depth--;
}

/* ---- the writer --------------------------------------------------------- */

enum { PQ_BOOLEAN = 0, PQ_INT32 = 1, PQ_INT64 = 2, PQ_FLOAT = 4, PQ_DOUBLE = 5, PQ_BYTE_ARRAY = 6, PQ_FLBA = 7 };
enum { CT_UTF8 = 0, CT_DECIMAL = 5, CT_DATE = 6, CT_TIME_MICROS = 8, CT_TIMESTAMP_MICROS = 10 };

typedef struct {
    char *name;
    int type, precision, scale;
    int width;           /* DECIMAL over 18 digits: bytes of its FIXED_LEN_BYTE_ARRAY */
    buf values;          /* PLAIN-encoded non-NULL values (booleans: one byte each, packed at flush) */
    buf defs;            /* one byte per row: 1 = value, 0 = NULL */
    int64_t nonnull;
} column;

typedef struct {
    int64_t file_offset, num_values, uncompressed, compressed;
} chunk_meta;

struct lode_pqw {
    FILE *f;             /* NULL: in memory, into out */
    buf out;
    char *path;
    int codec;
    int ncols;
    column *cols;
    size_t row_group_bytes;
    int64_t offset;         /* bytes written to the file */
    int64_t rows, group_rows;
    int cur;                /* columns given in the current row */
    chunk_meta *chunks;     /* ncols per row group written */
    int64_t *group_rows_list, *group_bytes_list;
    size_t ngroups, groups_cap;
    buf page, packed;
    int closed;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int physical(const column *c)
{
    switch (c->type) {
    case LODE_PQW_BOOLEAN: return PQ_BOOLEAN;
    case LODE_PQW_INT32: case LODE_PQW_DATE: return PQ_INT32;
    case LODE_PQW_DECIMAL: return c->width ? PQ_FLBA : PQ_INT64;
    case LODE_PQW_INT64: case LODE_PQW_TIMESTAMP: case LODE_PQW_TIMESTAMPTZ: case LODE_PQW_TIME: return PQ_INT64;
    case LODE_PQW_FLOAT: return PQ_FLOAT;
    case LODE_PQW_DOUBLE: return PQ_DOUBLE;
    default: return PQ_BYTE_ARRAY;
    }
}

static int write_all(lode_pqw *w, const void *p, size_t n, char *err, size_t errlen)
{
    if (!w->f) {
        if (buf_put(&w->out, p, n) < 0) return fail(err, errlen, "parquet: out of memory");
    } else if (n && fwrite(p, 1, n, w->f) != n) {
        return fail(err, errlen, "parquet: cannot write %s: %s", w->path, strerror(errno));
    }
    w->offset += (int64_t)n;
    return 0;
}

typedef unsigned __int128 u128;

/* The fewest bytes whose two's complement holds every p-digit number: the
 * smallest n with 10^p - 1 < 2^(8n - 1) (the Parquet spec's DECIMAL rule). */
static int decimal_width(int precision)
{
    u128 max = 1;
    for (int i = 0; i < precision; i++) max *= 10;
    max -= 1;
    int n = 1;
    while (n < 16 && max >= ((u128)1 << (8 * n - 1))) n++;
    return n;
}

lode_pqw *lode_pqw_open(const char *path, const lode_pqw_column *cols, int ncols, size_t row_group_bytes,
                        char *err, size_t errlen)
{
    if (ncols <= 0) {
        fail(err, errlen, "parquet: a file needs at least one column");
        return NULL;
    }
    lode_pqw *w = calloc(1, sizeof *w);
    if (!w) goto oom;
    w->ncols = ncols;
    w->row_group_bytes = row_group_bytes ? row_group_bytes : (size_t)32 << 20;
    w->cols = calloc((size_t)ncols, sizeof *w->cols);
    w->codec = LODE_CODEC_SNAPPY;
    w->path = strdup(path ? path : "(memory)");
    if (!w->cols || !w->path) goto oom;
    for (int i = 0; i < ncols; i++) {
        if (cols[i].type == LODE_PQW_DECIMAL && (cols[i].precision < 1 || cols[i].precision > 38 ||
                                                cols[i].scale < 0 || cols[i].scale > cols[i].precision)) {
            fail(err, errlen, "parquet: column %s: DECIMAL(%d,%d) is not written (precision 1-38)", cols[i].name,
                 cols[i].precision, cols[i].scale);
            lode_pqw_free(w);
            return NULL;
        }
        w->cols[i].name = strdup(cols[i].name);
        if (!w->cols[i].name) goto oom;
        w->cols[i].type = cols[i].type;
        w->cols[i].precision = cols[i].precision;
        w->cols[i].scale = cols[i].scale;
        if (cols[i].type == LODE_PQW_DECIMAL && cols[i].precision > 18) w->cols[i].width = decimal_width(cols[i].precision);
    }
    if (path) w->f = fopen(path, "wb");
    if (path && !w->f) {
        fail(err, errlen, "parquet: cannot create %s: %s", path, strerror(errno));
        lode_pqw_free(w);
        return NULL;
    }
    if (write_all(w, "PAR1", 4, err, errlen) < 0) {
        lode_pqw_free(w);
        return NULL;
    }
    return w;
oom:
    fail(err, errlen, "parquet: out of memory");
    lode_pqw_free(w);
    return NULL;
}

int lode_pqw_set_codec(lode_pqw *w, int codec, char *err, size_t errlen)
{
    if (codec != LODE_CODEC_SNAPPY && codec != LODE_CODEC_ZSTD && codec != LODE_CODEC_GZIP &&
        codec != LODE_CODEC_UNCOMPRESSED)
        return fail(err, errlen, "parquet: codec %s is not written (snappy, zstd, gzip, none are)", lode_codec_name(codec));
    if (w->rows || w->cur) return fail(err, errlen, "parquet: the codec is set before the first row");
    w->codec = codec;
    return 0;
}

const void *lode_pqw_output(const lode_pqw *w, size_t *n)
{
    *n = w->out.n;
    return w->out.p;
}

void lode_pqw_consume(lode_pqw *w, size_t n)
{
    if (n >= w->out.n) {
        w->out.n = 0;
        return;
    }
    memmove(w->out.p, w->out.p + n, w->out.n - n);
    w->out.n -= n;
}

/* ---- text -> values ---------------------------------------------------------- */

static int digits(const char *s, size_t n, size_t at, size_t count, int64_t *out)
{
    int64_t v = 0;
    if (at + count > n) return -1;
    for (size_t i = at; i < at + count; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_date(const char *s, size_t n, int64_t *days)
{
    int64_t y, m, d;
    if (n < 10 || digits(s, n, 0, 4, &y) < 0 || s[4] != '-' || digits(s, n, 5, 2, &m) < 0 || s[7] != '-' ||
        digits(s, n, 8, 2, &d) < 0 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    *days = days_from_civil(y, m, d);
    return 10;
}

/* 'HH:MM:SS[.ffffff]' at s[at..] -> microseconds of the day; the bytes used, or -1 */
static int parse_clock(const char *s, size_t n, size_t at, int64_t *micros)
{
    int64_t hh, mi, ss, frac = 0;
    if (digits(s, n, at, 2, &hh) < 0 || at + 2 >= n || s[at + 2] != ':' || digits(s, n, at + 3, 2, &mi) < 0 ||
        at + 5 >= n || s[at + 5] != ':' || digits(s, n, at + 6, 2, &ss) < 0 || hh > 24 || mi > 59 || ss > 60)
        return -1;
    size_t i = at + 8;
    if (i < n && s[i] == '.') {
        int64_t scale = 100000;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (scale == 0) return -1;
            frac += (s[i] - '0') * scale;
            scale /= 10;
        }
    }
    *micros = (hh * 3600 + mi * 60 + ss) * 1000000 + frac;
    return (int)(i - at);
}

/* 'YYYY-MM-DD HH:MM:SS[.ffffff]' -> microseconds since 1970; the bytes used, or -1 */
static int parse_timestamp_prefix(const char *s, size_t n, int64_t *micros)
{
    int64_t days, clock;
    if (parse_date(s, n, &days) < 0 || n < 19 || s[10] != ' ') return -1;
    int used = parse_clock(s, n, 11, &clock);
    if (used < 0) return -1;
    *micros = days * 86400 * 1000000 + clock;
    return 11 + used;
}

static int parse_timestamp(const char *s, size_t n, int64_t *micros)
{
    /* BC, a time zone, infinity: not a plain timestamp */
    return parse_timestamp_prefix(s, n, micros) == (int)n ? 0 : -1;
}

/* a timestamp with its UTC offset as PostgreSQL prints timestamptz ('+05:30',
 * '-08', '+00:00:00', 'Z') -> microseconds since 1970 UTC */
static int parse_timestamptz(const char *s, size_t n, int64_t *micros)
{
    int64_t local, oh = 0, om = 0, os = 0;
    int used = parse_timestamp_prefix(s, n, &local);
    if (used < 0) return -1;
    size_t i = (size_t)used;
    if (i + 1 == n && s[i] == 'Z') {
        *micros = local;
        return 0;
    }
    if (i >= n || (s[i] != '+' && s[i] != '-')) return -1;
    int neg = s[i] == '-';
    if (digits(s, n, i + 1, 2, &oh) < 0) return -1;
    i += 3;
    if (i < n && s[i] == ':') {
        if (digits(s, n, i + 1, 2, &om) < 0) return -1;
        i += 3;
        if (i < n && s[i] == ':') {
            if (digits(s, n, i + 1, 2, &os) < 0) return -1;
            i += 3;
        }
    }
    if (i != n || oh > 15 || om > 59 || os > 59) return -1;
    int64_t off = (oh * 3600 + om * 60 + os) * 1000000;
    *micros = neg ? local + off : local - off;
    return 0;
}

/* numeric text with at most `scale` fraction digits and `precision` digits in
 * all -> the unscaled value (up to 38 digits: fits a signed 128-bit integer) */
static int parse_decimal128(const char *s, size_t n, int precision, int scale, u128 *mag, int *negative)
{
    size_t i = 0;
    int neg = 0, ndig = 0, fdig = -1;
    u128 v = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    if (i == n) return -1;
    for (; i < n; i++) {
        if (s[i] == '.' && fdig < 0) {
            fdig = 0;
            continue;
        }
        if (s[i] < '0' || s[i] > '9') return -1;
        if (fdig >= 0) fdig++;
        if (v || s[i] != '0') ndig++;
        if (ndig > 38) return -1;
        v = v * 10 + (u128)(s[i] - '0');
    }
    if (fdig < 0) fdig = 0;
    if (fdig > scale) return -1;
    for (; fdig < scale; fdig++) {
        if (v && ++ndig > 38) return -1;
        v *= 10;
    }
    if (ndig > precision) return -1;
    *mag = v;
    *negative = neg && v != 0;
    return 0;
}

/* numeric text with exactly `scale` fraction digits (as numeric(p, s) prints) -> unscaled */
static int parse_decimal(const char *s, size_t n, int precision, int scale, int64_t *out)
{
    size_t i = 0;
    int neg = 0, ndig = 0, fdig = -1;
    int64_t v = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    if (i == n) return -1;
    for (; i < n; i++) {
        if (s[i] == '.' && fdig < 0) {
            fdig = 0;
            continue;
        }
        if (s[i] < '0' || s[i] > '9') return -1;
        if (fdig >= 0) fdig++;
        if (v || s[i] != '0') ndig++;
        if (ndig > 18) return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (fdig < 0) fdig = 0;
    if (fdig > scale) return -1;
    for (; fdig < scale; fdig++) {
        if (++ndig > 18) return -1;
        v *= 10;
    }
    if (ndig > precision) return -1;
    *out = neg ? -v : v;
    return 0;
}

static const char *const TYPE_NAMES[] = { "BOOLEAN", "INT32", "INT64", "FLOAT", "DOUBLE", "STRING", "DATE",
                                          "TIMESTAMP", "DECIMAL", "TIMESTAMPTZ", "TIME" };

int lode_pqw_value(lode_pqw *w, int col, const char *text, size_t len, char *err, size_t errlen)
{
    if (col < 0 || col >= w->ncols || col != w->cur)
        return fail(err, errlen, "parquet: value for column %d given out of order", col + 1);
    column *c = &w->cols[col];
    w->cur++;
    if (!text) return buf_byte(&c->defs, 0) < 0 ? fail(err, errlen, "parquet: out of memory") : 0;
    char tmp[64];
    int bad = 0, rc = 0;
    switch (c->type) {
    case LODE_PQW_BOOLEAN: {
        if (len != 1 || (text[0] != 't' && text[0] != 'f')) { bad = 1; break; }
        rc = buf_byte(&c->values, text[0] == 't');
        break;
    }
    case LODE_PQW_INT32: case LODE_PQW_INT64: case LODE_PQW_FLOAT: case LODE_PQW_DOUBLE: {
        if (len == 0 || len >= sizeof tmp) { bad = 1; break; }
        memcpy(tmp, text, len);
        tmp[len] = 0;
        char *end;
        errno = 0;
        if (c->type == LODE_PQW_INT32) {
            long long v = strtoll(tmp, &end, 10);
            if (*end || errno || v < INT32_MIN || v > INT32_MAX) { bad = 1; break; }
            int32_t x = (int32_t)v;
            rc = buf_put(&c->values, &x, 4);
        } else if (c->type == LODE_PQW_INT64) {
            long long v = strtoll(tmp, &end, 10);
            if (*end || errno) { bad = 1; break; }
            int64_t x = v;
            rc = buf_put(&c->values, &x, 8);
        } else if (c->type == LODE_PQW_FLOAT) {
            float x = strtof(tmp, &end);
            if (*end) { bad = 1; break; }
            rc = buf_put(&c->values, &x, 4);
        } else {
            double x = strtod(tmp, &end);
            if (*end) { bad = 1; break; }
            rc = buf_put(&c->values, &x, 8);
        }
        break;
    }
    case LODE_PQW_DATE: {
        int64_t days;
        if (parse_date(text, len, &days) != (int)len || days < INT32_MIN || days > INT32_MAX) { bad = 1; break; }
        int32_t x = (int32_t)days;
        rc = buf_put(&c->values, &x, 4);
        break;
    }
    case LODE_PQW_TIMESTAMP: {
        int64_t x;
        if (parse_timestamp(text, len, &x) < 0) { bad = 1; break; }
        rc = buf_put(&c->values, &x, 8);
        break;
    }
    case LODE_PQW_DECIMAL: {
        if (c->width) {
            u128 mag;
            int neg;
            if (parse_decimal128(text, len, c->precision, c->scale, &mag, &neg) < 0) { bad = 1; break; }
            u128 v = neg ? ~mag + 1 : mag;        /* two's complement */
            uint8_t be[16];
            for (int k = 0; k < c->width; k++) be[c->width - 1 - k] = (uint8_t)(v >> (8 * k));
            rc = buf_put(&c->values, be, (size_t)c->width);
            break;
        }
        int64_t x;
        if (parse_decimal(text, len, c->precision, c->scale, &x) < 0) { bad = 1; break; }
        rc = buf_put(&c->values, &x, 8);
        break;
    }
    case LODE_PQW_TIMESTAMPTZ: {
        int64_t x;
        if (parse_timestamptz(text, len, &x) < 0) { bad = 1; break; }
        rc = buf_put(&c->values, &x, 8);
        break;
    }
    case LODE_PQW_TIME: {
        int64_t x;
        if (parse_clock(text, len, 0, &x) != (int)len || x > 86400LL * 1000000) { bad = 1; break; }
        rc = buf_put(&c->values, &x, 8);
        break;
    }
    default: {
        if (len > INT32_MAX) { bad = 1; break; }
        uint32_t n = (uint32_t)len;
        rc = buf_put(&c->values, &n, 4);
        if (rc == 0) rc = buf_put(&c->values, text, len);
    }
    }
    if (bad) {
        int shown = len > 40 ? 40 : (int)len;
        return fail(err, errlen, "parquet: column %s: '%.*s%s' is not a %s value this writer takes", c->name, shown,
                    text, len > 40 ? "…" : "", TYPE_NAMES[c->type]);
    }
    if (rc < 0 || buf_byte(&c->defs, 1) < 0) return fail(err, errlen, "parquet: out of memory");
    c->nonnull++;
    return 0;
}

int lode_pqw_number(lode_pqw *w, int col, int is_int, int64_t i, double d, char *err, size_t errlen)
{
    if (col < 0 || col >= w->ncols || col != w->cur)
        return fail(err, errlen, "parquet: value for column %d given out of order", col + 1);
    column *c = &w->cols[col];
    int rc;
    if (c->type == LODE_PQW_INT64 && is_int) {
        rc = buf_put(&c->values, &i, 8);
    } else if (c->type == LODE_PQW_INT32 && is_int && i >= INT32_MIN && i <= INT32_MAX) {
        int32_t x = (int32_t)i;
        rc = buf_put(&c->values, &x, 4);
    } else if (c->type == LODE_PQW_DOUBLE) {
        double x = is_int ? (double)i : d;
        rc = buf_put(&c->values, &x, 8);
    } else if (c->type == LODE_PQW_FLOAT) {
        float x = is_int ? (float)i : (float)d;
        rc = buf_put(&c->values, &x, 4);
    } else if (is_int) {
        return fail(err, errlen, "parquet: column %s: %lld is not a %s value this writer takes", c->name,
                    (long long)i, TYPE_NAMES[c->type]);
    } else {
        return fail(err, errlen, "parquet: column %s: %.17g is not a %s value this writer takes", c->name, d,
                    TYPE_NAMES[c->type]);
    }
    w->cur++;
    if (rc < 0 || buf_byte(&c->defs, 1) < 0) return fail(err, errlen, "parquet: out of memory");
    c->nonnull++;
    return 0;
}

static int64_t buffered(const lode_pqw *w)
{
    int64_t n = 0;
    for (int i = 0; i < w->ncols; i++) n += (int64_t)(w->cols[i].values.n + w->cols[i].defs.n / 8);
    return n;
}

/* definition levels, bit width 1, as bit-packed groups of 8 */
static int encode_defs(buf *out, const column *c)
{
    size_t n = c->defs.n, groups = (n + 7) / 8;
    uint8_t hdr[10];
    size_t hl = 0;
    uint64_t h = ((uint64_t)groups << 1) | 1;
    while (h >= 0x80) {
        hdr[hl++] = (uint8_t)(h | 0x80);
        h >>= 7;
    }
    hdr[hl++] = (uint8_t)h;
    uint32_t total = (uint32_t)(hl + groups);
    if (buf_put(out, &total, 4) < 0 || buf_put(out, hdr, hl) < 0 || buf_reserve(out, groups) < 0) return -1;
    memset(out->p + out->n, 0, groups);
    for (size_t i = 0; i < n; i++)
        if (c->defs.p[i]) out->p[out->n + i / 8] |= (uint8_t)(1u << (i % 8));
    out->n += groups;
    return 0;
}

/* page->p[0..n) compressed into w->packed with the writer's codec */
static int compress_page(lode_pqw *w, const buf *page, size_t *clen, char *err, size_t errlen)
{
    size_t cap;
    switch (w->codec) {
    case LODE_CODEC_ZSTD: cap = ZSTD_compressBound(page->n); break;
    case LODE_CODEC_GZIP: cap = (size_t)compressBound((uLong)page->n) + 32; break;   /* + the gzip header and trailer */
    case LODE_CODEC_UNCOMPRESSED: cap = page->n; break;
    default: cap = snappy_max_compressed_length(page->n); break;
    }
    w->packed.n = 0;
    if (buf_reserve(&w->packed, cap ? cap : 1) < 0) return fail(err, errlen, "parquet: out of memory");
    *clen = cap;
    switch (w->codec) {
    case LODE_CODEC_ZSTD: {
        size_t z = ZSTD_compress(w->packed.p, cap, page->p, page->n, 3);
        if (ZSTD_isError(z)) return fail(err, errlen, "parquet: zstd failed: %s", ZSTD_getErrorName(z));
        *clen = z;
        return 0;
    }
    case LODE_CODEC_GZIP: {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return fail(err, errlen, "parquet: gzip failed to start");
        zs.next_in = page->p;
        zs.avail_in = (uInt)page->n;
        zs.next_out = w->packed.p;
        zs.avail_out = (uInt)cap;
        int z = deflate(&zs, Z_FINISH);
        *clen = zs.total_out;
        deflateEnd(&zs);
        return z == Z_STREAM_END ? 0 : fail(err, errlen, "parquet: gzip failed (%d)", z);
    }
    case LODE_CODEC_UNCOMPRESSED:
        if (page->n) memcpy(w->packed.p, page->p, page->n);
        *clen = page->n;
        return 0;
    default:
        if (snappy_compress((const char *)page->p, page->n, (char *)w->packed.p, clen) != SNAPPY_OK)
            return fail(err, errlen, "parquet: snappy failed");
        return 0;
    }
}

static int flush_group(lode_pqw *w, char *err, size_t errlen)
{
    if (w->group_rows == 0) return 0;
    if (w->ngroups == w->groups_cap) {
        size_t cap = w->groups_cap ? w->groups_cap * 2 : 8;
        chunk_meta *ch = realloc(w->chunks, cap * (size_t)w->ncols * sizeof *ch);
        if (!ch) return fail(err, errlen, "parquet: out of memory");
        w->chunks = ch;
        int64_t *gr = realloc(w->group_rows_list, cap * sizeof *gr);
        if (!gr) return fail(err, errlen, "parquet: out of memory");
        w->group_rows_list = gr;
        int64_t *gb = realloc(w->group_bytes_list, cap * sizeof *gb);
        if (!gb) return fail(err, errlen, "parquet: out of memory");
        w->group_bytes_list = gb;
        w->groups_cap = cap;
    }
    int64_t group_bytes = 0;
    for (int i = 0; i < w->ncols; i++) {
        column *c = &w->cols[i];
        buf *page = &w->page;
        page->n = 0;
        if (encode_defs(page, c) < 0) return fail(err, errlen, "parquet: out of memory");
        if (c->type == LODE_PQW_BOOLEAN) {
            size_t bytes = ((size_t)c->nonnull + 7) / 8;
            if (buf_reserve(page, bytes) < 0) return fail(err, errlen, "parquet: out of memory");
            memset(page->p + page->n, 0, bytes);
            for (size_t k = 0; k < (size_t)c->nonnull; k++)
                if (c->values.p[k]) page->p[page->n + k / 8] |= (uint8_t)(1u << (k % 8));
            page->n += bytes;
        } else if (buf_put(page, c->values.p, c->values.n) < 0) {
            return fail(err, errlen, "parquet: out of memory");
        }
        if (page->n > INT32_MAX) return fail(err, errlen, "parquet: column %s: a page over 2 GiB", c->name);
        size_t clen;
        if (compress_page(w, page, &clen, err, errlen) < 0) return -1;
        buf hdr = { 0 };
        tenc t = { .b = &hdr };
        t_begin(&t, 0);
        t_i32(&t, 1, 0);                          /* DATA_PAGE */
        t_i32(&t, 2, (int32_t)page->n);
        t_i32(&t, 3, (int32_t)clen);
        t_begin(&t, 5);                           /* DataPageHeader */
        t_i32(&t, 1, (int32_t)w->group_rows);
        t_i32(&t, 2, 0);                          /* PLAIN */
        t_i32(&t, 3, 3);                          /* RLE definition levels */
        t_i32(&t, 4, 3);                          /* RLE repetition levels (none) */
        t_end(&t);
        t_end(&t);
        chunk_meta *m = &w->chunks[w->ngroups * (size_t)w->ncols + (size_t)i];
        m->file_offset = w->offset;
        m->num_values = w->group_rows;
        m->uncompressed = (int64_t)(hdr.n + page->n);
        m->compressed = (int64_t)(hdr.n + clen);
        int rc = t.failed ? fail(err, errlen, "parquet: out of memory") : write_all(w, hdr.p, hdr.n, err, errlen);
        free(hdr.p);
        if (rc < 0 || write_all(w, w->packed.p, clen, err, errlen) < 0) return -1;
        group_bytes += m->uncompressed;
        c->values.n = 0;
        c->defs.n = 0;
        c->nonnull = 0;
    }
    w->group_rows_list[w->ngroups] = w->group_rows;
    w->group_bytes_list[w->ngroups] = group_bytes;
    w->ngroups++;
    w->group_rows = 0;
    return 0;
}

int lode_pqw_end_row(lode_pqw *w, char *err, size_t errlen)
{
    if (w->cur != w->ncols) return fail(err, errlen, "parquet: row has %d values, the file %d columns", w->cur, w->ncols);
    w->cur = 0;
    w->rows++;
    w->group_rows++;
    if ((size_t)buffered(w) >= w->row_group_bytes) return flush_group(w, err, errlen);
    return 0;
}

int lode_pqw_flush(lode_pqw *w, char *err, size_t errlen)
{
    if (w->cur != 0) return fail(err, errlen, "parquet: flush in the middle of a row");
    return w->group_rows > 0 ? flush_group(w, err, errlen) : 0;
}

int64_t lode_pqw_size(const lode_pqw *w) { return w->offset + buffered(w); }
int64_t lode_pqw_rows(const lode_pqw *w) { return w->rows; }

static void schema_element(tenc *t, const column *c)
{
    t_begin(t, 0);
    t_i32(t, 1, physical(c));
    if (c->width) t_i32(t, 2, c->width);          /* type_length of the FIXED_LEN_BYTE_ARRAY */
    t_i32(t, 3, 1);                               /* OPTIONAL */
    t_binary(t, 4, c->name, strlen(c->name));
    switch (c->type) {
    case LODE_PQW_STRING: t_i32(t, 6, CT_UTF8); break;
    case LODE_PQW_DATE: t_i32(t, 6, CT_DATE); break;
    case LODE_PQW_TIMESTAMP: t_i32(t, 6, CT_TIMESTAMP_MICROS); break;
    case LODE_PQW_DECIMAL:
        t_i32(t, 6, CT_DECIMAL);
        t_i32(t, 7, c->scale);
        t_i32(t, 8, c->precision);
        break;
    case LODE_PQW_TIMESTAMPTZ:
    case LODE_PQW_TIME:
        /* the legacy annotation too, as the spec asks of writers, and the
         * logical type that says whether the value is adjusted to UTC */
        t_i32(t, 6, c->type == LODE_PQW_TIME ? CT_TIME_MICROS : CT_TIMESTAMP_MICROS);
        t_begin(t, 10);                           /* LogicalType */
        t_begin(t, c->type == LODE_PQW_TIME ? 7 : 8);
        t_bool(t, 1, c->type == LODE_PQW_TIMESTAMPTZ);
        t_begin(t, 2);                            /* TimeUnit */
        t_begin(t, 2);                            /* MICROS */
        t_end(t);
        t_end(t);
        t_end(t);
        t_end(t);
        break;
    default: break;
    }
    t_end(t);
}

int lode_pqw_close(lode_pqw *w, char *err, size_t errlen)
{
    if (w->closed) return 0;
    if (w->cur != 0) return fail(err, errlen, "parquet: the last row is incomplete");
    if (flush_group(w, err, errlen) < 0) return -1;
    buf foot = { 0 };
    tenc t = { .b = &foot };
    t_begin(&t, 0);
    t_i32(&t, 1, 1);                              /* version */
    t_list(&t, 2, T_STRUCT, (size_t)w->ncols + 1);
    t_begin(&t, 0);                               /* the root */
    t_binary(&t, 4, "schema", 6);
    t_i32(&t, 5, w->ncols);
    t_end(&t);
    for (int i = 0; i < w->ncols; i++) schema_element(&t, &w->cols[i]);
    t_i64(&t, 3, w->rows);
    t_list(&t, 4, T_STRUCT, w->ngroups);
    for (size_t g = 0; g < w->ngroups; g++) {
        t_begin(&t, 0);
        t_list(&t, 1, T_STRUCT, (size_t)w->ncols);
        for (int i = 0; i < w->ncols; i++) {
            const chunk_meta *m = &w->chunks[g * (size_t)w->ncols + (size_t)i];
            const column *c = &w->cols[i];
            t_begin(&t, 0);
            t_i64(&t, 2, m->file_offset);
            t_begin(&t, 3);                       /* ColumnMetaData */
            t_i32(&t, 1, physical(c));
            t_list(&t, 2, T_I32, 2);
            t_varint(&t, zigzag(0));              /* PLAIN */
            t_varint(&t, zigzag(3));              /* RLE */
            t_list(&t, 3, T_BINARY, 1);
            t_varint(&t, strlen(c->name));
            if (buf_put(&foot, c->name, strlen(c->name)) < 0) t.failed = 1;
            t_i32(&t, 4, w->codec);
            t_i64(&t, 5, m->num_values);
            t_i64(&t, 6, m->uncompressed);
            t_i64(&t, 7, m->compressed);
            t_i64(&t, 9, m->file_offset);
            t_end(&t);
            t_end(&t);
        }
        t_i64(&t, 2, w->group_bytes_list[g]);
        t_i64(&t, 3, w->group_rows_list[g]);
        t_end(&t);
    }
    t_binary(&t, 6, "lode", 4);
    t_end(&t);
    int rc = 0;
    if (t.failed) rc = fail(err, errlen, "parquet: out of memory");
    uint32_t flen = (uint32_t)foot.n;
    if (rc == 0) rc = write_all(w, foot.p, foot.n, err, errlen);
    if (rc == 0) rc = write_all(w, &flen, 4, err, errlen);
    if (rc == 0) rc = write_all(w, "PAR1", 4, err, errlen);
    free(foot.p);
    if (w->f && fclose(w->f) != 0 && rc == 0)
        rc = fail(err, errlen, "parquet: cannot write %s: %s", w->path, strerror(errno));
    w->f = NULL;
    w->closed = 1;
    return rc;
}

void lode_pqw_free(lode_pqw *w)
{
    if (!w) return;
    if (w->f) fclose(w->f);
    for (int i = 0; w->cols && i < w->ncols; i++) {
        free(w->cols[i].name);
        free(w->cols[i].values.p);
        free(w->cols[i].defs.p);
    }
    free(w->cols);
    free(w->path);
    free(w->chunks);
    free(w->group_rows_list);
    free(w->group_bytes_list);
    free(w->page.p);
    free(w->packed.p);
    free(w->out.p);
    free(w);
}

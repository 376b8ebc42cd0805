/* parquet/value.h — rendering decoded Parquet values as text (PostgreSQL
 * COPY text, CSV, TSV, JSON) and as PostgreSQL binary COPY fields.
 * Private to the reader (runtime/). */
#ifndef LODE_PARQUET_VALUE_H
#define LODE_PARQUET_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "lode/parquet/parquet.h"
#include "enc.h"

/* What a leaf's values mean, resolved once from its schema element. */
typedef enum {
    PQV_BOOL, PQV_INT32, PQV_UINT32, PQV_INT64, PQV_UINT64, PQV_FLOAT, PQV_DOUBLE,
    PQV_FLOAT16, PQV_STRING, PQV_BINARY, PQV_JSON, PQV_DECIMAL, PQV_DATE, PQV_TIME,
    PQV_TIMESTAMP, PQV_INT96, PQV_UUID, PQV_INTERVAL,
} pq_vkind;

typedef struct {
    pq_vkind kind;
    int ptype;        /* physical type */
    int width;        /* bytes per fixed-width value (0 for BYTE_ARRAY) */
    int scale, precision;
    int unit;         /* LODE_PQ_MILLIS/MICROS/NANOS for TIME/TIMESTAMP */
    int utc;          /* TIME/TIMESTAMP adjusted to UTC */
} pq_vtype;

/* Output formats (text ones escape; BINARY is PostgreSQL binary COPY). */
typedef enum {
    PQ_FMT_TEXT,      /* PostgreSQL COPY text: \N nulls, backslash escapes */
    PQ_FMT_CSV,       /* RFC 4180, empty unquoted field for null */
    PQ_FMT_TSV,       /* tab separated, empty field for null, \t \n \\ escaped */
    PQ_FMT_JSON,      /* a JSON value (JSON lines, nested values) */
    PQ_FMT_BINARY,    /* PostgreSQL binary COPY field: int32 length + bytes */
    PQ_FMT_RAW,       /* unescaped text, binary as raw bytes (cells for Lua) */
} pq_format;

/* Resolve a leaf's value type from its schema element; -1 with err when the
 * combination is not valid Parquet (e.g. DECIMAL precision 0). */
int pq_vtype_of(const lode_pq_schema_element *el, pq_vtype *t, char *err, size_t errlen);

/* Name of the PostgreSQL type a leaf loads into ("bigint", "numeric(10,2)",
 * "timestamptz", ...), written into buf. */
const char *pq_pg_type_name(const pq_vtype *t, char *buf, size_t buflen);

/* How invalid UTF-8 in strings is handled. */
typedef struct {
    int replace_invalid;  /* 0: error; 1: replace each bad byte with `replacement` */
    char replacement;     /* like Redshift ACCEPTINVCHARS (default '?') */
} pq_text_opts;

/* Append one value to out in `fmt`. Fixed-width values are at `fixed`
 * (width bytes); byte arrays in `bytes`. Returns 0, -1 on out of memory, or
 * -2 on invalid UTF-8 (err says where in the value). */
int pq_put_value(pq_buf *out, pq_format fmt, const pq_vtype *t, const uint8_t *fixed,
                 const pq_bytes *bytes, const pq_text_opts *topts, char *err, size_t errlen);
/* Append a NULL in `fmt`. */
int pq_put_null(pq_buf *out, pq_format fmt);
/* Append s[0..n) as a string field in `fmt` (escaped; already valid UTF-8). */
int pq_put_string(pq_buf *out, pq_format fmt, const char *s, size_t n);

/* Helpers shared with the reader. */
size_t pq_fmt_i64(char *buf, int64_t v);
size_t pq_fmt_u64(char *buf, uint64_t v);
/* The shortest of printf's %.15g/%.16g/%.17g (floats: %.6g..%.9g) that
 * reads back as the same value; NaN, Infinity, -Infinity, -0; integral
 * values below 1e15 (1e7) as integers. At most 24 bytes. float.c. */
size_t pq_fmt_double(char *buf, double d);
size_t pq_fmt_float(char *buf, float f);
/* The same through snprintf + strtod (the reference; slow). */
size_t pq_fmt_double_slow(char *buf, double d);
size_t pq_fmt_float_slow(char *buf, float f);
/* 1 when s[0..n) is valid UTF-8; else 0 with *bad = offset of the first bad byte. */
int pq_utf8_valid(const uint8_t *s, size_t n, size_t *bad);

#endif

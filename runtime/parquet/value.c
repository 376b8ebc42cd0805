/* parquet/value.c — Parquet values as PostgreSQL COPY text, CSV, TSV, JSON
 * and binary COPY fields: exact decimals, dates and times, INT96, UUID,
 * FLOAT16, shortest round-trip floats, escaped strings, bytea hex.
 * Owns: nothing; appends to the caller's pq_buf. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

/* ---- type resolution ------------------------------------------------------ */

int pq_vtype_of(const lode_pq_schema_element *el, pq_vtype *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    int pt = el->type;
    t->ptype = pt;
    switch (pt) {
    case LODE_PQ_BOOLEAN: t->kind = PQV_BOOL; t->width = 1; break;
    case LODE_PQ_INT32: t->kind = PQV_INT32; t->width = 4; break;
    case LODE_PQ_INT64: t->kind = PQV_INT64; t->width = 8; break;
    case LODE_PQ_INT96: t->kind = PQV_INT96; t->width = 12; break;
    case LODE_PQ_FLOAT: t->kind = PQV_FLOAT; t->width = 4; break;
    case LODE_PQ_DOUBLE: t->kind = PQV_DOUBLE; t->width = 8; break;
    case LODE_PQ_BYTE_ARRAY: t->kind = PQV_BINARY; t->width = 0; break;
    case LODE_PQ_FIXED_LEN_BYTE_ARRAY:
        if (el->type_length <= 0) FAIL("FIXED_LEN_BYTE_ARRAY without a positive type_length");
        t->kind = PQV_BINARY;
        t->width = el->type_length;
        break;
    default:
        FAIL("unknown physical type %d", pt);
    }
    const lode_pq_logical_type *lt = &el->logical;
    int ct = el->converted_type;
    int is_int = pt == LODE_PQ_INT32 || pt == LODE_PQ_INT64;
    int is_bytes = pt == LODE_PQ_BYTE_ARRAY || pt == LODE_PQ_FIXED_LEN_BYTE_ARRAY;
    if (lt->type == LODE_PQ_LT_DECIMAL || (lt->type == LODE_PQ_LT_NONE && ct == LODE_PQ_CT_DECIMAL)) {
        int scale = lt->type == LODE_PQ_LT_DECIMAL ? lt->scale : el->scale;
        int prec = lt->type == LODE_PQ_LT_DECIMAL ? lt->precision : el->precision;
        if (!(is_int || is_bytes)) FAIL("DECIMAL on a %s column", lode_pq_type_name(pt));
        if (scale < 0 || prec < 0 || (prec > 0 && scale > prec))
            FAIL("DECIMAL(%d,%d) is not valid", prec, scale);
        t->kind = PQV_DECIMAL;
        t->scale = scale;
        t->precision = prec;
        return 0;
    }
    if (lt->type == LODE_PQ_LT_STRING || lt->type == LODE_PQ_LT_ENUM ||
        (lt->type == LODE_PQ_LT_NONE && (ct == LODE_PQ_CT_UTF8 || ct == LODE_PQ_CT_ENUM))) {
        if (is_bytes) t->kind = PQV_STRING;
        return 0;
    }
    if (lt->type == LODE_PQ_LT_JSON || (lt->type == LODE_PQ_LT_NONE && ct == LODE_PQ_CT_JSON)) {
        if (is_bytes) t->kind = PQV_JSON;
        return 0;
    }
    if (lt->type == LODE_PQ_LT_UUID) {
        if (pt == LODE_PQ_FIXED_LEN_BYTE_ARRAY && t->width == 16) t->kind = PQV_UUID;
        return 0;
    }
    if (lt->type == LODE_PQ_LT_FLOAT16) {
        if (pt == LODE_PQ_FIXED_LEN_BYTE_ARRAY && t->width == 2) t->kind = PQV_FLOAT16;
        return 0;
    }
    if (lt->type == LODE_PQ_LT_DATE || (lt->type == LODE_PQ_LT_NONE && ct == LODE_PQ_CT_DATE)) {
        if (pt == LODE_PQ_INT32) t->kind = PQV_DATE;
        return 0;
    }
    if (lt->type == LODE_PQ_LT_TIME) {
        if (is_int) {
            t->kind = PQV_TIME;
            t->unit = lt->unit;
            t->utc = lt->is_adjusted_to_utc;
        }
        return 0;
    }
    if (lt->type == LODE_PQ_LT_TIMESTAMP) {
        if (pt == LODE_PQ_INT64) {
            t->kind = PQV_TIMESTAMP;
            t->unit = lt->unit;
            t->utc = lt->is_adjusted_to_utc;
        }
        return 0;
    }
    if (lt->type == LODE_PQ_LT_NONE) {
        switch (ct) {
        case LODE_PQ_CT_TIME_MILLIS:
            if (pt == LODE_PQ_INT32) { t->kind = PQV_TIME; t->unit = LODE_PQ_MILLIS; t->utc = 1; }
            return 0;
        case LODE_PQ_CT_TIME_MICROS:
            if (pt == LODE_PQ_INT64) { t->kind = PQV_TIME; t->unit = LODE_PQ_MICROS; t->utc = 1; }
            return 0;
        case LODE_PQ_CT_TIMESTAMP_MILLIS:
            if (pt == LODE_PQ_INT64) { t->kind = PQV_TIMESTAMP; t->unit = LODE_PQ_MILLIS; t->utc = 1; }
            return 0;
        case LODE_PQ_CT_TIMESTAMP_MICROS:
            if (pt == LODE_PQ_INT64) { t->kind = PQV_TIMESTAMP; t->unit = LODE_PQ_MICROS; t->utc = 1; }
            return 0;
        case LODE_PQ_CT_UINT_8: case LODE_PQ_CT_UINT_16: case LODE_PQ_CT_UINT_32:
            if (pt == LODE_PQ_INT32) t->kind = PQV_UINT32;
            return 0;
        case LODE_PQ_CT_UINT_64:
            if (pt == LODE_PQ_INT64) t->kind = PQV_UINT64;
            return 0;
        case LODE_PQ_CT_INTERVAL:
            if (pt == LODE_PQ_FIXED_LEN_BYTE_ARRAY && t->width == 12) t->kind = PQV_INTERVAL;
            return 0;
        default:
            return 0;
        }
    }
    if (lt->type == LODE_PQ_LT_INTEGER && !lt->is_signed) {
        if (pt == LODE_PQ_INT32) t->kind = PQV_UINT32;
        if (pt == LODE_PQ_INT64) t->kind = PQV_UINT64;
    }
    return 0;
}

const char *pq_pg_type_name(const pq_vtype *t, char *buf, size_t buflen)
{
    const char *s = "text";
    switch (t->kind) {
    case PQV_BOOL: s = "boolean"; break;
    case PQV_INT32: s = "integer"; break;
    case PQV_UINT32: case PQV_INT64: s = "bigint"; break;
    case PQV_UINT64: s = "numeric(20,0)"; break;
    case PQV_FLOAT: case PQV_FLOAT16: s = "real"; break;
    case PQV_DOUBLE: s = "double precision"; break;
    case PQV_STRING: s = "text"; break;
    case PQV_BINARY: s = "bytea"; break;
    case PQV_JSON: s = "jsonb"; break;
    case PQV_DECIMAL:
        if (t->precision > 0 && t->precision <= 1000)
            snprintf(buf, buflen, "numeric(%d,%d)", t->precision, t->scale);
        else
            snprintf(buf, buflen, "numeric");
        return buf;
    case PQV_DATE: s = "date"; break;
    case PQV_TIME: s = t->utc ? "timetz" : "time"; break;
    case PQV_TIMESTAMP: s = t->utc ? "timestamptz" : "timestamp"; break;
    case PQV_INT96: s = "timestamp"; break;
    case PQV_UUID: s = "uuid"; break;
    case PQV_INTERVAL: s = "interval"; break;
    }
    snprintf(buf, buflen, "%s", s);
    return buf;
}

/* ---- numbers ------------------------------------------------------------------ */

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static size_t count_digits(uint64_t v)
{
    size_t n = 1;
    for (;;) {
        if (v < 10) return n;
        if (v < 100) return n + 1;
        if (v < 1000) return n + 2;
        if (v < 10000) return n + 3;
        v /= 10000;
        n += 4;
    }
}

size_t pq_fmt_u64(char *buf, uint64_t v)
{
    size_t n = count_digits(v);
    char *p = buf + n;
    while (v >= 100) {
        unsigned k = (unsigned)(v % 100) * 2;
        v /= 100;
        p -= 2;
        p[0] = digit_pairs[k];
        p[1] = digit_pairs[k + 1];
    }
    if (v >= 10) {
        p[-2] = digit_pairs[v * 2];
        p[-1] = digit_pairs[v * 2 + 1];
    } else {
        p[-1] = (char)('0' + v);
    }
    return n;
}

size_t pq_fmt_i64(char *buf, int64_t v)
{
    if (v < 0) {
        buf[0] = '-';
        return 1 + pq_fmt_u64(buf + 1, (uint64_t)0 - (uint64_t)v);
    }
    return pq_fmt_u64(buf, (uint64_t)v);
}

/* Shortest text that reads back as the same double (what PostgreSQL 12+
 * prints with extra_float_digits = 1): float.c. */
#define fmt_double pq_fmt_double
#define fmt_float pq_fmt_float

static float half_to_float(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0) v = ldexpf((float)mant, -24);
    else if (exp == 31) v = mant ? NAN : INFINITY;
    else v = ldexpf((float)(mant | 0x400), exp - 25);
    return sign ? -v : v;
}

/* Decimal digits of an unscaled integer with `scale` fraction digits. */
static size_t place_point(char *out, int neg, const char *digits, size_t nd, int scale)
{
    size_t o = 0;
    if (neg) out[o++] = '-';
    if (scale <= 0) {
        memcpy(out + o, digits, nd);
        o += nd;
        return o;
    }
    size_t s = (size_t)scale;
    if (nd <= s) {
        out[o++] = '0';
        out[o++] = '.';
        memset(out + o, '0', s - nd);
        o += s - nd;
        memcpy(out + o, digits, nd);
        return o + nd;
    }
    memcpy(out + o, digits, nd - s);
    o += nd - s;
    out[o++] = '.';
    memcpy(out + o, digits + nd - s, s);
    return o + s;
}

/* Render a big-endian two's complement integer of any length with `scale`. */
static int fmt_decimal_bytes(pq_buf *out, const uint8_t *p, size_t n, int scale, char *dst_small)
{
    (void)dst_small;
    /* strip redundant sign bytes */
    int neg = n > 0 && (p[0] & 0x80);
    if (n <= 8 && scale <= 40) {
        uint64_t u = neg ? UINT64_MAX : 0;
        for (size_t i = 0; i < n; i++) u = u << 8 | p[i];
        char digits[24], tmp[64];
        uint64_t mag = neg ? (uint64_t)0 - u : u;
        size_t nd = n == 0 ? (digits[0] = '0', 1) : pq_fmt_u64(digits, mag);
        size_t len = place_point(tmp, neg && mag != 0, digits, nd, scale);
        if (pq_buf_reserve(out, len) != 0) return -1;
        memcpy(out->data + out->len, tmp, len);
        out->len += len;
        return 0;
    }
    /* magnitude as little-endian 32-bit limbs */
    size_t nl = (n + 3) / 4;
    uint32_t *limb = calloc(nl, sizeof *limb);
    char *digits = malloc(nl * 10 + 1);
    char *text = malloc(nl * 10 + (size_t)(scale > 0 ? scale : 0) + 4);
    int rc = -1;
    if (!limb || !digits || !text) goto done;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[n - 1 - i];
        limb[i / 4] |= (uint32_t)b << (8 * (i % 4));
    }
    if (neg) {  /* two's complement negate */
        uint64_t carry = 1;
        for (size_t i = 0; i < nl; i++) {
            uint32_t v = ~limb[i];
            if (i == nl - 1 && n % 4) v &= (1u << (8 * (n % 4))) - 1;
            uint64_t s = (uint64_t)v + carry;
            limb[i] = (uint32_t)s;
            carry = s >> 32;
        }
    }
    size_t nd = 0, top = nl;
    char rev[16];
    while (top > 0 && limb[top - 1] == 0) top--;
    if (top == 0) digits[nd++] = '0';
    /* repeated division by 1e9 produces 9 digits at a time, least significant first */
    char *acc = malloc(nl * 10 + 10);
    size_t na = 0;
    if (!acc) goto done;
    while (top > 0) {
        uint64_t rem = 0;
        for (size_t i = top; i-- > 0;) {
            uint64_t cur = rem << 32 | limb[i];
            limb[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        while (top > 0 && limb[top - 1] == 0) top--;
        for (int k = 0; k < 9; k++) {
            rev[k] = (char)('0' + rem % 10);
            rem /= 10;
        }
        for (int k = 0; k < 9; k++) acc[na++] = rev[k];
    }
    while (na > 1 && acc[na - 1] == '0') na--;
    for (size_t i = 0; i < na; i++) digits[nd++] = acc[na - 1 - i];
    free(acc);
    {
        int iszero = nd == 1 && digits[0] == '0';
        size_t len = place_point(text, neg && !iszero, digits, nd, scale);
        if (pq_buf_reserve(out, len) != 0) goto done;
        memcpy(out->data + out->len, text, len);
        out->len += len;
    }
    rc = 0;
done:
    free(limb);
    free(digits);
    free(text);
    return rc;
}

/* ---- dates and times ----------------------------------------------------------- */

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static inline char *put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* YYYY-MM-DD; years before 1 as PostgreSQL writes them ("0044-03-15 BC" —
 * the " BC" is appended by the caller after any time part). */
static char *put_date_slow(char *p, int64_t days, int *bc)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    *bc = y <= 0;
    if (*bc) y = 1 - y;
    if (y < 1000) {
        p[0] = (char)('0' + y / 1000);
        p[1] = (char)('0' + y / 100 % 10);
        p[2] = (char)('0' + y / 10 % 10);
        p[3] = (char)('0' + y % 10);
        p += 4;
    } else {
        p += pq_fmt_i64(p, y);
    }
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    return put2(p, d);
}

/* put_date with a one-entry cache: timestamps in a column tend to share
 * their day. */
static _Thread_local int64_t date_cache_days = INT64_MIN;
static _Thread_local char date_cache[32];
static _Thread_local size_t date_cache_len;
static _Thread_local int date_cache_bc;

static char *put_date(char *p, int64_t days, int *bc)
{
    if (days != date_cache_days) {
        date_cache_len = (size_t)(put_date_slow(date_cache, days, &date_cache_bc) - date_cache);
        date_cache_days = days;
    }
    *bc = date_cache_bc;
    memcpy(p, date_cache, 16);   /* callers' buffers have room; most dates are 10 bytes */
    if (date_cache_len > 16) memcpy(p + 16, date_cache + 16, date_cache_len - 16);
    return p + date_cache_len;
}

/* HH:MM:SS[.fraction] from a time of day in `unit`s; fraction without
 * trailing zeros. */
static char *put_time(char *p, uint64_t t, int unit)
{
    uint64_t per_sec = unit == LODE_PQ_MILLIS ? 1000 : unit == LODE_PQ_MICROS ? 1000000 : 1000000000;
    int fdigits = unit == LODE_PQ_MILLIS ? 3 : unit == LODE_PQ_MICROS ? 6 : 9;
    uint64_t secs = t / per_sec, frac = t % per_sec;
    p = put2(p, (unsigned)(secs / 3600));
    *p++ = ':';
    p = put2(p, (unsigned)(secs / 60 % 60));
    *p++ = ':';
    p = put2(p, (unsigned)(secs % 60));
    if (frac) {
        *p++ = '.';
        char f[9];
        for (int k = fdigits - 1; k >= 0; k--) {
            f[k] = (char)('0' + frac % 10);
            frac /= 10;
        }
        int n = fdigits;
        while (n > 0 && f[n - 1] == '0') n--;
        memcpy(p, f, (size_t)n);
        p += n;
    }
    return p;
}

/* PostgreSQL's (and Redshift's) timestamp range, in microseconds since
 * 2000-01-01 as PostgreSQL keeps them: [4714-11-24 00:00:00 BC,
 * 294277-01-01 00:00:00). Unix microseconds end earlier (294247 AD). */
#define PG_TS_MIN INT64_C(-211813488000000000)
#define PG_TS_END INT64_C(9223371331200000000)
#define PG_EPOCH_US INT64_C(946684800000000)    /* 2000-01-01 in Unix microseconds */
#define PG_EPOCH_DAYS 10957                     /* 2000-01-01 - 1970-01-01 */
#define US_PER_DAY INT64_C(86400000000)

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b < 0); }

/* A TIMESTAMP or INT96 value as PostgreSQL microseconds (since 2000) plus
 * the nanoseconds below them (0..999). INT96 is 8 bytes nanoseconds of the
 * day and 4 bytes Julian day; a well-formed one (0 <= nanos < one day) is
 * converted exactly, in microseconds so it cannot overflow. Spark writes
 * timestamps beyond ~290,000 AD with its Julian-day arithmetic wrapped
 * around 64 bits (negative nanoseconds of the day): those are read the way
 * Spark reads them back, with the same wrapping, which recovers the value
 * it was given. Returns 0, or -1 when the value is outside PostgreSQL's
 * range (err names the day). */
static int ts_micros(const pq_vtype *t, const uint8_t *v, int64_t *pg_us, int *frac_ns, char *err, size_t errlen)
{
    int64_t x, days;   /* days since 1970, for the message */
    *frac_ns = 0;
    if (t->kind == PQV_INT96) {
        int64_t nanos;
        int32_t jd;
        memcpy(&nanos, v, 8);
        memcpy(&jd, v + 8, 4);
        days = (int64_t)jd - 2440588;
        if (nanos >= 0 && nanos < US_PER_DAY * 1000) {
            int64_t pg_days = days - PG_EPOCH_DAYS;
            if (pg_days < PG_TS_MIN / US_PER_DAY || pg_days > PG_TS_END / US_PER_DAY) goto out_of_range;
            x = pg_days * US_PER_DAY + nanos / 1000;
            if (x >= PG_TS_END) goto out_of_range;
            *frac_ns = (int)(nanos % 1000);
            *pg_us = x;
            return 0;
        }
        x = (int64_t)((uint64_t)days * (uint64_t)US_PER_DAY + (uint64_t)(nanos / 1000));   /* Spark's wrap */
    } else {
        memcpy(&x, v, 8);
        if (t->unit == LODE_PQ_NANOS) {   /* int64 nanoseconds: 1677..2262, always in range */
            int64_t f = x % 1000;
            x = floor_div(x, 1000);
            *frac_ns = (int)(f < 0 ? f + 1000 : f);
        } else if (t->unit == LODE_PQ_MILLIS) {
            days = floor_div(x, 86400000);
            if (x < (PG_TS_MIN + PG_EPOCH_US) / 1000 || x >= PG_TS_END / 1000 + PG_EPOCH_US / 1000) goto out_of_range;
            *pg_us = (x - PG_EPOCH_US / 1000) * 1000;
            return 0;
        }
    }
    days = floor_div(x, US_PER_DAY);      /* x: Unix microseconds */
    if (x < PG_TS_MIN + PG_EPOCH_US) goto out_of_range;
    *pg_us = x - PG_EPOCH_US;
    return 0;
out_of_range: {
        char d[48];
        int bc;
        char *p = put_date_slow(d, days, &bc);
        if (bc) { memcpy(p, " BC", 3); p += 3; }
        *p = 0;
        snprintf(err, errlen, "timestamp on %s is outside PostgreSQL's range (4714-11-24 BC .. 294276-12-31)", d);
        return -1;
    }
}

/* YYYY-MM-DD HH:MM:SS[.ffffff[fff]][+00][ BC] from ts_micros' result. */
static size_t fmt_ts_us(char *buf, int64_t pg_us, int frac_ns, int utc)
{
    int64_t days = floor_div(pg_us, US_PER_DAY);
    int64_t rem = pg_us - days * US_PER_DAY;
    int bc;
    char *p = put_date(buf, days + PG_EPOCH_DAYS, &bc);
    *p++ = ' ';
    if (frac_ns) p = put_time(p, (uint64_t)rem * 1000 + (uint64_t)frac_ns, LODE_PQ_NANOS);
    else p = put_time(p, (uint64_t)rem, LODE_PQ_MICROS);
    if (utc) {
        memcpy(p, "+00", 3);
        p += 3;
    }
    if (bc) {
        memcpy(p, " BC", 3);
        p += 3;
    }
    return (size_t)(p - buf);
}

/* Render a scalar that never needs escaping into buf (≥ 64 bytes). Returns
 * its length, or (size_t)-1 when the kind is not a simple scalar. */
static size_t fmt_scalar(char *buf, const pq_vtype *t, const uint8_t *v)
{
    int32_t i32;
    int64_t i64;
    switch (t->kind) {
    case PQV_BOOL:
        if (*v) { memcpy(buf, "true", 4); return 4; }
        memcpy(buf, "false", 5);
        return 5;
    case PQV_INT32:
        memcpy(&i32, v, 4);
        return pq_fmt_i64(buf, i32);
    case PQV_UINT32:
        memcpy(&i32, v, 4);
        return pq_fmt_u64(buf, (uint32_t)i32);
    case PQV_INT64:
        memcpy(&i64, v, 8);
        return pq_fmt_i64(buf, i64);
    case PQV_UINT64:
        memcpy(&i64, v, 8);
        return pq_fmt_u64(buf, (uint64_t)i64);
    case PQV_FLOAT: {
        float f;
        memcpy(&f, v, 4);
        return fmt_float(buf, f);
    }
    case PQV_DOUBLE: {
        double d;
        memcpy(&d, v, 8);
        return fmt_double(buf, d);
    }
    case PQV_FLOAT16: {
        uint16_t h = (uint16_t)(v[0] | v[1] << 8);
        return fmt_float(buf, half_to_float(h));
    }
    case PQV_DATE: {
        memcpy(&i32, v, 4);
        int bc;
        char *p = put_date(buf, i32, &bc);
        if (bc) {
            memcpy(p, " BC", 3);
            p += 3;
        }
        return (size_t)(p - buf);
    }
    case PQV_TIME: {
        if (t->ptype == LODE_PQ_INT32) {
            memcpy(&i32, v, 4);
            i64 = i32;
        } else {
            memcpy(&i64, v, 8);
        }
        if (i64 < 0) i64 = 0;
        char *p = put_time(buf, (uint64_t)i64, t->unit);
        if (t->utc) {
            memcpy(p, "+00", 3);
            p += 3;
        }
        return (size_t)(p - buf);
    }
    case PQV_TIMESTAMP:
    case PQV_INT96: {
        int frac;
        char err[8];
        if (ts_micros(t, v, &i64, &frac, err, sizeof err) != 0) return (size_t)-2;
        return fmt_ts_us(buf, i64, frac, t->kind == PQV_TIMESTAMP && t->utc);
    }
    case PQV_UUID: {
        static const char hex[] = "0123456789abcdef";
        char *p = buf;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
            *p++ = hex[v[i] >> 4];
            *p++ = hex[v[i] & 15];
        }
        return 36;
    }
    case PQV_INTERVAL: {
        uint32_t months, days, millis;
        memcpy(&months, v, 4);
        memcpy(&days, v + 4, 4);
        memcpy(&millis, v + 8, 4);
        char *p = buf;
        p += sprintf(p, "%u mons %u days ", months, days);
        p = put_time(p, millis, LODE_PQ_MILLIS);
        return (size_t)(p - buf);
    }
    default:
        return (size_t)-1;
    }
}

/* ---- strings ----------------------------------------------------------------------- */

int pq_utf8_valid(const uint8_t *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & UINT64_C(0x8080808080808080)) break;
            i += 8;
        }
        if (i >= n) break;
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1f; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0f; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
        else goto invalid;
        if (n - i < len) goto invalid;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) goto invalid;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            goto invalid;
        i += len;
        continue;
    invalid:
        *bad = i;
        return 0;
    }
    return 1;
}

static int put_raw(pq_buf *out, const char *s, size_t n)
{
    if (pq_buf_reserve(out, n) != 0) return -1;
    memcpy(out->data + out->len, s, n);
    out->len += n;
    return 0;
}

/* Append s[0..n) escaped for fmt (quoted for CSV when needed, quoted and
 * escaped for JSON). */
int pq_put_string(pq_buf *out, pq_format fmt, const char *s, size_t n)
{
    if (fmt == PQ_FMT_BINARY) {
        if (pq_buf_reserve(out, n + 4) != 0) return -1;
        uint32_t be = __builtin_bswap32((uint32_t)n);
        memcpy(out->data + out->len, &be, 4);
        memcpy(out->data + out->len + 4, s, n);
        out->len += n + 4;
        return 0;
    }
    if (fmt == PQ_FMT_CSV) {
        int quote = n == 0;    /* an empty string must differ from NULL */
        for (size_t i = 0; i < n && !quote; i++)
            quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
        if (!quote) return put_raw(out, s, n);
        if (pq_buf_reserve(out, 2 * n + 2) != 0) return -1;
        char *p = (char *)out->data + out->len;
        *p++ = '"';
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"') *p++ = '"';
            *p++ = s[i];
        }
        *p++ = '"';
        out->len = (size_t)((uint8_t *)p - out->data);
        return 0;
    }
    if (fmt == PQ_FMT_JSON) {
        if (pq_buf_reserve(out, 6 * n + 2) != 0) return -1;
        char *p = (char *)out->data + out->len;
        *p++ = '"';
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '"' || c == '\\') { *p++ = '\\'; *p++ = (char)c; }
            else if (c == '\n') { *p++ = '\\'; *p++ = 'n'; }
            else if (c == '\r') { *p++ = '\\'; *p++ = 'r'; }
            else if (c == '\t') { *p++ = '\\'; *p++ = 't'; }
            else if (c < 0x20) p += sprintf(p, "\\u%04x", c);
            else *p++ = (char)c;
        }
        *p++ = '"';
        out->len = (size_t)((uint8_t *)p - out->data);
        return 0;
    }
    if (fmt == PQ_FMT_RAW) return put_raw(out, s, n);
    /* TEXT and TSV: backslash escapes */
    if (pq_buf_reserve(out, 2 * n) != 0) return -1;
    char *p = (char *)out->data + out->len;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        switch (c) {
        case '\\': *p++ = '\\'; *p++ = '\\'; break;
        case '\n': *p++ = '\\'; *p++ = 'n'; break;
        case '\r': *p++ = '\\'; *p++ = 'r'; break;
        case '\t': *p++ = '\\'; *p++ = 't'; break;
        default: *p++ = c;
        }
    }
    out->len = (size_t)((uint8_t *)p - out->data);
    return 0;
}

int pq_put_null(pq_buf *out, pq_format fmt)
{
    switch (fmt) {
    case PQ_FMT_TEXT: return put_raw(out, "\\N", 2);
    case PQ_FMT_JSON: return put_raw(out, "null", 4);
    case PQ_FMT_BINARY: return put_raw(out, "\xff\xff\xff\xff", 4);
    default: return 0;
    }
}

/* ---- binary COPY fields -------------------------------------------------------------- */

static int put_be(pq_buf *out, uint64_t v, int bytes)
{
    if (pq_buf_reserve(out, 4 + (size_t)bytes) != 0) return -1;
    uint8_t *p = out->data + out->len;
    p[0] = 0; p[1] = 0; p[2] = 0; p[3] = (uint8_t)bytes;
    for (int i = 0; i < bytes; i++) p[4 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    out->len += 4 + (size_t)bytes;
    return 0;
}


/* PostgreSQL numeric binary form from decimal text ("-123.4500"). */
static int put_numeric_bin(pq_buf *out, const char *s, size_t n)
{
    int neg = n && s[0] == '-';
    if (neg) { s++; n--; }
    const char *dot = memchr(s, '.', n);
    size_t ni = dot ? (size_t)(dot - s) : n, nf = dot ? n - ni - 1 : 0;
    const char *fr = dot ? dot + 1 : "";
    /* integer part grouped from the point leftwards, fraction rightwards */
    size_t gi = (ni + 3) / 4, gf = (nf + 3) / 4;
    uint16_t *g = malloc((gi + gf + 1) * sizeof *g);
    if (!g) return -1;
    for (size_t k = 0; k < gi; k++) {
        int v = 0;
        for (size_t j = 0; j < 4; j++) {
            long idx = (long)ni - (long)(gi - k) * 4 + (long)j;
            v = v * 10 + (idx >= 0 ? s[idx] - '0' : 0);
        }
        g[k] = (uint16_t)v;
    }
    for (size_t k = 0; k < gf; k++) {
        int v = 0;
        for (size_t j = 0; j < 4; j++) {
            size_t idx = k * 4 + j;
            v = v * 10 + (idx < nf ? fr[idx] - '0' : 0);
        }
        g[gi + k] = (uint16_t)v;
    }
    size_t first = 0, last = gi + gf;
    while (first < last && g[first] == 0) first++;
    while (last > first && g[last - 1] == 0) last--;
    int weight = (int)gi - 1 - (int)first;
    size_t ndig = last - first;
    if (ndig == 0) weight = 0;
    size_t bytes = 8 + 2 * ndig;
    if (pq_buf_reserve(out, 4 + bytes) != 0) { free(g); return -1; }
    uint8_t *p = out->data + out->len;
    uint32_t be = __builtin_bswap32((uint32_t)bytes);
    memcpy(p, &be, 4);
    p += 4;
    uint16_t hdr[4] = { (uint16_t)ndig, (uint16_t)(int16_t)weight, (uint16_t)(neg && ndig ? 0x4000 : 0),
                        (uint16_t)nf };
    for (int i = 0; i < 4; i++) { *p++ = (uint8_t)(hdr[i] >> 8); *p++ = (uint8_t)hdr[i]; }
    for (size_t k = first; k < last; k++) { *p++ = (uint8_t)(g[k] >> 8); *p++ = (uint8_t)g[k]; }
    out->len += 4 + bytes;
    free(g);
    return 0;
}

static int put_binary_field(pq_buf *out, const pq_vtype *t, const uint8_t *fixed, const pq_bytes *b,
                            pq_buf *scratch)
{
    int32_t i32;
    int64_t i64;
    switch (t->kind) {
    case PQV_BOOL: return put_be(out, *fixed ? 1 : 0, 1);
    case PQV_INT32: memcpy(&i32, fixed, 4); return put_be(out, (uint32_t)i32, 4);
    case PQV_UINT32: memcpy(&i32, fixed, 4); return put_be(out, (uint32_t)i32, 8);
    case PQV_INT64: memcpy(&i64, fixed, 8); return put_be(out, (uint64_t)i64, 8);
    case PQV_FLOAT: memcpy(&i32, fixed, 4); return put_be(out, (uint32_t)i32, 4);
    case PQV_DOUBLE: memcpy(&i64, fixed, 8); return put_be(out, (uint64_t)i64, 8);
    case PQV_FLOAT16: {
        float f = half_to_float((uint16_t)(fixed[0] | fixed[1] << 8));
        memcpy(&i32, &f, 4);
        return put_be(out, (uint32_t)i32, 4);
    }
    case PQV_DATE: memcpy(&i32, fixed, 4); return put_be(out, (uint32_t)(i32 - PG_EPOCH_DAYS), 4);
    case PQV_TIMESTAMP:
    case PQV_INT96: {   /* range checked by pq_put_value */
        int frac;
        char err[8];
        if (ts_micros(t, fixed, &i64, &frac, err, sizeof err) != 0) return -1;
        return put_be(out, (uint64_t)i64, 8);
    }
    case PQV_TIME: {
        if (t->ptype == LODE_PQ_INT32) { memcpy(&i32, fixed, 4); i64 = i32; }
        else memcpy(&i64, fixed, 8);
        int64_t us = t->unit == LODE_PQ_MILLIS ? i64 * 1000 : t->unit == LODE_PQ_NANOS ? i64 / 1000 : i64;
        if (!t->utc) return put_be(out, (uint64_t)us, 8);
        if (pq_buf_reserve(out, 16) != 0) return -1;   /* timetz: time + zone offset 0 */
        put_be(out, (uint64_t)us, 8);
        out->data[out->len - 9] = 12;
        memset(out->data + out->len, 0, 4);
        out->len += 4;
        return 0;
    }
    case PQV_UUID:
        return pq_put_string(out, PQ_FMT_BINARY, (const char *)fixed, 16);
    case PQV_STRING: case PQV_BINARY:
        if (t->ptype == LODE_PQ_FIXED_LEN_BYTE_ARRAY)
            return pq_put_string(out, PQ_FMT_BINARY, (const char *)fixed, (size_t)t->width);
        return pq_put_string(out, PQ_FMT_BINARY, (const char *)b->ptr, b->len);
    case PQV_JSON: {   /* jsonb binary: version 1, then the text */
        if (pq_buf_reserve(out, b->len + 5) != 0) return -1;
        uint32_t be = __builtin_bswap32(b->len + 1);
        memcpy(out->data + out->len, &be, 4);
        out->data[out->len + 4] = 1;
        memcpy(out->data + out->len + 5, b->ptr, b->len);
        out->len += b->len + 5;
        return 0;
    }
    case PQV_DECIMAL: case PQV_UINT64: case PQV_INTERVAL: default: {
        scratch->len = 0;
        char tmp[80];
        size_t n;
        if (t->kind == PQV_UINT64) {
            memcpy(&i64, fixed, 8);
            n = pq_fmt_u64(tmp, (uint64_t)i64);
        } else if (t->kind == PQV_INTERVAL) {
            n = fmt_scalar(tmp, t, fixed);
            return pq_put_string(out, PQ_FMT_BINARY, tmp, n);  /* caller loads interval as text */
        } else if ((t->ptype == LODE_PQ_INT32 || t->ptype == LODE_PQ_INT64) && t->scale <= 40) {
            char digits[24];
            int64_t u;
            if (t->ptype == LODE_PQ_INT32) { memcpy(&i32, fixed, 4); u = i32; }
            else memcpy(&u, fixed, 8);
            uint64_t mag = u < 0 ? (uint64_t)0 - (uint64_t)u : (uint64_t)u;
            size_t nd = pq_fmt_u64(digits, mag);
            n = place_point(tmp, u < 0, digits, nd, t->scale);
        } else {
            uint8_t be[8];
            const uint8_t *p = t->ptype == LODE_PQ_FIXED_LEN_BYTE_ARRAY ? fixed : b ? b->ptr : NULL;
            size_t len = t->ptype == LODE_PQ_FIXED_LEN_BYTE_ARRAY ? (size_t)t->width : b ? b->len : 0;
            if (t->ptype == LODE_PQ_INT32 || t->ptype == LODE_PQ_INT64) {
                if (t->ptype == LODE_PQ_INT32) { memcpy(&i32, fixed, 4); i64 = i32; }
                else memcpy(&i64, fixed, 8);
                for (int i = 0; i < 8; i++) be[i] = (uint8_t)((uint64_t)i64 >> (56 - 8 * i));
                p = be;
                len = 8;
            }
            if (fmt_decimal_bytes(scratch, p, len, t->scale, NULL) != 0) return -1;
            return put_numeric_bin(out, (const char *)scratch->data, scratch->len);
        }
        return put_numeric_bin(out, tmp, n);
    }
    }
}

/* ---- one value in a text format ---------------------------------------------------------- */

static int put_hex(pq_buf *out, pq_format fmt, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* COPY text needs the backslash of \x doubled; JSON too */
    size_t pre = fmt == PQ_FMT_TEXT || fmt == PQ_FMT_TSV ? 3 : fmt == PQ_FMT_JSON ? 4 : 2;
    if (pq_buf_reserve(out, 2 * n + pre + 2) != 0) return -1;
    char *q = (char *)out->data + out->len;
    if (fmt == PQ_FMT_JSON) *q++ = '"';
    *q++ = '\\';
    if (pre >= 3) *q++ = '\\';
    *q++ = 'x';
    for (size_t i = 0; i < n; i++) {
        *q++ = hex[p[i] >> 4];
        *q++ = hex[p[i] & 15];
    }
    if (fmt == PQ_FMT_JSON) *q++ = '"';
    out->len = (size_t)((uint8_t *)q - out->data);
    return 0;
}

static pq_buf value_scratch;   /* decimal digits for binary COPY; the reader is single-threaded */

int pq_put_value(pq_buf *out, pq_format fmt, const pq_vtype *t, const uint8_t *fixed,
                 const pq_bytes *bytes, const pq_text_opts *topts, char *err, size_t errlen)
{
    if (t->kind == PQV_INT96 || (t->kind == PQV_TIMESTAMP && t->unit != LODE_PQ_NANOS)) {
        int64_t us;
        int frac;
        if (ts_micros(t, fixed, &us, &frac, err, errlen) != 0) return -2;
    }
    if (fmt == PQ_FMT_BINARY) {
        if ((t->kind == PQV_STRING || t->kind == PQV_JSON) && bytes) {
            size_t bad;
            if (!pq_utf8_valid(bytes->ptr, bytes->len, &bad)) {
                if (!topts->replace_invalid) {
                    snprintf(err, errlen, "invalid UTF-8 at byte %zu of a %u-byte string", bad, bytes->len);
                    return -2;
                }
                char *copy = malloc(bytes->len ? bytes->len : 1);
                if (!copy) return -1;
                memcpy(copy, bytes->ptr, bytes->len);
                size_t off = 0;
                while (!pq_utf8_valid((uint8_t *)copy + off, bytes->len - off, &bad)) {
                    copy[off + bad] = topts->replacement;
                    off += bad + 1;
                }
                pq_bytes fixedup = { (uint8_t *)copy, bytes->len };
                int rc = put_binary_field(out, t, fixed, &fixedup, &value_scratch);
                free(copy);
                return rc;
            }
        }
        return put_binary_field(out, t, fixed, bytes, &value_scratch) ? -1 : 0;
    }
    char tmp[96];
    switch (t->kind) {
    case PQV_STRING: case PQV_JSON: {
        const uint8_t *s = t->ptype == LODE_PQ_FIXED_LEN_BYTE_ARRAY ? fixed : bytes->ptr;
        size_t n = t->ptype == LODE_PQ_FIXED_LEN_BYTE_ARRAY ? (size_t)t->width : bytes->len;
        size_t bad;
        if (!pq_utf8_valid(s, n, &bad)) {
            if (!topts->replace_invalid) {
                snprintf(err, errlen, "invalid UTF-8 at byte %zu of a %zu-byte string", bad, n);
                return -2;
            }
            char *copy = malloc(n ? n : 1);
            if (!copy) return -1;
            memcpy(copy, s, n);
            size_t off = 0;
            while (!pq_utf8_valid((uint8_t *)copy + off, n - off, &bad)) {
                copy[off + bad] = topts->replacement;
                off += bad + 1;
            }
            int rc = fmt == PQ_FMT_JSON && t->kind == PQV_JSON ? put_raw(out, copy, n)
                                                               : pq_put_string(out, fmt, copy, n);
            free(copy);
            return rc;
        }
        if (fmt == PQ_FMT_JSON && t->kind == PQV_JSON) return put_raw(out, (const char *)s, n);
        return pq_put_string(out, fmt, (const char *)s, n);
    }
    case PQV_BINARY: {
        const uint8_t *s = t->ptype == LODE_PQ_FIXED_LEN_BYTE_ARRAY ? fixed : bytes->ptr;
        size_t n = t->ptype == LODE_PQ_FIXED_LEN_BYTE_ARRAY ? (size_t)t->width : bytes->len;
        if (fmt == PQ_FMT_RAW) return put_raw(out, (const char *)s, n);
        return put_hex(out, fmt, s, n);
    }
    case PQV_DECIMAL: {
        if (t->ptype == LODE_PQ_INT32 || t->ptype == LODE_PQ_INT64) {
            int64_t u;
            if (t->ptype == LODE_PQ_INT32) {
                int32_t i32;
                memcpy(&i32, fixed, 4);
                u = i32;
            } else {
                memcpy(&u, fixed, 8);
            }
            if (t->scale > 60) {
                uint8_t be[8];
                for (int i = 0; i < 8; i++) be[i] = (uint8_t)((uint64_t)u >> (56 - 8 * i));
                return fmt_decimal_bytes(out, be, 8, t->scale, NULL);
            }
            char digits[24];
            uint64_t mag = u < 0 ? (uint64_t)0 - (uint64_t)u : (uint64_t)u;
            size_t nd = pq_fmt_u64(digits, mag);
            if (pq_buf_reserve(out, nd + (size_t)t->scale + 4)) return -1;
            out->len += place_point((char *)out->data + out->len, u < 0, digits, nd, t->scale);
            return 0;
        }
        const uint8_t *s = t->ptype == LODE_PQ_FIXED_LEN_BYTE_ARRAY ? fixed : bytes->ptr;
        size_t n = t->ptype == LODE_PQ_FIXED_LEN_BYTE_ARRAY ? (size_t)t->width : bytes->len;
        return fmt_decimal_bytes(out, s, n, t->scale, NULL);
    }
    default: {
        if (fmt != PQ_FMT_JSON) {   /* never escaped: format in place */
            if (pq_buf_reserve(out, 96)) return -1;
            size_t n = fmt_scalar((char *)out->data + out->len, t, fixed);
            if (n == (size_t)-1) return -1;
            out->len += n;
            return 0;
        }
        size_t n = fmt_scalar(tmp, t, fixed);
        if (n == (size_t)-1) return -1;
        int quote = fmt == PQ_FMT_JSON &&
            (t->kind >= PQV_DATE || ((t->kind == PQV_FLOAT || t->kind == PQV_DOUBLE || t->kind == PQV_FLOAT16)
                                     && (tmp[0] == 'N' || tmp[0] == 'I' || tmp[1] == 'I')));
        if (!quote) return put_raw(out, tmp, n);
        return pq_put_string(out, fmt, tmp, n);
    }
    }
}

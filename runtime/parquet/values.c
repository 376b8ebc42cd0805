/* parquet/values.c — plain-encoded statistics values (min/max) turned into
 * typed values by the column's logical type, and the sort-order rules that
 * decide which statistics can be trusted. Pure functions, no allocation. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lode/parquet/parquet.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void format_date(int64_t days, char *out, size_t n)
{
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, n, "%04lld-%02d-%02d", (long long)y, m, d);
}

static int64_t unit_per_second(int unit)
{
    return unit == LODE_PQ_MILLIS ? 1000 : unit == LODE_PQ_MICROS ? 1000000 : 1000000000;
}

static int unit_digits(int unit)
{
    return unit == LODE_PQ_MILLIS ? 3 : unit == LODE_PQ_MICROS ? 6 : 9;
}

/* "HH:MM:SS[.fff…]" of `v` units within a day (or beyond, for TIME). */
static size_t format_clock(int64_t secs_of_day, int64_t frac, int unit, char *out, size_t n)
{
    int len = snprintf(out, n, "%02d:%02d:%02d", (int)(secs_of_day / 3600), (int)(secs_of_day / 60 % 60),
                       (int)(secs_of_day % 60));
    if (frac && len > 0 && (size_t)len < n)
        len += snprintf(out + len, n - (size_t)len, ".%0*lld", unit_digits(unit), (long long)frac);
    return len < 0 ? 0 : (size_t)len;
}

static void format_timestamp(int64_t v, int unit, int utc, char *out, size_t n)
{
    int64_t ups = unit_per_second(unit);
    int64_t secs = floordiv(v, ups);
    int64_t frac = v - secs * ups;
    int64_t days = floordiv(secs, 86400);
    int64_t sod = secs - days * 86400;
    format_date(days, out, n);
    size_t len = strlen(out);
    if (len + 1 < n) out[len++] = 'T';
    len += format_clock(sod, frac, unit, out + len, n - len);
    if (utc && len + 1 < n) {
        out[len++] = 'Z';
        out[len] = '\0';
    }
}

static void format_time(int64_t v, int unit, char *out, size_t n)
{
    if (v < 0) v = 0;
    int64_t ups = unit_per_second(unit);
    format_clock(v / ups, v % ups, unit, out, n);
}

/* Big-endian two's complement unscaled integer → exact decimal text. */
static int format_decimal_be(const uint8_t *b, size_t len, int scale, char *out, size_t n)
{
    if (len == 0 || scale < 0 || scale > 80) return -1;
    int neg = b[0] & 0x80;
    uint8_t mag[64];
    /* drop sign-extension bytes, then negate into a magnitude */
    while (len > 1 && ((b[0] == 0x00 && !(b[1] & 0x80)) || (b[0] == 0xff && (b[1] & 0x80)))) {
        b++;
        len--;
    }
    if (len > sizeof mag) return -1;
    memcpy(mag, b, len);
    if (neg) {
        int carry = 1;
        for (size_t i = len; i-- > 0;) {
            int v = (uint8_t)~mag[i] + carry;
            mag[i] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    char digits[200];
    size_t nd = 0;
    size_t start = 0;
    for (;;) {
        while (start < len && mag[start] == 0) start++;
        if (start == len) break;
        unsigned rem = 0;
        for (size_t i = start; i < len; i++) {
            unsigned cur = rem << 8 | mag[i];
            mag[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
        }
        digits[nd++] = (char)('0' + rem);
    }
    if (nd == 0) digits[nd++] = '0';
    while (nd <= (size_t)scale) digits[nd++] = '0';     /* at least one digit before the point */
    size_t o = 0;
    if (nd + 3 > n) return -1;
    int is_zero = 1;
    for (size_t i = 0; i < nd; i++)
        if (digits[i] != '0') is_zero = 0;
    if (neg && !is_zero) out[o++] = '-';
    for (size_t i = nd; i-- > 0;) {
        out[o++] = digits[i];
        if (i == (size_t)scale && scale > 0) out[o++] = '.';
    }
    out[o] = '\0';
    return 0;
}

static double half_to_double(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v;
    if (exp == 0) v = ldexp(mant, -24);
    else if (exp == 31) v = mant ? NAN : INFINITY;
    else v = ldexp(mant | 0x400, exp - 25);
    return sign ? -v : v;
}

static int decimal_scale(const lode_pq_schema_element *el, int *scale)
{
    if (el->logical.type == LODE_PQ_LT_DECIMAL) {
        *scale = el->logical.scale;
        return 1;
    }
    if (el->logical.type == LODE_PQ_LT_NONE && el->converted_type == LODE_PQ_CT_DECIMAL) {
        *scale = el->scale < 0 ? 0 : el->scale;
        return 1;
    }
    return 0;
}

/* Timestamp unit and UTC flag, from the logical type or the legacy annotation. */
static int timestamp_of(const lode_pq_schema_element *el, int *unit, int *utc)
{
    if (el->logical.type == LODE_PQ_LT_TIMESTAMP) {
        *unit = el->logical.unit;
        *utc = el->logical.is_adjusted_to_utc;
        return 1;
    }
    if (el->logical.type == LODE_PQ_LT_NONE && (el->converted_type == LODE_PQ_CT_TIMESTAMP_MILLIS ||
                                                el->converted_type == LODE_PQ_CT_TIMESTAMP_MICROS)) {
        *unit = el->converted_type == LODE_PQ_CT_TIMESTAMP_MILLIS ? LODE_PQ_MILLIS : LODE_PQ_MICROS;
        *utc = 1;
        return 1;
    }
    return 0;
}

static int time_of(const lode_pq_schema_element *el, int *unit)
{
    if (el->logical.type == LODE_PQ_LT_TIME) {
        *unit = el->logical.unit;
        return 1;
    }
    if (el->logical.type == LODE_PQ_LT_NONE && (el->converted_type == LODE_PQ_CT_TIME_MILLIS ||
                                                el->converted_type == LODE_PQ_CT_TIME_MICROS)) {
        *unit = el->converted_type == LODE_PQ_CT_TIME_MILLIS ? LODE_PQ_MILLIS : LODE_PQ_MICROS;
        return 1;
    }
    return 0;
}

static int is_date(const lode_pq_schema_element *el)
{
    return el->logical.type == LODE_PQ_LT_DATE ||
           (el->logical.type == LODE_PQ_LT_NONE && el->converted_type == LODE_PQ_CT_DATE);
}

/* 1 when the integer column is unsigned (INTEGER(signed=false) or UINT_*). */
static int is_unsigned_int(const lode_pq_schema_element *el)
{
    if (el->logical.type == LODE_PQ_LT_INTEGER) return !el->logical.is_signed;
    return el->logical.type == LODE_PQ_LT_NONE && el->converted_type >= LODE_PQ_CT_UINT_8 &&
           el->converted_type <= LODE_PQ_CT_UINT_64;
}

int lode_pq_value_decode(const lode_pq_schema_element *el, lode_pq_bytes raw, lode_pq_value *v)
{
    memset(v, 0, sizeof *v);
    int scale, unit, utc;
    const uint8_t *p = raw.ptr;
    switch (el->type) {
    case LODE_PQ_BOOLEAN:
        if (raw.len < 1) return -1;
        v->kind = LODE_PQ_V_BOOL;
        v->b = p[0] & 1;
        return 0;
    case LODE_PQ_INT32: {
        if (raw.len != 4) return -1;
        int32_t x = (int32_t)le32(p);
        v->kind = LODE_PQ_V_TEXT;
        if (decimal_scale(el, &scale)) {
            uint8_t be[4] = { p[3], p[2], p[1], p[0] };
            if (format_decimal_be(be, 4, scale, v->text, sizeof v->text) == 0) return 0;
            v->kind = LODE_PQ_V_NONE;
            return -1;
        }
        if (is_date(el)) {
            format_date(x, v->text, sizeof v->text);
            return 0;
        }
        if (time_of(el, &unit)) {
            format_time(x, unit, v->text, sizeof v->text);
            return 0;
        }
        v->kind = LODE_PQ_V_INT;
        v->i = is_unsigned_int(el) ? (int64_t)(uint32_t)x : x;
        return 0;
    }
    case LODE_PQ_INT64: {
        if (raw.len != 8) return -1;
        uint64_t u = le64(p);
        int64_t x = (int64_t)u;
        v->kind = LODE_PQ_V_TEXT;
        if (decimal_scale(el, &scale)) {
            uint8_t be[8];
            for (int i = 0; i < 8; i++) be[i] = p[7 - i];
            if (format_decimal_be(be, 8, scale, v->text, sizeof v->text) == 0) return 0;
            v->kind = LODE_PQ_V_NONE;
            return -1;
        }
        if (timestamp_of(el, &unit, &utc)) {
            format_timestamp(x, unit, utc, v->text, sizeof v->text);
            return 0;
        }
        if (time_of(el, &unit)) {
            format_time(x, unit, v->text, sizeof v->text);
            return 0;
        }
        if (is_unsigned_int(el) && x < 0) {
            snprintf(v->text, sizeof v->text, "%llu", (unsigned long long)u);
            return 0;
        }
        v->kind = LODE_PQ_V_INT;
        v->i = x;
        return 0;
    }
    case LODE_PQ_INT96: {
        if (raw.len != 12) return -1;
        int64_t nanos = (int64_t)le64(p);
        int64_t jd = (int32_t)le32(p + 8);
        int64_t days = jd - 2440588;
        /* microseconds: nanoseconds since the epoch can overflow int64 */
        v->kind = LODE_PQ_V_TEXT;
        format_date(days + floordiv(nanos / 1000, 86400000000LL), v->text, sizeof v->text);
        int64_t us = nanos / 1000 - floordiv(nanos / 1000, 86400000000LL) * 86400000000LL;
        size_t len = strlen(v->text);
        v->text[len++] = 'T';
        format_clock(us / 1000000, us % 1000000, LODE_PQ_MICROS, v->text + len, sizeof v->text - len);
        return 0;
    }
    case LODE_PQ_FLOAT: {
        if (raw.len != 4) return -1;
        uint32_t bits = le32(p);
        float f;
        memcpy(&f, &bits, 4);
        v->kind = LODE_PQ_V_DOUBLE;
        v->d = f;
        return 0;
    }
    case LODE_PQ_DOUBLE: {
        if (raw.len != 8) return -1;
        uint64_t bits = le64(p);
        v->kind = LODE_PQ_V_DOUBLE;
        memcpy(&v->d, &bits, 8);
        return 0;
    }
    case LODE_PQ_BYTE_ARRAY:
    case LODE_PQ_FIXED_LEN_BYTE_ARRAY:
        if (decimal_scale(el, &scale)) {
            v->kind = LODE_PQ_V_TEXT;
            if (format_decimal_be(p, raw.len, scale, v->text, sizeof v->text) == 0) return 0;
            v->kind = LODE_PQ_V_NONE;
            return -1;
        }
        if (el->type == LODE_PQ_FIXED_LEN_BYTE_ARRAY && el->logical.type == LODE_PQ_LT_FLOAT16) {
            if (raw.len != 2) return -1;
            v->kind = LODE_PQ_V_DOUBLE;
            v->d = half_to_double((uint16_t)(p[0] | p[1] << 8));
            return 0;
        }
        if (el->type == LODE_PQ_FIXED_LEN_BYTE_ARRAY && el->logical.type == LODE_PQ_LT_UUID) {
            if (raw.len != 16) return -1;
            v->kind = LODE_PQ_V_TEXT;
            char *o = v->text;
            for (int i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
                o += sprintf(o, "%02x", p[i]);
            }
            return 0;
        }
        v->kind = LODE_PQ_V_BYTES;
        v->bytes = raw;
        return 0;
    default:
        return -1;
    }
}

enum { ORDER_SIGNED, ORDER_UNSIGNED, ORDER_UNKNOWN };

static int sort_order(const lode_pq_schema_element *el)
{
    int scale, unit, utc;
    switch (el->type) {
    case LODE_PQ_BOOLEAN:
    case LODE_PQ_FLOAT:
    case LODE_PQ_DOUBLE:
        return ORDER_SIGNED;
    case LODE_PQ_INT32:
    case LODE_PQ_INT64:
        return is_unsigned_int(el) ? ORDER_UNSIGNED : ORDER_SIGNED;
    case LODE_PQ_INT96:
        return ORDER_UNKNOWN;
    default:
        if (decimal_scale(el, &scale)) return ORDER_SIGNED;
        if (el->logical.type == LODE_PQ_LT_FLOAT16) return ORDER_SIGNED;
        if (el->converted_type == LODE_PQ_CT_INTERVAL) return ORDER_UNKNOWN;
        (void)unit; (void)utc;
        return ORDER_UNSIGNED;
    }
}

static int is_nan_value(const lode_pq_value *v)
{
    return v->kind == LODE_PQ_V_DOUBLE && isnan(v->d);
}

void lode_pq_stats_minmax(const lode_pq_meta *m, uint32_t leaf, const lode_pq_statistics *s,
                          lode_pq_value *min, lode_pq_value *max)
{
    memset(min, 0, sizeof *min);
    memset(max, 0, sizeof *max);
    if (leaf >= m->n_leaves) return;
    const lode_pq_schema_element *el = &m->schema[m->leaves[leaf]];
    int order = sort_order(el);
    if (order == ORDER_UNKNOWN) return;
    int col_order = m->has_column_orders && leaf < m->n_column_orders ? m->column_orders[leaf]
                                                                      : LODE_PQ_ORDER_UNDEFINED;
    const lode_pq_bytes *lo = NULL, *hi = NULL;
    int typed_order = col_order == LODE_PQ_ORDER_TYPE || col_order == LODE_PQ_ORDER_IEEE_754_TOTAL;
    if (s->has_min_value && s->has_max_value && (typed_order || (!m->has_column_orders && order == ORDER_SIGNED))) {
        lo = &s->min_value;
        hi = &s->max_value;
    } else if (s->has_min && s->has_max && order == ORDER_SIGNED && el->type != LODE_PQ_BYTE_ARRAY &&
               el->type != LODE_PQ_FIXED_LEN_BYTE_ARRAY) {
        /* the deprecated pair was compared signed, right only for these */
        lo = &s->min;
        hi = &s->max;
    }
    if (!lo) return;
    if (lode_pq_value_decode(el, *lo, min) < 0 || lode_pq_value_decode(el, *hi, max) < 0 ||
        is_nan_value(min) || is_nan_value(max)) {
        memset(min, 0, sizeof *min);
        memset(max, 0, sizeof *max);
        return;
    }
    /* a zero bound may have lost its sign: widen to [-0, +0] */
    if (min->kind == LODE_PQ_V_DOUBLE && min->d == 0) min->d = -0.0;
    if (max->kind == LODE_PQ_V_DOUBLE && max->d == 0) max->d = 0.0;
}

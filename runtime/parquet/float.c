/* parquet/float.c — doubles and floats as the shortest text that reads back
 * as the same value, byte for byte what the reader always printed:
 * printf's "%.Pg" with the smallest P of 15..17 (floats: 6..9) whose text
 * strtod (strtof) maps back to the value.
 *
 * The printf + strtod loop costs microseconds per value; this computes the
 * same correctly rounded digits with exact 128-bit integer arithmetic and
 * decides the round trip exactly (the value's rounding interval), falling
 * back to the printf loop for subnormals and for magnitudes whose exact
 * arithmetic would not fit in 128 bits. tests/unit/parquet_float_test.c
 * compares both on millions of values.
 * Owns: nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

typedef unsigned __int128 u128;

static const uint64_t pow10_u64[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
    1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
    1000000000000000000ull, 10000000000000000000ull,
};

static u128 pow10_128(int k)
{
    if (k < 20) return pow10_u64[k];
    return (u128)pow10_u64[19] * pow10_u64[k - 19];
}

/* Bits needed for 10^k (k ≥ 0), rounded up. */
static int bits10(int k) { return k * 3322 / 1000 + 1; }

/* The value m * 2^e (m < 2^mbits, normal: m ≥ 2^(mbits-1)) rounded to p
 * significant decimal digits, half to even, as digits *n (exactly p of
 * them) with the first digit at decimal exponent *x; *rt says whether that
 * decimal reads back as the same binary value (round to nearest even).
 * Returns 0, or -1 when the exact arithmetic would not fit. */
static int round_digits(uint64_t m, int e, int mbits, int p, int xguess, uint64_t *n, int *x, int *rt)
{
    int xx = xguess;
    for (int attempt = 0; attempt < 3; attempt++) {
        int k = p - 1 - xx;
        int ep = e > 0 ? e : 0, en = e < 0 ? -e : 0;
        int kp = k > 0 ? k : 0, kn = k < 0 ? -k : 0;
        if (kp > 38 || kn > 38) return -1;
        if (mbits + ep + bits10(kp) > 123 || en + bits10(kn) > 123) return -1;
        u128 unit = ((u128)1 << ep) * pow10_128(kp);      /* one ulp of the value, scaled */
        u128 num = (u128)m * unit;
        u128 q, rem, den;
        if (kn == 0) {                                    /* den = 2^en: shifts */
            den = (u128)1 << en;
            q = num >> en;
            rem = num & (den - 1);
        } else {
            den = ((u128)1 << en) * pow10_128(kn);
            q = num / den;
            rem = num % den;
        }
        if (q >= pow10_u64[p]) { xx++; continue; }
        if (q < pow10_u64[p - 1]) { xx--; continue; }
        uint64_t d = (uint64_t)q;
        if (2 * rem > den || (2 * rem == den && (d & 1))) d++;
        /* round trip: |d*den - num| against half the gap to each neighbour */
        u128 dn = (u128)d * den;
        int even = !(m & 1);
        if (dn >= num) {
            u128 diff = dn - num;
            *rt = 2 * diff < unit || (2 * diff == unit && even);
        } else {
            u128 diff = num - dn;
            int boundary = m == (uint64_t)1 << (mbits - 1);   /* the gap below is half as wide */
            if (boundary) *rt = 4 * diff <= unit;
            else *rt = 2 * diff < unit || (2 * diff == unit && even);
        }
        if (d == pow10_u64[p]) {
            d = pow10_u64[p - 1];
            xx++;
        }
        *n = d;
        *x = xx;
        return 0;
    }
    return -1;
}

/* printf's %.Pg layout of p digits n (first at exponent x). */
static size_t layout_g(char *buf, uint64_t n, int x, int p)
{
    char dig[24];
    for (int i = p - 1; i >= 0; i--) {
        dig[i] = (char)('0' + n % 10);
        n /= 10;
    }
    int len = p;
    while (len > 1 && dig[len - 1] == '0') len--;
    size_t o = 0;
    if (x < -4 || x >= p) {
        buf[o++] = dig[0];
        if (len > 1) {
            buf[o++] = '.';
            memcpy(buf + o, dig + 1, (size_t)len - 1);
            o += (size_t)len - 1;
        }
        buf[o++] = 'e';
        int ax = x;
        if (ax < 0) {
            buf[o++] = '-';
            ax = -ax;
        } else {
            buf[o++] = '+';
        }
        if (ax >= 100) {
            buf[o++] = (char)('0' + ax / 100);
            ax %= 100;
        }
        buf[o++] = (char)('0' + ax / 10);
        buf[o++] = (char)('0' + ax % 10);
        return o;
    }
    if (x >= 0) {
        int ip = x + 1;                  /* integer digits */
        for (int i = 0; i < ip; i++) buf[o++] = i < len ? dig[i] : '0';
        if (len > ip) {
            buf[o++] = '.';
            memcpy(buf + o, dig + ip, (size_t)(len - ip));
            o += (size_t)(len - ip);
        }
        return o;
    }
    buf[o++] = '0';
    buf[o++] = '.';
    for (int i = 0; i < -x - 1; i++) buf[o++] = '0';
    memcpy(buf + o, dig, (size_t)len);
    return o + (size_t)len;
}

/* Shortest of %.Pg, P = pmin..pmax, that reads back as m*2^e; 0 when the
 * exact path cannot decide (the caller falls back to printf). */
static size_t shortest(char *buf, uint64_t m, int e, int mbits, double approx, int pmin, int pmax)
{
    int xg = (int)floor(log10(approx));
    for (int p = pmin; p <= pmax; p++) {
        uint64_t n;
        int x, rt;
        if (round_digits(m, e, mbits, p, xg, &n, &x, &rt) != 0) return 0;
        if (rt || p == pmax) return layout_g(buf, n, x, p);
        xg = x;
    }
    return 0;
}

/* NaN, infinities, -0 and integral values: the same text on both paths.
 * Returns 0 when d is none of those. */
static size_t special_double(char *buf, double d)
{
    if (isnan(d)) { memcpy(buf, "NaN", 3); return 3; }
    if (isinf(d)) {
        if (d < 0) { memcpy(buf, "-Infinity", 9); return 9; }
        memcpy(buf, "Infinity", 8);
        return 8;
    }
    if (fabs(d) < 1e15 && d == (double)(int64_t)d) {
        if (d == 0 && signbit(d)) { memcpy(buf, "-0", 2); return 2; }
        return pq_fmt_i64(buf, (int64_t)d);
    }
    return 0;
}

static size_t special_float(char *buf, float f)
{
    if (isnan(f) || isinf(f)) return special_double(buf, f);
    if (fabsf(f) < 1e7f && f == (float)(int32_t)f) {
        if (f == 0 && signbit(f)) { memcpy(buf, "-0", 2); return 2; }
        return pq_fmt_i64(buf, (int32_t)f);
    }
    return 0;
}

size_t pq_fmt_double_slow(char *buf, double d)
{
    size_t s = special_double(buf, d);
    if (s) return s;
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, 32, "%.*g", prec, d);
        if (prec == 17 || strtod(buf, NULL) == d) break;
    }
    return (size_t)n;
}

size_t pq_fmt_float_slow(char *buf, float f)
{
    size_t s = special_float(buf, f);
    if (s) return s;
    int n = 0;
    for (int prec = 6; prec <= 9; prec++) {
        n = snprintf(buf, 32, "%.*g", prec, (double)f);
        if (prec == 9 || strtof(buf, NULL) == f) break;
    }
    return (size_t)n;
}

size_t pq_fmt_double(char *buf, double d)
{
    size_t s = special_double(buf, d);
    if (s) return s;
    uint64_t bits;
    memcpy(&bits, &d, 8);
    int bexp = (int)((bits >> 52) & 0x7ff);
    if (bexp > 1) {             /* normal, and not next to the subnormals */
        size_t o = 0;
        if (bits >> 63) buf[o++] = '-';
        uint64_t m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
        size_t n = shortest(buf + o, m, bexp - 1075, 53, fabs(d), 15, 17);
        if (n) return o + n;
    }
    return pq_fmt_double_slow(buf, d);
}

size_t pq_fmt_float(char *buf, float f)
{
    size_t s = special_float(buf, f);
    if (s) return s;
    uint32_t bits;
    memcpy(&bits, &f, 4);
    int bexp = (int)((bits >> 23) & 0xff);
    if (bexp > 1) {
        size_t o = 0;
        if (bits >> 31) buf[o++] = '-';
        uint64_t m = (bits & ((1u << 23) - 1)) | (1u << 23);
        size_t n = shortest(buf + o, m, bexp - 150, 24, fabs((double)f), 6, 9);
        if (n) return o + n;
    }
    return pq_fmt_float_slow(buf, f);
}

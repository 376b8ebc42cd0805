/* parquet_float_test.c — the reader's fast float formatting equals the
 * snprintf("%.Pg") + strtod reference byte for byte: hand-picked edge cases
 * (ties, powers of two and ten, the ends of the fast path's range) and
 * millions of random bit patterns and "decimal-looking" values. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "parquet/value.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int same_double(double d, char *why, size_t whylen)
{
    char a[40], b[40];
    size_t na = pq_fmt_double(a, d), nb = pq_fmt_double_slow(b, d);
    if (na == nb && memcmp(a, b, na) == 0) return 1;
    snprintf(why, whylen, "%a: fast %.*s, reference %.*s", d, (int)na, a, (int)nb, b);
    return 0;
}

static int same_float(float f, char *why, size_t whylen)
{
    char a[40], b[40];
    size_t na = pq_fmt_float(a, f), nb = pq_fmt_float_slow(b, f);
    if (na == nb && memcmp(a, b, na) == 0) return 1;
    snprintf(why, whylen, "%a: fast %.*s, reference %.*s", (double)f, (int)na, a, (int)nb, b);
    return 0;
}

static void check_doubles(const char *what, double (*gen)(uint64_t), long n)
{
    char why[200] = "";
    long bad = 0;
    for (long i = 0; i < n; i++) {
        double d = gen(next_u64());
        if (isnan(d)) continue;
        if (!same_double(d, why, sizeof why)) {
            if (bad++ < 3) diag("%s", why);
        }
    }
    ok(bad == 0, "%s: %ld doubles equal the snprintf reference (%ld differ)", what, n, bad);
}

static double gen_bits(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static double gen_moderate(uint64_t u)
{
    /* exponents around 2^-80 .. 2^80: where real data lives */
    uint64_t bits = (u & 0x800fffffffffffffull) | ((uint64_t)(1023 - 80 + (int)((u >> 52) % 161)) << 52);
    return gen_bits(bits);
}
static double gen_ratio(uint64_t u) { return (double)(int64_t)(u % 2000000001 - 1000000000) / (double)((u >> 33) % 100000 + 1); }
static double gen_decimal(uint64_t u)
{
    static const double p10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12 };
    return (double)(int64_t)(u % 100000000000ull) / p10[(u >> 40) % 13];
}

int main(void)
{
    char why[200];
    static const double edge[] = {
        0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 1e15, 1e16, 1e17, 1e21, 1e22, 1e23, 123456789012345678.0,
        9007199254740993.0, 4.35, 0.1 + 0.2, 1e-4, 1e-5, 0.00012345, 1.5e-5, 5e-324, 2.2250738585072014e-308,
        2.2250738585072009e-308, 1.7976931348623157e308, 1.1920928955078125e-07, 9.5367431640625e-07,
        0x1p-1, 0x1p-23, 0x1p-52, 0x1p53, 0x1p60, 0x1p70, 0x1p100, 0x1p-100, 0x1.fffffffffffffp0,
        -0.5, -1e-300, 1e300, 999999999999999.9, 99999999999999.99, 0.142857142857142849, 3.14159,
        5e-5, 9.999999999999999e-5, 1e-4 * (1 + 0x1p-52), 2.5, 1234567.125, 1e15 + 0.5, 1e14 + 0.25,
    };
    long bad = 0;
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        if (!same_double(edge[i], why, sizeof why) && bad++ < 5) diag("%s", why);
        if (!same_double(-edge[i], why, sizeof why) && bad++ < 5) diag("%s", why);
        if (!same_double(nextafter(edge[i], 0), why, sizeof why) && bad++ < 5) diag("%s", why);
        if (!same_double(nextafter(edge[i], INFINITY), why, sizeof why) && bad++ < 5) diag("%s", why);
    }
    for (int e = -1074; e <= 1023; e++) {
        double p = ldexp(1.0, e);
        if (!same_double(p, why, sizeof why) && bad++ < 5) diag("%s", why);
        if (!same_double(nextafter(p, 0), why, sizeof why) && bad++ < 5) diag("%s", why);
    }
    for (int e = -320; e <= 308; e++) {
        double p = pow(10, e);
        if (!same_double(p, why, sizeof why) && bad++ < 5) diag("%s", why);
        if (!same_double(nextafter(p, 0), why, sizeof why) && bad++ < 5) diag("%s", why);
        if (!same_double(nextafter(p, INFINITY), why, sizeof why) && bad++ < 5) diag("%s", why);
    }
    ok(bad == 0, "edge cases, powers of two and of ten (%ld differ)", bad);

    char a[40];
    is_mem(a, pq_fmt_double(a, NAN), "NaN", 3, "NaN");
    is_mem(a, pq_fmt_double(a, -INFINITY), "-Infinity", 9, "-Infinity");
    is_mem(a, pq_fmt_double(a, -0.0), "-0", 2, "-0");
    is_mem(a, pq_fmt_double(a, 1.0 / 7), "0.14285714285714285", 19, "1/7");
    is_mem(a, pq_fmt_double(a, 1e21), "1e+21", 5, "1e21");
    is_mem(a, pq_fmt_double(a, 1.5e-7), "1.5e-07", 7, "1.5e-07");
    is_mem(a, pq_fmt_float(a, 0.1f), "0.1", 3, "0.1f");

    check_doubles("random bit patterns", gen_bits, 300000);
    check_doubles("moderate exponents", gen_moderate, 300000);
    check_doubles("ratios of integers", gen_ratio, 300000);
    check_doubles("decimals", gen_decimal, 300000);

    bad = 0;
    for (long i = 0; i < 300000; i++) {
        uint32_t u = (uint32_t)next_u64();
        float f;
        memcpy(&f, &u, 4);
        if (isnan(f)) continue;
        if (!same_float(f, why, sizeof why) && bad++ < 3) diag("%s", why);
        f = (float)((double)(int32_t)(u % 20000001) / (double)((u >> 20) % 1000 + 1));
        if (!same_float(f, why, sizeof why) && bad++ < 3) diag("%s", why);
    }
    for (int e = -149; e <= 127; e++) {
        float p = ldexpf(1.0f, e);
        if (!same_float(p, why, sizeof why) && bad++ < 3) diag("%s", why);
        if (!same_float(nextafterf(p, 0), why, sizeof why) && bad++ < 3) diag("%s", why);
    }
    ok(bad == 0, "600,000 random floats and the powers of two (%ld differ)", bad);
    return done_testing();
}

/* tap.h — a tiny TAP producer for C unit tests (run by prove).
 *
 *   #include "tap.h"
 *   int main(void) {
 *       ok(1 + 1 == 2, "arithmetic");
 *       is_int(len, 3, "length of %s", name);
 *       is_str(got, "abc", "decoded");
 *       return done_testing();
 *   }
 */
#ifndef LODE_TAP_H
#define LODE_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static __attribute__((unused)) int tap_n, tap_failed, tap_skipped;

static __attribute__((unused)) void tap_vreport(int pass, const char *file, int line, const char *fmt, va_list ap)
{
    tap_n++;
    printf("%s %d - ", pass ? "ok" : "not ok", tap_n);
    vprintf(fmt, ap);
    printf("\n");
    if (!pass) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
}

static __attribute__((unused)) int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vreport(pass, file, line, fmt, ap);
    va_end(ap);
    return pass;
}

static __attribute__((unused)) void tap_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static __attribute__((unused)) void tap_skip(const char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_n++;
    tap_skipped++;
    printf("ok %d - ", tap_n);
    vprintf(fmt, ap);
    printf(" # SKIP %s\n", why);
    va_end(ap);
}

static int done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define diag(...) tap_diag(__VA_ARGS__)
#define skip(why, ...) tap_skip(why, __VA_ARGS__)
#define is_int(got, want, ...)                                                   \
    do {                                                                         \
        long long g_ = (long long)(got), w_ = (long long)(want);                 \
        if (!tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__))                  \
            diag("     got: %lld\n#     expected: %lld", g_, w_);               \
    } while (0)
#define is_str(got, want, ...)                                                   \
    do {                                                                         \
        const char *g_ = (got), *w_ = (want);                                    \
        int p_ = g_ && w_ && strcmp(g_, w_) == 0;                                \
        if (!tap_ok(p_, __FILE__, __LINE__, __VA_ARGS__))                        \
            diag("     got: '%s'\n#     expected: '%s'", g_ ? g_ : "(null)",      \
                 w_ ? w_ : "(null)");                                            \
    } while (0)
#define is_mem(got, got_len, want, want_len, ...)                                \
    do {                                                                         \
        size_t gl_ = (got_len), wl_ = (want_len);                                \
        int p_ = gl_ == wl_ && memcmp((got), (want), gl_) == 0;                  \
        if (!tap_ok(p_, __FILE__, __LINE__, __VA_ARGS__))                        \
            diag("     lengths: got %zu, expected %zu", gl_, wl_);               \
    } while (0)

#endif

/* compress_test.c — lode_compressor output, fed in uneven chunks, decodes
 * with each library's own decoder to exactly the input (empty input too). */
#include <bzlib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "lode/load/compress.h"
#include "tap.h"

typedef struct {
    uint8_t *p;
    size_t n, cap;
} bytes;

static void append(bytes *b, const uint8_t *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 16;
        b->p = realloc(b->p, b->cap);
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}

static int compress_all(int kind, const uint8_t *src, size_t n, bytes *out)
{
    char err[200];
    lode_compressor *z = lode_compressor_new(kind, err, sizeof err);
    if (!z) return -1;
    const uint8_t *o;
    size_t on;
    size_t off = 0, step = 1;
    while (off < n) {
        size_t k = n - off < step ? n - off : step;
        if (lode_compressor_run(z, src + off, k, 0, &o, &on, err, sizeof err) < 0) goto fail;
        append(out, o, on);
        off += k;
        step = step * 7 + 3;        /* 1, 10, 73, … bytes: every boundary shape */
    }
    if (lode_compressor_run(z, NULL, 0, 1, &o, &on, err, sizeof err) < 0) goto fail;
    append(out, o, on);
    int again = lode_compressor_run(z, "x", 1, 0, &o, &on, err, sizeof err);
    lode_compressor_free(z);
    return again == -1 ? 0 : -1;
fail:
    lode_compressor_free(z);
    return -1;
}

static int decode(int kind, const bytes *c, uint8_t *dst, size_t cap, size_t *got)
{
    if (kind == LODE_COMPRESS_GZIP) {
        z_stream s;
        memset(&s, 0, sizeof s);
        if (inflateInit2(&s, 15 + 16) != Z_OK) return -1;
        s.next_in = c->p;
        s.avail_in = (uInt)c->n;
        s.next_out = dst;
        s.avail_out = (uInt)cap;
        int rc = inflate(&s, Z_FINISH);
        *got = cap - s.avail_out;
        inflateEnd(&s);
        return rc == Z_STREAM_END && s.avail_in == 0 ? 0 : -1;
    }
    if (kind == LODE_COMPRESS_BZIP2) {
        unsigned int len = (unsigned int)cap;
        int rc = BZ2_bzBuffToBuffDecompress((char *)dst, &len, (char *)c->p, (unsigned int)c->n, 0, 0);
        *got = len;
        return rc == BZ_OK ? 0 : -1;
    }
    size_t r = ZSTD_decompress(dst, cap, c->p, c->n);
    if (ZSTD_isError(r)) return -1;
    *got = r;
    return 0;
}

int main(void)
{
    size_t n = 3 * 1024 * 1024 + 17;
    uint8_t *src = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        /* half pseudo-random bytes, half text: both incompressible and compressible stretches */
        src[i] = (i / 65536) % 2 ? (uint8_t)(x >> 16) : (uint8_t)("line 1|a\\b\n"[i % 11]);
    }
    static const int kinds[] = { LODE_COMPRESS_GZIP, LODE_COMPRESS_BZIP2, LODE_COMPRESS_ZSTD };
    static const char *const names[] = { "gzip", "bzip2", "zstd" };
    uint8_t *dst = malloc(n + 1);
    for (int k = 0; k < 3; k++) {
        bytes c = { 0 };
        ok(compress_all(kinds[k], src, n, &c) == 0, "%s: compresses in uneven chunks; no call after the end", names[k]);
        size_t got = 0;
        ok(decode(kinds[k], &c, dst, n + 1, &got) == 0 && got == n && memcmp(dst, src, n) == 0,
           "%s: the library's decoder gives back the %zu input bytes", names[k], n);
        free(c.p);
        bytes e = { 0 };
        ok(compress_all(kinds[k], src, 0, &e) == 0 && e.n > 0, "%s: an empty input is a valid empty stream", names[k]);
        ok(decode(kinds[k], &e, dst, 16, &got) == 0 && got == 0, "%s: which decodes to nothing", names[k]);
        free(e.p);
    }
    char err[200];
    ok(lode_compressor_new(99, err, sizeof err) == NULL && strstr(err, "unknown") != NULL, "an unknown kind fails: %s", err);
    free(dst);
    free(src);
    return done_testing();
}

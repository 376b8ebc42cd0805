/* codec_test.c — every codec round-trips through the system compressors,
 * exact-size checks hold, GZIP members concatenate, LZ4's three framings
 * are recognised, and corrupt input fails with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/encode.h>
#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "tap.h"
#include "lode/parquet/codec.h"

#define N 100000

static uint8_t plain[N];
static uint8_t comp[N * 2 + 1024];
static uint8_t out[N + 16];
static char err[256];

static size_t gzip_member(const uint8_t *src, size_t n, uint8_t *dst, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_FINISH);
    size_t len = cap - zs.avail_out;
    deflateEnd(&zs);
    return len;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int roundtrip(int codec, size_t clen, const char *what)
{
    memset(out, 0xAA, sizeof out);
    int rc = lode_codec_decompress(codec, comp, clen, out, N, err, sizeof err);
    int good = rc == 0 && memcmp(out, plain, N) == 0 && out[N] == 0xAA;
    ok(good, "%s round-trips %d bytes%s%s", what, N, rc ? ": " : "", rc ? err : "");
    return good;
}

int main(void)
{
    /* compressible but not trivial */
    uint32_t x = 12345;
    for (size_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        plain[i] = (uint8_t)((i % 97 < 50) ? 'a' + (i % 7) : (x >> 16));
    }

    /* UNCOMPRESSED */
    memcpy(comp, plain, N);
    roundtrip(LODE_CODEC_UNCOMPRESSED, N, "UNCOMPRESSED");
    ok(lode_codec_decompress(LODE_CODEC_UNCOMPRESSED, comp, N - 1, out, N, err, sizeof err) != 0,
       "UNCOMPRESSED size mismatch is an error: %s", err);

    /* SNAPPY */
    size_t slen = sizeof comp;
    snappy_compress((const char *)plain, N, (char *)comp, &slen);
    roundtrip(LODE_CODEC_SNAPPY, slen, "SNAPPY");
    ok(lode_codec_decompress(LODE_CODEC_SNAPPY, comp, slen, out, N - 1, err, sizeof err) != 0
       && strstr(err, "page header says"), "SNAPPY declared size checked: %s", err);
    ok(lode_codec_decompress(LODE_CODEC_SNAPPY, comp, slen / 2, out, N, err, sizeof err) != 0,
       "SNAPPY truncated input fails: %s", err);

    /* GZIP: one member, then two concatenated members */
    size_t g1 = gzip_member(plain, N, comp, sizeof comp);
    roundtrip(LODE_CODEC_GZIP, g1, "GZIP");
    size_t a = gzip_member(plain, N / 3, comp, sizeof comp);
    size_t b = gzip_member(plain + N / 3, N - N / 3, comp + a, sizeof comp - a);
    roundtrip(LODE_CODEC_GZIP, a + b, "GZIP with two concatenated members");
    ok(lode_codec_decompress(LODE_CODEC_GZIP, comp, a + b, out, N - 10, err, sizeof err) != 0,
       "GZIP more output than declared fails: %s", err);
    ok(lode_codec_decompress(LODE_CODEC_GZIP, comp, a + b, out, N + 10, err, sizeof err) != 0,
       "GZIP less output than declared fails: %s", err);
    ok(lode_codec_decompress(LODE_CODEC_GZIP, comp, g1 / 2, out, N, err, sizeof err) != 0,
       "GZIP truncated fails: %s", err);
    comp[0] ^= 0xff;
    ok(lode_codec_decompress(LODE_CODEC_GZIP, comp, g1, out, N, err, sizeof err) != 0,
       "GZIP bad magic fails: %s", err);

    /* ZSTD, including two frames back to back */
    size_t z = ZSTD_compress(comp, sizeof comp, plain, N, 3);
    roundtrip(LODE_CODEC_ZSTD, z, "ZSTD");
    ok(lode_codec_decompress(LODE_CODEC_ZSTD, comp, z, out, N - 1, err, sizeof err) != 0,
       "ZSTD declared size too small fails: %s", err);
    ok(lode_codec_decompress(LODE_CODEC_ZSTD, comp, z, out, N + 1, err, sizeof err) != 0,
       "ZSTD declared size too large fails: %s", err);
    size_t z1 = ZSTD_compress(comp, sizeof comp, plain, 1000, 3);
    size_t z2 = ZSTD_compress(comp + z1, sizeof comp - z1, plain + 1000, N - 1000, 3);
    roundtrip(LODE_CODEC_ZSTD, z1 + z2, "ZSTD with two frames");

    /* BROTLI */
    size_t bl = sizeof comp;
    BrotliEncoderCompress(5, 22, BROTLI_MODE_GENERIC, N, plain, &bl, comp);
    roundtrip(LODE_CODEC_BROTLI, bl, "BROTLI");
    ok(lode_codec_decompress(LODE_CODEC_BROTLI, comp, bl, out, N - 1, err, sizeof err) != 0,
       "BROTLI declared size checked: %s", err);

    /* LZ4_RAW: a bare block */
    int l = LZ4_compress_default((const char *)plain, (char *)comp, N, (int)sizeof comp);
    roundtrip(LODE_CODEC_LZ4_RAW, (size_t)l, "LZ4_RAW");
    ok(lode_codec_decompress(LODE_CODEC_LZ4_RAW, comp, (size_t)l, out, N - 1, err, sizeof err) != 0,
       "LZ4_RAW declared size checked: %s", err);
    /* LZ4 (legacy) given a bare block: the non-Hadoop files */
    roundtrip(LODE_CODEC_LZ4, (size_t)l, "LZ4 as a raw block");

    /* LZ4 Hadoop framing: two blocks, the second in two chunks */
    size_t h = 0;
    put_be32(comp + h, 40000);
    h += 4;
    int c = LZ4_compress_default((const char *)plain, (char *)comp + h + 4, 40000, (int)(sizeof comp - h - 4));
    put_be32(comp + h, (uint32_t)c);
    h += 4 + (size_t)c;
    put_be32(comp + h, N - 40000);
    h += 4;
    c = LZ4_compress_default((const char *)plain + 40000, (char *)comp + h + 4, 30000, (int)(sizeof comp - h - 4));
    put_be32(comp + h, (uint32_t)c);
    h += 4 + (size_t)c;
    c = LZ4_compress_default((const char *)plain + 70000, (char *)comp + h + 4, N - 70000, (int)(sizeof comp - h - 4));
    put_be32(comp + h, (uint32_t)c);
    h += 4 + (size_t)c;
    roundtrip(LODE_CODEC_LZ4, h, "LZ4 with Hadoop framing (multi-block, multi-chunk)");

    /* LZ4 frame format */
    size_t f = LZ4F_compressFrame(comp, sizeof comp, plain, N, NULL);
    roundtrip(LODE_CODEC_LZ4, f, "LZ4 frame format");
    ok(lode_codec_decompress(LODE_CODEC_LZ4, comp, f / 2, out, N, err, sizeof err) != 0,
       "LZ4 truncated frame fails: %s", err);

    /* garbage into every codec fails cleanly */
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37 + 11);
    int codecs[] = { LODE_CODEC_SNAPPY, LODE_CODEC_GZIP, LODE_CODEC_ZSTD, LODE_CODEC_BROTLI,
                     LODE_CODEC_LZ4, LODE_CODEC_LZ4_RAW };
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++)
        ok(lode_codec_decompress(codecs[i], junk, sizeof junk, out, 1000, err, sizeof err) != 0
           && err[0], "%s rejects garbage: %s", lode_codec_name(codecs[i]), err);

    /* empty pages */
    ok(lode_codec_decompress(LODE_CODEC_UNCOMPRESSED, comp, 0, out, 0, err, sizeof err) == 0,
       "empty UNCOMPRESSED page");
    z = ZSTD_compress(comp, sizeof comp, plain, 0, 3);
    ok(lode_codec_decompress(LODE_CODEC_ZSTD, comp, z, out, 0, err, sizeof err) == 0, "empty ZSTD page");
    g1 = gzip_member(plain, 0, comp, sizeof comp);
    ok(lode_codec_decompress(LODE_CODEC_GZIP, comp, g1, out, 0, err, sizeof err) == 0, "empty GZIP page");

    ok(lode_codec_decompress(LODE_CODEC_LZO, comp, 10, out, 10, err, sizeof err) != 0
       && strstr(err, "LZO"), "LZO refused: %s", err);
    ok(lode_codec_decompress(42, comp, 10, out, 10, err, sizeof err) != 0, "unknown codec refused: %s", err);
    is_str(lode_codec_name(6), "ZSTD", "codec names");
    is_str(lode_codec_name(99), "codec 99", "unknown codec name");
    return done_testing();
}

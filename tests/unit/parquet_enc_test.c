/* parquet_enc_test.c — Parquet encodings against hand-built buffers (the
 * format spec's own examples where it has them) and corrupt ones. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "parquet/enc.h"

static char err[256];

/* ---- a tiny DELTA_BINARY_PACKED writer for round trips ------------------ */
static size_t put_uleb(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        p[n++] = b | (v ? 0x80 : 0);
    } while (v);
    return n;
}

static size_t put_zz(uint8_t *p, int64_t v)
{
    return put_uleb(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* block 128, 4 miniblocks of 32 */
static size_t dbp_write(uint8_t *p, const int64_t *v, size_t n)
{
    size_t o = 0;
    o += put_uleb(p + o, 128);
    o += put_uleb(p + o, 4);
    o += put_uleb(p + o, n);
    o += put_zz(p + o, n ? v[0] : 0);
    for (size_t i = 1; i < n;) {
        size_t k = n - i < 128 ? n - i : 128;
        int64_t min = INT64_MAX;
        for (size_t j = 0; j < k; j++) {
            int64_t d = (int64_t)((uint64_t)v[i + j] - (uint64_t)v[i + j - 1]);
            if (d < min) min = d;
        }
        o += put_zz(p + o, min);
        uint8_t *widths = p + o;
        o += 4;
        for (size_t m = 0; m < 4; m++) {
            size_t s = m * 32;
            if (s >= k) {
                widths[m] = 0;
                continue;
            }
            uint64_t maxd = 0;
            for (size_t j = s; j < s + 32 && j < k; j++) {
                uint64_t d = (uint64_t)v[i + j] - (uint64_t)v[i + j - 1] - (uint64_t)min;
                if (d > maxd) maxd = d;
            }
            int w = 0;
            while (w < 64 && (maxd >> w)) w++;
            widths[m] = (uint8_t)w;
            size_t bytes = 32 * (size_t)w / 8;
            memset(p + o, 0, bytes);
            for (size_t j = 0; j < 32 && s + j < k; j++) {
                uint64_t d = (uint64_t)v[i + s + j] - (uint64_t)v[i + s + j - 1] - (uint64_t)min;
                for (int b = 0; b < w; b++)
                    if ((d >> b) & 1) {
                        size_t bit = j * (size_t)w + (size_t)b;
                        p[o + bit / 8] |= (uint8_t)(1u << (bit % 8));
                    }
            }
            o += bytes;
        }
        i += k;
    }
    return o;
}

static void test_rle(void)
{
    /* spec example: 0..7 bit-packed with width 3 */
    const uint8_t bp[] = { 0x03, 0x88, 0xC6, 0xFA };
    uint32_t out[16];
    pq_rle d;
    pq_rle_init(&d, bp, sizeof bp, 3);
    int good = pq_rle_get(&d, out, 8, err, sizeof err) == 0;
    for (uint32_t i = 0; i < 8; i++) good = good && out[i] == i;
    ok(good, "RLE hybrid: spec bit-packed example 0..7 width 3");

    /* RLE run of 5 x 1 then 3 x 0 (width 1), then a bit-packed group */
    const uint8_t mix[] = { 0x0A, 0x01, 0x06, 0x00, 0x03, 0xA5 };
    pq_rle_init(&d, mix, sizeof mix, 1);
    good = pq_rle_get(&d, out, 16, err, sizeof err) == 0;
    const uint32_t want[] = { 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1 };
    ok(good && memcmp(out, want, sizeof want) == 0, "RLE hybrid: runs and a bit-packed group");
    ok(pq_rle_get(&d, out, 1, err, sizeof err) != 0 && strstr(err, "ends"), "RLE hybrid: reading past the end fails: %s", err);

    /* a run value wider than the bit width */
    const uint8_t wide[] = { 0x02, 0x05 };
    pq_rle_init(&d, wide, sizeof wide, 2);
    ok(pq_rle_get(&d, out, 1, err, sizeof err) != 0, "RLE hybrid: value 5 in 2 bits rejected: %s", err);

    /* a truncated varint header */
    const uint8_t trunc[] = { 0x80 };
    pq_rle_init(&d, trunc, sizeof trunc, 1);
    ok(pq_rle_get(&d, out, 1, err, sizeof err) != 0, "RLE hybrid: truncated header rejected: %s", err);

    /* a 32-bit wide RLE run */
    const uint8_t w32[] = { 0x04, 0xff, 0xff, 0xff, 0xff };
    pq_rle_init(&d, w32, sizeof w32, 32);
    ok(pq_rle_get(&d, out, 2, err, sizeof err) == 0 && out[0] == UINT32_MAX && out[1] == UINT32_MAX,
       "RLE hybrid: 32-bit run value");

    /* v1 levels with a length prefix */
    const uint8_t lv[] = { 0x02, 0x00, 0x00, 0x00, 0x08, 0x01, 0xEE };
    size_t used;
    ok(pq_levels_v1_rle(lv, sizeof lv, 1, out, 4, &used, err, sizeof err) == 0 && used == 6
       && out[0] == 1 && out[3] == 1, "v1 RLE levels consume the 4-byte length plus the run");
    const uint8_t lvbad[] = { 0xff, 0x00, 0x00, 0x00, 0x08, 0x01 };
    ok(pq_levels_v1_rle(lvbad, sizeof lvbad, 1, out, 4, &used, err, sizeof err) != 0,
       "v1 RLE levels: length past the end rejected: %s", err);

    /* deprecated BIT_PACKED levels: spec example */
    const uint8_t bpl[] = { 0x05, 0x39, 0x77 };
    good = pq_levels_bit_packed(bpl, sizeof bpl, 3, out, 8, &used, err, sizeof err) == 0 && used == 3;
    for (uint32_t i = 0; i < 8; i++) good = good && out[i] == i;
    ok(good, "BIT_PACKED levels: spec example 0..7 width 3");
    ok(pq_levels_bit_packed(bpl, 2, 3, out, 8, &used, err, sizeof err) != 0, "BIT_PACKED levels: short input rejected");

    /* dictionary indices */
    const uint8_t di[] = { 0x02, 0x03, 0x1B };
    ok(pq_dict_indices(di, sizeof di, 4, out, err, sizeof err) == 0 && out[0] == 3 && out[1] == 2
       && out[2] == 1 && out[3] == 0, "dictionary indices with bit width 2");
    const uint8_t dibad[] = { 0x21, 0x02, 0x00 };
    ok(pq_dict_indices(dibad, sizeof dibad, 1, out, err, sizeof err) != 0, "dictionary bit width 33 rejected: %s", err);
    const uint8_t dizero[] = { 0x00, 0x08 };
    ok(pq_dict_indices(dizero, sizeof dizero, 4, out, err, sizeof err) == 0 && out[0] == 0 && out[3] == 0,
       "zero-width dictionary indices are all 0");
    ok(pq_dict_indices(di, 0, 1, out, err, sizeof err) != 0, "dictionary indices without a width byte rejected");
}

static void test_plain(void)
{
    const uint8_t bits[] = { 0x05, 0x01 };
    uint8_t b[9];
    ok(pq_plain_bool(bits, 2, 9, b, err, sizeof err) == 0 && b[0] == 1 && b[1] == 0 && b[2] == 1 && b[8] == 1,
       "PLAIN booleans, least significant bit first");
    ok(pq_plain_bool(bits, 1, 9, b, err, sizeof err) != 0, "PLAIN booleans: short input rejected");

    int32_t ints[3] = { 1, -2, 3 }, got[3];
    ok(pq_plain_fixed((uint8_t *)ints, 12, 4, 3, (uint8_t *)got, err, sizeof err) == 0 && got[1] == -2, "PLAIN INT32");
    ok(pq_plain_fixed((uint8_t *)ints, 11, 4, 3, (uint8_t *)got, err, sizeof err) != 0, "PLAIN INT32: short input rejected: %s", err);

    const uint8_t ba[] = { 2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0, 3, 0, 0, 0, 'a', 'b', 'c' };
    pq_bytes v[3];
    size_t used;
    ok(pq_plain_bytes(ba, sizeof ba, 3, v, &used, err, sizeof err) == 0 && used == sizeof ba
       && v[0].len == 2 && !memcmp(v[0].ptr, "hi", 2) && v[1].len == 0 && v[2].len == 3 && !memcmp(v[2].ptr, "abc", 3),
       "PLAIN BYTE_ARRAY incl. an empty value");
    ok(pq_plain_bytes(ba, sizeof ba - 1, 3, v, &used, err, sizeof err) != 0, "PLAIN BYTE_ARRAY: value past the end rejected: %s", err);
    const uint8_t huge[] = { 0xff, 0xff, 0xff, 0x7f, 'x' };
    ok(pq_plain_bytes(huge, sizeof huge, 1, v, &used, err, sizeof err) != 0, "PLAIN BYTE_ARRAY: huge length rejected: %s", err);
    ok(pq_plain_bytes(ba, 3, 1, v, &used, err, sizeof err) != 0, "PLAIN BYTE_ARRAY: cut length prefix rejected");

    const uint8_t rb[] = { 0x02, 0, 0, 0, 0x10, 0x01 };
    ok(pq_rle_bool(rb, sizeof rb, 8, b, err, sizeof err) == 0 && b[0] == 1 && b[7] == 1, "RLE booleans");
}

static void test_delta(void)
{
    /* spec example 1: 1 2 3 4 5 */
    const uint8_t ex1[] = { 0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00 };
    int64_t out[2000];
    size_t used;
    int good = pq_delta_binary_packed(ex1, sizeof ex1, 5, out, &used, err, sizeof err) == 0;
    for (int i = 0; i < 5; i++) good = good && out[i] == i + 1;
    ok(good && used == sizeof ex1, "DELTA_BINARY_PACKED: spec example 1..5 (consumed %zu)", used);

    /* spec example 2: 7 5 3 1 2 3 4 5: min delta -2, deltas 0 0 0 3 3 3 3 width 2 */
    int64_t ex2v[] = { 7, 5, 3, 1, 2, 3, 4, 5 };
    uint8_t buf[65536];
    size_t n = dbp_write(buf, ex2v, 8);
    good = pq_delta_binary_packed(buf, n, 8, out, &used, err, sizeof err) == 0 && used == n;
    for (int i = 0; i < 8; i++) good = good && out[i] == ex2v[i];
    ok(good, "DELTA_BINARY_PACKED: spec example 2 with negative min delta");

    /* many values across blocks, with extremes (wrapping deltas, width 64) */
    static int64_t vals[1000];
    uint32_t x = 7;
    for (int i = 0; i < 1000; i++) {
        x = x * 1664525u + 1013904223u;
        vals[i] = i % 100 == 0 ? (i % 200 == 0 ? INT64_MIN : INT64_MAX) : (int64_t)(x % 100000) - 50000;
    }
    n = dbp_write(buf, vals, 1000);
    good = pq_delta_binary_packed(buf, n, 1000, out, &used, err, sizeof err) == 0 && used == n;
    for (int i = 0; i < 1000; i++) good = good && out[i] == vals[i];
    ok(good, "DELTA_BINARY_PACKED: 1000 values incl. INT64 extremes round-trip (%s)", good ? "ok" : err);
    ok(pq_delta_binary_packed(buf, n, 1001, out, &used, err, sizeof err) != 0, "DELTA_BINARY_PACKED: more values than the header holds rejected: %s", err);
    ok(pq_delta_binary_packed(buf, n / 2, 1000, out, &used, err, sizeof err) != 0, "DELTA_BINARY_PACKED: truncated rejected: %s", err);
    const uint8_t badblock[] = { 0x64, 0x04, 0x05, 0x02 };
    ok(pq_delta_binary_packed(badblock, sizeof badblock, 5, out, &used, err, sizeof err) != 0, "DELTA_BINARY_PACKED: block size 100 rejected: %s", err);
    const uint8_t badwidth[] = { 0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x41, 0x00, 0x00, 0x00 };
    ok(pq_delta_binary_packed(badwidth, sizeof badwidth, 5, out, &used, err, sizeof err) != 0, "DELTA_BINARY_PACKED: width 65 rejected: %s", err);
    const uint8_t one[] = { 0x80, 0x01, 0x04, 0x01, 0x0B };
    ok(pq_delta_binary_packed(one, sizeof one, 1, out, &used, err, sizeof err) == 0 && out[0] == -6 && used == 5,
       "DELTA_BINARY_PACKED: a single value is the header alone");

    /* DELTA_LENGTH_BYTE_ARRAY: "Hello", "World", "Foobar", "ABCDEF" */
    int64_t lens[] = { 5, 5, 6, 6 };
    n = dbp_write(buf, lens, 4);
    memcpy(buf + n, "HelloWorldFoobarABCDEF", 22);
    pq_bytes v[8];
    good = pq_delta_length_bytes(buf, n + 22, 4, v, &used, err, sizeof err) == 0 && used == n + 22
        && v[2].len == 6 && !memcmp(v[2].ptr, "Foobar", 6) && !memcmp(v[3].ptr, "ABCDEF", 6);
    ok(good, "DELTA_LENGTH_BYTE_ARRAY: spec example");
    ok(pq_delta_length_bytes(buf, n + 21, 4, v, &used, err, sizeof err) != 0, "DELTA_LENGTH_BYTE_ARRAY: short data rejected: %s", err);
    ok(pq_delta_length_bytes(buf, n + 22, 3, v, &used, err, sizeof err) != 0, "DELTA_LENGTH_BYTE_ARRAY: count mismatch rejected: %s", err);
    int64_t neg[] = { 5, -1 };
    n = dbp_write(buf, neg, 2);
    memcpy(buf + n, "Hello", 5);
    ok(pq_delta_length_bytes(buf, n + 5, 2, v, &used, err, sizeof err) != 0, "DELTA_LENGTH_BYTE_ARRAY: negative length rejected: %s", err);

    /* DELTA_BYTE_ARRAY: axis, axle, babble, babyhood */
    int64_t pre[] = { 0, 2, 0, 3 }, suf[] = { 4, 2, 6, 5 };
    n = dbp_write(buf, pre, 4);
    n += dbp_write(buf + n, suf, 4);
    memcpy(buf + n, "axislebabbleyhood", 17);
    pq_buf arena = { 0 };
    good = pq_delta_bytes(buf, n + 17, 4, v, &arena, err, sizeof err) == 0
        && v[1].len == 4 && !memcmp(v[1].ptr, "axle", 4) && v[3].len == 8 && !memcmp(v[3].ptr, "babyhood", 8);
    ok(good, "DELTA_BYTE_ARRAY: spec example (%s)", good ? "ok" : err);
    int64_t badpre[] = { 1, 2, 0, 3 };
    n = dbp_write(buf, badpre, 4);
    n += dbp_write(buf + n, suf, 4);
    memcpy(buf + n, "axislebabbleyhood", 17);
    arena.len = 0;
    ok(pq_delta_bytes(buf, n + 17, 4, v, &arena, err, sizeof err) != 0, "DELTA_BYTE_ARRAY: prefix longer than the previous value rejected: %s", err);
    pq_buf_free(&arena);
}

static void test_bss(void)
{
    /* two floats 1.0f (0x3f800000) and -2.0f (0xc0000000) */
    const uint8_t s[] = { 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x3f, 0xc0 };
    float f[2];
    ok(pq_byte_stream_split(s, 8, 4, 2, (uint8_t *)f, err, sizeof err) == 0 && f[0] == 1.0f && f[1] == -2.0f,
       "BYTE_STREAM_SPLIT: FLOAT");
    double d[3] = { 1.5, -3.25, 1e300 }, got[3];
    uint8_t enc[24];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 8; k++) enc[k * 3 + i] = ((uint8_t *)&d[i])[k];
    ok(pq_byte_stream_split(enc, 24, 8, 3, (uint8_t *)got, err, sizeof err) == 0 && got[2] == 1e300 && got[1] == -3.25,
       "BYTE_STREAM_SPLIT: DOUBLE");
    const uint8_t w3[] = { 1, 4, 2, 5, 3, 6 };
    uint8_t o3[6];
    ok(pq_byte_stream_split(w3, 6, 3, 2, o3, err, sizeof err) == 0 && !memcmp(o3, "\1\2\3\4\5\6", 6),
       "BYTE_STREAM_SPLIT: 3-byte FIXED_LEN_BYTE_ARRAY");
    ok(pq_byte_stream_split(s, 7, 4, 1, (uint8_t *)f, err, sizeof err) != 0, "BYTE_STREAM_SPLIT: ragged size rejected: %s", err);
    ok(pq_byte_stream_split(s, 8, 4, 3, (uint8_t *)f, err, sizeof err) != 0, "BYTE_STREAM_SPLIT: too many values rejected: %s", err);
}

int main(void)
{
    test_rle();
    test_plain();
    test_delta();
    test_bss();
    is_int(pq_bit_width(0), 0, "bit width of 0");
    is_int(pq_bit_width(1), 1, "bit width of 1");
    is_int(pq_bit_width(255), 8, "bit width of 255");
    is_str(pq_encoding_name(7), "DELTA_BYTE_ARRAY", "encoding names");
    return done_testing();
}

/* parquet/enc.c — Parquet encodings: PLAIN, RLE / bit-packed hybrid,
 * dictionary indices, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
 * DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT.
 * Owns: nothing but short-lived scratch arrays freed before returning; every
 * length read from the data is checked against the bytes left. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enc.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Parquet decoder assumes a little-endian host"
#endif

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int pq_buf_grow(pq_buf *b, size_t more)
{
    if (more <= b->cap - b->len) return 0;
    if (more > SIZE_MAX / 2 - b->len) return -1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

void pq_buf_free(pq_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

const char *pq_encoding_name(int enc)
{
    switch (enc) {
    case PQ_ENC_PLAIN: return "PLAIN";
    case PQ_ENC_PLAIN_DICTIONARY: return "PLAIN_DICTIONARY";
    case PQ_ENC_RLE: return "RLE";
    case PQ_ENC_BIT_PACKED: return "BIT_PACKED";
    case PQ_ENC_DELTA_BINARY_PACKED: return "DELTA_BINARY_PACKED";
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: return "DELTA_LENGTH_BYTE_ARRAY";
    case PQ_ENC_DELTA_BYTE_ARRAY: return "DELTA_BYTE_ARRAY";
    case PQ_ENC_RLE_DICTIONARY: return "RLE_DICTIONARY";
    case PQ_ENC_BYTE_STREAM_SPLIT: return "BYTE_STREAM_SPLIT";
    default: return "unknown encoding";
    }
}

int pq_bit_width(uint32_t max)
{
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

/* Unsigned LEB128 of at most 64 bits; returns bytes used or 0 on error. */
static size_t uleb(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 10 && p + i < end; i++) {
        uint8_t b = p[i];
        if (i == 9 && b > 1) return 0;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

/* Little-endian load of up to 8 bytes at base[byte..], zeros past nbytes. */
static inline uint64_t load64(const uint8_t *base, size_t nbytes, size_t byte)
{
    uint64_t v = 0;
    if (byte + 8 <= nbytes) {
        memcpy(&v, base + byte, 8);
    } else {
        for (size_t k = 0; byte + k < nbytes && k < 8; k++)
            v |= (uint64_t)base[byte + k] << (8 * k);
    }
    return v;
}

/* `width` bits (0..64) at bit offset `bit`, least significant bit first. */
static inline uint64_t unpack_bits(const uint8_t *base, size_t nbytes, uint64_t bit, int width)
{
    if (width == 0) return 0;
    size_t byte = (size_t)(bit >> 3);
    int shift = (int)(bit & 7);
    uint64_t v = load64(base, nbytes, byte) >> shift;
    if (shift + width > 64)
        v |= load64(base, nbytes, byte + 8) << (64 - shift);
    return width == 64 ? v : v & ((UINT64_C(1) << width) - 1);
}

/* ---- RLE / bit-packed hybrid ------------------------------------------ */

void pq_rle_init(pq_rle *d, const uint8_t *p, size_t n, int width)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    d->end = p + n;
    d->width = width;
}

/* Start the next run. */
static int rle_next_run(pq_rle *d, char *err, size_t errlen)
{
    uint64_t h;
    size_t used = uleb(d->p, d->end, &h);
    if (!used) FAIL("RLE: run header runs past the end of the data");
    d->p += used;
    if (h & 1) {
        uint64_t groups = h >> 1;
        size_t avail = (size_t)(d->end - d->p);
        uint64_t bytes = groups * (uint64_t)d->width;
        if (groups > UINT32_MAX / 8) FAIL("RLE: bit-packed run of %llu groups is too long", (unsigned long long)groups);
        uint64_t values = groups * 8;
        if (bytes > avail) {
            /* a truncated final run: keep only the whole values present */
            if (d->width == 0) FAIL("RLE: corrupt run");
            values = (uint64_t)avail * 8 / (uint64_t)d->width;
            bytes = avail;
        }
        d->packed = d->p;
        d->packed_bit = 0;
        d->packed_left = (uint32_t)values;
        d->p += bytes;
        d->rle_left = 0;
    } else {
        uint64_t run = h >> 1;
        if (run > UINT32_MAX) FAIL("RLE: run of %llu values is too long", (unsigned long long)run);
        size_t vbytes = ((size_t)d->width + 7) / 8;
        if ((size_t)(d->end - d->p) < vbytes) FAIL("RLE: run value runs past the end of the data");
        uint32_t v = 0;
        for (size_t i = 0; i < vbytes; i++) v |= (uint32_t)d->p[i] << (8 * i);
        if (d->width < 32 && (v >> d->width) != 0)
            FAIL("RLE: run value %u does not fit in %d bits", v, d->width);
        d->p += vbytes;
        d->rle_value = v;
        d->rle_left = (uint32_t)run;
        d->packed_left = 0;
    }
    return 0;
}

int pq_rle_get(pq_rle *d, uint32_t *out, size_t count, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < count) {
        if (d->rle_left) {
            size_t k = d->rle_left < count - i ? d->rle_left : count - i;
            uint32_t v = d->rle_value;
            for (size_t j = 0; j < k; j++) out[i + j] = v;
            i += k;
            d->rle_left -= (uint32_t)k;
        } else if (d->packed_left) {
            size_t k = d->packed_left < count - i ? d->packed_left : count - i;
            size_t nbytes = (size_t)(d->p - d->packed);
            int w = d->width;
            uint64_t bit = d->packed_bit;
            if (w == 1) {
                for (size_t j = 0; j < k; j++, bit++)
                    out[i + j] = (d->packed[bit >> 3] >> (bit & 7)) & 1;
            } else {
                for (size_t j = 0; j < k; j++, bit += (uint64_t)w)
                    out[i + j] = (uint32_t)unpack_bits(d->packed, nbytes, bit, w);
            }
            d->packed_bit = bit;
            i += k;
            d->packed_left -= (uint32_t)k;
        } else {
            if (d->p >= d->end)
                FAIL("RLE: data ends after %zu of %zu values", i, count);
            if (rle_next_run(d, err, errlen) != 0) return -1;
        }
    }
    return 0;
}

int pq_levels_v1_rle(const uint8_t *p, size_t n, int width, uint32_t *out, size_t count,
                     size_t *consumed, char *err, size_t errlen)
{
    if (n < 4) FAIL("levels: %zu bytes left, need a 4-byte length", n);
    uint32_t len;
    memcpy(&len, p, 4);
    if (len > n - 4) FAIL("levels: length %u is more than the %zu bytes left", len, n - 4);
    pq_rle d;
    pq_rle_init(&d, p + 4, len, width);
    if (pq_rle_get(&d, out, count, err, errlen) != 0) return -1;
    *consumed = 4 + (size_t)len;
    return 0;
}

int pq_levels_bit_packed(const uint8_t *p, size_t n, int width, uint32_t *out, size_t count,
                         size_t *consumed, char *err, size_t errlen)
{
    uint64_t bits = (uint64_t)count * (uint64_t)width;
    size_t bytes = (size_t)((bits + 7) / 8);
    if (bytes > n) FAIL("BIT_PACKED levels: need %zu bytes, %zu left", bytes, n);
    /* most significant bit first */
    for (size_t i = 0; i < count; i++) {
        uint32_t v = 0;
        uint64_t b = (uint64_t)i * (uint64_t)width;
        for (int k = 0; k < width; k++, b++)
            v = v << 1 | ((p[b >> 3] >> (7 - (b & 7))) & 1);
        out[i] = v;
    }
    *consumed = bytes;
    return 0;
}

/* ---- PLAIN --------------------------------------------------------------- */

int pq_plain_bool(const uint8_t *p, size_t n, size_t count, uint8_t *out, char *err, size_t errlen)
{
    if ((count + 7) / 8 > n) FAIL("PLAIN BOOLEAN: %zu values need %zu bytes, %zu left", count, (count + 7) / 8, n);
    for (size_t i = 0; i < count; i++) out[i] = (p[i >> 3] >> (i & 7)) & 1;
    return 0;
}

int pq_plain_fixed(const uint8_t *p, size_t n, size_t width, size_t count, uint8_t *out,
                   char *err, size_t errlen)
{
    if (width == 0 || count > n / width)
        FAIL("PLAIN: %zu values of %zu bytes do not fit in the %zu bytes left", count, width, n);
    memcpy(out, p, count * width);
    return 0;
}

int pq_plain_bytes(const uint8_t *p, size_t n, size_t count, pq_bytes *out, size_t *consumed,
                   char *err, size_t errlen)
{
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
        if (n - off < 4) FAIL("PLAIN BYTE_ARRAY: value %zu: length runs past the end of the data", i);
        uint32_t len;
        memcpy(&len, p + off, 4);
        off += 4;
        if (len > n - off) FAIL("PLAIN BYTE_ARRAY: value %zu: length %u is more than the %zu bytes left", i, len, n - off);
        out[i].ptr = p + off;
        out[i].len = len;
        off += len;
    }
    if (consumed) *consumed = off;
    return 0;
}

int pq_dict_indices(const uint8_t *p, size_t n, size_t count, uint32_t *out, char *err, size_t errlen)
{
    if (count == 0) return 0;
    if (n < 1) FAIL("dictionary indices: missing bit width byte");
    if (p[0] > 32) FAIL("dictionary indices: bit width %u is more than 32", p[0]);
    pq_rle d;
    pq_rle_init(&d, p + 1, n - 1, p[0]);
    return pq_rle_get(&d, out, count, err, errlen);
}

int pq_rle_bool(const uint8_t *p, size_t n, size_t count, uint8_t *out, char *err, size_t errlen)
{
    if (n < 4) FAIL("RLE BOOLEAN: %zu bytes left, need a 4-byte length", n);
    uint32_t len;
    memcpy(&len, p, 4);
    if (len > n - 4) FAIL("RLE BOOLEAN: length %u is more than the %zu bytes left", len, n - 4);
    pq_rle d;
    pq_rle_init(&d, p + 4, len, 1);
    uint32_t tmp[256];
    for (size_t i = 0; i < count;) {
        size_t k = count - i < 256 ? count - i : 256;
        if (pq_rle_get(&d, tmp, k, err, errlen) != 0) return -1;
        for (size_t j = 0; j < k; j++) out[i + j] = (uint8_t)tmp[j];
        i += k;
    }
    return 0;
}

/* ---- DELTA_BINARY_PACKED -------------------------------------------------- */

typedef struct {
    uint64_t block_size, miniblocks, total;
    int64_t first;
    size_t header_len;
} dbp_header;

static int dbp_read_header(const uint8_t *p, const uint8_t *end, dbp_header *h, char *err, size_t errlen)
{
    const uint8_t *q = p;
    size_t u;
    uint64_t zz;
    if (!(u = uleb(q, end, &h->block_size))) FAIL("DELTA_BINARY_PACKED: truncated header");
    q += u;
    if (!(u = uleb(q, end, &h->miniblocks))) FAIL("DELTA_BINARY_PACKED: truncated header");
    q += u;
    if (!(u = uleb(q, end, &h->total))) FAIL("DELTA_BINARY_PACKED: truncated header");
    q += u;
    if (!(u = uleb(q, end, &zz))) FAIL("DELTA_BINARY_PACKED: truncated header");
    q += u;
    h->first = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
    if (h->block_size == 0 || h->block_size % 128 != 0 || h->block_size > (1u << 20))
        FAIL("DELTA_BINARY_PACKED: block size %llu is not a multiple of 128", (unsigned long long)h->block_size);
    if (h->miniblocks == 0 || h->block_size % h->miniblocks != 0 || (h->block_size / h->miniblocks) % 32 != 0)
        FAIL("DELTA_BINARY_PACKED: %llu miniblocks do not divide block size %llu into multiples of 32",
             (unsigned long long)h->miniblocks, (unsigned long long)h->block_size);
    h->header_len = (size_t)(q - p);
    return 0;
}

/* Decode exactly `count` values (count <= the header's total). */
static int dbp_decode(const uint8_t *p, size_t n, size_t count, int64_t *out, size_t *consumed,
                      uint64_t *total_out, char *err, size_t errlen)
{
    const uint8_t *end = p + n;
    dbp_header h;
    if (dbp_read_header(p, end, &h, err, errlen) != 0) return -1;
    if (total_out) *total_out = h.total;
    if (count > h.total)
        FAIL("DELTA_BINARY_PACKED: %zu values wanted, the header holds %llu", count, (unsigned long long)h.total);
    const uint8_t *q = p + h.header_len;
    size_t per_mini = (size_t)(h.block_size / h.miniblocks);
    size_t i = 0;
    uint64_t prev = (uint64_t)h.first;
    if (count > 0) out[i++] = h.first;
    while (i < count) {
        uint64_t zz;
        size_t u = uleb(q, end, &zz);
        if (!u) FAIL("DELTA_BINARY_PACKED: block header runs past the end of the data (value %zu)", i);
        q += u;
        uint64_t min_delta = (zz >> 1) ^ -(zz & 1);
        if ((size_t)(end - q) < h.miniblocks)
            FAIL("DELTA_BINARY_PACKED: miniblock widths run past the end of the data");
        const uint8_t *widths = q;
        q += h.miniblocks;
        for (size_t m = 0; m < h.miniblocks && i < count; m++) {
            int w = widths[m];
            if (w > 64) FAIL("DELTA_BINARY_PACKED: miniblock bit width %d is more than 64", w);
            size_t bytes = per_mini * (size_t)w / 8;
            if ((size_t)(end - q) < bytes) {
                /* the last miniblock may be cut to the bytes its values need */
                size_t left = count - i < per_mini ? count - i : per_mini;
                size_t need = (left * (size_t)w + 7) / 8;
                if ((size_t)(end - q) < need)
                    FAIL("DELTA_BINARY_PACKED: miniblock of %zu bytes runs past the end of the data", bytes);
                bytes = (size_t)(end - q);
            }
            size_t k = count - i < per_mini ? count - i : per_mini;
            for (size_t j = 0; j < k; j++) {
                prev += min_delta + unpack_bits(q, bytes, (uint64_t)j * (uint64_t)w, w);
                out[i++] = (int64_t)prev;
            }
            q += bytes;
        }
    }
    if (consumed) *consumed = (size_t)(q - p);
    return 0;
}

int pq_delta_binary_packed(const uint8_t *p, size_t n, size_t count, int64_t *out,
                           size_t *consumed, char *err, size_t errlen)
{
    return dbp_decode(p, n, count, out, consumed, NULL, err, errlen);
}

/* Lengths decoded as DELTA_BINARY_PACKED whose count must be exactly `count`. */
static int dbp_lengths(const uint8_t *p, size_t n, size_t count, int64_t **lens, size_t *consumed,
                       const char *what, char *err, size_t errlen)
{
    dbp_header h;
    if (dbp_read_header(p, p + n, &h, err, errlen) != 0) return -1;
    if (h.total != count)
        FAIL("%s: %llu lengths encoded, the page holds %zu values", what, (unsigned long long)h.total, count);
    *lens = malloc((count ? count : 1) * sizeof **lens);
    if (!*lens) FAIL("%s: out of memory for %zu lengths", what, count);
    if (dbp_decode(p, n, count, *lens, consumed, NULL, err, errlen) != 0) {
        free(*lens);
        *lens = NULL;
        return -1;
    }
    return 0;
}

int pq_delta_length_bytes(const uint8_t *p, size_t n, size_t count, pq_bytes *out,
                          size_t *consumed, char *err, size_t errlen)
{
    int64_t *lens;
    size_t off;
    if (dbp_lengths(p, n, count, &lens, &off, "DELTA_LENGTH_BYTE_ARRAY", err, errlen) != 0) return -1;
    for (size_t i = 0; i < count; i++) {
        if (lens[i] < 0 || (uint64_t)lens[i] > n - off || lens[i] > UINT32_MAX) {
            snprintf(err, errlen, "DELTA_LENGTH_BYTE_ARRAY: value %zu: length %lld is more than the %zu bytes left",
                     i, (long long)lens[i], n - off);
            free(lens);
            return -1;
        }
        out[i].ptr = p + off;
        out[i].len = (uint32_t)lens[i];
        off += (size_t)lens[i];
    }
    free(lens);
    if (consumed) *consumed = off;
    return 0;
}

int pq_delta_bytes(const uint8_t *p, size_t n, size_t count, pq_bytes *out, pq_buf *arena,
                   char *err, size_t errlen)
{
    int64_t *prefix = NULL;
    size_t off;
    int rc = -1;
    if (dbp_lengths(p, n, count, &prefix, &off, "DELTA_BYTE_ARRAY prefixes", err, errlen) != 0) return -1;
    /* suffixes: a DELTA_LENGTH_BYTE_ARRAY section; out[] holds them for now */
    if (pq_delta_length_bytes(p + off, n - off, count, out, NULL, err, errlen) != 0) goto done;
    uint64_t total = 0, prev_len = 0;
    for (size_t i = 0; i < count; i++) {
        if (prefix[i] < 0 || (uint64_t)prefix[i] > prev_len) {
            snprintf(err, errlen, "DELTA_BYTE_ARRAY: value %zu: prefix length %lld is longer than the previous value (%llu bytes)",
                     i, (long long)prefix[i], (unsigned long long)prev_len);
            goto done;
        }
        prev_len = (uint64_t)prefix[i] + out[i].len;
        if (prev_len > UINT32_MAX) {
            snprintf(err, errlen, "DELTA_BYTE_ARRAY: value %zu is longer than 4 GiB", i);
            goto done;
        }
        total += prev_len;
    }
    if (total > (uint64_t)1 << 40 || pq_buf_reserve(arena, (size_t)total) != 0) {
        snprintf(err, errlen, "DELTA_BYTE_ARRAY: cannot allocate %llu bytes for the values", (unsigned long long)total);
        goto done;
    }
    const uint8_t *prev = NULL;
    for (size_t i = 0; i < count; i++) {
        uint8_t *dst = arena->data + arena->len;
        size_t pl = (size_t)prefix[i];
        if (pl) memcpy(dst, prev, pl);
        if (out[i].len) memcpy(dst + pl, out[i].ptr, out[i].len);
        out[i].ptr = dst;
        out[i].len = (uint32_t)(pl + out[i].len);
        arena->len += out[i].len;
        prev = dst;
    }
    rc = 0;
done:
    free(prefix);
    return rc;
}

/* ---- BYTE_STREAM_SPLIT ----------------------------------------------------- */

int pq_byte_stream_split(const uint8_t *p, size_t n, size_t width, size_t count, uint8_t *out,
                         char *err, size_t errlen)
{
    if (width == 0) FAIL("BYTE_STREAM_SPLIT: zero value width");
    if (n % width != 0) FAIL("BYTE_STREAM_SPLIT: %zu bytes is not a multiple of the %zu-byte value width", n, width);
    size_t stride = n / width;          /* values encoded in the page */
    if (count > stride) FAIL("BYTE_STREAM_SPLIT: %zu values wanted, the page holds %zu", count, stride);
    if (width == 4) {
        for (size_t i = 0; i < count; i++) {
            out[4 * i] = p[i];
            out[4 * i + 1] = p[stride + i];
            out[4 * i + 2] = p[2 * stride + i];
            out[4 * i + 3] = p[3 * stride + i];
        }
        return 0;
    }
    for (size_t k = 0; k < width; k++) {
        const uint8_t *s = p + k * stride;
        for (size_t i = 0; i < count; i++) out[i * width + k] = s[i];
    }
    return 0;
}

/* parquet/enc.h — Parquet value and level encodings, decoded from a byte
 * range into caller-provided arrays. Private to the reader (runtime/).
 *
 * Every decoder takes (p, n) = the bytes it may read and a count of values
 * wanted; it never reads past p + n, and returns 0 or -1 with a message in
 * err. Byte-array results point into the input (or into an arena the caller
 * owns), so the input must outlive them. */
#ifndef LODE_PARQUET_ENC_H
#define LODE_PARQUET_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "lode/parquet/read.h"

/* Parquet Encoding values. */
enum {
    PQ_ENC_PLAIN = 0,
    PQ_ENC_PLAIN_DICTIONARY = 2,
    PQ_ENC_RLE = 3,
    PQ_ENC_BIT_PACKED = 4,
    PQ_ENC_DELTA_BINARY_PACKED = 5,
    PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_ENC_DELTA_BYTE_ARRAY = 7,
    PQ_ENC_RLE_DICTIONARY = 8,
    PQ_ENC_BYTE_STREAM_SPLIT = 9,
};

/* One BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY value. */
typedef struct {
    const uint8_t *ptr;
    uint32_t len;
} pq_bytes;

/* A growable byte buffer (arena for rebuilt strings, scratch, output). */
typedef lode_pqr_buf pq_buf;

/* Make room for `more` bytes after len; returns 0 or -1 (out of memory). */
int pq_buf_grow(pq_buf *b, size_t more);
static inline int pq_buf_reserve(pq_buf *b, size_t more)
{
    return more <= b->cap - b->len ? 0 : pq_buf_grow(b, more);
}
void pq_buf_free(pq_buf *b);

/* Encoding name for messages ("DELTA_BYTE_ARRAY"). */
const char *pq_encoding_name(int enc);

/* Streaming RLE / bit-packed hybrid decoder (levels, booleans, dictionary
 * indices). */
typedef struct {
    const uint8_t *p, *end;
    int width;               /* bits per value, 0..32 */
    uint32_t rle_left;       /* values left in the current RLE run */
    uint32_t rle_value;
    uint32_t packed_left;    /* values left in the current bit-packed run */
    const uint8_t *packed;   /* start of the current bit-packed run */
    uint64_t packed_bit;     /* next bit offset inside it */
} pq_rle;

void pq_rle_init(pq_rle *d, const uint8_t *p, size_t n, int width);
/* Decode exactly `count` values into out. */
int pq_rle_get(pq_rle *d, uint32_t *out, size_t count, char *err, size_t errlen);

/* Levels of a v1 page with encoding RLE: a 4-byte little-endian length,
 * then the hybrid run. *consumed = bytes used including the prefix. */
int pq_levels_v1_rle(const uint8_t *p, size_t n, int width, uint32_t *out, size_t count,
                     size_t *consumed, char *err, size_t errlen);
/* Levels with the deprecated BIT_PACKED encoding (MSB first, no prefix). */
int pq_levels_bit_packed(const uint8_t *p, size_t n, int width, uint32_t *out, size_t count,
                         size_t *consumed, char *err, size_t errlen);

/* PLAIN booleans: bit-packed, least significant bit first; out[i] = 0/1. */
int pq_plain_bool(const uint8_t *p, size_t n, size_t count, uint8_t *out, char *err, size_t errlen);
/* PLAIN fixed-width values (INT32/INT64/INT96/FLOAT/DOUBLE/FLBA): copied. */
int pq_plain_fixed(const uint8_t *p, size_t n, size_t width, size_t count, uint8_t *out,
                   char *err, size_t errlen);
/* PLAIN BYTE_ARRAY: 4-byte length + bytes, `count` times. *consumed may be NULL. */
int pq_plain_bytes(const uint8_t *p, size_t n, size_t count, pq_bytes *out, size_t *consumed,
                   char *err, size_t errlen);
/* Dictionary indices: one byte of bit width, then the hybrid run. */
int pq_dict_indices(const uint8_t *p, size_t n, size_t count, uint32_t *out, char *err, size_t errlen);
/* RLE-encoded booleans in a data page (v2 style): 4-byte length prefix, width 1. */
int pq_rle_bool(const uint8_t *p, size_t n, size_t count, uint8_t *out, char *err, size_t errlen);

/* DELTA_BINARY_PACKED into 64-bit integers (INT32 columns wrap to 32 bits
 * when the caller narrows). *consumed = bytes used (may be NULL). */
int pq_delta_binary_packed(const uint8_t *p, size_t n, size_t count, int64_t *out,
                           size_t *consumed, char *err, size_t errlen);
/* DELTA_LENGTH_BYTE_ARRAY: lengths (delta packed), then the bytes. */
int pq_delta_length_bytes(const uint8_t *p, size_t n, size_t count, pq_bytes *out,
                          size_t *consumed, char *err, size_t errlen);
/* DELTA_BYTE_ARRAY: prefix lengths, then suffixes as DELTA_LENGTH_BYTE_ARRAY;
 * values are rebuilt into `arena` (appended; pointers stay valid until the
 * arena is reset). */
int pq_delta_bytes(const uint8_t *p, size_t n, size_t count, pq_bytes *out, pq_buf *arena,
                   char *err, size_t errlen);
/* BYTE_STREAM_SPLIT with `width`-byte values: reassembled into out. */
int pq_byte_stream_split(const uint8_t *p, size_t n, size_t width, size_t count, uint8_t *out,
                         char *err, size_t errlen);

/* Bits needed for values 0..max (bit width of a level or of an index). */
int pq_bit_width(uint32_t max);

#endif

/* lode/parquet/codec.h — Parquet page decompression through the system libraries.
 *
 *   char err[200];
 *   if (lode_codec_decompress(LODE_CODEC_ZSTD, src, n, dst, want, err, sizeof err) != 0)
 *       fail(err);
 *
 * Every codec must produce exactly `dstlen` bytes (the page header's
 * uncompressed size): fewer or more is an error, never a partial page. */
#ifndef LODE_CODEC_H
#define LODE_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Parquet CompressionCodec values. */
enum {
    LODE_CODEC_UNCOMPRESSED = 0,
    LODE_CODEC_SNAPPY = 1,
    LODE_CODEC_GZIP = 2,
    LODE_CODEC_LZO = 3,
    LODE_CODEC_BROTLI = 4,
    LODE_CODEC_LZ4 = 5,         /* deprecated: Hadoop framing, raw block or LZ4 frame in practice */
    LODE_CODEC_ZSTD = 6,
    LODE_CODEC_LZ4_RAW = 7,
};

/* Codec name for messages ("SNAPPY"), or "codec <n>" for unknown values
 * (written into a static buffer: use at once). */
const char *lode_codec_name(int codec);

/* Whether this build can decompress `codec`. */
int lode_codec_supported(int codec);

/* Decompress src[0..srclen) into exactly dstlen bytes at dst. Returns 0, or
 * -1 with a message in err (no file/page context: the caller adds that). */
int lode_codec_decompress(int codec, const uint8_t *src, size_t srclen,
                          uint8_t *dst, size_t dstlen, char *err, size_t errlen);

#endif

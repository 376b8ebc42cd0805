/* lode/load/compress.h — streaming file compression (gzip, bzip2, zstd) for the
 * files lode writes (UNLOAD's GZIP / BZIP2 / ZSTD), through the system
 * libraries already linked for decompression.
 *
 *   char err[200];
 *   lode_compressor *z = lode_compressor_new(LODE_COMPRESS_GZIP, err, sizeof err);
 *   const uint8_t *out; size_t n;
 *   lode_compressor_run(z, data, len, 0, &out, &n, err, sizeof err);  // feed
 *   lode_compressor_run(z, NULL, 0, 1, &out, &n, err, sizeof err);    // end the stream
 *   lode_compressor_free(z);
 *
 * Each call returns the compressed bytes it produced in `out`, owned by the
 * compressor and valid until the next call; memory is one codec context and
 * one output buffer that grows to the largest call's output. */
#ifndef LODE_COMPRESS_H
#define LODE_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

enum { LODE_COMPRESS_GZIP = 1, LODE_COMPRESS_BZIP2 = 2, LODE_COMPRESS_ZSTD = 3 };

typedef struct lode_compressor lode_compressor;

/* A compressor for `kind`, or NULL with a message in err. */
lode_compressor *lode_compressor_new(int kind, char *err, size_t errlen);

/* Compress src[0..n); with finish set, also end the stream (no further
 * calls but free). Returns 0, or -1 with a message in err. */
int lode_compressor_run(lode_compressor *z, const void *src, size_t n, int finish,
                        const uint8_t **out, size_t *outlen, char *err, size_t errlen);

/* Free the context and buffer; NULL is fine. */
void lode_compressor_free(lode_compressor *z);

#endif

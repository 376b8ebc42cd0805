/* compress.c — streaming gzip / bzip2 / zstd compression for the files lode
 * writes. Owns: one codec context and one growable output buffer per
 * compressor, both freed by lode_compressor_free. */
#include <bzlib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "lode/load/compress.h"

struct lode_compressor {
    int kind;
    int finished;
    z_stream gz;
    bz_stream bz;
    ZSTD_CCtx *zs;
    uint8_t *buf;
    size_t len, cap;
};

/* Room for at least `more` bytes after len. */
static int reserve(lode_compressor *z, size_t more)
{
    if (z->cap - z->len >= more) return 0;
    size_t cap = z->cap ? z->cap : 64 * 1024;
    while (cap - z->len < more) cap *= 2;
    uint8_t *p = realloc(z->buf, cap);
    if (!p) return -1;
    z->buf = p;
    z->cap = cap;
    return 0;
}

lode_compressor *lode_compressor_new(int kind, char *err, size_t errlen)
{
    lode_compressor *z = calloc(1, sizeof *z);
    if (!z) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    z->kind = kind;
    int ok = 0;
    switch (kind) {
    case LODE_COMPRESS_GZIP:
        /* 15 + 16: a gzip member (header and CRC), default level as gzip(1) */
        ok = deflateInit2(&z->gz, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
        break;
    case LODE_COMPRESS_BZIP2:
        ok = BZ2_bzCompressInit(&z->bz, 9, 0, 0) == BZ_OK;
        break;
    case LODE_COMPRESS_ZSTD:
        z->zs = ZSTD_createCCtx();
        ok = z->zs != NULL;
        break;
    default:
        snprintf(err, errlen, "unknown compression kind %d", kind);
        free(z);
        return NULL;
    }
    if (!ok) {
        snprintf(err, errlen, "cannot start the compressor (out of memory)");
        free(z);
        return NULL;
    }
    return z;
}

static int run_gzip(lode_compressor *z, const void *src, size_t n, int finish, char *err, size_t errlen)
{
    const uint8_t *p = src;
    for (;;) {
        size_t chunk = n > UINT_MAX ? UINT_MAX : n;
        int flush = finish && chunk == n ? Z_FINISH : Z_NO_FLUSH;
        z->gz.next_in = (Bytef *)p;
        z->gz.avail_in = (uInt)chunk;
        int rc;
        do {
            if (reserve(z, 64 * 1024) < 0) goto oom;
            z->gz.next_out = z->buf + z->len;
            z->gz.avail_out = (uInt)(z->cap - z->len > UINT_MAX ? UINT_MAX : z->cap - z->len);
            size_t before = z->gz.avail_out;
            rc = deflate(&z->gz, flush);
            z->len += before - z->gz.avail_out;
            if (rc == Z_STREAM_ERROR) {
                snprintf(err, errlen, "gzip: deflate failed");
                return -1;
            }
        } while (z->gz.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
        p += chunk;
        n -= chunk;
        if (n == 0) return 0;
    }
oom:
    snprintf(err, errlen, "gzip: out of memory");
    return -1;
}

static int run_bzip2(lode_compressor *z, const void *src, size_t n, int finish, char *err, size_t errlen)
{
    const char *p = src;
    for (;;) {
        size_t chunk = n > UINT_MAX ? UINT_MAX : n;
        int action = finish && chunk == n ? BZ_FINISH : BZ_RUN;
        z->bz.next_in = (char *)p;
        z->bz.avail_in = (unsigned)chunk;
        int rc;
        do {
            if (reserve(z, 64 * 1024) < 0) {
                snprintf(err, errlen, "bzip2: out of memory");
                return -1;
            }
            z->bz.next_out = (char *)z->buf + z->len;
            z->bz.avail_out = (unsigned)(z->cap - z->len > UINT_MAX ? UINT_MAX : z->cap - z->len);
            size_t before = z->bz.avail_out;
            rc = BZ2_bzCompress(&z->bz, action);
            z->len += before - z->bz.avail_out;
            if (rc < 0) {
                snprintf(err, errlen, "bzip2: compression failed (%d)", rc);
                return -1;
            }
        } while (z->bz.avail_in > 0 || (action == BZ_FINISH && rc != BZ_STREAM_END));
        p += chunk;
        n -= chunk;
        if (n == 0) return 0;
    }
}

static int run_zstd(lode_compressor *z, const void *src, size_t n, int finish, char *err, size_t errlen)
{
    ZSTD_inBuffer in = { src, n, 0 };
    size_t left;
    do {
        if (reserve(z, ZSTD_CStreamOutSize()) < 0) {
            snprintf(err, errlen, "zstd: out of memory");
            return -1;
        }
        ZSTD_outBuffer out = { z->buf + z->len, z->cap - z->len, 0 };
        left = ZSTD_compressStream2(z->zs, &out, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
        z->len += out.pos;
        if (ZSTD_isError(left)) {
            snprintf(err, errlen, "zstd: %s", ZSTD_getErrorName(left));
            return -1;
        }
    } while (in.pos < in.size || (finish && left != 0));
    return 0;
}

int lode_compressor_run(lode_compressor *z, const void *src, size_t n, int finish,
                        const uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    if (z->finished) {
        snprintf(err, errlen, "the compressed stream has already ended");
        return -1;
    }
    if (!src) n = 0;
    z->len = 0;
    int rc;
    switch (z->kind) {
    case LODE_COMPRESS_GZIP: rc = run_gzip(z, src ? src : "", n, finish, err, errlen); break;
    case LODE_COMPRESS_BZIP2: rc = run_bzip2(z, src ? src : "", n, finish, err, errlen); break;
    default: rc = run_zstd(z, src ? src : "", n, finish, err, errlen); break;
    }
    if (finish) z->finished = 1;
    if (rc < 0) return -1;
    *out = z->buf;
    *outlen = z->len;
    return 0;
}

void lode_compressor_free(lode_compressor *z)
{
    if (!z) return;
    switch (z->kind) {
    case LODE_COMPRESS_GZIP: deflateEnd(&z->gz); break;
    case LODE_COMPRESS_BZIP2: BZ2_bzCompressEnd(&z->bz); break;
    default: ZSTD_freeCCtx(z->zs); break;
    }
    free(z->buf);
    free(z);
}

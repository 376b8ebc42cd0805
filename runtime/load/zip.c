/* load/zip.c — streaming decompression for loads: gzip (several members, as
 * `cat a.gz b.gz` makes), bzip2 (several streams) and zstd (several frames),
 * chosen by the COPY option or by the magic bytes. Output goes out in pieces
 * of at most 64 KiB, so memory stays bounded whatever the ratio. */
#include "lode/load/load.h"

#include <bzlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define OUT_CHUNK (64 * 1024)

struct lode_unzip {
    lode_zkind kind;
    unsigned char head[4];     /* AUTO: first bytes until the kind is known */
    size_t nhead;
    int started;               /* the decoder for `kind` is initialised */
    int in_stream;             /* inside a member/stream/frame (not at a boundary) */
    z_stream gz;
    bz_stream bz;
    ZSTD_DStream *zs;
    char err[160];
    char out[OUT_CHUNK];
};

lode_unzip *lode_unzip_new(lode_zkind kind)
{
    lode_unzip *z = calloc(1, sizeof *z);
    if (z) z->kind = kind;
    return z;
}

lode_zkind lode_unzip_kind(const lode_unzip *z) { return z->kind; }
const char *lode_unzip_error(const lode_unzip *z) { return z->err[0] ? z->err : NULL; }

static void end_decoder(lode_unzip *z)
{
    if (!z->started) return;
    if (z->kind == LODE_Z_GZIP) inflateEnd(&z->gz);
    else if (z->kind == LODE_Z_BZIP2) BZ2_bzDecompressEnd(&z->bz);
    z->started = 0;
}

void lode_unzip_free(lode_unzip *z)
{
    if (!z) return;
    end_decoder(z);
    if (z->zs) ZSTD_freeDStream(z->zs);
    free(z);
}

static int zfail(lode_unzip *z, const char *what, const char *detail)
{
    snprintf(z->err, sizeof z->err, "%s data is corrupt: %s", what, detail ? detail : "bad stream");
    return -1;
}

static int start(lode_unzip *z)
{
    if (z->kind == LODE_Z_GZIP) {
        memset(&z->gz, 0, sizeof z->gz);
        if (inflateInit2(&z->gz, 16 + MAX_WBITS) != Z_OK) return zfail(z, "gzip", "cannot initialise zlib");
    } else if (z->kind == LODE_Z_BZIP2) {
        memset(&z->bz, 0, sizeof z->bz);
        if (BZ2_bzDecompressInit(&z->bz, 0, 0) != BZ_OK) return zfail(z, "bzip2", "cannot initialise bzip2");
    } else if (z->kind == LODE_Z_ZSTD) {
        if (!z->zs && !(z->zs = ZSTD_createDStream())) return zfail(z, "zstd", "out of memory");
        ZSTD_initDStream(z->zs);
    }
    z->started = 1;
    return 0;
}

static int feed_kind(lode_unzip *z, const unsigned char *p, size_t n, lode_unzip_out_fn out, void *ud)
{
    if (z->kind == LODE_Z_NONE) return n ? out(ud, (const char *)p, n) : 0;
    while (n > 0) {
        if (!z->started && start(z) != 0) return -1;
        z->in_stream = 1;
        if (z->kind == LODE_Z_GZIP) {
            z->gz.next_in = (unsigned char *)p;
            z->gz.avail_in = (uInt)(n > (1u << 30) ? (1u << 30) : n);
            size_t given = z->gz.avail_in;
            int r;
            do {
                z->gz.next_out = (unsigned char *)z->out;
                z->gz.avail_out = OUT_CHUNK;
                r = inflate(&z->gz, Z_NO_FLUSH);
                if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) return zfail(z, "gzip", z->gz.msg);
                size_t got = OUT_CHUNK - z->gz.avail_out;
                if (got) { int rc = out(ud, z->out, got); if (rc) return rc; }
                if (r == Z_STREAM_END) break;
                if (r == Z_BUF_ERROR && got == 0) break;
            } while (z->gz.avail_in > 0 || z->gz.avail_out == 0);
            size_t used = given - z->gz.avail_in;
            p += used;
            n -= used;
            if (r == Z_STREAM_END) { end_decoder(z); z->in_stream = 0; }  /* next member, if any */
        } else if (z->kind == LODE_Z_BZIP2) {
            z->bz.next_in = (char *)p;
            z->bz.avail_in = (unsigned)(n > (1u << 30) ? (1u << 30) : n);
            size_t given = z->bz.avail_in;
            int r;
            do {
                z->bz.next_out = z->out;
                z->bz.avail_out = OUT_CHUNK;
                r = BZ2_bzDecompress(&z->bz);
                if (r != BZ_OK && r != BZ_STREAM_END) return zfail(z, "bzip2", NULL);
                size_t got = OUT_CHUNK - z->bz.avail_out;
                if (got) { int rc = out(ud, z->out, got); if (rc) return rc; }
                if (r == BZ_STREAM_END) break;
            } while (z->bz.avail_in > 0 || z->bz.avail_out == 0);
            size_t used = given - z->bz.avail_in;
            p += used;
            n -= used;
            if (r == BZ_STREAM_END) { end_decoder(z); z->in_stream = 0; }
        } else {
            ZSTD_inBuffer in = { p, n, 0 };
            int full = 0;
            while (in.pos < in.size || full) {
                ZSTD_outBuffer o = { z->out, OUT_CHUNK, 0 };
                size_t r = ZSTD_decompressStream(z->zs, &o, &in);
                if (ZSTD_isError(r)) return zfail(z, "zstd", ZSTD_getErrorName(r));
                if (o.pos) { int rc = out(ud, z->out, o.pos); if (rc) return rc; }
                full = o.pos == OUT_CHUNK;       /* more may be buffered inside */
                z->in_stream = r != 0;           /* 0: a frame ended and was flushed */
            }
            n = 0;
        }
    }
    return 0;
}

static lode_zkind sniff(const unsigned char *h, size_t n)
{
    if (n >= 2 && h[0] == 0x1F && h[1] == 0x8B) return LODE_Z_GZIP;
    if (n >= 3 && h[0] == 'B' && h[1] == 'Z' && h[2] == 'h') return LODE_Z_BZIP2;
    if (n >= 4 && h[0] == 0x28 && h[1] == 0xB5 && h[2] == 0x2F && h[3] == 0xFD) return LODE_Z_ZSTD;
    return LODE_Z_NONE;
}

int lode_unzip_feed(lode_unzip *z, const void *data, size_t len, lode_unzip_out_fn out, void *ud)
{
    const unsigned char *p = data;
    if (z->kind == LODE_Z_AUTO) {
        while (z->nhead < sizeof z->head && len > 0) {
            z->head[z->nhead++] = *p++;
            len--;
        }
        if (z->nhead < sizeof z->head) return 0;
        z->kind = sniff(z->head, z->nhead);
        int rc = feed_kind(z, z->head, z->nhead, out, ud);
        if (rc) return rc;
    }
    return feed_kind(z, p, len, out, ud);
}

int lode_unzip_finish(lode_unzip *z, lode_unzip_out_fn out, void *ud)
{
    if (z->kind == LODE_Z_AUTO) {   /* shorter than the magic: plain bytes */
        z->kind = sniff(z->head, z->nhead);
        int rc = feed_kind(z, z->head, z->nhead, out, ud);
        if (rc) return rc;
    }
    if (z->in_stream) {
        static const char *names[] = { "", "gzip", "bzip2", "zstd" };
        return zfail(z, names[z->kind], "the compressed stream ends early (truncated file?)");
    }
    return 0;
}

/* lode/core/source.h — random-access byte sources (a local file, an S3 object)
 * read asynchronously on the loop. Decoders (Parquet footers and column
 * chunks, CSV/JSON streams) read through this, so the same code serves
 * local files and S3.
 *
 *   lode_source *src;
 *   lode_source_open_file(path, &src, err, sizeof err);
 *   lode_source_read(src, off, len, buf, on_read, ud);   // on_read(ud, status, nread, errmsg)
 *   ...
 *   lode_source_close(src);
 *
 * A read delivers exactly `len` bytes unless the end of the source comes
 * first (nread < len). Several reads may be in flight on one source.
 * Callbacks run on the loop thread; they must not resume Lua directly
 * (they call lode_op_done or queue work). */
#ifndef LODE_SOURCE_H
#define LODE_SOURCE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lode_source lode_source;

/* The object changed since the source was opened (ESTALE): the bytes of
 * the version opened are no longer there; start over from the listing. */
#define LODE_SOURCE_ECHANGED (-ESTALE)

/* status: 0 on success, or a negative libuv/errno-style code with errmsg set. */
typedef void (*lode_source_read_cb)(void *ud, int status, size_t nread, const char *errmsg);

typedef struct lode_source_vt {
    /* Start reading [offset, offset+len) into buf; returns 0, or <0 when the
     * read could not be started (then the callback is not called). */
    int (*read)(lode_source *src, uint64_t offset, size_t len, void *buf,
                lode_source_read_cb cb, void *ud);
    /* Release; reads still in flight complete first with an error or data. */
    void (*close)(lode_source *src);
} lode_source_vt;

struct lode_source {
    const lode_source_vt *vt;
    uint64_t size;           /* total bytes, known at open */
    char *name;              /* path or s3:// URL, for error messages */
    char etag[80];           /* content identity when known ("" otherwise) */
    uint64_t reads;          /* requests issued (file reads; HTTP requests, the
                                open's and retries included), for tests and stats */
};

/* Open a local file (size from fstat). Returns 0 or -1 with err filled. */
int lode_source_open_file(const char *path, lode_source **out, char *err, size_t errlen);

static inline int lode_source_read(lode_source *src, uint64_t offset, size_t len, void *buf,
                                   lode_source_read_cb cb, void *ud)
{
    return src->vt->read(src, offset, len, buf, cb, ud);   /* the source counts its requests */
}

static inline void lode_source_close(lode_source *src)
{
    if (src) src->vt->close(src);
}

#endif

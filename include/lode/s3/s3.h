/* lode/s3/s3.h — the S3 client other C code uses: structured errors, the shared
 * client configured the way the aws CLI is (env, ~/.aws/credentials and
 * config, profiles, endpoint_url, addressing_style; or a file:// endpoint),
 * and S3 objects as lode_source random-access byte sources (ranged GETs).
 *
 *   lode_s3_error e;
 *   lode_s3 *c = lode_s3_default(&e);                 // NULL: e says why
 *   lode_source_open_s3(c, "s3://bucket/data.parquet", on_open, me);
 *   static void on_open(void *ud, lode_source *src, const lode_s3_error *err) {
 *       // src == NULL: err->status, err->code ("NoSuchKey"), err->message
 *       // else: src->size, src->etag; read with lode_source_read; lode_source_close
 *   }
 *
 * Every callback runs on the loop thread and must not resume Lua itself
 * (call lode_op_done). */
#ifndef LODE_S3_H
#define LODE_S3_H

#include <lua.h>
#include "lode/core/source.h"

typedef struct lode_s3 lode_s3;

typedef struct {
    long status;               /* HTTP status, 0 for transport failures */
    char code[64];             /* S3 error code ("NoSuchKey", "SlowDown"), or "transport", "timeout" */
    char message[1024];        /* S3's message, the transport error or every credential provider tried; never a secret */
    char request_id[128];      /* x-amz-request-id when S3 answered */
    char key[1024];            /* s3://bucket/key the request was about */
    int retryable;             /* 5xx, 429, SlowDown, RequestTimeout, resets and timeouts */
} lode_s3_error;

/* The shared client of this process, configured on first use from the
 * environment and the aws config files. Returns NULL with err filled when
 * the configuration is unusable (no credentials for a real endpoint...). */
lode_s3 *lode_s3_default(lode_s3_error *err);

/* Split "s3://bucket/key" into malloc'd bucket and key ("" when absent).
 * Returns 0, or -1 when url is not an s3:// URL with a bucket. */
int lode_s3_parse_url(const char *url, char **bucket, char **key);

/* Callback of lode_source_open_s3: exactly one of src and err is non-NULL. */
typedef void (*lode_s3_open_cb)(void *ud, lode_source *src, const lode_s3_error *err);

/* Open an S3 object (HEAD for size and ETag) as a lode_source whose reads
 * are ranged GETs with retries; on a file:// endpoint, the local file.
 * Returns 0 (cb is called later, once), or -1 with err filled (cb not called). */
int lode_source_open_s3(lode_s3 *c, const char *url, lode_s3_open_cb cb, void *ud, lode_s3_error *err);

/* Like lode_source_open_s3 for readers that start at the end (Parquet
 * footers): the open is one GET of the last tail_len bytes (`Range:
 * bytes=-tail_len`; size from Content-Range, or the whole body of a 200),
 * kept in the source, so reads within the last tail_len bytes cost no
 * request (their callback runs on a later loop turn) and a read ending
 * there fetches only what precedes them. src->reads starts at 1. A server
 * that answers with the object's head instead (s3rver) costs no extra
 * request here but leaves the tail uncached; an empty object (416) costs
 * a HEAD more. tail_len > 0; memory held: tail_len bytes per source. */
int lode_source_open_s3_tail(lode_s3 *c, const char *url, size_t tail_len, lode_s3_open_cb cb, void *ud,
                             lode_s3_error *err);

/* Like lode_source_open_s3 (tail_len 0) or lode_source_open_s3_tail, for
 * the version of the object with this ETag (as listed): the open carries
 * If-Match, so a changed object fails the open with code "ObjectChanged"
 * (retryable: start over from the listing). Every read of any S3 source
 * carries If-Match with the source's ETag; a read of an object changed
 * since the open fails with status LODE_SOURCE_ECHANGED. etag NULL or "": any version. */
int lode_source_open_s3_version(lode_s3 *c, const char *url, const char *etag, size_t tail_len, lode_s3_open_cb cb,
                                void *ud, lode_s3_error *err);

/* Push the structured error table {op, code, message, retryable, status,
 * key, request_id} for e (the lode.error metatable). */
void lode_s3_push_error(lua_State *L, const char *op, const lode_s3_error *e);

#endif

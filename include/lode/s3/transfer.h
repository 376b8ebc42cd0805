/* lode/s3/transfer.h — S3 operations any C code can run on the loop: one-request
 * calls (list a page, head, get, put, copy, delete, batch delete, buckets,
 * multipart listing and abort) and the transfer manager (parallel ranged
 * download to a file, single or multipart upload with parallel parts,
 * aborted on failure). bindings/s3.c is one caller; the COPY path another.
 *
 *   lode_s3_call *call = lode_s3_head(c, "bucket", "key", on_done, me);
 *   if (!call) ...;                                   // out of memory
 *   if (lode_s3_call_finished(call)) on_done(call, me); // finished while starting: no callback
 *   static void on_done(lode_s3_call *call, void *ud) {
 *       const lode_s3_error *e = lode_s3_call_error(call);   // NULL: success
 *       const lode_s3_result *r = lode_s3_call_result(call);  // r->object.size ...
 *       lode_s3_call_free(call);
 *   }
 *
 * Callbacks run on the loop thread and must not resume Lua (call lode_op_done).
 * A file:// endpoint answers every call while it starts. */
#ifndef LODE_S3_TRANSFER_H
#define LODE_S3_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include "lode/s3/s3.h"

typedef struct lode_s3_call lode_s3_call;
/* Called once when a call that was still running after its start ends. */
typedef void (*lode_s3_call_cb)(lode_s3_call *call, void *ud);

typedef struct {
    char *key;
    int64_t size;
    char etag[80];
    char *last_modified;       /* a listing's ISO 8601 time, or HEAD's Last-Modified */
    char *upload_id;           /* list_uploads */
} lode_s3_object;

typedef struct {
    lode_s3_object *objects;   /* list_page, list_uploads */
    size_t nobjects;
    char **prefixes;           /* list_page with a delimiter */
    size_t nprefixes;
    char *next;                /* the next page's token; NULL on the last page */
    lode_s3_object object;     /* head, put, copy, download, upload: key, size, etag */
    char *content_type;        /* head (NULL: none sent) */
    char *data;                /* get */
    size_t ndata;
    int64_t deleted;           /* delete_batch */
    int exists;                /* create_bucket: it was already yours; head_bucket: it is there */
    int parts;                 /* upload: parts sent (1 for a single PUT) */
} lode_s3_result;

typedef struct {
    const char *delimiter, *token, *start_after;   /* each NULL: none */
    int max_keys;                                  /* 1..1000 */
} lode_s3_list_opts;

typedef struct {
    int ranged;                /* only bytes first..last (UINT64_MAX: to the end) */
    uint64_t first, last;
    size_t max_size;           /* the body cap */
    const char *if_match;      /* the ETag the object must still have, or NULL */
} lode_s3_get_opts;

typedef struct {
    int64_t part_size;         /* 0: the client's */
    int concurrency;           /* parts in flight; 0: the client's */
    int64_t multipart_threshold; /* upload: -1: the client's */
    const char *content_type;  /* upload: NULL: binary/octet-stream */
} lode_s3_transfer_opts;

/* Every start function returns the call, or NULL when out of memory. When
 * the call ended while it started (file:// endpoint, a request that could
 * not start), lode_s3_call_finished is true and cb is never called;
 * otherwise cb is called exactly once, later. In a dry run (`lode plan`)
 * the writes (put, copy, delete, delete_batch, create_bucket, upload) are
 * logged and not sent: they end while starting, with empty results. */

/* ListObjectsV2: one page of keys under prefix. */
lode_s3_call *lode_s3_list_page(lode_s3 *c, const char *bucket, const char *prefix, const lode_s3_list_opts *o,
                                lode_s3_call_cb cb, void *ud);
lode_s3_call *lode_s3_head(lode_s3 *c, const char *bucket, const char *key, lode_s3_call_cb cb, void *ud);
lode_s3_call *lode_s3_get(lode_s3 *c, const char *bucket, const char *key, const lode_s3_get_opts *o,
                          lode_s3_call_cb cb, void *ud);
/* PutObject of data[0..n) (copied). */
lode_s3_call *lode_s3_put(lode_s3 *c, const char *bucket, const char *key, const void *data, size_t n,
                          const char *content_type, lode_s3_call_cb cb, void *ud);
lode_s3_call *lode_s3_copy(lode_s3 *c, const char *src_bucket, const char *src_key, const char *bucket,
                           const char *key, lode_s3_call_cb cb, void *ud);
/* DeleteObject; a missing key is not an error. */
lode_s3_call *lode_s3_delete(lode_s3 *c, const char *bucket, const char *key, lode_s3_call_cb cb, void *ud);
/* DeleteObjects of 1..1000 keys; the first per-key error fails the call. */
lode_s3_call *lode_s3_delete_batch(lode_s3 *c, const char *bucket, const char *const *keys, size_t nkeys,
                                   lode_s3_call_cb cb, void *ud);
/* CreateBucket in region (us-east-1 sends no constraint); exists: it was already yours. */
lode_s3_call *lode_s3_create_bucket(lode_s3 *c, const char *bucket, const char *region, lode_s3_call_cb cb,
                                    void *ud);
/* HeadBucket; 404 and 403 are exists = 0, not errors. */
lode_s3_call *lode_s3_head_bucket(lode_s3 *c, const char *bucket, lode_s3_call_cb cb, void *ud);
/* ListMultipartUploads under prefix (one page). */
lode_s3_call *lode_s3_list_uploads(lode_s3 *c, const char *bucket, const char *prefix, lode_s3_call_cb cb,
                                   void *ud);
/* The steps of a multipart upload the caller drives (a stream of parts of
 * unknown total size): CreateMultipartUpload -> result object.upload_id;
 * UploadPart number 1..10000 of data[0..n), which is not copied and must
 * stay unchanged until the call ends (every part but the last >= 5 MiB)
 * -> object.etag; CompleteMultipartUpload of parts 1..nparts with their
 * ETags -> object.etag (a 200 whose body is an error fails; size, the
 * object's bytes or 0, gives the server time to assemble it). On any
 * failure the caller aborts the upload (lode_s3_abort_upload); cancelling
 * an UploadPart call aborts it (detached), so a task cancelled while it
 * sends a part leaves no upload behind. A file:// endpoint refuses them
 * ("unsupported"). */
lode_s3_call *lode_s3_create_upload(lode_s3 *c, const char *bucket, const char *key, const char *content_type,
                                    lode_s3_call_cb cb, void *ud);
lode_s3_call *lode_s3_upload_part(lode_s3 *c, const char *bucket, const char *key, const char *upload_id,
                                  int number, const void *data, size_t n, lode_s3_call_cb cb, void *ud);
lode_s3_call *lode_s3_complete_upload(lode_s3 *c, const char *bucket, const char *key, const char *upload_id,
                                      const char *const *etags, int nparts, int64_t size, lode_s3_call_cb cb,
                                      void *ud);
lode_s3_call *lode_s3_abort_upload(lode_s3 *c, const char *bucket, const char *key, const char *upload_id,
                                   lode_s3_call_cb cb, void *ud);
/* An AbortMultipartUpload sent and left to finish on the loop, for callers
 * that cannot wait (a __close handler of a cancelled task): a failure other
 * than NoSuchUpload is logged, and the runtime's shutdown waits for it. */
void lode_s3_abort_upload_detached(lode_s3 *c, const char *bucket, const char *key, const char *upload_id);
/* The object to path (created or truncated) by parallel ranged GETs of the
 * version HEAD saw (If-Match). */
lode_s3_call *lode_s3_download(lode_s3 *c, const char *bucket, const char *key, const char *path,
                               const lode_s3_transfer_opts *o, lode_s3_call_cb cb, void *ud);
/* The regular file at path to bucket/key: one PUT up to the threshold, else
 * a multipart upload (at most 10,000 parts) that is aborted on failure. */
lode_s3_call *lode_s3_upload(lode_s3 *c, const char *path, const char *bucket, const char *key,
                             const lode_s3_transfer_opts *o, lode_s3_call_cb cb, void *ud);

/* Whether the call has ended (its callback, if any, has run or will not run). */
int lode_s3_call_finished(const lode_s3_call *call);
/* Stop a running call; its callback still runs, now or after what must
 * finish (an abort of a multipart upload), with a "cancelled" error. */
void lode_s3_call_cancel(lode_s3_call *call);
/* NULL on success, else the structured error. */
const lode_s3_error *lode_s3_call_error(const lode_s3_call *call);
const lode_s3_result *lode_s3_call_result(const lode_s3_call *call);
/* Release a finished call (NULL: nothing). */
void lode_s3_call_free(lode_s3_call *call);

/* ---- the client's settings, presigning ------------------------------------------- */

typedef struct {
    int64_t max_attempts;          /* per request */
    int64_t part_size, multipart_threshold, concurrency;
    int64_t low_speed_time_s, connect_timeout_ms;
    int64_t backoff_base_ms, backoff_cap_ms;
    int64_t deadline_ms, min_rate; /* a request's deadline: deadline_ms + its bytes / min_rate (0: none) */
} lode_s3_settings;

void lode_s3_get_settings(const lode_s3 *c, lode_s3_settings *s);
void lode_s3_set_settings(lode_s3 *c, const lode_s3_settings *s);
/* "file", "path" or "virtual". */
const char *lode_s3_addressing_name(const lode_s3 *c);
/* Whether name is a bucket name S3 accepts: 3-63 of a-z 0-9 . -, starting
 * and ending with a letter or digit. */
int lode_s3_bucket_name_ok(const char *name, size_t n);
/* The bucket name in "name", "s3://name" or "s3://name/" (not
 * NUL-terminated: *n bytes), or NULL when arg names a key. */
const char *lode_s3_bucket_of(const char *arg, size_t *n);
/* An HTTP range "bytes=FIRST-[LAST]" -> first, last (UINT64_MAX: to the
 * end); -1 when it is not one (LAST before FIRST included). */
int lode_s3_parse_range(const char *s, uint64_t *first, uint64_t *last);
/* Whether region looks like a region name (a-z 0-9 -). */
int lode_s3_region_name_ok(const char *region);
/* The configured region, or NULL. */
const char *lode_s3_region(const lode_s3 *c);
/* A presigned URL for method on bucket/key, valid expires seconds from now,
 * in the result's data (NUL-terminated); waits for credentials when none
 * are cached yet. */
lode_s3_call *lode_s3_presign(lode_s3 *c, const char *method, const char *bucket, const char *key, int64_t now,
                              int64_t expires, lode_s3_call_cb cb, void *ud);
/* How long before temporary credentials expire they are refreshed in the
 * background / before every request waits (seconds; 0 keeps the value). */
void lode_s3_set_credential_refresh(lode_s3 *c, int64_t advisory_s, int64_t mandatory_s);
/* What a client with these explicit settings would send for a GET of
 * bucket/key at now: a presigned URL, and the request URL with its
 * Authorization header (all malloc'd). For tests against botocore. */
int lode_s3_sign_example(const char *endpoint, const char *region, const char *access_key,
                         const char *secret_key, const char *token, const char *bucket, const char *key,
                         int64_t now, int64_t expires, char **presigned, char **url, char **authorization,
                         lode_s3_error *err);

#endif

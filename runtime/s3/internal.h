/* s3/internal.h — private to runtime/s3/: the client, signed requests
 * with retries, XML, the file:// backend. */
#ifndef LODE_S3_INTERNAL_H
#define LODE_S3_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lode/aws/credentials.h"
#include "lode/http/http.h"
#include "lode/s3/s3.h"
#include "lode/aws/config.h"
#include "lode/aws/sigv4.h"

/* ---- the client (s3.c) ------------------------------------------------------ */

struct lode_s3 {
    lode_aws_config cfg;           /* region and endpoint; its keys are unused (see creds) */
    lode_aws_creds_provider *creds; /* signing credentials (NULL for file://) */
    char *file_root;               /* file:// endpoint: buckets are folders here */
    char *scheme;                  /* "http" / "https" */
    char *host;                    /* host[:port] of the endpoint */
    char *base_path;               /* endpoint path prefix ("" normally) */
    int path_style;
    int max_attempts;              /* per request, >= 1 */
    int backoff_base_ms, backoff_cap_ms;
    long connect_timeout_ms, low_speed_time_s;
    long deadline_ms, min_rate;    /* a request's deadline: deadline_ms + its bytes / min_rate (0: none) */
    int64_t part_size;             /* multipart part size */
    int64_t multipart_threshold;
    int concurrency;               /* parts in flight per transfer */
};

/* A client from explicit settings (not the environment); for tests and tools. */
lode_s3 *s3_client_new(const char *endpoint, const char *region, const char *access_key,
                       const char *secret_key, const char *token, lode_s3_error *err);
void s3_client_free(lode_s3 *c);
/* The URL and Authorization header of a GET on bucket/key signed at `now` (malloc'd). */
int s3_sign_for_test(lode_s3 *c, const char *bucket, const char *key, int64_t now, char **url, char **authorization);

typedef struct s3_req s3_req;

typedef struct {
    const char *method;
    const char *bucket;
    const char *key;               /* NULL or "" for bucket-level requests */
    const lode_kv *query;
    size_t nquery;
    const lode_kv *headers;        /* extra headers, all signed */
    size_t nheaders;
    const void *body;              /* in-memory body (not copied), or */
    size_t (*read_body)(void *ud, char *buf, size_t n);   /* streamed body, UNSIGNED-PAYLOAD */
    int64_t body_len;              /* -1: no body */
    size_t (*on_data)(void *ud, const char *p, size_t n); /* 2xx body sink; NULL collects */
    void (*on_retry)(void *ud);    /* rewind body/sink state before another attempt */
    size_t max_body;               /* collected body cap */
    /* The ETag the object must still have: sent as If-Match; a 412, or an
     * answer carrying another ETag, fails as ObjectChanged (retryable for
     * the caller, who must start over; never retried here). */
    const char *if_match;
    /* A ranged GET of bytes range_first..range_last (UINT64_MAX: to the
     * end): the Range header is sent, and the answer checked — a 206 must
     * name exactly that range in its Content-Range, a 200 is the whole
     * object of which only the range reaches the sink — and its body length
     * (a short body is a retryable transport error). */
    int ranged;
    uint64_t range_first, range_last;
    uint64_t object_size;          /* the size listed or opened (0: unknown): another total is ObjectChanged */
    /* Bytes the server works through before it answers, besides the body
     * (CompleteMultipartUpload assembles the object): they lengthen the
     * deadline as body bytes do, and the silence allowed (1 s per 16 MiB). */
    uint64_t server_work_bytes;
    void (*on_done)(s3_req *r, void *ud);
    void *ud;
} s3_req_opts;

/* Start a signed request with retries. NULL with err filled when it cannot start. */
s3_req *s3_request(lode_s3 *c, const s3_req_opts *o, lode_s3_error *err);
/* Stop it; on_done runs now with a "cancelled" error. */
void s3_req_cancel(s3_req *r);
/* Release after on_done. */
void s3_req_free(s3_req *r);
/* NULL on success (2xx), else the structured error. */
const lode_s3_error *s3_req_error(const s3_req *r);
/* The final response (headers, collected body). */
const lode_http *s3_req_http(const s3_req *r);
/* The collected body: the error document, or the response when on_data was NULL. */
const char *s3_req_body(const s3_req *r, size_t *len);
/* The collected body handed over (the caller frees it; NUL-terminated, NULL
 * when memory is short); the request keeps none. */
char *s3_req_take_body(s3_req *r, size_t *len);
/* Attempts made so far. */
int s3_req_attempts(const s3_req *r);

/* "bytes a-b/total" (a Content-Range) -> 0, or -1 when it is not that. */
int s3_parse_content_range(const char *v, uint64_t *a, uint64_t *b, uint64_t *total);

/* Fill e from fields; key may be NULL. */
void s3_error_set(lode_s3_error *e, long status, const char *code, const char *message,
                  const char *bucket, const char *key, int retryable);
/* Whether an S3 error code is worth retrying. */
int s3_code_retryable(long status, const char *code);

/* A presigned URL for method on bucket/key, valid `expires` seconds from now,
 * signed with the cached credentials (an error when none are fresh yet). */
char *s3_presign(lode_s3 *c, const char *method, const char *bucket, const char *key,
                 int64_t now, int64_t expires, lode_s3_error *err);
/* The same with the given keys (NULL only for a file:// endpoint). */
char *s3_presign_with(lode_s3 *c, const lode_aws_credentials *keys, const char *method, const char *bucket,
                      const char *key, int64_t now, int64_t expires, lode_s3_error *err);

/* ---- XML (xml.c) ------------------------------------------------------------- */

/* Find the next <tag>...</tag> (or <tag/>) in [p, end): the inner text in
 * inner and len; returns the position after it, or NULL when there is none. */
const char *s3_xml_next(const char *p, const char *end, const char *tag, const char **inner, size_t *len);
/* The decoded text of the first <tag> in [p, end) as a malloc'd string, or NULL. */
char *s3_xml_get(const char *p, const char *end, const char *tag);
/* Decode XML entities of [s, s+n) into a malloc'd string. */
char *s3_xml_decode(const char *s, size_t n);
/* Append s XML-escaped to a malloc'd buffer (*buf, *len, *cap); -1 when out of memory. */
int s3_xml_escape_append(char **buf, size_t *len, size_t *cap, const char *s);

/* ---- file:// endpoint (file.c) --------------------------------------------- */

typedef struct {
    char *key;
    int64_t size;
    char etag[40];
    int64_t mtime;
} s3_file_object;

/* Path of bucket/key under the root; malloc'd. */
char *s3_file_path(const lode_s3 *c, const char *bucket, const char *key);
/* ListObjectsV2 over folders: keys after start_after, at most max_keys
 * results (objects + prefixes), sorted bytewise. 0 or -1 with err. */
int s3_file_list(const lode_s3 *c, const char *bucket, const char *prefix, const char *delimiter,
                 const char *start_after, int max_keys, s3_file_object **objs, size_t *nobjs,
                 char ***prefixes, size_t *nprefixes, int *truncated, lode_s3_error *err);
void s3_file_list_free(s3_file_object *objs, size_t nobjs, char **prefixes, size_t nprefixes);
/* Create the bucket's folder (and the root's); *existed when it was there. */
int s3_file_create_bucket(const lode_s3 *c, const char *bucket, int *existed, lode_s3_error *err);
int s3_file_head(const lode_s3 *c, const char *bucket, const char *key, s3_file_object *out, lode_s3_error *err);
/* Read [off, off+len) (len -1: to the end) into a malloc'd buffer. */
int s3_file_get(const lode_s3 *c, const char *bucket, const char *key, int64_t off, int64_t len,
                char **data, size_t *n, lode_s3_error *err);
int s3_file_put(const lode_s3 *c, const char *bucket, const char *key, const void *data, size_t n,
                const char *from_path, s3_file_object *out, lode_s3_error *err);
int s3_file_delete(const lode_s3 *c, const char *bucket, const char *key, lode_s3_error *err);
int s3_file_copy_out(const lode_s3 *c, const char *bucket, const char *key, const char *to_path, lode_s3_error *err);

#endif

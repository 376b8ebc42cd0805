/* s3/ops.c — the one-request S3 calls of lode/s3/transfer.h (list a page,
 * head, get, put, copy, delete, batch delete, buckets, the steps of a
 * multipart upload, its listing and abort): the request built, the answer parsed into a lode_s3_result;
 * on a file:// endpoint, done while starting. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

#include "lode.h"
#include "call.h"

enum { K_LIST, K_HEAD, K_GET, K_PUT, K_DELETE, K_DELETE_BATCH, K_COPY, K_LIST_UPLOADS, K_ABORT, K_CREATE_BUCKET,
       K_HEAD_BUCKET, K_CREATE_UPLOAD, K_UPLOAD_PART, K_COMPLETE_UPLOAD, K_SKIPPED };

typedef struct {
    lode_s3_call base;
    int kind;
    s3_req *req;
    char *body;                  /* request body (put data, delete and bucket XML) */
    char *upload_id;             /* upload_part: the upload aborted when the part is cancelled, or NULL */
} simple_call;

/* ---- the common part of every call ------------------------------------------------ */

lode_s3_call *s3_call_new(size_t size, lode_s3 *c, const char *bucket, const char *key, lode_s3_call_cb cb,
                          void *ud)
{
    lode_s3_call *call = calloc(1, size);
    if (!call) return NULL;
    call->c = c;
    call->cb = cb;
    call->ud = ud;
    call->starting = 1;
    call->bucket = strdup(bucket ? bucket : "");
    call->key = strdup(key ? key : "");
    if (!call->bucket || !call->key) {
        free(call->bucket);
        free(call->key);
        free(call);
        return NULL;
    }
    return call;
}

void s3_call_finish(lode_s3_call *call)
{
    if (call->finished) return;
    call->finished = 1;
    if (!call->starting && call->cb) call->cb(call, call->ud);
}

lode_s3_call *s3_call_started(lode_s3_call *call)
{
    call->starting = 0;
    return call;
}

void s3_call_fail(lode_s3_call *call, const lode_s3_error *e)
{
    if (call->failed) return;
    call->failed = 1;
    call->err = *e;
}

int lode_s3_call_finished(const lode_s3_call *call) { return call->finished; }

void lode_s3_call_cancel(lode_s3_call *call)
{
    if (!call->finished && call->cancel) call->cancel(call);
}

const lode_s3_error *lode_s3_call_error(const lode_s3_call *call) { return call->failed ? &call->err : NULL; }

const lode_s3_result *lode_s3_call_result(const lode_s3_call *call) { return &call->res; }

static void object_free(lode_s3_object *o)
{
    free(o->key);
    free(o->last_modified);
    free(o->upload_id);
}

void lode_s3_call_free(lode_s3_call *call)
{
    if (!call) return;
    if (call->release) call->release(call);
    lode_s3_result *r = &call->res;
    for (size_t i = 0; i < r->nobjects; i++) object_free(&r->objects[i]);
    free(r->objects);
    for (size_t i = 0; i < r->nprefixes; i++) free(r->prefixes[i]);
    free(r->prefixes);
    free(r->next);
    object_free(&r->object);
    free(r->content_type);
    free(r->data);
    free(call->bucket);
    free(call->key);
    free(call);
}

/* ---- helpers ------------------------------------------------------------------------ */

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

static char *iso_time(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char out[32];
    gmtime_r(&tt, &tm);
    strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    return strdup(out);
}

static void copy_etag(char dst[80], const char *src)
{
    snprintf(dst, 80, "%s", src ? src : "");
}

static void oom(lode_s3_call *call)
{
    lode_s3_error e;
    s3_error_set(&e, 0, "internal", "out of memory", call->bucket, call->key, 0);
    s3_call_fail(call, &e);
}

/* A file:// object as a result object (its mtime as ISO 8601). */
static void object_from_file(lode_s3_object *o, const s3_file_object *f, const char *key)
{
    o->key = xstrdup(key ? key : f->key);
    o->size = f->size;
    copy_etag(o->etag, f->etag);
    o->last_modified = iso_time(f->mtime);
}

/* Parse <Contents>/<CommonPrefixes> (list) or <Upload> (list_uploads). */
static int parse_list(simple_call *s, const char *b, const char *e)
{
    lode_s3_result *r = &s->base.res;
    size_t cap = 0;
    const char *p = b, *inner;
    size_t len;
    const char *tag = s->kind == K_LIST_UPLOADS ? "Upload" : "Contents";
    while ((p = s3_xml_next(p, e, tag, &inner, &len))) {
        if (r->nobjects == cap) {
            cap = cap ? cap * 2 : 64;
            lode_s3_object *o = realloc(r->objects, cap * sizeof *o);
            if (!o) return -1;
            r->objects = o;
        }
        lode_s3_object *o = &r->objects[r->nobjects];
        memset(o, 0, sizeof *o);
        const char *ie = inner + len;
        o->key = s3_xml_get(inner, ie, "Key");
        char *size = s3_xml_get(inner, ie, "Size"), *etag = s3_xml_get(inner, ie, "ETag");
        o->size = size ? strtoll(size, NULL, 10) : 0;
        copy_etag(o->etag, etag);
        free(size);
        free(etag);
        o->last_modified = s3_xml_get(inner, ie, s->kind == K_LIST_UPLOADS ? "Initiated" : "LastModified");
        if (!o->last_modified) o->last_modified = iso_time(0);
        o->upload_id = s3_xml_get(inner, ie, "UploadId");
        r->nobjects++;
    }
    size_t pcap = 0;
    p = b;
    while ((p = s3_xml_next(p, e, "CommonPrefixes", &inner, &len))) {
        if (r->nprefixes == pcap) {
            pcap = pcap ? pcap * 2 : 16;
            char **n = realloc(r->prefixes, pcap * sizeof *n);
            if (!n) return -1;
            r->prefixes = n;
        }
        char *pf = s3_xml_get(inner, inner + len, "Prefix");
        if (pf) r->prefixes[r->nprefixes++] = pf;
    }
    char *trunc = s3_xml_get(b, e, "IsTruncated");
    if (trunc && strcmp(trunc, "true") == 0) {
        r->next = s3_xml_get(b, e, s->kind == K_LIST_UPLOADS ? "NextKeyMarker" : "NextContinuationToken");
        if (!r->next && r->nobjects) r->next = xstrdup(r->objects[r->nobjects - 1].key);
    }
    free(trunc);
    return 0;
}

/* ---- the simple call: one request, results parsed on the loop ---------------------- */

static void simple_done(s3_req *req, void *ud)
{
    simple_call *s = ud;
    lode_s3_call *call = &s->base;
    lode_s3_result *r = &call->res;
    const lode_s3_error *e = s3_req_error(req);
    if (e) {
        int failed = 1;
        if (s->kind == K_DELETE && e->status == 404 && strcmp(e->code, "NoSuchKey") == 0) failed = 0;
        if (s->kind == K_CREATE_BUCKET && strcmp(e->code, "BucketAlreadyOwnedByYou") == 0) {
            failed = 0;
            r->exists = 1;
        }
        if (s->kind == K_HEAD_BUCKET && (e->status == 404 || e->status == 403)) {
            failed = 0;
            r->exists = 0;
        }
        if (failed) s3_call_fail(call, e);
        s3_call_finish(call);
        return;
    }
    const lode_http *h = s3_req_http(req);
    size_t n;
    const char *b = s3_req_body(req, &n), *end = b + n;
    switch (s->kind) {
    case K_LIST:
    case K_LIST_UPLOADS:
        if (parse_list(s, b, end) != 0) oom(call);
        break;
    case K_HEAD: {
        const char *len = lode_http_header(h, "content-length");
        r->object.key = xstrdup(call->key);
        r->object.size = len ? strtoll(len, NULL, 10) : 0;
        copy_etag(r->object.etag, lode_http_header(h, "etag"));
        r->content_type = xstrdup(lode_http_header(h, "content-type"));
        r->object.last_modified = xstrdup(lode_http_header(h, "last-modified"));
        if (!r->object.last_modified) r->object.last_modified = iso_time(0);
        break;
    }
    case K_GET:
        r->data = s3_req_take_body(req, &r->ndata);   /* the body as received, not a copy */
        break;
    case K_PUT:
    case K_UPLOAD_PART:
        copy_etag(r->object.etag, lode_http_header(h, "etag"));
        break;
    case K_CREATE_UPLOAD:
        r->object.upload_id = s3_xml_get(b, end, "UploadId");
        if (!r->object.upload_id) {
            lode_s3_error err;
            s3_error_set(&err, 200, "InternalError", "CreateMultipartUpload returned no UploadId", call->bucket,
                         call->key, 0);
            s3_call_fail(call, &err);
        }
        break;
    case K_COMPLETE_UPLOAD: {
        /* S3 may answer 200 and put the error in the body */
        char *etag = s3_xml_get(b, end, "ETag");
        if (!etag) {
            char *code = s3_xml_get(b, end, "Code"), *msg = s3_xml_get(b, end, "Message");
            lode_s3_error err;
            s3_error_set(&err, 200, code ? code : "InternalError",
                         msg ? msg : "CompleteMultipartUpload returned no ETag", call->bucket, call->key,
                         s3_code_retryable(0, code));
            s3_call_fail(call, &err);
            free(code);
            free(msg);
        }
        copy_etag(r->object.etag, etag);
        free(etag);
        break;
    }
    case K_HEAD_BUCKET:
        r->exists = 1;
        break;
    case K_COPY: {
        char *etag = s3_xml_get(b, end, "ETag");
        copy_etag(r->object.etag, etag);
        free(etag);
        break;
    }
    case K_DELETE_BATCH: {
        const char *p = b, *inner;
        size_t len;
        while ((p = s3_xml_next(p, end, "Deleted", &inner, &len))) r->deleted++;
        if (s3_xml_next(b, end, "Error", &inner, &len)) {
            char *k = s3_xml_get(inner, inner + len, "Key"), *code = s3_xml_get(inner, inner + len, "Code"),
                 *msg = s3_xml_get(inner, inner + len, "Message");
            lode_s3_error err;
            s3_error_set(&err, 200, code ? code : "InternalError", msg ? msg : "delete failed",
                         call->bucket, k, s3_code_retryable(0, code));
            s3_call_fail(call, &err);
            free(k);
            free(code);
            free(msg);
        }
        break;
    }
    default:
        break;
    }
    s3_call_finish(call);
}

static void simple_cancel(lode_s3_call *call)
{
    simple_call *s = (simple_call *)call;
    /* a part cancelled (SIGTERM, a timeout) leaves no upload behind; the
     * abort first, since the cancel may finish the call and its owner
     * free it at once (the abort is sent on the next loop turn anyway) */
    if (s->upload_id) lode_s3_abort_upload_detached(call->c, call->bucket, call->key, s->upload_id);
    s3_req_cancel(s->req);
}

static void simple_release(lode_s3_call *call)
{
    simple_call *s = (simple_call *)call;
    s3_req_free(s->req);
    free(s->body);
    free(s->upload_id);
}

static simple_call *simple_new(lode_s3 *c, int kind, const char *bucket, const char *key, lode_s3_call_cb cb,
                               void *ud)
{
    simple_call *s = (simple_call *)s3_call_new(sizeof *s, c, bucket, key, cb, ud);
    if (!s) return NULL;
    s->kind = kind;
    s->base.cancel = simple_cancel;
    s->base.release = simple_release;
    return s;
}

/* Start the request for s, or finish it with the start error. */
static lode_s3_call *simple_start(simple_call *s, s3_req_opts *o)
{
    o->on_done = simple_done;
    o->ud = s;
    if (o->body_len == 0 && !o->body) o->body_len = -1;
    lode_s3_error e;
    s->req = s3_request(s->base.c, o, &e);
    if (!s->req) {
        s3_call_fail(&s->base, &e);
        s3_call_finish(&s->base);
    }
    return s3_call_started(&s->base);
}

/* Finish s while starting (file:// endpoint, an early error). */
static lode_s3_call *simple_finished(simple_call *s)
{
    s3_call_finish(&s->base);
    return s3_call_started(&s->base);
}

lode_s3_call *s3_call_skipped(lode_s3 *c, const char *bucket, const char *key, lode_s3_call_cb cb, void *ud,
                              const char *fmt, ...)
{
    char what[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    lode_logf(LODE_LOG_INFO, "plan: s3.%s (skipped in a dry run)", what);
    simple_call *s = simple_new(c, K_SKIPPED, bucket, key, cb, ud);
    return s ? simple_finished(s) : NULL;
}

lode_s3_call *lode_s3_list_page(lode_s3 *c, const char *bucket, const char *prefix, const lode_s3_list_opts *lo,
                                lode_s3_call_cb cb, void *ud)
{
    simple_call *s = simple_new(c, K_LIST, bucket, prefix, cb, ud);
    if (!s) return NULL;
    lode_s3_result *r = &s->base.res;
    if (c->file_root) {
        int trunc;
        const char *after = lo->token ? lo->token : lo->start_after;
        s3_file_object *objs = NULL;
        size_t nobjs = 0;
        if (s3_file_list(c, bucket, prefix, lo->delimiter, after, lo->max_keys, &objs, &nobjs, &r->prefixes,
                         &r->nprefixes, &trunc, &s->base.err) != 0) {
            s->base.failed = 1;
        } else {
            if (trunc)
                r->next = xstrdup(r->nprefixes && (!nobjs || strcmp(r->prefixes[r->nprefixes - 1],
                                  objs[nobjs - 1].key) > 0) ? r->prefixes[r->nprefixes - 1] : objs[nobjs - 1].key);
            r->objects = calloc(nobjs ? nobjs : 1, sizeof *r->objects);
            if (!r->objects) oom(&s->base);
            else {
                r->nobjects = nobjs;
                for (size_t i = 0; i < nobjs; i++) object_from_file(&r->objects[i], &objs[i], NULL);
            }
        }
        s3_file_list_free(objs, nobjs, NULL, 0);
        return simple_finished(s);
    }
    char mk[24];
    snprintf(mk, sizeof mk, "%d", lo->max_keys);
    lode_kv q[6];
    size_t n = 0;
    q[n++] = (lode_kv){"list-type", "2"};
    q[n++] = (lode_kv){"max-keys", mk};
    q[n++] = (lode_kv){"prefix", prefix};
    if (lo->delimiter) q[n++] = (lode_kv){"delimiter", lo->delimiter};
    if (lo->token) q[n++] = (lode_kv){"continuation-token", lo->token};
    if (lo->start_after) q[n++] = (lode_kv){"start-after", lo->start_after};
    s3_req_opts o = {.method = "GET", .bucket = bucket, .key = NULL, .query = q, .nquery = n, .body_len = -1,
                     .max_body = 32u << 20};
    return simple_start(s, &o);
}

lode_s3_call *lode_s3_head(lode_s3 *c, const char *bucket, const char *key, lode_s3_call_cb cb, void *ud)
{
    simple_call *s = simple_new(c, K_HEAD, bucket, key, cb, ud);
    if (!s) return NULL;
    if (c->file_root) {
        s3_file_object obj;
        if (s3_file_head(c, bucket, key, &obj, &s->base.err) != 0) s->base.failed = 1;
        else object_from_file(&s->base.res.object, &obj, key);
        return simple_finished(s);
    }
    s3_req_opts o = {.method = "HEAD", .bucket = bucket, .key = key, .body_len = -1};
    return simple_start(s, &o);
}

lode_s3_call *lode_s3_get(lode_s3 *c, const char *bucket, const char *key, const lode_s3_get_opts *g,
                          lode_s3_call_cb cb, void *ud)
{
    simple_call *s = simple_new(c, K_GET, bucket, key, cb, ud);
    if (!s) return NULL;
    if (c->file_root) {
        int64_t first = g->ranged ? (int64_t)g->first : 0;
        int64_t len = g->ranged && g->last != UINT64_MAX ? (int64_t)(g->last - g->first + 1) : -1;
        if (s3_file_get(c, bucket, key, first, len, &s->base.res.data, &s->base.res.ndata, &s->base.err) != 0)
            s->base.failed = 1;
        return simple_finished(s);
    }
    s3_req_opts o = {.method = "GET", .bucket = bucket, .key = key, .body_len = -1, .max_body = g->max_size,
                     .ranged = g->ranged, .range_first = g->first, .range_last = g->last, .if_match = g->if_match};
    return simple_start(s, &o);
}

lode_s3_call *lode_s3_put(lode_s3 *c, const char *bucket, const char *key, const void *data, size_t n,
                          const char *content_type, lode_s3_call_cb cb, void *ud)
{
    if (lode_dry_run()) return s3_call_skipped(c, bucket, key, cb, ud, "put s3://%s/%s", bucket, key);
    simple_call *s = simple_new(c, K_PUT, bucket, key, cb, ud);
    if (!s) return NULL;
    if (c->file_root) {
        s3_file_object obj;
        memset(&obj, 0, sizeof obj);
        if (s3_file_put(c, bucket, key, data, n, NULL, &obj, &s->base.err) != 0) s->base.failed = 1;
        else copy_etag(s->base.res.object.etag, obj.etag);
        return simple_finished(s);
    }
    s->body = malloc(n ? n : 1);
    if (s->body) memcpy(s->body, data, n);
    lode_kv h[] = {{"content-type", content_type ? content_type : "binary/octet-stream"}};
    s3_req_opts o = {.method = "PUT", .bucket = bucket, .key = key, .headers = h, .nheaders = 1,
                     .body = s->body, .body_len = (int64_t)n};
    if (!s->body) o.body_len = -1;
    return simple_start(s, &o);
}

lode_s3_call *lode_s3_copy(lode_s3 *c, const char *sb, const char *sk, const char *db, const char *dk,
                           lode_s3_call_cb cb, void *ud)
{
    if (lode_dry_run()) return s3_call_skipped(c, db, dk, cb, ud, "copy s3://%s/%s", db, dk);
    simple_call *s = simple_new(c, K_COPY, db, dk, cb, ud);
    if (!s) return NULL;
    if (c->file_root) {
        char *src = s3_file_path(c, sb, sk);
        s3_file_object tmp, obj;
        memset(&obj, 0, sizeof obj);
        if (!src || s3_file_head(c, sb, sk, &tmp, &s->base.err) != 0 ||
            s3_file_put(c, db, dk, NULL, 0, src, &obj, &s->base.err) != 0)
            s->base.failed = 1;
        else
            copy_etag(s->base.res.object.etag, obj.etag);
        if (!src) s3_error_set(&s->base.err, 404, "NoSuchKey", "the source key does not exist", sb, sk, 0);
        free(src);
        return simple_finished(s);
    }
    char *raw = NULL, *src = NULL;
    if (asprintf(&raw, "/%s/%s", sb, sk) < 0) raw = NULL;
    src = raw ? lode_uri_encode(raw, strlen(raw), 1) : NULL;
    free(raw);
    lode_kv h[] = {{"x-amz-copy-source", src ? src : ""}};
    s3_req_opts o = {.method = "PUT", .bucket = db, .key = dk, .headers = h, .nheaders = 1, .body_len = -1};
    lode_s3_call *call = simple_start(s, &o);
    free(src);
    return call;
}

lode_s3_call *lode_s3_create_bucket(lode_s3 *c, const char *bucket, const char *region, lode_s3_call_cb cb,
                                    void *ud)
{
    if (lode_dry_run()) return s3_call_skipped(c, bucket, NULL, cb, ud, "create_bucket %s", bucket);
    simple_call *s = simple_new(c, K_CREATE_BUCKET, bucket, NULL, cb, ud);
    if (!s) return NULL;
    if (c->file_root) {
        if (s3_file_create_bucket(c, bucket, &s->base.res.exists, &s->base.err) != 0) s->base.failed = 1;
        return simple_finished(s);
    }
    s3_req_opts o = {.method = "PUT", .bucket = bucket, .key = NULL, .body = "", .body_len = 0};
    if (strcmp(region, "us-east-1") != 0) {
        /* us-east-1 is the default location and S3 refuses it as a constraint */
        int n = asprintf(&s->body, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                                   "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>", region);
        if (n < 0) {
            s->body = NULL;
            oom(&s->base);
            return simple_finished(s);
        }
        o.body = s->body;
        o.body_len = n;
    }
    return simple_start(s, &o);
}

lode_s3_call *lode_s3_head_bucket(lode_s3 *c, const char *bucket, lode_s3_call_cb cb, void *ud)
{
    simple_call *s = simple_new(c, K_HEAD_BUCKET, bucket, NULL, cb, ud);
    if (!s) return NULL;
    if (c->file_root) {
        char *p = s3_file_path(c, bucket, NULL);
        struct stat st;
        s->base.res.exists = p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
        free(p);
        return simple_finished(s);
    }
    s3_req_opts o = {.method = "HEAD", .bucket = bucket, .key = NULL, .body_len = -1};
    return simple_start(s, &o);
}

lode_s3_call *lode_s3_delete(lode_s3 *c, const char *bucket, const char *key, lode_s3_call_cb cb, void *ud)
{
    if (lode_dry_run()) return s3_call_skipped(c, bucket, key, cb, ud, "delete s3://%s/%s", bucket, key);
    simple_call *s = simple_new(c, K_DELETE, bucket, key, cb, ud);
    if (!s) return NULL;
    if (c->file_root) {
        if (s3_file_delete(c, bucket, key, &s->base.err) != 0) s->base.failed = 1;
        return simple_finished(s);
    }
    s3_req_opts o = {.method = "DELETE", .bucket = bucket, .key = key, .body_len = -1};
    return simple_start(s, &o);
}

/* The DeleteObjects body for keys (malloc'd, *len set), or NULL when out of memory. */
static char *delete_xml(const char *const *keys, size_t nkeys, size_t *outlen)
{
    size_t len = 0, cap = 0;
    char *x = NULL;
    int oom = s3_xml_escape_append(&x, &len, &cap, "");
    const char *head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>false</Quiet>";
    if (!oom && len + strlen(head) + 1 < cap) {
        memcpy(x, head, strlen(head) + 1);
        len = strlen(head);
    }
    for (size_t i = 0; i < nkeys && !oom; i++) {
        oom |= s3_xml_escape_append(&x, &len, &cap, "") ;
        /* append raw tags around the escaped key */
        char *tmp = NULL;
        size_t tl = 0, tc = 0;
        oom |= s3_xml_escape_append(&tmp, &tl, &tc, keys[i]);
        if (!oom) {
            size_t need = len + tl + 32;
            if (need > cap) {
                char *nx = realloc(x, need * 2);
                if (!nx) oom = 1;
                else {
                    x = nx;
                    cap = need * 2;
                }
            }
            if (!oom) len += (size_t)sprintf(x + len, "<Object><Key>%s</Key></Object>", tmp);
        }
        free(tmp);
    }
    if (!oom) {
        char *nx = realloc(x, len + 16);
        if (nx) {
            x = nx;
            len += (size_t)sprintf(x + len, "</Delete>");
        } else {
            oom = 1;
        }
    }
    if (oom) {
        free(x);
        return NULL;
    }
    *outlen = len;
    return x;
}

lode_s3_call *lode_s3_delete_batch(lode_s3 *c, const char *bucket, const char *const *keys, size_t nkeys,
                                   lode_s3_call_cb cb, void *ud)
{
    if (lode_dry_run())
        return s3_call_skipped(c, bucket, NULL, cb, ud, "delete %zu keys in s3://%s", nkeys, bucket);
    simple_call *s = simple_new(c, K_DELETE_BATCH, bucket, "", cb, ud);
    if (!s) return NULL;
    if (c->file_root) {
        for (size_t i = 0; i < nkeys && !s->base.failed; i++) {
            if (s3_file_delete(c, bucket, keys[i], &s->base.err) != 0) s->base.failed = 1;
            else s->base.res.deleted++;
        }
        return simple_finished(s);
    }
    size_t len = 0;
    s->body = delete_xml(keys, nkeys, &len);
    if (!s->body) {
        lode_s3_error e;
        s3_error_set(&e, 0, "internal", "out of memory", bucket, NULL, 0);
        s3_call_fail(&s->base, &e);
        return simple_finished(s);
    }
    /* DeleteObjects requires Content-MD5 (base64 of the MD5 of the body) */
    unsigned char md5[16];
    unsigned int ml = 16;
    EVP_Digest(s->body, len, md5, &ml, EVP_md5(), NULL);
    char b64[32];
    EVP_EncodeBlock((unsigned char *)b64, md5, 16);
    lode_kv h[] = {{"content-md5", b64}, {"content-type", "application/xml"}};
    lode_kv q[] = {{"delete", NULL}};
    s3_req_opts o = {.method = "POST", .bucket = bucket, .key = NULL, .query = q, .nquery = 1,
                     .headers = h, .nheaders = 2, .body = s->body, .body_len = (int64_t)len};
    return simple_start(s, &o);
}

lode_s3_call *lode_s3_list_uploads(lode_s3 *c, const char *bucket, const char *prefix, lode_s3_call_cb cb,
                                   void *ud)
{
    simple_call *s = simple_new(c, K_LIST_UPLOADS, bucket, prefix, cb, ud);
    if (!s) return NULL;
    if (c->file_root) return simple_finished(s);   /* the file:// endpoint has no multipart uploads */
    lode_kv q[] = {{"uploads", NULL}, {"prefix", prefix}};
    s3_req_opts o = {.method = "GET", .bucket = bucket, .query = q, .nquery = *prefix ? 2 : 1, .body_len = -1};
    return simple_start(s, &o);
}

lode_s3_call *lode_s3_abort_upload(lode_s3 *c, const char *bucket, const char *key, const char *upload_id,
                                   lode_s3_call_cb cb, void *ud)
{
    simple_call *s = simple_new(c, K_ABORT, bucket, key, cb, ud);
    if (!s) return NULL;
    lode_kv q[] = {{"uploadId", upload_id}};
    s3_req_opts o = {.method = "DELETE", .bucket = bucket, .key = key, .query = q, .nquery = 1, .body_len = -1};
    return simple_start(s, &o);
}

/* Detached aborts still running: the runtime's shutdown waits for them
 * (before the HTTP layer is torn down), so a cancelled run leaves no
 * multipart upload behind. */
static int detached_aborts;

static void wait_detached_aborts(void *ud)
{
    (void)ud;
    while (detached_aborts > 0 && uv_run(lode_loop(), UV_RUN_ONCE)) {
    }
}

static void detached_abort_done(lode_s3_call *call, void *ud)
{
    (void)ud;
    const lode_s3_error *e = lode_s3_call_error(call);
    if (e && strcmp(e->code, "NoSuchUpload") != 0)   /* NoSuchUpload: aborted already */
        lode_logf(LODE_LOG_WARN, "s3: could not abort a multipart upload of %s: %s", e->key, e->message);
    lode_s3_call_free(call);
    detached_aborts--;
}

void lode_s3_abort_upload_detached(lode_s3 *c, const char *bucket, const char *key, const char *upload_id)
{
    static int hooked;
    if (!hooked) {
        lode_on_shutdown(wait_detached_aborts, NULL);   /* runs before the HTTP layer's, registered earlier */
        hooked = 1;
    }
    lode_s3_call *call = lode_s3_abort_upload(c, bucket, key, upload_id, detached_abort_done, NULL);
    if (!call) return;
    detached_aborts++;
    if (lode_s3_call_finished(call)) detached_abort_done(call, NULL);
}

/* append s unescaped to the growing buffer (-1: out of memory) */
static int raw_append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c < *len + n + 1) c *= 2;
        char *b = realloc(*buf, c);
        if (!b) return -1;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
    return 0;
}

lode_s3_call *lode_s3_create_upload(lode_s3 *c, const char *bucket, const char *key, const char *content_type,
                                    lode_s3_call_cb cb, void *ud)
{
    simple_call *s = simple_new(c, K_CREATE_UPLOAD, bucket, key, cb, ud);
    if (!s) return NULL;
    if (c->file_root) {
        s3_error_set(&s->base.err, 0, "unsupported", "a file:// endpoint has no multipart uploads", bucket, key, 0);
        s->base.failed = 1;
        return simple_finished(s);
    }
    lode_kv q[] = {{"uploads", NULL}};
    lode_kv h[] = {{"content-type", content_type ? content_type : "binary/octet-stream"}};
    s3_req_opts o = {.method = "POST", .bucket = bucket, .key = key, .query = q, .nquery = 1, .headers = h,
                     .nheaders = 1, .body_len = -1};
    return simple_start(s, &o);
}

lode_s3_call *lode_s3_upload_part(lode_s3 *c, const char *bucket, const char *key, const char *upload_id,
                                  int number, const void *data, size_t n, lode_s3_call_cb cb, void *ud)
{
    simple_call *s = simple_new(c, K_UPLOAD_PART, bucket, key, cb, ud);
    if (!s) return NULL;
    if (c->file_root) {
        s3_error_set(&s->base.err, 0, "unsupported", "a file:// endpoint has no multipart uploads", bucket, key, 0);
        s->base.failed = 1;
        return simple_finished(s);
    }
    s->upload_id = strdup(upload_id);   /* NULL (out of memory): a cancel aborts nothing */
    char num[16];
    snprintf(num, sizeof num, "%d", number);
    lode_kv q[] = {{"partNumber", num}, {"uploadId", upload_id}};
    /* the body is the caller's, not copied: a part is megabytes */
    s3_req_opts o = {.method = "PUT", .bucket = bucket, .key = key, .query = q, .nquery = 2, .body = data,
                     .body_len = (int64_t)n};
    return simple_start(s, &o);
}

lode_s3_call *lode_s3_complete_upload(lode_s3 *c, const char *bucket, const char *key, const char *upload_id,
                                      const char *const *etags, int nparts, int64_t size, lode_s3_call_cb cb,
                                      void *ud)
{
    simple_call *s = simple_new(c, K_COMPLETE_UPLOAD, bucket, key, cb, ud);
    if (!s) return NULL;
    size_t len = 0, cap = 0;
    int bad = raw_append(&s->body, &len, &cap, "<CompleteMultipartUpload>");
    for (int i = 0; i < nparts && !bad; i++) {
        char line[64];
        snprintf(line, sizeof line, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
        /* tags as they are; the ETags escaped (they hold quotes) */
        bad = raw_append(&s->body, &len, &cap, line) ||
              s3_xml_escape_append(&s->body, &len, &cap, etags[i] ? etags[i] : "") ||
              raw_append(&s->body, &len, &cap, "</ETag></Part>");
    }
    if (!bad) bad = raw_append(&s->body, &len, &cap, "</CompleteMultipartUpload>");
    if (bad) {
        oom(&s->base);
        return simple_finished(s);
    }
    lode_kv q[] = {{"uploadId", upload_id}};
    lode_kv h[] = {{"content-type", "application/xml"}};
    s3_req_opts o = {.method = "POST", .bucket = bucket, .key = key, .query = q, .nquery = 1, .headers = h,
                     .nheaders = 1, .body = s->body, .body_len = (int64_t)len,
                     .server_work_bytes = size > 0 ? (uint64_t)size : 0};
    return simple_start(s, &o);
}

/* ---- settings, presigning ------------------------------------------------------------ */

void lode_s3_get_settings(const lode_s3 *c, lode_s3_settings *s)
{
    *s = (lode_s3_settings){.max_attempts = c->max_attempts, .part_size = c->part_size,
                            .multipart_threshold = c->multipart_threshold, .concurrency = c->concurrency,
                            .low_speed_time_s = c->low_speed_time_s, .connect_timeout_ms = c->connect_timeout_ms,
                            .backoff_base_ms = c->backoff_base_ms, .backoff_cap_ms = c->backoff_cap_ms,
                            .deadline_ms = c->deadline_ms, .min_rate = c->min_rate};
}

void lode_s3_set_settings(lode_s3 *c, const lode_s3_settings *s)
{
    c->max_attempts = (int)s->max_attempts;
    c->part_size = s->part_size;
    c->multipart_threshold = s->multipart_threshold;
    c->concurrency = (int)s->concurrency;
    c->low_speed_time_s = (long)s->low_speed_time_s;
    c->connect_timeout_ms = (long)s->connect_timeout_ms;
    c->backoff_base_ms = (int)s->backoff_base_ms;
    c->backoff_cap_ms = (int)s->backoff_cap_ms;
    c->deadline_ms = (long)s->deadline_ms;
    c->min_rate = (long)s->min_rate;
}

const char *lode_s3_addressing_name(const lode_s3 *c) { return c->file_root ? "file" : c->path_style ? "path" : "virtual"; }

int lode_s3_bucket_name_ok(const char *name, size_t n)
{
    int ok = n >= 3 && n <= 63;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = name[i];
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        ok = alnum || ((ch == '-' || ch == '.') && i > 0 && i + 1 < n);
    }
    return ok;
}

const char *lode_s3_bucket_of(const char *arg, size_t *n)
{
    if (strncmp(arg, "s3://", 5) != 0) {
        *n = strlen(arg);
        return arg;
    }
    const char *name = arg + 5, *slash = strchr(name, '/');
    if (slash && slash[1]) return NULL;
    *n = slash ? (size_t)(slash - name) : strlen(name);
    return name;
}

int lode_s3_parse_range(const char *s, uint64_t *first, uint64_t *last)
{
    long long a = 0, b = -1;
    if (sscanf(s, "bytes=%lld-%lld", &a, &b) < 1 || a < 0 || (b >= 0 && b < a)) return -1;
    *first = (uint64_t)a;
    *last = b >= 0 ? (uint64_t)b : UINT64_MAX;
    return 0;
}

int lode_s3_region_name_ok(const char *region)
{
    for (const char *p = region; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) return 0;
    return 1;
}

const char *lode_s3_region(const lode_s3 *c) { return c->cfg.region; }

/* ---- presign: waits for credentials when none are cached ------------------------- */

typedef struct {
    lode_s3_call base;
    lode_aws_creds_query *q;
    char *method;
    int64_t now, expires;
} presign_call;

/* Sign with keys (NULL: file://), or fail with the credential error. */
static void presign_with(presign_call *p, lode_aws_creds *keys, const lode_aws_creds_error *ce)
{
    lode_s3_call *call = &p->base;
    if (!keys && call->c->creds) {
        lode_s3_error e;
        memset(&e, 0, sizeof e);
        snprintf(e.code, sizeof e.code, "%s", ce->code);
        snprintf(e.message, sizeof e.message, "%s", ce->message);
        s3_call_fail(call, &e);
    } else {
        lode_s3_error e;
        call->res.data = s3_presign_with(call->c, keys ? &keys->keys : NULL, p->method, call->bucket, call->key,
                                         p->now, p->expires, &e);
        if (!call->res.data) s3_call_fail(call, &e);
        else call->res.ndata = strlen(call->res.data);
    }
    lode_aws_creds_unref(keys);
    s3_call_finish(call);
}

static void presign_keys(void *ud, lode_aws_creds *keys, const lode_aws_creds_error *e)
{
    presign_call *p = ud;
    p->q = NULL;
    presign_with(p, keys, e);
}

static void presign_cancel(lode_s3_call *call)
{
    presign_call *p = (presign_call *)call;
    lode_aws_creds_cancel(p->q);
    p->q = NULL;
    lode_s3_error e;
    s3_error_set(&e, 0, "cancelled", "cancelled", call->bucket, call->key, 0);
    s3_call_fail(call, &e);
    s3_call_finish(call);
}

static void presign_release(lode_s3_call *call)
{
    presign_call *p = (presign_call *)call;
    lode_aws_creds_cancel(p->q);
    free(p->method);
}

lode_s3_call *lode_s3_presign(lode_s3 *c, const char *method, const char *bucket, const char *key, int64_t now,
                              int64_t expires, lode_s3_call_cb cb, void *ud)
{
    presign_call *p = (presign_call *)s3_call_new(sizeof *p, c, bucket, key, cb, ud);
    if (!p) return NULL;
    p->base.cancel = presign_cancel;
    p->base.release = presign_release;
    p->method = strdup(method);
    p->now = now;
    p->expires = expires;
    lode_aws_creds_error ce;
    memset(&ce, 0, sizeof ce);
    lode_aws_creds *keys = NULL;
    if (!p->method) {
        oom(&p->base);
        s3_call_finish(&p->base);
    } else if (c->creds && !(keys = lode_aws_creds_current(c->creds))) {
        p->q = lode_aws_creds_get(c->creds, presign_keys, p, &ce);
        if (!p->q) presign_with(p, NULL, &ce);
    } else {
        presign_with(p, keys, &ce);
    }
    return s3_call_started(&p->base);
}

void lode_s3_set_credential_refresh(lode_s3 *c, int64_t advisory_s, int64_t mandatory_s)
{
    if (c->creds) lode_aws_creds_set_windows(c->creds, advisory_s, mandatory_s);
}

int lode_s3_sign_example(const char *endpoint, const char *region, const char *access_key,
                         const char *secret_key, const char *token, const char *bucket, const char *key,
                         int64_t now, int64_t expires, char **presigned, char **url, char **authorization,
                         lode_s3_error *err)
{
    lode_s3 *c = s3_client_new(endpoint, region, access_key, secret_key, token, err);
    *presigned = *url = *authorization = NULL;
    if (!c) return -1;
    *presigned = s3_presign(c, "GET", bucket, key, now, expires, err);
    s3_sign_for_test(c, bucket, key, now, url, authorization);
    s3_client_free(c);
    return 0;
}

/* s3/transfer.c — the S3 transfer manager of lode/s3/transfer.h: a download
 * as parallel ranged GETs written at their offsets, an upload as one PUT or
 * a multipart upload with parallel parts, aborted on failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lode.h"
#include "call.h"

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

/* ---- download: parallel ranged GETs written at their offsets --------------------- */

typedef struct dl_op dl_op;
typedef struct {
    dl_op *d;
    uint64_t off, len, written;
    s3_req *req;
    int werr;
} dl_part;

struct dl_op {
    lode_s3_call base;
    lode_s3 *c;
    char *bucket, *key, *path;
    int fd;
    uint64_t size, next_off, part_size;
    char etag[80];
    int concurrency, inflight;
    dl_part **slots;
    s3_req *head;
    int failed, cancelled, finished;
    lode_s3_error err;
};

static void dl_finish(dl_op *d)
{
    if (d->finished || d->inflight > 0 || d->head) return;
    d->finished = 1;
    if (d->failed) s3_call_fail(&d->base, &d->err);
    d->base.res.object.size = (int64_t)d->size;
    snprintf(d->base.res.object.etag, sizeof d->base.res.object.etag, "%s", d->etag);
    s3_call_finish(&d->base);
}

static void dl_fail(dl_op *d, const lode_s3_error *e)
{
    if (!d->failed) {
        d->failed = 1;
        d->err = *e;
    }
    for (int i = 0; i < d->concurrency; i++)
        if (d->slots[i] && d->slots[i]->req) s3_req_cancel(d->slots[i]->req);
}

static size_t dl_sink(void *ud, const char *p, size_t n)
{
    dl_part *pt = ud;
    if (pt->written + n > pt->len) return 0;     /* more than asked for: a broken server */
    size_t off = 0;
    while (off < n) {
        ssize_t w = pwrite(pt->d->fd, p + off, n - off, (off_t)(pt->off + pt->written + off));
        if (w < 0) {
            if (errno == EINTR) continue;
            pt->werr = errno;
            return 0;
        }
        off += (size_t)w;
    }
    pt->written += n;
    return n;
}

static void dl_rewind(void *ud) { ((dl_part *)ud)->written = 0; }

static void dl_launch(dl_op *d);

static void dl_part_done(s3_req *req, void *ud)
{
    dl_part *pt = ud;
    dl_op *d = pt->d;
    const lode_s3_error *e = s3_req_error(req);
    lode_s3_error local;
    if (pt->werr) {
        char m[300];
        snprintf(m, sizeof m, "%s: %s", d->path, strerror(pt->werr));
        s3_error_set(&local, 0, "write", m, d->bucket, d->key, 0);
        e = &local;
    } else if (!e && pt->written != pt->len) {
        s3_error_set(&local, 0, "transport", "short response body", d->bucket, d->key, 1);
        e = &local;
    }
    for (int i = 0; i < d->concurrency; i++)
        if (d->slots[i] == pt) d->slots[i] = NULL;
    s3_req_free(req);
    free(pt);
    d->inflight--;
    if (e && !d->failed) dl_fail(d, e);
    dl_launch(d);
    dl_finish(d);
}

static void dl_launch(dl_op *d)
{
    while (!d->failed && !d->cancelled && d->inflight < d->concurrency && d->next_off < d->size) {
        int slot = 0;
        while (d->slots[slot]) slot++;
        dl_part *pt = calloc(1, sizeof *pt);
        if (!pt) {
            lode_s3_error e;
            s3_error_set(&e, 0, "internal", "out of memory", d->bucket, d->key, 0);
            dl_fail(d, &e);
            return;
        }
        pt->d = d;
        pt->off = d->next_off;
        pt->len = d->size - d->next_off < d->part_size ? d->size - d->next_off : d->part_size;
        d->next_off += pt->len;
        s3_req_opts o = {.method = "GET", .bucket = d->bucket, .key = d->key, .body_len = -1, .on_data = dl_sink,
                         .on_retry = dl_rewind, .on_done = dl_part_done, .ud = pt, .ranged = 1,
                         .range_first = pt->off, .range_last = pt->off + pt->len - 1, .object_size = d->size,
                         .if_match = d->etag};
        lode_s3_error e;
        pt->req = s3_request(d->c, &o, &e);
        if (!pt->req) {
            free(pt);
            dl_fail(d, &e);
            return;
        }
        d->slots[slot] = pt;
        d->inflight++;
    }
}

static void dl_head_done(s3_req *req, void *ud)
{
    dl_op *d = ud;
    const lode_s3_error *e = s3_req_error(req);
    if (e) {
        d->failed = 1;
        d->err = *e;
    } else {
        const lode_http *h = s3_req_http(req);
        const char *len = lode_http_header(h, "content-length");
        d->size = len ? strtoull(len, NULL, 10) : 0;
        const char *etag = lode_http_header(h, "etag");
        if (etag) snprintf(d->etag, sizeof d->etag, "%s", etag);
        if (ftruncate(d->fd, (off_t)d->size) != 0) { /* sparse preallocation is only a hint */ }
    }
    s3_req_free(req);
    d->head = NULL;
    if (!d->cancelled) dl_launch(d);
    dl_finish(d);
}

static void dl_cancel(lode_s3_call *call)
{
    dl_op *d = (dl_op *)call;
    d->cancelled = 1;
    lode_s3_error e;
    s3_error_set(&e, 0, "cancelled", "cancelled", d->bucket, d->key, 0);
    if (d->head) s3_req_cancel(d->head);
    dl_fail(d, &e);
    dl_finish(d);
}

static void dl_release(lode_s3_call *call)
{
    dl_op *d = (dl_op *)call;
    if (d->fd >= 0) close(d->fd);
    free(d->slots);
    free(d->path);
}

lode_s3_call *lode_s3_download(lode_s3 *c, const char *bucket, const char *key, const char *path,
                               const lode_s3_transfer_opts *opts, lode_s3_call_cb cb, void *ud)
{
    dl_op *d = (dl_op *)s3_call_new(sizeof *d, c, bucket, key, cb, ud);
    if (!d) return NULL;
    d->base.cancel = dl_cancel;
    d->base.release = dl_release;
    d->c = c;
    d->bucket = d->base.bucket;
    d->key = d->base.key;
    d->path = strdup(path);
    d->part_size = opts->part_size > 0 ? (uint64_t)opts->part_size : (uint64_t)c->part_size;
    d->concurrency = opts->concurrency > 0 ? opts->concurrency : c->concurrency;
    d->slots = calloc((size_t)d->concurrency, sizeof *d->slots);
    d->fd = -1;
    if (c->file_root) {
        s3_file_object obj;
        if (s3_file_head(c, bucket, key, &obj, &d->err) != 0 || s3_file_copy_out(c, bucket, key, path, &d->err) != 0) {
            d->failed = 1;
        } else {
            d->size = (uint64_t)obj.size;
            snprintf(d->etag, sizeof d->etag, "%s", obj.etag);
        }
        dl_finish(d);
        return s3_call_started(&d->base);
    }
    d->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (d->fd < 0 || !d->slots || !d->path) {
        char m[300];
        snprintf(m, sizeof m, "%s: %s", path, d->fd < 0 ? strerror(errno) : "out of memory");
        s3_error_set(&d->err, 0, "write", m, bucket, key, 0);
        d->failed = 1;
        dl_finish(d);
        return s3_call_started(&d->base);
    }
    s3_req_opts o = {.method = "HEAD", .bucket = bucket, .key = key, .body_len = -1,
                     .on_done = dl_head_done, .ud = d};
    d->head = s3_request(c, &o, &d->err);
    if (!d->head) {
        d->failed = 1;
        dl_finish(d);
    }
    return s3_call_started(&d->base);
}

/* ---- upload: single PUT or multipart with parallel parts, aborted on failure ---- */

typedef struct up_op up_op;
typedef struct {
    up_op *u;
    int number;
    uint64_t off, len, sent;
    s3_req *req;
    int rerr;
} up_part;

enum { UP_SINGLE, UP_CREATE, UP_PARTS, UP_COMPLETE, UP_ABORT, UP_DONE };

struct up_op {
    lode_s3_call base;
    lode_s3 *c;
    char *bucket, *key, *path, *content_type;
    int fd;
    uint64_t size, part_size;
    int nparts, next_part, inflight, concurrency, phase;
    char **etags;
    char *upload_id;
    up_part **slots;
    s3_req *ctl;
    char *complete_xml;
    int failed, cancelled, finished;
    int abort_held;             /* lode_cleanup_hold() while the abort is in flight */
    lode_s3_error err;
    char etag[80];
};

static void up_finish(up_op *u)
{
    if (u->finished || u->inflight > 0 || u->ctl) return;
    u->finished = 1;
    lode_s3_result *r = &u->base.res;
    if (u->failed) s3_call_fail(&u->base, &u->err);
    snprintf(r->object.etag, sizeof r->object.etag, "%s",
             u->etag[0] || !u->etags || !u->etags[0] ? u->etag : u->etags[0]);
    r->object.size = (int64_t)u->size;
    r->parts = u->nparts;
    s3_call_finish(&u->base);
}

static size_t up_read(void *ud, char *buf, size_t n)
{
    up_part *pt = ud;
    uint64_t left = pt->len - pt->sent;
    if (n > left) n = (size_t)left;
    if (n == 0) return 0;
    ssize_t r;
    do r = pread(pt->u->fd, buf, n, (off_t)(pt->off + pt->sent));
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
        pt->rerr = r < 0 ? errno : EIO;
        return SIZE_MAX;
    }
    pt->sent += (uint64_t)r;
    return (size_t)r;
}

static void up_rewind(void *ud) { ((up_part *)ud)->sent = 0; }

static void up_abort(up_op *u);
static void up_launch(up_op *u);

static void up_fail(up_op *u, const lode_s3_error *e)
{
    if (!u->failed) {
        u->failed = 1;
        u->err = *e;
    }
    for (int i = 0; i < u->concurrency; i++)
        if (u->slots[i] && u->slots[i]->req) s3_req_cancel(u->slots[i]->req);
}

static void up_ctl_done(s3_req *req, void *ud);

static int up_ctl_start(up_op *u, const char *method, const lode_kv *q, size_t nq, const lode_kv *h, size_t nh,
                        const char *body, size_t blen)
{
    s3_req_opts o = {.method = method, .bucket = u->bucket, .key = u->key, .query = q, .nquery = nq,
                     .headers = h, .nheaders = nh, .body = body, .body_len = body ? (int64_t)blen : -1,
                     .on_done = up_ctl_done, .ud = u};
    lode_s3_error e;
    u->ctl = s3_request(u->c, &o, &e);
    if (!u->ctl) {
        if (!u->failed) {
            u->failed = 1;
            u->err = e;
        }
        return -1;
    }
    return 0;
}

static void up_complete(up_op *u)
{
    size_t len = 0, cap = 0;
    char *x = NULL;
    char line[200];
    int oom = s3_xml_escape_append(&x, &len, &cap, "");
    /* tags are written raw; ETags are escaped (they hold quotes) */
    #define RAW(s) do { if (!oom) { size_t l_ = strlen(s); if (len + l_ + 1 > cap) { char *n_ = realloc(x, (len + l_ + 1) * 2); if (!n_) oom = 1; else { x = n_; cap = (len + l_ + 1) * 2; } } if (!oom) { memcpy(x + len, s, l_ + 1); len += l_; } } } while (0)
    RAW("<CompleteMultipartUpload>");
    for (int i = 0; i < u->nparts && !oom; i++) {
        snprintf(line, sizeof line, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
        RAW(line);
        if (!oom) oom = s3_xml_escape_append(&x, &len, &cap, u->etags[i] ? u->etags[i] : "");
        RAW("</ETag></Part>");
    }
    RAW("</CompleteMultipartUpload>");
    #undef RAW
    if (oom) {
        free(x);
        lode_s3_error e;
        s3_error_set(&e, 0, "internal", "out of memory", u->bucket, u->key, 0);
        up_fail(u, &e);
        up_abort(u);
        return;
    }
    u->complete_xml = x;
    u->phase = UP_COMPLETE;
    lode_kv q[] = {{"uploadId", u->upload_id}};
    lode_kv h[] = {{"content-type", "application/xml"}};
    if (up_ctl_start(u, "POST", q, 1, h, 1, x, len) != 0) up_abort(u);
}

static void up_abort(up_op *u)
{
    if (!u->upload_id) {
        u->phase = UP_DONE;
        return;
    }
    u->phase = UP_ABORT;
    lode_kv q[] = {{"uploadId", u->upload_id}};
    if (up_ctl_start(u, "DELETE", q, 1, NULL, 0, NULL, 0) != 0) {
        u->phase = UP_DONE;
        return;
    }
    /* a cancelled run exits right after this: the abort must still land */
    u->abort_held = 1;
    lode_cleanup_hold();
}

static void up_part_done(s3_req *req, void *ud)
{
    up_part *pt = ud;
    up_op *u = pt->u;
    const lode_s3_error *e = s3_req_error(req);
    lode_s3_error local;
    if (pt->rerr) {
        char m[300];
        snprintf(m, sizeof m, "%s: %s", u->path, strerror(pt->rerr));
        s3_error_set(&local, 0, "read", m, u->bucket, u->key, 0);
        e = &local;
    }
    if (!e) {
        const char *etag = lode_http_header(s3_req_http(req), "etag");
        u->etags[pt->number - 1] = xstrdup(etag ? etag : "");
    }
    for (int i = 0; i < u->concurrency; i++)
        if (u->slots[i] == pt) u->slots[i] = NULL;
    s3_req_free(req);
    free(pt);
    u->inflight--;
    if (e) up_fail(u, e);
    up_launch(u);
    if (u->inflight == 0 && u->phase == UP_PARTS) {
        if (u->failed || u->cancelled) up_abort(u);
        else if (u->next_part >= u->nparts) up_complete(u);
    }
    up_finish(u);
}

static void up_launch(up_op *u)
{
    while (u->phase == UP_PARTS && !u->failed && !u->cancelled && u->inflight < u->concurrency &&
           u->next_part < u->nparts) {
        int slot = 0;
        while (u->slots[slot]) slot++;
        up_part *pt = calloc(1, sizeof *pt);
        if (!pt) {
            lode_s3_error e;
            s3_error_set(&e, 0, "internal", "out of memory", u->bucket, u->key, 0);
            up_fail(u, &e);
            return;
        }
        pt->u = u;
        pt->number = u->next_part + 1;
        pt->off = (uint64_t)u->next_part * u->part_size;
        pt->len = u->size - pt->off < u->part_size ? u->size - pt->off : u->part_size;
        u->next_part++;
        char num[16];
        snprintf(num, sizeof num, "%d", pt->number);
        lode_kv q[] = {{"partNumber", num}, {"uploadId", u->upload_id}};
        s3_req_opts o = {.method = "PUT", .bucket = u->bucket, .key = u->key, .query = q, .nquery = 2,
                         .read_body = up_read, .body_len = (int64_t)pt->len, .on_retry = up_rewind,
                         .on_done = up_part_done, .ud = pt};
        lode_s3_error e;
        pt->req = s3_request(u->c, &o, &e);
        if (!pt->req) {
            free(pt);
            up_fail(u, &e);
            return;
        }
        u->slots[slot] = pt;
        u->inflight++;
    }
}

static void up_ctl_done(s3_req *req, void *ud)
{
    up_op *u = ud;
    const lode_s3_error *e = s3_req_error(req);
    size_t n;
    const char *b = s3_req_body(req, &n);
    const lode_http *h = s3_req_http(req);
    u->ctl = NULL;
    switch (u->phase) {
    case UP_SINGLE:
        if (e) up_fail(u, e);
        else if (h && lode_http_header(h, "etag")) snprintf(u->etag, sizeof u->etag, "%s", lode_http_header(h, "etag"));
        u->phase = UP_DONE;
        break;
    case UP_CREATE:
        if (!e) u->upload_id = s3_xml_get(b, b + n, "UploadId");
        if (e || !u->upload_id) {
            lode_s3_error local;
            if (!e) s3_error_set(&local, 200, "InternalError", "CreateMultipartUpload returned no UploadId", u->bucket, u->key, 0);
            up_fail(u, e ? e : &local);
            u->phase = UP_DONE;
            break;
        }
        u->phase = UP_PARTS;
        if (u->cancelled) {
            up_abort(u);
            break;
        }
        up_launch(u);
        if (u->inflight == 0) up_abort(u);     /* the first part could not start */
        break;
    case UP_COMPLETE:
        if (e) {
            up_fail(u, e);
            up_abort(u);
            break;
        }
        {
            char *etag = s3_xml_get(b, b + n, "ETag");
            snprintf(u->etag, sizeof u->etag, "%s", etag ? etag : "");
            free(etag);
        }
        u->phase = UP_DONE;
        break;
    case UP_ABORT:
        if (e) lode_logf(LODE_LOG_WARN, "s3: could not abort multipart upload of s3://%s/%s: %s", u->bucket, u->key, e->message);
        u->phase = UP_DONE;
        if (u->abort_held) {
            u->abort_held = 0;
            lode_cleanup_release();
        }
        break;
    }
    s3_req_free(req);
    up_finish(u);
}

static void up_cancel(lode_s3_call *call)
{
    up_op *u = (up_op *)call;
    u->cancelled = 1;
    lode_s3_error e;
    s3_error_set(&e, 0, "cancelled", "cancelled", u->bucket, u->key, 0);
    up_fail(u, &e);
    if (u->ctl && u->phase != UP_ABORT && u->phase != UP_CREATE) s3_req_cancel(u->ctl);
    up_finish(u);
}

static void up_release(lode_s3_call *call)
{
    up_op *u = (up_op *)call;
    if (u->abort_held) lode_cleanup_release();
    if (u->fd >= 0) close(u->fd);
    for (int i = 0; u->etags && i < u->nparts; i++) free(u->etags[i]);
    free(u->etags);
    free(u->slots);
    free(u->upload_id);
    free(u->complete_xml);
    free(u->path);
    free(u->content_type);
}

/* Finish u while starting with the error already recorded. */
static lode_s3_call *up_finished(up_op *u)
{
    up_finish(u);
    return s3_call_started(&u->base);
}

lode_s3_call *lode_s3_upload(lode_s3 *c, const char *path, const char *bucket, const char *key,
                             const lode_s3_transfer_opts *opts, lode_s3_call_cb cb, void *ud)
{
    if (lode_dry_run()) return s3_call_skipped(c, bucket, key, cb, ud, "upload s3://%s/%s", bucket, key);
    up_op *u = (up_op *)s3_call_new(sizeof *u, c, bucket, key, cb, ud);
    if (!u) return NULL;
    u->base.cancel = up_cancel;
    u->base.release = up_release;
    u->c = c;
    u->fd = -1;
    u->bucket = u->base.bucket;
    u->key = u->base.key;
    u->path = strdup(path);
    u->content_type = strdup(opts->content_type ? opts->content_type : "binary/octet-stream");
    u->concurrency = opts->concurrency > 0 ? opts->concurrency : c->concurrency;
    u->phase = UP_DONE;
    struct stat st;
    u->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (u->fd < 0 || fstat(u->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        char m[300];
        snprintf(m, sizeof m, "%s: %s", path, u->fd < 0 ? strerror(errno) : "not a regular file");
        s3_error_set(&u->err, 0, "read", m, bucket, key, 0);
        u->failed = 1;
        return up_finished(u);
    }
    u->size = (uint64_t)st.st_size;
    if (c->file_root) {
        s3_file_object obj;
        if (s3_file_put(c, bucket, key, NULL, 0, path, &obj, &u->err) != 0) u->failed = 1;
        else snprintf(u->etag, sizeof u->etag, "%s", obj.etag);
        u->nparts = 1;
        return up_finished(u);
    }
    u->part_size = opts->part_size > 0 ? (uint64_t)opts->part_size : (uint64_t)c->part_size;
    if (u->size / u->part_size >= 10000) u->part_size = u->size / 9999 + 1;   /* at most 10,000 parts */
    uint64_t thr = opts->multipart_threshold >= 0 ? (uint64_t)opts->multipart_threshold
                                                  : (uint64_t)c->multipart_threshold;
    lode_kv h[] = {{"content-type", u->content_type}};
    if (u->size <= thr) u->phase = UP_SINGLE;
    u->nparts = u->phase == UP_SINGLE ? 1 : (int)((u->size + u->part_size - 1) / u->part_size);
    if (u->phase == UP_SINGLE) {
        u->etags = calloc(1, sizeof *u->etags);
        u->slots = calloc((size_t)u->concurrency, sizeof *u->slots);
        /* a single PUT is a one-part transfer without an uploadId */
        up_part *pt = calloc(1, sizeof *pt);
        if (!pt || !u->etags || !u->slots || !u->path || !u->content_type) {
            free(pt);
            s3_error_set(&u->err, 0, "internal", "out of memory", bucket, key, 0);
            u->failed = 1;
            return up_finished(u);
        }
        pt->u = u;
        pt->number = 1;
        pt->len = u->size;
        u->next_part = 1;
        s3_req_opts o = {.method = "PUT", .bucket = bucket, .key = key, .headers = h, .nheaders = 1,
                         .read_body = up_read, .body_len = (int64_t)u->size, .on_retry = up_rewind,
                         .on_done = up_part_done, .ud = pt};
        pt->req = s3_request(c, &o, &u->err);
        if (!pt->req) {
            free(pt);
            u->failed = 1;
            return up_finished(u);
        }
        u->slots[0] = pt;
        u->inflight = 1;
        return s3_call_started(&u->base);
    }
    u->etags = calloc((size_t)u->nparts, sizeof *u->etags);
    u->slots = calloc((size_t)u->concurrency, sizeof *u->slots);
    if (!u->etags || !u->slots || !u->path || !u->content_type) {
        s3_error_set(&u->err, 0, "internal", "out of memory", bucket, key, 0);
        u->failed = 1;
        return up_finished(u);
    }
    u->phase = UP_CREATE;
    lode_kv q[] = {{"uploads", NULL}};
    up_ctl_start(u, "POST", q, 1, h, 1, NULL, 0);
    return up_finished(u);
}

/* source_s3.c — lode_source over an S3 object: open is a HEAD (size, ETag),
 * each read is one ranged GET (with the client's retries) written straight
 * into the caller's buffer, so memory is what the caller asked to read.
 * Owns: the source (freed when closed and no read is in flight) and one
 * s3_read per read. On a file:// endpoint the local file source is used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode.h"
#include "s3_internal.h"

typedef struct {
    lode_source base;
    lode_s3 *c;
    char *bucket, *key;
    int inflight;
    int closed;
} s3_source;

typedef struct {
    s3_source *src;
    char *buf;
    size_t want, got;
    uint64_t offset;
    lode_source_read_cb cb;
    void *ud;
    s3_req *req;
} s3_read;

static void source_free(s3_source *s)
{
    free(s->base.name);
    free(s->bucket);
    free(s->key);
    free(s);
}

static size_t read_sink(void *ud, const char *p, size_t n)
{
    s3_read *r = ud;
    size_t room = r->want - r->got;
    size_t k = n < room ? n : room;     /* never past the caller's buffer */
    memcpy(r->buf + r->got, p, k);
    r->got += k;
    return n;
}

static void read_rewind(void *ud) { ((s3_read *)ud)->got = 0; }

static void read_done(s3_req *req, void *ud)
{
    s3_read *r = ud;
    s3_source *s = r->src;
    const lode_s3_error *e = s3_req_error(req);
    if (e) {
        char msg[1400];
        snprintf(msg, sizeof msg, "%s: read at offset %llu: %s: %s", s->base.name,
                 (unsigned long long)r->offset, e->code, e->message);
        r->cb(r->ud, e->status == 404 ? UV_ENOENT : UV_EIO, r->got, msg);
    } else {
        r->cb(r->ud, 0, r->got, NULL);
    }
    s3_req_free(req);
    free(r);
    if (--s->inflight == 0 && s->closed) source_free(s);
}

static int s3_read_start(lode_source *src, uint64_t offset, size_t len, void *buf,
                         lode_source_read_cb cb, void *ud)
{
    s3_source *s = (s3_source *)src;
    if (s->closed) return UV_EBADF;
    if (offset >= src->size || len == 0) {
        cb(ud, 0, 0, NULL);
        return 0;
    }
    if (len > src->size - offset) len = (size_t)(src->size - offset);
    s3_read *r = calloc(1, sizeof *r);
    if (!r) return UV_ENOMEM;
    r->src = s;
    r->buf = buf;
    r->want = len;
    r->offset = offset;
    r->cb = cb;
    r->ud = ud;
    char range[64];
    snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)offset,
             (unsigned long long)(offset + len - 1));
    lode_kv h[] = {{"range", range}};
    s3_req_opts o = {
        .method = "GET", .bucket = s->bucket, .key = s->key, .headers = h, .nheaders = 1,
        .body_len = -1, .on_data = read_sink, .on_retry = read_rewind, .on_done = read_done, .ud = r,
    };
    lode_s3_error err;
    r->req = s3_request(s->c, &o, &err);
    if (!r->req) {
        free(r);
        return UV_EIO;
    }
    s->inflight++;
    return 0;
}

static void s3_source_close(lode_source *src)
{
    s3_source *s = (s3_source *)src;
    s->closed = 1;
    if (s->inflight == 0) source_free(s);
}

static const lode_source_vt s3_vt = { s3_read_start, s3_source_close };

/* ---- open ------------------------------------------------------------------ */

typedef struct {
    lode_s3 *c;
    char *url, *bucket, *key;
    lode_s3_open_cb cb;
    void *ud;
    uv_timer_t timer;       /* file:// : defers the callback to a loop turn */
} open_ctx;

static void open_ctx_free(open_ctx *o)
{
    free(o->url);
    free(o->bucket);
    free(o->key);
    free(o);
}

static void head_done(s3_req *req, void *ud)
{
    open_ctx *o = ud;
    const lode_s3_error *e = s3_req_error(req);
    s3_source *s = NULL;
    if (!e) {
        const lode_http *h = s3_req_http(req);
        const char *len = lode_http_header(h, "content-length");
        const char *etag = lode_http_header(h, "etag");
        s = calloc(1, sizeof *s);
        if (s) {
            s->base.vt = &s3_vt;
            s->base.size = len ? strtoull(len, NULL, 10) : 0;
            s->base.name = strdup(o->url);
            if (etag) snprintf(s->base.etag, sizeof s->base.etag, "%s", etag);
            s->c = o->c;
            s->bucket = strdup(o->bucket);
            s->key = strdup(o->key);
            if (!s->base.name || !s->bucket || !s->key) {
                source_free(s);
                s = NULL;
            }
        }
    }
    if (s) {
        o->cb(o->ud, &s->base, NULL);
    } else if (e) {
        o->cb(o->ud, NULL, e);
    } else {
        lode_s3_error oom;
        s3_error_set(&oom, 0, "internal", "out of memory", o->bucket, o->key, 0);
        o->cb(o->ud, NULL, &oom);
    }
    s3_req_free(req);
    open_ctx_free(o);
}

static void file_open_closed(uv_handle_t *h) { open_ctx_free(h->data); }

static void file_open_fire(uv_timer_t *t)
{
    open_ctx *o = t->data;
    lode_s3_error e;
    s3_file_object obj;
    lode_source *src = NULL;
    if (s3_file_head(o->c, o->bucket, o->key, &obj, &e) == 0) {
        char *p = s3_file_path(o->c, o->bucket, o->key);
        char msg[256];
        if (!p || lode_source_open_file(p, &src, msg, sizeof msg) != 0) {
            s3_error_set(&e, 404, "NoSuchKey", "the specified key does not exist", o->bucket, o->key, 0);
            src = NULL;
        } else {
            free(src->name);
            src->name = strdup(o->url);
            snprintf(src->etag, sizeof src->etag, "%s", obj.etag);
        }
        free(p);
    }
    if (src) o->cb(o->ud, src, NULL);
    else o->cb(o->ud, NULL, &e);
    uv_close((uv_handle_t *)&o->timer, file_open_closed);
}

int lode_source_open_s3(lode_s3 *c, const char *url, lode_s3_open_cb cb, void *ud, lode_s3_error *err)
{
    open_ctx *o = calloc(1, sizeof *o);
    if (!o) {
        s3_error_set(err, 0, "internal", "out of memory", NULL, NULL, 0);
        return -1;
    }
    o->c = c;
    o->cb = cb;
    o->ud = ud;
    o->url = strdup(url);
    if (!o->url || lode_s3_parse_url(url, &o->bucket, &o->key) != 0 || !*o->key) {
        s3_error_set(err, 0, "InvalidURL", "expected s3://bucket/key", NULL, NULL, 0);
        snprintf(err->key, sizeof err->key, "%s", url);
        open_ctx_free(o);
        return -1;
    }
    if (c->file_root) {
        uv_timer_init(lode_loop(), &o->timer);
        o->timer.data = o;
        uv_timer_start(&o->timer, file_open_fire, 0, 0);
        return 0;
    }
    s3_req_opts ro = {
        .method = "HEAD", .bucket = o->bucket, .key = o->key, .body_len = -1,
        .on_done = head_done, .ud = o,
    };
    s3_req *r = s3_request(c, &ro, err);
    if (!r) {
        open_ctx_free(o);
        return -1;
    }
    return 0;
}

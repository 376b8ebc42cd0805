/* source_s3.c — lode_source over an S3 object. Open is a HEAD (size, ETag),
 * or, for readers that start at the end (Parquet footers), one suffix-range
 * GET (`Range: bytes=-N`) whose Content-Range gives the size and whose body
 * is kept as the source's tail cache: reads inside it are served from memory
 * (on the next loop turn), a read that ends inside it fetches only the part
 * before it. Every other read is one ranged GET (with the client's retries)
 * written straight into the caller's buffer. Every request after the open
 * carries If-Match with the opened ETag, and the open itself too when the
 * caller pins the version it listed: a changed object fails the read with
 * ObjectChanged (LODE_SOURCE_ECHANGED) instead of mixing two versions. The runtime
 * (s3.c) checks each answer against the range asked for.
 * src->reads counts HTTP requests, the open's and retries included.
 * Owns: the source and its tail (freed when closed and no read is in
 * flight), one s3_read per read (a cached read's timer is closed before it
 * is freed). On a file:// endpoint the local file source is used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode.h"
#include "internal.h"

typedef struct {
    lode_source base;
    lode_s3 *c;
    char *bucket, *key;
    uint8_t *tail;          /* bytes [tail_off, size) from the open, or NULL */
    uint64_t tail_off;
    int inflight;
    int closed;
} s3_source;

typedef struct {
    s3_source *src;
    char *buf;
    size_t want, got;
    size_t from_tail;       /* bytes after the GET's range copied from the tail */
    uint64_t offset;
    lode_source_read_cb cb;
    void *ud;
    s3_req *req;
    uv_timer_t timer;       /* a read served from the tail: defers the callback */
} s3_read;

static void source_free(s3_source *s)
{
    free(s->tail);
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
    lode_s3_error local;
    s->base.reads += (uint64_t)s3_req_attempts(req);
    if (!e && r->got != r->want) {      /* s3.c checked the length: never expected */
        s3_error_set(&local, 0, "transport", "short body", s->bucket, s->key, 1);
        e = &local;
    }
    if (!e && r->from_tail) {
        memcpy(r->buf + r->got, s->tail, r->from_tail);
        r->got += r->from_tail;
    }
    if (e) {
        char msg[1400];
        snprintf(msg, sizeof msg, "%s: read at offset %llu: %s: %s", s->base.name,
                 (unsigned long long)r->offset, e->code, e->message);
        int st = e->status == 404 ? UV_ENOENT : strcmp(e->code, "ObjectChanged") == 0 ? LODE_SOURCE_ECHANGED : UV_EIO;
        r->cb(r->ud, st, r->got, msg);
    } else {
        r->cb(r->ud, 0, r->got, NULL);
    }
    s3_req_free(req);
    free(r);
    if (--s->inflight == 0 && s->closed) source_free(s);
}

static void cached_read_closed(uv_handle_t *h)
{
    s3_read *r = h->data;
    s3_source *s = r->src;
    free(r);
    if (--s->inflight == 0 && s->closed) source_free(s);
}

static void cached_read_fire(uv_timer_t *t)
{
    s3_read *r = t->data;
    s3_source *s = r->src;
    memcpy(r->buf, s->tail + (r->offset - s->tail_off), r->want);
    r->cb(r->ud, 0, r->want, NULL);
    uv_close((uv_handle_t *)&r->timer, cached_read_closed);
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
    if (s->tail && offset >= s->tail_off) {
        /* all in the tail: no request; the callback still runs on a later turn */
        uv_timer_init(lode_loop(), &r->timer);
        r->timer.data = r;
        uv_timer_start(&r->timer, cached_read_fire, 0, 0);
        s->inflight++;
        return 0;
    }
    if (s->tail && offset + len > s->tail_off) {
        /* ends inside the tail: fetch only what comes before it */
        r->from_tail = (size_t)(offset + len - s->tail_off);
        r->want = len - r->from_tail;
        len = r->want;
    }
    s3_req_opts o = {
        .method = "GET", .bucket = s->bucket, .key = s->key, .body_len = -1,
        .on_data = read_sink, .on_retry = read_rewind, .on_done = read_done, .ud = r,
        .ranged = 1, .range_first = offset, .range_last = offset + len - 1, .object_size = src->size,
        .if_match = src->etag,
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
    char *etag;             /* the version to open (If-Match), or NULL: the current one */
    lode_s3_open_cb cb;
    void *ud;
    uv_timer_t timer;       /* file:// : defers the callback to a loop turn */
    uint64_t requests;      /* HTTP requests spent opening, retries included */
    /* the suffix GET: the last `cap` bytes of its body, as a ring */
    uint8_t *ring;
    size_t cap;
    uint64_t seen;          /* body bytes received */
} open_ctx;

static void open_ctx_free(open_ctx *o)
{
    free(o->ring);
    free(o->etag);
    free(o->url);
    free(o->bucket);
    free(o->key);
    free(o);
}

/* A source of `size` bytes for o's object; NULL when out of memory. */
static s3_source *source_new(open_ctx *o, uint64_t size, const char *etag)
{
    s3_source *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->base.vt = &s3_vt;
    s->base.size = size;
    s->base.name = strdup(o->url);
    s->base.reads = o->requests;
    if (!etag) etag = o->etag;      /* an answer without one: the version pinned */
    if (etag) snprintf(s->base.etag, sizeof s->base.etag, "%s", etag);
    s->c = o->c;
    s->bucket = strdup(o->bucket);
    s->key = strdup(o->key);
    if (!s->base.name || !s->bucket || !s->key) {
        source_free(s);
        return NULL;
    }
    return s;
}

/* Hand the source (or why there is none) to the caller and free o. */
static void open_finish(open_ctx *o, s3_source *s, const lode_s3_error *e)
{
    if (s) {
        o->cb(o->ud, &s->base, NULL);
    } else if (e) {
        o->cb(o->ud, NULL, e);
    } else {
        lode_s3_error oom;
        s3_error_set(&oom, 0, "internal", "out of memory", o->bucket, o->key, 0);
        o->cb(o->ud, NULL, &oom);
    }
    open_ctx_free(o);
}

static void head_done(s3_req *req, void *ud)
{
    open_ctx *o = ud;
    const lode_s3_error *e = s3_req_error(req);
    s3_source *s = NULL;
    o->requests += (uint64_t)s3_req_attempts(req);
    if (!e) {
        const lode_http *h = s3_req_http(req);
        const char *len = lode_http_header(h, "content-length");
        s = source_new(o, len ? strtoull(len, NULL, 10) : 0, lode_http_header(h, "etag"));
    }
    open_finish(o, s, e);
    s3_req_free(req);
}

static int head_start(open_ctx *o, lode_s3_error *err)
{
    s3_req_opts ro = {
        .method = "HEAD", .bucket = o->bucket, .key = o->key, .body_len = -1,
        .on_done = head_done, .ud = o, .if_match = o->etag,
    };
    return s3_request(o->c, &ro, err) ? 0 : -1;
}

/* ---- open by a suffix-range GET ------------------------------------------------ */

static size_t tail_sink(void *ud, const char *p, size_t n)
{
    open_ctx *o = ud;
    /* body byte i lives at ring[i % cap]; bytes that a later part of this
     * same chunk would overwrite are skipped */
    size_t skip = n > o->cap ? n - o->cap : 0, m = n - skip;
    size_t at = (size_t)((o->seen + skip) % o->cap);
    size_t first = o->cap - at < m ? o->cap - at : m;
    memcpy(o->ring + at, p + skip, first);
    memcpy(o->ring, p + skip + first, m - first);
    o->seen += n;
    return n;
}

static void tail_rewind(void *ud) { ((open_ctx *)ud)->seen = 0; }

/* The received body's last min(seen, cap) bytes in order, malloc'd (the ring
 * itself when it never wrapped, the common case). */
static uint8_t *tail_bytes(open_ctx *o, size_t *len)
{
    size_t n = o->seen < o->cap ? (size_t)o->seen : o->cap;
    *len = n;
    if (o->seen <= o->cap) {
        uint8_t *t = o->ring;
        o->ring = NULL;
        return t;
    }
    uint8_t *t = malloc(n);
    if (!t) return NULL;
    size_t start = (size_t)(o->seen % o->cap);   /* the oldest byte kept */
    memcpy(t, o->ring + start, n - start);
    memcpy(t + (n - start), o->ring, start);
    return t;
}

static void tail_done(s3_req *req, void *ud)
{
    open_ctx *o = ud;
    const lode_s3_error *e = s3_req_error(req);
    o->requests += (uint64_t)s3_req_attempts(req);
    if (e && e->status == 416) {
        /* S3 answers an empty object's suffix range with 416: learn its size by HEAD */
        lode_s3_error err;
        s3_req_free(req);
        if (head_start(o, &err) != 0) open_finish(o, NULL, &err);
        return;
    }
    if (e) {
        open_finish(o, NULL, e);
        s3_req_free(req);
        return;
    }
    const lode_http *h = s3_req_http(req);
    const char *etag = lode_http_header(h, "etag");
    long status = lode_http_status(h);
    uint64_t a = 0, b = 0, total = o->seen;
    int whole = 1;                  /* the body ends where the object ends */
    if (status == 206) {
        const char *cr = lode_http_header(h, "content-range");
        if (s3_parse_content_range(cr, &a, &b, &total) != 0 || b - a + 1 != o->seen) {
            lode_s3_error bad;
            char msg[200];
            snprintf(msg, sizeof msg, "unexpected Content-Range \"%s\" for %llu bytes received",
                     cr ? cr : "", (unsigned long long)o->seen);
            s3_error_set(&bad, status, "InvalidResponse", msg, o->bucket, o->key, 0);
            open_finish(o, NULL, &bad);
            s3_req_free(req);
            return;
        }
        /* a server that reads "bytes=-N" as "bytes=0-N" (s3rver) sends the head
         * of a larger object: keep the size and ETag, cache nothing */
        whole = b + 1 == total;
        if (!whole)
            lode_logf(LODE_LOG_DEBUG, "s3: %s: the server ignored the suffix range (sent %s)", o->url, cr);
    }
    s3_source *s = source_new(o, total, etag);
    if (s && whole && o->seen > 0) {
        size_t n;
        s->tail = tail_bytes(o, &n);
        s->tail_off = total - n;
        if (!s->tail) {
            source_free(s);
            s = NULL;
        }
    }
    open_finish(o, s, NULL);
    s3_req_free(req);
}

static int tail_start(open_ctx *o, size_t tail_len, lode_s3_error *err)
{
    o->cap = tail_len;
    o->ring = malloc(o->cap);
    if (!o->ring) {
        s3_error_set(err, 0, "internal", "out of memory", o->bucket, o->key, 0);
        return -1;
    }
    char range[48];
    snprintf(range, sizeof range, "bytes=-%zu", tail_len);
    lode_kv hd[] = {{"range", range}};
    s3_req_opts ro = {
        .method = "GET", .bucket = o->bucket, .key = o->key, .headers = hd, .nheaders = 1,
        .body_len = -1, .on_data = tail_sink, .on_retry = tail_rewind, .on_done = tail_done, .ud = o,
        .if_match = o->etag,
    };
    return s3_request(o->c, &ro, err) ? 0 : -1;
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
        } else if (o->etag && strcmp(o->etag, obj.etag) != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s changed during the load: it has ETag %s, not %s", o->url, obj.etag, o->etag);
            s3_error_set(&e, 412, "ObjectChanged", msg, o->bucket, o->key, 1);
            lode_source_close(src);
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

static int open_s3(lode_s3 *c, const char *url, const char *etag, size_t tail_len, lode_s3_open_cb cb, void *ud,
                   lode_s3_error *err)
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
    if (etag && *etag) o->etag = strdup(etag);
    if (!o->url || (etag && *etag && !o->etag)) {
        s3_error_set(err, 0, "internal", "out of memory", NULL, NULL, 0);
        open_ctx_free(o);
        return -1;
    }
    if (lode_s3_parse_url(url, &o->bucket, &o->key) != 0 || !*o->key) {
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
    if ((tail_len ? tail_start(o, tail_len, err) : head_start(o, err)) != 0) {
        open_ctx_free(o);
        return -1;
    }
    return 0;
}

int lode_source_open_s3(lode_s3 *c, const char *url, lode_s3_open_cb cb, void *ud, lode_s3_error *err)
{
    return open_s3(c, url, NULL, 0, cb, ud, err);
}

int lode_source_open_s3_tail(lode_s3 *c, const char *url, size_t tail_len, lode_s3_open_cb cb, void *ud,
                             lode_s3_error *err)
{
    return open_s3(c, url, NULL, tail_len, cb, ud, err);
}

int lode_source_open_s3_version(lode_s3 *c, const char *url, const char *etag, size_t tail_len, lode_s3_open_cb cb,
                                void *ud, lode_s3_error *err)
{
    return open_s3(c, url, etag, tail_len, cb, ud, err);
}

/* s3/open.c — lode/s3/open.h: a local path, file:// path or s3:// URL as a
 * lode_source, with one error shape for all of them.
 *
 * Owns: an open_req from the S3 open's start to its callback (then freed);
 * the source itself goes to the caller. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode.h"
#include "lode/s3/open.h"

typedef struct {
    lode_source_open_cb cb;
    void *ud;
    char *url;
} open_req;

static void s3_failed(const char *url, const lode_s3_error *e, lode_source_open_cb cb, void *ud)
{
    lode_source_open_error o;
    memset(&o, 0, sizeof o);
    int no_bucket = !strcmp(e->code, "NoSuchBucket");
    int missing = e->status == 404 || !strcmp(e->code, "NoSuchKey") || no_bucket;
    o.code = !strcmp(e->code, "ObjectChanged") ? "ObjectChanged" : missing ? "not_found" : "io";
    o.retryable = e->retryable;
    o.status = e->status;
    const char *what = no_bucket ? "no such bucket" : missing ? "no such key"
                     : e->message[0] ? e->message : e->code;
    if (e->status)
        snprintf(o.message, sizeof o.message, "%s: %s (%s, HTTP %ld)", url, what, e->code, e->status);
    else
        snprintf(o.message, sizeof o.message, "%s: %s (%s)", url, what, e->code);
    cb(ud, NULL, &o);
}

static void on_s3_open(void *ud, lode_source *src, const lode_s3_error *e)
{
    open_req *q = ud;
    if (src) q->cb(q->ud, src, NULL);
    else s3_failed(q->url, e, q->cb, q->ud);
    free(q->url);
    free(q);
}

static void open_s3(const char *url, const char *etag, size_t tail_len,
                    lode_source_open_cb cb, void *ud)
{
    lode_s3_error e;
    memset(&e, 0, sizeof e);
    open_req *q = calloc(1, sizeof *q);
    if (q) q->url = strdup(url);
    if (!q || !q->url) {
        free(q);
        snprintf(e.code, sizeof e.code, "out_of_memory");
        snprintf(e.message, sizeof e.message, "out of memory");
        s3_failed(url, &e, cb, ud);
        return;
    }
    q->cb = cb;
    q->ud = ud;
    lode_s3 *c = lode_s3_default(&e);
    /* one GET opens it and brings the tail (the Parquet footer) */
    if (c && lode_source_open_s3_version(c, url, etag, tail_len, on_s3_open, q, &e) == 0) return;
    free(q->url);
    free(q);
    s3_failed(url, &e, cb, ud);
}

void lode_source_open_url(const char *url, const char *etag, size_t tail_len,
                          lode_source_open_cb cb, void *ud)
{
    if (strncmp(url, "s3://", 5) == 0) {
        open_s3(url, etag, tail_len, cb, ud);
        return;
    }
    const char *path = strncmp(url, "file://", 7) == 0 ? url + 7 : url;
    lode_source *src = NULL;
    lode_source_open_error o;
    memset(&o, 0, sizeof o);
    if (lode_source_open_file(path, &src, o.message, sizeof o.message) != 0) {
        o.code = errno == ENOENT ? "not_found" : "io";
        cb(ud, NULL, &o);
        return;
    }
    cb(ud, src, NULL);
}

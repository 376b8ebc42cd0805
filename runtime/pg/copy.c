/* pg/copy.c — COPY FROM STDIN as a bounded sink, COPY TO STDOUT as a source,
 * and the byte builders for the text and binary COPY formats.
 *
 * Owns: each lode_copy_in / lode_copy_out from start until its on_finish
 * returns, its staging buffer (at most COPY_CHUNK bytes plus one write), and
 * the PGresults it keeps for the outcome. The request underneath belongs to
 * the connection (pg/conn.c). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "lode.h"
#include "conn.h"

#define COPY_CHUNK (256 * 1024)

const unsigned char lode_copy_bin_header_bytes[19] = {
    'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0,   /* signature */
    0, 0, 0, 0,                                               /* flags */
    0, 0, 0, 0                                                /* header extension length */
};
const unsigned char lode_copy_bin_trailer_bytes[2] = {0xff, 0xff};

/* ---- buffers ---------------------------------------------------------------- */

void lode_copy_buf_free(lode_copy_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int buf_reserve(lode_copy_buf *b, size_t extra)
{
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    unsigned char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

int lode_copy_buf_append(lode_copy_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static int put_be(lode_copy_buf *b, uint64_t v, int bytes)
{
    if (buf_reserve(b, (size_t)bytes) != 0) return -1;
    for (int i = bytes - 1; i >= 0; i--) {
        b->data[b->len + (size_t)i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
    b->len += (size_t)bytes;
    return 0;
}

int lode_copy_bin_tuple(lode_copy_buf *b, int nfields)
{
    return put_be(b, (uint16_t)nfields, 2);
}

int lode_copy_bin_field(lode_copy_buf *b, const void *p, int32_t len)
{
    if (!p || len < 0) return put_be(b, 0xffffffffu, 4);
    if (put_be(b, (uint32_t)len, 4) != 0) return -1;
    return lode_copy_buf_append(b, p, (size_t)len);
}

int lode_copy_bin_null(lode_copy_buf *b) { return put_be(b, 0xffffffffu, 4); }

int lode_copy_bin_bool(lode_copy_buf *b, int v)
{
    if (put_be(b, 1, 4) != 0) return -1;
    return put_be(b, v ? 1 : 0, 1);
}

int lode_copy_bin_int2(lode_copy_buf *b, int16_t v)
{
    if (put_be(b, 2, 4) != 0) return -1;
    return put_be(b, (uint16_t)v, 2);
}

int lode_copy_bin_int4(lode_copy_buf *b, int32_t v)
{
    if (put_be(b, 4, 4) != 0) return -1;
    return put_be(b, (uint32_t)v, 4);
}

int lode_copy_bin_int8(lode_copy_buf *b, int64_t v)
{
    if (put_be(b, 8, 4) != 0) return -1;
    return put_be(b, (uint64_t)v, 8);
}

int lode_copy_bin_float4(lode_copy_buf *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    if (put_be(b, 4, 4) != 0) return -1;
    return put_be(b, u, 4);
}

int lode_copy_bin_float8(lode_copy_buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    if (put_be(b, 8, 4) != 0) return -1;
    return put_be(b, u, 8);
}

/* Group k (0-based, from the most significant) of a decimal's digits. */
static unsigned numeric_group(const char *s, size_t ni, const char *fr, size_t nf, size_t lead, size_t gi, size_t k)
{
    unsigned v = 0;
    for (size_t j = 0; j < 4; j++) {
        size_t pos = k * 4 + j;   /* digit position counting the left padding */
        char c = '0';
        if (k < gi) {
            if (pos >= lead) c = s[pos - lead];
        } else {
            size_t f = pos - gi * 4;
            if (f < nf) c = fr[f];
        }
        v = v * 10 + (unsigned)(c - '0');
    }
    (void)ni;
    return v;
}

int lode_copy_bin_numeric_text(lode_copy_buf *b, const char *s, size_t n)
{
    int neg = n && s[0] == '-';
    if (neg) s++, n--;
    const char *dot = memchr(s, '.', n);
    size_t ni = dot ? (size_t)(dot - s) : n, nf = dot ? n - ni - 1 : 0;
    const char *fr = dot ? dot + 1 : "";
    if (nf > 0x3FFF) return -1;   /* past numeric's display scale */
    /* base-10000 groups aligned on the point: the integer part grouped from the
     * point leftwards (the first group padded on the left), the fraction
     * rightwards (the last padded on the right) */
    size_t gi = (ni + 3) / 4, gf = (nf + 3) / 4, ng = gi + gf;
    size_t lead = gi * 4 - ni;   /* zero digits before the first integer digit */
    /* leading and trailing zero groups are not sent (weight keeps the place) */
    size_t first = 0, last = ng;
    #define GROUP(k) numeric_group(s, ni, fr, nf, lead, gi, (k))
    while (first < last && GROUP(first) == 0) first++;
    while (last > first && GROUP(last - 1) == 0) last--;
    size_t ndig = last - first;
    int weight = ndig ? (int)gi - 1 - (int)first : 0;
    if (ndig > 0xFFFF || buf_reserve(b, 4 + 8 + 2 * ndig) != 0) return -1;
    if (put_be(b, 8 + 2 * ndig, 4) || put_be(b, ndig, 2) || put_be(b, (uint16_t)(int16_t)weight, 2) ||
        put_be(b, neg && ndig ? 0x4000 : 0, 2) || put_be(b, nf, 2))
        return -1;
    for (size_t k = first; k < last; k++)
        if (put_be(b, GROUP(k), 2)) return -1;
    #undef GROUP
    return 0;
}

int lode_copy_text_field(lode_copy_buf *b, const char *p, size_t n, int last)
{
    if (!p) {
        if (lode_copy_buf_append(b, "\\N", 2) != 0) return -1;
    } else {
        if (buf_reserve(b, n * 2 + 1) != 0) return -1;
        unsigned char *o = b->data + b->len;
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)p[i];
            switch (ch) {
            case '\\': *o++ = '\\'; *o++ = '\\'; break;
            case '\t': *o++ = '\\'; *o++ = 't'; break;
            case '\n': *o++ = '\\'; *o++ = 'n'; break;
            case '\r': *o++ = '\\'; *o++ = 'r'; break;
            default: *o++ = ch;
            }
        }
        b->len = (size_t)(o - b->data);
    }
    return lode_copy_buf_append(b, last ? "\n" : "\t", 1);
}

/* ---- what COPY IN and COPY OUT share ------------------------------------------------ */

/* The outcome of a COPY request: the server's error, else the connection's
 * failure, else the server's verdict (ok when no result came). */
static void copy_outcome(lode_pg_outcome *o, const PGresult *ok_res, const PGresult *err_res,
                         const char *conn_error, char *msg, size_t msglen)
{
    if (err_res) {
        pg_outcome_from(o, err_res, NULL, msg, msglen);
    } else if (conn_error) {
        memset(o, 0, sizeof *o);
        snprintf(msg, msglen, "%s", conn_error);
        o->message = msg;
        o->retryable = 1;
    } else {
        pg_outcome_from(o, ok_res, NULL, msg, msglen);
        if (!ok_res) o->ok = 1;
    }
}

/* A zeroed COPY object of `size` bytes for a statement on c; NULL with *err
 * when c cannot take one or memory is short. */
static void *copy_alloc(lode_pg_conn *c, size_t size, const char **err)
{
    if (!lode_pg_conn_usable(c)) {
        *err = c && c->error ? c->error : "the connection is not usable";
        return NULL;
    }
    void *x = calloc(1, size);
    if (!x) *err = "out of memory";
    return x;
}

/* ---- COPY FROM STDIN -------------------------------------------------------------- */

struct lode_copy_in {
    pg_req *req;                /* NULL once the request is over */
    lode_copy_in_callbacks cb;
    void *ud;
    lode_copy_format fmt;
    lode_copy_buf buf;          /* bytes not yet handed to libpq */
    int started;                /* the server accepted the COPY */
    int paused;                 /* the producer was told FULL */
    int finishing;
    int aborting;
    int failed;
    char *abort_reason;
    uint64_t bytes;
    PGresult *ok_res, *err_res;
};

/* Hand the staged bytes to libpq: 1 taken (maybe still flushing), 0 wait
 * for on_copy_ready, -1 failed. */
static int copy_in_push(lode_copy_in *ci)
{
    if (ci->buf.len == 0) return 1;
    int x = pg_req_put_copy(ci->req, (const char *)ci->buf.data, ci->buf.len);
    if (x < 0) {
        ci->failed = 1;
        return -1;
    }
    if (x == 0) return 0;
    ci->bytes += ci->buf.len;
    ci->buf.len = 0;
    return x == 1 ? 1 : 2;
}

static void copy_in_end(lode_copy_in *ci)
{
    if (ci->aborting) {
        pg_req_end_copy(ci->req, ci->abort_reason ? ci->abort_reason : "aborted by lode");
        return;
    }
    int x = copy_in_push(ci);
    if (x == 0 || x < 0) return;    /* retried on the next ready; or on_done reports */
    pg_req_end_copy(ci->req, NULL);
}

static void ci_on_ready(pg_req *r)
{
    lode_copy_in *ci = r->owner;
    ci->started = 1;
    if (ci->aborting || ci->finishing) {
        copy_in_end(ci);
        return;
    }
    if (ci->buf.len >= COPY_CHUNK) {
        int x = copy_in_push(ci);
        if (x != 1) return;         /* still full, or failed */
    }
    ci->paused = 0;
    if (ci->cb.on_ready) ci->cb.on_ready(ci, ci->ud);
}

static void ci_on_result(pg_req *r, PGresult *res)
{
    lode_copy_in *ci = r->owner;
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        if (!ci->err_res) {
            ci->err_res = res;
            return;
        }
    } else {
        PQclear(ci->ok_res);
        ci->ok_res = res;
        return;
    }
    PQclear(res);
}

static void ci_on_done(pg_req *r, const char *conn_error)
{
    lode_copy_in *ci = r->owner;
    if (!ci) return;
    ci->req = NULL;
    lode_pg_outcome o;
    char msg[2048];
    if (ci->aborting && !conn_error) {
        memset(&o, 0, sizeof o);
        snprintf(msg, sizeof msg, "COPY aborted: %s",
                 ci->abort_reason ? ci->abort_reason : "aborted by lode");
        o.message = msg;
    } else {
        copy_outcome(&o, ci->ok_res, ci->err_res, conn_error, msg, sizeof msg);
        if (!ci->err_res && !conn_error && !ci->started && !ci->ok_res) {
            o.ok = 0;
            o.message = "the statement did not start a COPY FROM STDIN";
        }
    }
    if (ci->cb.on_finish) ci->cb.on_finish(ci, &o, ci->ud);
    PQclear(ci->ok_res);
    PQclear(ci->err_res);
    lode_copy_buf_free(&ci->buf);
    free(ci->abort_reason);
    free(ci);
}

static const pg_req_ops copy_in_ops = {
    .on_result = ci_on_result,
    .on_copy_ready = ci_on_ready,
    .on_copy_data = NULL,
    .on_done = ci_on_done,
};

lode_copy_in *lode_copy_in_start(lode_pg_conn *c, const char *sql, lode_copy_format fmt,
                                 const lode_copy_in_callbacks *cb, void *ud,
                                 const char **err)
{
    lode_copy_in *ci = copy_alloc(c, sizeof *ci, err);
    if (!ci) return NULL;
    ci->cb = *cb;
    ci->ud = ud;
    ci->fmt = fmt;
    if (fmt == LODE_COPY_BINARY &&
        lode_copy_buf_append(&ci->buf, lode_copy_bin_header_bytes,
                             sizeof lode_copy_bin_header_bytes) != 0) {
        free(ci);
        *err = "out of memory";
        return NULL;
    }
    ci->req = pg_req_new(&copy_in_ops, ci, sql, 0, NULL, NULL);
    if (!ci->req) {
        lode_copy_buf_free(&ci->buf);
        free(ci);
        *err = "out of memory";
        return NULL;
    }
    pg_conn_submit(c, ci->req);
    return ci;
}

lode_copy_status lode_copy_in_write(lode_copy_in *ci, const void *data, size_t len)
{
    if (ci->failed || !ci->req || ci->finishing || ci->aborting) return LODE_COPY_ERROR;
    if (lode_copy_buf_append(&ci->buf, data, len) != 0) {
        lode_copy_in_abort(ci, "out of memory");
        return LODE_COPY_ERROR;
    }
    return lode_copy_in_wrote(ci);
}

lode_copy_buf *lode_copy_in_buffer(lode_copy_in *ci)
{
    if (ci->failed || !ci->req || ci->finishing || ci->aborting) return NULL;
    return &ci->buf;
}

lode_copy_status lode_copy_in_wrote(lode_copy_in *ci)
{
    if (ci->failed || !ci->req || ci->finishing || ci->aborting) return LODE_COPY_ERROR;
    if (ci->buf.len < COPY_CHUNK) return ci->paused ? LODE_COPY_FULL : LODE_COPY_OK;
    if (!ci->started || ci->paused) {
        ci->paused = 1;
        return LODE_COPY_FULL;
    }
    int x = copy_in_push(ci);
    if (x < 0) return LODE_COPY_ERROR;
    if (x == 1) return LODE_COPY_OK;
    ci->paused = 1;
    return LODE_COPY_FULL;
}

int lode_copy_in_paused(const lode_copy_in *ci)
{
    return ci->paused || !ci->started;
}

void lode_copy_in_finish(lode_copy_in *ci)
{
    if (ci->finishing || ci->aborting || !ci->req) return;
    ci->finishing = 1;
    if (ci->fmt == LODE_COPY_BINARY &&
        lode_copy_buf_append(&ci->buf, lode_copy_bin_trailer_bytes,
                             sizeof lode_copy_bin_trailer_bytes) != 0) {
        ci->finishing = 0;
        lode_copy_in_abort(ci, "out of memory");
        return;
    }
    if (ci->started && !ci->paused) copy_in_end(ci);
    /* else: the next on_copy_ready ends it */
}

void lode_copy_in_abort(lode_copy_in *ci, const char *reason)
{
    if (ci->aborting || !ci->req) return;
    ci->aborting = 1;
    ci->abort_reason = strdup(reason ? reason : "aborted by lode");
    ci->buf.len = 0;
    if (ci->started) copy_in_end(ci);
    /* else: ended with the reason as soon as the server is ready */
}

uint64_t lode_copy_in_bytes(const lode_copy_in *ci)
{
    return ci->bytes;
}

/* ---- COPY TO STDOUT ---------------------------------------------------------------- */

struct lode_copy_out {
    pg_req *req;
    lode_copy_out_callbacks cb;
    void *ud;
    int cancelled;
    int started;
    int64_t chunks;
    PGresult *ok_res, *err_res;
};

static int co_on_data(pg_req *r, const char *data, size_t len)
{
    lode_copy_out *co = r->owner;
    co->started = 1;
    co->chunks++;
    return co->cb.on_data ? co->cb.on_data(co, data, len, co->ud) : 0;
}

static void co_on_result(pg_req *r, PGresult *res)
{
    lode_copy_out *co = r->owner;
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(co->ok_res);
        co->ok_res = res;
    } else if (!co->err_res) {
        co->err_res = res;
    } else {
        PQclear(res);
    }
}

static void co_on_done(pg_req *r, const char *conn_error)
{
    lode_copy_out *co = r->owner;
    if (!co) return;
    co->req = NULL;
    lode_pg_outcome o;
    char msg[2048];
    if (co->cancelled) {
        memset(&o, 0, sizeof o);
        o.message = "cancelled";
    } else {
        copy_outcome(&o, co->ok_res, co->err_res, conn_error, msg, sizeof msg);
    }
    if (co->cb.on_finish) co->cb.on_finish(co, &o, co->ud);
    PQclear(co->ok_res);
    PQclear(co->err_res);
    free(co);
}

static const pg_req_ops copy_out_ops = {
    .on_result = co_on_result,
    .on_copy_ready = NULL,
    .on_copy_data = co_on_data,
    .on_done = co_on_done,
};

lode_copy_out *lode_copy_out_start(lode_pg_conn *c, const char *sql,
                                   const lode_copy_out_callbacks *cb, void *ud,
                                   const char **err)
{
    lode_copy_out *co = copy_alloc(c, sizeof *co, err);
    if (!co) return NULL;
    co->cb = *cb;
    co->ud = ud;
    co->req = pg_req_new(&copy_out_ops, co, sql, 0, NULL, NULL);
    if (!co->req) {
        free(co);
        *err = "out of memory";
        return NULL;
    }
    pg_conn_submit(c, co->req);
    return co;
}

void lode_copy_out_resume(lode_copy_out *co)
{
    if (co->req) pg_req_resume(co->req);
}

void lode_copy_out_cancel(lode_copy_out *co)
{
    if (co->cancelled || !co->req) return;
    co->cancelled = 1;
    pg_req_cancel(co->req);
}

/* http.c — libcurl multi on the libuv loop (the shape of curl's multi-uv.c).
 * Owns: the multi handle and its timer (closed by the shutdown hook), one
 * uv_poll_t per curl socket (freed in its close callback), and every
 * lode_http from lode_http_start to lode_http_free. Completions are found in
 * drain_completions(), called only after curl_multi_socket_action returns,
 * so on_done never runs inside a curl callback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "lode.h"
#include "lode/http/http.h"

#define HEADER_CAP (64 * 1024)

struct lode_http {
    CURL *easy;
    struct curl_slist *headers;
    lode_http_opts o;
    char *url;
    int in_multi;
    int finished;
    long status;
    CURLcode code;
    char errbuf[CURL_ERROR_SIZE];
    char *hdr;                  /* "name\0value\0" pairs of the final response */
    size_t hdr_len;
    char *body;
    size_t body_len, body_cap;
    int body_too_large;
    int cancelled;
    uint64_t started_ms;        /* a connection started carrying it (CURLOPT_PREREQFUNCTION) */
    uint64_t deadline_limit_ms; /* the limit it went past, when the deadline stopped it */
    char deadline_msg[160];     /* why (curl fills errbuf with its own words after the abort) */
    const char *read_pos;       /* in-memory request body */
    size_t read_left;
    lode_http *next, *prev;     /* H.live */
};

typedef struct {
    uv_poll_t poll;
    curl_socket_t fd;
} sock_ctx;

static struct {
    CURLM *multi;
    uv_timer_t timer;
    long max_connections;
    int dead;                   /* after shutdown */
    lode_http *live;
} H = { .max_connections = 16 };

static void drain_completions(void);

/* ---- loop glue ------------------------------------------------------------ */

static void on_poll(uv_poll_t *p, int status, int events)
{
    sock_ctx *c = p->data;
    int flags = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    }
    int running;
    curl_multi_socket_action(H.multi, c->fd, flags, &running);
    drain_completions();
}

static void sock_closed(uv_handle_t *h) { free(h->data); }

static int on_socket(CURL *e, curl_socket_t s, int action, void *userp, void *socketp)
{
    (void)e;
    (void)userp;
    sock_ctx *c = socketp;
    if (action == CURL_POLL_REMOVE) {
        if (c) {
            curl_multi_assign(H.multi, s, NULL);
            uv_poll_stop(&c->poll);
            uv_close((uv_handle_t *)&c->poll, sock_closed);
        }
        return 0;
    }
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) return -1;
        c->fd = s;
        if (uv_poll_init_socket(lode_loop(), &c->poll, s) != 0) {
            free(c);
            return -1;
        }
        c->poll.data = c;
        curl_multi_assign(H.multi, s, c);
    }
    int ev = 0;
    if (action & CURL_POLL_IN) ev |= UV_READABLE;
    if (action & CURL_POLL_OUT) ev |= UV_WRITABLE;
    uv_poll_start(&c->poll, ev, on_poll);
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    (void)t;
    int running;
    curl_multi_socket_action(H.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_completions();
}

/* curl asks for a timeout; 0 means "call me soon", which the uv timer
 * defers to the next loop turn instead of acting inside this callback. */
static int on_timer_set(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    (void)userp;
    if (timeout_ms < 0) uv_timer_stop(&H.timer);
    else uv_timer_start(&H.timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static void http_shutdown(void *ud)
{
    (void)ud;
    while (H.live) lode_http_cancel(H.live);
    if (H.multi) {
        curl_multi_cleanup(H.multi);     /* its CURL_POLL_REMOVEs close the polls */
        H.multi = NULL;
        uv_timer_stop(&H.timer);
        uv_close((uv_handle_t *)&H.timer, NULL);
    }
    H.dead = 1;                          /* late retries fail instead of reviving the multi */
}

static int http_init(char *err, size_t errlen)
{
    if (H.multi) return 0;
    if (H.dead) {
        snprintf(err, errlen, "http: the runtime is shutting down");
        return -1;
    }
    static int global_done;
    if (!global_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_done = 1;
    }
    H.multi = curl_multi_init();
    if (!H.multi) {
        snprintf(err, errlen, "http: curl_multi_init failed");
        return -1;
    }
    uv_timer_init(lode_loop(), &H.timer);
    curl_multi_setopt(H.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(H.multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
    curl_multi_setopt(H.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, H.max_connections);
    curl_multi_setopt(H.multi, CURLMOPT_MAXCONNECTS, H.max_connections);
    lode_on_shutdown(http_shutdown, NULL);
    return 0;
}

void lode_http_set_max_connections(long n)
{
    if (n < 1) n = 1;
    H.max_connections = n;
    if (H.multi) {
        curl_multi_setopt(H.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, n);
        curl_multi_setopt(H.multi, CURLMOPT_MAXCONNECTS, n);
    }
}

/* ---- completion ------------------------------------------------------------ */

static void live_unlink(lode_http *h)
{
    if (h->prev) h->prev->next = h->next;
    else if (H.live == h) H.live = h->next;
    if (h->next) h->next->prev = h->prev;
    h->next = h->prev = NULL;
}

static void finish(lode_http *h, CURLcode code)
{
    if (h->in_multi) {
        curl_multi_remove_handle(H.multi, h->easy);
        h->in_multi = 0;
    }
    live_unlink(h);
    h->finished = 1;
    h->code = code;
    if (code == CURLE_OK) curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &h->status);
    if (h->o.on_done) h->o.on_done(h, h->o.ud);
}

static void drain_completions(void)
{
    CURLMsg *m;
    int left;
    while (H.multi && (m = curl_multi_info_read(H.multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        lode_http *h = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&h);
        if (h) finish(h, m->data.result);
    }
}

/* ---- curl callbacks ------------------------------------------------------ */

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    lode_http *h = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        h->hdr_len = 0;          /* a new response (after 100 Continue or a redirect) */
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon) return len;
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    size_t vlen = (size_t)(end - v);
    if (h->hdr_len + nlen + vlen + 2 > HEADER_CAP) return len;   /* drop, never grow without bound */
    if (!h->hdr) {
        h->hdr = malloc(HEADER_CAP);
        if (!h->hdr) return len;
    }
    memcpy(h->hdr + h->hdr_len, p, nlen);
    h->hdr[h->hdr_len + nlen] = '\0';
    h->hdr_len += nlen + 1;
    memcpy(h->hdr + h->hdr_len, v, vlen);
    h->hdr[h->hdr_len + vlen] = '\0';
    h->hdr_len += vlen + 1;
    return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    lode_http *h = ud;
    size_t len = size * n;
    if (h->o.on_data) return h->o.on_data(h->o.ud, p, len);
    if (h->body_len + len > h->o.max_body) {
        h->body_too_large = 1;
        return 0;
    }
    if (h->body_len + len + 1 > h->body_cap) {
        size_t cap = h->body_cap ? h->body_cap * 2 : 16384;
        while (cap < h->body_len + len + 1) cap *= 2;
        char *b = realloc(h->body, cap);
        if (!b) return 0;
        h->body = b;
        h->body_cap = cap;
    }
    memcpy(h->body + h->body_len, p, len);
    h->body_len += len;
    h->body[h->body_len] = '\0';
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    lode_http *h = ud;
    size_t want = size * n;
    if (h->o.read_body) {
        size_t got = h->o.read_body(h->o.ud, buf, want);
        return got == SIZE_MAX ? CURL_READFUNC_ABORT : got;
    }
    if (want > h->read_left) want = h->read_left;
    memcpy(buf, h->read_pos, want);
    h->read_pos += want;
    h->read_left -= want;
    return want;
}

/* Rewind an in-memory body when curl resends (redirect, auth, reused connection died). */
static int on_seek(void *ud, curl_off_t off, int origin)
{
    lode_http *h = ud;
    if (h->o.read_body || origin != SEEK_SET || off < 0 || off > h->o.body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    h->read_pos = (const char *)h->o.body + off;
    h->read_left = (size_t)(h->o.body_len - off);
    return CURL_SEEKFUNC_OK;
}

uint64_t lode_http_now_ms(void) { return uv_hrtime() / 1000000u; }

/* The request is about to go out on a connection: its deadline starts (unless given). */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    lode_http *h = ud;
    if (!h->started_ms) h->started_ms = lode_http_now_ms();
    return CURL_PREREQFUNC_OK;
}

/* Called on every turn of a transfer, and about once a second while it is
 * stalled (the low-speed check keeps a timer armed): past the deadline, abort. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dlnow;
    (void)ulnow;
    lode_http *h = ud;
    uint64_t from = h->o.deadline_from_ms ? h->o.deadline_from_ms : h->started_ms;
    if (!from) return 0;
    int64_t bytes = h->o.expect_bytes;
    if (dltotal > bytes) bytes = dltotal;
    if (ultotal > bytes) bytes = ultotal;
    uint64_t limit = (uint64_t)h->o.deadline_ms;
    if (h->o.min_rate > 0 && bytes > 0) limit += (uint64_t)bytes * 1000u / (uint64_t)h->o.min_rate;
    uint64_t now = lode_http_now_ms();
    if (now <= from || now - from <= limit) return 0;
    h->deadline_limit_ms = limit;
    snprintf(h->deadline_msg, sizeof h->deadline_msg, "no complete response within its deadline of %llu ms (%lld ms + %lld "
             "bytes at %ld bytes/s)", (unsigned long long)limit, (long long)h->o.deadline_ms, (long long)bytes,
             h->o.min_rate);
    return 1;
}

/* ---- public ---------------------------------------------------------------- */

lode_http *lode_http_start(const lode_http_opts *o, char *err, size_t errlen)
{
    if (http_init(err, errlen) != 0) return NULL;
    lode_http *h = calloc(1, sizeof *h);
    if (!h) goto oom;
    h->o = *o;
    h->url = strdup(o->url);
    h->easy = curl_easy_init();
    if (!h->url || !h->easy) goto oom;
    if (!h->o.max_body) h->o.max_body = 16u << 20;
    CURL *e = h->easy;
    for (const char *const *p = o->headers; p && *p; p++) {
        struct curl_slist *l = curl_slist_append(h->headers, *p);
        if (!l) goto oom;
        h->headers = l;
    }
    /* no "Expect: 100-continue" round trip before bodies */
    struct curl_slist *l = curl_slist_append(h->headers, "Expect:");
    if (!l) goto oom;
    h->headers = l;

    curl_easy_setopt(e, CURLOPT_URL, h->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)h);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s > 0 ? o->low_speed_time_s : 30L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit > 0 ? o->low_speed_limit : 1L);
    if (o->timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, h);
    if (o->deadline_ms > 0) {
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, h);
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    }
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);

    const char *m = o->method ? o->method : "GET";
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (o->body_len >= 0 && (o->body || o->read_body)) {
        h->read_pos = o->body;
        h->read_left = o->body ? (size_t)o->body_len : 0;
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)o->body_len);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, h);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, h);
        if (strcmp(m, "PUT") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
        if (strcmp(m, "POST") == 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
        }
    }
    if (curl_multi_add_handle(H.multi, e) != CURLM_OK) {
        snprintf(err, errlen, "http: cannot add the transfer");
        lode_http_free(h);
        return NULL;
    }
    h->in_multi = 1;
    h->next = H.live;
    if (H.live) H.live->prev = h;
    H.live = h;
    return h;
oom:
    snprintf(err, errlen, "http: out of memory");
    if (h) lode_http_free(h);
    return NULL;
}

void lode_http_cancel(lode_http *h)
{
    if (!h || h->finished) return;
    h->cancelled = 1;
    snprintf(h->errbuf, sizeof h->errbuf, "cancelled");
    finish(h, CURLE_ABORTED_BY_CALLBACK);
}

void lode_http_free(lode_http *h)
{
    if (!h) return;
    if (h->in_multi) {
        curl_multi_remove_handle(H.multi, h->easy);
        live_unlink(h);
    }
    if (h->easy) curl_easy_cleanup(h->easy);
    curl_slist_free_all(h->headers);
    free(h->url);
    free(h->hdr);
    free(h->body);
    free(h);
}

long lode_http_status(const lode_http *h) { return h->code == CURLE_OK ? h->status : 0; }

const char *lode_http_error(const lode_http *h)
{
    if (h->code == CURLE_OK) return NULL;
    if (h->body_too_large) return "response body larger than the limit";
    if (h->cancelled) return "cancelled";
    if (h->code == CURLE_ABORTED_BY_CALLBACK && h->deadline_limit_ms) return h->deadline_msg;
    return h->errbuf[0] ? h->errbuf : curl_easy_strerror(h->code);
}

long lode_http_status_live(const lode_http *h)
{
    long st = 0;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &st);
    return st;
}

int lode_http_cancelled(const lode_http *h) { return h->cancelled; }

int lode_http_timed_out(const lode_http *h)
{
    return h->code == CURLE_OPERATION_TIMEDOUT || (h->code == CURLE_ABORTED_BY_CALLBACK && h->deadline_limit_ms);
}

uint64_t lode_http_started_ms(const lode_http *h) { return h->started_ms; }

const char *lode_http_header(const lode_http *h, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; i < h->hdr_len;) {
        const char *n = h->hdr + i;
        const char *v = n + strlen(n) + 1;
        if (strcasecmp(n, name) == 0) found = v;
        i = (size_t)(v - h->hdr) + strlen(v) + 1;
    }
    return found;
}

void lode_http_each_header(const lode_http *h, void (*fn)(void *, const char *, const char *), void *ud)
{
    for (size_t i = 0; i < h->hdr_len;) {
        const char *n = h->hdr + i;
        const char *v = n + strlen(n) + 1;
        fn(ud, n, v);
        i = (size_t)(v - h->hdr) + strlen(v) + 1;
    }
}

const char *lode_http_body(const lode_http *h, size_t *len)
{
    if (len) *len = h->body_len;
    return h->body ? h->body : "";
}

void lode_http_counts(const lode_http *h, uint64_t *sent, uint64_t *received)
{
    curl_off_t up = 0, down = 0;
    curl_easy_getinfo(h->easy, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_easy_getinfo(h->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
    if (sent) *sent = (uint64_t)up;
    if (received) *received = (uint64_t)down;
}

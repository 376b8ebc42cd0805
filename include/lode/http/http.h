/* lode/http/http.h — HTTP transfers on the lode loop (libcurl multi driven by
 * libuv socket and timer callbacks). One transfer per lode_http; connections
 * are pooled and kept alive by the shared multi handle, and at most
 * lode_http_set_max_connections() are open at once (others wait in curl's queue).
 *
 *   lode_http_opts o = { .method = "GET", .url = url, .on_done = done, .ud = me };
 *   lode_http *h = lode_http_start(&o, err, sizeof err);
 *   ...
 *   static void done(lode_http *h, void *ud) {      // runs from a loop callback
 *       long status = lode_http_status(h);           // 0 when the transport failed
 *       const char *why = lode_http_error(h);        // NULL when a response arrived
 *       lode_http_free(h);                           // or keep it to read headers/body
 *   }
 *
 * Bodies stream through callbacks: `read_body` fills curl's buffer (at most
 * what it asks for), `on_data` receives each response chunk; with no
 * `on_data` the response is collected in memory up to `max_body` bytes (an
 * error beyond), so memory stays bounded whatever the object size.
 * on_done is never called from inside a curl callback: it may start or free
 * transfers, and it may call lode_op_done (never lua_resume).
 */
#ifndef LODE_HTTP_H
#define LODE_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct lode_http lode_http;

typedef struct {
    const char *method;            /* "GET", "PUT", "POST", "HEAD", "DELETE" */
    const char *url;               /* copied */
    const char *const *headers;    /* "Name: value" strings, NULL-terminated; copied */
    const void *body;              /* request body in memory (not copied; alive until on_done) */
    int64_t body_len;              /* body size; -1 means none (GET/HEAD/DELETE) */
    /* Streamed request body instead of `body`: fill buf with up to n bytes,
     * return the count (0 at the end), or SIZE_MAX to abort the transfer. */
    size_t (*read_body)(void *ud, char *buf, size_t n);
    /* Response body sink: return n to continue, anything else aborts. */
    size_t (*on_data)(void *ud, const char *p, size_t n);
    size_t max_body;               /* cap of the in-memory response when on_data is NULL (default 16 MiB) */
    long connect_timeout_ms;       /* default 10000 */
    long low_speed_time_s;         /* abort when slower than low_speed_limit for this long (default 30) */
    long low_speed_limit;          /* bytes/s (default 1) */
    long timeout_ms;               /* whole transfer, 0 = none */
    /* A deadline scaled to the transfer's size: it fails as a timeout
     * (lode_http_timed_out) once more than deadline_ms + bytes * 1000 /
     * min_rate ms have passed, bytes being the largest of expect_bytes, the
     * response's Content-Length and the upload's size. It counts from
     * deadline_from_ms (lode_http_now_ms clock) when that is set, else from
     * the moment a connection starts carrying the request, so time queued
     * for one of the max connections is not counted. deadline_ms 0: none. */
    long deadline_ms;
    long min_rate;                 /* bytes/s; 0: the deadline does not grow with the size */
    int64_t expect_bytes;
    uint64_t deadline_from_ms;
    int insecure;                  /* skip TLS verification (never by default) */
    void (*on_done)(lode_http *h, void *ud);
    void *ud;
} lode_http_opts;

/* Start a transfer; returns NULL with err filled when it cannot start. */
lode_http *lode_http_start(const lode_http_opts *o, char *err, size_t errlen);
/* Stop a transfer still running; its on_done runs now with error "cancelled". */
void lode_http_cancel(lode_http *h);
/* Release a finished transfer (after on_done). */
void lode_http_free(lode_http *h);

/* HTTP status of the final response, 0 when none arrived. */
long lode_http_status(const lode_http *h);
/* Status of the response being received (0 before its headers); usable in on_data. */
long lode_http_status_live(const lode_http *h);
/* Transport failure text ("Connection reset by peer", "Operation timed out ..."), NULL if none. */
const char *lode_http_error(const lode_http *h);
/* Whether the transfer was stopped by lode_http_cancel. */
int lode_http_cancelled(const lode_http *h);
/* Whether the transport failure was a timeout (connect, low speed or the deadline). */
int lode_http_timed_out(const lode_http *h);
/* When a connection started carrying the request (lode_http_now_ms clock), 0 if none did. */
uint64_t lode_http_started_ms(const lode_http *h);
/* The monotonic clock of the deadlines, in ms. */
uint64_t lode_http_now_ms(void);
/* Value of a response header (case-insensitive name), or NULL. */
const char *lode_http_header(const lode_http *h, const char *name);
/* Call fn for every response header of the final response. */
void lode_http_each_header(const lode_http *h, void (*fn)(void *ud, const char *name, const char *value), void *ud);
/* The collected response body (when on_data was NULL); never NULL. */
const char *lode_http_body(const lode_http *h, size_t *len);
/* Bytes uploaded and downloaded. */
void lode_http_counts(const lode_http *h, uint64_t *sent, uint64_t *received);

/* Bound the connections open at once (CURLMOPT_MAX_TOTAL_CONNECTIONS; default 16). */
void lode_http_set_max_connections(long n);

#endif

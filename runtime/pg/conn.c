/* pg/conn.c — one libpq connection on the lode loop, never blocking it.
 *
 * Owns: the PGconn, the uv_poll_t watching its socket and the kick timer (both
 * heap-allocated and freed in their close callbacks, so the connection itself
 * can be freed at once), and every pg_req from pg_conn_submit to its on_done.
 *
 * libpq is driven as its documentation prescribes (STYLE rule 16):
 * PQconnectStart/PQconnectPoll re-reading PQsocket after every step, then
 * PQsetnonblocking; a statement is PQsendQuery[Params], PQflush until 0 while
 * watching readable and writable, then PQconsumeInput -> PQisBusy ->
 * PQgetResult until NULL. Cancellation sends PQcancel from libuv's thread
 * pool (PQcancel blocks on its own short-lived socket; PGcancel objects are
 * safe to use from another thread) and drains the results here. The next
 * request waits until both are over: PQcancel returns once the server has
 * signalled the backend, and PostgreSQL <= 15 signals it twice (the process,
 * then its process group), so a signal can still arrive after the cancelled
 * statement ended; one that reaches an idle backend is dropped when it reads
 * its next command, one that reaches the next statement cancels it.
 *
 * Only conn_pump (run from the poll callback or the kick timer) calls the
 * request callbacks; the functions owners call (submit, put/end copy, cancel,
 * abandon, close) only touch libpq and schedule a pump, so no callback ever
 * runs inside another. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "lode.h"
#include "conn.h"

static struct {
    lode_pg_conn *live;
    uint64_t next_id;
    int hooked;
} G;

static void conn_pump(lode_pg_conn *c);
static void conn_destroy(lode_pg_conn *c);

/* ---- socket watching --------------------------------------------------------- */

static void handle_closed_free(uv_handle_t *h) { free(h); }

static void conn_unwatch(lode_pg_conn *c)
{
    if (!c->poll) return;
    c->poll->data = NULL;
    uv_close((uv_handle_t *)c->poll, handle_closed_free);
    c->poll = NULL;
    c->fd = -1;
    c->events = 0;
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Watch libpq's current socket for `events` (0: watch nothing). A socket that
 * changed or vanished (libpq drops it on EOF) is never touched again. */
static int conn_watch(lode_pg_conn *c, int events)
{
    int fd = c->pg ? PQsocket(c->pg) : -1;
    if (fd < 0 || (c->poll && fd != c->fd)) conn_unwatch(c);
    if (fd < 0) return -1;
    if (!c->poll) {
        if (events == 0) return 0;
        uv_poll_t *p = malloc(sizeof *p);
        if (!p) return -1;
        if (uv_poll_init(lode_loop(), p, fd) != 0) {
            free(p);
            return -1;
        }
        p->data = c;
        c->poll = p;
        c->fd = fd;
        c->events = 0;
    }
    if (events == c->events) return 0;
    if (events == 0) uv_poll_stop(c->poll);
    else uv_poll_start(c->poll, events, on_poll);
    c->events = events;
    return 0;
}

static void on_kick(uv_timer_t *t)
{
    lode_pg_conn *c = t->data;
    if (c) conn_pump(c);
}

/* Run the pump on the next loop turn (never inside the caller). */
static void conn_kick(lode_pg_conn *c)
{
    if (c->kick) uv_timer_start(c->kick, on_kick, 0, 0);
}

static void conn_set_error(lode_pg_conn *c, const char *msg)
{
    free(c->error);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) n--;
    c->error = malloc(n + 1);
    if (c->error) {
        memcpy(c->error, msg, n);
        c->error[n] = '\0';
    }
}

/* The connection is gone: remember why, stop watching; the pump fails the
 * requests. */
static void conn_broken(lode_pg_conn *c, const char *why)
{
    if (c->state == PGC_BROKEN || c->state == PGC_CLOSED) return;
    const char *msg = why ? why : (c->pg ? PQerrorMessage(c->pg) : "");
    if (!msg || !*msg) msg = "the connection to the server was lost";
    conn_set_error(c, msg);
    c->state = PGC_BROKEN;
    conn_unwatch(c);
    conn_kick(c);
}

/* ---- notices ----------------------------------------------------------------- */

static void on_notice(void *arg, const PGresult *res)
{
    lode_pg_conn *c = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    /* NOTICE/INFO are chatter ("… already exists, skipping"): debug. */
    lode_log_level level = LODE_LOG_DEBUG;
    if (sev && (!strcmp(sev, "WARNING"))) level = LODE_LOG_WARN;
    if (!lode_log_enabled(level)) return;
    char line[2048];
    snprintf(line, sizeof line, "warehouse %s (connection %llu): %s", sev ? sev : "NOTICE",
             (unsigned long long)c->id, msg ? msg : "");
    /* under the name of the task whose statement raised it */
    lode_log_fields(level, c->cur ? c->cur->task : NULL, line, NULL);
}

/* ---- connecting --------------------------------------------------------------- */

static void connect_done(lode_pg_conn *c)
{
    void (*cb)(lode_pg_conn *, void *) = c->on_connect;
    c->on_connect = NULL;
    if (cb) cb(c, c->connect_ud);
}

static void connect_fail(lode_pg_conn *c)
{
    conn_set_error(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
    if (!c->error || !*c->error) conn_set_error(c, "could not connect to the warehouse");
    c->state = PGC_BROKEN;
    conn_unwatch(c);
    connect_done(c);
}

/* One PQconnectPoll step's wish: a fresh watch on the (possibly new) socket. */
static void connect_wait(lode_pg_conn *c, PostgresPollingStatusType want)
{
    conn_unwatch(c);   /* the socket may have been replaced under the same number */
    if (conn_watch(c, want == PGRES_POLLING_READING ? UV_READABLE : UV_WRITABLE) != 0)
        connect_fail(c);
}

static void connect_step(lode_pg_conn *c)
{
    PostgresPollingStatusType st = PQconnectPoll(c->pg);
    switch (st) {
    case PGRES_POLLING_OK:
        c->state = PGC_READY;
        conn_unwatch(c);
        if (PQsetnonblocking(c->pg, 1) != 0) {
            connect_fail(c);
            return;
        }
        PQsetNoticeReceiver(c->pg, on_notice, c);
        conn_watch(c, UV_READABLE);
        connect_done(c);
        return;
    case PGRES_POLLING_FAILED:
        connect_fail(c);
        return;
    default:
        connect_wait(c, st);
    }
}

static void shutdown_all(void *ud)
{
    (void)ud;
    while (G.live) lode_pg_conn_close(G.live);
    G.hooked = 0;
}

lode_pg_conn *lode_pg_connect(const char *conninfo,
                            void (*on_connect)(lode_pg_conn *c, void *ud), void *ud)
{
    lode_pg_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->kick = malloc(sizeof *c->kick);
    if (!c->kick) {
        free(c);
        return NULL;
    }
    uv_timer_init(lode_loop(), c->kick);
    c->kick->data = c;
    c->fd = -1;
    c->id = ++G.next_id;
    c->on_connect = on_connect;
    c->connect_ud = ud;
    c->state = PGC_CONNECTING;
    c->live_next = G.live;
    if (G.live) G.live->live_prev = c;
    G.live = c;
    if (!G.hooked) {
        lode_on_shutdown(shutdown_all, NULL);
        G.hooked = 1;
    }
    /* expand_dbname: a URI or a conninfo string; PG* variables and
     * ~/.pgpass fill the rest, as in psql. */
    const char *const kw[] = {"fallback_application_name", "dbname", NULL};
    const char *const val[] = {"lode", conninfo, NULL};
    c->pg = PQconnectStartParams(kw, val, 1);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) connect_fail(c);
    else connect_wait(c, PGRES_POLLING_WRITING);
    return c;
}

void lode_pg_connect_forget(lode_pg_conn *c)
{
    c->on_connect = NULL;
}

/* ---- requests ------------------------------------------------------------------ */

pg_req *pg_req_new(const pg_req_ops *ops, void *owner, const char *sql, int nparams,
                   const char *const *values, const int *lengths)
{
    pg_req *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->ops = ops;
    r->owner = owner;
    r->phase = REQ_QUEUED;
    r->sql = strdup(sql);
    r->task = strdup(lode_task_name(NULL));
    if (!r->sql || !r->task) goto fail;
    if (nparams > 0) {
        r->values = calloc((size_t)nparams, sizeof *r->values);
        r->lengths = calloc((size_t)nparams, sizeof *r->lengths);
        if (!r->values || !r->lengths) goto fail;
        r->nparams = nparams;
        for (int i = 0; i < nparams; i++) {
            if (!values[i]) continue;
            int n = lengths[i];
            r->values[i] = malloc((size_t)n + 1);
            if (!r->values[i]) goto fail;
            memcpy(r->values[i], values[i], (size_t)n);
            r->values[i][n] = '\0';
            r->lengths[i] = n;
        }
    }
    return r;
fail:
    for (int i = 0; i < r->nparams; i++) free(r->values[i]);
    free(r->values);
    free(r->lengths);
    free(r->sql);
    free(r->task);
    free(r);
    return NULL;
}

static void req_free(pg_req *r)
{
    for (int i = 0; i < r->nparams; i++) free(r->values[i]);
    free(r->values);
    free(r->lengths);
    free(r->sql);
    free(r->task);
    free(r->end_failure);
    free(r);
}

static void req_finish(lode_pg_conn *c, pg_req *r, const char *conn_error)
{
    if (c->cur == r) c->cur = NULL;
    r->phase = REQ_DONE;
    r->conn = NULL;
    r->ops->on_done(r, conn_error);
    req_free(r);
}

void pg_conn_submit(lode_pg_conn *c, pg_req *r)
{
    r->conn = c;
    r->next = NULL;
    if (c->q_tail) c->q_tail->next = r;
    else c->q_head = r;
    c->q_tail = r;
    conn_kick(c);
}

struct pg_cancel_job {
    uv_work_t work;
    PGcancel *cancel;
    lode_pg_conn *conn;     /* NULL once the connection is gone */
    int sent;               /* PQcancel's answer */
    char errbuf[256];
};

static void cancel_work(uv_work_t *w)
{
    pg_cancel_job *j = w->data;
    j->sent = PQcancel(j->cancel, j->errbuf, (int)sizeof j->errbuf);
}

/* PQcancel returned: the server has sent its signals, the connection may
 * send again once the cancelled statement is drained. When the cancel failed
 * nobody knows whether a signal is still on its way: discard the connection. */
static void cancel_after(uv_work_t *w, int status)
{
    pg_cancel_job *j = w->data;
    lode_pg_conn *c = j->conn;
    if (c) {
        c->cancel = NULL;
        if (!j->sent || status != 0) {
            char msg[400];
            snprintf(msg, sizeof msg, "could not cancel the running statement (%s); "
                     "the connection is discarded", j->errbuf[0] ? j->errbuf : "cancel failed");
            conn_broken(c, msg);
        } else {
            conn_kick(c);
        }
    }
    PQfreeCancel(j->cancel);
    free(j);
}

/* Whether an abandoned statement is already over: take the results the
 * socket holds now, never waiting, for a bounded number of reads (a statement
 * still sending rows is cancelled instead). A loop left early over a result
 * that has arrived whole then costs no cancel (a fork on the server, 20-50 ms
 * here) and no wait for it. Results are dropped: nobody owns them. */
static int req_already_over(lode_pg_conn *c)
{
    for (int reads = 0; reads < 16; reads++) {
        while (!PQisBusy(c->pg)) {
            PGresult *res = PQgetResult(c->pg);
            if (!res) return 1;
            ExecStatusType st = PQresultStatus(res);
            PQclear(res);
            if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) return 0;  /* the pump goes on */
        }
        if (!PQconsumeInput(c->pg) || PQisBusy(c->pg)) return 0;
    }
    return 0;
}

void pg_req_cancel(pg_req *r)
{
    lode_pg_conn *c = r->conn;
    if (!c || r->phase == REQ_DONE) return;
    if (r->phase == REQ_QUEUED) {
        /* never sent: the pump ends it without touching the server */
        r->cancel_sent = 1;
        conn_kick(c);
        return;
    }
    if (r->cancel_sent || c->state != PGC_READY) return;
    r->cancel_sent = 1;
    if (r->phase == REQ_COPY_IN) {
        pg_req_end_copy(r, "cancelled by lode");
        return;
    }
    if (!r->owner && r->phase == REQ_READ && !c->in_pump && req_already_over(c)) {
        conn_kick(c);    /* the pump finishes it */
        return;
    }
    pg_cancel_job *j = calloc(1, sizeof *j);
    if (j) {
        j->cancel = PQgetCancel(c->pg);
        j->work.data = j;
        j->conn = c;
    }
    if (!j || !j->cancel || uv_queue_work(lode_loop(), &j->work, cancel_work, cancel_after) != 0) {
        if (j && j->cancel) PQfreeCancel(j->cancel);
        free(j);
        conn_broken(c, "could not send a cancel request; the connection is discarded");
        return;
    }
    c->cancel = j;
    if (r->phase == REQ_COPY_OUT) r->paused = 0;   /* drain and discard */
    conn_kick(c);    /* an abandoned cursor may be paused: drain it */
}

void pg_req_abandon(pg_req *r)
{
    r->owner = NULL;
    if (r->conn) pg_req_cancel(r);
}

/* ---- COPY ------------------------------------------------------------------------ */

int pg_req_put_copy(pg_req *r, const char *data, size_t len)
{
    lode_pg_conn *c = r->conn;
    if (!c || c->state != PGC_READY || r->phase != REQ_COPY_IN) return -1;
    int x = PQputCopyData(c->pg, data, (int)len);
    if (x < 0) {
        conn_broken(c, NULL);
        return -1;
    }
    int f = PQflush(c->pg);
    if (f < 0) {
        conn_broken(c, NULL);
        return -1;
    }
    if (x == 0 || f == 1) {
        r->copy_full = 1;
        conn_watch(c, UV_READABLE | UV_WRITABLE);
        return x == 0 ? 0 : 2;
    }
    return 1;
}

int pg_req_end_copy(pg_req *r, const char *failure)
{
    lode_pg_conn *c = r->conn;
    if (!c || c->state != PGC_READY || r->phase != REQ_COPY_IN) return -1;
    int x = PQputCopyEnd(c->pg, failure);
    if (x < 0) {
        conn_broken(c, NULL);
        return -1;
    }
    if (x == 0) {           /* no room for the message yet: retry when writable */
        r->copy_full = 1;
        r->end_pending = 1;
        free(r->end_failure);
        r->end_failure = failure ? strdup(failure) : NULL;
        conn_watch(c, UV_READABLE | UV_WRITABLE);
        return 0;
    }
    r->copy_full = 0;
    r->end_pending = 0;
    r->phase = REQ_COPY_END;
    conn_kick(c);
    return 1;
}

void pg_req_resume(pg_req *r)
{
    if (!r->conn || !r->paused) return;
    r->paused = 0;
    conn_kick(r->conn);
}

/* ---- the pump ---------------------------------------------------------------------- */

static void deliver(pg_req *r, PGresult *res)
{
    if (r->owner && r->ops->on_result) r->ops->on_result(r, res);
    else PQclear(res);
}

static int req_send(lode_pg_conn *c, pg_req *r)
{
    int ok;
    if (r->nparams == 0)
        ok = PQsendQuery(c->pg, r->sql);
    else
        ok = PQsendQueryParams(c->pg, r->sql, r->nparams, NULL,
                               (const char *const *)r->values, r->lengths, NULL, 0);
    if (!ok) {
        if (PQstatus(c->pg) == CONNECTION_BAD) conn_broken(c, NULL);
        else {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", PQerrorMessage(c->pg));
            req_finish(c, r, msg);
        }
        return 0;
    }
    r->sent = 1;
    if (r->single_row) PQsetSingleRowMode(c->pg);
    r->phase = REQ_FLUSH;
    return 1;
}

/* Drive the running request as far as it goes without blocking. */
static void conn_step(lode_pg_conn *c)
{
    for (;;) {
        if (c->state == PGC_BROKEN || c->state == PGC_CLOSED) {
            const char *err = c->error ? c->error : "connection closed";
            if (c->cur) {
                req_finish(c, c->cur, err);
                continue;
            }
            if (c->q_head) {
                pg_req *r = c->q_head;
                c->q_head = r->next;
                if (!c->q_head) c->q_tail = NULL;
                req_finish(c, r, err);
                continue;
            }
            return;
        }
        if (c->state != PGC_READY) return;
        pg_req *r = c->cur;
        if (!r) {
            /* nothing is sent while a cancel is on its way (cancel_after) */
            r = c->cancel ? NULL : c->q_head;
            if (!r) {
                /* idle: a readable socket now means a notice or the server
                 * closing the session (restart, admin shutdown) */
                if (!PQconsumeInput(c->pg)) {
                    conn_broken(c, NULL);
                    continue;
                }
                while (!PQisBusy(c->pg)) {
                    PGresult *res = PQgetResult(c->pg);
                    if (!res) break;
                    PQclear(res);
                }
                if (PQstatus(c->pg) == CONNECTION_BAD) {
                    conn_broken(c, NULL);
                    continue;
                }
                conn_watch(c, UV_READABLE);
                return;
            }
            c->q_head = r->next;
            if (!c->q_head) c->q_tail = NULL;
            r->next = NULL;
            c->cur = r;
            if (r->cancel_sent) {
                req_finish(c, r, "cancelled before it was sent");
                continue;
            }
            if (!req_send(c, r)) continue;
        }
        switch (r->phase) {
        case REQ_FLUSH:
        case REQ_COPY_END: {
            int f = PQflush(c->pg);
            if (f < 0) {
                conn_broken(c, NULL);
                continue;
            }
            if (f == 1) {
                conn_watch(c, UV_READABLE | UV_WRITABLE);
                return;
            }
            r->phase = REQ_READ;
            break;
        }
        case REQ_READ: {
            if (r->paused && r->owner) {
                conn_watch(c, 0);
                return;
            }
            if (!PQconsumeInput(c->pg)) {
                conn_broken(c, NULL);
                continue;
            }
            int waiting = 0;
            while (!waiting) {
                if (PQisBusy(c->pg)) {
                    waiting = 1;
                    break;
                }
                PGresult *res = PQgetResult(c->pg);
                if (!res) break;
                ExecStatusType st = PQresultStatus(res);
                if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
                    PQclear(res);
                    r->phase = st == PGRES_COPY_IN ? REQ_COPY_IN : REQ_COPY_OUT;
                    break;
                }
                deliver(r, res);
                if (r->paused && r->owner) break;
            }
            if (r->paused && r->owner && r->phase == REQ_READ) continue;
            if (r->phase != REQ_READ) {
                if (r->phase == REQ_COPY_IN) {
                    if (r->owner && !r->cancel_sent && r->ops->on_copy_ready)
                        r->ops->on_copy_ready(r);
                    else
                        pg_req_end_copy(r, "COPY abandoned by lode");
                }
                continue;
            }
            if (waiting) {
                if (PQstatus(c->pg) == CONNECTION_BAD) {
                    conn_broken(c, NULL);
                    continue;
                }
                conn_watch(c, UV_READABLE);
                return;
            }
            req_finish(c, r, PQstatus(c->pg) == CONNECTION_BAD ? PQerrorMessage(c->pg) : NULL);
            if (PQstatus(c->pg) == CONNECTION_BAD) conn_broken(c, NULL);
            continue;
        }
        case REQ_COPY_IN: {
            if (!PQconsumeInput(c->pg)) {   /* notices, or an early error */
                conn_broken(c, NULL);
                continue;
            }
            if (r->copy_full) {
                int f = PQflush(c->pg);
                if (f < 0) {
                    conn_broken(c, NULL);
                    continue;
                }
                if (f == 1) {
                    conn_watch(c, UV_READABLE | UV_WRITABLE);
                    return;
                }
                r->copy_full = 0;
                if (r->end_pending) {
                    char *why = r->end_failure;
                    r->end_failure = NULL;
                    pg_req_end_copy(r, why);
                    free(why);
                    continue;
                }
                if (r->owner && !r->cancel_sent && r->ops->on_copy_ready) {
                    r->ops->on_copy_ready(r);
                    continue;
                }
            }
            if (!r->owner && !r->cancel_sent) {
                r->cancel_sent = 1;
                pg_req_end_copy(r, "COPY abandoned by lode");
                continue;
            }
            conn_watch(c, r->copy_full ? UV_READABLE | UV_WRITABLE : UV_READABLE);
            return;
        }
        case REQ_COPY_OUT: {
            if (r->paused && r->owner) {
                conn_watch(c, 0);
                return;
            }
            int consumed = 0, more = 1;
            while (more) {
                char *buf = NULL;
                int n = PQgetCopyData(c->pg, &buf, 1);
                if (n > 0) {
                    int pause = 0;
                    if (r->owner && !r->cancel_sent && r->ops->on_copy_data)
                        pause = r->ops->on_copy_data(r, buf, (size_t)n);
                    PQfreemem(buf);
                    if (pause) {
                        r->paused = 1;
                        more = 0;
                    }
                    continue;
                }
                if (n == 0) {
                    if (consumed) {
                        conn_watch(c, UV_READABLE);
                        return;
                    }
                    if (!PQconsumeInput(c->pg)) {
                        conn_broken(c, NULL);
                        more = 0;
                    }
                    consumed = 1;
                    continue;
                }
                r->phase = REQ_READ;    /* -1 end, -2 error: the result says which */
                more = 0;
            }
            continue;
        }
        default:
            return;
        }
    }
}

static void conn_pump(lode_pg_conn *c)
{
    if (c->in_pump) return;
    c->in_pump = 1;
    conn_step(c);
    c->in_pump = 0;
    if (c->closing) conn_destroy(c);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)events;
    lode_pg_conn *c = h->data;
    if (!c) return;
    if (c->state == PGC_CONNECTING) {
        connect_step(c);
        return;
    }
    (void)status;   /* errors surface through libpq's own calls */
    conn_pump(c);
}

/* ---- closing ------------------------------------------------------------------------ */

/* Fail every request and release libpq and the handles (idempotent); the
 * struct itself is freed unless a Lua userdata still points at it. */
static void conn_destroy(lode_pg_conn *c)
{
    if (!c->finished) {
        c->finished = 1;
        c->on_connect = NULL;
        if (c->state != PGC_BROKEN) {
            c->state = PGC_CLOSED;
            conn_set_error(c, "connection closed");
        }
        c->in_pump = 1;     /* callbacks below must not re-enter */
        conn_step(c);       /* fails every request */
        c->in_pump = 0;
        c->closing = 0;
        conn_unwatch(c);
        if (c->kick) {
            c->kick->data = NULL;
            uv_close((uv_handle_t *)c->kick, handle_closed_free);
            c->kick = NULL;
        }
        if (c->cancel) {
            c->cancel->conn = NULL;   /* it frees itself when PQcancel returns */
            c->cancel = NULL;
        }
        if (c->pg) PQfinish(c->pg);
        c->pg = NULL;
        if (c->live_prev) c->live_prev->live_next = c->live_next;
        else if (G.live == c) G.live = c->live_next;
        if (c->live_next) c->live_next->live_prev = c->live_prev;
        c->live_next = c->live_prev = NULL;
    }
    if (c->held) return;
    free(c->error);
    free(c);
}

void lode_pg_conn_close(lode_pg_conn *c)
{
    if (c->in_pump) {
        c->closing = 1;
        return;
    }
    conn_destroy(c);
}

void lode_pg_conn_release(lode_pg_conn *c)
{
    c->held = 0;
    if (c->in_pump) {
        c->closing = 1;
        return;
    }
    conn_destroy(c);
}

int lode_pg_conn_usable(const lode_pg_conn *c)
{
    return c && c->state == PGC_READY && !c->closing && !c->finished;
}

void lode_pg_conn_hold(lode_pg_conn *c)
{
    c->held = 1;
}

int lode_pg_conn_closed(const lode_pg_conn *c)
{
    return c->finished;
}

const char *lode_pg_connect_error(const lode_pg_conn *c)
{
    if (c->state == PGC_READY && !c->finished) return NULL;
    return c->error && *c->error ? c->error : "could not connect";
}

const char *lode_pg_conn_status(const lode_pg_conn *c)
{
    if (c->finished) return "closed";
    switch (c->state) {
    case PGC_READY: return c->cur || c->q_head ? "busy" : "ready";
    case PGC_BROKEN: return "broken";
    case PGC_CONNECTING: return "connecting";
    default: return "closed";
    }
}

void lode_pg_conn_get_info(const lode_pg_conn *c, lode_pg_conn_info *info)
{
    const PGconn *pg = c->pg;
    info->backend_pid = pg ? PQbackendPID(pg) : 0;
    info->server_version = pg ? PQserverVersion(pg) : 0;
    info->database = pg ? PQdb(pg) : "";
    info->user = pg ? PQuser(pg) : "";
    info->host = pg ? PQhost(pg) : "";
    info->id = c->id;
    info->transaction = pg ? PQtransactionStatus(pg) : PQTRANS_UNKNOWN;
}

/* ---- outcomes ------------------------------------------------------------------------- */

int pg_sqlstate_retryable(const char *s)
{
    if (!s) return 0;
    return !strncmp(s, "08", 2)          /* connection exception */
        || !strcmp(s, "57P01") || !strcmp(s, "57P02") || !strcmp(s, "57P03")
        || !strcmp(s, "57014")           /* query_canceled (timeouts) */
        || !strcmp(s, "40001") || !strcmp(s, "40P01")
        || !strcmp(s, "53300") || !strcmp(s, "55P03");
}

static int64_t context_line(const char *ctx)
{
    /* "COPY t, line 3, column b: "x"" */
    const char *p = ctx ? strstr(ctx, ", line ") : NULL;
    if (!p) return 0;
    return strtoll(p + 7, NULL, 10);
}

/* The CONTEXT's column ("COPY t, line 3, column b: ..."; a binary COPY's
 * ends after the name), kept in buf after the message when it fits. */
static void context_column(lode_pg_outcome *o, const char *ctx, char *buf, size_t bufsize)
{
    const char *p = ctx ? strstr(ctx, ", line ") : NULL;
    p = p ? strstr(p, ", column ") : NULL;
    if (!p) return;
    p += 9;
    size_t n = strcspn(p, ":\n");
    size_t used = strlen(buf) + 1;
    if (n == 0 || used + n + 1 > bufsize) return;
    memcpy(buf + used, p, n);
    buf[used + n] = '\0';
    o->column = buf + used;
}

void pg_outcome_from(lode_pg_outcome *o, const PGresult *res, lode_pg_conn *c,
                     char *buf, size_t bufsize)
{
    memset(o, 0, sizeof *o);
    if (res) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            o->ok = 1;
            const char *n = PQcmdTuples((PGresult *)res);
            o->rows = n && *n ? strtoll(n, NULL, 10) : PQntuples(res);
            return;
        }
        const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        const char *context = PQresultErrorField(res, PG_DIAG_CONTEXT);
        o->sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        o->line = context_line(context);
        if (!primary) primary = PQresultErrorMessage(res);
        snprintf(buf, bufsize, "%s%s%s%s%s", primary,
                 detail ? " — " : "", detail ? detail : "",
                 context ? " (" : "", context ? context : "");
        if (context) {
            size_t n = strlen(buf);
            if (n + 1 < bufsize) {
                buf[n] = ')';
                buf[n + 1] = '\0';
            }
        }
        o->message = buf;
        o->retryable = pg_sqlstate_retryable(o->sqlstate);
        o->column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
        if (!o->column) context_column(o, context, buf, bufsize);
        return;
    }
    const char *err = c && c->error ? c->error : (c && c->pg ? PQerrorMessage(c->pg) : NULL);
    snprintf(buf, bufsize, "%s", err && *err ? err : "the connection to the server was lost");
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
    o->message = buf;
    o->retryable = 1;
}

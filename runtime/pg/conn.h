/* pg/conn.h — private: one libpq connection driven by uv_poll, and the
 * requests (statements, COPY) it runs one at a time, in order.
 *
 * A request is owned by its connection from pg_conn_submit until its on_done
 * returns (then freed). The party that submitted it (a Lua op, a copy object)
 * is `owner`; when that party goes away first it sets owner = NULL
 * (pg_req_abandon) and the connection finishes the request alone: it cancels
 * the query on the server and drains the results, so the connection is
 * reusable afterwards without ever blocking the loop. */
#ifndef LODE_PG_CONN_H
#define LODE_PG_CONN_H

#include <libpq-fe.h>
#include <uv.h>

#include "lode/pg/pg.h"
#include "lode/pg/call.h"

/* A request is the runtime side of a public lode_pg_call. */
typedef struct lode_pg_call pg_req;
typedef struct pg_cancel_job pg_cancel_job;

typedef enum {
    PGC_CONNECTING,
    PGC_READY,      /* connected; requests run */
    PGC_BROKEN,     /* the server or the socket went away */
    PGC_CLOSED
} pg_conn_state;

typedef enum {
    REQ_QUEUED,
    REQ_FLUSH,      /* query sent, output still being flushed */
    REQ_READ,       /* waiting for results */
    REQ_COPY_IN,    /* server waits for COPY data */
    REQ_COPY_END,   /* CopyDone/CopyFail queued, flushing */
    REQ_COPY_OUT,   /* server sends COPY data */
    REQ_DONE
} pg_req_phase;

typedef struct {
    /* Every PGresult of the request except COPY_IN/COPY_OUT markers; the
     * callee owns res (PQclear it). Not called once the owner is gone. */
    void (*on_result)(pg_req *r, PGresult *res);
    /* COPY FROM: the server is ready, or the socket drained. */
    void (*on_copy_ready)(pg_req *r);
    /* COPY TO: one chunk; return 1 to pause reading. */
    int (*on_copy_data)(pg_req *r, const char *data, size_t len);
    /* The request is over; conn_error is the connection-level failure or
     * NULL. Called even for abandoned requests (owner NULL). */
    void (*on_done)(pg_req *r, const char *conn_error);
} pg_req_ops;

struct lode_pg_call {
    pg_req *next;
    lode_pg_conn *conn;
    const pg_req_ops *ops;
    void *owner;
    pg_req_phase phase;
    char *sql;
    int nparams;
    char **values;           /* owned copies; NULL entries are SQL NULL */
    int *lengths;
    int single_row;
    int cancel_sent;
    int paused;              /* owner asked to stop reading (COPY TO, row cursors) */
    int copy_full;           /* COPY FROM: waiting for writable */
    int sent;                /* the statement reached libpq */
    int end_pending;         /* CopyDone/CopyFail waits for room */
    char *end_failure;
    char *task;              /* name of the task that made it, for its notices' log lines */
    lode_pg_call_callbacks cb;   /* lode_pg_call_start's callbacks (call.c's ops) */
};

struct lode_pg_conn {
    PGconn *pg;
    pg_conn_state state;
    uv_poll_t *poll;         /* NULL when no socket is watched */
    uv_timer_t *kick;        /* runs the pump on the next loop turn */
    int fd, events;
    pg_req *cur;             /* running request */
    pg_req *q_head, *q_tail; /* waiting requests */
    pg_cancel_job *cancel;   /* PQcancel running on the thread pool: the next
                              * request waits until it returned */
    char *error;             /* why it broke / failed to connect */
    void (*on_connect)(lode_pg_conn *c, void *ud);
    void *connect_ud;
    lode_pg_conn *live_next, *live_prev;
    uint64_t id;
    int in_pump;             /* re-entrancy guard */
    int closing;
    int finished;            /* closed: no libpq, no handles */
    int held;                /* a Lua userdata points here: it frees the struct */
};

/* A request with copied SQL and parameters; NULL when out of memory. */
pg_req *pg_req_new(const pg_req_ops *ops, void *owner, const char *sql, int nparams,
                   const char *const *values, const int *lengths);
/* Queue r on c (runs when the requests before it are done). */
void pg_conn_submit(lode_pg_conn *c, pg_req *r);
/* The owner is gone: cancel on the server if running, finish silently. */
void pg_req_abandon(pg_req *r);
/* Send a cancel request for r if it is running (non-blocking). */
void pg_req_cancel(pg_req *r);

/* COPY FROM: queue data / end it. Return 1 queued, 0 would block (wait for
 * on_copy_ready), -1 failure (the request then ends with the error). */
int pg_req_put_copy(pg_req *r, const char *data, size_t len);
int pg_req_end_copy(pg_req *r, const char *failure);
/* The owner wants data again after setting r->paused (COPY TO, cursors). */
void pg_req_resume(pg_req *r);

/* Fill an outcome from a result (or from the connection error when res is
 * NULL); strings point into res / the connection. */
void pg_outcome_from(lode_pg_outcome *o, const PGresult *res, lode_pg_conn *c,
                     char *buf, size_t bufsize);
/* Whether a SQLSTATE means "try again". */
int pg_sqlstate_retryable(const char *sqlstate);

#endif

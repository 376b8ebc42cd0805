/* lode/pg/call.h — the PostgreSQL client as calls: connect, run a statement
 * (with parameters, optionally one row at a time), pause and resume its
 * rows, abandon it. The COPY streams are in lode/pg/pg.h.
 *
 * Every function starts work on the loop and returns at once; the callbacks
 * run later on the loop thread, never inside the call that started them
 * (except a connect that fails before it reaches the network), and never
 * resume Lua (STYLE rule 9): a binding calls lode_op_done() from them.
 *
 *   static void on_result(lode_pg_call *call, PGresult *res, void *ud) {
 *       // one PGresult (a whole result, or one row in single-row mode);
 *       // the callee owns res and PQclear()s it
 *   }
 *   static void on_done(lode_pg_call *call, const char *conn_error, void *ud) {
 *       // the statement is over; conn_error is why the connection failed,
 *       // or NULL. The call is freed when this returns.
 *   }
 *   static const lode_pg_call_callbacks cbs = {on_result, on_done};
 *   lode_pg_call *call = lode_pg_call_start(conn, "select $1::int", 1, values,
 *                                           lengths, 0, &cbs, ud);
 *
 * Statements on one connection run one at a time, in the order started. A
 * caller that goes away first calls lode_pg_call_abandon(): the connection
 * then cancels the query on the server and drains its results alone, and no
 * callback is called any more. */
#ifndef LODE_PG_CALL_H
#define LODE_PG_CALL_H

#include <stdint.h>
#include <libpq-fe.h>

#include "lode/pg/pg.h"

typedef struct lode_pg_call lode_pg_call;

/* ---- connections ------------------------------------------------------------- */

/* Start connecting to conninfo (a libpq URI or "k=v" string; "" uses the PG*
 * variables and ~/.pgpass, as psql does); on_connect(c, ud) is called once,
 * and lode_pg_connect_error(c) then says whether it worked. Returns NULL only
 * when out of memory. libpq's connect_timeout does not apply: the caller
 * enforces its own (lode_pg_connect_forget, then lode_pg_conn_close). */
lode_pg_conn *lode_pg_connect(const char *conninfo,
                              void (*on_connect)(lode_pg_conn *c, void *ud), void *ud);
/* Stop waiting for the connection attempt: on_connect will not be called. */
void lode_pg_connect_forget(lode_pg_conn *c);
/* NULL when c is connected, else why it could not connect or broke. */
const char *lode_pg_connect_error(const lode_pg_conn *c);
/* A holder (a Lua userdata) keeps the struct alive past a close by the
 * runtime: lode_pg_conn_hold when wrapping c, lode_pg_conn_release (closes
 * c if open, and frees it) when the holder goes. */
void lode_pg_conn_hold(lode_pg_conn *c);
void lode_pg_conn_release(lode_pg_conn *c);
/* Close: running and queued statements end with "connection closed"; the
 * struct is freed too unless held. The runtime's shutdown closes every
 * connection still open. */
void lode_pg_conn_close(lode_pg_conn *c);
/* Whether c was closed (by its owner, the runtime's shutdown, or a break). */
int lode_pg_conn_closed(const lode_pg_conn *c);
/* "connecting", "ready", "busy" (statements running or queued), "broken"
 * or "closed". */
const char *lode_pg_conn_status(const lode_pg_conn *c);

/* What the server said about a connection; strings are owned by libpq and
 * valid until the connection is closed ("" when it is). */
typedef struct {
    int backend_pid;
    int server_version;
    const char *database, *user, *host;
    uint64_t id;                        /* lode's number for the connection, in logs */
    PGTransactionStatusType transaction;
} lode_pg_conn_info;

void lode_pg_conn_get_info(const lode_pg_conn *c, lode_pg_conn_info *info);

/* ---- statements --------------------------------------------------------------- */

typedef struct {
    /* Every result of the statement (errors included) except the COPY
     * markers; the callee owns res. May be NULL: results are dropped. */
    void (*on_result)(lode_pg_call *call, PGresult *res, void *ud);
    /* Called once when the statement is over (conn_error: the connection's
     * failure, or NULL); the call is freed when it returns. May be NULL. */
    void (*on_done)(lode_pg_call *call, const char *conn_error, void *ud);
} lode_pg_call_callbacks;

#define LODE_PG_SINGLE_ROW 1    /* libpq single-row mode: one on_result per row */

/* Queue sql on c with nparams text parameters (values[i] NULL for SQL NULL;
 * SQL and values are copied). It runs after what is already queued on c.
 * cb NULL: run and forget the outcome. Returns NULL when out of memory. */
lode_pg_call *lode_pg_call_start(lode_pg_conn *c, const char *sql, int nparams,
                                 const char *const *values, const int *lengths,
                                 int flags, const lode_pg_call_callbacks *cb, void *ud);
/* The caller goes away: the query is cancelled on the server if it runs,
 * and no callback is called any more. */
void lode_pg_call_abandon(lode_pg_call *call);
/* Stop reading results from the server (a consumer that is behind), and
 * start again. */
void lode_pg_call_pause(lode_pg_call *call);
void lode_pg_call_resume(lode_pg_call *call);
int lode_pg_call_paused(const lode_pg_call *call);

/* The outcome a result stands for (ok and rows, or the server's error with
 * its SQLSTATE, message + detail + context, COPY line and retryability);
 * strings point into res or buf. */
void lode_pg_result_outcome(lode_pg_outcome *o, const PGresult *res, char *buf, size_t bufsize);

#endif

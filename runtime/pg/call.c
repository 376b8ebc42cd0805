/* pg/call.c — lode/pg/call.h: a statement as a call on a connection.
 *
 * A lode_pg_call is the connection's request (pg_req in conn.h) with the
 * caller's callbacks in it; these ops forward the request's events to them
 * while the caller is there (owner set), and the connection owns and frees
 * the request as for any other (conn.c). */
#include <stdlib.h>

#include "lode.h"
#include "conn.h"

static void call_on_result(pg_req *r, PGresult *res)
{
    if (r->cb.on_result) r->cb.on_result(r, res, r->owner);
    else PQclear(res);
}

static void call_on_done(pg_req *r, const char *conn_error)
{
    /* an abandoned call (owner NULL) ends silently */
    if (r->owner && r->cb.on_done) r->cb.on_done(r, conn_error, r->owner);
}

static const pg_req_ops call_ops = {
    .on_result = call_on_result, .on_copy_ready = NULL, .on_copy_data = NULL,
    .on_done = call_on_done,
};

lode_pg_call *lode_pg_call_start(lode_pg_conn *c, const char *sql, int nparams,
                                 const char *const *values, const int *lengths,
                                 int flags, const lode_pg_call_callbacks *cb, void *ud)
{
    pg_req *r = pg_req_new(&call_ops, cb ? ud : NULL, sql, nparams, values, lengths);
    if (!r) return NULL;
    if (cb) r->cb = *cb;
    r->single_row = (flags & LODE_PG_SINGLE_ROW) != 0;
    pg_conn_submit(c, r);
    return r;
}

void lode_pg_call_abandon(lode_pg_call *call)
{
    pg_req_abandon(call);
}

void lode_pg_call_pause(lode_pg_call *call)
{
    call->paused = 1;
}

void lode_pg_call_resume(lode_pg_call *call)
{
    pg_req_resume(call);
}

int lode_pg_call_paused(const lode_pg_call *call)
{
    return call->paused;
}

void lode_pg_result_outcome(lode_pg_outcome *o, const PGresult *res, char *buf, size_t bufsize)
{
    pg_outcome_from(o, res, NULL, buf, bufsize);
}

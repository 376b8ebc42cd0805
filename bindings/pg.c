/* pg.c — lode.pg: PostgreSQL/Redshift connections for Lua, on the loop.
 *
 *   local pg = require "lode.pg"
 *   local conn = pg.connect("postgresql://user@host/db")   -- yields
 *   local r = conn:query("select $1::int as n", {1})       -- r[1].n == 1, r.rowcount
 *   for row in conn:rows("select * from big") do ... end   -- single-row mode, bounded
 *   local w = conn:copy_in("COPY t FROM STDIN")            -- w:write(s), w:finish() -> rows
 *   local rd = conn:copy_out("COPY t TO STDOUT")           -- rd:read() -> chunk or nil
 *
 * Thin: argument checks, one call into the pg runtime (lode/pg/call.h for
 * connections and statements, lode/pg/pg.h for COPY), yield, push results.
 * Userdata hold only pointers (luv style); C state whose request is still
 * running when the userdata dies is finished by the connection and freed in
 * the request's on_done. Results convert to natural Lua types: integers,
 * floats, booleans, strings; numeric stays a string (exact); NULL is lode.null. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <math.h>

#include <lauxlib.h>

#include "lode.h"
#include "lode/pg/pg.h"
#include "lode/pg/call.h"

#define CURSOR_MT "lode.pg.cursor"
#define CURSOR_HIGH_WATER 256      /* buffered rows before reading pauses */
#define READER_HIGH_WATER (256 * 1024)

typedef struct {
    lode_pg_conn *c;      /* NULL once closed */
} conn_ud;

/* A task waiting for an owner object (cursor, writer, reader) to change. */
typedef struct {
    lode_op op;
    lode_op **slot;       /* the owner's `waiting` field */
    void *owner;
} wait_op;

static void wake(lode_op **slot)
{
    lode_op *op = *slot;
    if (!op) return;
    *slot = NULL;
    lode_op_done(op);
}

static void wait_cancel(lode_op *op)
{
    wait_op *w = (wait_op *)op;
    if (*w->slot == op) *w->slot = NULL;
    lode_op_done(op);
}

static int wait_for(lua_State *L, const char *what, lode_op **slot, void *owner,
                    lode_op_push_fn push)
{
    wait_op *w = (wait_op *)lode_op_new(L, sizeof *w, what, push, wait_cancel, NULL);
    w->slot = slot;
    w->owner = owner;
    *slot = &w->op;
    return lode_op_yield(L, &w->op);
}

/* ---- errors ----------------------------------------------------------------------- */

static void push_result_error(lua_State *L, const char *op, const PGresult *res)
{
    lode_pg_outcome o;
    char msg[2048];
    lode_pg_result_outcome(&o, res, msg, sizeof msg);
    lode_push_error(L, op, o.sqlstate ? o.sqlstate : "error", o.message, o.retryable);
    static const struct { int field; const char *name; } extra[] = {
        {PG_DIAG_SQLSTATE, "sqlstate"}, {PG_DIAG_MESSAGE_DETAIL, "detail"},
        {PG_DIAG_MESSAGE_HINT, "hint"}, {PG_DIAG_CONTEXT, "context"},
        {PG_DIAG_STATEMENT_POSITION, "position"}, {PG_DIAG_SEVERITY_NONLOCALIZED, "severity"},
        {PG_DIAG_TABLE_NAME, "table"}, {PG_DIAG_COLUMN_NAME, "column"},
        {PG_DIAG_CONSTRAINT_NAME, "constraint"},
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        const char *v = PQresultErrorField(res, extra[i].field);
        if (v) {
            lua_pushstring(L, v);
            lua_setfield(L, -2, extra[i].name);
        }
    }
    if (o.line > 0) {
        lua_pushinteger(L, (lua_Integer)o.line);
        lua_setfield(L, -2, "line");
    }
}

static void push_conn_error(lua_State *L, const char *op, const char *msg)
{
    lode_push_error(L, op, "connection", msg && *msg ? msg : "connection lost", 1);
}

static void push_outcome_error(lua_State *L, const char *op, int ok, const char *message,
                               const char *sqlstate, int64_t line, int retryable)
{
    (void)ok;
    lode_push_error(L, op, sqlstate ? sqlstate : (retryable ? "connection" : "error"),
                    message ? message : "failed", retryable);
    if (sqlstate) {
        lua_pushstring(L, sqlstate);
        lua_setfield(L, -2, "sqlstate");
    }
    if (line > 0) {
        lua_pushinteger(L, (lua_Integer)line);
        lua_setfield(L, -2, "line");
    }
}

/* A copy of an outcome that outlives its callback. */
typedef struct {
    int known, ok, retryable;
    int64_t rows, line;
    char *message;
    char sqlstate[6];
} saved_outcome;

static void outcome_save(saved_outcome *s, const lode_pg_outcome *o)
{
    s->known = 1;
    s->ok = o->ok;
    s->rows = o->rows;
    s->line = o->line;
    s->retryable = o->retryable;
    s->message = o->message ? strdup(o->message) : NULL;
    s->sqlstate[0] = '\0';
    if (o->sqlstate) snprintf(s->sqlstate, sizeof s->sqlstate, "%s", o->sqlstate);
}

static void push_saved_error(lua_State *L, const char *op, const saved_outcome *s)
{
    push_outcome_error(L, op, s->ok, s->message, s->sqlstate[0] ? s->sqlstate : NULL,
                       s->line, s->retryable);
}

/* ---- values ---------------------------------------------------------------------------- */

static const char *type_name(Oid oid)
{
    switch (oid) {
    case 16: return "boolean";
    case 17: return "bytea";
    case 18: return "char";
    case 19: return "name";
    case 20: return "bigint";
    case 21: return "smallint";
    case 23: return "integer";
    case 25: return "text";
    case 26: return "oid";
    case 114: return "json";
    case 700: return "real";
    case 701: return "double precision";
    case 1042: return "character";
    case 1043: return "character varying";
    case 1082: return "date";
    case 1083: return "time";
    case 1114: return "timestamp";
    case 1184: return "timestamptz";
    case 1186: return "interval";
    case 1700: return "numeric";
    case 2950: return "uuid";
    case 3802: return "jsonb";
    default: return NULL;
    }
}

static void push_value(lua_State *L, const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) {
        lode_push_null(L);
        return;
    }
    const char *v = PQgetvalue(res, row, col);
    int len = PQgetlength(res, row, col);
    switch (PQftype(res, col)) {
    case 16:
        lua_pushboolean(L, v[0] == 't');
        return;
    case 20: case 21: case 23: case 26:
        lua_pushinteger(L, (lua_Integer)strtoll(v, NULL, 10));
        return;
    case 700: case 701:
        lua_pushnumber(L, (lua_Number)strtod(v, NULL));   /* also NaN, Infinity */
        return;
    default:
        lua_pushlstring(L, v, (size_t)len);
    }
}

/* Column names of res as a table at the top of the stack. */
static void push_names(lua_State *L, const PGresult *res)
{
    int n = PQnfields(res);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, PQfname(res, i));
        lua_rawseti(L, -2, i + 1);
    }
}

static void push_row(lua_State *L, const PGresult *res, int row, int names)
{
    int n = PQnfields(res);
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, names, i + 1);
        push_value(L, res, row, i);
        lua_rawset(L, -3);
    }
}

static void push_columns(lua_State *L, const PGresult *res)
{
    int n = PQnfields(res);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, PQfname(res, i));
        lua_setfield(L, -2, "name");
        Oid oid = PQftype(res, i);
        lua_pushinteger(L, (lua_Integer)oid);
        lua_setfield(L, -2, "oid");
        const char *tn = type_name(oid);
        if (tn) lua_pushstring(L, tn);
        else lua_pushfstring(L, "oid:%d", (int)oid);
        lua_setfield(L, -2, "type");
        lua_rawseti(L, -2, i + 1);
    }
}

/* { row, ..., rowcount =, command =, columns = {...} } */
static void push_result(lua_State *L, const PGresult *res)
{
    int nrows = res ? PQntuples(res) : 0;
    lua_createtable(L, nrows, 3);
    if (!res) {
        lua_pushinteger(L, 0);
        lua_setfield(L, -2, "rowcount");
        lua_newtable(L);
        lua_setfield(L, -2, "columns");
        return;
    }
    int tbl = lua_gettop(L);
    push_names(L, res);
    int names = lua_gettop(L);
    for (int r = 0; r < nrows; r++) {
        push_row(L, res, r, names);
        lua_rawseti(L, tbl, r + 1);
    }
    lua_pop(L, 1);
    const char *tuples = PQcmdTuples((PGresult *)res);
    lua_pushinteger(L, (lua_Integer)(tuples && *tuples ? strtoll(tuples, NULL, 10) : nrows));
    lua_setfield(L, -2, "rowcount");
    lua_pushstring(L, PQcmdStatus((PGresult *)res));
    lua_setfield(L, -2, "command");
    push_columns(L, res);
    lua_setfield(L, -2, "columns");
}

/* Parameters from the table at idx ({n=} or sequence); strings stay on the
 * stack until the request has copied them. Returns the count. */
static int collect_params(lua_State *L, int idx, const char ***values, int **lengths)
{
    *values = NULL;
    *lengths = NULL;
    if (lua_isnoneornil(L, idx)) return 0;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer n;
    if (lua_getfield(L, idx, "n") == LUA_TNUMBER) n = lua_tointeger(L, -1);
    else n = (lua_Integer)lua_rawlen(L, idx);
    lua_pop(L, 1);
    if (n == 0) return 0;
    luaL_argcheck(L, n > 0 && n <= 65535, idx, "between 0 and 65535 parameters");
    luaL_checkstack(L, (int)n + 4, "too many parameters");
    const char **v = lua_newuserdatauv(L, sizeof(char *) * (size_t)n, 0);
    int *len = lua_newuserdatauv(L, sizeof(int) * (size_t)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        int t = lua_rawgeti(L, idx, i);
        if (t == LUA_TNIL || lode_is_null(L, -1)) {
            v[i - 1] = NULL;
            len[i - 1] = 0;
            continue;       /* the nil stays as a placeholder */
        }
        if (t == LUA_TBOOLEAN) {
            lua_pushstring(L, lua_toboolean(L, -1) ? "true" : "false");
        } else if (t == LUA_TNUMBER && lua_isinteger(L, -1)) {
            lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, -1));
        } else if (t == LUA_TNUMBER) {
            double d = lua_tonumber(L, -1);
            char buf[64];
            if (isnan(d)) snprintf(buf, sizeof buf, "NaN");
            else if (isinf(d)) snprintf(buf, sizeof buf, d > 0 ? "Infinity" : "-Infinity");
            else snprintf(buf, sizeof buf, "%.17g", d);
            lua_pushstring(L, buf);
        } else if (t == LUA_TSTRING) {
            lua_pushvalue(L, -1);
        } else {
            return luaL_error(L, "parameter $%d is a %s; pass a string, number, boolean, "
                                 "nil or lode.null", (int)i, luaL_typename(L, -1));
        }
        lua_remove(L, -2);
        size_t sl;
        v[i - 1] = lua_tolstring(L, -1, &sl);
        luaL_argcheck(L, sl < 0x7fffffff, idx, "parameter too long");
        len[i - 1] = (int)sl;
    }
    *values = v;
    *lengths = len;
    return (int)n;
}

/* ---- connections ------------------------------------------------------------------------ */

lode_pg_conn *lode_pg_check_conn(lua_State *L, int idx)
{
    conn_ud *u = luaL_checkudata(L, idx, LODE_PG_CONN_MT);
    if (!u->c || lode_pg_conn_closed(u->c)) luaL_argerror(L, idx, "the connection is closed");
    return u->c;
}

static conn_ud *check_conn_ud(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, LODE_PG_CONN_MT);
}

typedef struct {
    lode_op op;
    lode_pg_conn *c;
    uv_timer_t *timer;      /* connect timeout; freed in its close callback */
    lua_Integer timeout_ms;
    int timed_out;
} connect_op;

static void timer_closed(uv_handle_t *h) { free(h); }

static void connect_stop_timer(connect_op *k)
{
    if (!k->timer) return;
    uv_close((uv_handle_t *)k->timer, timer_closed);
    k->timer = NULL;
}

static void connect_cb(lode_pg_conn *c, void *ud)
{
    (void)c;
    connect_op *k = ud;
    connect_stop_timer(k);
    lode_op_done(&k->op);
}

/* libpq's connect_timeout only applies to blocking connects: enforce ours. */
static void connect_timed_out(uv_timer_t *t)
{
    connect_op *k = t->data;
    k->timed_out = 1;
    connect_stop_timer(k);
    if (k->c) {
        lode_pg_connect_forget(k->c);
        lode_pg_conn_close(k->c);
        k->c = NULL;
    }
    if (!k->op.done) lode_op_done(&k->op);
}

static void connect_cancel(lode_op *op)
{
    connect_op *k = (connect_op *)op;
    connect_stop_timer(k);
    if (k->c) {
        lode_pg_connect_forget(k->c);
        lode_pg_conn_close(k->c);
        k->c = NULL;
    }
    if (!op->done) lode_op_done(op);
}

static void connect_release(lode_op *op)
{
    connect_stop_timer((connect_op *)op);
    free(op);
}

static int connect_push(lua_State *L, lode_op *op)
{
    connect_op *k = (connect_op *)op;
    lode_pg_conn *c = k->c;
    k->c = NULL;
    if (k->timed_out) {
        lua_pushfstring(L, "could not connect within %d ms", (int)k->timeout_ms);
        lode_push_error(L, "pg.connect", "timeout", lua_tostring(L, -1), 1);
        return -1;
    }
    if (!c) {
        lode_push_error(L, "pg.connect", "out_of_memory", "out of memory", 0);
        return -1;
    }
    const char *err = lode_pg_connect_error(c);
    if (err) {
        lode_push_error(L, "pg.connect", "connect", err, 1);
        lode_pg_conn_close(c);
        return -1;
    }
    conn_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->c = c;
    lode_pg_conn_hold(c);     /* freed by conn_close, even after the runtime closed it */
    luaL_setmetatable(L, LODE_PG_CONN_MT);
    return 1;
}

/* pg.connect(conninfo [, timeout_ms]) -> conn: a libpq URI or "k=v" string
 * ("" uses the PG* variables); fails after timeout_ms (default 30000). */
static int l_connect(lua_State *L)
{
    const char *conninfo = luaL_optstring(L, 1, "");
    lua_Integer timeout = luaL_optinteger(L, 2, 30000);
    luaL_argcheck(L, timeout > 0, 2, "timeout must be > 0 ms");
    connect_op *k = (connect_op *)lode_op_new(L, sizeof *k, "pg.connect", connect_push,
                                              connect_cancel, connect_release);
    k->timeout_ms = timeout;
    k->timer = malloc(sizeof *k->timer);
    if (k->timer) {
        uv_timer_init(lode_loop(), k->timer);
        k->timer->data = k;
        uv_timer_start(k->timer, connect_timed_out, (uint64_t)timeout, 0);
    }
    k->c = lode_pg_connect(conninfo, connect_cb, k);
    if (!k->c) {
        connect_stop_timer(k);
        k->op.done = 1;
    }
    return lode_op_yield(L, &k->op);
}

static int conn_close(lua_State *L)
{
    conn_ud *u = check_conn_ud(L, 1);
    if (u->c) {
        lode_pg_conn_release(u->c);
        u->c = NULL;
    }
    return 0;
}

/* conn:status() -> "ready" | "busy" | "broken" | "closed" */
static int conn_status(lua_State *L)
{
    conn_ud *u = check_conn_ud(L, 1);
    lua_pushstring(L, u->c ? lode_pg_conn_status(u->c) : "closed");
    return 1;
}

/* conn:transaction_status() -> "idle" | "active" | "intrans" | "inerror" | "unknown" */
static int conn_tx_status(lua_State *L)
{
    lode_pg_conn *c = lode_pg_check_conn(L, 1);
    static const char *const names[] = {"idle", "active", "intrans", "inerror", "unknown"};
    lode_pg_conn_info info;
    lode_pg_conn_get_info(c, &info);
    PGTransactionStatusType t = info.transaction;
    lua_pushstring(L, names[t <= PQTRANS_UNKNOWN ? t : PQTRANS_UNKNOWN]);
    return 1;
}

static int conn_info(lua_State *L)
{
    lode_pg_conn_info info;
    lode_pg_conn_get_info(lode_pg_check_conn(L, 1), &info);
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, info.backend_pid);
    lua_setfield(L, -2, "backend_pid");
    lua_pushinteger(L, info.server_version);
    lua_setfield(L, -2, "server_version");
    lua_pushstring(L, info.database);
    lua_setfield(L, -2, "database");
    lua_pushstring(L, info.user);
    lua_setfield(L, -2, "user");
    lua_pushstring(L, info.host);
    lua_setfield(L, -2, "host");
    lua_pushinteger(L, (lua_Integer)info.id);
    lua_setfield(L, -2, "id");
    return 1;
}

static int conn_tostring(lua_State *L)
{
    conn_ud *u = check_conn_ud(L, 1);
    if (!u->c) lua_pushliteral(L, "lode.pg.conn (closed)");
    else {
        lode_pg_conn_info info;
        lode_pg_conn_get_info(u->c, &info);
        lua_pushfstring(L, "lode.pg.conn #%d", (int)info.id);
    }
    return 1;
}

/* ---- statements ---------------------------------------------------------------------------- */

typedef struct {
    lode_op op;
    lode_pg_call *req;
    PGresult *last, *err;
    char *conn_err;
    int want_result;       /* query: result table; exec-like callers use the same */
} query_op;

static void q_on_result(lode_pg_call *r, PGresult *res, void *ud)
{
    (void)r;
    query_op *q = ud;
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
        if (!q->err) {
            q->err = res;
            return;
        }
        PQclear(res);
        return;
    }
    PQclear(q->last);
    q->last = res;
}

static void q_on_done(lode_pg_call *r, const char *conn_error, void *ud)
{
    (void)r;
    query_op *q = ud;
    q->req = NULL;
    if (conn_error) q->conn_err = strdup(conn_error);
    lode_op_done(&q->op);
}

static const lode_pg_call_callbacks query_cbs = {q_on_result, q_on_done};

static void q_cancel(lode_op *op)
{
    query_op *q = (query_op *)op;
    if (q->req) {
        lode_pg_call_abandon(q->req);   /* the server query is cancelled; results drained */
        q->req = NULL;
    }
    lode_op_done(op);
}

static void q_release(lode_op *op)
{
    query_op *q = (query_op *)op;
    PQclear(q->last);
    PQclear(q->err);
    free(q->conn_err);
    free(q);
}

static int q_push(lua_State *L, lode_op *op)
{
    query_op *q = (query_op *)op;
    if (q->err) {
        push_result_error(L, "pg.query", q->err);
        return -1;
    }
    if (q->conn_err) {
        push_conn_error(L, "pg.query", q->conn_err);
        return -1;
    }
    push_result(L, q->last);
    return 1;
}

/* conn:query(sql [, params]) -> { rows..., rowcount=, command=, columns= } */
static int conn_query(lua_State *L)
{
    lode_pg_conn *c = lode_pg_check_conn(L, 1);
    const char *sql = luaL_checkstring(L, 2);
    lode_check_task(L, "pg.query");
    const char **values;
    int *lengths;
    int n = collect_params(L, 3, &values, &lengths);
    query_op *q = (query_op *)lode_op_new(L, sizeof *q, "pg.query", q_push, q_cancel, q_release);
    q->req = lode_pg_call_start(c, sql, n, values, lengths, 0, &query_cbs, q);
    if (!q->req) {
        q_release(&q->op);
        return luaL_error(L, "pg.query: out of memory");
    }
    return lode_op_yield(L, &q->op);
}

/* conn:queue(sql): run sql after what is queued, without waiting and ignoring
 * the outcome (used to roll back a connection whose task went away). */
static int conn_queue(lua_State *L)
{
    lode_pg_conn *c = lode_pg_check_conn(L, 1);
    const char *sql = luaL_checkstring(L, 2);
    if (!lode_pg_call_start(c, sql, 0, NULL, NULL, 0, NULL, NULL))
        return luaL_error(L, "pg.queue: out of memory");
    return 0;
}

/* ---- row cursors (single-row mode) ------------------------------------------------------- */

typedef struct {
    lode_pg_call *req;
    PGresult **rows;       /* ring of single-row results */
    int head, count, cap;
    PGresult *err;
    char *conn_err;
    int done;
    int alive;             /* the userdata still points here */
    lode_op *waiting;
} cursor;

typedef struct {
    cursor *cur;
} cursor_ud;

static void cursor_free(cursor *k)
{
    for (int i = 0; i < k->count; i++) PQclear(k->rows[(k->head + i) % k->cap]);
    free(k->rows);
    PQclear(k->err);
    free(k->conn_err);
    free(k);
}

static void cur_on_result(lode_pg_call *r, PGresult *res, void *ud)
{
    cursor *k = ud;
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_SINGLE_TUPLE) {
        if (k->count == k->cap) {
            int cap = k->cap ? k->cap * 2 : 64;
            PGresult **nr = malloc(sizeof *nr * (size_t)cap);
            if (!nr) {
                PQclear(res);
                return;
            }
            for (int i = 0; i < k->count; i++) nr[i] = k->rows[(k->head + i) % k->cap];
            free(k->rows);
            k->rows = nr;
            k->head = 0;
            k->cap = cap;
        }
        k->rows[(k->head + k->count) % k->cap] = res;
        k->count++;
        if (k->count >= CURSOR_HIGH_WATER) lode_pg_call_pause(r);
        wake(&k->waiting);
        return;
    }
    if ((st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE) && !k->err) {
        k->err = res;
        return;
    }
    PQclear(res);
}

static void cur_on_done(lode_pg_call *r, const char *conn_error, void *ud)
{
    (void)r;
    cursor *k = ud;
    k->req = NULL;
    k->done = 1;
    if (conn_error) k->conn_err = strdup(conn_error);
    wake(&k->waiting);
    if (!k->alive) cursor_free(k);
}

static const lode_pg_call_callbacks cursor_cbs = {cur_on_result, cur_on_done};

static int cursor_push_next(lua_State *L, cursor *k)
{
    if (k->count > 0) {
        PGresult *res = k->rows[k->head];
        k->head = (k->head + 1) % k->cap;
        k->count--;
        push_names(L, res);
        push_row(L, res, 0, lua_gettop(L));
        lua_remove(L, -2);
        PQclear(res);
        if (k->req && lode_pg_call_paused(k->req) && k->count < CURSOR_HIGH_WATER / 2)
            lode_pg_call_resume(k->req);
        return 1;
    }
    if (k->err) {
        push_result_error(L, "pg.rows", k->err);
        return -1;
    }
    if (k->conn_err) {
        push_conn_error(L, "pg.rows", k->conn_err);
        return -1;
    }
    lua_pushnil(L);
    return 1;
}

static int cursor_wait_push(lua_State *L, lode_op *op)
{
    return cursor_push_next(L, ((wait_op *)op)->owner);
}

static int cursor_next(lua_State *L)
{
    cursor_ud *u = luaL_checkudata(L, 1, CURSOR_MT);
    cursor *k = u->cur;
    if (!k) return luaL_error(L, "pg.rows: the cursor is closed");
    if (k->count > 0 || k->done) {
        int n = cursor_push_next(L, k);
        if (n < 0) return lua_error(L);
        return n;
    }
    if (k->waiting) return luaL_error(L, "pg.rows: another task is reading this cursor");
    return wait_for(L, "pg.rows", &k->waiting, k, cursor_wait_push);
}

static int cursor_close(lua_State *L)
{
    cursor_ud *u = luaL_checkudata(L, 1, CURSOR_MT);
    cursor *k = u->cur;
    if (!k) return 0;
    u->cur = NULL;
    k->alive = 0;
    if (k->req) {
        lode_pg_call_abandon(k->req);    /* cancels the rest on the server */
        k->req = NULL;
    }
    cursor_free(k);
    return 0;
}

/* conn:rows(sql [, params]) -> next, cursor, nil, cursor: rows one at a time
 * (libpq single-row mode), at most ~256 buffered; `for row in conn:rows(...)`
 * closes the cursor (and cancels the rest) when the loop is left early. */
static int conn_rows(lua_State *L)
{
    lode_pg_conn *c = lode_pg_check_conn(L, 1);
    const char *sql = luaL_checkstring(L, 2);
    const char **values;
    int *lengths;
    int n = collect_params(L, 3, &values, &lengths);
    cursor *k = calloc(1, sizeof *k);
    if (!k) return luaL_error(L, "pg.rows: out of memory");
    k->alive = 1;
    lua_pushcfunction(L, cursor_next);
    cursor_ud *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->cur = k;
    luaL_setmetatable(L, CURSOR_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);     /* keeps the connection alive */
    k->req = lode_pg_call_start(c, sql, n, values, lengths, LODE_PG_SINGLE_ROW, &cursor_cbs, k);
    if (!k->req) return luaL_error(L, "pg.rows: out of memory");   /* __gc frees k */
    lua_pushnil(L);
    lua_pushvalue(L, -2);
    return 4;
}

/* ---- COPY FROM STDIN --------------------------------------------------------------------- */

typedef struct {
    lode_copy_in *ci;      /* NULL after on_finish */
    saved_outcome out;
    int alive;
    lode_op *waiting;
} writer;

typedef struct {
    writer *w;
} writer_ud;

static void writer_free(writer *w)
{
    free(w->out.message);
    free(w);
}

static void w_on_ready(lode_copy_in *ci, void *ud)
{
    (void)ci;
    writer *w = ud;
    wake(&w->waiting);
}

static void w_on_finish(lode_copy_in *ci, const lode_pg_outcome *o, void *ud)
{
    (void)ci;
    writer *w = ud;
    w->ci = NULL;
    outcome_save(&w->out, o);
    wake(&w->waiting);
    if (!w->alive) writer_free(w);
}

static writer *check_writer(lua_State *L)
{
    writer_ud *u = luaL_checkudata(L, 1, LODE_PG_COPY_IN_MT);
    if (!u->w) luaL_argerror(L, 1, "the COPY writer is closed");
    return u->w;
}

static int w_push_after_write(lua_State *L, lode_op *op)
{
    writer *w = ((wait_op *)op)->owner;
    if (w->out.known && !w->out.ok) {
        push_saved_error(L, "pg.copy_in", &w->out);
        return -1;
    }
    return 0;
}

/* w:write(s): queue bytes; waits only when the server is behind. */
static int writer_write(lua_State *L)
{
    writer *w = check_writer(L);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    lode_check_task(L, "pg.copy_in:write");
    if (w->out.known) {
        if (!w->out.ok) {
            push_saved_error(L, "pg.copy_in", &w->out);
            return lua_error(L);
        }
        return luaL_error(L, "pg.copy_in: write after finish");
    }
    lode_copy_status st = lode_copy_in_write(w->ci, s, len);
    if (st == LODE_COPY_OK) return 0;
    if (w->waiting) return luaL_error(L, "pg.copy_in: another task is writing");
    return wait_for(L, "pg.copy_in:write", &w->waiting, w, w_push_after_write);
}

static int w_push_finish(lua_State *L, lode_op *op)
{
    writer *w = ((wait_op *)op)->owner;
    if (!w->out.known) {
        lode_push_error(L, "pg.copy_in", "cancelled", "COPY did not finish", 0);
        return -1;
    }
    if (!w->out.ok) {
        push_saved_error(L, "pg.copy_in", &w->out);
        return -1;
    }
    lua_pushinteger(L, (lua_Integer)w->out.rows);
    return 1;
}

/* w:finish() -> rows loaded; raises the server's error (with .line). */
static int writer_finish(lua_State *L)
{
    writer *w = check_writer(L);
    lode_check_task(L, "pg.copy_in:finish");
    if (w->waiting) return luaL_error(L, "pg.copy_in: another task is using this writer");
    if (!w->out.known) lode_copy_in_finish(w->ci);
    if (w->out.known) {
        lode_op *op = lode_op_new(L, sizeof(wait_op), "pg.copy_in:finish", w_push_finish, NULL, NULL);
        ((wait_op *)op)->owner = w;
        op->done = 1;
        return lode_op_yield(L, op);
    }
    return wait_for(L, "pg.copy_in:finish", &w->waiting, w, w_push_finish);
}

static int w_push_abort(lua_State *L, lode_op *op)
{
    (void)L;
    (void)op;
    return 0;
}

/* w:abort([reason]): the server discards everything written. */
static int writer_abort(lua_State *L)
{
    writer *w = check_writer(L);
    const char *reason = luaL_optstring(L, 2, "aborted by lode");
    if (w->out.known) return 0;
    lode_copy_in_abort(w->ci, reason);
    if (!lode_task_of(L) || !lua_isyieldable(L)) return 0;
    if (w->out.known || w->waiting) return 0;
    return wait_for(L, "pg.copy_in:abort", &w->waiting, w, w_push_abort);
}

static int writer_gc(lua_State *L)
{
    writer_ud *u = luaL_checkudata(L, 1, LODE_PG_COPY_IN_MT);
    writer *w = u->w;
    if (!w) return 0;
    u->w = NULL;
    w->alive = 0;
    if (w->ci) lode_copy_in_abort(w->ci, "the COPY writer was closed before finish()");
    else writer_free(w);
    return 0;
}

static int writer_bytes(lua_State *L)
{
    writer *w = check_writer(L);
    lua_pushinteger(L, w->ci ? (lua_Integer)lode_copy_in_bytes(w->ci) : 0);
    return 1;
}

/* conn:copy_in(sql [, format]) -> writer; format "text" (default), "csv" or
 * "binary" ("binary" sends the file header and trailer itself). */
static int conn_copy_in(lua_State *L)
{
    lode_pg_conn *c = lode_pg_check_conn(L, 1);
    const char *sql = luaL_checkstring(L, 2);
    static const char *const formats[] = {"text", "csv", "binary", NULL};
    int fmt = luaL_checkoption(L, 3, "text", formats);
    writer *w = calloc(1, sizeof *w);
    if (!w) return luaL_error(L, "pg.copy_in: out of memory");
    w->alive = 1;
    writer_ud *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->w = NULL;
    luaL_setmetatable(L, LODE_PG_COPY_IN_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    static const lode_copy_in_callbacks cbs = {w_on_ready, w_on_finish};
    const char *err = NULL;
    w->ci = lode_copy_in_start(c, sql, (lode_copy_format)fmt, &cbs, w, &err);
    if (!w->ci) {
        free(w);
        lode_push_error(L, "pg.copy_in", "connection", err, 1);
        return lua_error(L);
    }
    u->w = w;
    return 1;
}

/* ---- COPY TO STDOUT ---------------------------------------------------------------------- */

typedef struct {
    lode_copy_out *co;
    lode_copy_buf buf;
    int paused;
    saved_outcome out;
    int alive;
    lode_op *waiting;
} reader;

typedef struct {
    reader *r;
} reader_ud;

static void reader_free(reader *r)
{
    lode_copy_buf_free(&r->buf);
    free(r->out.message);
    free(r);
}

static int r_on_data(lode_copy_out *co, const char *data, size_t len, void *ud)
{
    (void)co;
    reader *r = ud;
    if (lode_copy_buf_append(&r->buf, data, len) != 0) {
        lode_copy_out_cancel(r->co);
        return 1;
    }
    wake(&r->waiting);
    if (r->buf.len >= READER_HIGH_WATER) {
        r->paused = 1;
        return 1;
    }
    return 0;
}

static void r_on_finish(lode_copy_out *co, const lode_pg_outcome *o, void *ud)
{
    (void)co;
    reader *r = ud;
    r->co = NULL;
    outcome_save(&r->out, o);
    wake(&r->waiting);
    if (!r->alive) reader_free(r);
}

static int reader_push(lua_State *L, reader *r)
{
    if (r->buf.len > 0) {
        lua_pushlstring(L, (const char *)r->buf.data, r->buf.len);
        r->buf.len = 0;
        if (r->paused && r->co) {
            r->paused = 0;
            lode_copy_out_resume(r->co);
        }
        return 1;
    }
    if (r->out.known && !r->out.ok) {
        push_saved_error(L, "pg.copy_out", &r->out);
        return -1;
    }
    lua_pushnil(L);
    return 1;
}

static int reader_wait_push(lua_State *L, lode_op *op)
{
    return reader_push(L, ((wait_op *)op)->owner);
}

/* rd:read() -> the next chunk of COPY data (whole rows), or nil at the end. */
static int reader_read(lua_State *L)
{
    reader_ud *u = luaL_checkudata(L, 1, LODE_PG_COPY_OUT_MT);
    reader *r = u->r;
    if (!r) return luaL_error(L, "pg.copy_out: the reader is closed");
    if (r->buf.len > 0 || r->out.known) {
        int n = reader_push(L, r);
        if (n < 0) return lua_error(L);
        return n;
    }
    if (r->waiting) return luaL_error(L, "pg.copy_out: another task is reading");
    return wait_for(L, "pg.copy_out:read", &r->waiting, r, reader_wait_push);
}

static int reader_rows(lua_State *L)
{
    reader_ud *u = luaL_checkudata(L, 1, LODE_PG_COPY_OUT_MT);
    lua_pushinteger(L, u->r && u->r->out.known ? (lua_Integer)u->r->out.rows : -1);
    return 1;
}

static int reader_close(lua_State *L)
{
    reader_ud *u = luaL_checkudata(L, 1, LODE_PG_COPY_OUT_MT);
    reader *r = u->r;
    if (!r) return 0;
    u->r = NULL;
    r->alive = 0;
    if (r->co) lode_copy_out_cancel(r->co);
    else reader_free(r);
    return 0;
}

/* conn:copy_out(sql) -> reader for a COPY ... TO STDOUT statement. */
static int conn_copy_out(lua_State *L)
{
    lode_pg_conn *c = lode_pg_check_conn(L, 1);
    const char *sql = luaL_checkstring(L, 2);
    reader *r = calloc(1, sizeof *r);
    if (!r) return luaL_error(L, "pg.copy_out: out of memory");
    r->alive = 1;
    reader_ud *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->r = NULL;
    luaL_setmetatable(L, LODE_PG_COPY_OUT_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    static const lode_copy_out_callbacks cbs = {r_on_data, r_on_finish};
    const char *err = NULL;
    r->co = lode_copy_out_start(c, sql, &cbs, r, &err);
    if (!r->co) {
        free(r);
        lode_push_error(L, "pg.copy_out", "connection", err, 1);
        return lua_error(L);
    }
    u->r = r;
    return 1;
}

/* ---- module --------------------------------------------------------------------------------- */

int luaopen_lode_pg(lua_State *L)
{
    static const luaL_Reg conn_methods[] = {
        {"query", conn_query},
        {"rows", conn_rows},
        {"queue", conn_queue},
        {"copy_in", conn_copy_in},
        {"copy_out", conn_copy_out},
        {"status", conn_status},
        {"transaction_status", conn_tx_status},
        {"info", conn_info},
        {"close", conn_close},
        {NULL, NULL}
    };
    static const luaL_Reg cursor_methods[] = {
        {"next", cursor_next},
        {"close", cursor_close},
        {NULL, NULL}
    };
    static const luaL_Reg writer_methods[] = {
        {"write", writer_write},
        {"finish", writer_finish},
        {"abort", writer_abort},
        {"bytes", writer_bytes},
        {"close", writer_gc},
        {NULL, NULL}
    };
    static const luaL_Reg reader_methods[] = {
        {"read", reader_read},
        {"rows", reader_rows},
        {"close", reader_close},
        {NULL, NULL}
    };
    lode_new_class(L, LODE_PG_CONN_MT, conn_methods, conn_close, conn_close, conn_tostring);
    lode_new_class(L, CURSOR_MT, cursor_methods, cursor_close, cursor_close, NULL);
    lode_new_class(L, LODE_PG_COPY_IN_MT, writer_methods, writer_gc, writer_gc, NULL);
    lode_new_class(L, LODE_PG_COPY_OUT_MT, reader_methods, reader_close, reader_close, NULL);

    static const luaL_Reg funcs[] = {
        {"connect", l_connect},
        {NULL, NULL}
    };
    luaL_newlib(L, funcs);
    lua_pushlstring(L, (const char *)lode_copy_bin_header_bytes, sizeof lode_copy_bin_header_bytes);
    lua_setfield(L, -2, "BINARY_HEADER");
    lua_pushlstring(L, (const char *)lode_copy_bin_trailer_bytes, sizeof lode_copy_bin_trailer_bytes);
    lua_setfield(L, -2, "BINARY_TRAILER");
    return 1;
}

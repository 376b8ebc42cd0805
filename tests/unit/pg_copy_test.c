/* The COPY sink's C API as a loader uses it: binary tuples built with the
 * lode_copy_bin_* helpers, streamed with back-pressure (FULL -> on_ready),
 * and the server's verdict in on_finish. The builders are checked against
 * the documented byte layout; the streaming part runs against the test
 * PostgreSQL (LODE_TEST_PG_URL) on the real loop, and is skipped without it. */
#include <lauxlib.h>
#include <lualib.h>

#include "lode.h"
#include "lode/pg/pg.h"
#include "pg/conn.h"
#include "tap.h"

/* ---- builders ------------------------------------------------------------------ */

static void test_builders(void)
{
    lode_copy_buf b = {0};
    ok(memcmp(lode_copy_bin_header_bytes, "PGCOPY\n\377\r\n\0", 11) == 0, "binary header signature");
    lode_copy_bin_tuple(&b, 3);
    lode_copy_bin_int4(&b, 0x01020304);
    lode_copy_bin_null(&b);
    lode_copy_bin_field(&b, "hi", 2);
    static const unsigned char want[] = {0, 3, 0, 0, 0, 4, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff,
                                         0, 0, 0, 2, 'h', 'i'};
    ok(b.len == sizeof want && memcmp(b.data, want, sizeof want) == 0,
       "tuple: int16 count, int32 length + big-endian bytes, -1 for NULL");
    b.len = 0;
    lode_copy_bin_int8(&b, -2);
    static const unsigned char want8[] = {0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    ok(b.len == sizeof want8 && memcmp(b.data, want8, sizeof want8) == 0, "int8 two's complement, big-endian");
    b.len = 0;
    lode_copy_bin_float8(&b, 1.0);
    static const unsigned char wantf[] = {0, 0, 0, 8, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
    ok(b.len == sizeof wantf && memcmp(b.data, wantf, sizeof wantf) == 0, "float8 IEEE 754, big-endian");
    b.len = 0;
    lode_copy_text_field(&b, "a\tb\\c\nd", 7, 0);
    lode_copy_text_field(&b, NULL, 0, 1);
    static const char want_text[] = "a\\tb\\\\c\\nd\t\\N\n";
    ok(b.len == strlen(want_text) && memcmp(b.data, want_text, b.len) == 0, "text fields escaped, \\N for NULL");
    lode_copy_buf_free(&b);
}

/* ---- streaming against PostgreSQL ------------------------------------------------- */

typedef struct {
    int step_done;
    char *error;
} query_ctx;

static void q_result(pg_req *r, PGresult *res)
{
    query_ctx *q = r->owner;
    if (PQresultStatus(res) == PGRES_FATAL_ERROR && !q->error) q->error = strdup(PQresultErrorMessage(res));
    PQclear(res);
}

static void q_done(pg_req *r, const char *err)
{
    query_ctx *q = r->owner;
    if (err && !q->error) q->error = strdup(err);
    q->step_done = 1;
    uv_stop(lode_loop());
}

static const pg_req_ops q_ops = {q_result, NULL, NULL, q_done};

static int run_sql(lode_pg_conn *c, const char *sql)
{
    query_ctx q = {0};
    pg_conn_submit(c, pg_req_new(&q_ops, &q, sql, 0, NULL, NULL));
    while (!q.step_done) uv_run(lode_loop(), UV_RUN_DEFAULT);
    if (q.error) tap_diag("%s: %s", sql, q.error);
    int okk = q.error == NULL;
    free(q.error);
    return okk;
}

typedef struct {
    int64_t next, n, bad_at;
    int pauses, readies, finished, ok;
    int64_t rows, line;
    char message[512];
    lode_copy_buf row;
} loader;

static void on_ready(lode_copy_in *ci, void *ud)
{
    loader *m = ud;
    m->readies++;
    while (m->next < m->n) {
        m->row.len = 0;
        lode_copy_bin_tuple(&m->row, 2);
        if (m->next == m->bad_at) lode_copy_bin_field(&m->row, "xy", 2);   /* 2 bytes for an int8 */
        else lode_copy_bin_int8(&m->row, m->next);
        if (m->next % 7 == 0) lode_copy_bin_null(&m->row);
        else lode_copy_bin_field(&m->row, "some text value", 15);
        m->next++;
        lode_copy_status st = lode_copy_in_write(ci, m->row.data, m->row.len);
        if (st == LODE_COPY_FULL) {
            m->pauses++;
            return;
        }
        if (st == LODE_COPY_ERROR) return;
    }
    lode_copy_in_finish(ci);
}

static void on_finish(lode_copy_in *ci, const lode_pg_outcome *o, void *ud)
{
    (void)ci;
    loader *m = ud;
    m->finished = 1;
    m->ok = o->ok;
    m->rows = o->rows;
    m->line = o->line;
    snprintf(m->message, sizeof m->message, "%s", o->message ? o->message : "");
    uv_stop(lode_loop());
}

static void on_connect(lode_pg_conn *c, void *ud)
{
    (void)c;
    *(int *)ud = 1;
    uv_stop(lode_loop());
}

static void test_stream(const char *url)
{
    int connected = 0;
    lode_pg_conn *c = lode_pg_connect(url, on_connect, &connected);
    while (!connected) uv_run(lode_loop(), UV_RUN_DEFAULT);
    if (!ok(lode_pg_conn_usable(c), "connected")) {
        tap_diag("%s", c->error ? c->error : "?");
        lode_pg_conn_close(c);
        return;
    }
    ok(run_sql(c, "drop table if exists c_copy; create unlogged table c_copy (id int8, s text)"), "table created");

    static const lode_copy_in_callbacks cbs = {on_ready, on_finish};
    loader m = {0};
    m.n = 2000000;
    m.bad_at = -1;
    const char *err = NULL;
    lode_copy_in *ci = lode_copy_in_start(c, "COPY c_copy FROM STDIN (FORMAT binary)", LODE_COPY_BINARY,
                                          &cbs, &m, &err);
    ok(ci != NULL, "COPY started");
    while (!m.finished) uv_run(lode_loop(), UV_RUN_DEFAULT);
    ok(m.ok, "2 M binary rows loaded: %s", m.message);
    ok(m.rows == m.n, "the server counted %lld rows", (long long)m.rows);
    ok(m.pauses > 0 && m.readies == m.pauses + 1,
       "the producer was paused %d times and resumed each time", m.pauses);

    loader bad = {0};
    bad.n = 1000;
    bad.bad_at = 500;     /* the 501st tuple */
    ci = lode_copy_in_start(c, "COPY c_copy FROM STDIN (FORMAT binary)", LODE_COPY_BINARY, &cbs, &bad, &err);
    while (!bad.finished) uv_run(lode_loop(), UV_RUN_DEFAULT);
    ok(!bad.ok, "a malformed field fails the COPY");
    ok(bad.line == 501, "the server names line %lld", (long long)bad.line);
    ok(strstr(bad.message, "insufficient data left") != NULL, "message: %s", bad.message);

    loader ab = {0};
    ab.n = 0;
    ab.bad_at = -1;
    ci = lode_copy_in_start(c, "COPY c_copy FROM STDIN (FORMAT binary)", LODE_COPY_BINARY, &cbs, &ab, &err);
    lode_copy_in_abort(ci, "stop");
    while (!ab.finished) uv_run(lode_loop(), UV_RUN_DEFAULT);
    ok(!ab.ok && strstr(ab.message, "stop"), "abort before the server is ready: %s", ab.message);

    ok(run_sql(c, "drop table c_copy"), "the connection is usable after failed COPYs");
    lode_copy_buf_free(&m.row);
    lode_copy_buf_free(&bad.row);
    lode_copy_buf_free(&ab.row);
    lode_pg_conn_close(c);
}

int main(void)
{
    test_builders();
    const char *url = getenv("LODE_TEST_PG_URL");
    if (!url || !*url) {
        tap_skip("LODE_TEST_PG_URL is not set (tests/run.sh starts PostgreSQL)", "COPY streaming against PostgreSQL");
        return done_testing();
    }
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lode_runtime_init(L);
    test_stream(url);
    lode_runtime_shutdown(L);
    return done_testing();
}

/* lode/pg/pg.h — the warehouse client: non-blocking libpq on the lode loop, and
 * the COPY sink every loader streams rows into.
 *
 * Connections come from Lua (`wh:with_conn(function(conn) ... end)` pins one
 * from the pool); a C binding takes the connection userdata as an argument and
 * gets the C handle with lode_pg_check_conn(). A producer (CSV/JSON/Parquet
 * decoder, S3 reader) then streams into `COPY ... FROM STDIN`:
 *
 *   static void on_ready(lode_copy_in *ci, void *ud) {     // started, or drained
 *       my_loader *m = ud;
 *       lode_copy_buf *b = &m->row;
 *       while (m->next < m->n) {
 *           b->len = 0;                                     // one binary tuple
 *           lode_copy_bin_tuple(b, 2);
 *           lode_copy_bin_int8(b, m->next);
 *           const char *name = m->names[m->next];            // NULL -> SQL NULL
 *           if (name) lode_copy_bin_field(b, name, (int32_t)strlen(name));
 *           else lode_copy_bin_null(b);
 *           m->next++;
 *           lode_copy_status st = lode_copy_in_write(ci, b->data, b->len);
 *           if (st == LODE_COPY_FULL) return;     // on_ready is called again when writable
 *           if (st == LODE_COPY_ERROR) return;    // on_finish follows with the reason
 *       }
 *       lode_copy_in_finish(ci);                  // trailer is added for binary format
 *   }
 *   static void on_finish(lode_copy_in *ci, const lode_pg_outcome *o, void *ud) {
 *       // o->ok: o->rows were loaded; else o->message names the server's error
 *       // and o->line the input line it blamed. ci is freed after this returns.
 *   }
 *   static const lode_copy_in_callbacks cbs = { on_ready, on_finish };
 *   const char *err;
 *   lode_copy_in *ci = lode_copy_in_start(conn,
 *       "COPY t (id, name) FROM STDIN (FORMAT binary)", LODE_COPY_BINARY, &cbs, m, &err);
 *   if (!ci) ...                                  // err says why (busy/broken connection)
 *
 * From Lua the same sink is `wh:copy_in(sql, "binary")` -> w:write(s) /
 * w:finish(); a C binding that is handed a pinned connection gets it with
 * lode_pg_check_conn(L, idx). tests/unit/pg_copy_test.c runs this example.
 *
 * Back-pressure: lode_copy_in_write() always takes (copies) the bytes. It
 * returns LODE_COPY_FULL when lode's 256 KiB buffer could not be handed to the
 * socket; the producer must then stop writing until on_ready is called again.
 * Memory stays bounded by that buffer plus libpq's send buffer, whatever the
 * size of the load. Chunks need not align with rows: COPY data is a stream.
 *
 * Everything here runs on the loop thread; callbacks never resume Lua
 * directly (STYLE rule 9): bindings call lode_op_done() from them. */
#ifndef LODE_PG_H
#define LODE_PG_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>

#define LODE_PG_CONN_MT "lode.pg.conn"
#define LODE_PG_COPY_IN_MT "lode.pg.copy_in"
#define LODE_PG_COPY_OUT_MT "lode.pg.copy_out"

typedef struct lode_pg_conn lode_pg_conn;
typedef struct lode_copy_in lode_copy_in;
typedef struct lode_copy_out lode_copy_out;

/* The end of a statement or a COPY, as the server reported it. Strings are
 * valid only during the callback that receives the outcome. */
typedef struct {
    int ok;
    int64_t rows;             /* rows loaded (COPY FROM) or sent (COPY TO) */
    const char *message;      /* primary message (+ detail, + context), or NULL */
    const char *sqlstate;     /* five characters, or NULL for a client-side failure */
    int64_t line;             /* COPY input line the server blamed, or 0 */
    const char *column;       /* the column it blamed (its error field, or the CONTEXT's
                                 "column x"), or NULL */
    int retryable;            /* the connection was lost, the query was cancelled... */
} lode_pg_outcome;

/* The C handle of a `lode.pg.conn` userdata at idx (raises when it is not one,
 * or when the connection is closed). The connection stays owned by Lua: keep
 * the userdata reachable (for example on the calling task's stack) while
 * using the handle. */
lode_pg_conn *lode_pg_check_conn(lua_State *L, int idx);
/* Whether the connection can still run statements. */
int lode_pg_conn_usable(const lode_pg_conn *c);

/* ---- COPY ... FROM STDIN ------------------------------------------------- */

typedef enum {
    LODE_COPY_TEXT = 0,       /* tab separated, \N for NULL, backslash escapes */
    LODE_COPY_CSV = 1,
    LODE_COPY_BINARY = 2      /* the header is sent by lode_copy_in_start, the trailer by finish */
} lode_copy_format;

typedef enum {
    LODE_COPY_OK = 0,         /* taken; keep writing */
    LODE_COPY_FULL = 1,       /* taken; pause until on_ready */
    LODE_COPY_ERROR = -1      /* the COPY has failed; on_finish reports why */
} lode_copy_status;

typedef struct {
    /* The server accepted the COPY, or the buffer drained after FULL. */
    void (*on_ready)(lode_copy_in *ci, void *ud);
    /* Called exactly once: after finish, abort, or a failure (also when the
     * COPY statement itself was rejected). ci is freed when it returns. */
    void (*on_finish)(lode_copy_in *ci, const lode_pg_outcome *o, void *ud);
} lode_copy_in_callbacks;

/* Start `sql` (a COPY ... FROM STDIN statement) on c; it runs after what is
 * already queued on c. Returns NULL with *err set when c is unusable;
 * otherwise on_finish is guaranteed to be called once. For LODE_COPY_BINARY the 19-byte file header
 * is written first, so producers write tuples only. */
lode_copy_in *lode_copy_in_start(lode_pg_conn *c, const char *sql, lode_copy_format fmt,
                                 const lode_copy_in_callbacks *cb, void *ud,
                                 const char **err);
/* Append bytes to the stream (see back-pressure above). */
lode_copy_status lode_copy_in_write(lode_copy_in *ci, const void *data, size_t len);
/* Whether the producer should wait for on_ready before writing. */
int lode_copy_in_paused(const lode_copy_in *ci);
/* End the data (adds the binary trailer) and wait for the server's verdict. */
void lode_copy_in_finish(lode_copy_in *ci);
/* Give up: the server discards everything written; on_finish reports
 * ok=0 with `reason`. */
void lode_copy_in_abort(lode_copy_in *ci, const char *reason);
/* Bytes handed to libpq so far. */
uint64_t lode_copy_in_bytes(const lode_copy_in *ci);

/* ---- COPY ... TO STDOUT ----------------------------------------------------- */

typedef struct {
    /* One chunk (a row in text/CSV format). Return 1 to pause: no more data
     * is read from the server until lode_copy_out_resume(). */
    int (*on_data)(lode_copy_out *co, const char *data, size_t len, void *ud);
    /* Called exactly once; co is freed when it returns. */
    void (*on_finish)(lode_copy_out *co, const lode_pg_outcome *o, void *ud);
} lode_copy_out_callbacks;

lode_copy_out *lode_copy_out_start(lode_pg_conn *c, const char *sql,
                                   const lode_copy_out_callbacks *cb, void *ud,
                                   const char **err);
void lode_copy_out_resume(lode_copy_out *co);
/* Stop early: the query is cancelled on the server, the rest discarded;
 * on_finish follows (ok=0, "cancelled"). */
void lode_copy_out_cancel(lode_copy_out *co);

/* ---- building COPY data ------------------------------------------------------ */

/* A growable byte buffer; zero-initialise, reuse by setting len = 0. Every
 * append returns 0, or -1 when out of memory. */
typedef struct {
    unsigned char *data;
    size_t len, cap;
} lode_copy_buf;

void lode_copy_buf_free(lode_copy_buf *b);

/* Writing without a copy: the COPY's own staging buffer, for a producer that
 * renders straight into it. Append only (never shrink it below its length on
 * return, never free it), then call lode_copy_in_wrote(), which answers as
 * lode_copy_in_write() would for those bytes. NULL when the COPY takes no
 * more data (failed, finishing or aborting). */
lode_copy_buf *lode_copy_in_buffer(lode_copy_in *ci);
lode_copy_status lode_copy_in_wrote(lode_copy_in *ci);
int lode_copy_buf_append(lode_copy_buf *b, const void *p, size_t n);

/* Binary COPY format (PostgreSQL docs, "COPY", "Binary Format"): a tuple is
 * int16 field count, then per field int32 length (-1 for NULL) and the bytes
 * in the type's binary send format (network byte order). */
extern const unsigned char lode_copy_bin_header_bytes[19];
extern const unsigned char lode_copy_bin_trailer_bytes[2];
int lode_copy_bin_tuple(lode_copy_buf *b, int nfields);
int lode_copy_bin_field(lode_copy_buf *b, const void *p, int32_t len);
int lode_copy_bin_null(lode_copy_buf *b);
int lode_copy_bin_bool(lode_copy_buf *b, int v);
int lode_copy_bin_int2(lode_copy_buf *b, int16_t v);
int lode_copy_bin_int4(lode_copy_buf *b, int32_t v);
int lode_copy_bin_int8(lode_copy_buf *b, int64_t v);
int lode_copy_bin_float4(lode_copy_buf *b, float v);
int lode_copy_bin_float8(lode_copy_buf *b, double v);
/* numeric from canonical decimal text ("-123.4500", "0", "7": an optional
 * '-', digits, an optional '.' and digits), exact, without allocating; the
 * fraction's digit count is the display scale, as numeric_in gives it. */
int lode_copy_bin_numeric_text(lode_copy_buf *b, const char *s, size_t n);

/* Text COPY format: a field with tab/newline/CR/backslash escaped (p NULL
 * for \N), followed by a tab, or by a newline when `last`. */
int lode_copy_text_field(lode_copy_buf *b, const char *p, size_t n, int last);

#endif

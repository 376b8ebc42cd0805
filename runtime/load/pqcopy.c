/* pqcopy.c — Parquet files into one binary `COPY … FROM STDIN`: the data
 * path of emulated `COPY … FORMAT AS PARQUET` on PostgreSQL.
 *
 *   files (lode_source: S3 ranged GETs or a local file)
 *     → lode_pqr (one row group at a time, rendered as binary COPY tuples)
 *     → per-column conversion to the target's types (when they differ)
 *     → lode_copy_in (256 KiB buffer, back-pressure through on_ready)
 *
 * Fetching overlaps sending: each file's source is wrapped in a read-ahead
 * source (`ahead_src`, below) that fetches the column chunks of the next
 * `ahead` row groups in load order — the rest of the current file, then the
 * first row groups of the next files, whose footers are read early by a ring
 * of `prefetch` file slots — while the current row group renders into the
 * COPY. The reader's own reads of those chunks are then served from memory.
 * Compressed bytes held: the reader's current row group plus at most `ahead`
 * row groups fetched ahead.
 *
 * Owns: the file slots (source + reader), the read-ahead buffers, the render
 * and conversion buffers, and the COPY until its on_finish. Everything runs on the loop thread; `pump` is the one place
 * that moves data, re-entered safely from any callback. Freed by
 * lode_pqcopy_free once `done` has run (no read is in flight then). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lode.h"
#include "lode/load/load.h"
#include "lode/parquet/parquet.h"
#include "lode/parquet/read.h"
#include "lode/pg/pg.h"
#include "lode/s3/open.h"
#include "lode/core/source.h"

#define RENDER_CHUNK (256u * 1024u)
#define INFLATE_CHUNK (1u << 20)

/* Target types the conversion knows. */
typedef enum {
    T_BOOL, T_INT2, T_INT4, T_INT8, T_NUMERIC, T_FLOAT4, T_FLOAT8, T_TEXT, T_BYTEA, T_JSON, T_JSONB,
    T_DATE, T_TIME, T_TIMETZ, T_TIMESTAMP, T_TIMESTAMPTZ, T_UUID, T_INTERVAL, T_OTHER
} ptype;

/* What to do with one field. */
typedef enum {
    OP_PASS,        /* same binary form */
    OP_I4_I8, OP_I4_I2, OP_I8_I4, OP_I8_I2, OP_I4_F8, OP_F4_F8, OP_I4_NUM, OP_I8_NUM,
    OP_JSONB_TEXT,  /* drop jsonb's version byte */
    OP_TEXT_JSONB,  /* add it */
    OP_DATE_TS,     /* days → microseconds */
    OP_UUID_TEXT,
} conv_op;

enum { S_FREE, S_OPENING, S_OPEN, S_INFLATING, S_LOADING, S_READY, S_DONE };

typedef struct ahead_src ahead_src;

typedef struct pq_slot {
    struct lode_pqcopy *p;
    int state;
    size_t file;              /* index in p->files */
    lode_source *src;         /* the read-ahead wrapper the reader reads through */
    ahead_src *ahead;         /* the same, typed; NULL before open */
    int ahead_next;           /* next row group of this file to fetch ahead */
    lode_pqr *r;
    int busy;                 /* an open, footer, inflate or row-group read is in flight */
    int reopened;             /* already inflated once */
    int planned;
    int new_rg;               /* a row group was loaded and is not yet in p->segs */
    int64_t rows_seen;        /* lode_pqr_rows_done at the last count */
    /* inflating a compressed object */
    lode_unzip *unzip;
    int tmp_fd;
    char *tmp_path;
    uint8_t *chunk;
    uint64_t inflate_off;
    uint8_t head[4];
} pq_slot;

typedef struct {
    int64_t tuple;            /* first COPY tuple (0-based) of this row group */
    size_t file;
    int rg;
    int64_t row;              /* rows of the file before it */
} segment;

struct lode_pqcopy {
    lode_copy_in *ci;         /* NULL after on_finish */
    int ready;                /* the server accepted the COPY */
    int finish_sent;
    char **files;
    char **etags;             /* per file, the version listed (NULL: any) */
    size_t n_files;
    int64_t *file_rows;
    char **colnames;
    ptype *ctype;
    size_t ncols;
    conv_op *ops;             /* per column, for the current file */
    int all_pass;
    char *tmpdir;
    pq_slot *slots;
    size_t nslots;
    int ahead_max;            /* row groups fetched ahead at most */
    int ahead_groups;         /* row groups fetched ahead and not yet taken by a reader */
    struct ahead_buf *pool;   /* spare read-ahead buffers: reused, so pages fault once */
    size_t pool_n;
    int ahead_peak;           /* most row groups held at once */
    int64_t ahead_hits, ahead_misses;   /* reads served from memory / passed through */
    size_t cur, next_open;
    lode_pqr_buf raw;
    int64_t tuples;           /* tuples written */
    segment *segs;
    size_t nsegs, capsegs;
    int64_t rows;
    int pumping, repump;
    int failed, retryable, done_called, cancelled;
    char code[24];
    char *err_file;
    char err[1400];
    lode_load_progress *progress;   /* NULL, or counters shared with the caller */
    lode_pqcopy_cb done;
    void *ud;
    /* the server's failure: its SQLSTATE, the row of err_file it blamed and the column */
    char sqlstate[6];
    int64_t err_row, copy_line;
    int err_rg;
    char *err_column;
};

static void pump(lode_pqcopy *p);

/* ---- errors ------------------------------------------------------------------------ */

static void fail(lode_pqcopy *p, const char *code, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(lode_pqcopy *p, const char *code, const char *file, const char *fmt, ...)
{
    if (p->failed) return;
    p->failed = 1;
    snprintf(p->code, sizeof p->code, "%s", code);
    if (file) p->err_file = strdup(file);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
}

int lode_pqcopy_failed(const lode_pqcopy *p) { return p->failed; }
const char *lode_pqcopy_error(const lode_pqcopy *p) { return p->err; }
const char *lode_pqcopy_error_code(const lode_pqcopy *p) { return p->code; }
const char *lode_pqcopy_error_file(const lode_pqcopy *p) { return p->err_file; }
int lode_pqcopy_retryable(const lode_pqcopy *p) { return p->retryable; }
int64_t lode_pqcopy_rows(const lode_pqcopy *p) { return p->rows; }
int64_t lode_pqcopy_file_rows(const lode_pqcopy *p, size_t i) { return i < p->n_files ? p->file_rows[i] : 0; }
size_t lode_pqcopy_nfiles(const lode_pqcopy *p) { return p->n_files; }
const char *lode_pqcopy_sqlstate(const lode_pqcopy *p) { return p->sqlstate[0] ? p->sqlstate : NULL; }
int64_t lode_pqcopy_copy_line(const lode_pqcopy *p) { return p->copy_line; }
int64_t lode_pqcopy_error_row(const lode_pqcopy *p, int *row_group)
{
    if (row_group) *row_group = p->err_rg;
    return p->err_row;
}
const char *lode_pqcopy_error_column(const lode_pqcopy *p) { return p->err_column; }

void lode_pqcopy_read_stats(const lode_pqcopy *p, int64_t *ahead, int64_t *direct, int *peak_groups)
{
    *ahead = p->ahead_hits;
    *direct = p->ahead_misses;
    *peak_groups = p->ahead_peak;
}

/* ---- progress -------------------------------------------------------------------------- */

lode_load_progress *lode_load_progress_new(void)
{
    lode_load_progress *g = calloc(1, sizeof *g);
    if (g) g->refs = 1;
    return g;
}

void lode_load_progress_ref(lode_load_progress *g)
{
    if (g) g->refs++;
}

void lode_load_progress_unref(lode_load_progress *g)
{
    if (g && --g->refs == 0) free(g);
}

static void progress_bytes(lode_pqcopy *p, size_t n)
{
    if (p && p->progress) p->progress->bytes += (int64_t)n;
}

/* ---- types ----------------------------------------------------------------------------- */

static ptype target_type(const char *typname)
{
    static const struct { const char *n; ptype t; } M[] = {
        { "bool", T_BOOL }, { "int2", T_INT2 }, { "int4", T_INT4 }, { "int8", T_INT8 },
        { "numeric", T_NUMERIC }, { "float4", T_FLOAT4 }, { "float8", T_FLOAT8 },
        { "text", T_TEXT }, { "varchar", T_TEXT }, { "bpchar", T_TEXT }, { "bytea", T_BYTEA },
        { "json", T_JSON }, { "jsonb", T_JSONB }, { "date", T_DATE }, { "time", T_TIME },
        { "timetz", T_TIMETZ }, { "timestamp", T_TIMESTAMP }, { "timestamptz", T_TIMESTAMPTZ },
        { "uuid", T_UUID }, { "interval", T_INTERVAL },
    };
    for (size_t i = 0; i < sizeof M / sizeof *M; i++)
        if (strcmp(M[i].n, typname) == 0) return M[i].t;
    return T_OTHER;
}

/* The reader's PostgreSQL type name of a file column. */
static ptype source_type(const char *pg)
{
    if (!strncmp(pg, "numeric", 7)) return T_NUMERIC;
    static const struct { const char *n; ptype t; } M[] = {
        { "boolean", T_BOOL }, { "integer", T_INT4 }, { "bigint", T_INT8 }, { "real", T_FLOAT4 },
        { "double precision", T_FLOAT8 }, { "text", T_TEXT }, { "bytea", T_BYTEA }, { "jsonb", T_JSONB },
        { "date", T_DATE }, { "time", T_TIME }, { "timetz", T_TIMETZ }, { "timestamp", T_TIMESTAMP },
        { "timestamptz", T_TIMESTAMPTZ }, { "uuid", T_UUID }, { "interval", T_TEXT /* rendered as text */ },
    };
    for (size_t i = 0; i < sizeof M / sizeof *M; i++)
        if (strcmp(M[i].n, pg) == 0) return M[i].t;
    return T_OTHER;
}

static int is_textish(ptype t) { return t == T_TEXT; }

/* How a file type goes into a column type; -1 when it cannot. */
static int plan_op(ptype src, ptype dst)
{
    if (dst == T_OTHER || src == T_OTHER) return -1;
    if (src == dst) return OP_PASS;
    if ((src == T_TIMESTAMP && dst == T_TIMESTAMPTZ) || (src == T_TIMESTAMPTZ && dst == T_TIMESTAMP))
        return OP_PASS;   /* both are microseconds since 2000-01-01 UTC (Redshift reads naive values as UTC) */
    switch (src) {
    case T_INT4:
        if (dst == T_INT8) return OP_I4_I8;
        if (dst == T_INT2) return OP_I4_I2;
        if (dst == T_FLOAT8) return OP_I4_F8;
        if (dst == T_NUMERIC) return OP_I4_NUM;
        return -1;
    case T_INT8:
        if (dst == T_INT4) return OP_I8_I4;
        if (dst == T_INT2) return OP_I8_I2;
        if (dst == T_NUMERIC) return OP_I8_NUM;
        return -1;
    case T_FLOAT4: return dst == T_FLOAT8 ? OP_F4_F8 : -1;
    case T_TEXT:
        if (dst == T_JSON) return OP_PASS;
        if (dst == T_JSONB) return OP_TEXT_JSONB;
        return -1;
    case T_JSONB:
        if (dst == T_JSON || is_textish(dst)) return OP_JSONB_TEXT;
        return -1;
    case T_DATE: return dst == T_TIMESTAMP || dst == T_TIMESTAMPTZ ? OP_DATE_TS : -1;
    case T_UUID: return is_textish(dst) ? OP_UUID_TEXT : -1;
    default: return -1;
    }
}

static const char *type_label(ptype t)
{
    static const char *N[] = { "boolean", "smallint", "integer", "bigint", "numeric", "real", "double precision",
                               "text", "bytea", "json", "jsonb", "date", "time", "timetz", "timestamp",
                               "timestamptz", "uuid", "interval", "other" };
    return N[t];
}

/* ---- conversion of binary tuples -------------------------------------------------------- */

static inline uint32_t rd32(const uint8_t *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }
static inline uint64_t rd64(const uint8_t *b) { return (uint64_t)rd32(b) << 32 | rd32(b + 4); }

static int put_i64_numeric(lode_copy_buf *o, int64_t v)
{
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint16_t g[5];
    int n = 0;
    while (mag) {
        g[n++] = (uint16_t)(mag % 10000);
        mag /= 10000;
    }
    /* g[0] is the lowest group; drop trailing zero groups (weight keeps the place) */
    int low = 0;
    while (low < n && g[low] == 0) low++;
    int ndig = n - low;
    uint8_t b[4 + 8 + 10];
    int32_t len = 8 + 2 * ndig;
    size_t k = 0;
    b[k++] = (uint8_t)(len >> 24); b[k++] = (uint8_t)(len >> 16); b[k++] = (uint8_t)(len >> 8); b[k++] = (uint8_t)len;
    uint16_t hdr[4] = { (uint16_t)ndig, (uint16_t)(ndig ? n - 1 : 0), (uint16_t)(v < 0 ? 0x4000 : 0), 0 };
    for (int i = 0; i < 4; i++) { b[k++] = (uint8_t)(hdr[i] >> 8); b[k++] = (uint8_t)hdr[i]; }
    for (int i = n - 1; i >= low; i--) { b[k++] = (uint8_t)(g[i] >> 8); b[k++] = (uint8_t)g[i]; }
    return lode_copy_buf_append(o, b, k);
}

/* Position of a tuple in the files, for messages. */
static void locate(const lode_pqcopy *p, int64_t tuple, size_t *file, int *rg, int64_t *row)
{
    size_t lo = 0, hi = p->nsegs;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (p->segs[mid].tuple <= tuple) lo = mid;
        else hi = mid;
    }
    if (p->nsegs == 0) {
        *file = p->cur < p->n_files ? p->cur : 0;
        *rg = 0;
        *row = tuple + 1;
        return;
    }
    const segment *s = &p->segs[lo];
    *file = s->file;
    *rg = s->rg;
    *row = s->row + (tuple - s->tuple) + 1;
}

static void value_fail(lode_pqcopy *p, int64_t tuple, size_t col, const char *fmt, long long v)
{
    size_t file;
    int rg;
    int64_t row;
    locate(p, tuple, &file, &rg, &row);
    char what[160];
    snprintf(what, sizeof what, fmt, v);
    fail(p, "bad_input", p->files[file], "%s: row group %d, row %lld, column %zu '%s': %s", p->files[file], rg,
         (long long)row, col + 1, p->colnames[col], what);
}

/* Rewrite the tuples of src[0..n) per p->ops, appended to o; -1 on a bad value. */
static int convert(lode_pqcopy *p, lode_copy_buf *o, const uint8_t *src, size_t n, int64_t first_tuple)
{
    size_t pos = 0;
    int64_t tuple = first_tuple;
    static const uint8_t NULLF[4] = { 0xff, 0xff, 0xff, 0xff };
    while (pos + 2 <= n) {
        size_t nf = (size_t)src[pos] << 8 | src[pos + 1];
        if (lode_copy_buf_append(o, src + pos, 2)) goto oom;
        pos += 2;
        for (size_t i = 0; i < nf; i++) {
            int32_t len = (int32_t)rd32(src + pos);
            const uint8_t *v = src + pos + 4;
            size_t whole = 4 + (len > 0 ? (size_t)len : 0);
            conv_op op = i < p->ncols ? p->ops[i] : OP_PASS;
            pos += whole;
            if (len < 0 || op == OP_PASS) {
                if (lode_copy_buf_append(o, len < 0 ? NULLF : v - 4, len < 0 ? 4 : whole)) goto oom;
                continue;
            }
            uint8_t b[48];
            int rc = 0;
            switch (op) {
            case OP_I4_I8: {
                int64_t x = (int32_t)rd32(v);
                rc = lode_copy_bin_int8(o, x);
                break;
            }
            case OP_I4_I2: {
                int32_t x = (int32_t)rd32(v);
                if (x < -32768 || x > 32767) { value_fail(p, tuple, i, "value %lld is out of range for smallint", x); return -1; }
                rc = lode_copy_bin_int2(o, (int16_t)x);
                break;
            }
            case OP_I8_I4: case OP_I8_I2: {
                int64_t x = (int64_t)rd64(v);
                int64_t lo = op == OP_I8_I4 ? INT32_MIN : -32768, hi = op == OP_I8_I4 ? INT32_MAX : 32767;
                if (x < lo || x > hi) {
                    value_fail(p, tuple, i, op == OP_I8_I4 ? "value %lld is out of range for integer"
                                                           : "value %lld is out of range for smallint", (long long)x);
                    return -1;
                }
                rc = op == OP_I8_I4 ? lode_copy_bin_int4(o, (int32_t)x) : lode_copy_bin_int2(o, (int16_t)x);
                break;
            }
            case OP_I4_F8: rc = lode_copy_bin_float8(o, (double)(int32_t)rd32(v)); break;
            case OP_F4_F8: {
                uint32_t u = rd32(v);
                float f;
                memcpy(&f, &u, 4);
                rc = lode_copy_bin_float8(o, (double)f);
                break;
            }
            case OP_I4_NUM: rc = put_i64_numeric(o, (int32_t)rd32(v)); break;
            case OP_I8_NUM: rc = put_i64_numeric(o, (int64_t)rd64(v)); break;
            case OP_JSONB_TEXT: rc = lode_copy_bin_field(o, v + 1, len - 1); break;
            case OP_TEXT_JSONB: {
                uint8_t h[5] = { (uint8_t)((len + 1) >> 24), (uint8_t)((len + 1) >> 16), (uint8_t)((len + 1) >> 8),
                                 (uint8_t)(len + 1), 1 };
                rc = lode_copy_buf_append(o, h, 5) || lode_copy_buf_append(o, v, (size_t)len);
                break;
            }
            case OP_DATE_TS: {
                int32_t d = (int32_t)rd32(v);
                rc = lode_copy_bin_int8(o, (int64_t)d * INT64_C(86400000000));
                break;
            }
            case OP_UUID_TEXT: {
                static const char hx[] = "0123456789abcdef";
                size_t k = 0;
                for (int j = 0; j < 16 && j < len; j++) {
                    if (j == 4 || j == 6 || j == 8 || j == 10) b[k++] = '-';
                    b[k++] = (uint8_t)hx[v[j] >> 4];
                    b[k++] = (uint8_t)hx[v[j] & 15];
                }
                rc = lode_copy_bin_field(o, b, (int32_t)k);
                break;
            }
            default: rc = lode_copy_buf_append(o, v - 4, whole); break;
            }
            if (rc) goto oom;
        }
        tuple++;
    }
    return 0;
oom:
    fail(p, "bad_input", NULL, "out of memory converting rows");
    return -1;
}

/* ---- read-ahead: row groups fetched early, served to the reader from memory ------------- */

/* A row group fetched ahead: its column chunks, coalesced into spans (one
 * ranged GET each: far fewer requests than one per chunk). Counted in
 * p->ahead_groups until its last span is released. */
typedef struct {
    int left;                 /* spans not yet released, + 1 while being issued */
} ahead_group;

/* The reader's read of a span's bytes, waiting for them to arrive. */
typedef struct ahead_wait {
    struct ahead_wait *next;
    uint8_t *buf;
    uint64_t off;
    size_t len, got;
    lode_source_read_cb cb;
    void *ud;
} ahead_wait;

typedef struct ahead_range {
    struct ahead_range *next;
    ahead_src *a;
    ahead_group *g;           /* NULL once released */
    uint64_t off;
    size_t len, nread;
    uint8_t *buf;
    size_t cap;
    int rg;                   /* the row group it belongs to */
    int uses;                 /* column chunks in the span not yet read by the reader */
    int inflight, status;
    ahead_wait *waits;
} ahead_range;

struct ahead_src {
    lode_source base;         /* size, name and ETag of the inner source */
    lode_source *inner;
    lode_pqcopy *p;           /* NULL once closed */
    ahead_range *ranges;
    int inflight;             /* inner reads in flight: fetches ahead and the reader's own */
    int read_status;          /* the first failed read of the reader's, for the error's code */
};

#define AHEAD_MAX_CHUNK (256u << 20)   /* bigger chunks are read by the reader itself */
#define AHEAD_MAX_SPAN (8u << 20)      /* one GET covers adjacent chunks up to this size */
#define AHEAD_MAX_GAP (64u << 10)      /* bytes between chunks worth reading to save a GET */

typedef struct ahead_buf {
    struct ahead_buf *next;
    size_t cap;
} ahead_buf;   /* the header of a spare buffer; its bytes follow */

/* A buffer of at least len bytes: the smallest spare one that fits, else a new one. */
static uint8_t *pool_get(lode_pqcopy *p, size_t len, size_t *cap)
{
    ahead_buf **best = NULL;
    for (ahead_buf **pp = &p->pool; *pp; pp = &(*pp)->next)
        if ((*pp)->cap >= len && (!best || (*pp)->cap < (*best)->cap)) best = pp;
    if (best) {
        ahead_buf *b = *best;
        *best = b->next;
        p->pool_n--;
        *cap = b->cap;
        return (uint8_t *)b;
    }
    *cap = len < sizeof(ahead_buf) ? sizeof(ahead_buf) : len;
    return malloc(*cap);
}

/* The capacity is kept in the buffer's first bytes while it is spare, so it
 * is stored again on return. */
static void pool_put(lode_pqcopy *p, uint8_t *buf, size_t cap)
{
    if (!buf) return;
    if (!p || p->pool_n >= (size_t)p->ahead_max * 2 + 2) {   /* about what is ever in use at once */
        free(buf);
        return;
    }
    ahead_buf *b = (ahead_buf *)(void *)buf;
    b->cap = cap;
    b->next = p->pool;
    p->pool = b;
    p->pool_n++;
}

static void pool_free(lode_pqcopy *p)
{
    while (p->pool) {
        ahead_buf *b = p->pool;
        p->pool = b->next;
        free(b);
    }
    p->pool_n = 0;
}

static void group_release(lode_pqcopy *p, ahead_range *x)
{
    ahead_group *g = x->g;
    x->g = NULL;
    if (!g || --g->left > 0) return;
    free(g);
    if (!p) return;
    p->ahead_groups--;
    if (p->pumping) p->repump = 1;   /* room to fetch further ahead */
}

static void range_unlink(ahead_src *a, ahead_range *x)
{
    for (ahead_range **pp = &a->ranges; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            return;
        }
}

/* Unlink, release and free a span with no read in flight and no waiter. */
static void range_drop(ahead_src *a, ahead_range *x)
{
    range_unlink(a, x);
    group_release(a->p, x);
    pool_put(a->p, x->buf, x->cap);
    free(x);
}

static void ahead_free(ahead_src *a)
{
    while (a->ranges) {
        ahead_range *x = a->ranges;
        a->ranges = x->next;
        while (x->waits) {
            ahead_wait *w = x->waits;
            x->waits = w->next;
            free(w);
        }
        free(x->buf);
        free(x);
    }
    free(a);
}

/* The reader's read, passed to the inner source; a failed read is recorded
 * so that the load's error says I/O (retryable) rather than a bad file. */
typedef struct {
    ahead_src *a;
    lode_source_read_cb cb;
    void *ud;
} direct_read;

static void direct_done(void *ud, int status, size_t nread, const char *errmsg)
{
    direct_read *d = ud;
    ahead_src *a = d->a;
    lode_source_read_cb cb = d->cb;
    void *cud = d->ud;
    free(d);
    a->inflight--;
    if (status != 0 && !a->read_status) a->read_status = status;
    if (status == 0) progress_bytes(a->p, nread);
    if (a->p) cb(cud, status, nread, errmsg);   /* once closed, its reader is gone */
    else if (a->inflight == 0) ahead_free(a);
}

static int direct_start(ahead_src *a, uint64_t off, size_t len, void *buf, lode_source_read_cb cb, void *ud)
{
    direct_read *d = malloc(sizeof *d);
    if (!d) return -1;
    *d = (direct_read){ a, cb, ud };
    a->inflight++;
    int rc = lode_source_read(a->inner, off, len, buf, direct_done, d);
    if (rc != 0) {
        a->inflight--;
        free(d);
    }
    return rc;
}

/* Copy [off, off+len) of a fetched span; the bytes copied. */
static size_t range_copy(const ahead_range *x, uint8_t *buf, uint64_t off, size_t len)
{
    size_t skip = (size_t)(off - x->off);
    size_t n = x->nread > skip ? x->nread - skip : 0;
    if (n > len) n = len;
    memcpy(buf, x->buf + skip, n);
    return n;
}

/* Serve a read from a fetched span; the span is dropped once every chunk in
 * it was read. The callback runs last: it may move the load on. */
static void range_serve(ahead_src *a, ahead_range *x, uint8_t *buf, uint64_t off, size_t len,
                        lode_source_read_cb cb, void *ud)
{
    size_t n = range_copy(x, buf, off, len);
    if (--x->uses <= 0) range_drop(a, x);
    cb(ud, 0, n, NULL);
}

/* The reader reads row groups in order: spans of earlier row groups it did
 * not take (another reading pattern than the one planned) are dropped. */
static void drop_behind(ahead_src *a, int rg)
{
    for (ahead_range *x = a->ranges, *next; x; x = next) {
        next = x->next;
        if (x->rg < rg && !x->inflight && !x->waits) range_drop(a, x);
    }
}

static int ahead_read(lode_source *src, uint64_t off, size_t len, void *buf, lode_source_read_cb cb, void *ud)
{
    ahead_src *a = (ahead_src *)src;
    for (ahead_range *x = a->ranges; x && a->p; x = x->next) {
        if (x->status != 0 || off < x->off || len > x->len || off - x->off > x->len - len) continue;
        drop_behind(a, x->rg);
        a->p->ahead_hits++;
        if (x->inflight) {   /* wait for it */
            ahead_wait *w = malloc(sizeof *w);
            if (!w) break;
            *w = (ahead_wait){ x->waits, buf, off, len, 0, cb, ud };
            x->waits = w;
            return 0;
        }
        range_serve(a, x, buf, off, len, cb, ud);
        return 0;
    }
    if (a->p) a->p->ahead_misses++;
    return direct_start(a, off, len, buf, cb, ud);
}

static void ahead_fetched(void *ud, int status, size_t nread, const char *errmsg)
{
    ahead_range *x = ud;   /* a failed fetch is read again for its waiters, and they report it */
    ahead_src *a = x->a;
    if (status == 0) progress_bytes(a->p, nread);
    x->inflight = 0;
    x->status = status;
    x->nread = nread;
    a->inflight--;
    if (!a->p) {   /* closed: its reader is gone */
        if (a->inflight == 0) ahead_free(a);
        return;
    }
    ahead_wait *waits = x->waits;
    x->waits = NULL;
    if (status != 0 || !waits) {
        if (status != 0) range_drop(a, x);
        for (ahead_wait *w = waits, *next; w; w = next) {
            next = w->next;
            if (direct_start(a, w->off, w->len, w->buf, w->cb, w->ud) != 0) {
                if (!a->read_status) a->read_status = status;
                w->cb(w->ud, status, 0, errmsg ? errmsg : "read failed");
            }
            free(w);
        }
        return;
    }
    /* copy for every waiter first, then call back: a callback may move the
     * load on (and close this source), so the span is not touched after */
    for (ahead_wait *w = waits; w; w = w->next) {
        w->got = range_copy(x, w->buf, w->off, w->len);
        x->uses--;
    }
    if (x->uses <= 0) range_drop(a, x);
    for (ahead_wait *w = waits, *next; w; w = next) {
        next = w->next;
        lode_source_read_cb cb = w->cb;
        void *wud = w->ud;
        size_t n = w->got;
        free(w);
        cb(wud, 0, n, NULL);
    }
}

static void ahead_close(lode_source *src)
{
    ahead_src *a = (ahead_src *)src;
    lode_pqcopy *p = a->p;
    for (ahead_range *x = a->ranges, *next; x; x = next) {
        next = x->next;
        group_release(p, x);
        while (x->waits) {   /* their reader is gone */
            ahead_wait *w = x->waits;
            x->waits = w->next;
            free(w);
        }
        if (!x->inflight) {
            range_unlink(a, x);
            pool_put(p, x->buf, x->cap);
            free(x);
        }
    }
    a->p = NULL;
    lode_source_close(a->inner);
    a->inner = NULL;
    if (a->inflight == 0) ahead_free(a);
}

static const lode_source_vt ahead_vt = { ahead_read, ahead_close };

static ahead_src *ahead_new(lode_pqcopy *p, lode_source *inner)
{
    ahead_src *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->base.vt = &ahead_vt;
    a->base.size = inner->size;
    a->base.name = inner->name;   /* borrowed: messages name the object */
    memcpy(a->base.etag, inner->etag, sizeof a->base.etag);
    a->inner = inner;
    a->p = p;
    return a;
}

typedef struct {
    uint64_t off, len;
} chunk_span;

static int span_cmp(const void *x, const void *y)
{
    const chunk_span *a = x, *b = y;
    return a->off < b->off ? -1 : a->off > b->off;
}

/* Start one ranged read covering chunks [first, last) of c. */
static void ahead_fetch_span(ahead_src *a, ahead_group *grp, int rg, const chunk_span *c, size_t first, size_t last)
{
    uint64_t off = c[first].off, end = off;
    for (size_t i = first; i < last; i++)
        if (c[i].off + c[i].len > end) end = c[i].off + c[i].len;
    ahead_range *x = calloc(1, sizeof *x);
    size_t cap = 0;
    uint8_t *buf = x ? pool_get(a->p, (size_t)(end - off), &cap) : NULL;
    if (!buf) {
        free(x);
        return;
    }
    *x = (ahead_range){ .next = a->ranges, .a = a, .g = grp, .off = off, .len = (size_t)(end - off), .buf = buf,
                        .cap = cap, .rg = rg, .uses = (int)(last - first), .inflight = 1 };
    a->ranges = x;
    grp->left++;
    a->inflight++;
    if (lode_source_read(a->inner, x->off, x->len, buf, ahead_fetched, x) != 0) {
        a->inflight--;
        x->inflight = 0;
        range_drop(a, x);
    }
}

/* Fetch the projected column chunks of row group g (the ranges the reader
 * will ask for), adjacent ones together. Chunks the reader would refuse are
 * left to it. */
static void ahead_fetch_group(ahead_src *a, const lode_pqr *r, int g)
{
    const lode_pq_row_group *rg = &lode_pqr_meta(r)->row_groups[g];
    size_t nleaves = lode_pqr_nleaves(r);
    chunk_span *c = calloc(nleaves ? nleaves : 1, sizeof *c);
    ahead_group *grp = calloc(1, sizeof *grp);
    if (!c || !grp) {
        free(c);
        free(grp);
        return;
    }
    size_t n = 0;
    for (size_t j = 0; j < nleaves; j++) {
        uint32_t leaf = (uint32_t)lode_pqr_leaf(r, j);
        if (leaf >= rg->n_columns) continue;
        const lode_pq_column_chunk *cc = &rg->columns[leaf];
        const lode_pq_column_meta *cm = cc->meta;
        if (!cm || cc->encrypted || cc->has_file_path) continue;
        int64_t start = cm->data_page_offset;
        if (cm->has_dictionary_page_offset && cm->dictionary_page_offset >= 4 && cm->dictionary_page_offset < start)
            start = cm->dictionary_page_offset;
        int64_t len = cm->total_compressed_size;
        if (start < 4 || len <= 0 || (uint64_t)start > a->base.size || (uint64_t)len > a->base.size - (uint64_t)start ||
            (uint64_t)len > AHEAD_MAX_CHUNK)
            continue;
        c[n++] = (chunk_span){ (uint64_t)start, (uint64_t)len };
    }
    qsort(c, n, sizeof *c, span_cmp);
    grp->left = 1;
    if (++a->p->ahead_groups > a->p->ahead_peak) a->p->ahead_peak = a->p->ahead_groups;
    size_t first = 0;
    uint64_t end = n ? c[0].off + c[0].len : 0;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && c[i].off >= c[first].off && c[i].off <= end + AHEAD_MAX_GAP &&
            (c[i].off + c[i].len > end ? c[i].off + c[i].len : end) - c[first].off <= AHEAD_MAX_SPAN) {
            if (c[i].off + c[i].len > end) end = c[i].off + c[i].len;
            continue;
        }
        ahead_fetch_span(a, grp, g, c, first, i);
        if (i < n) {
            first = i;
            end = c[i].off + c[i].len;
        }
    }
    free(c);
    ahead_range hold = { .g = grp };
    group_release(a->p, &hold);
}

/* Fetch ahead in load order — the current file's next row groups, then the
 * next files' — until ahead_max row groups are held. */
static void fetch_ahead(lode_pqcopy *p)
{
    for (size_t f = p->cur; f < p->next_open && p->ahead_groups < p->ahead_max; f++) {
        pq_slot *s = &p->slots[f % p->nslots];
        if (s->file != f) return;
        if (s->state == S_DONE) continue;
        if (s->state != S_OPEN && s->state != S_LOADING && s->state != S_READY) return;   /* footer not read yet */
        const lode_pqr *r = s->r;
        const lode_pq_meta *meta = r ? lode_pqr_meta(r) : NULL;
        if (!s->ahead || !meta || lode_pqr_failed(r)) return;
        int cur = lode_pqr_row_group(r);
        int g = s->ahead_next > cur + 1 ? s->ahead_next : cur + 1;
        int n = (int)meta->n_row_groups;
        while (p->ahead_groups < p->ahead_max) {
            while (g < n && meta->row_groups[g].num_rows == 0) g++;
            if (g >= n) break;
            ahead_fetch_group(s->ahead, r, g++);
        }
        s->ahead_next = g;
        if (g < n) return;
    }
}

/* ---- file slots ----------------------------------------------------------------------- */

static pq_slot *slot_of(lode_pqcopy *p, size_t file) { return &p->slots[file % p->nslots]; }

static void slot_clear(pq_slot *s)
{
    lode_pqr_free(s->r);
    s->r = NULL;
    lode_source_close(s->src);
    s->src = NULL;
    s->ahead = NULL;
    s->ahead_next = 0;
    lode_unzip_free(s->unzip);
    s->unzip = NULL;
    if (s->tmp_fd >= 0) close(s->tmp_fd);
    s->tmp_fd = -1;
    if (s->tmp_path) unlink(s->tmp_path);
    free(s->tmp_path);
    s->tmp_path = NULL;
    free(s->chunk);
    s->chunk = NULL;
    s->state = S_FREE;
    s->planned = 0;
    s->reopened = 0;
    s->rows_seen = 0;
    s->new_rg = 0;
}

static void on_footer(void *ud, lode_pqr *r);

static void attach_reader(pq_slot *s, lode_source *src)
{
    lode_pqcopy *p = s->p;
    s->ahead = ahead_new(p, src);
    if (!s->ahead) {
        lode_source_close(src);
        s->busy = 0;
        fail(p, "bad_input", p->files[s->file], "%s: out of memory", p->files[s->file]);
        pump(p);
        return;
    }
    s->src = &s->ahead->base;
    s->ahead_next = 0;
    lode_pqr_options o;
    memset(&o, 0, sizeof o);
    o.format = LODE_PQR_BINARY;
    s->r = lode_pqr_new(s->src, &o);
    if (!s->r) {
        s->busy = 0;
        fail(p, "bad_input", p->files[s->file], "%s: out of memory", p->files[s->file]);
        pump(p);
        return;
    }
    s->busy = 1;
    lode_pqr_open(s->r, on_footer, s);
}

static void on_open(void *ud, lode_source *src, const lode_source_open_error *e)
{
    pq_slot *s = ud;
    lode_pqcopy *p = s->p;
    if (!src) {
        s->busy = 0;
        p->retryable = e->retryable;
        fail(p, e->code, p->files[s->file], "%s", e->message);
        pump(p);
        return;
    }
    if (p->failed) {
        s->src = src;
        s->busy = 0;
        pump(p);
        return;
    }
    attach_reader(s, src);
}

static void slot_open(lode_pqcopy *p, size_t file)
{
    pq_slot *s = slot_of(p, file);
    slot_clear(s);
    s->file = file;
    s->state = S_OPENING;
    s->busy = 1;
    /* the version listed; on S3 one GET opens it and brings the footer */
    lode_source_open_url(p->files[file], p->etags[file], LODE_PQ_SPECULATIVE_DEFAULT, on_open, s);
}

/* ---- compressed objects: inflate into a temporary file ------------------------------------ */

static void inflate_next(pq_slot *s);

static int to_tmp(void *ud, const char *data, size_t len)
{
    pq_slot *s = ud;
    while (len > 0) {
        ssize_t w = write(s->tmp_fd, data, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

static void inflate_done(pq_slot *s)
{
    lode_pqcopy *p = s->p;
    const char *url = p->files[s->file];
    if (lode_unzip_finish(s->unzip, to_tmp, s) != 0) {
        s->busy = 0;
        fail(p, "bad_input", url, "%s: %s", url,
             lode_unzip_error(s->unzip) ? lode_unzip_error(s->unzip) : "writing the inflated copy failed");
        pump(p);
        return;
    }
    lode_source_close(s->src);
    s->src = NULL;
    s->ahead = NULL;
    lode_source *src = NULL;
    char err[600];
    int rc = lode_source_open_file(s->tmp_path, &src, err, sizeof err);
    unlink(s->tmp_path);   /* the descriptor keeps it while it is read */
    if (rc == 0) {         /* messages name the object, not the temporary file */
        char *name = strdup(url);
        if (name) {
            free(src->name);
            src->name = name;
        }
    }
    free(s->tmp_path);
    s->tmp_path = NULL;
    close(s->tmp_fd);
    s->tmp_fd = -1;
    if (rc != 0) {
        s->busy = 0;
        fail(p, "bad_input", url, "%s: inflated copy: %s", url, err);
        pump(p);
        return;
    }
    s->state = S_OPENING;
    attach_reader(s, src);
}

static void on_inflate_read(void *ud, int status, size_t nread, const char *errmsg)
{
    pq_slot *s = ud;
    lode_pqcopy *p = s->p;
    const char *url = p->files[s->file];
    if (status != 0 || p->failed) {
        s->busy = 0;
        if (status != 0) {
            p->retryable = status != UV_ENOENT;
            fail(p, status == LODE_SOURCE_ECHANGED ? "ObjectChanged" : "s3", url, "%s", errmsg ? errmsg : "read failed");
        }
        pump(p);
        return;
    }
    if (nread > 0 && lode_unzip_feed(s->unzip, s->chunk, nread, to_tmp, s) != 0) {
        s->busy = 0;
        fail(p, "bad_input", url, "%s: %s", url,
             lode_unzip_error(s->unzip) ? lode_unzip_error(s->unzip) : "writing the inflated copy failed");
        pump(p);
        return;
    }
    s->inflate_off += nread;
    if (nread == 0 || s->inflate_off >= s->src->size) {
        inflate_done(s);
        return;
    }
    inflate_next(s);
}

static void inflate_next(pq_slot *s)
{
    uint64_t left = s->src->size - s->inflate_off;
    size_t n = left < INFLATE_CHUNK ? (size_t)left : INFLATE_CHUNK;
    if (lode_source_read(s->src, s->inflate_off, n, s->chunk, on_inflate_read, s) != 0) {
        s->busy = 0;
        fail(s->p, "s3", s->p->files[s->file], "%s: cannot start a read", s->p->files[s->file]);
        pump(s->p);
    }
}

static void inflate_start(pq_slot *s, lode_zkind kind)
{
    lode_pqcopy *p = s->p;
    const char *url = p->files[s->file];
    size_t n = strlen(p->tmpdir) + 32;
    s->tmp_path = malloc(n);
    s->chunk = malloc(INFLATE_CHUNK);
    s->unzip = lode_unzip_new(kind);
    if (!s->tmp_path || !s->chunk || !s->unzip) {
        s->busy = 0;
        fail(p, "bad_input", url, "out of memory");
        return;
    }
    snprintf(s->tmp_path, n, "%s/lode-pq-XXXXXX", p->tmpdir);
    s->tmp_fd = mkstemp(s->tmp_path);
    if (s->tmp_fd < 0) {
        s->busy = 0;
        fail(p, "bad_input", url, "%s: cannot create a temporary file in %s: %s", url, p->tmpdir, strerror(errno));
        free(s->tmp_path);
        s->tmp_path = NULL;
        return;
    }
    s->reopened = 1;
    s->state = S_INFLATING;
    s->inflate_off = 0;
    lode_pqr_free(s->r);
    s->r = NULL;
    inflate_next(s);
}

static void on_head(void *ud, int status, size_t nread, const char *errmsg)
{
    pq_slot *s = ud;
    lode_pqcopy *p = s->p;
    (void)errmsg;
    const uint8_t *h = s->head;
    lode_zkind kind = LODE_Z_NONE;
    if (status == 0 && nread == 4) {
        if (h[0] == 0x1f && h[1] == 0x8b) kind = LODE_Z_GZIP;
        else if (h[0] == 'B' && h[1] == 'Z' && h[2] == 'h') kind = LODE_Z_BZIP2;
        else if (h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd) kind = LODE_Z_ZSTD;
    }
    if (kind == LODE_Z_NONE || p->failed) {
        s->busy = 0;
        fail(p, "bad_input", p->files[s->file], "%s", lode_pqr_error(s->r));
        pump(p);
        return;
    }
    inflate_start(s, kind);
    if (!s->busy) pump(p);
}

/* The reader failed: an S3 (or disk) read that failed is retryable I/O, anything else a bad file. */
static void reader_fail(lode_pqcopy *p, pq_slot *s, lode_pqr *r)
{
    int status = s->ahead ? s->ahead->read_status : 0;
    if (status != 0 && !p->failed) {
        p->retryable = status != UV_ENOENT;
        fail(p, status == LODE_SOURCE_ECHANGED ? "ObjectChanged" : "s3", p->files[s->file], "%s", lode_pqr_error(r));
        return;
    }
    fail(p, "bad_input", p->files[s->file], "%s", lode_pqr_error(r));
}

static void on_footer(void *ud, lode_pqr *r)
{
    pq_slot *s = ud;
    lode_pqcopy *p = s->p;
    int io = s->ahead && s->ahead->read_status;
    if (lode_pqr_failed(r) && !p->failed && !s->reopened && !io && s->src->size >= 4) {
        /* not a Parquet footer: a whole-file compressed object, as Redshift accepts? */
        if (lode_source_read(s->src, 0, 4, s->head, on_head, s) == 0) return;
    }
    s->busy = 0;
    if (lode_pqr_failed(r)) reader_fail(p, s, r);
    else s->state = S_OPEN;
    pump(p);
}

static void on_rg(void *ud, lode_pqr *r)
{
    pq_slot *s = ud;
    lode_pqcopy *p = s->p;
    s->busy = 0;
    if (lode_pqr_failed(r)) reader_fail(p, s, r);
    else {
        s->state = S_READY;
        s->new_rg = 1;
    }
    pump(p);
}

/* Check the file's columns against the target: count and types. */
static int slot_check(lode_pqcopy *p, pq_slot *s)
{
    const char *url = p->files[s->file];
    size_t n = lode_pqr_ncolumns(s->r);
    if (n != p->ncols) {
        fail(p, "schema", url, "%s has %zu column%s, the COPY loads %zu (Parquet columns map by position; "
             "the counts must match, or name the columns with 'columns')", url, n, n == 1 ? "" : "s", p->ncols);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *pgt = lode_pqr_column_pg_type(s->r, i);
        if (plan_op(source_type(pgt), p->ctype[i]) < 0) {
            fail(p, "schema", url, "%s: row group 0, column %zu '%s' (Parquet, loads as %s) cannot be loaded into "
                 "column '%s' of type %s", url, i + 1, lode_pqr_column_name(s->r, i), pgt, p->colnames[i],
                 type_label(p->ctype[i]));
            return -1;
        }
    }
    s->planned = 1;
    return 0;
}

/* The current file's conversions. */
static void set_ops(lode_pqcopy *p, pq_slot *s)
{
    p->all_pass = 1;
    for (size_t i = 0; i < p->ncols; i++) {
        p->ops[i] = (conv_op)plan_op(source_type(lode_pqr_column_pg_type(s->r, i)), p->ctype[i]);
        if (p->ops[i] != OP_PASS) p->all_pass = 0;
    }
}

/* Start loading the slot's next row group; 1 when the file has none left. */
static int slot_next_rg(lode_pqcopy *p, pq_slot *s)
{
    s->busy = 1;
    s->state = S_LOADING;
    int rc = lode_pqr_next_row_group(s->r, on_rg, s);
    if (rc == 0) return 0;
    s->busy = 0;
    if (rc < 0) {
        fail(p, "bad_input", p->files[s->file], "%s", lode_pqr_error(s->r));
        return -1;
    }
    s->state = S_DONE;
    return 1;
}

static int add_segment(lode_pqcopy *p, pq_slot *s)
{
    if (p->nsegs == p->capsegs) {
        size_t n = p->capsegs ? p->capsegs * 2 : 64;
        segment *g = realloc(p->segs, n * sizeof *g);
        if (!g) return -1;
        p->segs = g;
        p->capsegs = n;
    }
    p->segs[p->nsegs++] = (segment){ p->tuples, s->file, lode_pqr_row_group(s->r), lode_pqr_rows_done(s->r) };
    return 0;
}

/* Render, convert and write the current row group until the sink is full
 * or the row group ends. Returns 1 when it ended, 0 to wait, -1 on error. */
static int render_current(lode_pqcopy *p, pq_slot *s)
{
    for (;;) {
        if (!p->ci || lode_copy_in_paused(p->ci)) return 0;
        /* the tuples go straight into the COPY's staging buffer (libpq's copy
         * is the only other one); through p->raw only when a column converts */
        lode_copy_buf *cb = lode_copy_in_buffer(p->ci);
        if (!cb) return -1;
        lode_pqr_buf *out = &p->raw;
        lode_pqr_buf view = { cb->data, cb->len, cb->cap };
        if (p->all_pass) out = &view;
        else p->raw.len = 0;
        int more = lode_pqr_render(s->r, out, out->len + RENDER_CHUNK);
        if (p->all_pass) {   /* the renderer may have grown (moved) the buffer */
            cb->data = view.data;
            cb->len = view.len;
            cb->cap = view.cap;
        }
        if (more < 0) {
            fail(p, "bad_input", p->files[s->file], "%s", lode_pqr_error(s->r));
            return -1;
        }
        int64_t first = p->tuples;
        p->tuples += lode_pqr_rows_done(s->r) - s->rows_seen;
        s->rows_seen = lode_pqr_rows_done(s->r);
        if (!p->all_pass && p->raw.len && convert(p, cb, p->raw.data, p->raw.len, first) != 0) return -1;
        if (lode_copy_in_wrote(p->ci) == LODE_COPY_ERROR) return -1;
        if (p->progress) p->progress->rows = p->tuples;
        if (more == 0) return 1;
    }
}

static void pump_once(lode_pqcopy *p)
{
    if (p->failed) return;
    /* open ahead */
    while (p->next_open < p->n_files && p->next_open < p->cur + p->nslots && !p->failed)
        slot_open(p, p->next_open++);
    /* the files after the current one are checked as soon as their footers are in */
    for (size_t f = p->cur + 1; f < p->next_open && !p->failed; f++) {
        pq_slot *s = slot_of(p, f);
        if (s->state == S_OPEN && !s->busy && !s->planned && slot_check(p, s) != 0) return;
    }
    if (!p->ready || !p->ci) return;
    while (p->cur < p->n_files && !p->failed) {
        pq_slot *s = slot_of(p, p->cur);
        if (s->busy) return;
        if (s->state == S_OPEN) {
            if (!s->planned && slot_check(p, s) != 0) return;
            int rc = slot_next_rg(p, s);
            if (rc < 0) return;
            if (rc == 0) {
                if (s->busy) return;
                continue;
            }
        }
        if (s->state == S_READY) {
            fetch_ahead(p);   /* before the render, which may take the whole row group */
            if (s->new_rg) {
                s->new_rg = 0;
                if (add_segment(p, s)) {
                    fail(p, "bad_input", NULL, "out of memory");
                    return;
                }
            }
            set_ops(p, s);
            int rc = render_current(p, s);
            if (rc <= 0) return;
            rc = slot_next_rg(p, s);
            if (rc < 0) return;
            if (rc == 0) {
                if (s->busy) return;
                continue;
            }
        }
        if (s->state == S_DONE) {
            p->file_rows[p->cur] = lode_pqr_rows_done(s->r);
            slot_clear(s);
            p->cur++;
            if (p->progress) p->progress->files = (int64_t)p->cur;
            while (p->next_open < p->n_files && p->next_open < p->cur + p->nslots)
                slot_open(p, p->next_open++);
            continue;
        }
        return;   /* opening */
    }
    if (p->cur == p->n_files && !p->finish_sent && p->ci) {
        p->finish_sent = 1;
        lode_copy_in_finish(p->ci);
    }
}

static int any_busy(const lode_pqcopy *p)
{
    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].busy) return 1;
    return 0;
}

static void pump(lode_pqcopy *p)
{
    if (p->pumping) {
        p->repump = 1;
        return;
    }
    p->pumping = 1;
    do {
        p->repump = 0;
        pump_once(p);
        if (!p->failed) fetch_ahead(p);
    } while (p->repump);
    p->pumping = 0;
    if (p->failed && p->ci && !p->finish_sent) {
        lode_copy_in_abort(p->ci, "lode: the Parquet load failed");
        p->finish_sent = 1;
    }
    if (!p->ci && !any_busy(p) && !p->done_called) {
        p->done_called = 1;
        lode_logf(LODE_LOG_DEBUG, "parquet copy: %zu file%s, %lld column chunk reads served from row groups "
                  "fetched ahead, %lld read directly", p->n_files, p->n_files == 1 ? "" : "s",
                  (long long)p->ahead_hits, (long long)p->ahead_misses);
        p->done(p->ud, p);
    }
}

/* ---- the COPY sink ---------------------------------------------------------------------- */

static void on_ready(lode_copy_in *ci, void *ud)
{
    (void)ci;
    lode_pqcopy *p = ud;
    p->ready = 1;
    pump(p);
}

static void on_finish(lode_copy_in *ci, const lode_pg_outcome *o, void *ud)
{
    (void)ci;
    lode_pqcopy *p = ud;
    p->ci = NULL;
    if (o->ok) {
        p->rows = o->rows;
    } else if (!p->failed) {
        p->retryable = o->retryable;
        if (o->sqlstate) snprintf(p->sqlstate, sizeof p->sqlstate, "%s", o->sqlstate);
        p->copy_line = o->line;
        if (o->column) p->err_column = strdup(o->column);
        if (o->line > 0 && p->nsegs) {
            size_t file;
            locate(p, o->line - 1, &file, &p->err_rg, &p->err_row);
            fail(p, "load_failed", p->files[file], "%s: row group %d, row %lld%s%s: %s", p->files[file], p->err_rg,
                 (long long)p->err_row, o->column ? ", column " : "", o->column ? o->column : "",
                 o->message ? o->message : "COPY failed");
        } else {
            fail(p, "load_failed", NULL, "%s", o->message ? o->message : "COPY failed");
        }
    }
    pump(p);
}

void lode_load_keep_freed_memory(void)
{
    static int done;
    if (done) return;
    done = 1;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

/* ---- lifetime --------------------------------------------------------------------------- */

lode_pqcopy *lode_pqcopy_start(lode_pg_conn *c, const char *sql, const lode_pqcopy_opts *o,
                               lode_pqcopy_cb done, void *ud, char *err, size_t errlen)
{
    lode_load_keep_freed_memory();
    lode_pqcopy *p = calloc(1, sizeof *p);
    if (!p) goto oom;
    p->done = done;
    p->ud = ud;
    p->n_files = o->n_files;
    p->ncols = o->n_columns;
    p->files = calloc(o->n_files + 1, sizeof *p->files);
    p->etags = calloc(o->n_files + 1, sizeof *p->etags);
    p->file_rows = calloc(o->n_files + 1, sizeof *p->file_rows);
    p->colnames = calloc(o->n_columns + 1, sizeof *p->colnames);
    p->ctype = calloc(o->n_columns + 1, sizeof *p->ctype);
    p->ops = calloc(o->n_columns + 1, sizeof *p->ops);
    const char *td = o->tmpdir ? o->tmpdir : getenv("TMPDIR");
    p->tmpdir = strdup(td && *td ? td : "/tmp");
    p->nslots = o->prefetch > 0 ? (size_t)o->prefetch : 3;
    p->ahead_max = o->ahead > 0 ? o->ahead : 2;
    p->progress = o->progress;
    lode_load_progress_ref(p->progress);
    p->slots = calloc(p->nslots, sizeof *p->slots);
    if (!p->files || !p->etags || !p->file_rows || !p->colnames || !p->ctype || !p->ops || !p->tmpdir || !p->slots) goto oom;
    for (size_t i = 0; i < p->nslots; i++) {
        p->slots[i].p = p;
        p->slots[i].tmp_fd = -1;
    }
    for (size_t i = 0; i < o->n_files; i++) {
        if (!(p->files[i] = strdup(o->files[i]))) goto oom;
        if (o->etags && o->etags[i] && *o->etags[i] && !(p->etags[i] = strdup(o->etags[i]))) goto oom;
    }
    for (size_t i = 0; i < o->n_columns; i++) {
        if (!(p->colnames[i] = strdup(o->columns[i].name))) goto oom;
        p->ctype[i] = target_type(o->columns[i].type);
    }
    static const lode_copy_in_callbacks cbs = { on_ready, on_finish };
    const char *why = NULL;
    p->ci = lode_copy_in_start(c, sql, LODE_COPY_BINARY, &cbs, p, &why);
    if (!p->ci) {
        snprintf(err, errlen, "%s", why ? why : "cannot start the COPY");
        lode_pqcopy_free(p);
        return NULL;
    }
    pump(p);   /* opens the first files while the server accepts the COPY */
    return p;
oom:
    snprintf(err, errlen, "out of memory");
    lode_pqcopy_free(p);
    return NULL;
}

void lode_pqcopy_cancel(lode_pqcopy *p)
{
    if (p->done_called) return;
    p->cancelled = 1;
    fail(p, "cancelled", NULL, "the load was cancelled");
    pump(p);
}

void lode_pqcopy_free(lode_pqcopy *p)
{
    if (!p) return;
    for (size_t i = 0; p->slots && i < p->nslots; i++) slot_clear(&p->slots[i]);
    free(p->slots);
    for (size_t i = 0; p->files && i < p->n_files; i++) free(p->files[i]);
    free(p->files);
    for (size_t i = 0; p->etags && i < p->n_files; i++) free(p->etags[i]);
    free(p->etags);
    free(p->file_rows);
    for (size_t i = 0; p->colnames && i < p->ncols; i++) free(p->colnames[i]);
    free(p->colnames);
    free(p->ctype);
    free(p->ops);
    free(p->tmpdir);
    free(p->segs);
    free(p->err_file);
    free(p->err_column);
    pool_free(p);
    lode_load_progress_unref(p->progress);
    lode_pqr_buf_free(&p->raw);
    free(p);
}

/* textcopy.c — CSV, JSON, text and fixed-width files from S3 into one
 * `COPY … FROM STDIN`: the data path of emulated text-format COPY on
 * PostgreSQL, with no byte passing through Lua.
 *
 *   ranged GETs (If-Match on the listed ETag), `depth` in flight in load order
 *     → lode_decoder (unzip → parser → per-column conversion), fed SLICE bytes at a time
 *     → rows rendered straight into the COPY's staging buffer (lode_copy_in_buffer)
 *     → lode_copy_in (256 KiB, back-pressure through on_ready)
 *
 * Owns: the decoder, the ring of chunks (each a finished lode_s3_call whose
 * body it reads in place, freed once consumed), copies of the file names and
 * ETags, and the COPY until its on_finish. `pump` is the one place that
 * moves data, re-entered safely from any callback. Freed by
 * lode_textcopy_free once `done` has run (no GET in flight then). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode.h"
#include "lode/load/textcopy.h"

#define DEFAULT_CHUNK ((size_t)4 << 20)
#define DEFAULT_DEPTH 4
#define SLICE ((size_t)128 << 10)   /* decoder input per step: bounds one render into the COPY buffer */
#define MAX_ROWSEGS ((size_t)1 << 16) /* runs of rows remembered for the server's errors (2 MiB) */

typedef struct {
    struct lode_textcopy *t;
    size_t file;
    uint64_t first;
    size_t len;                /* bytes asked for (0 for an empty file) */
    int last;                  /* the file's last chunk */
    lode_s3_call *call;        /* in flight or finished; NULL for an empty file */
    int done;
    size_t pos;                /* bytes fed to the decoder */
} chunk;

/* COPY tuples first..first+n-1 were lines line, line+step, ... of one file:
 * a run, so a file of one-line rows is one entry. */
typedef struct {
    int64_t first, line, step, n;
    size_t file;
} rowseg;

struct lode_textcopy {
    lode_copy_in *ci;          /* NULL after on_finish */
    int ready, finish_sent;
    lode_decoder *dec;
    lode_s3 *s3;
    char **files, **etags, **buckets, **keys;
    int64_t *sizes, *file_rows, *file_bad;
    size_t n_files;
    size_t chunk_size;
    chunk *ring;
    size_t depth, head, tail;  /* ring[head % depth] is consumed next; tail is issued next */
    size_t inflight;
    size_t next_file;          /* the file and offset the next GET asks for */
    uint64_t next_off;
    int in_file;               /* the decoder has begun the current file */
    int64_t bytes, bad_before;
    int pumping, repump;
    int failed, retryable, done_called;
    char code[24];
    char *err_file;
    char err[1400];
    lode_s3_error s3err;
    int have_s3err;
    char sqlstate[6];
    int64_t server_line;
    lode_load_progress *progress;
    lode_load_errors *acct;
    lode_textcopy_cb done;
    void *ud;
    /* which source row each COPY tuple was: the last MAX_ROWSEGS runs (a
     * ring from seg0), and each begun file's first tuple (0: not begun) */
    int64_t tuples;
    size_t cur_file;
    int64_t *file_first;
    rowseg *segs;
    size_t seg0, nsegs, capsegs;
    int64_t err_line, err_row;
    char *err_column;
};

static void pump(lode_textcopy *t);

/* ---- which source row a tuple was ------------------------------------------------------------ */

static void row_sent(void *ud, int64_t line)
{
    lode_textcopy *t = ud;
    int64_t tuple = ++t->tuples;
    if (t->nsegs) {
        rowseg *s = &t->segs[(t->seg0 + t->nsegs - 1) % t->capsegs];
        if (s->file == t->cur_file && s->first + s->n == tuple) {
            if (s->n == 1 && line >= s->line) {   /* step 0: JSON objects sharing a line */
                s->step = line - s->line;
                s->n = 2;
                return;
            }
            if (line == s->line + s->n * s->step) {
                s->n++;
                return;
            }
        }
    }
    if (t->nsegs == t->capsegs && t->capsegs < MAX_ROWSEGS) {   /* grows before it wraps: seg0 is 0 */
        size_t n = t->capsegs ? t->capsegs * 2 : 16;
        rowseg *g = realloc(t->segs, n * sizeof *g);
        if (!g) return;   /* this run is not known: its tuples map to their file only */
        t->segs = g;
        t->capsegs = n;
    }
    if (t->nsegs == t->capsegs) {    /* full: the oldest run goes */
        t->seg0 = (t->seg0 + 1) % t->capsegs;
        t->nsegs--;
    }
    t->segs[(t->seg0 + t->nsegs) % t->capsegs] = (rowseg){ tuple, line, 1, 1, t->cur_file };
    t->nsegs++;
}

/* The file of COPY tuple `tuple` (1-based), its line there (0: not kept)
 * and its row among the file's rows sent; -1 when no file sent it. */
static int locate_tuple(const lode_textcopy *t, int64_t tuple, size_t *file, int64_t *line, int64_t *row)
{
    if (tuple < 1 || tuple > t->tuples) return -1;
    int found = 0;
    for (size_t f = 0; f < t->n_files && t->file_first[f]; f++) {
        if (t->file_first[f] > tuple) break;
        *file = f;
        found = 1;
    }
    if (!found) return -1;
    *row = tuple - t->file_first[*file] + 1;
    *line = 0;
    for (size_t i = t->nsegs; i-- > 0;) {
        const rowseg *s = &t->segs[(t->seg0 + i) % t->capsegs];
        if (s->first > tuple) continue;
        if (tuple < s->first + s->n) *line = s->line + (tuple - s->first) * s->step;
        break;
    }
    return 0;
}

/* ---- the shared bad-row account ------------------------------------------------------------- */

lode_load_errors *lode_load_errors_new(int64_t maxerror)
{
    lode_load_errors *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->refs = 1;
    a->maxerror = maxerror;
    return a;
}

void lode_load_errors_ref(lode_load_errors *a)
{
    if (a) a->refs++;
}

void lode_load_errors_clear(lode_load_errors *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->rows[i].file);
        free(a->rows[i].colname);
        free(a->rows[i].row.raw_line);
        free(a->rows[i].row.raw_value);
        free(a->rows[i].row.reason);
    }
    a->n = 0;
}

void lode_load_errors_unref(lode_load_errors *a)
{
    if (!a || --a->refs > 0) return;
    lode_load_errors_clear(a);
    free(a->rows);
    free(a->first_file);
    free(a->first_colname);
    free(a->first_reason);
    free(a);
}

static char *dup_bytes(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) return NULL;
    if (n) memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* Move the decoder's kept bad rows of the file just ended into the account. */
static int account_take(lode_load_errors *a, lode_decoder *d, const char *file)
{
    size_t nb = lode_decoder_nbad(d), ncols = lode_decoder_ncols(d);
    for (size_t i = 0; i < nb; i++) {
        const lode_bad_row *b = lode_decoder_bad_row(d, i);
        const char *colname = b->column >= 1 && (size_t)b->column <= ncols
                                  ? lode_decoder_column_name(d, (size_t)b->column - 1) : NULL;
        if (!a->have_first) {
            a->have_first = 1;
            a->first_file = strdup(file);
            a->first_colname = colname ? strdup(colname) : NULL;
            a->first_reason = strdup(b->reason ? b->reason : "");
            a->first_line = b->line;
        }
        if (a->n == a->cap) {
            size_t cap = a->cap ? a->cap * 2 : 16;
            lode_load_error *r = realloc(a->rows, cap * sizeof *r);
            if (!r) return -1;
            a->rows = r;
            a->cap = cap;
        }
        lode_load_error *e = &a->rows[a->n++];
        memset(e, 0, sizeof *e);
        e->file = strdup(file);
        e->colname = colname ? strdup(colname) : NULL;
        e->row = *b;
        e->row.raw_line = dup_bytes(b->raw_line ? b->raw_line : "", b->raw_line ? b->raw_line_len : 0);
        e->row.raw_value = dup_bytes(b->raw_value ? b->raw_value : "", b->raw_value ? b->raw_value_len : 0);
        e->row.reason = strdup(b->reason ? b->reason : "");
    }
    lode_decoder_clear_bad(d);
    return 0;
}

/* ---- errors ----------------------------------------------------------------------------------- */

static void fail(lode_textcopy *t, const char *code, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(lode_textcopy *t, const char *code, const char *file, const char *fmt, ...)
{
    if (t->failed) return;
    t->failed = 1;
    snprintf(t->code, sizeof t->code, "%s", code);
    if (file) t->err_file = strdup(file);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, sizeof t->err, fmt, ap);
    va_end(ap);
}

int lode_textcopy_failed(const lode_textcopy *t) { return t->failed; }
const char *lode_textcopy_error_code(const lode_textcopy *t) { return t->code; }
const char *lode_textcopy_error(const lode_textcopy *t) { return t->err; }
const char *lode_textcopy_error_file(const lode_textcopy *t) { return t->err_file; }
int lode_textcopy_retryable(const lode_textcopy *t) { return t->retryable; }
const lode_s3_error *lode_textcopy_s3_error(const lode_textcopy *t) { return t->have_s3err ? &t->s3err : NULL; }
const char *lode_textcopy_sqlstate(const lode_textcopy *t) { return t->sqlstate[0] ? t->sqlstate : NULL; }
int64_t lode_textcopy_server_line(const lode_textcopy *t) { return t->server_line; }
int64_t lode_textcopy_error_line(const lode_textcopy *t) { return t->err_line; }
int64_t lode_textcopy_error_row(const lode_textcopy *t) { return t->err_row; }
const char *lode_textcopy_error_column(const lode_textcopy *t) { return t->err_column; }
int64_t lode_textcopy_bytes(const lode_textcopy *t) { return t->bytes; }
size_t lode_textcopy_nfiles(const lode_textcopy *t) { return t->n_files; }
int64_t lode_textcopy_file_rows(const lode_textcopy *t, size_t i) { return i < t->n_files ? t->file_rows[i] : 0; }
int64_t lode_textcopy_file_bad(const lode_textcopy *t, size_t i) { return i < t->n_files ? t->file_bad[i] : 0; }

int64_t lode_textcopy_rows(const lode_textcopy *t)
{
    lode_decoder_stats s;
    lode_decoder_get_stats(t->dec, &s);
    return s.rows;
}

int64_t lode_textcopy_bad(const lode_textcopy *t)
{
    lode_decoder_stats s;
    lode_decoder_get_stats(t->dec, &s);
    return s.errors;
}

/* ---- fetching --------------------------------------------------------------------------------- */

static void chunk_release(chunk *c)
{
    lode_s3_call_free(c->call);
    memset(c, 0, sizeof *c);
}

static void chunk_fetched(lode_s3_call *call, void *ud)
{
    (void)call;
    chunk *c = ud;
    c->done = 1;
    c->t->inflight--;
    pump(c->t);
}

/* Issue GETs while the ring has room: the rest of the current file, then the next files. */
static void fetch_ahead(lode_textcopy *t)
{
    while (!t->failed && t->tail - t->head < t->depth && t->next_file < t->n_files) {
        size_t f = t->next_file;
        uint64_t size = (uint64_t)t->sizes[f];
        chunk *c = &t->ring[t->tail % t->depth];
        memset(c, 0, sizeof *c);
        c->t = t;
        c->file = f;
        c->first = t->next_off;
        c->len = size - t->next_off < t->chunk_size ? (size_t)(size - t->next_off) : t->chunk_size;
        c->last = t->next_off + c->len >= size;
        t->tail++;
        if (c->last) {
            t->next_file++;
            t->next_off = 0;
        } else {
            t->next_off += c->len;
        }
        if (c->len == 0) {
            c->done = 1;
            continue;
        }
        lode_s3_get_opts go = { .ranged = 1, .first = c->first, .last = c->first + c->len - 1,
                                .max_size = c->len, .if_match = t->etags[f] };
        t->inflight++;
        c->call = lode_s3_get(t->s3, t->buckets[f], t->keys[f], &go, chunk_fetched, c);
        if (!c->call) {
            t->inflight--;
            c->done = 1;
            fail(t, "s3", t->files[f], "%s: out of memory", t->files[f]);
            return;
        }
        if (lode_s3_call_finished(c->call)) {
            t->inflight--;
            c->done = 1;
        }
    }
}

static void cancel_fetches(lode_textcopy *t)
{
    for (size_t i = t->head; i < t->tail; i++) {
        chunk *c = &t->ring[i % t->depth];
        if (c->call && !c->done) lode_s3_call_cancel(c->call);
    }
}

/* ---- decoding into the COPY ------------------------------------------------------------------- */

/* Run the decoder (feed p[0..n), or end the file when p is NULL) with its
 * rows rendered into the COPY's staging buffer. 0, or -1 when the load failed. */
static int decode_into_copy(lode_textcopy *t, size_t file, const char *p, size_t n)
{
    lode_copy_buf *cb = t->ci ? lode_copy_in_buffer(t->ci) : NULL;
    if (!cb) return -1;
    lode_buf view = { (char *)cb->data, cb->len, cb->cap };
    lode_decoder_output_to(t->dec, &view);
    int rc = p ? lode_decoder_feed(t->dec, p, n) : lode_decoder_end_file(t->dec);
    lode_decoder_output_to(t->dec, NULL);
    cb->data = (unsigned char *)view.data;   /* the decoder may have grown (moved) the buffer */
    cb->len = view.len;
    cb->cap = view.cap;
    if (rc != 0) {
        fail(t, "bad_input", t->files[file], "%s", lode_decoder_error(t->dec));
        return -1;
    }
    if (t->progress) {
        lode_decoder_stats s;
        lode_decoder_get_stats(t->dec, &s);
        t->progress->rows = s.rows;
    }
    /* the server's failure may end the COPY in here (on_finish clears t->ci) */
    return lode_copy_in_wrote(t->ci) == LODE_COPY_ERROR || !t->ci || t->failed ? -1 : 0;
}

/* The file's last bytes are in: its last row, its counts, MAXERROR. */
static int file_ended(lode_textcopy *t, size_t f)
{
    t->in_file = 0;
    if (decode_into_copy(t, f, NULL, 0) != 0) return -1;
    lode_decoder_stats s;
    lode_decoder_get_stats(t->dec, &s);
    t->file_rows[f] = s.file_rows;
    t->file_bad[f] = s.file_errors;
    if (t->progress) t->progress->files++;
    /* one line per file as it goes through (copy.lua logs "file loaded"
     * for all of them once the COPY has ended) */
    if (lode_log_enabled(LODE_LOG_DEBUG))
        lode_logf(LODE_LOG_DEBUG, "copy: file streamed key=%s rows=%lld bad_rows=%lld", t->files[f],
                  (long long)s.file_rows, (long long)s.file_errors);
    lode_load_errors *a = t->acct;
    if (!a) {
        if (s.file_errors == 0) return 0;
        lode_decoder_clear_bad(t->dec);
        fail(t, "load_failed", t->files[f], "copy: %lld bad rows exceed MAXERROR 0; nothing loaded",
             (long long)s.file_errors);
        return -1;
    }
    a->count += s.errors - t->bad_before;
    t->bad_before = s.errors;
    if (account_take(a, t->dec, t->files[f]) != 0) {
        fail(t, "load_failed", t->files[f], "out of memory");
        return -1;
    }
    if (a->count > a->maxerror) {
        fail(t, "load_failed", t->files[f],
             "copy: %lld bad rows exceed MAXERROR %lld; nothing loaded. First: %s line %lld, column %s: %s",
             (long long)a->count, (long long)a->maxerror, a->first_file ? a->first_file : "?",
             (long long)a->first_line, a->first_colname ? a->first_colname : "?",
             a->first_reason ? a->first_reason : "");
        return -1;
    }
    return 0;
}

static void pump_once(lode_textcopy *t)
{
    fetch_ahead(t);
    if (t->failed || !t->ready || !t->ci) return;
    while (!t->failed && t->head < t->tail) {
        chunk *c = &t->ring[t->head % t->depth];
        if (!c->done) return;
        if (c->call) {
            const lode_s3_error *e = lode_s3_call_error(c->call);
            if (e) {
                t->s3err = *e;
                t->have_s3err = 1;
                t->retryable = e->retryable;
                fail(t, "s3", t->files[c->file], "%s", e->message);
                return;
            }
            const lode_s3_result *r = lode_s3_call_result(c->call);
            if (r->ndata != c->len) {
                fail(t, "s3", t->files[c->file], "%s: bytes %llu-%llu: %zu bytes came, %zu were asked for",
                     t->files[c->file], (unsigned long long)c->first,
                     (unsigned long long)(c->first + c->len - 1), r->ndata, c->len);
                return;
            }
        }
        if (!t->in_file) {
            char err[300];
            const char *name = t->files[c->file];
            int rc = lode_decoder_begin_file(t->dec, name, strlen(name), err, sizeof err);
            if (rc != 0) {
                fail(t, "bad_input", name, "%s", rc == -1 ? err : "out of memory");
                return;
            }
            t->in_file = 1;
            t->cur_file = c->file;
            t->file_first[c->file] = t->tuples + 1;
        }
        const char *data = c->call ? lode_s3_call_result(c->call)->data : NULL;
        while (c->pos < c->len) {
            if (!t->ci || lode_copy_in_paused(t->ci)) return;
            size_t n = c->len - c->pos < SLICE ? c->len - c->pos : SLICE;
            if (decode_into_copy(t, c->file, data + c->pos, n) != 0) return;
            c->pos += n;
            t->bytes += (int64_t)n;
            if (t->progress) t->progress->bytes += (int64_t)n;
        }
        if (c->last && file_ended(t, c->file) != 0) return;
        chunk_release(c);
        t->head++;
        fetch_ahead(t);
    }
    if (t->head == t->tail && t->next_file == t->n_files && !t->finish_sent && t->ci) {
        t->finish_sent = 1;
        lode_copy_in_finish(t->ci);
    }
}

static void pump(lode_textcopy *t)
{
    if (t->pumping) {
        t->repump = 1;
        return;
    }
    t->pumping = 1;
    do {
        t->repump = 0;
        pump_once(t);
        if (t->failed) cancel_fetches(t);   /* a cancelled GET's callback may run in here */
    } while (t->repump);
    t->pumping = 0;
    if (t->failed && t->ci && !t->finish_sent) {
        t->finish_sent = 1;
        lode_copy_in_abort(t->ci, "lode: the load failed");
    }
    if (!t->ci && t->inflight == 0 && !t->done_called) {
        t->done_called = 1;
        t->done(t->ud, t);
    }
}

/* ---- the COPY sink ---------------------------------------------------------------------------- */

static void on_ready(lode_copy_in *ci, void *ud)
{
    (void)ci;
    lode_textcopy *t = ud;
    t->ready = 1;
    pump(t);
}

static void on_finish(lode_copy_in *ci, const lode_pg_outcome *o, void *ud)
{
    (void)ci;
    lode_textcopy *t = ud;
    t->ci = NULL;
    if (!o->ok && !t->failed) {
        t->retryable = o->retryable;
        if (o->sqlstate) snprintf(t->sqlstate, sizeof t->sqlstate, "%s", o->sqlstate);
        t->server_line = o->line;
        const char *msg = o->message ? o->message : "COPY failed";
        size_t f;
        if (o->column) t->err_column = strdup(o->column);
        if (locate_tuple(t, o->line, &f, &t->err_line, &t->err_row) != 0) {
            fail(t, "server", NULL, "%s", msg);
        } else {   /* the decoder's errors' shape: "<file>, line N, column c: <why>" */
            fail(t, "server", t->files[f], "%s, %s %lld%s%s: %s", t->files[f],
                 t->err_line ? "line" : "row (line not kept)", (long long)(t->err_line ? t->err_line : t->err_row),
                 o->column ? ", column " : "", o->column ? o->column : "", msg);
        }
    }
    pump(t);
}

/* ---- lifetime --------------------------------------------------------------------------------- */

lode_textcopy *lode_textcopy_start(lode_pg_conn *c, const char *sql, lode_decoder *dec,
                                   const lode_textcopy_opts *o, lode_textcopy_cb done, void *ud,
                                   char *err, size_t errlen)
{
    lode_load_keep_freed_memory();
    lode_textcopy *t = calloc(1, sizeof *t);
    if (!t) {
        lode_decoder_free(dec);
        goto oom;
    }
    t->dec = dec;
    lode_decoder_on_row(dec, row_sent, t);
    t->done = done;
    t->ud = ud;
    t->n_files = o->n_files;
    t->chunk_size = o->chunk ? o->chunk : DEFAULT_CHUNK;
    t->depth = o->depth > 0 ? (size_t)o->depth : DEFAULT_DEPTH;
    t->progress = o->progress;
    lode_load_progress_ref(t->progress);
    t->acct = o->errors;
    lode_load_errors_ref(t->acct);
    if (t->acct) {
        lode_decoder_stats s;
        lode_decoder_get_stats(dec, &s);
        t->bad_before = s.errors;
    }
    size_t nf = o->n_files + 1;
    t->files = calloc(nf, sizeof *t->files);
    t->etags = calloc(nf, sizeof *t->etags);
    t->buckets = calloc(nf, sizeof *t->buckets);
    t->keys = calloc(nf, sizeof *t->keys);
    t->sizes = calloc(nf, sizeof *t->sizes);
    t->file_rows = calloc(nf, sizeof *t->file_rows);
    t->file_bad = calloc(nf, sizeof *t->file_bad);
    t->file_first = calloc(nf, sizeof *t->file_first);
    t->ring = calloc(t->depth, sizeof *t->ring);
    if (!t->files || !t->etags || !t->buckets || !t->keys || !t->sizes || !t->file_rows || !t->file_bad || !t->ring
        || !t->file_first)
        goto oom;
    for (size_t i = 0; i < o->n_files; i++) {
        if (!(t->files[i] = strdup(o->files[i]))) goto oom;
        if (o->etags && o->etags[i] && *o->etags[i] && !(t->etags[i] = strdup(o->etags[i]))) goto oom;
        if (o->sizes[i] < 0) {
            snprintf(err, errlen, "%s: size %lld", o->files[i], (long long)o->sizes[i]);
            lode_textcopy_free(t);
            return NULL;
        }
        t->sizes[i] = o->sizes[i];
        if (lode_s3_parse_url(o->files[i], &t->buckets[i], &t->keys[i]) != 0) {
            snprintf(err, errlen, "%s is not an s3:// URL", o->files[i]);
            lode_textcopy_free(t);
            return NULL;
        }
    }
    lode_s3_error se;
    if (o->n_files && !(t->s3 = lode_s3_default(&se))) {
        snprintf(err, errlen, "%s", se.message);
        lode_textcopy_free(t);
        return NULL;
    }
    static const lode_copy_in_callbacks cbs = { on_ready, on_finish };
    const char *why = NULL;
    t->ci = lode_copy_in_start(c, sql, lode_decoder_binary(dec) ? LODE_COPY_BINARY : LODE_COPY_TEXT, &cbs, t, &why);
    if (!t->ci) {
        snprintf(err, errlen, "%s", why ? why : "cannot start the COPY");
        lode_textcopy_free(t);
        return NULL;
    }
    pump(t);   /* the first GETs go out while the server accepts the COPY */
    return t;
oom:
    snprintf(err, errlen, "out of memory");
    lode_textcopy_free(t);
    return NULL;
}

void lode_textcopy_cancel(lode_textcopy *t)
{
    if (t->done_called) return;
    fail(t, "cancelled", NULL, "the load was cancelled");
    pump(t);
}

void lode_textcopy_free(lode_textcopy *t)
{
    if (!t) return;
    for (size_t i = 0; t->ring && i < t->depth; i++) lode_s3_call_free(t->ring[i].call);
    free(t->ring);
    for (size_t i = 0; i < t->n_files; i++) {
        if (t->files) free(t->files[i]);
        if (t->etags) free(t->etags[i]);
        if (t->buckets) free(t->buckets[i]);
        if (t->keys) free(t->keys[i]);
    }
    free(t->files);
    free(t->etags);
    free(t->buckets);
    free(t->keys);
    free(t->sizes);
    free(t->file_rows);
    free(t->file_bad);
    free(t->file_first);
    free(t->segs);
    free(t->err_column);
    free(t->err_file);
    lode_decoder_free(t->dec);
    lode_load_progress_unref(t->progress);
    lode_load_errors_unref(t->acct);
    free(t);
}

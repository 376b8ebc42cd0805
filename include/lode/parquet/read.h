/* lode/parquet/read.h — a row-group-at-a-time Parquet reader over a
 * lode_source, rendering rows as PostgreSQL COPY text/binary, CSV, TSV or
 * JSON lines into a byte buffer the caller drains (a COPY sink, stdout, Lua).
 *
 *   lode_pqr *r = lode_pqr_new(src, &opts);        // src stays owned by the caller
 *   lode_pqr_open(r, on_open, ud);                  // reads the footer (async)
 *   ... on_open: lode_pqr_failed(r)? lode_pqr_error(r)
 *   while (lode_pqr_next_row_group(r, on_loaded, ud) == 0) ...   // reads the projected chunks (async)
 *   ... on_loaded:
 *       lode_pqr_buf out = {0};
 *       int more;
 *       do { more = lode_pqr_render(r, &out, 256 * 1024); drain(out); out.len = 0; } while (more > 0);
 *   lode_pqr_free(r);
 *
 * Memory: the compressed column chunks of one row group (only the projected
 * columns) plus one decompressed page per column and the output buffer.
 * Decoding is synchronous C; only the reads go through the loop.
 * Errors name the file, row group, column and page (or row). */
#ifndef LODE_PARQUET_READ_H
#define LODE_PARQUET_READ_H

#include <stddef.h>
#include <stdint.h>

#include "lode/core/source.h"
#include "lode/parquet/parquet.h"

typedef struct lode_pqr lode_pqr;

/* A growable output buffer (the caller drains it by resetting len). */
typedef struct lode_pqr_buf {
    uint8_t *data;
    size_t len, cap;
} lode_pqr_buf;

typedef enum {
    LODE_PQR_TEXT = 0,      /* PostgreSQL COPY text (tab, \N, backslash escapes), no header */
    LODE_PQR_CSV = 1,       /* RFC 4180 with a header line (unless header = 0 is forced) */
    LODE_PQR_TSV = 2,       /* tab separated, header line, empty nulls, \t \n \\ escaped */
    LODE_PQR_JSONL = 3,     /* one JSON object per line */
    LODE_PQR_BINARY = 4,    /* PostgreSQL binary COPY tuples (no file header/trailer) */
    LODE_PQR_CELLS = 5,     /* raw cells for lode_pqr_next_row (Lua) */
} lode_pqr_format;

typedef struct {
    const char *const *columns;   /* top-level column names to read, in this order; NULL = all */
    size_t n_columns;
    lode_pqr_format format;
    int no_header;                /* CSV/TSV: leave out the header line */
    int replace_invalid_utf8;     /* like Redshift ACCEPTINVCHARS */
    char replacement;             /* default '?' */
    uint64_t max_chunk_bytes;     /* refuse bigger column chunks (default 1 GiB) */
    uint64_t max_page_bytes;      /* refuse bigger uncompressed pages (default 128 MiB) */
    uint64_t max_page_values;     /* refuse pages claiming more values (default 2^26): the
                                     decoded arrays are sized by the header's count */
    int missing_as_null;          /* a named column the file lacks reads as NULL (else: error) */
    const char *row_suffix;       /* text/CSV/TSV: bytes put at the end of every row, before */
    size_t row_suffix_len;        /*   the newline (constant trailing columns); not copied */
} lode_pqr_options;

typedef void (*lode_pqr_cb)(void *ud, lode_pqr *r);

/* A reader over src (not owned; must outlive the reader). Never NULL except
 * on out of memory. */
lode_pqr *lode_pqr_new(lode_source *src, const lode_pqr_options *opts);
void lode_pqr_free(lode_pqr *r);

/* Read and check the footer; cb(ud, r) runs on the loop when done (or has
 * already run when this returns -1 is impossible: failures are reported
 * through lode_pqr_failed in the callback). */
void lode_pqr_open(lode_pqr *r, lode_pqr_cb cb, void *ud);

/* Whether the reader failed, and why ("f.parquet: row group 0, column 'a',
 * page 3: ..."). */
int lode_pqr_failed(const lode_pqr *r);
const char *lode_pqr_error(const lode_pqr *r);

/* Output columns (after projection): count, names, PostgreSQL type names. */
size_t lode_pqr_ncolumns(const lode_pqr *r);
const char *lode_pqr_column_name(const lode_pqr *r, size_t i);
const char *lode_pqr_column_pg_type(const lode_pqr *r, size_t i);
/* Rows in the file (sum over row groups) and row groups. */
int64_t lode_pqr_num_rows(const lode_pqr *r);
int lode_pqr_num_row_groups(const lode_pqr *r);

/* Where the reader is, for read-ahead and messages: the footer (NULL
 * before open), the row group loaded last (-1 before the first), the rows
 * rendered from the file so far, and the projected leaf columns (indexes
 * into a row group's columns). */
const lode_pq_meta *lode_pqr_meta(const lode_pqr *r);
int lode_pqr_row_group(const lode_pqr *r);
int64_t lode_pqr_rows_done(const lode_pqr *r);
size_t lode_pqr_nleaves(const lode_pqr *r);
int lode_pqr_leaf(const lode_pqr *r, size_t j);

/* Start loading the next row group's projected chunks: 0 = started (cb runs
 * when loaded or failed), 1 = no row groups left, -1 = failed. */
int lode_pqr_next_row_group(lode_pqr *r, lode_pqr_cb cb, void *ud);

/* Append rows of the loaded row group to out until out->len ≥ max_bytes
 * or the row group ends (the CSV/TSV header comes before the first row).
 * Returns 1 when rows remain in the row group, 0 when it is finished, -1 on
 * error. */
int lode_pqr_render(lode_pqr *r, lode_pqr_buf *out, size_t max_bytes);

/* LODE_PQR_CELLS: one row at a time. Returns 1 with a row, 0 at the end of
 * the row group, -1 on error. Cell i is row->data[off[i] .. off[i]+len[i]),
 * null when len[i] < 0; kind[i] says how to read it (see LODE_PQR_CELL_*).
 * Pointers are valid until the next call. */
enum { LODE_PQR_CELL_TEXT, LODE_PQR_CELL_INT, LODE_PQR_CELL_NUMBER, LODE_PQR_CELL_BOOL,
       LODE_PQR_CELL_BYTES, LODE_PQR_CELL_JSON };
typedef struct {
    const uint8_t *data;
    const size_t *off;
    const int64_t *len;
    const int *kind;
} lode_pqr_row;
int lode_pqr_next_row(lode_pqr *r, lode_pqr_row *row);

void lode_pqr_buf_free(lode_pqr_buf *b);

/* ---- the whole file to a file descriptor (`lode parquet cat`) -------------- */

/* Render every row of an opened reader to fd, row group by row group, in
 * the reader's format, OUT_CHUNK-sized writes (memory: one row group and
 * one chunk). Zero-initialise it in the caller's struct; `cancelled` may be
 * set at any time (the next step finishes). done(d, ud) runs once: then
 * lode_pqr_failed(r) says the file was bad, d->failed that writing failed
 * (d->err why), else d->rows rows were written; a reader of fd that went
 * away (EPIPE) ends it quietly. */
typedef struct lode_pqr_dump {
    lode_pqr *r;
    int fd;
    lode_pqr_buf out;
    int64_t rows;
    int cancelled;
    int failed;
    char err[256];
    void (*done)(struct lode_pqr_dump *d, void *ud);
    void *ud;
} lode_pqr_dump;

void lode_pqr_dump_start(lode_pqr_dump *d, lode_pqr *r, int fd,
                         void (*done)(lode_pqr_dump *d, void *ud), void *ud);
/* Frees the output buffer (after done). */
void lode_pqr_dump_free(lode_pqr_dump *d);

#endif

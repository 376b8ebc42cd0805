/* lode/load/textcopy.h — CSV, JSON, text and fixed-width files from S3 into
 * one `COPY … FROM STDIN`, in C: the data path of emulated `COPY … FORMAT AS
 * CSV | JSON | text` on PostgreSQL.
 *
 *   lode_load_errors *acct = lode_load_errors_new(maxerror);   // shared by a load's streams
 *   lode_textcopy *t = lode_textcopy_start(conn, "COPY t (a, b) FROM STDIN", dec, &opts,
 *                                          on_done, ud, err, sizeof err);
 *   ... on_done(ud, t): lode_textcopy_failed(t)? lode_textcopy_error(t) : lode_textcopy_rows(t)
 *   lode_textcopy_free(t);
 *
 * Every file is read by ranged GETs (`chunk` bytes, If-Match on the ETag
 * listed) with up to `depth` in flight, in load order across files, and fed
 * to the decoder (unzip → parser → per-column conversion), which renders
 * the rows straight into the COPY's staging buffer. Bad rows are counted
 * per file, when the file ends, into the shared account: past its MAXERROR
 * the load fails. Memory: `depth` chunks plus the COPY's buffer and one
 * record. */
#ifndef LODE_LOAD_TEXTCOPY_H
#define LODE_LOAD_TEXTCOPY_H

#include <stddef.h>
#include <stdint.h>

#include "lode/load/decoder.h"
#include "lode/load/load.h"
#include "lode/s3/s3.h"

/* One bad row kept for lode.load_errors. */
typedef struct {
    char *file;
    char *colname;             /* NULL for a row-level error or an extra column */
    lode_bad_row row;
} lode_load_error;

/* The bad rows of one load, shared by its streams (one loop thread: no
 * lock). Reference-counted: each running stream holds one reference. */
typedef struct {
    int refs;
    int64_t maxerror;          /* more bad rows than this fail the load */
    int64_t count;             /* bad rows of the files ended so far, all streams */
    lode_load_error *rows;     /* kept and not yet taken */
    size_t n, cap;
    int have_first;            /* the first kept row, for the MAXERROR message */
    char *first_file, *first_colname, *first_reason;
    int64_t first_line;
} lode_load_errors;

lode_load_errors *lode_load_errors_new(int64_t maxerror);   /* refs = 1; NULL when out of memory */
void lode_load_errors_ref(lode_load_errors *a);
void lode_load_errors_unref(lode_load_errors *a);
/* Forget the kept rows (the caller has taken them). */
void lode_load_errors_clear(lode_load_errors *a);

typedef struct lode_textcopy lode_textcopy;
struct lode_pg_conn;

typedef struct {
    const char *const *files;  /* s3:// URLs, loaded in this order */
    const char *const *etags;  /* NULL, or per file the ETag listed (NULL/""): any version */
    const int64_t *sizes;      /* per file, its size as listed */
    size_t n_files;
    int depth;                 /* ranged GETs in flight (default 4) */
    size_t chunk;              /* bytes per GET (default 4 MiB) */
    lode_load_progress *progress;   /* optional: counters to update (a reference is taken) */
    lode_load_errors *errors;  /* the load's account (a reference is taken); NULL: MAXERROR 0 */
} lode_textcopy_opts;

typedef void (*lode_textcopy_cb)(void *ud, lode_textcopy *t);

/* Start the load; the decoder is taken (freed with t, also on failure to
 * start) and decides the COPY format (text, or binary when it renders
 * binary tuples). done runs once on the loop when the COPY has ended (or
 * failed) and no GET is in flight. NULL with err filled when the COPY
 * cannot start (done is then not called). */
lode_textcopy *lode_textcopy_start(struct lode_pg_conn *c, const char *sql, lode_decoder *dec,
                                   const lode_textcopy_opts *o, lode_textcopy_cb done, void *ud,
                                   char *err, size_t errlen);
/* Stop: the GETs are cancelled and the COPY aborted; done follows. */
void lode_textcopy_cancel(lode_textcopy *t);
int lode_textcopy_failed(const lode_textcopy *t);
/* "bad_input" (the decoder's fatal error), "load_failed" (past MAXERROR),
 * "server" (the server failed the COPY: see the server fields), "s3" (see
 * lode_textcopy_s3_error), "connection" (the COPY could not go on), "cancelled". */
const char *lode_textcopy_error_code(const lode_textcopy *t);
const char *lode_textcopy_error(const lode_textcopy *t);
const char *lode_textcopy_error_file(const lode_textcopy *t);   /* or NULL */
int lode_textcopy_retryable(const lode_textcopy *t);
/* The GET that failed (code "s3"), or NULL. */
const lode_s3_error *lode_textcopy_s3_error(const lode_textcopy *t);
/* The server's verdict when it failed the COPY: SQLSTATE (or NULL) and the input line it blamed. */
const char *lode_textcopy_sqlstate(const lode_textcopy *t);
int64_t lode_textcopy_server_line(const lode_textcopy *t);
/* The source row of that input line (the COPY's tuple): its file is
 * lode_textcopy_error_file; its line in the file (0 when no longer known:
 * then its row among the rows the file sent), and the column the server
 * named (or NULL). */
int64_t lode_textcopy_error_line(const lode_textcopy *t);
int64_t lode_textcopy_error_row(const lode_textcopy *t);
const char *lode_textcopy_error_column(const lode_textcopy *t);
/* Rows the decoder produced and bad rows it skipped (whole load), bytes read. */
int64_t lode_textcopy_rows(const lode_textcopy *t);
int64_t lode_textcopy_bad(const lode_textcopy *t);
int64_t lode_textcopy_bytes(const lode_textcopy *t);
size_t lode_textcopy_nfiles(const lode_textcopy *t);
/* Rows and bad rows of file i (0 for a file not reached). */
int64_t lode_textcopy_file_rows(const lode_textcopy *t, size_t i);
int64_t lode_textcopy_file_bad(const lode_textcopy *t, size_t i);
void lode_textcopy_free(lode_textcopy *t);

#endif

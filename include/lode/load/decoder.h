/* lode/load/decoder.h — the decoder of emulated COPY for delimited text and
 * JSON: compressed bytes in, PostgreSQL text (or binary) COPY rows out, each field
 * checked and converted for its target column; rows that fail are kept aside
 * with file, line, column, raw value and reason (STL_LOAD_ERRORS' shape).
 *
 *   lode_decoder *d = lode_decoder_new(&opts);
 *   lode_decoder_begin_file(d, "s3://b/k.csv.gz", n, err, sizeof err);
 *   while (bytes) { lode_decoder_feed(d, p, n); out = lode_decoder_output(d, &len); ...send...;
 *                   lode_decoder_output_reset(d); }
 *   lode_decoder_end_file(d); ...send the last row...
 *   lode_decoder_free(d);
 *
 * Pipeline per file: lode_unzip → lode_csv or lode_jsonload → lode_conv_field
 * into one lode_buf. No I/O: the caller moves the bytes, so memory is bounded
 * by its chunk size plus one record. Owns copies of every option string, the
 * per-file parser and unzip state, the output buffer and up to
 * LODE_DECODER_MAX_KEPT_ERRORS bad-row details (the error count stays exact). */
#ifndef LODE_LOAD_DECODER_H
#define LODE_LOAD_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "lode/load/load.h"

#define LODE_DECODER_MAX_KEPT_ERRORS 1000

typedef enum { LODE_DEC_CSV, LODE_DEC_TEXT, LODE_DEC_JSON } lode_decoder_format;

/* COPY's ENCODING: the file's bytes are transcoded to UTF-8 before parsing.
 * UTF16 needs a byte order mark; UTF16LE / UTF16BE skip one if present. */
typedef enum { LODE_ENC_UTF8, LODE_ENC_UTF16, LODE_ENC_UTF16LE, LODE_ENC_UTF16BE, LODE_ENC_ISO88591 } lode_encoding;

typedef struct {
    const char *name;          /* for bad rows' colname (copied) */
    lode_load_column col;
} lode_decoder_column;

typedef struct {
    lode_decoder_format format;
    lode_csv_opts csv;         /* csv/text parser options (csv.csv is set from format; widths copied:
                                  FIXEDWIDTH, where non-character fields are read without their blanks) */
    lode_encoding encoding;
    lode_conv_opts conv;       /* strings copied; null_as NULL on TEXT means Redshift's \N */
    int fillrecord;            /* missing trailing columns: "" for text types, else NULL */
    lode_zkind compression;
    const lode_decoder_column *columns;
    size_t ncols;              /* >= 1 */
    int ignorecase;            /* JSON 'auto ignorecase' */
    int dots_in_keys;          /* JSON: a '.' in a key matches '_' in a column name (OpenX dots.in.keys) */
    const char *const *jsonpaths;   /* JSON: NULL for 'auto', else njsonpaths expressions (copied) */
    size_t njsonpaths;
    int binary;                /* rows as binary COPY tuples (every column's type must pass
                                  lode_conv_binary_type); the caller sends the header and trailer */
    const int *null_codes;     /* Spectrum's SET_TO_NULL data handling (never COPY's): a field whose
                                  conversion fails with one of these LODE_ERR_* codes is NULL and its
                                  row is kept; LODE_ERR_EXTRA_COLUMNS: fields past the last column are
                                  ignored; LODE_ERR_DELIMITER: missing trailing fields are NULL (copied) */
    size_t n_null_codes;
} lode_decoder_opts;

/* One row kept aside. */
typedef struct {
    int64_t line;
    int column;                /* 1-based target column, 0 for a row-level error */
    int code;                  /* LODE_ERR_* */
    char *raw_line, *raw_value, *reason;
    size_t raw_line_len, raw_value_len;   /* raw_value at most 1024 bytes */
} lode_bad_row;

typedef struct {
    int64_t rows, errors, bytes;      /* since the decoder was made */
    int64_t file_rows, file_errors;   /* in the current (or last) file */
} lode_decoder_stats;

typedef struct lode_decoder lode_decoder;

/* The column type for a PostgreSQL type name ("varchar", "int4", "timestamp
 * with time zone", ...); LODE_LT_OTHER when not one the decoder checks. */
lode_load_type lode_load_type_of(const char *name);
/* The encoding for a COPY ENCODING value ("UTF8", "UTF16", "UTF16LE",
 * "UTF16BE", "ISO88591"): 0, or -1 when unknown. */
int lode_encoding_of(const char *name, lode_encoding *out);
/* The compression for a COPY option ("auto", "none", "gzip", "bzip2",
 * "zstd"): 0, or -1 when unknown. */
int lode_zkind_of(const char *name, lode_zkind *out);

/* NULL when out of memory. */
lode_decoder *lode_decoder_new(const lode_decoder_opts *o);
void lode_decoder_free(lode_decoder *d);

/* Start a file (IGNOREHEADER and line numbers restart). 0; -1 with err on a
 * bad JSONPath; -2 when out of memory. */
int lode_decoder_begin_file(lode_decoder *d, const char *name, size_t name_len, char *err, size_t errlen);
/* Whether a file is begun and not yet ended. */
int lode_decoder_in_file(const lode_decoder *d);
/* Decode a chunk; rows completed by it are appended to the output. 0, or -1
 * on a fatal input error (lode_decoder_error names file and line). */
int lode_decoder_feed(lode_decoder *d, const void *p, size_t n);
/* End of the file: the last row, and whether the file ended well (0 / -1 as
 * for feed). The per-file state is released either way. */
int lode_decoder_end_file(lode_decoder *d);
/* The fatal error of the last feed/end_file ("<file>, line N: ..."). */
const char *lode_decoder_error(const lode_decoder *d);
/* The current (or last) file's name; NULL before the first. */
const char *lode_decoder_file(const lode_decoder *d);

/* The COPY text rows produced since the last reset. */
const char *lode_decoder_output(const lode_decoder *d, size_t *len);
void lode_decoder_output_reset(lode_decoder *d);
/* Whether rows come out as binary COPY tuples. */
int lode_decoder_binary(const lode_decoder *d);
/* Rows go to b (appended; the caller's buffer, which must stay valid until
 * the next call with NULL, which restores the decoder's own buffer). A
 * failed feed leaves b as it was given. */
void lode_decoder_output_to(lode_decoder *d, lode_buf *b);

/* Bad rows kept since the last clear, and the column names they refer to. */
size_t lode_decoder_nbad(const lode_decoder *d);
const lode_bad_row *lode_decoder_bad_row(const lode_decoder *d, size_t i);
void lode_decoder_clear_bad(lode_decoder *d);
size_t lode_decoder_ncols(const lode_decoder *d);
const char *lode_decoder_column_name(const lode_decoder *d, size_t i);   /* 0-based */

void lode_decoder_get_stats(const lode_decoder *d, lode_decoder_stats *s);

/* fn(ud, line) for each row that goes out, in output order, with the line
 * of the current file it began on (NULL: none): which source row a COPY
 * tuple was, for the server's errors. */
typedef void (*lode_decoder_row_fn)(void *ud, int64_t line);
void lode_decoder_on_row(lode_decoder *d, lode_decoder_row_fn fn, void *ud);

#endif

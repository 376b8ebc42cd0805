/* lode/parquet/write.h — a Parquet file writer for flat rows of PostgreSQL
 * text values (UNLOAD … FORMAT PARQUET, lode.parquet.writer): Parquet 1.0
 * data pages, PLAIN values, RLE definition levels, SNAPPY (or ZSTD, GZIP,
 * none) pages, every column OPTIONAL; to a file, or to memory that the
 * caller drains (lode_pqw_output / lode_pqw_consume) while it writes, e.g.
 * into the parts of a multipart upload.
 *
 *   lode_pqw_column cols[] = { {"id", LODE_PQW_INT32}, {"amount", LODE_PQW_DECIMAL, 12, 2} };
 *   lode_pqw *w = lode_pqw_open("/tmp/x.parquet", cols, 2, 32 << 20, err, sizeof err);
 *   lode_pqw_value(w, 0, "42", 2, err, sizeof err);         // text as PostgreSQL prints it
 *   lode_pqw_value(w, 1, NULL, 0, err, sizeof err);         // NULL
 *   lode_pqw_end_row(w, err, sizeof err);                   // a row group is flushed past row_group_bytes
 *   lode_pqw_close(w, err, sizeof err);                     // last row group, footer; then
 *   lode_pqw_free(w);
 *
 * Memory: one row group's encoded values (about row_group_bytes) plus one
 * compressed page at a time; in memory, plus the output not yet consumed. Every function returns 0, or -1 with a message
 * naming the column and value in err; after a failure the writer is only
 * good for lode_pqw_free (the file is incomplete). */
#ifndef LODE_PARQUET_WRITE_H
#define LODE_PARQUET_WRITE_H

#include <stddef.h>
#include <stdint.h>

enum {
    LODE_PQW_BOOLEAN,     /* 't' / 'f' */
    LODE_PQW_INT32,       /* smallint, integer */
    LODE_PQW_INT64,       /* bigint */
    LODE_PQW_FLOAT,       /* real */
    LODE_PQW_DOUBLE,      /* double precision */
    LODE_PQW_STRING,      /* BYTE_ARRAY UTF8 */
    LODE_PQW_DATE,        /* 'YYYY-MM-DD' -> INT32 days since 1970-01-01 */
    LODE_PQW_TIMESTAMP,   /* 'YYYY-MM-DD HH:MM:SS[.ffffff]' -> INT64 microseconds (TIMESTAMP_MICROS) */
    LODE_PQW_DECIMAL,     /* numeric(p, s): p <= 18 -> INT64 unscaled; 19..38 -> FIXED_LEN_BYTE_ARRAY,
                             big-endian two's complement, the fewest bytes that hold p digits */
    LODE_PQW_TIMESTAMPTZ, /* '… HH:MM:SS[.ffffff]+HH[:MM[:SS]]' -> INT64 microseconds UTC (TIMESTAMP, adjusted to UTC) */
    LODE_PQW_TIME,        /* 'HH:MM:SS[.ffffff]' -> INT64 microseconds of the day (TIME, local) */
};

typedef struct {
    const char *name;
    int type;
    int precision, scale;   /* LODE_PQW_DECIMAL */
} lode_pqw_column;

typedef struct lode_pqw lode_pqw;

/* path NULL: the file is kept in memory for lode_pqw_output. */
lode_pqw *lode_pqw_open(const char *path, const lode_pqw_column *cols, int ncols, size_t row_group_bytes,
                        char *err, size_t errlen);
/* The page codec (LODE_CODEC_SNAPPY, _ZSTD, _GZIP, _UNCOMPRESSED of
 * lode/parquet/codec.h), before the first row; snappy when never called. */
int lode_pqw_set_codec(lode_pqw *w, int codec, char *err, size_t errlen);
/* The next value of column `col` in the current row; text NULL = SQL NULL. */
int lode_pqw_value(lode_pqw *w, int col, const char *text, size_t len, char *err, size_t errlen);
/* The next value of an INT32, INT64, FLOAT or DOUBLE column as a number, not
 * text (no printing and parsing back): is_int says whether i (an integer) or
 * d holds it; an integer column takes integers only, in its range. */
int lode_pqw_number(lode_pqw *w, int col, int is_int, int64_t i, double d, char *err, size_t errlen);
int lode_pqw_end_row(lode_pqw *w, char *err, size_t errlen);
/* End the row group being built now (a no-op when it is empty): callers that
 * size row groups by rows rather than bytes. */
int lode_pqw_flush(lode_pqw *w, char *err, size_t errlen);
/* Bytes in the file so far plus the row group being built (what the file
 * would be if closed now, less the footer). */
int64_t lode_pqw_size(const lode_pqw *w);
int64_t lode_pqw_rows(const lode_pqw *w);
int lode_pqw_close(lode_pqw *w, char *err, size_t errlen);
/* In memory: the bytes written and not yet consumed (the footer too, after close). */
const void *lode_pqw_output(const lode_pqw *w, size_t *n);
/* Drop the first n bytes of the output (they have been sent). */
void lode_pqw_consume(lode_pqw *w, size_t n);
void lode_pqw_free(lode_pqw *w);

#endif

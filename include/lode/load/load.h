/* lode/load/load.h — the byte work of emulated COPY: a push parser for delimited
 * text (CSV and Redshift's pipe-delimited text), a JSON-lines/concatenated
 * JSON object reader, per-column type validation and conversion into
 * PostgreSQL's text COPY format, and streaming decompression.
 *
 *   lode_csv *p = lode_csv_new(&opts, on_record, me);   // on_record per record
 *   while (have bytes) if (lode_csv_feed(p, data, n) != 0) ... lode_csv_error(p)
 *   lode_csv_finish(p); lode_csv_free(p);
 *
 * Memory is bounded: a parser holds at most one record (opts.max_record
 * bytes); conversion appends to a caller-owned lode_buf. Nothing here does
 * I/O or touches Lua; all of it is unit tested and fuzzed. */
#ifndef LODE_LOAD_H
#define LODE_LOAD_H

#include <stddef.h>
#include <stdint.h>

/* ---- a growable byte buffer -------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
} lode_buf;

/* Append n bytes; returns 0, or -1 when out of memory. */
int lode_buf_append(lode_buf *b, const void *p, size_t n);
int lode_buf_putc(lode_buf *b, char c);
void lode_buf_free(lode_buf *b);

/* ---- delimited text ------------------------------------------------------ */

typedef struct {
    char delimiter;            /* ',' for CSV, '|' for Redshift text */
    char quote;                /* CSV quote character ('"' by default) */
    int csv;                   /* 1: CSV rules (quotes, "" inside quotes); 0: text */
    int escape;                /* text: backslash makes the next byte literal; opencsv: backslash is the escapeChar */
    int opencsv;               /* CSV as Hive's OpenCSVSerde reads it: where its reading differs from CSV's
                                * (a quote inside an unquoted field; with escape, a backslash) the
                                * record fails, naming file and line, rather than read differently */
    int removequotes;          /* text: surrounding quotes are removed */
    int ignoreblanklines;      /* empty lines are skipped */
    int64_t ignoreheader;      /* lines skipped at the start */
    size_t max_record;         /* bound on one record (0: 4 MiB, Redshift's row limit) */
    const uint32_t *widths;    /* FIXEDWIDTH: nwidths field widths in characters (not copied); no
                                  delimiter, quotes or escapes: each line is cut into those widths */
    size_t nwidths;
} lode_csv_opts;

typedef struct {
    const char *data;          /* field bytes (quotes and escapes removed), not NUL-terminated */
    size_t len;
    int quoted;                /* the field was quoted */
} lode_field;

typedef struct {
    int64_t line;              /* 1-based line where the record starts */
    size_t nfields;
    const lode_field *fields;
    const char *raw;           /* the record's first bytes as read (for errors) */
    size_t raw_len;            /* at most LODE_RAW_LINE_MAX */
} lode_csv_record;

#define LODE_RAW_LINE_MAX 1024

/* Called per record; return 0 to go on, non-zero to stop (lode_csv_feed
 * then returns that value). */
typedef int (*lode_csv_record_fn)(void *ud, const lode_csv_record *rec);

typedef struct lode_csv lode_csv;

lode_csv *lode_csv_new(const lode_csv_opts *opts, lode_csv_record_fn fn, void *ud);
/* Parse a chunk (chunks need not align with records). Returns 0, the
 * callback's non-zero value, or -1 on a malformed input (see lode_csv_error). */
int lode_csv_feed(lode_csv *p, const void *data, size_t len);
/* End of input: emits the last record; -1 on an unterminated quote. */
int lode_csv_finish(lode_csv *p);
/* The parse error and the line it was found on. */
const char *lode_csv_error(const lode_csv *p);
int64_t lode_csv_error_line(const lode_csv *p);
/* Lines read so far. */
int64_t lode_csv_lines(const lode_csv *p);
void lode_csv_free(lode_csv *p);

/* ---- target columns and conversion ------------------------------------- */

typedef enum {
    LODE_LT_TEXT = 0,          /* text, varchar(n), char(n), bpchar */
    LODE_LT_INT2, LODE_LT_INT4, LODE_LT_INT8,
    LODE_LT_NUMERIC, LODE_LT_FLOAT4, LODE_LT_FLOAT8,
    LODE_LT_BOOL,
    LODE_LT_DATE, LODE_LT_TIME, LODE_LT_TIMETZ, LODE_LT_TIMESTAMP, LODE_LT_TIMESTAMPTZ,
    LODE_LT_JSON,              /* json, super: must be valid UTF-8 text */
    LODE_LT_JSONB,             /* jsonb: as JSON; binary form is a version byte, then the text */
    LODE_LT_BYTEA,             /* bytea (Redshift VARBYTE): UTF-8 text the server reads as bytea
                                * input (\x hex, or escapes); binary form decodes it the same way */
    LODE_LT_OTHER              /* passed through as UTF-8 text; the server validates */
} lode_load_type;

typedef struct {
    lode_load_type type;
    int32_t length;            /* varchar(n)/char(n) byte limit, or -1 */
    int precision, scale;      /* numeric(p,s); precision 0 for unconstrained */
} lode_load_column;

typedef struct {
    const char *null_as;       /* field text that means NULL, or NULL for none */
    size_t null_as_len;
    int emptyasnull, blanksasnull, truncatecolumns;
    char acceptinvchars;       /* replacement for invalid UTF-8 bytes and NULs, 0: reject */
    const char *dateformat;    /* NULL: YYYY-MM-DD; "auto"; or a format */
    const char *timeformat;    /* NULL: YYYY-MM-DD HH:MI:SS; "auto", "epochsecs", "epochmillisecs", or a format */
    int roundec;               /* numeric scale digits rounded (half away from zero), not truncated */
    int trimblanks;            /* trailing blanks (space, tab) cut from varchar/text values */
    int acceptanydate;         /* a DATE/TIMESTAMP value that does not parse is NULL, not an error */
} lode_conv_opts;

/* Redshift's STL_LOAD_ERRORS err_code values used by the emulation. */
enum {
    LODE_ERR_EXTRA_COLUMNS = 1202,
    LODE_ERR_LENGTH = 1204,
    LODE_ERR_DATE = 1205,
    LODE_ERR_TIMESTAMP = 1206,
    LODE_ERR_DIGIT = 1207,
    LODE_ERR_FLOAT = 1208,
    LODE_ERR_OVERFLOW = 1216,
    LODE_ERR_DELIMITER = 1214,
    LODE_ERR_BOOL = 1210,
    LODE_ERR_UTF8 = 1220,
    LODE_ERR_JSON = 1224,
    LODE_ERR_NUL = 1221
};

typedef struct {
    int code;                  /* one of LODE_ERR_* */
    char reason[256];
} lode_conv_error;

/* Convert one field for column col into PostgreSQL text COPY form (escaped,
 * or \N for NULL) appended to out. `is_null` marks a field that is SQL NULL
 * before any rule (a missing JSON key, FILLRECORD). Returns 0, or -1 with
 * err filled (out is then left as it was). */
int lode_conv_field(const lode_load_column *col, const lode_conv_opts *o,
                    const char *p, size_t n, int quoted, int is_null,
                    lode_buf *out, lode_conv_error *err);

/* The same field in PostgreSQL's binary COPY form (int32 length, -1 for
 * NULL, then the type's send format), for a column whose type
 * lode_conv_binary_type accepts: every rule and error of lode_conv_field,
 * and the value the server would have read from its text form. scratch is
 * the caller's work buffer. Returns 0; -1 with err filled (a bad row, or
 * out of memory when err->code is 0); -2 when the server would have failed
 * the whole text COPY on this value (err->reason says why). */
int lode_conv_field_binary(const lode_load_column *col, const lode_conv_opts *o,
                           const char *p, size_t n, int quoted, int is_null,
                           lode_buf *out, lode_buf *scratch, lode_conv_error *err);
/* Whether lode_conv_field_binary renders this type. */
int lode_conv_binary_type(lode_load_type t);

/* Parse a date/time by a Redshift format ("auto", "epochsecs", ... or
 * YYYY MM DD HH HH24 HH12 MI SS AM PM MON and literals). Fills the fields;
 * tz_minutes is set when the text had an offset (has_tz). Returns 0 or -1. */
typedef struct {
    int year, month, day, hour, minute, second, usec;
    int has_date, has_time, has_tz, tz_minutes;
} lode_datetime;

int lode_parse_datetime(const char *fmt, const char *p, size_t n, lode_datetime *dt);

/* Valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF)? */
int lode_utf8_valid(const char *p, size_t n);

/* ---- streaming decompression ---------------------------------------------- */

typedef enum {
    LODE_Z_NONE = 0, LODE_Z_GZIP, LODE_Z_BZIP2, LODE_Z_ZSTD,
    LODE_Z_AUTO                /* by magic bytes: gzip 1F 8B, bzip2 "BZh", zstd 28 B5 2F FD */
} lode_zkind;

/* Receives decompressed bytes; return 0 to go on, non-zero to stop. */
typedef int (*lode_unzip_out_fn)(void *ud, const char *data, size_t len);

typedef struct lode_unzip lode_unzip;

lode_unzip *lode_unzip_new(lode_zkind kind);
/* Push compressed bytes; out is called with the decompressed pieces (at most
 * 64 KiB each). Returns 0, out's non-zero value, or -1 (lode_unzip_error). */
int lode_unzip_feed(lode_unzip *z, const void *data, size_t len, lode_unzip_out_fn out, void *ud);
/* End of input: -1 when the compressed stream was cut short. */
int lode_unzip_finish(lode_unzip *z, lode_unzip_out_fn out, void *ud);
const char *lode_unzip_error(const lode_unzip *z);
/* The kind in use (after AUTO detection: what the magic bytes said). */
lode_zkind lode_unzip_kind(const lode_unzip *z);
void lode_unzip_free(lode_unzip *z);

/* ---- JSON objects (runtime/load/json.c) ---------------------------------------------
 *
 * Newline-delimited or concatenated JSON objects, one record per object; each
 * target column's field is found by key (Redshift's 'auto': the key equals
 * the column name; 'auto ignorecase': equal ignoring case) or by a JSONPath
 * ($.a, $['a'], $.a.b, $.a[0]; one per column). A string field is unescaped
 * (quoted = 1); numbers and booleans are their text; objects and arrays are
 * their JSON text; null or a missing key is NULL. Memory: one object
 * (max_record bytes). */

typedef struct {
    size_t ncols;
    const char *const *names;        /* column names (copied) */
    int ignorecase;
    int dots_in_keys;                /* a '.' in a key matches '_' in a name ("a.b" is column a_b) */
    const char *const *jsonpaths;    /* NULL for 'auto'; else n_jsonpaths expressions (copied) */
    size_t n_jsonpaths;
    size_t max_record;               /* 0: 4 MiB */
} lode_jsonload_opts;

typedef struct {
    int64_t line;                    /* line where the object starts */
    size_t nfields;                  /* = ncols */
    const lode_field *fields;
    const int *isnull;
    const char *raw;                 /* the object's first bytes */
    size_t raw_len;
} lode_json_record;

typedef int (*lode_json_record_fn)(void *ud, const lode_json_record *rec);
typedef struct lode_jsonload lode_jsonload;

/* NULL with err filled on a bad JSONPath or a count that differs from ncols. */
lode_jsonload *lode_jsonload_new(const lode_jsonload_opts *o, lode_json_record_fn fn, void *ud,
                                 char *err, size_t errlen);
/* 0, the callback's non-zero value, or -1 on invalid JSON (lode_jsonload_error). */
int lode_jsonload_feed(lode_jsonload *j, const void *data, size_t len);
int lode_jsonload_finish(lode_jsonload *j);
const char *lode_jsonload_error(const lode_jsonload *j);
int64_t lode_jsonload_error_line(const lode_jsonload *j);
void lode_jsonload_free(lode_jsonload *j);

/* ---- Parquet into one binary COPY (runtime/load/pqcopy.c) ------------------------
 *
 *   lode_pqcopy *p = lode_pqcopy_start(conn, "COPY t (a, b) FROM STDIN (FORMAT binary)",
 *                                      &opts, on_done, ud, err, sizeof err);
 *   ... on_done(ud, p): lode_pqcopy_failed(p)? lode_pqcopy_error(p) : lode_pqcopy_rows(p)
 *   lode_pqcopy_free(p);
 *
 * Every file (s3:// URL through the shared S3 client, or a local path) is
 * read with the Parquet reader in binary COPY format, its columns mapped by
 * position onto the target columns (counts must match, as on Redshift), each
 * value converted when the file's type differs from the column's (int4 into
 * int8, date into timestamp, ...; a type the column cannot take fails naming
 * file, row group and column), and streamed into one COPY with the sink's
 * back-pressure. Fetching overlaps the server's work: up to `prefetch` files
 * have their footers read ahead, and the column chunks of the next `ahead`
 * row groups in load order (the current file's, then the next files') are
 * fetched while the current one renders. Objects that are
 * gzip/bzip2/zstd-compressed Parquet files are inflated into an unlinked
 * temporary file first. Memory: the compressed chunks of 1 + `ahead` row
 * groups, one decompressed page per column and one 256 KiB render buffer. */

typedef struct lode_pqcopy lode_pqcopy;
struct lode_pg_conn;

/* Loads allocate and free megabyte buffers all the time (row groups, S3
 * ranges, COPY batches). glibc returns big freed blocks to the system
 * (munmap, heap trim), so each comes back one page fault per 4 KiB — in a VM
 * a third of a load's CPU. This keeps freed memory for reuse instead: blocks
 * up to 32 MiB come from the heap and up to 64 MiB of free heap is kept.
 * Process-wide, idempotent; peak RSS is unchanged. Called by every loader. */
void lode_load_keep_freed_memory(void);

/* Counters a load updates as it goes, read by whoever draws progress.
 * Reference-counted: the load holds one reference while it runs. */
typedef struct {
    int refs;
    int64_t files;             /* files finished */
    int64_t rows;              /* rows sent to the COPY */
    int64_t bytes;             /* bytes read from the sources */
} lode_load_progress;

lode_load_progress *lode_load_progress_new(void);   /* refs = 1 */
void lode_load_progress_ref(lode_load_progress *g);
void lode_load_progress_unref(lode_load_progress *g);

typedef struct {
    const char *name;          /* target column name (for messages) */
    const char *type;          /* pg_type.typname: int4, varchar, timestamptz, ... */
} lode_pqcopy_column;

typedef struct {
    const char *const *files;  /* s3:// URLs or local paths, loaded in this order */
    const char *const *etags;  /* NULL, or per file the ETag listed (NULL/""): every read is of that
                                  version, a changed object fails the load with "ObjectChanged" */
    size_t n_files;
    const lode_pqcopy_column *columns;
    size_t n_columns;
    int prefetch;              /* files open at once: footers read ahead (default 3) */
    int ahead;                 /* row groups fetched ahead of the one rendering (default 2) */
    lode_load_progress *progress;   /* optional: counters to update (a reference is taken) */
    const char *tmpdir;        /* for inflated compressed objects (default $TMPDIR or /tmp) */
} lode_pqcopy_opts;

typedef void (*lode_pqcopy_cb)(void *ud, lode_pqcopy *p);

/* Start the load; done runs once on the loop when the COPY has ended (or
 * failed) and no read is in flight. NULL with err filled when the COPY
 * cannot start (done is then not called). */
lode_pqcopy *lode_pqcopy_start(struct lode_pg_conn *c, const char *sql, const lode_pqcopy_opts *o,
                               lode_pqcopy_cb done, void *ud, char *err, size_t errlen);
/* Stop: the COPY is aborted, done follows. */
void lode_pqcopy_cancel(lode_pqcopy *p);
int lode_pqcopy_failed(const lode_pqcopy *p);
/* "file: row group g, row r, column c 'name': reason", or the server's message. */
const char *lode_pqcopy_error(const lode_pqcopy *p);
/* A short code: "bad_input" (file), "schema" (count/type), "load_failed" (server), "s3", "ObjectChanged"
 * (an object differs from the version listed: retryable from the listing), "cancelled". */
const char *lode_pqcopy_error_code(const lode_pqcopy *p);
/* The file at fault, or NULL. */
const char *lode_pqcopy_error_file(const lode_pqcopy *p);
int lode_pqcopy_retryable(const lode_pqcopy *p);
/* When the server failed the COPY ("load_failed"): its SQLSTATE (or NULL),
 * the COPY input line it blamed (0: none), that row of the file at fault
 * (1-based; 0: unknown) and its row group, and the column it named (or NULL). */
const char *lode_pqcopy_sqlstate(const lode_pqcopy *p);
int64_t lode_pqcopy_copy_line(const lode_pqcopy *p);
int64_t lode_pqcopy_error_row(const lode_pqcopy *p, int *row_group);
const char *lode_pqcopy_error_column(const lode_pqcopy *p);
/* Rows the server loaded, and rows read from file i. */
int64_t lode_pqcopy_rows(const lode_pqcopy *p);
int64_t lode_pqcopy_file_rows(const lode_pqcopy *p, size_t i);
size_t lode_pqcopy_nfiles(const lode_pqcopy *p);
/* Reads served from row groups fetched ahead, reads passed to the source
 * (footers, and chunks the reader reached first), and the most row groups
 * held ahead at once (never more than `ahead`). */
void lode_pqcopy_read_stats(const lode_pqcopy *p, int64_t *ahead, int64_t *direct, int *peak_groups);
void lode_pqcopy_free(lode_pqcopy *p);

#endif

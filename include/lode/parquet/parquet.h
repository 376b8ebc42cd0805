/* lode/parquet/parquet.h — the Parquet footer (FileMetaData) model and the page
 * header structs, decoded from Thrift compact bytes (lode/thrift.h).
 *
 * Footer:
 *   lode_pq_meta *m;
 *   char err[512];
 *   if (lode_pq_meta_parse(footer, footer_len, &m, err, sizeof err) < 0) ...
 *   ... m->schema[i], m->leaves[j], m->row_groups[k].columns[j] ...
 *   lode_pq_meta_free(m);
 *
 * Strings and binary values (lode_pq_bytes) point into the footer bytes,
 * which the model owns (a private copy) and frees with it; arrays live in
 * one arena freed by lode_pq_meta_free.
 *
 * Page headers (used by the data reader):
 *   lode_pq_page_header h;
 *   size_t used;
 *   int rc = lode_pq_page_header_parse(buf, len, &h, &used, err, sizeof err);
 *   // rc 0: h filled, `used` header bytes; rc LODE_PQ_NEED_MORE: the header
 *   // runs past len (read more and retry); rc -1: corrupt, err says why.
 * Statistics in a page header point into `buf`.
 */
#ifndef LODE_PARQUET_H
#define LODE_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#include "lode/core/source.h"

#define LODE_PQ_NEED_MORE (-2)
/* Returned by the footer functions for encrypted files. */
#define LODE_PQ_ENCRYPTED (-3)
/* Kinds of footer read failure. */
enum { LODE_PQ_ERR_IO = 1, LODE_PQ_ERR_CORRUPT, LODE_PQ_ERR_ENCRYPTED };
/* Deepest schema tree accepted (groups within groups). */
#define LODE_PQ_MAX_SCHEMA_DEPTH 128

/* Physical types */
enum { LODE_PQ_BOOLEAN, LODE_PQ_INT32, LODE_PQ_INT64, LODE_PQ_INT96, LODE_PQ_FLOAT,
       LODE_PQ_DOUBLE, LODE_PQ_BYTE_ARRAY, LODE_PQ_FIXED_LEN_BYTE_ARRAY };
/* Field repetition */
enum { LODE_PQ_REQUIRED, LODE_PQ_OPTIONAL, LODE_PQ_REPEATED };
/* Converted types (legacy annotations) */
enum { LODE_PQ_CT_UTF8, LODE_PQ_CT_MAP, LODE_PQ_CT_MAP_KEY_VALUE, LODE_PQ_CT_LIST, LODE_PQ_CT_ENUM,
       LODE_PQ_CT_DECIMAL, LODE_PQ_CT_DATE, LODE_PQ_CT_TIME_MILLIS, LODE_PQ_CT_TIME_MICROS,
       LODE_PQ_CT_TIMESTAMP_MILLIS, LODE_PQ_CT_TIMESTAMP_MICROS, LODE_PQ_CT_UINT_8,
       LODE_PQ_CT_UINT_16, LODE_PQ_CT_UINT_32, LODE_PQ_CT_UINT_64, LODE_PQ_CT_INT_8,
       LODE_PQ_CT_INT_16, LODE_PQ_CT_INT_32, LODE_PQ_CT_INT_64, LODE_PQ_CT_JSON, LODE_PQ_CT_BSON,
       LODE_PQ_CT_INTERVAL };
/* Encodings */
enum { LODE_PQ_PLAIN = 0, LODE_PQ_PLAIN_DICTIONARY = 2, LODE_PQ_RLE = 3, LODE_PQ_BIT_PACKED = 4,
       LODE_PQ_DELTA_BINARY_PACKED = 5, LODE_PQ_DELTA_LENGTH_BYTE_ARRAY = 6,
       LODE_PQ_DELTA_BYTE_ARRAY = 7, LODE_PQ_RLE_DICTIONARY = 8, LODE_PQ_BYTE_STREAM_SPLIT = 9 };
/* Compression codecs */
enum { LODE_PQ_UNCOMPRESSED, LODE_PQ_SNAPPY, LODE_PQ_GZIP, LODE_PQ_LZO, LODE_PQ_BROTLI,
       LODE_PQ_LZ4, LODE_PQ_ZSTD, LODE_PQ_LZ4_RAW };
/* Page types */
enum { LODE_PQ_DATA_PAGE, LODE_PQ_INDEX_PAGE, LODE_PQ_DICTIONARY_PAGE, LODE_PQ_DATA_PAGE_V2 };
/* Logical type union members (the Thrift field ids); 0 = none */
enum { LODE_PQ_LT_NONE = 0, LODE_PQ_LT_STRING = 1, LODE_PQ_LT_MAP = 2, LODE_PQ_LT_LIST = 3,
       LODE_PQ_LT_ENUM = 4, LODE_PQ_LT_DECIMAL = 5, LODE_PQ_LT_DATE = 6, LODE_PQ_LT_TIME = 7,
       LODE_PQ_LT_TIMESTAMP = 8, LODE_PQ_LT_INTEGER = 10, LODE_PQ_LT_UNKNOWN = 11,
       LODE_PQ_LT_JSON = 12, LODE_PQ_LT_BSON = 13, LODE_PQ_LT_UUID = 14, LODE_PQ_LT_FLOAT16 = 15,
       LODE_PQ_LT_VARIANT = 16, LODE_PQ_LT_GEOMETRY = 17, LODE_PQ_LT_GEOGRAPHY = 18,
       LODE_PQ_LT_FILE = 19 };
/* Time units */
enum { LODE_PQ_MILLIS = 1, LODE_PQ_MICROS = 2, LODE_PQ_NANOS = 3 };
/* Column orders */
enum { LODE_PQ_ORDER_UNDEFINED = 0, LODE_PQ_ORDER_TYPE = 1, LODE_PQ_ORDER_IEEE_754_TOTAL = 2,
       LODE_PQ_ORDER_INT96_TIMESTAMP = 3 };

typedef struct {
    const uint8_t *ptr;
    uint32_t len;
} lode_pq_bytes;

typedef struct {
    int type;                  /* LODE_PQ_LT_*, or the unknown member's id (kept, opaque) */
    int32_t scale, precision;  /* DECIMAL */
    int is_adjusted_to_utc;    /* TIME, TIMESTAMP */
    int unit;                  /* TIME, TIMESTAMP: LODE_PQ_MILLIS/MICROS/NANOS */
    int bit_width, is_signed;  /* INTEGER */
    lode_pq_bytes crs;         /* GEOMETRY/GEOGRAPHY */
} lode_pq_logical_type;

typedef struct {
    lode_pq_bytes max, min;              /* deprecated pair (signed order) */
    lode_pq_bytes max_value, min_value;  /* column_orders pair */
    int64_t null_count, distinct_count, nan_count;
    unsigned has_max : 1, has_min : 1, has_max_value : 1, has_min_value : 1;
    unsigned has_null_count : 1, has_distinct_count : 1, has_nan_count : 1;
    unsigned has_is_max_value_exact : 1, has_is_min_value_exact : 1;
    unsigned is_max_value_exact : 1, is_min_value_exact : 1;
} lode_pq_statistics;

typedef struct {
    lode_pq_bytes key, value;
    int has_value;
} lode_pq_kv;

typedef struct lode_pq_schema_element {
    lode_pq_bytes name;
    int type;                  /* physical type, -1 for a group */
    int32_t type_length;       /* FIXED_LEN_BYTE_ARRAY width, -1 when absent */
    int repetition;            /* -1 when absent (the root) */
    int32_t num_children;      /* 0 on a leaf */
    int converted_type;        /* -1 when absent */
    int32_t scale, precision;  /* legacy DECIMAL; -1 when absent */
    int32_t field_id;
    int has_field_id;
    lode_pq_logical_type logical;
    /* derived while building the tree */
    int32_t parent;            /* index in m->schema, -1 for the root */
    int32_t first_child;       /* index of the first child, -1 for a leaf */
    int32_t next_sibling;      /* index of the next child of the same parent, -1 */
    int32_t leaf_index;        /* index in m->leaves for a leaf, else -1 */
    int16_t max_def, max_rep;  /* definition/repetition levels of this node */
} lode_pq_schema_element;

typedef struct {
    int page_type, encoding;
    int32_t count;
} lode_pq_page_encoding_stats;

typedef struct {
    int type;
    int *encodings;            /* Encoding values (unknown positive values kept) */
    uint32_t n_encodings;
    lode_pq_bytes *path;       /* path_in_schema */
    uint32_t n_path;
    int codec;
    int64_t num_values, total_uncompressed_size, total_compressed_size;
    lode_pq_kv *key_value;
    uint32_t n_key_value;
    int64_t data_page_offset, index_page_offset, dictionary_page_offset;
    int has_index_page_offset, has_dictionary_page_offset;
    int has_statistics;
    lode_pq_statistics statistics;
    lode_pq_page_encoding_stats *encoding_stats;
    uint32_t n_encoding_stats;
    int has_encoding_stats;
    int64_t bloom_filter_offset;
    int32_t bloom_filter_length;
    int has_bloom_filter_offset, has_bloom_filter_length;
} lode_pq_column_meta;

typedef struct {
    lode_pq_bytes file_path;
    int has_file_path;
    int64_t file_offset;
    lode_pq_column_meta *meta;            /* NULL when absent (encrypted column) */
    int64_t offset_index_offset, column_index_offset;
    int32_t offset_index_length, column_index_length;
    int has_offset_index, has_column_index;
    int encrypted;                        /* crypto metadata or encrypted metadata present */
} lode_pq_column_chunk;

typedef struct {
    int32_t column_idx;
    int descending, nulls_first;
} lode_pq_sorting_column;

typedef struct {
    lode_pq_column_chunk *columns;
    uint32_t n_columns;
    int64_t total_byte_size, num_rows;
    lode_pq_sorting_column *sorting_columns;
    uint32_t n_sorting_columns;
    int has_sorting_columns;
    int64_t file_offset, total_compressed_size;
    int has_file_offset, has_total_compressed_size;
    int16_t ordinal;
    int has_ordinal;
} lode_pq_row_group;

typedef struct lode_pq_meta {
    int32_t version;
    int64_t num_rows;                     /* as written (may be 0 with rows present) */
    lode_pq_schema_element *schema;       /* depth-first, schema[0] is the root */
    uint32_t n_schema;
    int32_t *leaves;                      /* schema indexes of the leaf columns, in order */
    uint32_t n_leaves;
    lode_pq_row_group *row_groups;
    uint32_t n_row_groups;
    lode_pq_kv *key_value;
    uint32_t n_key_value;
    lode_pq_bytes created_by;
    int has_created_by;
    int *column_orders;                   /* LODE_PQ_ORDER_*, n_column_orders of them */
    uint32_t n_column_orders;
    int has_column_orders;
    int encrypted;                        /* encryption_algorithm present (plaintext footer) */
    /* private */
    uint8_t *footer;
    size_t footer_len;
    struct lode_pq_arena *arena;
} lode_pq_meta;

/* Parse a serialized FileMetaData (the `footer_len` bytes before the last 8).
 * Copies the bytes; 0 with *out set, or -1 with a message in err;
 * LODE_PQ_ENCRYPTED for a plaintext footer of an encrypted file. */
int lode_pq_meta_parse(const void *footer, size_t footer_len, lode_pq_meta **out,
                       char *err, size_t errlen);
void lode_pq_meta_free(lode_pq_meta *m);

/* Check the last 8 bytes of a file of `file_size` bytes ("len(4 LE) PAR1")
 * and return the footer length in *footer_len. 0, or -1 with err (PARE =
 * encrypted footer gives LODE_PQ_ENCRYPTED; wrong magic, length ≤ 0 or
 * beyond the file give -1). */
int lode_pq_footer_tail(const uint8_t tail[8], uint64_t file_size, uint32_t *footer_len,
                        char *err, size_t errlen);

/* Sum of RowGroup.num_rows (the trustworthy row count). */
int64_t lode_pq_meta_rows(const lode_pq_meta *m);
/* Dotted path of leaf j ("a.b.c") written into buf; returns buf. */
char *lode_pq_leaf_path(const lode_pq_meta *m, uint32_t leaf, char *buf, size_t buflen);

/* Enum names, "UNKNOWN" outside the known range. */
const char *lode_pq_type_name(int type);
const char *lode_pq_repetition_name(int rep);
const char *lode_pq_converted_name(int ct);
const char *lode_pq_encoding_name(int enc);
const char *lode_pq_codec_name(int codec);
const char *lode_pq_page_type_name(int pt);
const char *lode_pq_logical_name(int lt);
const char *lode_pq_unit_name(int unit);

/* ---- statistics as values ---- */

typedef enum {
    LODE_PQ_V_NONE,     /* no trustworthy value */
    LODE_PQ_V_BOOL,
    LODE_PQ_V_INT,      /* i */
    LODE_PQ_V_DOUBLE,   /* d */
    LODE_PQ_V_BYTES,    /* bytes: strings, binary */
    LODE_PQ_V_TEXT      /* text: decimals, dates, times, timestamps, UUIDs, big unsigned */
} lode_pq_value_kind;

typedef struct {
    lode_pq_value_kind kind;
    int b;
    int64_t i;
    double d;
    lode_pq_bytes bytes;
    char text[64];
} lode_pq_value;

/* Decode one plain-encoded value of leaf `el` (a min or max) into *v by its
 * logical type: integers, floats (FLOAT16 widened), decimals as exact text,
 * DATE as YYYY-MM-DD, TIME/TIMESTAMP as ISO-8601 (Z when UTC-adjusted).
 * Returns 0, or -1 when the bytes do not fit the type (v->kind NONE). */
int lode_pq_value_decode(const lode_pq_schema_element *el, lode_pq_bytes raw, lode_pq_value *v);

/* The trustworthy min/max of a column chunk's statistics, applying the sort
 * order rules (deprecated min/max only for signed-order types; min_value/
 * max_value need a TYPE_ORDER column order or a signed-order type; NaN and
 * INT96 stats ignored). Kinds are NONE where nothing can be trusted. */
void lode_pq_stats_minmax(const lode_pq_meta *m, uint32_t leaf, const lode_pq_statistics *s,
                          lode_pq_value *min, lode_pq_value *max);

/* ---- page headers ---- */

typedef struct {
    int32_t num_values;
    int encoding, definition_level_encoding, repetition_level_encoding;
    int has_statistics;
    lode_pq_statistics statistics;
} lode_pq_data_page_header;

typedef struct {
    int32_t num_values, num_nulls, num_rows;
    int encoding;
    int32_t definition_levels_byte_length, repetition_levels_byte_length;
    int is_compressed;          /* defaults to 1 */
    int has_statistics;
    lode_pq_statistics statistics;
} lode_pq_data_page_header_v2;

typedef struct {
    int32_t num_values;
    int encoding;
    int is_sorted, has_is_sorted;
} lode_pq_dictionary_page_header;

typedef struct {
    int type;                   /* LODE_PQ_DATA_PAGE ... */
    int32_t uncompressed_page_size, compressed_page_size;
    int32_t crc;
    int has_crc;
    int has_data_page_header, has_index_page_header, has_dictionary_page_header,
        has_data_page_header_v2;
    lode_pq_data_page_header data_page_header;
    lode_pq_dictionary_page_header dictionary_page_header;
    lode_pq_data_page_header_v2 data_page_header_v2;
} lode_pq_page_header;

/* Parse one PageHeader at the start of buf[0..len). Returns 0 with *h and
 * *used (bytes of the header) set; LODE_PQ_NEED_MORE when the header does
 * not end within len; -1 with err on corrupt input (negative sizes, unknown
 * page type, required field missing, the header struct for `type` absent). */
int lode_pq_page_header_parse(const void *buf, size_t len, lode_pq_page_header *h, size_t *used,
                              char *err, size_t errlen);

/* ---- reading a footer through a lode_source ---- */

#define LODE_PQ_SPECULATIVE_DEFAULT (64 * 1024)
#define LODE_PQ_MAX_FOOTER (256u * 1024 * 1024)

typedef struct lode_pq_footer_read lode_pq_footer_read;
/* Completion: m (owned by the callee from now on) or err; exactly once. */
typedef void (*lode_pq_footer_cb)(lode_pq_footer_read *r, lode_pq_meta *m, const char *err);

/* Caller-allocated state of one footer read (embed it in your op). */
struct lode_pq_footer_read {
    lode_source *src;
    size_t speculative;         /* bytes read from the end first */
    lode_pq_footer_cb cb;
    void *ud;                   /* for the caller */
    /* private */
    uint8_t *buf;
    size_t buflen;
    uint32_t footer_len;
    int err_kind;               /* LODE_PQ_ERR_* when cb got an error */
    char err[512];
};

/* Read the last min(speculative, size) bytes of src, check the magics and
 * footer length against src->size, read the rest of the footer in a second
 * request only when it is larger, parse, call cb. The callback may run before
 * this returns (tiny or invalid files). The source must stay open until cb. */
void lode_pq_footer_read_start(lode_pq_footer_read *r, lode_source *src, size_t speculative,
                               lode_pq_footer_cb cb, void *ud);

#endif

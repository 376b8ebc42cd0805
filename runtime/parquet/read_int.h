/* parquet/read_int.h — the reader's private state, shared with the fuzz
 * target and unit tests (runtime/ only). */
#ifndef LODE_PARQUET_READ_INT_H
#define LODE_PARQUET_READ_INT_H

#include "lode/parquet/parquet.h"
#include "lode/parquet/read.h"
#include "enc.h"
#include "value.h"

/* One leaf column's cursor over its chunk in the current row group. */
typedef struct pq_col {
    struct lode_pqr *owner;
    int leaf;                 /* index in meta->leaves */
    char *path;               /* dotted path, for messages */
    int max_def, max_rep, ptype, codec;
    pq_vtype vt;
    /* the compressed chunk */
    uint8_t *chunk;
    size_t chunk_cap;          /* kept across row groups: no page faults per row group */
    size_t chunk_len, pos;
    uint64_t chunk_offset;    /* file offset of chunk[0] */
    int64_t values_total, values_read;
    int page_no;              /* 0-based index of the current page in the chunk */
    uint64_t page_offset;
    int done;
    /* decompressed pages */
    uint8_t *page, *dict_page;
    size_t page_cap, dict_page_cap;
    /* dictionary */
    int have_dict;
    size_t dict_n;
    uint8_t *dict_fixed;
    pq_bytes *dict_bytes;
    size_t dict_fixed_cap, dict_bytes_cap;
    /* the current data page: levels and values */
    uint32_t *def, *rep, *idx;
    size_t def_cap, rep_cap, idx_cap;
    size_t page_n, page_pos;  /* level entries */
    uint8_t *fixed;           /* val_n * width bytes */
    pq_bytes *bytes;
    size_t fixed_cap, bytes_cap;
    size_t val_n, val_pos;    /* non-null values */
    pq_buf arena;             /* DELTA_BYTE_ARRAY values */
} pq_col;

/* One output column: a top-level field and its leaves. */
typedef struct {
    char *name;
    char pg_type[48];
    int schema;               /* index in meta->schema */
    int first_leaf, n_cols;   /* leaves (contiguous) */
    int first_col;            /* index of its first pq_col */
    int flat;                 /* a primitive, not repeated */
} pq_outcol;

struct lode_pqr {
    lode_source *src;
    lode_pqr_options opts;
    pq_text_opts topts;
    pq_format fmt;
    int check_crc;
    lode_pq_meta *meta;
    pq_outcol *out;
    size_t n_out;
    pq_col *cols;
    size_t n_cols;
    /* the current row group */
    int rg;
    int64_t rg_rows, rg_row;
    int rg_finished;
    int64_t row;              /* rows rendered in the file so far */
    int header_done;
    /* scratch */
    pq_buf scratch, scratch2, cells;
    size_t *cell_off;
    int64_t *cell_len;
    int *cell_kind;
    /* async */
    lode_pqr_cb cb;
    void *cb_ud;
    int pending;
    uint8_t *tail;
    size_t tail_len;
    int failed;
    char err[768];
};

int next_sibling(const lode_pq_meta *m, int s);
int pqr_finish_row_group(lode_pqr *r);
int pqr_parse_footer(lode_pqr *r, const uint8_t *buf, size_t len, uint64_t file_size);
int pqr_begin_row_group(lode_pqr *r, int g);
int pqr_chunk_range(lode_pqr *r, pq_col *c, const lode_pq_row_group *rg, uint64_t *off, uint64_t *len);

#endif

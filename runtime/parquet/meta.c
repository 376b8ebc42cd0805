/* parquet/meta.c — decode a Parquet footer (FileMetaData) and page headers
 * from Thrift compact bytes into the model of lode/parquet/parquet.h.
 * Owns: the model's copy of the footer bytes and an arena holding every
 * array; both are freed by lode_pq_meta_free. Hostile bytes are expected:
 * every count is checked against the bytes left, the arena has a budget,
 * enums are range-checked and required fields must be present. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/parquet/parquet.h"
#include "lode/parquet/thrift.h"

#include <uv.h>

/* ---- arena ---- */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} arena_block;

struct lode_pq_arena {
    arena_block *head;
    size_t total, budget;
};

static void *arena_alloc(struct lode_pq_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0) size = 16;
    if (a->total + size > a->budget) return NULL;
    arena_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > 32768 ? size : 32768;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->total += size;
    memset(p, 0, size);
    return p;
}

static void arena_free(struct lode_pq_arena *a)
{
    if (!a) return;
    arena_block *b = a->head;
    while (b) {
        arena_block *n = b->next;
        free(b);
        b = n;
    }
    free(a);
}

/* ---- parse state ---- */

typedef struct {
    lode_thrift t;
    struct lode_pq_arena *arena;
} parser;

static void *palloc(parser *P, size_t n, size_t size)
{
    if (n == 0) return NULL;
    if (n > SIZE_MAX / size) {
        lode_thrift_fail(&P->t, "list too large");
        return NULL;
    }
    void *p = arena_alloc(P->arena, n * size);
    if (!p) lode_thrift_fail(&P->t, "footer model exceeds its memory budget of %zu bytes",
                             P->arena->budget);
    return p;
}

/* Does the field's wire type hold the Thrift type `want`? Integers of any
 * width and sets for lists are accepted; everything else must match. */
static int field_is(const lode_thrift_field *f, uint8_t want)
{
    switch (want) {
    case LODE_TT_I8: case LODE_TT_I16: case LODE_TT_I32: case LODE_TT_I64:
        return f->type >= LODE_TT_I8 && f->type <= LODE_TT_I64;
    case LODE_TT_TRUE:
        return f->type == LODE_TT_TRUE || f->type == LODE_TT_FALSE;
    case LODE_TT_LIST:
        return f->type == LODE_TT_LIST || f->type == LODE_TT_SET;
    default:
        return f->type == want;
    }
}

static int read_enum(lode_thrift *t, uint8_t type, int lo, int hi, const char *what, int *out)
{
    int32_t v;
    if (lode_thrift_read_i32(t, type, &v) < 0) return -1;
    if (v < lo || v > hi) return lode_thrift_fail(t, "invalid %s %d", what, v);
    *out = v;
    return 0;
}

static int read_nonneg64(lode_thrift *t, uint8_t type, const char *what, int64_t *out)
{
    if (lode_thrift_read_i64(t, type, out) < 0) return -1;
    if (*out < 0) return lode_thrift_fail(t, "negative %s %lld", what, (long long)*out);
    return 0;
}

static int read_nonneg32(lode_thrift *t, uint8_t type, const char *what, int32_t *out)
{
    if (lode_thrift_read_i32(t, type, out) < 0) return -1;
    if (*out < 0) return lode_thrift_fail(t, "negative %s %d", what, *out);
    return 0;
}

static int read_bytes(lode_thrift *t, uint8_t type, lode_pq_bytes *b)
{
    return lode_thrift_read_binary(t, type, &b->ptr, &b->len);
}

/* Fail naming the first required field (bit i of `need`, names[i]) absent
 * from `seen`. */
static int check_required(lode_thrift *t, const char *strct, unsigned seen, unsigned need,
                          const char *const *names)
{
    for (unsigned i = 0; i < 32; i++)
        if ((need & (1u << i)) && !(seen & (1u << i)))
            return lode_thrift_fail(t, "%s is missing required field %s", strct, names[i]);
    return 0;
}

/* Walk a struct: begin, then `body` per field with f set, then end. The body
 * sets `seen` bits and `break`s; unknown fields or wrong types are skipped. */
#define STRUCT_FIELDS(t, f, ...)                                   \
    do {                                                            \
        if (lode_thrift_struct_begin((t), NULL) < 0) return -1;     \
        int r_;                                                     \
        while ((r_ = lode_thrift_next_field((t), &(f))) > 0) {      \
            __VA_ARGS__                                             \
            if ((t)->failed) return -1;                             \
        }                                                           \
        lode_thrift_struct_end(t);                                  \
        if (r_ < 0) return -1;                                      \
    } while (0)

#define SKIP_FIELD(t, f) lode_thrift_skip((t), (f).type)

/* A list of structs of `elsize` bytes, each decoded by fn, allocated in the
 * arena. */
typedef int (*elem_fn)(parser *P, void *el);

static int read_struct_list(parser *P, uint8_t type, const char *name, size_t elsize,
                            elem_fn fn, void **out, uint32_t *count)
{
    uint8_t et;
    uint32_t n;
    if (lode_thrift_list_begin(&P->t, type, &et, &n) < 0) return -1;
    if (n && et != LODE_TT_STRUCT) return lode_thrift_fail(&P->t, "%s: list of wire type %u, not structs", name, et);
    char *arr = palloc(P, n, elsize);
    if (n && !arr) return -1;
    for (uint32_t i = 0; i < n; i++) {
        lode_thrift_ctx_push(&P->t, name, i);
        int rc = fn(P, arr + (size_t)i * elsize);
        lode_thrift_ctx_pop(&P->t);
        if (rc < 0) return -1;
    }
    *out = arr;
    *count = n;
    return 0;
}

/* ---- structs ---- */

static int parse_statistics(lode_thrift *t, lode_pq_statistics *s)
{
    lode_thrift_field f;
    STRUCT_FIELDS(t, f, {
        switch (f.id) {
        case 1: if (!field_is(&f, LODE_TT_BINARY)) goto skip; read_bytes(t, f.type, &s->max); s->has_max = 1; break;
        case 2: if (!field_is(&f, LODE_TT_BINARY)) goto skip; read_bytes(t, f.type, &s->min); s->has_min = 1; break;
        case 3: if (!field_is(&f, LODE_TT_I64)) goto skip;
            read_nonneg64(t, f.type, "null_count", &s->null_count); s->has_null_count = 1; break;
        case 4: if (!field_is(&f, LODE_TT_I64)) goto skip;
            read_nonneg64(t, f.type, "distinct_count", &s->distinct_count); s->has_distinct_count = 1; break;
        case 5: if (!field_is(&f, LODE_TT_BINARY)) goto skip; read_bytes(t, f.type, &s->max_value); s->has_max_value = 1; break;
        case 6: if (!field_is(&f, LODE_TT_BINARY)) goto skip; read_bytes(t, f.type, &s->min_value); s->has_min_value = 1; break;
        case 7: {
            if (!field_is(&f, LODE_TT_TRUE)) goto skip;
            int b; lode_thrift_field_bool(t, &f, &b);
            s->is_max_value_exact = (unsigned)b; s->has_is_max_value_exact = 1; break;
        }
        case 8: {
            if (!field_is(&f, LODE_TT_TRUE)) goto skip;
            int b; lode_thrift_field_bool(t, &f, &b);
            s->is_min_value_exact = (unsigned)b; s->has_is_min_value_exact = 1; break;
        }
        case 9: if (!field_is(&f, LODE_TT_I64)) goto skip;
            read_nonneg64(t, f.type, "nan_count", &s->nan_count); s->has_nan_count = 1; break;
        default:
        skip:
            SKIP_FIELD(t, f);
        }
    });
    return 0;
}

/* A Statistics struct nested in another (column chunk, data page headers). */
static int parse_nested_statistics(lode_thrift *t, lode_pq_statistics *st, int *has)
{
    lode_thrift_ctx_push(t, "statistics", -1);
    if (parse_statistics(t, st) < 0) return -1;
    lode_thrift_ctx_pop(t);
    *has = 1;
    return 0;
}

static int parse_time_unit(lode_thrift *t, int *unit)
{
    lode_thrift_field f;
    *unit = 0;
    STRUCT_FIELDS(t, f, {
        if (f.id >= 1 && f.id <= 3 && f.type == LODE_TT_STRUCT) *unit = f.id;
        SKIP_FIELD(t, f);
    });
    if (!*unit) return lode_thrift_fail(t, "TimeUnit has no known member");
    return 0;
}

static int parse_logical_type(lode_thrift *t, lode_pq_logical_type *lt)
{
    lode_thrift_field f;
    lt->type = LODE_PQ_LT_NONE;
    STRUCT_FIELDS(t, f, {
        if (f.type != LODE_TT_STRUCT || f.id <= 0) {
            SKIP_FIELD(t, f);
            continue;
        }
        lt->type = f.id;
        lode_thrift_field g;
        unsigned seen = 0;
        switch (f.id) {
        case LODE_PQ_LT_DECIMAL: {
            static const char *const names[] = { "scale", "precision" };
            lode_thrift_ctx_push(t, "DECIMAL", -1);
            STRUCT_FIELDS(t, g, {
                if (g.id == 1 && field_is(&g, LODE_TT_I32)) { lode_thrift_read_i32(t, g.type, &lt->scale); seen |= 1; }
                else if (g.id == 2 && field_is(&g, LODE_TT_I32)) { lode_thrift_read_i32(t, g.type, &lt->precision); seen |= 2; }
                else SKIP_FIELD(t, g);
            });
            if (check_required(t, "DecimalType", seen, 3, names) < 0) return -1;
            if (lt->precision <= 0 || lt->scale < 0 || lt->scale > lt->precision)
                return lode_thrift_fail(t, "invalid DECIMAL(%d, %d)", lt->precision, lt->scale);
            lode_thrift_ctx_pop(t);
            break;
        }
        case LODE_PQ_LT_TIME:
        case LODE_PQ_LT_TIMESTAMP: {
            static const char *const names[] = { "isAdjustedToUTC", "unit" };
            lode_thrift_ctx_push(t, f.id == LODE_PQ_LT_TIME ? "TIME" : "TIMESTAMP", -1);
            STRUCT_FIELDS(t, g, {
                if (g.id == 1 && field_is(&g, LODE_TT_TRUE)) { lode_thrift_field_bool(t, &g, &lt->is_adjusted_to_utc); seen |= 1; }
                else if (g.id == 2 && g.type == LODE_TT_STRUCT) { if (parse_time_unit(t, &lt->unit) < 0) return -1; seen |= 2; }
                else SKIP_FIELD(t, g);
            });
            if (check_required(t, f.id == LODE_PQ_LT_TIME ? "TimeType" : "TimestampType", seen, 3, names) < 0)
                return -1;
            lode_thrift_ctx_pop(t);
            break;
        }
        case LODE_PQ_LT_INTEGER: {
            static const char *const names[] = { "bitWidth", "isSigned" };
            lode_thrift_ctx_push(t, "INTEGER", -1);
            STRUCT_FIELDS(t, g, {
                if (g.id == 1 && field_is(&g, LODE_TT_I8)) {
                    int8_t w; lode_thrift_read_i8(t, g.type, &w); lt->bit_width = w; seen |= 1;
                } else if (g.id == 2 && field_is(&g, LODE_TT_TRUE)) { lode_thrift_field_bool(t, &g, &lt->is_signed); seen |= 2; }
                else SKIP_FIELD(t, g);
            });
            if (check_required(t, "IntType", seen, 3, names) < 0) return -1;
            if (lt->bit_width != 8 && lt->bit_width != 16 && lt->bit_width != 32 && lt->bit_width != 64)
                return lode_thrift_fail(t, "invalid INTEGER bitWidth %d", lt->bit_width);
            lode_thrift_ctx_pop(t);
            break;
        }
        case LODE_PQ_LT_GEOMETRY:
        case LODE_PQ_LT_GEOGRAPHY:
            STRUCT_FIELDS(t, g, {
                if (g.id == 1 && field_is(&g, LODE_TT_BINARY)) read_bytes(t, g.type, &lt->crs);
                else SKIP_FIELD(t, g);
            });
            break;
        default:
            /* empty structs (STRING, DATE, ...) and unknown members: opaque */
            SKIP_FIELD(t, f);
        }
    });
    return 0;
}

static int parse_kv_el(parser *P, void *el)
{
    lode_pq_kv *kv = el;
    lode_thrift *t = &P->t;
    lode_thrift_field f;
    unsigned seen = 0;
    static const char *const names[] = { "key" };
    STRUCT_FIELDS(t, f, {
        if (f.id == 1 && field_is(&f, LODE_TT_BINARY)) { read_bytes(t, f.type, &kv->key); seen |= 1; }
        else if (f.id == 2 && field_is(&f, LODE_TT_BINARY)) { read_bytes(t, f.type, &kv->value); kv->has_value = 1; }
        else SKIP_FIELD(t, f);
    });
    return check_required(t, "KeyValue", seen, 1, names);
}

static int parse_schema_el(parser *P, void *el)
{
    lode_pq_schema_element *s = el;
    lode_thrift *t = &P->t;
    lode_thrift_field f;
    unsigned seen = 0;
    static const char *const names[] = { "name" };
    s->type = s->repetition = s->converted_type = -1;
    s->type_length = s->scale = s->precision = -1;
    STRUCT_FIELDS(t, f, {
        switch (f.id) {
        case 1: if (!field_is(&f, LODE_TT_I32)) goto skip; read_enum(t, f.type, 0, 7, "physical type", &s->type); break;
        case 2: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "type_length", &s->type_length); break;
        case 3: if (!field_is(&f, LODE_TT_I32)) goto skip; read_enum(t, f.type, 0, 2, "repetition type", &s->repetition); break;
        case 4: if (!field_is(&f, LODE_TT_BINARY)) goto skip; read_bytes(t, f.type, &s->name); seen |= 1; break;
        case 5: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "num_children", &s->num_children); break;
        case 6: if (!field_is(&f, LODE_TT_I32)) goto skip; read_enum(t, f.type, 0, 21, "converted type", &s->converted_type); break;
        case 7: if (!field_is(&f, LODE_TT_I32)) goto skip; lode_thrift_read_i32(t, f.type, &s->scale); break;
        case 8: if (!field_is(&f, LODE_TT_I32)) goto skip; lode_thrift_read_i32(t, f.type, &s->precision); break;
        case 9: if (!field_is(&f, LODE_TT_I32)) goto skip; lode_thrift_read_i32(t, f.type, &s->field_id); s->has_field_id = 1; break;
        case 10:
            if (f.type != LODE_TT_STRUCT) goto skip;
            lode_thrift_ctx_push(t, "logicalType", -1);
            if (parse_logical_type(t, &s->logical) < 0) return -1;
            lode_thrift_ctx_pop(t);
            break;
        default:
        skip:
            SKIP_FIELD(t, f);
        }
    });
    return check_required(t, "SchemaElement", seen, 1, names);
}

static int parse_page_encoding_stats_el(parser *P, void *el)
{
    lode_pq_page_encoding_stats *e = el;
    lode_thrift *t = &P->t;
    lode_thrift_field f;
    unsigned seen = 0;
    static const char *const names[] = { "page_type", "encoding", "count" };
    STRUCT_FIELDS(t, f, {
        if (f.id == 1 && field_is(&f, LODE_TT_I32)) { read_enum(t, f.type, 0, 3, "page type", &e->page_type); seen |= 1; }
        else if (f.id == 2 && field_is(&f, LODE_TT_I32)) { read_enum(t, f.type, 0, 1000, "encoding", &e->encoding); seen |= 2; }
        else if (f.id == 3 && field_is(&f, LODE_TT_I32)) { read_nonneg32(t, f.type, "count", &e->count); seen |= 4; }
        else SKIP_FIELD(t, f);
    });
    return check_required(t, "PageEncodingStats", seen, 7, names);
}

static int parse_column_meta(parser *P, lode_pq_column_meta *c)
{
    lode_thrift *t = &P->t;
    lode_thrift_field f;
    unsigned seen = 0;
    static const char *const names[] = { "type", "encodings", "path_in_schema", "codec", "num_values",
                                         "total_uncompressed_size", "total_compressed_size",
                                         "data_page_offset" };
    STRUCT_FIELDS(t, f, {
        switch (f.id) {
        case 1: if (!field_is(&f, LODE_TT_I32)) goto skip; read_enum(t, f.type, 0, 7, "physical type", &c->type); seen |= 1; break;
        case 2: {
            if (!field_is(&f, LODE_TT_LIST)) goto skip;
            uint8_t et; uint32_t n;
            if (lode_thrift_list_begin(t, f.type, &et, &n) < 0) return -1;
            if (n && !(et >= LODE_TT_I8 && et <= LODE_TT_I64)) return lode_thrift_fail(t, "encodings: not a list of integers");
            c->encodings = palloc(P, n, sizeof *c->encodings);
            if (n && !c->encodings) return -1;
            for (uint32_t i = 0; i < n; i++)
                if (read_enum(t, et, 0, 1000, "encoding", &c->encodings[i]) < 0) return -1;
            c->n_encodings = n;
            seen |= 2;
            break;
        }
        case 3: {
            if (!field_is(&f, LODE_TT_LIST)) goto skip;
            uint8_t et; uint32_t n;
            if (lode_thrift_list_begin(t, f.type, &et, &n) < 0) return -1;
            if (n && et != LODE_TT_BINARY) return lode_thrift_fail(t, "path_in_schema: not a list of strings");
            c->path = palloc(P, n, sizeof *c->path);
            if (n && !c->path) return -1;
            for (uint32_t i = 0; i < n; i++)
                if (read_bytes(t, et, &c->path[i]) < 0) return -1;
            c->n_path = n;
            seen |= 4;
            break;
        }
        case 4: if (!field_is(&f, LODE_TT_I32)) goto skip; read_enum(t, f.type, 0, 7, "compression codec", &c->codec); seen |= 8; break;
        case 5: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "num_values", &c->num_values); seen |= 16; break;
        case 6: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "total_uncompressed_size", &c->total_uncompressed_size); seen |= 32; break;
        case 7: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "total_compressed_size", &c->total_compressed_size); seen |= 64; break;
        case 8: {
            if (!field_is(&f, LODE_TT_LIST)) goto skip;
            void *arr;
            if (read_struct_list(P, f.type, "key_value_metadata", sizeof(lode_pq_kv), parse_kv_el, &arr, &c->n_key_value) < 0)
                return -1;
            c->key_value = arr;
            break;
        }
        case 9: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "data_page_offset", &c->data_page_offset); seen |= 128; break;
        case 10: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "index_page_offset", &c->index_page_offset); c->has_index_page_offset = 1; break;
        case 11: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "dictionary_page_offset", &c->dictionary_page_offset); c->has_dictionary_page_offset = 1; break;
        case 12:
            if (f.type != LODE_TT_STRUCT) goto skip;
            if (parse_nested_statistics(t, &c->statistics, &c->has_statistics) < 0) return -1;
            break;
        case 13: {
            if (!field_is(&f, LODE_TT_LIST)) goto skip;
            void *arr;
            if (read_struct_list(P, f.type, "encoding_stats", sizeof(lode_pq_page_encoding_stats),
                                 parse_page_encoding_stats_el, &arr, &c->n_encoding_stats) < 0)
                return -1;
            c->encoding_stats = arr;
            c->has_encoding_stats = 1;
            break;
        }
        case 14: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "bloom_filter_offset", &c->bloom_filter_offset); c->has_bloom_filter_offset = 1; break;
        case 15: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "bloom_filter_length", &c->bloom_filter_length); c->has_bloom_filter_length = 1; break;
        default:
        skip:
            SKIP_FIELD(t, f);
        }
    });
    return check_required(t, "ColumnMetaData", seen, 255, names);
}

static int parse_column_chunk_el(parser *P, void *el)
{
    lode_pq_column_chunk *c = el;
    lode_thrift *t = &P->t;
    lode_thrift_field f;
    STRUCT_FIELDS(t, f, {
        switch (f.id) {
        case 1: if (!field_is(&f, LODE_TT_BINARY)) goto skip; read_bytes(t, f.type, &c->file_path); c->has_file_path = 1; break;
        /* file_offset is required in the IDL but deprecated; writers disagree on
         * it, so it is read when present and never demanded */
        case 2: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "file_offset", &c->file_offset); break;
        case 3:
            if (f.type != LODE_TT_STRUCT) goto skip;
            if (c->meta) return lode_thrift_fail(t, "ColumnChunk.meta_data given twice");
            c->meta = palloc(P, 1, sizeof *c->meta);
            if (!c->meta) return -1;
            lode_thrift_ctx_push(t, "meta_data", -1);
            if (parse_column_meta(P, c->meta) < 0) return -1;
            lode_thrift_ctx_pop(t);
            break;
        case 4: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "offset_index_offset", &c->offset_index_offset); c->has_offset_index = 1; break;
        case 5: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "offset_index_length", &c->offset_index_length); break;
        case 6: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "column_index_offset", &c->column_index_offset); c->has_column_index = 1; break;
        case 7: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "column_index_length", &c->column_index_length); break;
        case 8: case 9: c->encrypted = 1; goto skip;
        default:
        skip:
            SKIP_FIELD(t, f);
        }
    });
    if (!c->meta && !c->encrypted)
        return lode_thrift_fail(t, "ColumnChunk has no meta_data");
    return 0;
}

static int parse_sorting_column_el(parser *P, void *el)
{
    lode_pq_sorting_column *s = el;
    lode_thrift *t = &P->t;
    lode_thrift_field f;
    unsigned seen = 0;
    static const char *const names[] = { "column_idx", "descending", "nulls_first" };
    STRUCT_FIELDS(t, f, {
        if (f.id == 1 && field_is(&f, LODE_TT_I32)) { read_nonneg32(t, f.type, "column_idx", &s->column_idx); seen |= 1; }
        else if (f.id == 2 && field_is(&f, LODE_TT_TRUE)) { lode_thrift_field_bool(t, &f, &s->descending); seen |= 2; }
        else if (f.id == 3 && field_is(&f, LODE_TT_TRUE)) { lode_thrift_field_bool(t, &f, &s->nulls_first); seen |= 4; }
        else SKIP_FIELD(t, f);
    });
    return check_required(t, "SortingColumn", seen, 7, names);
}

static int parse_row_group_el(parser *P, void *el)
{
    lode_pq_row_group *g = el;
    lode_thrift *t = &P->t;
    lode_thrift_field f;
    unsigned seen = 0;
    static const char *const names[] = { "columns", "total_byte_size", "num_rows" };
    STRUCT_FIELDS(t, f, {
        switch (f.id) {
        case 1: {
            if (!field_is(&f, LODE_TT_LIST)) goto skip;
            void *arr;
            if (read_struct_list(P, f.type, "columns", sizeof(lode_pq_column_chunk), parse_column_chunk_el,
                                 &arr, &g->n_columns) < 0)
                return -1;
            g->columns = arr;
            seen |= 1;
            break;
        }
        case 2: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "total_byte_size", &g->total_byte_size); seen |= 2; break;
        case 3: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "num_rows", &g->num_rows); seen |= 4; break;
        case 4: {
            if (!field_is(&f, LODE_TT_LIST)) goto skip;
            void *arr;
            if (read_struct_list(P, f.type, "sorting_columns", sizeof(lode_pq_sorting_column),
                                 parse_sorting_column_el, &arr, &g->n_sorting_columns) < 0)
                return -1;
            g->sorting_columns = arr;
            g->has_sorting_columns = 1;
            break;
        }
        case 5: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "file_offset", &g->file_offset); g->has_file_offset = 1; break;
        case 6: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "total_compressed_size", &g->total_compressed_size); g->has_total_compressed_size = 1; break;
        case 7: if (!field_is(&f, LODE_TT_I16)) goto skip; lode_thrift_read_i16(t, f.type, &g->ordinal); g->has_ordinal = 1; break;
        default:
        skip:
            SKIP_FIELD(t, f);
        }
    });
    return check_required(t, "RowGroup", seen, 7, names);
}

static int parse_column_order_el(parser *P, void *el)
{
    lode_thrift *t = &P->t;
    int *order = el;
    lode_thrift_field f;
    *order = LODE_PQ_ORDER_UNDEFINED;
    STRUCT_FIELDS(t, f, {
        if (f.type == LODE_TT_STRUCT && f.id >= 1 && f.id <= 3) *order = f.id;
        SKIP_FIELD(t, f);
    });
    return 0;
}

static int parse_file_meta(parser *P, lode_pq_meta *m)
{
    lode_thrift *t = &P->t;
    lode_thrift_field f;
    unsigned seen = 0;
    static const char *const names[] = { "version", "schema", "num_rows", "row_groups" };
    STRUCT_FIELDS(t, f, {
        void *arr;
        switch (f.id) {
        case 1: if (!field_is(&f, LODE_TT_I32)) goto skip; lode_thrift_read_i32(t, f.type, &m->version); seen |= 1; break;
        case 2:
            if (!field_is(&f, LODE_TT_LIST)) goto skip;
            if (read_struct_list(P, f.type, "schema", sizeof(lode_pq_schema_element), parse_schema_el,
                                 &arr, &m->n_schema) < 0)
                return -1;
            m->schema = arr;
            seen |= 2;
            break;
        case 3: if (!field_is(&f, LODE_TT_I64)) goto skip; read_nonneg64(t, f.type, "num_rows", &m->num_rows); seen |= 4; break;
        case 4:
            if (!field_is(&f, LODE_TT_LIST)) goto skip;
            if (read_struct_list(P, f.type, "row_groups", sizeof(lode_pq_row_group), parse_row_group_el,
                                 &arr, &m->n_row_groups) < 0)
                return -1;
            m->row_groups = arr;
            seen |= 8;
            break;
        case 5:
            if (!field_is(&f, LODE_TT_LIST)) goto skip;
            if (read_struct_list(P, f.type, "key_value_metadata", sizeof(lode_pq_kv), parse_kv_el,
                                 &arr, &m->n_key_value) < 0)
                return -1;
            m->key_value = arr;
            break;
        case 6: if (!field_is(&f, LODE_TT_BINARY)) goto skip; read_bytes(t, f.type, &m->created_by); m->has_created_by = 1; break;
        case 7:
            if (!field_is(&f, LODE_TT_LIST)) goto skip;
            if (read_struct_list(P, f.type, "column_orders", sizeof(int), parse_column_order_el,
                                 &arr, &m->n_column_orders) < 0)
                return -1;
            m->column_orders = arr;
            m->has_column_orders = 1;
            break;
        case 8: m->encrypted = 1; goto skip;
        default:
        skip:
            SKIP_FIELD(t, f);
        }
    });
    return check_required(t, "FileMetaData", seen, 15, names);
}

/* Link the depth-first schema list into a tree, compute levels and leaves. */
static int build_schema_tree(parser *P, lode_pq_meta *m)
{
    lode_thrift *t = &P->t;
    if (m->n_schema == 0) return lode_thrift_fail(t, "schema is empty");
    struct frame { uint32_t node; int32_t left; int32_t last; } *stack = palloc(P, m->n_schema, sizeof *stack);
    int32_t *leaves = palloc(P, m->n_schema, sizeof *leaves);
    if (!stack || !leaves) return -1;
    for (uint32_t i = 0; i < m->n_schema; i++) {
        m->schema[i].parent = -1;
        m->schema[i].first_child = -1;
        m->schema[i].leaf_index = -1;
        m->schema[i].next_sibling = -1;
    }
    lode_pq_schema_element *root = &m->schema[0];
    uint32_t sp = 0, next = 1, nleaves = 0;
    stack[sp++] = (struct frame){ 0, root->num_children, -1 };
    while (sp > 0) {
        struct frame *top = &stack[sp - 1];
        if (top->left == 0) {
            sp--;
            continue;
        }
        top->left--;
        if (next >= m->n_schema)
            return lode_thrift_fail(t, "schema: num_children of '%.*s' promise more elements than the %u present",
                                    (int)m->schema[top->node].name.len, (const char *)m->schema[top->node].name.ptr,
                                    m->n_schema);
        uint32_t c = next++;
        lode_pq_schema_element *el = &m->schema[c], *par = &m->schema[top->node];
        el->parent = (int32_t)top->node;
        if (par->first_child < 0) par->first_child = (int32_t)c;
        if (top->last >= 0) m->schema[top->last].next_sibling = (int32_t)c;
        top->last = (int32_t)c;
        int rep = el->repetition < 0 ? LODE_PQ_REQUIRED : el->repetition;
        int def = par->max_def + (rep != LODE_PQ_REQUIRED);
        int rl = par->max_rep + (rep == LODE_PQ_REPEATED);
        if (def > 1000 || rl > 1000) return lode_thrift_fail(t, "schema nested too deeply");
        el->max_def = (int16_t)def;
        el->max_rep = (int16_t)rl;
        if (el->num_children > 0) {
            if (sp >= LODE_PQ_MAX_SCHEMA_DEPTH)
                return lode_thrift_fail(t, "schema nested deeper than %d groups", LODE_PQ_MAX_SCHEMA_DEPTH);
            stack[sp++] = (struct frame){ c, el->num_children, -1 };
        } else if (el->type >= 0) {
            if (el->type == LODE_PQ_FIXED_LEN_BYTE_ARRAY && el->type_length <= 0)
                return lode_thrift_fail(t, "schema: FIXED_LEN_BYTE_ARRAY column '%.*s' has no type_length",
                                        (int)el->name.len, (const char *)el->name.ptr);
            el->leaf_index = (int32_t)nleaves;
            leaves[nleaves++] = (int32_t)c;
        }
    }
    if (next != m->n_schema)
        return lode_thrift_fail(t, "schema has %u elements but its tree holds %u", m->n_schema, next);
    m->leaves = leaves;
    m->n_leaves = nleaves;
    for (uint32_t g = 0; g < m->n_row_groups; g++) {
        lode_pq_row_group *rg = &m->row_groups[g];
        if (rg->n_columns != nleaves)
            return lode_thrift_fail(t, "row group %u has %u columns but the schema has %u leaves",
                                    g, rg->n_columns, nleaves);
        for (uint32_t j = 0; j < rg->n_columns; j++) {
            lode_pq_column_meta *cm = rg->columns[j].meta;
            if (cm && cm->type != m->schema[leaves[j]].type)
                return lode_thrift_fail(t, "row group %u column %u: type %s differs from the schema's %s", g, j,
                                        lode_pq_type_name(cm->type), lode_pq_type_name(m->schema[leaves[j]].type));
        }
    }
    return 0;
}

int lode_pq_meta_parse(const void *footer, size_t footer_len, lode_pq_meta **out, char *err, size_t errlen)
{
    *out = NULL;
    lode_pq_meta *m = calloc(1, sizeof *m);
    struct lode_pq_arena *a = calloc(1, sizeof *a);
    uint8_t *copy = malloc(footer_len ? footer_len : 1);
    parser *P = malloc(sizeof *P);
    if (!m || !a || !copy || !P) {
        snprintf(err, errlen, "out of memory for a footer of %zu bytes", footer_len);
        free(m); free(a); free(copy); free(P);
        return -1;
    }
    memcpy(copy, footer, footer_len);
    m->footer = copy;
    m->footer_len = footer_len;
    m->arena = a;
    /* real footers decode to ~5x their size; the worst legal shape (empty
     * structs of a few bytes each) to ~40x. Beyond 64x the bytes are hostile. */
    a->budget = footer_len > (SIZE_MAX - (1u << 20)) / 64 ? SIZE_MAX : footer_len * 64 + (1u << 20);
    P->arena = a;
    lode_thrift_init(&P->t, copy, footer_len);
    lode_thrift_ctx_push(&P->t, "FileMetaData", -1);
    int rc = parse_file_meta(P, m);
    if (rc == 0 && m->encrypted)
        rc = lode_thrift_fail(&P->t, "encrypted Parquet file (plaintext footer with encryption_algorithm) is not supported");
    if (rc == 0) rc = build_schema_tree(P, m);
    if (rc < 0) {
        int encrypted = m->encrypted;
        if (encrypted)
            snprintf(err, errlen, "encrypted Parquet file (plaintext footer with encryption_algorithm) is not supported");
        else
            snprintf(err, errlen, "corrupt Parquet footer: %s", P->t.err[0] ? P->t.err : "decode failed");
        free(P);
        lode_pq_meta_free(m);
        return encrypted ? LODE_PQ_ENCRYPTED : -1;
    }
    free(P);
    *out = m;
    return 0;
}

void lode_pq_meta_free(lode_pq_meta *m)
{
    if (!m) return;
    arena_free(m->arena);
    free(m->footer);
    free(m);
}

int lode_pq_footer_tail(const uint8_t tail[8], uint64_t file_size, uint32_t *footer_len, char *err, size_t errlen)
{
    if (file_size < 12) {
        snprintf(err, errlen, "not a Parquet file: %llu bytes is too small", (unsigned long long)file_size);
        return -1;
    }
    if (memcmp(tail + 4, "PARE", 4) == 0) {
        snprintf(err, errlen, "encrypted Parquet file (PARE footer) is not supported");
        return LODE_PQ_ENCRYPTED;
    }
    if (memcmp(tail + 4, "PAR1", 4) != 0) {
        snprintf(err, errlen, "not a Parquet file: no PAR1 magic at the end");
        return -1;
    }
    uint32_t n = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
    if (n == 0 || n > INT32_MAX) {
        snprintf(err, errlen, "corrupt Parquet file: footer length %lld is invalid",
                 n > INT32_MAX ? (long long)(int32_t)n : (long long)n);
        return -1;
    }
    if ((uint64_t)n + 12 > file_size) {
        snprintf(err, errlen, "corrupt Parquet file: footer length %u is larger than the file (%llu bytes)",
                 n, (unsigned long long)file_size);
        return -1;
    }
    *footer_len = n;
    return 0;
}

int64_t lode_pq_meta_rows(const lode_pq_meta *m)
{
    int64_t n = 0;
    for (uint32_t g = 0; g < m->n_row_groups; g++) {
        if (m->row_groups[g].num_rows > INT64_MAX - n) return INT64_MAX;
        n += m->row_groups[g].num_rows;
    }
    return n;
}

char *lode_pq_leaf_path(const lode_pq_meta *m, uint32_t leaf, char *buf, size_t buflen)
{
    if (buflen == 0) return buf;
    buf[0] = '\0';
    if (leaf >= m->n_leaves) return buf;
    int32_t chain[1024];
    int n = 0;
    for (int32_t i = m->leaves[leaf]; i > 0 && n < 1024; i = m->schema[i].parent) chain[n++] = i;
    size_t used = 0;
    for (int k = n - 1; k >= 0 && used < buflen; k--) {
        const lode_pq_bytes *nm = &m->schema[chain[k]].name;
        used += (size_t)snprintf(buf + used, buflen - used, "%s%.*s", k == n - 1 ? "" : ".",
                                 (int)nm->len, (const char *)nm->ptr);
    }
    return buf;
}

/* ---- enum names ---- */

#define NAME_OF(arr, v) ((v) >= 0 && (size_t)(v) < sizeof(arr) / sizeof(arr[0]) && arr[v] ? arr[v] : "UNKNOWN")

const char *lode_pq_type_name(int v)
{
    static const char *const n[] = { "BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE",
                                     "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY" };
    return NAME_OF(n, v);
}

const char *lode_pq_repetition_name(int v)
{
    static const char *const n[] = { "REQUIRED", "OPTIONAL", "REPEATED" };
    return NAME_OF(n, v);
}

const char *lode_pq_converted_name(int v)
{
    static const char *const n[] = { "UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DECIMAL", "DATE",
                                     "TIME_MILLIS", "TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS",
                                     "UINT_8", "UINT_16", "UINT_32", "UINT_64", "INT_8", "INT_16",
                                     "INT_32", "INT_64", "JSON", "BSON", "INTERVAL" };
    return NAME_OF(n, v);
}

const char *lode_pq_encoding_name(int v)
{
    static const char *const n[] = { "PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
                                     "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
                                     "RLE_DICTIONARY", "BYTE_STREAM_SPLIT" };
    return NAME_OF(n, v);
}

const char *lode_pq_codec_name(int v)
{
    static const char *const n[] = { "UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD",
                                     "LZ4_RAW" };
    return NAME_OF(n, v);
}

const char *lode_pq_page_type_name(int v)
{
    static const char *const n[] = { "DATA_PAGE", "INDEX_PAGE", "DICTIONARY_PAGE", "DATA_PAGE_V2" };
    return NAME_OF(n, v);
}

const char *lode_pq_logical_name(int v)
{
    static const char *const n[] = { NULL, "STRING", "MAP", "LIST", "ENUM", "DECIMAL", "DATE", "TIME",
                                     "TIMESTAMP", NULL, "INTEGER", "UNKNOWN", "JSON", "BSON", "UUID",
                                     "FLOAT16", "VARIANT", "GEOMETRY", "GEOGRAPHY", "FILE" };
    return NAME_OF(n, v);
}

const char *lode_pq_unit_name(int v)
{
    static const char *const n[] = { NULL, "MILLIS", "MICROS", "NANOS" };
    return NAME_OF(n, v);
}

/* ---- page headers ---- */

static int parse_data_page_header(lode_thrift *t, lode_pq_data_page_header *d)
{
    lode_thrift_field f;
    unsigned seen = 0;
    static const char *const names[] = { "num_values", "encoding", "definition_level_encoding",
                                         "repetition_level_encoding" };
    STRUCT_FIELDS(t, f, {
        switch (f.id) {
        case 1: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "num_values", &d->num_values); seen |= 1; break;
        case 2: if (!field_is(&f, LODE_TT_I32)) goto skip; read_enum(t, f.type, 0, 1000, "encoding", &d->encoding); seen |= 2; break;
        case 3: if (!field_is(&f, LODE_TT_I32)) goto skip; read_enum(t, f.type, 0, 1000, "encoding", &d->definition_level_encoding); seen |= 4; break;
        case 4: if (!field_is(&f, LODE_TT_I32)) goto skip; read_enum(t, f.type, 0, 1000, "encoding", &d->repetition_level_encoding); seen |= 8; break;
        case 5:
            if (f.type != LODE_TT_STRUCT) goto skip;
            if (parse_nested_statistics(t, &d->statistics, &d->has_statistics) < 0) return -1;
            break;
        default:
        skip:
            SKIP_FIELD(t, f);
        }
    });
    return check_required(t, "DataPageHeader", seen, 15, names);
}

static int parse_data_page_header_v2(lode_thrift *t, lode_pq_data_page_header_v2 *d)
{
    lode_thrift_field f;
    unsigned seen = 0;
    static const char *const names[] = { "num_values", "num_nulls", "num_rows", "encoding",
                                         "definition_levels_byte_length", "repetition_levels_byte_length" };
    d->is_compressed = 1;
    STRUCT_FIELDS(t, f, {
        switch (f.id) {
        case 1: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "num_values", &d->num_values); seen |= 1; break;
        case 2: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "num_nulls", &d->num_nulls); seen |= 2; break;
        case 3: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "num_rows", &d->num_rows); seen |= 4; break;
        case 4: if (!field_is(&f, LODE_TT_I32)) goto skip; read_enum(t, f.type, 0, 1000, "encoding", &d->encoding); seen |= 8; break;
        case 5: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "definition_levels_byte_length", &d->definition_levels_byte_length); seen |= 16; break;
        case 6: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "repetition_levels_byte_length", &d->repetition_levels_byte_length); seen |= 32; break;
        case 7: if (!field_is(&f, LODE_TT_TRUE)) goto skip; lode_thrift_field_bool(t, &f, &d->is_compressed); break;
        case 8:
            if (f.type != LODE_TT_STRUCT) goto skip;
            if (parse_nested_statistics(t, &d->statistics, &d->has_statistics) < 0) return -1;
            break;
        default:
        skip:
            SKIP_FIELD(t, f);
        }
    });
    return check_required(t, "DataPageHeaderV2", seen, 63, names);
}

static int parse_dictionary_page_header(lode_thrift *t, lode_pq_dictionary_page_header *d)
{
    lode_thrift_field f;
    unsigned seen = 0;
    static const char *const names[] = { "num_values", "encoding" };
    STRUCT_FIELDS(t, f, {
        if (f.id == 1 && field_is(&f, LODE_TT_I32)) { read_nonneg32(t, f.type, "num_values", &d->num_values); seen |= 1; }
        else if (f.id == 2 && field_is(&f, LODE_TT_I32)) { read_enum(t, f.type, 0, 1000, "encoding", &d->encoding); seen |= 2; }
        else if (f.id == 3 && field_is(&f, LODE_TT_TRUE)) { lode_thrift_field_bool(t, &f, &d->is_sorted); d->has_is_sorted = 1; }
        else SKIP_FIELD(t, f);
    });
    return check_required(t, "DictionaryPageHeader", seen, 3, names);
}

static int parse_page_header(lode_thrift *t, lode_pq_page_header *h)
{
    lode_thrift_field f;
    unsigned seen = 0;
    static const char *const names[] = { "type", "uncompressed_page_size", "compressed_page_size" };
    STRUCT_FIELDS(t, f, {
        switch (f.id) {
        case 1: if (!field_is(&f, LODE_TT_I32)) goto skip; read_enum(t, f.type, 0, 3, "page type", &h->type); seen |= 1; break;
        case 2: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "uncompressed_page_size", &h->uncompressed_page_size); seen |= 2; break;
        case 3: if (!field_is(&f, LODE_TT_I32)) goto skip; read_nonneg32(t, f.type, "compressed_page_size", &h->compressed_page_size); seen |= 4; break;
        case 4: if (!field_is(&f, LODE_TT_I32)) goto skip; lode_thrift_read_i32(t, f.type, &h->crc); h->has_crc = 1; break;
        case 5:
            if (f.type != LODE_TT_STRUCT) goto skip;
            lode_thrift_ctx_push(t, "data_page_header", -1);
            if (parse_data_page_header(t, &h->data_page_header) < 0) return -1;
            lode_thrift_ctx_pop(t);
            h->has_data_page_header = 1;
            break;
        case 6:
            if (f.type != LODE_TT_STRUCT) goto skip;
            h->has_index_page_header = 1;
            goto skip;
        case 7:
            if (f.type != LODE_TT_STRUCT) goto skip;
            lode_thrift_ctx_push(t, "dictionary_page_header", -1);
            if (parse_dictionary_page_header(t, &h->dictionary_page_header) < 0) return -1;
            lode_thrift_ctx_pop(t);
            h->has_dictionary_page_header = 1;
            break;
        case 8:
            if (f.type != LODE_TT_STRUCT) goto skip;
            lode_thrift_ctx_push(t, "data_page_header_v2", -1);
            if (parse_data_page_header_v2(t, &h->data_page_header_v2) < 0) return -1;
            lode_thrift_ctx_pop(t);
            h->has_data_page_header_v2 = 1;
            break;
        default:
        skip:
            SKIP_FIELD(t, f);
        }
    });
    if (check_required(t, "PageHeader", seen, 7, names) < 0) return -1;
    if ((h->type == LODE_PQ_DATA_PAGE && !h->has_data_page_header) ||
        (h->type == LODE_PQ_DICTIONARY_PAGE && !h->has_dictionary_page_header) ||
        (h->type == LODE_PQ_DATA_PAGE_V2 && !h->has_data_page_header_v2))
        return lode_thrift_fail(t, "PageHeader of type %s lacks its %s header", lode_pq_page_type_name(h->type),
                                lode_pq_page_type_name(h->type));
    if (h->type == LODE_PQ_DATA_PAGE_V2) {
        const lode_pq_data_page_header_v2 *d = &h->data_page_header_v2;
        if ((int64_t)d->definition_levels_byte_length + d->repetition_levels_byte_length > h->compressed_page_size)
            return lode_thrift_fail(t, "DataPageHeaderV2 level lengths exceed the page size");
    }
    return 0;
}

int lode_pq_page_header_parse(const void *buf, size_t len, lode_pq_page_header *h, size_t *used,
                              char *err, size_t errlen)
{
    lode_thrift t;
    memset(h, 0, sizeof *h);
    lode_thrift_init(&t, buf, len);
    lode_thrift_ctx_push(&t, "PageHeader", -1);
    if (parse_page_header(&t, h) < 0) {
        if (t.truncated) return LODE_PQ_NEED_MORE;
        snprintf(err, errlen, "corrupt Parquet page header: %s", t.err);
        return -1;
    }
    *used = lode_thrift_offset(&t);
    return 0;
}

/* ---- reading a footer through a lode_source ---- */

static void footer_finish(lode_pq_footer_read *r, lode_pq_meta *m, const char *err)
{
    free(r->buf);
    r->buf = NULL;
    r->cb(r, m, err);
}

static void footer_fail(lode_pq_footer_read *r, int kind, const char *msg, const char *detail)
{
    r->err_kind = kind;
    if (detail) snprintf(r->err, sizeof r->err, "%s: %s", msg, detail);
    else snprintf(r->err, sizeof r->err, "%s", msg);
    footer_finish(r, NULL, r->err);
}

static int fail_kind(int rc)
{
    return rc == LODE_PQ_ENCRYPTED ? LODE_PQ_ERR_ENCRYPTED : LODE_PQ_ERR_CORRUPT;
}

static void footer_parse(lode_pq_footer_read *r, const uint8_t *footer)
{
    lode_pq_meta *m;
    char err[400];
    int rc = lode_pq_meta_parse(footer, r->footer_len, &m, err, sizeof err);
    if (rc < 0) {
        footer_fail(r, fail_kind(rc), err, NULL);
        return;
    }
    footer_finish(r, m, NULL);
}

static void on_footer_rest(void *ud, int status, size_t nread, const char *errmsg)
{
    lode_pq_footer_read *r = ud;
    size_t missing = r->footer_len - (r->buflen - 8);
    if (status < 0) {
        footer_fail(r, LODE_PQ_ERR_IO, "reading the footer", errmsg ? errmsg : uv_strerror(status));
        return;
    }
    if (nread != missing) {
        footer_fail(r, LODE_PQ_ERR_IO, "short read of the footer (did the object change while being read?)", NULL);
        return;
    }
    footer_parse(r, r->buf);
}

static void on_footer_tail(void *ud, int status, size_t nread, const char *errmsg)
{
    lode_pq_footer_read *r = ud;
    if (status < 0) {
        footer_fail(r, LODE_PQ_ERR_IO, "reading the file tail", errmsg ? errmsg : uv_strerror(status));
        return;
    }
    if (nread != r->buflen) {
        footer_fail(r, LODE_PQ_ERR_IO, "short read of the file tail (did the object change while being read?)", NULL);
        return;
    }
    char err[256];
    int rc = lode_pq_footer_tail(r->buf + r->buflen - 8, r->src->size, &r->footer_len, err, sizeof err);
    if (rc < 0) {
        footer_fail(r, fail_kind(rc), err, NULL);
        return;
    }
    if (r->footer_len > LODE_PQ_MAX_FOOTER) {
        snprintf(err, sizeof err, "footer of %u bytes exceeds the limit of %u bytes", r->footer_len, LODE_PQ_MAX_FOOTER);
        footer_fail(r, LODE_PQ_ERR_CORRUPT, err, NULL);
        return;
    }
    if ((size_t)r->footer_len + 8 <= r->buflen) {
        footer_parse(r, r->buf + r->buflen - 8 - r->footer_len);
        return;
    }
    /* the footer is larger than the speculative read: fetch only what is missing */
    size_t have = r->buflen - 8;
    uint8_t *full = malloc(r->footer_len);
    if (!full) {
        footer_fail(r, LODE_PQ_ERR_IO, "out of memory for the footer", NULL);
        return;
    }
    memcpy(full + (r->footer_len - have), r->buf, have);
    free(r->buf);
    r->buf = full;
    uint64_t start = r->src->size - 8 - r->footer_len;
    rc = lode_source_read(r->src, start, r->footer_len - have, full, on_footer_rest, r);
    if (rc < 0) footer_fail(r, LODE_PQ_ERR_IO, "could not start reading the footer", uv_strerror(rc));
}

void lode_pq_footer_read_start(lode_pq_footer_read *r, lode_source *src, size_t speculative,
                               lode_pq_footer_cb cb, void *ud)
{
    r->src = src;
    r->cb = cb;
    r->ud = ud;
    r->buf = NULL;
    r->err_kind = 0;
    r->speculative = speculative < 8 ? LODE_PQ_SPECULATIVE_DEFAULT : speculative;
    if (src->size < 12) {
        char err[256];
        uint8_t none[8] = { 0 };
        lode_pq_footer_tail(none, src->size, &r->footer_len, err, sizeof err);
        footer_fail(r, LODE_PQ_ERR_CORRUPT, err, NULL);
        return;
    }
    r->buflen = src->size < r->speculative ? (size_t)src->size : r->speculative;
    r->buf = malloc(r->buflen);
    if (!r->buf) {
        footer_fail(r, LODE_PQ_ERR_IO, "out of memory", NULL);
        return;
    }
    int rc = lode_source_read(src, src->size - r->buflen, r->buflen, r->buf, on_footer_tail, r);
    if (rc < 0) footer_fail(r, LODE_PQ_ERR_IO, "could not start reading the file tail", uv_strerror(rc));
}

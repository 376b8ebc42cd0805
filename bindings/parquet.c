/* parquet.c — lode.parquetmeta: Parquet footers as Lua tables. The public
 * module is lode.parquet (stdlib/lode/parquet.lua), which re-exports this.
 *
 *   metadata(path_or_url [, {speculative = bytes}]) -> table   (yields)
 *   schema(path_or_url [, opts]) -> {schema=, columns=, ...}  (yields)
 *
 * I/O goes through a lode_source and the runtime's parquet/meta.c footer reader;
 * decoding is synchronous C once the bytes are in memory. The op owns the
 * source and the decoded model; both are freed in release. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lode.h"
#include "lode/parquet/parquet.h"
#include "lode/s3/open.h"
#include "lode/core/source.h"


typedef struct {
    lode_op op;
    lode_pq_footer_read rd;
    lode_source *src;
    lode_pq_meta *m;
    char *err;
    const char *err_code;       /* set for failures before the footer read */
    int retryable;
    long status;                /* HTTP status of a failed S3 open */
    int schema_only;
    size_t speculative;
} meta_op;

static void push_bytes(lua_State *L, lode_pq_bytes b)
{
    lua_pushlstring(L, (const char *)b.ptr, b.len);
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

static void push_logical(lua_State *L, const lode_pq_logical_type *lt)
{
    lua_createtable(L, 0, 4);
    const char *name = lode_pq_logical_name(lt->type);
    if (strcmp(name, "UNKNOWN") == 0 && lt->type != LODE_PQ_LT_UNKNOWN) {
        set_str(L, "type", "UNRECOGNIZED");
        set_int(L, "id", lt->type);
        return;
    }
    set_str(L, "type", name);
    switch (lt->type) {
    case LODE_PQ_LT_DECIMAL:
        set_int(L, "precision", lt->precision);
        set_int(L, "scale", lt->scale);
        break;
    case LODE_PQ_LT_TIME:
    case LODE_PQ_LT_TIMESTAMP:
        set_bool(L, "is_adjusted_to_utc", lt->is_adjusted_to_utc);
        set_str(L, "unit", lode_pq_unit_name(lt->unit));
        break;
    case LODE_PQ_LT_INTEGER:
        set_int(L, "bit_width", lt->bit_width);
        set_bool(L, "is_signed", lt->is_signed);
        break;
    case LODE_PQ_LT_GEOMETRY:
    case LODE_PQ_LT_GEOGRAPHY:
        if (lt->crs.len) {
            push_bytes(L, lt->crs);
            lua_setfield(L, -2, "crs");
        }
        break;
    default:
        break;
    }
}

/* Fields shared by tree nodes and flat columns. */
static void set_element_fields(lua_State *L, const lode_pq_schema_element *el)
{
    push_bytes(L, el->name);
    lua_setfield(L, -2, "name");
    if (el->repetition >= 0) set_str(L, "repetition", lode_pq_repetition_name(el->repetition));
    if (el->type >= 0) set_str(L, "type", lode_pq_type_name(el->type));
    if (el->type_length >= 0) set_int(L, "type_length", el->type_length);
    if (el->converted_type >= 0) set_str(L, "converted_type", lode_pq_converted_name(el->converted_type));
    if (el->scale >= 0) set_int(L, "scale", el->scale);
    if (el->precision >= 0) set_int(L, "precision", el->precision);
    if (el->has_field_id) set_int(L, "field_id", el->field_id);
    if (el->logical.type != LODE_PQ_LT_NONE) {
        push_logical(L, &el->logical);
        lua_setfield(L, -2, "logical_type");
    }
}

static void push_schema_node(lua_State *L, const lode_pq_meta *m, uint32_t i)
{
    const lode_pq_schema_element *el = &m->schema[i];
    luaL_checkstack(L, 8, "schema too deep");
    lua_createtable(L, 0, 8);
    set_element_fields(L, el);
    if (el->leaf_index >= 0) {
        set_int(L, "column", el->leaf_index + 1);
        return;
    }
    lua_createtable(L, el->num_children, 0);
    int k = 0;
    for (int32_t c = el->first_child; c >= 0; c = m->schema[c].next_sibling) {
        push_schema_node(L, m, (uint32_t)c);
        lua_rawseti(L, -2, ++k);
    }
    lua_setfield(L, -2, "children");
}

/* {"a", "b", "c"}: the names from the root's child down to schema[i] */
static void push_path_in_schema(lua_State *L, const lode_pq_meta *m, int32_t i)
{
    int depth = 0;
    for (int32_t k = i; k > 0; k = m->schema[k].parent) depth++;
    lua_createtable(L, depth, 0);
    for (int32_t k = i; k > 0; k = m->schema[k].parent) {
        push_bytes(L, m->schema[k].name);
        lua_rawseti(L, -2, depth--);
    }
}

static void push_columns(lua_State *L, const lode_pq_meta *m)
{
    char path[4096];
    lua_createtable(L, (int)m->n_leaves, 0);
    for (uint32_t j = 0; j < m->n_leaves; j++) {
        const lode_pq_schema_element *el = &m->schema[m->leaves[j]];
        lua_createtable(L, 0, 12);
        set_element_fields(L, el);
        set_str(L, "path", lode_pq_leaf_path(m, j, path, sizeof path));
        push_path_in_schema(L, m, m->leaves[j]);
        lua_setfield(L, -2, "path_in_schema");
        set_int(L, "index", j + 1);
        set_int(L, "max_definition_level", el->max_def);
        set_int(L, "max_repetition_level", el->max_rep);
        if (m->has_column_orders && j < m->n_column_orders) {
            static const char *const orders[] = { "UNDEFINED", "TYPE_ORDER", "IEEE_754_TOTAL_ORDER",
                                                  "INT96_TIMESTAMP_ORDER" };
            set_str(L, "column_order", orders[m->column_orders[j] & 3]);
        }
        lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
}

static void push_value(lua_State *L, const lode_pq_value *v)
{
    switch (v->kind) {
    case LODE_PQ_V_BOOL: lua_pushboolean(L, v->b); break;
    case LODE_PQ_V_INT: lua_pushinteger(L, v->i); break;
    case LODE_PQ_V_DOUBLE: lua_pushnumber(L, v->d); break;
    case LODE_PQ_V_BYTES: push_bytes(L, v->bytes); break;
    case LODE_PQ_V_TEXT: lua_pushstring(L, v->text); break;
    default: lua_pushnil(L);
    }
}

static void push_statistics(lua_State *L, const lode_pq_meta *m, uint32_t leaf, const lode_pq_statistics *s)
{
    lua_createtable(L, 0, 8);
    lode_pq_value lo, hi;
    lode_pq_stats_minmax(m, leaf, s, &lo, &hi);
    if (lo.kind != LODE_PQ_V_NONE) {
        push_value(L, &lo);
        lua_setfield(L, -2, "min");
        push_value(L, &hi);
        lua_setfield(L, -2, "max");
    }
    if (s->has_null_count) set_int(L, "null_count", s->null_count);
    if (s->has_distinct_count) set_int(L, "distinct_count", s->distinct_count);
    if (s->has_nan_count) set_int(L, "nan_count", s->nan_count);
    if (s->has_is_min_value_exact) set_bool(L, "is_min_value_exact", s->is_min_value_exact);
    if (s->has_is_max_value_exact) set_bool(L, "is_max_value_exact", s->is_max_value_exact);
}

static void push_kv_list(lua_State *L, const lode_pq_kv *kv, uint32_t n)
{
    lua_createtable(L, (int)n, 0);
    for (uint32_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 2);
        push_bytes(L, kv[i].key);
        lua_setfield(L, -2, "key");
        if (kv[i].has_value) {
            push_bytes(L, kv[i].value);
            lua_setfield(L, -2, "value");
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void push_column_chunk(lua_State *L, const lode_pq_meta *m, uint32_t j, const lode_pq_column_chunk *cc,
                              const char *path)
{
    lua_createtable(L, 0, 20);
    set_str(L, "path", path);
    if (cc->has_file_path) {
        push_bytes(L, cc->file_path);
        lua_setfield(L, -2, "file_path");
    }
    set_int(L, "file_offset", cc->file_offset);
    if (cc->has_offset_index) {
        set_int(L, "offset_index_offset", cc->offset_index_offset);
        set_int(L, "offset_index_length", cc->offset_index_length);
    }
    if (cc->has_column_index) {
        set_int(L, "column_index_offset", cc->column_index_offset);
        set_int(L, "column_index_length", cc->column_index_length);
    }
    const lode_pq_column_meta *c = cc->meta;
    if (!c) return;
    set_str(L, "type", lode_pq_type_name(c->type));
    set_str(L, "codec", lode_pq_codec_name(c->codec));
    lua_createtable(L, (int)c->n_encodings, 0);
    for (uint32_t e = 0; e < c->n_encodings; e++) {
        lua_pushstring(L, lode_pq_encoding_name(c->encodings[e]));
        lua_rawseti(L, -2, (lua_Integer)e + 1);
    }
    lua_setfield(L, -2, "encodings");
    set_int(L, "num_values", c->num_values);
    set_int(L, "total_compressed_size", c->total_compressed_size);
    set_int(L, "total_uncompressed_size", c->total_uncompressed_size);
    set_int(L, "data_page_offset", c->data_page_offset);
    if (c->has_dictionary_page_offset && c->dictionary_page_offset >= 4)
        set_int(L, "dictionary_page_offset", c->dictionary_page_offset);
    if (c->has_index_page_offset) set_int(L, "index_page_offset", c->index_page_offset);
    if (c->has_bloom_filter_offset) set_int(L, "bloom_filter_offset", c->bloom_filter_offset);
    if (c->has_bloom_filter_length) set_int(L, "bloom_filter_length", c->bloom_filter_length);
    if (c->n_key_value) {
        push_kv_list(L, c->key_value, c->n_key_value);
        lua_setfield(L, -2, "key_value_metadata");
    }
    if (c->has_encoding_stats) {
        lua_createtable(L, (int)c->n_encoding_stats, 0);
        for (uint32_t e = 0; e < c->n_encoding_stats; e++) {
            lua_createtable(L, 0, 3);
            set_str(L, "page_type", lode_pq_page_type_name(c->encoding_stats[e].page_type));
            set_str(L, "encoding", lode_pq_encoding_name(c->encoding_stats[e].encoding));
            set_int(L, "count", c->encoding_stats[e].count);
            lua_rawseti(L, -2, (lua_Integer)e + 1);
        }
        lua_setfield(L, -2, "encoding_stats");
    }
    if (c->has_statistics) {
        push_statistics(L, m, j, &c->statistics);
        lua_setfield(L, -2, "statistics");
    }
}

static void push_row_groups(lua_State *L, const lode_pq_meta *m)
{
    char **paths = calloc(m->n_leaves ? m->n_leaves : 1, sizeof *paths);
    char buf[4096];
    for (uint32_t j = 0; paths && j < m->n_leaves; j++) paths[j] = strdup(lode_pq_leaf_path(m, j, buf, sizeof buf));
    lua_createtable(L, (int)m->n_row_groups, 0);
    for (uint32_t g = 0; g < m->n_row_groups; g++) {
        const lode_pq_row_group *rg = &m->row_groups[g];
        lua_createtable(L, 0, 8);
        set_int(L, "num_rows", rg->num_rows);
        set_int(L, "total_byte_size", rg->total_byte_size);
        if (rg->has_total_compressed_size) set_int(L, "total_compressed_size", rg->total_compressed_size);
        if (rg->has_file_offset) set_int(L, "file_offset", rg->file_offset);
        if (rg->has_ordinal) set_int(L, "ordinal", rg->ordinal);
        if (rg->has_sorting_columns) {
            lua_createtable(L, (int)rg->n_sorting_columns, 0);
            for (uint32_t s = 0; s < rg->n_sorting_columns; s++) {
                lua_createtable(L, 0, 3);
                set_int(L, "column", rg->sorting_columns[s].column_idx + 1);
                set_bool(L, "descending", rg->sorting_columns[s].descending);
                set_bool(L, "nulls_first", rg->sorting_columns[s].nulls_first);
                lua_rawseti(L, -2, (lua_Integer)s + 1);
            }
            lua_setfield(L, -2, "sorting_columns");
        }
        lua_createtable(L, (int)rg->n_columns, 0);
        for (uint32_t j = 0; j < rg->n_columns; j++) {
            push_column_chunk(L, m, j, &rg->columns[j], paths && paths[j] ? paths[j] : "");
            lua_rawseti(L, -2, (lua_Integer)j + 1);
        }
        lua_setfield(L, -2, "columns");
        lua_rawseti(L, -2, (lua_Integer)g + 1);
    }
    for (uint32_t j = 0; paths && j < m->n_leaves; j++) free(paths[j]);
    free(paths);
}

static void push_meta(lua_State *L, const lode_pq_meta *m, const lode_source *src, int schema_only)
{
    lua_createtable(L, 0, 14);
    set_str(L, "path", src->name);
    set_int(L, "size", (lua_Integer)src->size);
    set_int(L, "num_rows", lode_pq_meta_rows(m));
    push_schema_node(L, m, 0);
    lua_setfield(L, -2, "schema");
    push_columns(L, m);
    lua_setfield(L, -2, "columns");
    if (schema_only) return;
    set_int(L, "version", m->version);
    set_int(L, "file_num_rows", m->num_rows);
    set_int(L, "footer_length", (lua_Integer)m->footer_len);
    set_int(L, "requests", (lua_Integer)src->reads);
    if (src->etag[0]) set_str(L, "etag", src->etag);
    if (m->has_created_by) {
        push_bytes(L, m->created_by);
        lua_setfield(L, -2, "created_by");
    }
    push_kv_list(L, m->key_value, m->n_key_value);
    lua_setfield(L, -2, "key_value_metadata");
    push_row_groups(L, m);
    lua_setfield(L, -2, "row_groups");
}

static int meta_push(lua_State *L, lode_op *op)
{
    meta_op *mo = (meta_op *)op;
    if (mo->err) {
        const char *code = mo->err_code ? mo->err_code
                         : mo->rd.err_kind == LODE_PQ_ERR_ENCRYPTED ? "encrypted"
                         : mo->rd.err_kind == LODE_PQ_ERR_CORRUPT ? "corrupt" : "io";
        lode_push_error(L, "parquet.metadata", code, mo->err, mo->retryable);
        lua_pushvalue(L, 1);
        lua_setfield(L, -2, "file");
        if (mo->status) set_int(L, "status", mo->status);
        return -1;
    }
    push_meta(L, mo->m, mo->src, mo->schema_only);
    return 1;
}

static void meta_release(lode_op *op)
{
    meta_op *mo = (meta_op *)op;
    lode_pq_meta_free(mo->m);
    lode_source_close(mo->src);
    free(mo->err);
    free(mo);
}

static void on_footer(lode_pq_footer_read *r, lode_pq_meta *m, const char *err)
{
    meta_op *mo = r->ud;
    mo->m = m;
    if (err) mo->err = strdup(err);
    if (err && !mo->err) mo->err = strdup("out of memory");
    lode_op_done(&mo->op);
}

/* The file or S3 object is open (on S3 its last `speculative` bytes came
 * with the open, in one GET): read the footer, or record why not. */
static void on_open(void *ud, lode_source *src, const lode_source_open_error *e)
{
    meta_op *mo = ud;
    if (!src) {
        mo->err = strdup(e->message);
        mo->err_code = e->code;
        mo->retryable = e->retryable;
        mo->status = e->status;
        if (!mo->err) mo->err = strdup("out of memory");
        lode_op_done(&mo->op);
        return;
    }
    mo->src = src;
    lode_pq_footer_read_start(&mo->rd, src, mo->speculative, on_footer, mo);
}

static int start_read(lua_State *L, int schema_only)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer spec = LODE_PQ_SPECULATIVE_DEFAULT;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        if (lua_getfield(L, 2, "speculative") != LUA_TNIL) {
            spec = luaL_checkinteger(L, -1);
            luaL_argcheck(L, spec >= 8 && spec <= (1 << 30), 2, "speculative must be 8 .. 1 GiB");
        }
        lua_pop(L, 1);
    }
    lua_settop(L, 1);
    lode_check_task(L, "parquet.metadata");
    meta_op *mo = (meta_op *)lode_op_new(L, sizeof *mo, "parquet.metadata", meta_push, NULL, meta_release);
    mo->schema_only = schema_only;
    mo->speculative = (size_t)spec;
    lode_source_open_url(path, NULL, mo->speculative, on_open, mo);
    return lode_op_yield(L, &mo->op);
}

/* metadata(path_or_url [, {speculative=}]) -> the whole footer as a table */
static int l_metadata(lua_State *L)
{
    return start_read(L, 0);
}

/* schema(path_or_url [, opts]) -> {path=, size=, num_rows=, schema=, columns=} */
static int l_schema(lua_State *L)
{
    return start_read(L, 1);
}

int luaopen_lode_parquetmeta(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "metadata", l_metadata },
        { "schema", l_schema },
        { NULL, NULL },
    };
    luaL_newlib(L, fns);
    lua_pushinteger(L, LODE_PQ_SPECULATIVE_DEFAULT);
    lua_setfield(L, -2, "SPECULATIVE_DEFAULT");
    return 1;
}

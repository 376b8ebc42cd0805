/* Unit tests of the footer model (runtime/parquet/meta.c) and statistics
 * values (runtime/parquet/values.c) on footers built byte by byte: valid
 * ones, and the hostile shapes a reader of untrusted bytes must refuse. */
#include <math.h>

#include "lode/parquet/parquet.h"
#include "lode/parquet/thrift.h"
#include "tap.h"
#include "thrift_writer.h"

/* Options for the generated footer. */
typedef struct {
    int omit_num_rows;
    int leaves_in_row_group;        /* column chunks written (default 2) */
    int root_children;              /* default 2 */
    int negative_children;
    int encrypted;
    int bomb_depth;                 /* nesting of an unknown struct field */
    int64_t num_values;
} footer_opts;

static void column_meta(tw *w, int type, const char *name, int64_t num_values)
{
    tw_field_struct(w, 3);
    tw_i32(w, 1, type);
    tw_list(w, 2, LODE_TT_I32, 2);
    tw_zigzag(w, LODE_PQ_PLAIN);
    tw_zigzag(w, LODE_PQ_RLE);
    tw_list(w, 3, LODE_TT_BINARY, 1);
    tw_varint(w, strlen(name));
    tw_raw(w, name, strlen(name));
    tw_i32(w, 4, LODE_PQ_ZSTD);
    tw_i64(w, 5, num_values);
    tw_i64(w, 6, 100);
    tw_i64(w, 7, 80);
    tw_i64(w, 9, 4);
    tw_field_struct(w, 12);             /* statistics */
    if (type == LODE_PQ_INT64) {
        tw_bin(w, 5, "\x10\x00\x00\x00\x00\x00\x00\x00", 8);   /* max_value 16 */
        tw_bin(w, 6, "\xfe\xff\xff\xff\xff\xff\xff\xff", 8);   /* min_value -2 */
    } else {
        tw_bin(w, 5, "zebra", 5);
        tw_bin(w, 6, "apple", 5);
    }
    tw_i64(w, 3, 1);
    tw_struct_end(w);
    tw_struct_end(w);
}

static void build_footer(tw *w, const footer_opts *o)
{
    int leaves = o->leaves_in_row_group ? o->leaves_in_row_group : 2;
    tw_struct_begin(w);
    tw_i32(w, 1, 2);
    tw_list(w, 2, LODE_TT_STRUCT, 3);
    tw_elem_struct(w);                  /* root */
    tw_str(w, 4, "schema");
    tw_i32(w, 5, o->negative_children ? -1 : o->root_children ? o->root_children : 2);
    tw_struct_end(w);
    tw_elem_struct(w);                  /* id: required int64 */
    tw_i32(w, 1, LODE_PQ_INT64);
    tw_i32(w, 3, LODE_PQ_REQUIRED);
    tw_str(w, 4, "id");
    tw_struct_end(w);
    tw_elem_struct(w);                  /* name: optional string with a logical type */
    tw_i32(w, 1, LODE_PQ_BYTE_ARRAY);
    tw_i32(w, 3, LODE_PQ_OPTIONAL);
    tw_str(w, 4, "name");
    tw_i32(w, 6, LODE_PQ_CT_UTF8);
    tw_field_struct(w, 10);
    tw_field_struct(w, 1);              /* STRING */
    tw_struct_end(w);
    tw_struct_end(w);
    tw_struct_end(w);
    if (!o->omit_num_rows) tw_i64(w, 3, 10);
    tw_list(w, 4, LODE_TT_STRUCT, 1);
    tw_elem_struct(w);
    tw_list(w, 1, LODE_TT_STRUCT, (uint32_t)leaves);
    for (int j = 0; j < leaves; j++) {
        tw_elem_struct(w);
        tw_i64(w, 2, 4);
        column_meta(w, j == 0 ? LODE_PQ_INT64 : LODE_PQ_BYTE_ARRAY, j == 0 ? "id" : "name",
                    o->num_values ? o->num_values : 10);
        tw_struct_end(w);
    }
    tw_i64(w, 2, 200);
    tw_i64(w, 3, 10);
    tw_struct_end(w);
    tw_list(w, 5, LODE_TT_STRUCT, 1);
    tw_elem_struct(w);
    tw_str(w, 1, "ARROW:schema");
    tw_bin(w, 2, "\x00\xff\x01", 3);
    tw_struct_end(w);
    tw_str(w, 6, "lode unit test");
    tw_list(w, 7, LODE_TT_STRUCT, 2);
    for (int j = 0; j < 2; j++) {
        tw_elem_struct(w);
        tw_field_struct(w, 1);
        tw_struct_end(w);
        tw_struct_end(w);
    }
    if (o->encrypted) {
        tw_field_struct(w, 8);
        tw_field_struct(w, 1);
        tw_struct_end(w);
        tw_struct_end(w);
    }
    if (o->bomb_depth) {
        for (int i = 0; i < o->bomb_depth; i++) tw_field_struct(w, 100);
        for (int i = 0; i < o->bomb_depth; i++) tw_struct_end(w);
    }
    tw_struct_end(w);
}

static int parse(const footer_opts *o, lode_pq_meta **m, char *err, size_t errlen)
{
    tw w = { 0 };
    build_footer(&w, o);
    int rc = lode_pq_meta_parse(w.buf, w.len, m, err, errlen);
    tw_free(&w);
    return rc;
}

static void test_valid_footer(void)
{
    footer_opts o = { 0 };
    lode_pq_meta *m;
    char err[512];
    ok(parse(&o, &m, err, sizeof err) == 0, "valid footer parses %s", err);
    is_int(m->version, 2, "version");
    is_int(m->n_schema, 3, "schema elements");
    is_int(m->n_leaves, 2, "leaves");
    is_int(lode_pq_meta_rows(m), 10, "rows from row groups");
    char buf[64];
    is_str(lode_pq_leaf_path(m, 1, buf, sizeof buf), "name", "leaf path");
    lode_pq_schema_element *name = &m->schema[m->leaves[1]];
    ok(name->logical.type == LODE_PQ_LT_STRING && name->converted_type == LODE_PQ_CT_UTF8, "logical STRING");
    ok(name->max_def == 1 && name->max_rep == 0, "levels");
    ok(m->n_key_value == 1 && m->key_value[0].value.len == 3 && m->key_value[0].value.ptr[1] == 0xff,
       "key-value blobs kept as bytes");
    ok(m->has_created_by && m->created_by.len == 14, "created_by");
    ok(m->n_column_orders == 2 && m->column_orders[0] == LODE_PQ_ORDER_TYPE, "column orders");
    lode_pq_column_meta *cm = m->row_groups[0].columns[0].meta;
    ok(cm && cm->codec == LODE_PQ_ZSTD && cm->n_encodings == 2 && cm->num_values == 10, "column meta");
    lode_pq_value lo, hi;
    lode_pq_stats_minmax(m, 0, &cm->statistics, &lo, &hi);
    ok(lo.kind == LODE_PQ_V_INT && lo.i == -2 && hi.i == 16, "INT64 min_value/max_value with TYPE_ORDER");
    lode_pq_stats_minmax(m, 1, &m->row_groups[0].columns[1].meta->statistics, &lo, &hi);
    ok(lo.kind == LODE_PQ_V_BYTES && lo.bytes.len == 5 && memcmp(hi.bytes.ptr, "zebra", 5) == 0,
       "string stats with TYPE_ORDER");
    lode_pq_meta_free(m);
}

static void test_rejected(void)
{
    lode_pq_meta *m = NULL;
    char err[512];
    footer_opts o = { 0 };

    o.omit_num_rows = 1;
    ok(parse(&o, &m, err, sizeof err) < 0 && strstr(err, "missing required field num_rows"),
       "missing required field: %s", err);
    o = (footer_opts){ .leaves_in_row_group = 1 };
    ok(parse(&o, &m, err, sizeof err) < 0 && strstr(err, "1 columns but the schema has 2 leaves"),
       "row group column count differs from leaves: %s", err);
    o = (footer_opts){ .negative_children = 1 };
    ok(parse(&o, &m, err, sizeof err) < 0 && strstr(err, "negative num_children"), "negative num_children: %s", err);
    o = (footer_opts){ .root_children = 5 };
    ok(parse(&o, &m, err, sizeof err) < 0 && strstr(err, "promise more elements"), "num_children too large: %s", err);
    o = (footer_opts){ .root_children = 1 };
    ok(parse(&o, &m, err, sizeof err) < 0 && strstr(err, "tree holds"), "elements outside the tree: %s", err);
    o = (footer_opts){ .encrypted = 1 };
    ok(parse(&o, &m, err, sizeof err) == LODE_PQ_ENCRYPTED && strstr(err, "encrypted"), "plaintext-footer encryption: %s", err);
    o = (footer_opts){ .bomb_depth = 200 };
    ok(parse(&o, &m, err, sizeof err) < 0 && strstr(err, "nesting deeper than 64"), "depth bomb: %s", err);
    o = (footer_opts){ .bomb_depth = 50 };
    ok(parse(&o, &m, err, sizeof err) == 0, "nesting of 50 unknown structs is skipped");
    lode_pq_meta_free(m);
    o = (footer_opts){ .num_values = -5 };
    ok(parse(&o, &m, err, sizeof err) < 0 && strstr(err, "negative num_values") &&
       strstr(err, "FileMetaData.row_groups[0].columns[0].meta_data"), "negative count, with its path: %s", err);

    /* every truncation of a valid footer fails cleanly */
    tw w = { 0 };
    build_footer(&w, &(footer_opts){ 0 });
    int all = 1;
    for (size_t cut = 0; cut < w.len; cut++) {
        if (lode_pq_meta_parse(w.buf, cut, &m, err, sizeof err) == 0) {
            all = 0;
            lode_pq_meta_free(m);
        }
    }
    ok(all, "all %zu truncations of the footer are rejected", w.len);
    tw_free(&w);

    /* a list claiming 2^30 row groups in a few bytes */
    tw_struct_begin(&w);
    tw_i32(&w, 1, 1);
    tw_list(&w, 4, LODE_TT_STRUCT, 1u << 30);
    tw_struct_end(&w);
    ok(lode_pq_meta_parse(w.buf, w.len, &m, err, sizeof err) < 0 && strstr(err, "elements"),
       "huge list size rejected: %s", err);
    tw_free(&w);

    /* many tiny struct elements: the model stays within its memory budget */
    tw_struct_begin(&w);
    tw_i32(&w, 1, 1);
    tw_list(&w, 2, LODE_TT_STRUCT, 200000);
    for (int i = 0; i < 200000; i++) {
        tw_byte(&w, 0x48);      /* name: binary */
        tw_byte(&w, 0);
        tw_byte(&w, 0);
    }
    tw_struct_end(&w);
    int rc = lode_pq_meta_parse(w.buf, w.len, &m, err, sizeof err);
    ok(rc < 0, "200k empty schema elements: rejected (%s)", err);
    tw_free(&w);

    /* a deep schema chain of groups */
    tw_struct_begin(&w);
    tw_i32(&w, 1, 1);
    tw_list(&w, 2, LODE_TT_STRUCT, 1001);
    for (int i = 0; i < 1000; i++) {
        tw_elem_struct(&w);
        tw_str(&w, 4, "g");
        tw_i32(&w, 5, 1);
        tw_struct_end(&w);
    }
    tw_elem_struct(&w);
    tw_i32(&w, 1, LODE_PQ_INT32);
    tw_str(&w, 4, "x");
    tw_struct_end(&w);
    tw_i64(&w, 3, 0);
    tw_list(&w, 4, LODE_TT_STRUCT, 0);
    tw_struct_end(&w);
    ok(lode_pq_meta_parse(w.buf, w.len, &m, err, sizeof err) < 0 && strstr(err, "schema nested deeper"),
       "schema chain of 1000 groups rejected: %s", err);
    tw_free(&w);
}

static void test_tail(void)
{
    char err[256];
    uint32_t n;
    static const struct { const char *bytes; uint64_t size; const char *want; } cases[] = {
        { "\0\0\0\0\0\0\0\0", 0, "too small" },
        { "AAAAPAR0", 100, "no PAR1 magic" },
        { "\0\0\0APAR1", 5, "too small" },
        { "\xff\xff\xff\x0fPAR1", 100, "larger than the file" },
        { "\0\0\0\0PAR1", 100, "footer length 0" },
        { "\xff\xff\xff\xffPAR1", 100, "footer length -1" },
        { "\x59\0\0\0PAR1", 100, "larger than the file" },
        { "\x10\0\0\0PARE", 100, "encrypted" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = lode_pq_footer_tail((const uint8_t *)cases[i].bytes, cases[i].size, &n, err, sizeof err);
        ok(rc < 0 && strstr(err, cases[i].want), "tail %zu rejected: %s", i, err);
    }
    ok(lode_pq_footer_tail((const uint8_t *)"\x58\0\0\0PAR1", 100, &n, err, sizeof err) == 0 && n == 88,
       "footer of 88 bytes in a 100-byte file is accepted");
}

static lode_pq_schema_element leaf(int type, int lt, int ct)
{
    lode_pq_schema_element el;
    memset(&el, 0, sizeof el);
    el.type = type;
    el.logical.type = lt;
    el.converted_type = ct;
    el.scale = el.precision = el.type_length = -1;
    return el;
}

static const char *decode_text(lode_pq_schema_element *el, const void *bytes, uint32_t len)
{
    static lode_pq_value v;
    lode_pq_bytes b = { bytes, len };
    if (lode_pq_value_decode(el, b, &v) < 0) return "<error>";
    if (v.kind == LODE_PQ_V_TEXT) return v.text;
    static char buf[64];
    if (v.kind == LODE_PQ_V_INT) snprintf(buf, sizeof buf, "%lld", (long long)v.i);
    else if (v.kind == LODE_PQ_V_DOUBLE) snprintf(buf, sizeof buf, "%g", v.d);
    else if (v.kind == LODE_PQ_V_BOOL) snprintf(buf, sizeof buf, "%s", v.b ? "true" : "false");
    else snprintf(buf, sizeof buf, "<bytes %u>", v.bytes.len);
    return buf;
}

static void test_values(void)
{
    lode_pq_schema_element el = leaf(LODE_PQ_INT32, LODE_PQ_LT_DECIMAL, LODE_PQ_CT_DECIMAL);
    el.logical.precision = 9;
    el.logical.scale = 2;
    is_str(decode_text(&el, "\x85\xff\xff\xff", 4), "-1.23", "INT32 DECIMAL(9,2) negative");
    is_str(decode_text(&el, "\x05\x00\x00\x00", 4), "0.05", "INT32 DECIMAL leading zero");
    el = leaf(LODE_PQ_FIXED_LEN_BYTE_ARRAY, LODE_PQ_LT_DECIMAL, -1);
    el.logical.precision = 38;
    el.logical.scale = 0;
    is_str(decode_text(&el, "\x7f\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16),
           "170141183460469231731687303715884105727", "FLBA(16) DECIMAL max 2^127-1");
    is_str(decode_text(&el, "\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16),
           "-170141183460469231731687303715884105728", "FLBA(16) DECIMAL min -2^127");
    el.logical.scale = 3;
    is_str(decode_text(&el, "\xff\xff", 2), "-0.001", "two's complement -1 at scale 3");
    el = leaf(LODE_PQ_INT32, LODE_PQ_LT_DATE, LODE_PQ_CT_DATE);
    is_str(decode_text(&el, "\x00\x00\x00\x00", 4), "1970-01-01", "DATE epoch");
    is_str(decode_text(&el, "\xff\xff\xff\xff", 4), "1969-12-31", "DATE -1");
    is_str(decode_text(&el, "\x46\x4d\x00\x00", 4), "2024-02-29", "DATE leap day (19782)");
    el = leaf(LODE_PQ_INT64, LODE_PQ_LT_TIMESTAMP, -1);
    el.logical.unit = LODE_PQ_MICROS;
    el.logical.is_adjusted_to_utc = 1;
    int64_t us = 1709164800123456LL;    /* 2024-02-29T00:00:00.123456Z */
    uint8_t b8[8];
    for (int i = 0; i < 8; i++) b8[i] = (uint8_t)((uint64_t)us >> (8 * i));
    is_str(decode_text(&el, b8, 8), "2024-02-29T00:00:00.123456Z", "TIMESTAMP(MICROS, UTC)");
    el.logical.is_adjusted_to_utc = 0;
    el.logical.unit = LODE_PQ_MILLIS;
    int64_t ms = -1;
    for (int i = 0; i < 8; i++) b8[i] = (uint8_t)((uint64_t)ms >> (8 * i));
    is_str(decode_text(&el, b8, 8), "1969-12-31T23:59:59.999", "TIMESTAMP(MILLIS, local) before the epoch");
    el = leaf(LODE_PQ_INT64, LODE_PQ_LT_INTEGER, LODE_PQ_CT_UINT_64);
    el.logical.bit_width = 64;
    is_str(decode_text(&el, "\xff\xff\xff\xff\xff\xff\xff\xff", 8), "18446744073709551615", "UINT64 max as text");
    el = leaf(LODE_PQ_INT32, LODE_PQ_LT_NONE, LODE_PQ_CT_UINT_32);
    is_str(decode_text(&el, "\xff\xff\xff\xff", 4), "4294967295", "UINT_32 max as integer");
    el = leaf(LODE_PQ_FIXED_LEN_BYTE_ARRAY, LODE_PQ_LT_UUID, -1);
    is_str(decode_text(&el, "\x12\x34\x56\x78\x9a\xbc\xde\xf0\x12\x34\x56\x78\x9a\xbc\xde\xf0", 16),
           "12345678-9abc-def0-1234-56789abcdef0", "UUID");
    el = leaf(LODE_PQ_FIXED_LEN_BYTE_ARRAY, LODE_PQ_LT_FLOAT16, -1);
    is_str(decode_text(&el, "\x00\x3c", 2), "1", "FLOAT16 1.0");
    is_str(decode_text(&el, "\x00\xc0", 2), "-2", "FLOAT16 -2.0");
    el = leaf(LODE_PQ_INT64, LODE_PQ_LT_TIME, -1);
    el.logical.unit = LODE_PQ_NANOS;
    int64_t ns = 3723000000001LL;       /* 01:02:03.000000001 */
    for (int i = 0; i < 8; i++) b8[i] = (uint8_t)((uint64_t)ns >> (8 * i));
    is_str(decode_text(&el, b8, 8), "01:02:03.000000001", "TIME(NANOS)");
    el = leaf(LODE_PQ_INT96, LODE_PQ_LT_NONE, -1);
    /* 2440589 = 1970-01-02, 1 second of nanoseconds */
    is_str(decode_text(&el, "\x00\xca\x9a\x3b\x00\x00\x00\x00\x8d\x3d\x25\x00", 12), "1970-01-02T00:00:01",
           "INT96 Julian day + nanoseconds");
    el = leaf(LODE_PQ_INT32, LODE_PQ_LT_NONE, -1);
    is_str(decode_text(&el, "\x01\x02", 2), "<error>", "wrong width rejected");
}

int main(void)
{
    test_valid_footer();
    test_rejected();
    test_tail();
    test_values();
    return done_testing();
}

/* Unit tests of the Thrift compact decoder (runtime/parquet/thrift.c) and the page
 * header parser built on it, on bytes built here by tests/unit/thrift_writer.h
 * and by hand. */
#include <math.h>

#include "lode/parquet/parquet.h"
#include "lode/parquet/thrift.h"
#include "tap.h"
#include "thrift_writer.h"

static void test_varints(void)
{
    static const uint8_t b[] = { 0x00, 0x7f, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02 };
    lode_thrift t;
    uint64_t v;
    lode_thrift_init(&t, b, sizeof b);
    ok(lode_thrift_varint(&t, &v, 10) == 0 && v == 0, "varint 0");
    ok(lode_thrift_varint(&t, &v, 10) == 0 && v == 127, "varint 127");
    ok(lode_thrift_varint(&t, &v, 10) == 0 && v == 128, "varint 128 (two bytes)");
    ok(lode_thrift_varint(&t, &v, 10) == 0 && v == 0xffffffffu, "varint 2^32-1");
    is_int(lode_thrift_unzigzag(1), -1, "zigzag 1 -> -1");
    is_int(lode_thrift_unzigzag(2), 1, "zigzag 2 -> 1");
    is_int(lode_thrift_unzigzag(0xffffffffffffffffull), INT64_MIN, "zigzag max -> INT64_MIN");

    static const uint8_t over[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
    lode_thrift_init(&t, over, sizeof over);
    ok(lode_thrift_varint(&t, &v, 10) < 0 && strstr(t.err, "overflows"), "10-byte varint above 2^64 rejected: %s", t.err);

    static const uint8_t i32long[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
    int32_t x;
    lode_thrift_init(&t, i32long, sizeof i32long);
    ok(lode_thrift_read_i32(&t, LODE_TT_I32, &x) < 0, "i32 varint longer than 5 bytes rejected: %s", t.err);

    static const uint8_t cut[] = { 0x80, 0x80 };
    lode_thrift_init(&t, cut, sizeof cut);
    ok(lode_thrift_varint(&t, &v, 10) < 0 && t.truncated, "varint cut short is 'truncated'");

    static const uint8_t big[] = { 0xfe, 0xff, 0xff, 0xff, 0x0f };   /* zigzag 2^32-2 -> 2^31-1 */
    lode_thrift_init(&t, big, sizeof big);
    ok(lode_thrift_read_i32(&t, LODE_TT_I32, &x) == 0 && x == INT32_MAX, "i32 max");
    static const uint8_t big2[] = { 0x80, 0x80, 0x80, 0x80, 0x10 };  /* 2^32 zigzag -> 2^31 */
    lode_thrift_init(&t, big2, sizeof big2);
    ok(lode_thrift_read_i32(&t, LODE_TT_I32, &x) < 0, "i32 out of range rejected");
}

/* A struct exercising every wire type; fields 1..3 are "known", the rest skipped. */
static void test_struct_walk(void)
{
    tw w = { 0 };
    tw_struct_begin(&w);
    tw_i32(&w, 1, -5);
    tw_bool(&w, 2, 1);
    tw_bool(&w, 3, 0);
    tw_str(&w, 4, "hello");
    tw_field(&w, 5, LODE_TT_DOUBLE);
    double d = 2.5;
    uint64_t bits;
    memcpy(&bits, &d, 8);
    for (int i = 0; i < 8; i++) tw_byte(&w, (uint8_t)(bits >> (8 * i)));
    tw_i64(&w, 300, INT64_MIN);             /* long-form field id */
    tw_list(&w, 301, LODE_TT_TRUE, 3);      /* list<bool> */
    tw_byte(&w, 1); tw_byte(&w, 0); tw_byte(&w, 2);
    tw_field(&w, 302, LODE_TT_MAP);         /* map<string,i32> of 2 */
    tw_varint(&w, 2);
    tw_byte(&w, (uint8_t)(LODE_TT_BINARY << 4 | LODE_TT_I32));
    tw_varint(&w, 1); tw_byte(&w, 'a'); tw_zigzag(&w, 1);
    tw_varint(&w, 1); tw_byte(&w, 'b'); tw_zigzag(&w, 2);
    tw_field(&w, 303, LODE_TT_MAP);         /* empty map */
    tw_varint(&w, 0);
    tw_field_struct(&w, 304);               /* nested struct with a set of lists */
    tw_list(&w, 1, LODE_TT_LIST, 2);
    tw_byte(&w, 0x15); tw_zigzag(&w, 9);
    tw_byte(&w, 0x05);
    tw_i8(&w, 2, -3);
    tw_struct_end(&w);
    tw_field(&w, 305, LODE_TT_UUID);
    for (int i = 0; i < 16; i++) tw_byte(&w, (uint8_t)i);
    tw_i32(&w, 306, 77);
    tw_struct_end(&w);

    lode_thrift t;
    lode_thrift_init(&t, w.buf, w.len);
    lode_thrift_field f;
    int32_t a = 0, last = 0;
    int b2 = -1, b3 = -1;
    const uint8_t *s = NULL;
    uint32_t slen = 0;
    double dv = 0;
    int64_t big = 0;
    int nfields = 0;
    ok(lode_thrift_struct_begin(&t, "Test") == 0, "struct begin");
    int r;
    while ((r = lode_thrift_next_field(&t, &f)) > 0) {
        nfields++;
        switch (f.id) {
        case 1: lode_thrift_read_i32(&t, f.type, &a); break;
        case 2: lode_thrift_field_bool(&t, &f, &b2); break;
        case 3: lode_thrift_field_bool(&t, &f, &b3); break;
        case 4: lode_thrift_read_binary(&t, f.type, &s, &slen); break;
        case 5: lode_thrift_read_double(&t, f.type, &dv); break;
        case 300: lode_thrift_read_i64(&t, f.type, &big); break;
        case 306: lode_thrift_read_i32(&t, f.type, &last); break;
        default: lode_thrift_skip(&t, f.type);
        }
    }
    lode_thrift_struct_end(&t);
    ok(r == 0 && !t.failed, "walked to STOP without error %s", t.err);
    is_int(nfields, 12, "saw every field");
    is_int(a, -5, "negative i32");
    ok(b2 == 1 && b3 == 0, "bools packed in field headers");
    ok(slen == 5 && memcmp(s, "hello", 5) == 0, "binary points into the buffer");
    ok(dv == 2.5, "double little-endian");
    ok(big == INT64_MIN, "i64 min with long-form field id");
    is_int(last, 77, "field after skipped list/map/set/struct/uuid decoded (delta from id 305)");
    is_int(lode_thrift_offset(&t), w.len, "consumed exactly the buffer");
    tw_free(&w);
}

static void test_hostile(void)
{
    lode_thrift t;
    /* depth bomb: 100 nested struct fields, skipped */
    tw w = { 0 };
    tw_struct_begin(&w);
    for (int i = 0; i < 100; i++) tw_field_struct(&w, 1);
    for (int i = 0; i < 100; i++) tw_struct_end(&w);
    tw_struct_end(&w);
    lode_thrift_init(&t, w.buf, w.len);
    lode_thrift_struct_begin(&t, "Bomb");
    lode_thrift_field f;
    int r = lode_thrift_next_field(&t, &f);
    ok(r == 1 && lode_thrift_skip(&t, f.type) < 0 && strstr(t.err, "nesting deeper than 64"),
       "depth bomb rejected: %s", t.err);
    ok(strstr(t.err, "(in Bomb)") != NULL, "error names the context");
    tw_free(&w);

    /* nested lists bomb */
    uint8_t lists[200];
    for (int i = 0; i < 200; i++) lists[i] = 0x19;   /* list of 1 element of type list */
    lode_thrift_init(&t, lists, sizeof lists);
    ok(lode_thrift_skip(&t, LODE_TT_LIST) < 0 && strstr(t.err, "nesting"), "list nesting bomb rejected");

    /* huge list count versus bytes left */
    static const uint8_t huge[] = { 0xf5, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00 };
    uint8_t et;
    uint32_t n;
    lode_thrift_init(&t, huge, sizeof huge);
    ok(lode_thrift_list_begin(&t, LODE_TT_LIST, &et, &n) < 0 && strstr(t.err, "elements"),
       "list of 2^31 i32 in 7 bytes rejected: %s", t.err);
    lode_thrift_init(&t, huge, sizeof huge);
    t.max_container = 10;
    static const uint8_t eleven[] = { 0xf5, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    lode_thrift_init(&t, eleven, sizeof eleven);
    t.max_container = 10;
    ok(lode_thrift_list_begin(&t, LODE_TT_LIST, &et, &n) < 0 && strstr(t.err, "limit"), "container cap enforced");
    static const uint8_t hugemap[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x55, 0, 0 };
    lode_thrift_init(&t, hugemap, sizeof hugemap);
    uint8_t kt, vt;
    ok(lode_thrift_map_begin(&t, LODE_TT_MAP, &kt, &vt, &n) < 0, "huge map count rejected");

    /* string longer than the buffer */
    static const uint8_t longstr[] = { 0x64, 'a', 'b' };
    const uint8_t *p;
    uint32_t len;
    lode_thrift_init(&t, longstr, sizeof longstr);
    ok(lode_thrift_read_binary(&t, LODE_TT_BINARY, &p, &len) < 0 && t.truncated, "string past the end rejected");

    /* invalid field type 14/15 */
    static const uint8_t badtype[] = { 0x1e };
    lode_thrift_init(&t, badtype, sizeof badtype);
    lode_thrift_struct_begin(&t, NULL);
    ok(lode_thrift_next_field(&t, &f) < 0 && strstr(t.err, "invalid field type"), "field type 14 rejected");

    /* first error sticks */
    lode_thrift_init(&t, badtype, sizeof badtype);
    lode_thrift_fail(&t, "first");
    lode_thrift_fail(&t, "second");
    ok(strncmp(t.err, "first", 5) == 0, "the first failure message is kept");
    int32_t x;
    ok(lode_thrift_read_i32(&t, LODE_TT_I32, &x) < 0, "calls after a failure fail");

    /* every prefix of a valid struct fails cleanly as truncated */
    tw v = { 0 };
    tw_struct_begin(&v);
    tw_i32(&v, 1, 1000);
    tw_str(&v, 2, "xyz");
    tw_list(&v, 3, LODE_TT_I64, 2);
    tw_zigzag(&v, 1); tw_zigzag(&v, 2);
    tw_struct_end(&v);
    int all = 1;
    for (size_t cut = 0; cut < v.len; cut++) {
        lode_thrift_init(&t, v.buf, cut);
        if (lode_thrift_skip(&t, LODE_TT_STRUCT) == 0 || !t.truncated) all = 0;
    }
    ok(all, "each of %zu prefixes is rejected as truncated", v.len);
    lode_thrift_init(&t, v.buf, v.len);
    ok(lode_thrift_skip(&t, LODE_TT_STRUCT) == 0 && lode_thrift_left(&t) == 0, "the whole struct skips");
    tw_free(&v);
}

static void write_stats(tw *w, int16_t id)
{
    tw_field_struct(w, id);
    tw_bin(w, 1, "\x09\x00\x00\x00", 4);
    tw_bin(w, 2, "\x01\x00\x00\x00", 4);
    tw_i64(w, 3, 2);
    tw_struct_end(w);
}

static void test_page_headers(void)
{
    char err[256];
    lode_pq_page_header h;
    size_t used = 0;

    /* DATA_PAGE v1 with statistics and crc */
    tw w = { 0 };
    tw_struct_begin(&w);
    tw_i32(&w, 1, LODE_PQ_DATA_PAGE);
    tw_i32(&w, 2, 1000);
    tw_i32(&w, 3, 600);
    tw_i32(&w, 4, -12345);
    tw_field_struct(&w, 5);
    tw_i32(&w, 1, 250);
    tw_i32(&w, 2, LODE_PQ_RLE_DICTIONARY);
    tw_i32(&w, 3, LODE_PQ_RLE);
    tw_i32(&w, 4, LODE_PQ_RLE);
    write_stats(&w, 5);
    tw_struct_end(&w);
    tw_i32(&w, 99, 1);          /* a field from the future */
    tw_struct_end(&w);
    size_t hlen = w.len;
    tw_raw(&w, "page bytes follow", 17);
    int rc = lode_pq_page_header_parse(w.buf, w.len, &h, &used, err, sizeof err);
    ok(rc == 0, "v1 data page header parses %s", rc ? err : "");
    is_int(used, hlen, "header length excludes the page bytes");
    ok(h.type == LODE_PQ_DATA_PAGE && h.uncompressed_page_size == 1000 && h.compressed_page_size == 600,
       "type and sizes");
    ok(h.has_crc && h.crc == -12345, "crc");
    ok(h.has_data_page_header && h.data_page_header.num_values == 250 &&
       h.data_page_header.encoding == LODE_PQ_RLE_DICTIONARY, "DataPageHeader fields");
    ok(h.data_page_header.has_statistics && h.data_page_header.statistics.has_null_count &&
       h.data_page_header.statistics.null_count == 2 && h.data_page_header.statistics.min.len == 4 &&
       h.data_page_header.statistics.min.ptr[0] == 1, "page statistics point into the buffer");
    int need_more = 1;
    for (size_t cut = 0; cut < hlen; cut++)
        if (lode_pq_page_header_parse(w.buf, cut, &h, &used, err, sizeof err) != LODE_PQ_NEED_MORE) need_more = 0;
    ok(need_more, "every truncation of the header asks for more bytes");
    tw_free(&w);

    /* DATA_PAGE_V2: is_compressed defaults to true, explicit false honoured */
    for (int explicit_false = 0; explicit_false < 2; explicit_false++) {
        tw_struct_begin(&w);
        tw_i32(&w, 1, LODE_PQ_DATA_PAGE_V2);
        tw_i32(&w, 2, 100);
        tw_i32(&w, 3, 80);
        tw_field_struct(&w, 8);
        tw_i32(&w, 1, 10);
        tw_i32(&w, 2, 3);
        tw_i32(&w, 3, 10);
        tw_i32(&w, 4, LODE_PQ_PLAIN);
        tw_i32(&w, 5, 4);
        tw_i32(&w, 6, 0);
        if (explicit_false) tw_bool(&w, 7, 0);
        tw_struct_end(&w);
        tw_struct_end(&w);
        rc = lode_pq_page_header_parse(w.buf, w.len, &h, &used, err, sizeof err);
        ok(rc == 0 && h.has_data_page_header_v2 && h.data_page_header_v2.num_nulls == 3 &&
           h.data_page_header_v2.definition_levels_byte_length == 4 &&
           h.data_page_header_v2.is_compressed == !explicit_false,
           "v2 header, is_compressed %s", explicit_false ? "false as written" : "defaults to true");
        tw_free(&w);
    }

    /* DICTIONARY_PAGE */
    tw_struct_begin(&w);
    tw_i32(&w, 1, LODE_PQ_DICTIONARY_PAGE);
    tw_i32(&w, 2, 64);
    tw_i32(&w, 3, 64);
    tw_field_struct(&w, 7);
    tw_i32(&w, 1, 8);
    tw_i32(&w, 2, LODE_PQ_PLAIN_DICTIONARY);
    tw_bool(&w, 3, 1);
    tw_struct_end(&w);
    tw_struct_end(&w);
    rc = lode_pq_page_header_parse(w.buf, w.len, &h, &used, err, sizeof err);
    ok(rc == 0 && h.dictionary_page_header.num_values == 8 && h.dictionary_page_header.is_sorted,
       "dictionary page header");
    tw_free(&w);

    /* negative dictionary num_values (bad_data ARROW-RS-GH-6229-DICTHEADER) */
    tw_struct_begin(&w);
    tw_i32(&w, 1, LODE_PQ_DICTIONARY_PAGE);
    tw_i32(&w, 2, 64);
    tw_i32(&w, 3, 64);
    tw_field_struct(&w, 7);
    tw_i32(&w, 1, -1);
    tw_i32(&w, 2, LODE_PQ_PLAIN);
    tw_struct_end(&w);
    tw_struct_end(&w);
    rc = lode_pq_page_header_parse(w.buf, w.len, &h, &used, err, sizeof err);
    ok(rc == -1 && strstr(err, "negative num_values") && strstr(err, "dictionary_page_header"),
       "negative dictionary num_values rejected: %s", err);
    tw_free(&w);

    /* negative page size, unknown page type, missing sub-header */
    tw_struct_begin(&w);
    tw_i32(&w, 1, LODE_PQ_DATA_PAGE);
    tw_i32(&w, 2, -1);
    tw_i32(&w, 3, 10);
    tw_struct_end(&w);
    rc = lode_pq_page_header_parse(w.buf, w.len, &h, &used, err, sizeof err);
    ok(rc == -1 && strstr(err, "negative uncompressed_page_size"), "negative page size: %s", err);
    tw_free(&w);
    tw_struct_begin(&w);
    tw_i32(&w, 1, 7);
    tw_i32(&w, 2, 1);
    tw_i32(&w, 3, 1);
    tw_struct_end(&w);
    rc = lode_pq_page_header_parse(w.buf, w.len, &h, &used, err, sizeof err);
    ok(rc == -1 && strstr(err, "invalid page type 7"), "unknown page type: %s", err);
    tw_free(&w);
    tw_struct_begin(&w);
    tw_i32(&w, 1, LODE_PQ_DATA_PAGE);
    tw_i32(&w, 2, 1);
    tw_i32(&w, 3, 1);
    tw_struct_end(&w);
    rc = lode_pq_page_header_parse(w.buf, w.len, &h, &used, err, sizeof err);
    ok(rc == -1 && strstr(err, "lacks"), "data page without DataPageHeader: %s", err);
    tw_free(&w);
    tw_struct_begin(&w);
    tw_i32(&w, 1, LODE_PQ_DATA_PAGE);
    tw_i32(&w, 3, 1);
    tw_struct_end(&w);
    rc = lode_pq_page_header_parse(w.buf, w.len, &h, &used, err, sizeof err);
    ok(rc == -1 && strstr(err, "missing required field uncompressed_page_size"), "required field: %s", err);
    tw_free(&w);
}

int main(void)
{
    test_varints();
    test_struct_walk();
    test_hostile();
    test_page_headers();
    return done_testing();
}

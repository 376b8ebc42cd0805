/* thrift_writer.h — a minimal Thrift compact *encoder* for unit tests, so
 * footers and page headers (valid and hostile) are built byte by byte here
 * instead of shipped as binaries.
 *
 *   tw w = {0};
 *   tw_struct_begin(&w);
 *   tw_i32(&w, 1, 0);            // field 1 = 0
 *   tw_struct_end(&w);           // STOP
 *   ... w.buf, w.len ...; tw_free(&w);
 */
#ifndef LODE_THRIFT_WRITER_H
#define LODE_THRIFT_WRITER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int16_t last[512];
    int depth;
} tw;

static __attribute__((unused)) void tw_byte(tw *w, uint8_t b)
{
    if (w->len == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 256;
        w->buf = realloc(w->buf, w->cap);
    }
    w->buf[w->len++] = b;
}

static __attribute__((unused)) void tw_raw(tw *w, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) tw_byte(w, ((const uint8_t *)p)[i]);
}

static __attribute__((unused)) void tw_varint(tw *w, uint64_t v)
{
    while (v >= 0x80) {
        tw_byte(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    tw_byte(w, (uint8_t)v);
}

static __attribute__((unused)) void tw_zigzag(tw *w, int64_t v)
{
    tw_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static __attribute__((unused)) void tw_field(tw *w, int16_t id, uint8_t type)
{
    int16_t d = id - w->last[w->depth];
    if (d > 0 && d <= 15) {
        tw_byte(w, (uint8_t)(d << 4 | type));
    } else {
        tw_byte(w, type);
        tw_zigzag(w, id);
    }
    w->last[w->depth] = id;
}

static __attribute__((unused)) void tw_struct_begin(tw *w) { w->last[++w->depth] = 0; }
static __attribute__((unused)) void tw_struct_end(tw *w) { tw_byte(w, 0); w->depth--; }
/* a struct-valued field: header, then enter */
static __attribute__((unused)) void tw_field_struct(tw *w, int16_t id) { tw_field(w, id, 12); tw_struct_begin(w); }
static __attribute__((unused)) void tw_i32(tw *w, int16_t id, int32_t v) { tw_field(w, id, 5); tw_zigzag(w, v); }
static __attribute__((unused)) void tw_i64(tw *w, int16_t id, int64_t v) { tw_field(w, id, 6); tw_zigzag(w, v); }
static __attribute__((unused)) void tw_i8(tw *w, int16_t id, int8_t v) { tw_field(w, id, 3); tw_byte(w, (uint8_t)v); }
static __attribute__((unused)) void tw_bool(tw *w, int16_t id, int v) { tw_field(w, id, v ? 1 : 2); }
static __attribute__((unused)) void tw_bin(tw *w, int16_t id, const void *p, size_t n)
{
    tw_field(w, id, 8);
    tw_varint(w, n);
    tw_raw(w, p, n);
}
static __attribute__((unused)) void tw_str(tw *w, int16_t id, const char *s) { tw_bin(w, id, s, strlen(s)); }
/* list header (field form): elements follow, written by the caller */
static __attribute__((unused)) void tw_list(tw *w, int16_t id, uint8_t elem_type, uint32_t n)
{
    tw_field(w, id, 9);
    if (n < 15) {
        tw_byte(w, (uint8_t)(n << 4 | elem_type));
    } else {
        tw_byte(w, (uint8_t)(0xf0 | elem_type));
        tw_varint(w, n);
    }
}
/* a struct element of a list: enter; end with tw_struct_end */
static __attribute__((unused)) void tw_elem_struct(tw *w) { tw_struct_begin(w); }
static __attribute__((unused)) void tw_free(tw *w) { free(w->buf); memset(w, 0, sizeof *w); }

#endif

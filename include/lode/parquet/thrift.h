/* lode/parquet/thrift.h — a decoder for the Thrift compact protocol over a byte
 * buffer in memory (Parquet footers and page headers). No allocation, no
 * libthrift: the caller walks structs field by field and skips what it does
 * not know, so footers from newer writers still parse.
 *
 *   lode_thrift t;
 *   lode_thrift_init(&t, buf, len);
 *   lode_thrift_field f;
 *   if (lode_thrift_struct_begin(&t, "PageHeader") < 0) ...
 *   while (lode_thrift_next_field(&t, &f) > 0) {
 *       switch (f.id) {
 *       case 1: lode_thrift_read_i32(&t, &f, &h->type); break;
 *       default: lode_thrift_skip(&t, f.type);
 *       }
 *   }
 *   lode_thrift_struct_end(&t);
 *   if (t.failed) puts(t.err);   // "... at byte 17 (in PageHeader.data_page_header)"
 *
 * Guards: nesting ≤ LODE_THRIFT_MAX_DEPTH; every length and element count is
 * checked against the bytes left (each element takes at least one byte, so a
 * count larger than the bytes left is a lie); varints longer than their type
 * allows are rejected. After the first failure every call fails fast and
 * t->err keeps the first message; t->truncated says the input ended early
 * (so a streaming caller may retry with more bytes).
 */
#ifndef LODE_THRIFT_H
#define LODE_THRIFT_H

#include <stddef.h>
#include <stdint.h>

#define LODE_THRIFT_MAX_DEPTH 64

/* Compact-protocol wire types (the low nibble of a field header). */
enum {
    LODE_TT_STOP = 0,
    LODE_TT_TRUE = 1,     /* bool true in a field header; "bool" as a list element type */
    LODE_TT_FALSE = 2,
    LODE_TT_I8 = 3,
    LODE_TT_I16 = 4,
    LODE_TT_I32 = 5,
    LODE_TT_I64 = 6,
    LODE_TT_DOUBLE = 7,
    LODE_TT_BINARY = 8,
    LODE_TT_LIST = 9,
    LODE_TT_SET = 10,
    LODE_TT_MAP = 11,
    LODE_TT_STRUCT = 12,
    LODE_TT_UUID = 13
};

typedef struct lode_thrift {
    const uint8_t *start, *p, *end;
    int depth;
    int failed;
    int truncated;              /* the failure was running out of bytes */
    uint32_t max_container;     /* cap on list/set/map sizes (default 1<<26) */
    uint32_t max_binary;        /* cap on one string's length (default 1<<30) */
    int16_t last_id[LODE_THRIFT_MAX_DEPTH + 1];   /* previous field id per struct level */
    int nctx;                   /* names of the structs/fields being read, for errors */
    struct { const char *name; int64_t index; } ctx[LODE_THRIFT_MAX_DEPTH + 2];
    char err[256];
} lode_thrift;

typedef struct {
    int16_t id;
    uint8_t type;               /* LODE_TT_* */
} lode_thrift_field;

/* Start decoding buf[0..len). */
void lode_thrift_init(lode_thrift *t, const void *buf, size_t len);
/* Bytes consumed so far. */
static inline size_t lode_thrift_offset(const lode_thrift *t) { return (size_t)(t->p - t->start); }
/* Bytes left. */
static inline size_t lode_thrift_left(const lode_thrift *t) { return (size_t)(t->end - t->p); }

/* Record a failure (the first one wins); always returns -1. The message gets
 * " at byte N (in A.b[2].c)" appended from the context stack. */
int lode_thrift_fail(lode_thrift *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Context for error messages: name a struct or field being read (index < 0
 * for none, else a list position). Push/pop must pair. */
void lode_thrift_ctx_push(lode_thrift *t, const char *name, int64_t index);
void lode_thrift_ctx_pop(lode_thrift *t);

/* Enter a struct (depth-checked; pushes `name` on the context, may be NULL),
 * leave it after lode_thrift_next_field returned 0. 0 or -1. */
int lode_thrift_struct_begin(lode_thrift *t, const char *name);
int lode_thrift_struct_end(lode_thrift *t);
/* Next field header: 1 with *f filled, 0 at the struct's STOP, -1 on error. */
int lode_thrift_next_field(lode_thrift *t, lode_thrift_field *f);

/* Readers of one value of the field or element type `type`. Each returns 0,
 * or -1 (also on a type that cannot hold the value: the caller may choose to
 * skip instead by checking the type first). Integers accept any of I8, I16,
 * I32, I64 and range-check the value into the destination. */
int lode_thrift_read_i64(lode_thrift *t, uint8_t type, int64_t *out);
int lode_thrift_read_i32(lode_thrift *t, uint8_t type, int32_t *out);
int lode_thrift_read_i16(lode_thrift *t, uint8_t type, int16_t *out);
int lode_thrift_read_i8(lode_thrift *t, uint8_t type, int8_t *out);
int lode_thrift_read_double(lode_thrift *t, uint8_t type, double *out);
/* A bool field carries its value in the header (type TRUE/FALSE). */
int lode_thrift_field_bool(lode_thrift *t, const lode_thrift_field *f, int *out);
/* A bool list element is one byte (1 true; 0 or 2 false). */
int lode_thrift_elem_bool(lode_thrift *t, int *out);
/* Binary/string: points into the input buffer, no copy, no terminator. */
int lode_thrift_read_binary(lode_thrift *t, uint8_t type, const uint8_t **ptr, uint32_t *len);
/* List or set header: element type and count (count ≤ bytes left and the cap). */
int lode_thrift_list_begin(lode_thrift *t, uint8_t type, uint8_t *elem_type, uint32_t *count);
/* Map header: key/value types and count (types are STOP when count is 0). */
int lode_thrift_map_begin(lode_thrift *t, uint8_t type, uint8_t *key_type, uint8_t *val_type, uint32_t *count);
/* Skip one value of wire type `type` (depth-checked). */
int lode_thrift_skip(lode_thrift *t, uint8_t type);

/* Raw varints, for callers that need them (and for tests). */
int lode_thrift_varint(lode_thrift *t, uint64_t *out, int maxbytes);
static inline int64_t lode_thrift_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

#endif

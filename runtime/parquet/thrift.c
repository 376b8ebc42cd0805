/* thrift.c — Thrift compact protocol decoder over an in-memory buffer.
 * Owns nothing: every pointer it hands out points into the caller's buffer.
 * Every read is bounded by t->end; after the first failure all calls fail. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lode/parquet/thrift.h"

void lode_thrift_init(lode_thrift *t, const void *buf, size_t len)
{
    memset(t, 0, offsetof(lode_thrift, ctx));
    t->start = t->p = (const uint8_t *)buf;
    t->end = t->start + len;
    t->max_container = 1u << 26;
    t->max_binary = 1u << 30;
    t->err[0] = '\0';
}

int lode_thrift_fail(lode_thrift *t, const char *fmt, ...)
{
    if (t->failed) return -1;
    t->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->err, sizeof t->err, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    size_t used = (size_t)n < sizeof t->err ? (size_t)n : sizeof t->err - 1;
    used += (size_t)snprintf(t->err + used, sizeof t->err - used, " at byte %zu",
                             lode_thrift_offset(t));
    if (used >= sizeof t->err || t->nctx == 0) return -1;
    used += (size_t)snprintf(t->err + used, sizeof t->err - used, " (in ");
    for (int i = 0; i < t->nctx && used < sizeof t->err; i++) {
        const char *sep = i == 0 ? "" : ".";
        if (t->ctx[i].index >= 0)
            used += (size_t)snprintf(t->err + used, sizeof t->err - used, "%s%s[%lld]", sep,
                                     t->ctx[i].name, (long long)t->ctx[i].index);
        else
            used += (size_t)snprintf(t->err + used, sizeof t->err - used, "%s%s", sep,
                                     t->ctx[i].name);
    }
    if (used < sizeof t->err) snprintf(t->err + used, sizeof t->err - used, ")");
    return -1;
}

static int fail_truncated(lode_thrift *t, const char *what)
{
    if (!t->failed) t->truncated = 1;
    return lode_thrift_fail(t, "truncated input: %s runs past the end", what);
}

void lode_thrift_ctx_push(lode_thrift *t, const char *name, int64_t index)
{
    /* entries beyond the array are counted but not recorded, so pops pair */
    if (t->nctx < (int)(sizeof t->ctx / sizeof t->ctx[0])) {
        t->ctx[t->nctx].name = name ? name : "?";
        t->ctx[t->nctx].index = index;
    }
    t->nctx++;
}

void lode_thrift_ctx_pop(lode_thrift *t)
{
    if (t->nctx > 0) t->nctx--;
}

int lode_thrift_varint(lode_thrift *t, uint64_t *out, int maxbytes)
{
    if (t->failed) return -1;
    uint64_t v = 0;
    for (int i = 0; i < maxbytes; i++) {
        if (t->p >= t->end) return fail_truncated(t, "varint");
        uint8_t b = *t->p++;
        if (i == 9 && b > 1) return lode_thrift_fail(t, "varint overflows 64 bits");
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return lode_thrift_fail(t, "varint longer than %d bytes", maxbytes);
}

static int depth_enter(lode_thrift *t)
{
    if (t->failed) return -1;
    if (t->depth >= LODE_THRIFT_MAX_DEPTH)
        return lode_thrift_fail(t, "nesting deeper than %d levels", LODE_THRIFT_MAX_DEPTH);
    t->depth++;
    return 0;
}

int lode_thrift_struct_begin(lode_thrift *t, const char *name)
{
    if (depth_enter(t) < 0) return -1;
    t->last_id[t->depth] = 0;
    if (name) lode_thrift_ctx_push(t, name, -1);
    return 0;
}

int lode_thrift_struct_end(lode_thrift *t)
{
    /* the context entry is popped by whoever pushed it via struct_begin */
    if (t->depth > 0) t->depth--;
    return t->failed ? -1 : 0;
}

int lode_thrift_next_field(lode_thrift *t, lode_thrift_field *f)
{
    if (t->failed) return -1;
    if (t->p >= t->end) return fail_truncated(t, "field header");
    uint8_t b = *t->p++;
    if (b == 0) return 0;
    uint8_t type = b & 0x0f;
    uint8_t delta = b >> 4;
    int16_t id;
    if (delta) {
        int v = t->last_id[t->depth] + delta;
        if (v > INT16_MAX) return lode_thrift_fail(t, "field id overflows i16");
        id = (int16_t)v;
    } else {
        uint64_t raw;
        if (lode_thrift_varint(t, &raw, 3) < 0) return -1;
        int64_t v = lode_thrift_unzigzag(raw);
        if (v < INT16_MIN || v > INT16_MAX) return lode_thrift_fail(t, "field id out of range");
        id = (int16_t)v;
    }
    if (type == LODE_TT_STOP || type > LODE_TT_UUID)
        return lode_thrift_fail(t, "invalid field type %u (field %d)", type, id);
    t->last_id[t->depth] = id;
    f->id = id;
    f->type = type;
    return 1;
}

static int is_int_type(uint8_t type)
{
    return type == LODE_TT_I8 || type == LODE_TT_I16 || type == LODE_TT_I32 || type == LODE_TT_I64;
}

int lode_thrift_read_i64(lode_thrift *t, uint8_t type, int64_t *out)
{
    if (t->failed) return -1;
    if (!is_int_type(type)) return lode_thrift_fail(t, "expected an integer, found wire type %u", type);
    if (type == LODE_TT_I8) {
        if (t->p >= t->end) return fail_truncated(t, "i8");
        *out = (int8_t)*t->p++;
        return 0;
    }
    uint64_t raw;
    int maxb = type == LODE_TT_I16 ? 3 : type == LODE_TT_I32 ? 5 : 10;
    if (lode_thrift_varint(t, &raw, maxb) < 0) return -1;
    int64_t v = lode_thrift_unzigzag(raw);
    if ((type == LODE_TT_I16 && (v < INT16_MIN || v > INT16_MAX)) ||
        (type == LODE_TT_I32 && (v < INT32_MIN || v > INT32_MAX)))
        return lode_thrift_fail(t, "integer %lld out of range for its wire type", (long long)v);
    *out = v;
    return 0;
}

int lode_thrift_read_i32(lode_thrift *t, uint8_t type, int32_t *out)
{
    int64_t v;
    if (lode_thrift_read_i64(t, type, &v) < 0) return -1;
    if (v < INT32_MIN || v > INT32_MAX) return lode_thrift_fail(t, "value %lld does not fit i32", (long long)v);
    *out = (int32_t)v;
    return 0;
}

int lode_thrift_read_i16(lode_thrift *t, uint8_t type, int16_t *out)
{
    int64_t v;
    if (lode_thrift_read_i64(t, type, &v) < 0) return -1;
    if (v < INT16_MIN || v > INT16_MAX) return lode_thrift_fail(t, "value %lld does not fit i16", (long long)v);
    *out = (int16_t)v;
    return 0;
}

int lode_thrift_read_i8(lode_thrift *t, uint8_t type, int8_t *out)
{
    int64_t v;
    if (lode_thrift_read_i64(t, type, &v) < 0) return -1;
    if (v < INT8_MIN || v > INT8_MAX) return lode_thrift_fail(t, "value %lld does not fit i8", (long long)v);
    *out = (int8_t)v;
    return 0;
}

int lode_thrift_read_double(lode_thrift *t, uint8_t type, double *out)
{
    if (t->failed) return -1;
    if (type != LODE_TT_DOUBLE) return lode_thrift_fail(t, "expected a double, found wire type %u", type);
    if (lode_thrift_left(t) < 8) return fail_truncated(t, "double");
    uint64_t bits = 0;
    for (int i = 7; i >= 0; i--) bits = bits << 8 | t->p[i];
    t->p += 8;
    memcpy(out, &bits, sizeof *out);
    return 0;
}

int lode_thrift_field_bool(lode_thrift *t, const lode_thrift_field *f, int *out)
{
    if (t->failed) return -1;
    if (f->type != LODE_TT_TRUE && f->type != LODE_TT_FALSE)
        return lode_thrift_fail(t, "expected a bool, found wire type %u (field %d)", f->type, f->id);
    *out = f->type == LODE_TT_TRUE;
    return 0;
}

int lode_thrift_elem_bool(lode_thrift *t, int *out)
{
    if (t->failed) return -1;
    if (t->p >= t->end) return fail_truncated(t, "bool");
    uint8_t b = *t->p++;
    if (b > 2) return lode_thrift_fail(t, "invalid bool byte %u", b);
    *out = b == 1;
    return 0;
}

int lode_thrift_read_binary(lode_thrift *t, uint8_t type, const uint8_t **ptr, uint32_t *len)
{
    if (t->failed) return -1;
    if (type != LODE_TT_BINARY) return lode_thrift_fail(t, "expected binary, found wire type %u", type);
    uint64_t n;
    if (lode_thrift_varint(t, &n, 5) < 0) return -1;
    if (n > t->max_binary) return lode_thrift_fail(t, "string of %llu bytes exceeds the limit of %u",
                                                   (unsigned long long)n, t->max_binary);
    if (n > lode_thrift_left(t)) return fail_truncated(t, "string length");
    *ptr = t->p;
    *len = (uint32_t)n;
    t->p += n;
    return 0;
}

static int check_count(lode_thrift *t, uint64_t n, uint64_t min_elem_bytes, const char *what)
{
    if (n > t->max_container)
        return lode_thrift_fail(t, "%s of %llu elements exceeds the limit of %u", what,
                                (unsigned long long)n, t->max_container);
    if (n * min_elem_bytes > lode_thrift_left(t)) {
        if (!t->failed) t->truncated = 1;
        return lode_thrift_fail(t, "%s claims %llu elements but only %zu bytes remain", what,
                                (unsigned long long)n, lode_thrift_left(t));
    }
    return 0;
}

int lode_thrift_list_begin(lode_thrift *t, uint8_t type, uint8_t *elem_type, uint32_t *count)
{
    if (t->failed) return -1;
    if (type != LODE_TT_LIST && type != LODE_TT_SET)
        return lode_thrift_fail(t, "expected a list, found wire type %u", type);
    if (t->p >= t->end) return fail_truncated(t, "list header");
    uint8_t b = *t->p++;
    uint64_t n = b >> 4;
    uint8_t et = b & 0x0f;
    if (n == 15 && lode_thrift_varint(t, &n, 5) < 0) return -1;
    if (et == LODE_TT_STOP || et > LODE_TT_UUID)
        return lode_thrift_fail(t, "invalid list element type %u", et);
    if (et == LODE_TT_FALSE) et = LODE_TT_TRUE;   /* both mean "bool" here */
    if (check_count(t, n, et == LODE_TT_DOUBLE ? 8 : et == LODE_TT_UUID ? 16 : 1, "list") < 0)
        return -1;
    *elem_type = et;
    *count = (uint32_t)n;
    return 0;
}

int lode_thrift_map_begin(lode_thrift *t, uint8_t type, uint8_t *key_type, uint8_t *val_type, uint32_t *count)
{
    if (t->failed) return -1;
    if (type != LODE_TT_MAP) return lode_thrift_fail(t, "expected a map, found wire type %u", type);
    uint64_t n;
    if (lode_thrift_varint(t, &n, 5) < 0) return -1;
    *key_type = *val_type = LODE_TT_STOP;
    *count = 0;
    if (n == 0) return 0;
    if (t->p >= t->end) return fail_truncated(t, "map header");
    uint8_t b = *t->p++;
    uint8_t kt = b >> 4, vt = b & 0x0f;
    if (kt == LODE_TT_STOP || kt > LODE_TT_UUID || vt == LODE_TT_STOP || vt > LODE_TT_UUID)
        return lode_thrift_fail(t, "invalid map key/value types %u/%u", kt, vt);
    if (kt == LODE_TT_FALSE) kt = LODE_TT_TRUE;
    if (vt == LODE_TT_FALSE) vt = LODE_TT_TRUE;
    if (check_count(t, n, 2, "map") < 0) return -1;
    *key_type = kt;
    *val_type = vt;
    *count = (uint32_t)n;
    return 0;
}

/* Skip one element of a container: bools there are a byte, not a header. */
static int skip_elem(lode_thrift *t, uint8_t type)
{
    if (type == LODE_TT_TRUE || type == LODE_TT_FALSE) {
        int b;
        return lode_thrift_elem_bool(t, &b);
    }
    return lode_thrift_skip(t, type);
}

int lode_thrift_skip(lode_thrift *t, uint8_t type)
{
    if (t->failed) return -1;
    switch (type) {
    case LODE_TT_TRUE:
    case LODE_TT_FALSE:
        return 0;                   /* value was in the field header */
    case LODE_TT_I8:
    case LODE_TT_I16:
    case LODE_TT_I32:
    case LODE_TT_I64: {
        int64_t v;
        return lode_thrift_read_i64(t, type, &v);
    }
    case LODE_TT_DOUBLE: {
        double d;
        return lode_thrift_read_double(t, type, &d);
    }
    case LODE_TT_BINARY: {
        const uint8_t *p;
        uint32_t n;
        return lode_thrift_read_binary(t, type, &p, &n);
    }
    case LODE_TT_UUID:
        if (lode_thrift_left(t) < 16) return fail_truncated(t, "uuid");
        t->p += 16;
        return 0;
    case LODE_TT_LIST:
    case LODE_TT_SET: {
        uint8_t et;
        uint32_t n;
        if (lode_thrift_list_begin(t, type, &et, &n) < 0 || depth_enter(t) < 0) return -1;
        for (uint32_t i = 0; i < n; i++)
            if (skip_elem(t, et) < 0) return -1;
        t->depth--;
        return 0;
    }
    case LODE_TT_MAP: {
        uint8_t kt, vt;
        uint32_t n;
        if (lode_thrift_map_begin(t, type, &kt, &vt, &n) < 0 || depth_enter(t) < 0) return -1;
        for (uint32_t i = 0; i < n; i++)
            if (skip_elem(t, kt) < 0 || skip_elem(t, vt) < 0) return -1;
        t->depth--;
        return 0;
    }
    case LODE_TT_STRUCT: {
        if (lode_thrift_struct_begin(t, NULL) < 0) return -1;
        lode_thrift_field f;
        int r;
        while ((r = lode_thrift_next_field(t, &f)) > 0)
            if (lode_thrift_skip(t, f.type) < 0) return -1;
        lode_thrift_struct_end(t);
        return r;
    }
    default:
        return lode_thrift_fail(t, "cannot skip wire type %u", type);
    }
}

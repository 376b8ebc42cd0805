/* parquet/read.c — the Parquet data reader: footer, projection, one row
 * group's column chunks at a time, pages (v1, v2, dictionary, CRC), levels
 * and values, and rows rendered through value.c.
 * Owns: the footer model, the projected chunks of the current row group,
 * one decompressed page per column and the dictionary pages; everything is
 * freed by lode_pqr_free (chunks also when the next row group loads). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "lode/parquet/codec.h"
#include "lode/parquet/parquet.h"
#include "lode/parquet/read.h"
#include "enc.h"
#include "read_int.h"
#include "value.h"

#define DEFAULT_MAX_CHUNK (UINT64_C(1) << 30)
#define TAIL_GUESS 65536
#define DEFAULT_MAX_PAGE (UINT64_C(128) << 20)
#define DEFAULT_MAX_PAGE_VALUES (UINT64_C(1) << 26)

/* ---- errors --------------------------------------------------------------- */

static void pqr_fail(lode_pqr *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pqr_fail(lode_pqr *r, const char *fmt, ...)
{
    if (r->failed) return;
    r->failed = 1;
    int n = snprintf(r->err, sizeof r->err, "%s: ", r->src ? r->src->name : "parquet");
    if (n < 0 || (size_t)n >= sizeof r->err) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, sizeof r->err - (size_t)n, fmt, ap);
    va_end(ap);
}

/* "row group 2, column 'a.b', page 3 (offset 1234)" */
static void col_fail(lode_pqr *r, pq_col *c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void col_fail(lode_pqr *r, pq_col *c, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pqr_fail(r, "row group %d, column '%s', page %d (offset %llu): %s", r->rg, c->path,
             c->page_no, (unsigned long long)c->page_offset, msg);
}

int lode_pqr_failed(const lode_pqr *r) { return r->failed; }
const char *lode_pqr_error(const lode_pqr *r) { return r->err; }

void lode_pqr_buf_free(lode_pqr_buf *b) { pq_buf_free(b); }

/* ---- column cursor: pages --------------------------------------------------- */

static void col_reset_chunk(pq_col *c)
{
    c->chunk_len = c->pos = 0;
    c->values_read = c->values_total = 0;
    c->page_n = c->page_pos = c->val_n = c->val_pos = 0;
    c->page_no = -1;
    c->dict_n = 0;
    c->have_dict = 0;
    c->arena.len = 0;
    c->done = 0;
}

static void col_free(pq_col *c)
{
    col_reset_chunk(c);
    free(c->chunk);
    free(c->page);
    free(c->dict_page);
    free(c->def);
    free(c->rep);
    free(c->idx);
    free(c->fixed);
    free(c->bytes);
    free(c->dict_fixed);
    free(c->dict_bytes);
    pq_buf_free(&c->arena);
    free(c->path);
}

static int grow(void **p, size_t *cap, size_t want, size_t elem)
{
    if (want <= *cap) return 0;
    size_t n = *cap ? *cap : 1024;
    while (n < want) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* Decode `n` values of encoding `enc` from v[0..vn) into the page arrays. */
static int decode_values(lode_pqr *r, pq_col *c, int enc, const uint8_t *v, size_t vn, size_t n)
{
    char err[300];
    int rc = 0;
    size_t w = (size_t)c->vt.width;
    int is_bytes = c->ptype == LODE_PQ_BYTE_ARRAY;
    if (is_bytes ? grow((void **)&c->bytes, &c->bytes_cap, n + 1, sizeof *c->bytes)
                 : grow((void **)&c->fixed, &c->fixed_cap, (n + 1) * (w ? w : 1), 1)) {
        col_fail(r, c, "out of memory for %zu values", n);
        return -1;
    }
    switch (enc) {
    case PQ_ENC_PLAIN:
        if (c->ptype == LODE_PQ_BOOLEAN) rc = pq_plain_bool(v, vn, n, c->fixed, err, sizeof err);
        else if (is_bytes) rc = pq_plain_bytes(v, vn, n, c->bytes, NULL, err, sizeof err);
        else rc = pq_plain_fixed(v, vn, w, n, c->fixed, err, sizeof err);
        break;
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY: {
        if (!c->have_dict) {
            col_fail(r, c, "dictionary-encoded page without a dictionary page");
            return -1;
        }
        if (grow((void **)&c->idx, &c->idx_cap, n + 1, sizeof *c->idx)) {
            col_fail(r, c, "out of memory");
            return -1;
        }
        rc = pq_dict_indices(v, vn, n, c->idx, err, sizeof err);
        if (rc) break;
        for (size_t i = 0; i < n; i++) {
            if (c->idx[i] >= c->dict_n) {
                col_fail(r, c, "dictionary index %u out of range (the dictionary has %zu entries)",
                         c->idx[i], c->dict_n);
                return -1;
            }
        }
        if (is_bytes) {
            for (size_t i = 0; i < n; i++) c->bytes[i] = c->dict_bytes[c->idx[i]];
        } else if (w == 4) {
            uint32_t *d = (uint32_t *)c->fixed, *s = (uint32_t *)c->dict_fixed;
            for (size_t i = 0; i < n; i++) d[i] = s[c->idx[i]];
        } else if (w == 8) {
            uint64_t *d = (uint64_t *)c->fixed, *s = (uint64_t *)c->dict_fixed;
            for (size_t i = 0; i < n; i++) d[i] = s[c->idx[i]];
        } else {
            for (size_t i = 0; i < n; i++) memcpy(c->fixed + i * w, c->dict_fixed + (size_t)c->idx[i] * w, w);
        }
        break;
    }
    case PQ_ENC_RLE:
        if (c->ptype != LODE_PQ_BOOLEAN) {
            col_fail(r, c, "RLE encoding on a %s column", lode_pq_type_name(c->ptype));
            return -1;
        }
        rc = pq_rle_bool(v, vn, n, c->fixed, err, sizeof err);
        break;
    case PQ_ENC_DELTA_BINARY_PACKED: {
        if (c->ptype != LODE_PQ_INT32 && c->ptype != LODE_PQ_INT64) {
            col_fail(r, c, "DELTA_BINARY_PACKED on a %s column", lode_pq_type_name(c->ptype));
            return -1;
        }
        int64_t *tmp = c->ptype == LODE_PQ_INT64 ? (int64_t *)c->fixed : malloc((n + 1) * 8);
        if (!tmp) {
            col_fail(r, c, "out of memory");
            return -1;
        }
        rc = pq_delta_binary_packed(v, vn, n, tmp, NULL, err, sizeof err);
        if (c->ptype == LODE_PQ_INT32) {
            int32_t *d = (int32_t *)c->fixed;
            for (size_t i = 0; i < n && !rc; i++) d[i] = (int32_t)(uint32_t)(uint64_t)tmp[i];
            free(tmp);
        }
        break;
    }
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
        if (!is_bytes) {
            col_fail(r, c, "DELTA_LENGTH_BYTE_ARRAY on a %s column", lode_pq_type_name(c->ptype));
            return -1;
        }
        rc = pq_delta_length_bytes(v, vn, n, c->bytes, NULL, err, sizeof err);
        break;
    case PQ_ENC_DELTA_BYTE_ARRAY:
        if (is_bytes) {
            c->arena.len = 0;
            rc = pq_delta_bytes(v, vn, n, c->bytes, &c->arena, err, sizeof err);
        } else if (c->ptype == LODE_PQ_FIXED_LEN_BYTE_ARRAY) {
            pq_bytes *tmp = malloc((n + 1) * sizeof *tmp);
            if (!tmp) {
                col_fail(r, c, "out of memory");
                return -1;
            }
            c->arena.len = 0;
            rc = pq_delta_bytes(v, vn, n, tmp, &c->arena, err, sizeof err);
            for (size_t i = 0; i < n && !rc; i++) {
                if (tmp[i].len != w) {
                    snprintf(err, sizeof err, "DELTA_BYTE_ARRAY value %zu has %u bytes, the column's width is %zu",
                             i, tmp[i].len, w);
                    rc = -1;
                    break;
                }
                memcpy(c->fixed + i * w, tmp[i].ptr, w);
            }
            free(tmp);
        } else {
            col_fail(r, c, "DELTA_BYTE_ARRAY on a %s column", lode_pq_type_name(c->ptype));
            return -1;
        }
        break;
    case PQ_ENC_BYTE_STREAM_SPLIT:
        if (is_bytes || c->ptype == LODE_PQ_BOOLEAN) {
            col_fail(r, c, "BYTE_STREAM_SPLIT on a %s column", lode_pq_type_name(c->ptype));
            return -1;
        }
        rc = pq_byte_stream_split(v, vn, w, n, c->fixed, err, sizeof err);
        break;
    default:
        col_fail(r, c, "unsupported encoding %s (%d)", pq_encoding_name(enc), enc);
        return -1;
    }
    if (rc) {
        col_fail(r, c, "%s", err);
        return -1;
    }
    return 0;
}

static int decode_dictionary(lode_pqr *r, pq_col *c, const lode_pq_page_header *h, uint8_t *data, size_t n)
{
    const lode_pq_dictionary_page_header *d = &h->dictionary_page_header;
    if (d->num_values < 0) {
        col_fail(r, c, "dictionary page with %d values", d->num_values);
        return -1;
    }
    if (d->encoding != PQ_ENC_PLAIN && d->encoding != PQ_ENC_PLAIN_DICTIONARY) {
        col_fail(r, c, "dictionary page encoding %s is not PLAIN", pq_encoding_name(d->encoding));
        return -1;
    }
    size_t nv = (size_t)d->num_values;
    /* PLAIN values take at least a bit (BOOLEAN), 4 bytes (a BYTE_ARRAY's
     * length) or the type's width: a count beyond what the bytes can hold
     * would only size arrays for values that are not there */
    size_t w = (size_t)c->vt.width;
    size_t most = c->ptype == LODE_PQ_BOOLEAN ? n * 8 : c->ptype == LODE_PQ_BYTE_ARRAY ? n / 4 : w ? n / w : n;
    if (nv > most) {
        col_fail(r, c, "dictionary page claims %zu values in %zu bytes", nv, n);
        return -1;
    }
    if (decode_values(r, c, PQ_ENC_PLAIN, data, n, nv) != 0) return -1;
    /* move the decoded values into the dictionary arrays */
    if (c->ptype == LODE_PQ_BYTE_ARRAY) {
        pq_bytes *t = c->dict_bytes;
        c->dict_bytes = c->bytes;
        c->bytes = t;
        size_t cap = c->dict_bytes_cap;
        c->dict_bytes_cap = c->bytes_cap;
        c->bytes_cap = cap;
    } else {
        uint8_t *t = c->dict_fixed;
        c->dict_fixed = c->fixed;
        c->fixed = t;
        size_t cap = c->dict_fixed_cap;
        c->dict_fixed_cap = c->fixed_cap;
        c->fixed_cap = cap;
    }
    c->dict_n = nv;
    c->have_dict = 1;
    return 0;
}

/* Make a decompressed copy of the page body in c->page (or c->dict_page). */
static int page_body(lode_pqr *r, pq_col *c, const uint8_t *src, size_t srclen, size_t want,
                     uint8_t **dst, size_t *cap)
{
    char err[300];
    if (grow((void **)dst, cap, want + 8, 1)) {
        col_fail(r, c, "out of memory for a %zu-byte page", want);
        return -1;
    }
    if (lode_codec_decompress(c->codec, src, srclen, *dst, want, err, sizeof err) != 0) {
        col_fail(r, c, "%s", err);
        return -1;
    }
    return 0;
}

static int decode_levels(lode_pqr *r, pq_col *c, int enc, int max, uint32_t **arr, size_t *cap,
                         const uint8_t *p, size_t n, size_t count, size_t *used, int v2)
{
    char err[300];
    if (grow((void **)arr, cap, count + 1, sizeof **arr)) {
        col_fail(r, c, "out of memory");
        return -1;
    }
    int w = pq_bit_width((uint32_t)max);
    int rc;
    if (v2) {
        pq_rle d;
        pq_rle_init(&d, p, n, w);
        rc = pq_rle_get(&d, *arr, count, err, sizeof err);
        *used = n;
    } else if (enc == PQ_ENC_RLE) {
        rc = pq_levels_v1_rle(p, n, w, *arr, count, used, err, sizeof err);
    } else if (enc == PQ_ENC_BIT_PACKED) {
        rc = pq_levels_bit_packed(p, n, w, *arr, count, used, err, sizeof err);
    } else {
        col_fail(r, c, "level encoding %s is not RLE or BIT_PACKED", pq_encoding_name(enc));
        return -1;
    }
    if (rc) {
        col_fail(r, c, "levels: %s", err);
        return -1;
    }
    uint32_t *a = *arr;
    for (size_t i = 0; i < count; i++)
        if (a[i] > (uint32_t)max) {
            col_fail(r, c, "level %u at value %zu is above the column's maximum %d", a[i], i, max);
            return -1;
        }
    return 0;
}

/* Load the next data page of the chunk into the page arrays. Returns 1 with
 * a page, 0 at the end of the chunk, -1 on error. */
static int col_next_page(lode_pqr *r, pq_col *c)
{
    char err[300];
    for (;;) {
        if (c->values_read >= c->values_total || c->pos >= c->chunk_len) return 0;
        c->page_no++;
        c->page_offset = c->chunk_offset + c->pos;
        lode_pq_page_header h;
        size_t used;
        int hrc = lode_pq_page_header_parse(c->chunk + c->pos, c->chunk_len - c->pos, &h, &used, err, sizeof err);
        if (hrc == LODE_PQ_NEED_MORE) {
            col_fail(r, c, "page header runs past the end of the column chunk");
            return -1;
        }
        if (hrc != 0) {
            col_fail(r, c, "bad page header: %s", err);
            return -1;
        }
        c->pos += used;
        if (h.compressed_page_size < 0 || h.uncompressed_page_size < 0 ||
            (size_t)h.compressed_page_size > c->chunk_len - c->pos) {
            col_fail(r, c, "page of %d bytes runs past the end of the column chunk (%zu bytes left)",
                     h.compressed_page_size, c->chunk_len - c->pos);
            return -1;
        }
        if ((uint64_t)h.uncompressed_page_size > r->opts.max_page_bytes) {
            col_fail(r, c, "page of %d bytes uncompressed is too large (limit %llu)", h.uncompressed_page_size,
                     (unsigned long long)r->opts.max_page_bytes);
            return -1;
        }
        const uint8_t *body = c->chunk + c->pos;
        size_t blen = (size_t)h.compressed_page_size, ulen = (size_t)h.uncompressed_page_size;
        c->pos += blen;
        if (h.has_crc && r->check_crc) {
            uint32_t crc = (uint32_t)crc32(0L, body, (uInt)blen);
            if (crc != (uint32_t)h.crc) {
                col_fail(r, c, "CRC mismatch: page says %08x, data has %08x", (uint32_t)h.crc, crc);
                return -1;
            }
        }
        if (h.type == LODE_PQ_DICTIONARY_PAGE) {
            if (!h.has_dictionary_page_header) {
                col_fail(r, c, "dictionary page without its header");
                return -1;
            }
            if (c->have_dict) {
                col_fail(r, c, "a second dictionary page in one column chunk");
                return -1;
            }
            if (page_body(r, c, body, blen, ulen, &c->dict_page, &c->dict_page_cap) != 0) return -1;
            if (decode_dictionary(r, c, &h, c->dict_page, ulen) != 0) return -1;
            continue;
        }
        if (h.type == LODE_PQ_INDEX_PAGE) continue;
        if (h.type != LODE_PQ_DATA_PAGE && h.type != LODE_PQ_DATA_PAGE_V2) continue;

        int v2 = h.type == LODE_PQ_DATA_PAGE_V2;
        int32_t nv = v2 ? h.data_page_header_v2.num_values : h.data_page_header.num_values;
        int enc = v2 ? h.data_page_header_v2.encoding : h.data_page_header.encoding;
        if (nv < 0) {
            col_fail(r, c, "data page with %d values", nv);
            return -1;
        }
        size_t n = (size_t)nv;
        if ((uint64_t)n > r->opts.max_page_values) {
            col_fail(r, c, "data page of %zu values is more than the reader takes in one page (%llu)", n,
                     (unsigned long long)r->opts.max_page_values);
            return -1;
        }
        if ((int64_t)n > c->values_total - c->values_read) {
            col_fail(r, c, "page holds %zu values, only %lld left in the column chunk", n,
                     (long long)(c->values_total - c->values_read));
            return -1;
        }
        const uint8_t *vals;
        size_t vlen;
        size_t rep_used = 0, def_used = 0;
        if (v2) {
            const lode_pq_data_page_header_v2 *d = &h.data_page_header_v2;
            if (d->definition_levels_byte_length < 0 || d->repetition_levels_byte_length < 0 ||
                (uint64_t)d->definition_levels_byte_length + (uint64_t)d->repetition_levels_byte_length > blen) {
                col_fail(r, c, "level lengths %d + %d exceed the %zu-byte page", d->repetition_levels_byte_length,
                         d->definition_levels_byte_length, blen);
                return -1;
            }
            size_t rl = (size_t)d->repetition_levels_byte_length, dl = (size_t)d->definition_levels_byte_length;
            if (c->max_rep > 0 &&
                decode_levels(r, c, PQ_ENC_RLE, c->max_rep, &c->rep, &c->rep_cap, body, rl, n, &rep_used, 1) != 0)
                return -1;
            if (c->max_def > 0 &&
                decode_levels(r, c, PQ_ENC_RLE, c->max_def, &c->def, &c->def_cap, body + rl, dl, n, &def_used, 1) != 0)
                return -1;
            size_t lv = rl + dl;
            if (ulen < lv) {
                col_fail(r, c, "uncompressed size %zu is smaller than the %zu bytes of levels", ulen, lv);
                return -1;
            }
            size_t vcomp = blen - lv, vun = ulen - lv;
            if (!d->is_compressed || c->codec == LODE_CODEC_UNCOMPRESSED) {
                if (vcomp != vun) {
                    col_fail(r, c, "uncompressed page: %zu value bytes, header says %zu", vcomp, vun);
                    return -1;
                }
                vals = body + lv;
                vlen = vcomp;
            } else if (vun == 0) {
                vals = body + lv;   /* an empty value section is never handed to the codec */
                vlen = 0;
            } else {
                if (page_body(r, c, body + lv, vcomp, vun, &c->page, &c->page_cap) != 0) return -1;
                vals = c->page;
                vlen = vun;
            }
        } else {
            const uint8_t *p;
            if (c->codec == LODE_CODEC_UNCOMPRESSED) {
                if (blen != ulen) {
                    col_fail(r, c, "uncompressed page of %zu bytes, header says %zu", blen, ulen);
                    return -1;
                }
                p = body;
            } else {
                if (page_body(r, c, body, blen, ulen, &c->page, &c->page_cap) != 0) return -1;
                p = c->page;
            }
            size_t left = ulen;
            const lode_pq_data_page_header *d = &h.data_page_header;
            if (c->max_rep > 0) {
                if (decode_levels(r, c, d->repetition_level_encoding, c->max_rep, &c->rep, &c->rep_cap,
                                  p, left, n, &rep_used, 0) != 0)
                    return -1;
                p += rep_used;
                left -= rep_used;
            }
            if (c->max_def > 0) {
                if (decode_levels(r, c, d->definition_level_encoding, c->max_def, &c->def, &c->def_cap,
                                  p, left, n, &def_used, 0) != 0)
                    return -1;
                p += def_used;
                left -= def_used;
            }
            vals = p;
            vlen = left;
        }
        size_t nonnull = n;
        if (c->max_def > 0) {
            nonnull = 0;
            for (size_t i = 0; i < n; i++) nonnull += c->def[i] == (uint32_t)c->max_def;
        }
        if (v2 && c->max_def > 0 && h.data_page_header_v2.num_nulls >= 0 &&
            (size_t)h.data_page_header_v2.num_nulls != n - nonnull && c->max_rep == 0) {
            col_fail(r, c, "page says %d nulls, its levels hold %zu", h.data_page_header_v2.num_nulls, n - nonnull);
            return -1;
        }
        if (c->max_rep > 0 && n > 0 && c->rep[0] != 0 && c->values_read == 0) {
            col_fail(r, c, "the first repetition level of the column chunk is %u, not 0", c->rep[0]);
            return -1;
        }
        if (nonnull > 0 && decode_values(r, c, enc, vals, vlen, nonnull) != 0) return -1;
        c->values_read += (int64_t)n;
        c->page_n = n;
        c->page_pos = 0;
        c->val_n = nonnull;
        c->val_pos = 0;
        if (n == 0) continue;    /* an empty page: go on to the next */
        return 1;
    }
}

/* Make sure an entry is available; 1 yes, 0 chunk exhausted, -1 error. */
static inline int col_ensure(lode_pqr *r, pq_col *c)
{
    if (c->page_pos < c->page_n) return 1;
    return col_next_page(r, c);
}

/* ---- rendering one column's value for the current row ---------------------- */

static inline uint32_t cur_def(const pq_col *c) { return c->max_def ? c->def[c->page_pos] : 0; }
static inline uint32_t cur_rep(const pq_col *c) { return c->max_rep ? c->rep[c->page_pos] : 0; }

/* Render the value at the cursor (def == max_def) and advance. */
static int put_leaf_value(lode_pqr *r, pq_col *c, pq_buf *out, pq_format fmt)
{
    char err[200];
    if (c->val_pos >= c->val_n) {
        col_fail(r, c, "more non-null levels than values");
        return -1;
    }
    const uint8_t *fixed = c->fixed ? c->fixed + c->val_pos * (size_t)c->vt.width : NULL;
    const pq_bytes *b = c->ptype == LODE_PQ_BYTE_ARRAY ? &c->bytes[c->val_pos] : NULL;
    int rc = pq_put_value(out, fmt, &c->vt, fixed, b, &r->topts, err, sizeof err);
    if (rc == -2) {
        pqr_fail(r, "row %lld, column '%s' (row group %d): %s", (long long)(r->row + 1), c->path, r->rg, err);
        return -1;
    }
    if (rc) {
        col_fail(r, c, "out of memory");
        return -1;
    }
    c->val_pos++;
    return 0;
}

static int skip_entry(lode_pqr *r, pq_col *c)
{
    int e = col_ensure(r, c);
    if (e <= 0) {
        if (e == 0) col_fail(r, c, "fewer values than the row group's %lld rows", (long long)r->rg_rows);
        return -1;
    }
    if (cur_def(c) == (uint32_t)c->max_def) c->val_pos++;
    c->page_pos++;
    return 0;
}

/* ---- nested values as JSON ---------------------------------------------------- */

static int render_node(lode_pqr *r, pq_outcol *oc, int s, pq_buf *out, int as_element);

static const lode_pq_schema_element *el_at(lode_pqr *r, int s) { return &r->meta->schema[s]; }

static pq_col *first_leaf_col(lode_pqr *r, pq_outcol *oc, int s)
{
    while (el_at(r, s)->num_children > 0) s = el_at(r, s)->first_child;
    int leaf = el_at(r, s)->leaf_index;
    return &r->cols[oc->first_col + (leaf - oc->first_leaf)];
}

/* Advance every leaf under node s by one entry (the node is null/empty here). */
static int skip_node(lode_pqr *r, pq_outcol *oc, int s)
{
    const lode_pq_schema_element *e = el_at(r, s);
    if (e->num_children == 0) return skip_entry(r, &r->cols[oc->first_col + (e->leaf_index - oc->first_leaf)]);
    int ch = e->first_child;
    for (int i = 0; i < e->num_children; i++) {
        if (skip_node(r, oc, ch) != 0) return -1;
        ch = next_sibling(r->meta, ch);
    }
    return 0;
}

static inline int put_lit(pq_buf *out, const char *s, size_t n)
{
    if (pq_buf_reserve(out, n)) return -1;
    if (n == 1) {
        out->data[out->len++] = (uint8_t)s[0];
        return 0;
    }
    memcpy(out->data + out->len, s, n);
    out->len += n;
    return 0;
}

/* Is node s a LIST / MAP annotated group? */
static int is_list(const lode_pq_schema_element *e)
{
    return e->num_children == 1 && (e->logical.type == LODE_PQ_LT_LIST || e->converted_type == LODE_PQ_CT_LIST);
}
static int is_map(const lode_pq_schema_element *e)
{
    return e->num_children == 1 && (e->logical.type == LODE_PQ_LT_MAP || e->converted_type == LODE_PQ_CT_MAP ||
                                    e->converted_type == LODE_PQ_CT_MAP_KEY_VALUE);
}

/* Render the repeated node s (all its occurrences in this row position) as a
 * JSON array (or object for a map's key_value group). */
static int render_repeated(lode_pqr *r, pq_outcol *oc, int s, pq_buf *out, int map_kv, int element_is_node)
{
    const lode_pq_schema_element *e = el_at(r, s);
    pq_col *fc = first_leaf_col(r, oc, s);
    int en = col_ensure(r, fc);
    if (en <= 0) {
        if (en == 0) col_fail(r, fc, "fewer values than the row group's %lld rows", (long long)r->rg_rows);
        return -1;
    }
    if (cur_def(fc) < (uint32_t)e->max_def) {       /* zero occurrences */
        if (skip_node(r, oc, s)) return -1;
        return put_lit(out, map_kv ? "{}" : "[]", 2);
    }
    if (put_lit(out, map_kv ? "{" : "[", 1)) return -1;
    for (int k = 0;; k++) {
        if (k && put_lit(out, ",", 1)) return -1;
        if (map_kv) {
            /* key: rendered as a JSON string; value: any JSON */
            int key = e->first_child;
            int val = e->num_children > 1 ? next_sibling(r->meta, key) : -1;
            pq_buf kb = r->scratch2;
            size_t start = kb.len;
            if (render_node(r, oc, key, &kb, 0)) { r->scratch2 = kb; return -1; }
            r->scratch2 = kb;
            const char *ks = (const char *)kb.data + start;
            size_t kn = kb.len - start;
            if (kn && ks[0] == '"') {
                if (put_lit(out, ks, kn)) return -1;
            } else if (pq_put_string(out, PQ_FMT_JSON, ks, kn)) {
                return -1;
            }
            r->scratch2.len = start;
            if (put_lit(out, ":", 1)) return -1;
            if (val >= 0) {
                if (render_node(r, oc, val, out, 0)) return -1;
            } else if (put_lit(out, "null", 4)) {
                return -1;
            }
        } else if (element_is_node) {
            if (render_node(r, oc, s, out, 1)) return -1;
        } else {
            if (render_node(r, oc, e->first_child, out, 0)) return -1;
        }
        int more = col_ensure(r, fc);
        if (more < 0) return -1;
        if (more == 0 || cur_rep(fc) != (uint32_t)e->max_rep) break;
    }
    return put_lit(out, map_kv ? "}" : "]", 1);
}

/* Render node s at the cursor as JSON. as_element: s is a repeated node
 * rendered as one occurrence (its presence is known). */
static int render_node(lode_pqr *r, pq_outcol *oc, int s, pq_buf *out, int as_element)
{
    const lode_pq_schema_element *e = el_at(r, s);
    if (e->repetition == LODE_PQ_REPEATED && !as_element)
        return render_repeated(r, oc, s, out, 0, 1);
    pq_col *fc = first_leaf_col(r, oc, s);
    int en = col_ensure(r, fc);
    if (en <= 0) {
        if (en == 0) col_fail(r, fc, "fewer values than the row group's %lld rows", (long long)r->rg_rows);
        return -1;
    }
    if (!as_element && e->repetition == LODE_PQ_OPTIONAL && cur_def(fc) < (uint32_t)e->max_def) {
        if (skip_node(r, oc, s)) return -1;
        return put_lit(out, "null", 4);
    }
    if (e->num_children == 0) {
        pq_col *c = &r->cols[oc->first_col + (e->leaf_index - oc->first_leaf)];
        if (cur_def(c) < (uint32_t)c->max_def) {   /* null inside (only for repeated leaf paths) */
            if (skip_entry(r, c)) return -1;
            return put_lit(out, "null", 4);
        }
        if (put_leaf_value(r, c, out, PQ_FMT_JSON)) return -1;
        c->page_pos++;
        return 0;
    }
    int child = e->first_child;
    const lode_pq_schema_element *ce = el_at(r, child);
    if (is_list(e) && ce->repetition == LODE_PQ_REPEATED) {
        /* 3-level list unless the legacy 2-level forms apply */
        int two_level = ce->num_children == 0 || ce->num_children > 1 ||
            (ce->name.len == 5 && !memcmp(ce->name.ptr, "array", 5));
        if (!two_level && ce->name.len == e->name.len + 6 && !memcmp(ce->name.ptr, e->name.ptr, e->name.len) &&
            !memcmp(ce->name.ptr + e->name.len, "_tuple", 6))
            two_level = 1;
        return render_repeated(r, oc, child, out, 0, two_level);
    }
    if (is_map(e) && ce->repetition == LODE_PQ_REPEATED && ce->num_children >= 1)
        return render_repeated(r, oc, child, out, 1, 0);
    if (put_lit(out, "{", 1)) return -1;
    for (int i = 0; i < e->num_children; i++) {
        const lode_pq_schema_element *ch = el_at(r, child);
        if (i && put_lit(out, ",", 1)) return -1;
        if (pq_put_string(out, PQ_FMT_JSON, (const char *)ch->name.ptr, ch->name.len)) return -1;
        if (put_lit(out, ":", 1)) return -1;
        if (render_node(r, oc, child, out, 0)) return -1;
        child = next_sibling(r->meta, child);
    }
    return put_lit(out, "}", 1);
}

/* ---- rows ------------------------------------------------------------------------- */

static int put_sep(lode_pqr *r, pq_buf *out, size_t i)
{
    if (i == 0) return r->fmt == PQ_FMT_JSON ? put_lit(out, "{", 1) : 0;
    switch (r->fmt) {
    case PQ_FMT_CSV: return put_lit(out, ",", 1);
    case PQ_FMT_JSON: return put_lit(out, ",", 1);
    case PQ_FMT_BINARY: case PQ_FMT_RAW: return 0;
    default: return put_lit(out, "\t", 1);
    }
}

/* Render output column oc of the current row into out in format fmt. */
static int render_cell(lode_pqr *r, pq_outcol *oc, pq_buf *out, pq_format fmt, int *is_null)
{
    *is_null = 0;
    if (oc->schema < 0) {
        *is_null = 1;
        return pq_put_null(out, fmt);
    }
    pq_col *c = &r->cols[oc->first_col];
    if (oc->flat) {
        int e = col_ensure(r, c);
        if (e <= 0) {
            if (e == 0) col_fail(r, c, "fewer values than the row group's %lld rows", (long long)r->rg_rows);
            return -1;
        }
        if (c->max_def && c->def[c->page_pos] != (uint32_t)c->max_def) {
            c->page_pos++;
            *is_null = 1;
            return pq_put_null(out, fmt);
        }
        if (put_leaf_value(r, c, out, fmt)) return -1;
        c->page_pos++;
        return 0;
    }
    /* nested: each leaf's first entry of the row must start a record */
    for (int j = 0; j < oc->n_cols; j++) {
        pq_col *lc = &r->cols[oc->first_col + j];
        int e = col_ensure(r, lc);
        if (e <= 0) {
            if (e == 0) col_fail(r, lc, "fewer values than the row group's %lld rows", (long long)r->rg_rows);
            return -1;
        }
        if (lc->max_rep && lc->rep[lc->page_pos] != 0) {
            col_fail(r, lc, "row %lld starts with repetition level %u", (long long)(r->row + 1), lc->rep[lc->page_pos]);
            return -1;
        }
    }
    const lode_pq_schema_element *e = el_at(r, oc->schema);
    if (e->repetition == LODE_PQ_OPTIONAL && cur_def(c) < (uint32_t)e->max_def) {
        if (skip_node(r, oc, oc->schema)) return -1;
        *is_null = 1;
        return pq_put_null(out, fmt);
    }
    r->scratch.len = 0;
    if (render_node(r, oc, oc->schema, &r->scratch, 0)) return -1;
    if (fmt == PQ_FMT_JSON || fmt == PQ_FMT_RAW) return put_lit(out, (const char *)r->scratch.data, r->scratch.len);
    if (fmt == PQ_FMT_BINARY) {   /* jsonb: version byte, then text */
        if (pq_buf_reserve(out, r->scratch.len + 5)) return -1;
        uint32_t be = __builtin_bswap32((uint32_t)r->scratch.len + 1);
        memcpy(out->data + out->len, &be, 4);
        out->data[out->len + 4] = 1;
        memcpy(out->data + out->len + 5, r->scratch.data, r->scratch.len);
        out->len += r->scratch.len + 5;
        return 0;
    }
    return pq_put_string(out, fmt, (const char *)r->scratch.data, r->scratch.len);
}

static int put_header(lode_pqr *r, pq_buf *out)
{
    for (size_t i = 0; i < r->n_out; i++) {
        if (i && put_lit(out, r->fmt == PQ_FMT_CSV ? "," : "\t", 1)) return -1;
        if (pq_put_string(out, r->fmt, r->out[i].name, strlen(r->out[i].name))) return -1;
    }
    return put_lit(out, "\n", 1);
}

int lode_pqr_render(lode_pqr *r, lode_pqr_buf *out, size_t max_bytes)
{
    if (r->failed) return -1;
    if (!r->header_done) {
        r->header_done = 1;
        if ((r->fmt == PQ_FMT_CSV || r->fmt == PQ_FMT_TSV) && !r->opts.no_header && put_header(r, out)) goto oom;
    }
    while (r->rg_row < r->rg_rows && out->len < max_bytes) {
        size_t row_start = out->len;
        if (r->fmt == PQ_FMT_BINARY) {
            if (pq_buf_reserve(out, 2)) goto oom;
            out->data[out->len] = (uint8_t)(r->n_out >> 8);
            out->data[out->len + 1] = (uint8_t)r->n_out;
            out->len += 2;
        }
        for (size_t i = 0; i < r->n_out; i++) {
            if (put_sep(r, out, i)) goto oom;
            if (r->fmt == PQ_FMT_JSON) {
                if (pq_put_string(out, PQ_FMT_JSON, r->out[i].name, strlen(r->out[i].name)) || put_lit(out, ":", 1))
                    goto oom;
            }
            int is_null;
            if (render_cell(r, &r->out[i], out, r->fmt, &is_null)) {
                out->len = row_start;   /* only whole rows reach the sink */
                if (!r->failed) goto oom;
                return -1;
            }
        }
        if (r->opts.row_suffix_len && (r->fmt == PQ_FMT_TEXT || r->fmt == PQ_FMT_CSV || r->fmt == PQ_FMT_TSV) &&
            put_lit(out, r->opts.row_suffix, r->opts.row_suffix_len))
            goto oom;
        if (r->fmt == PQ_FMT_JSON && put_lit(out, "}\n", 2)) goto oom;
        else if (r->fmt != PQ_FMT_BINARY && r->fmt != PQ_FMT_JSON && put_lit(out, "\n", 1)) goto oom;
        r->rg_row++;
        r->row++;
    }
    if (r->rg_row < r->rg_rows) return 1;
    return pqr_finish_row_group(r);
oom:
    pqr_fail(r, "out of memory rendering row %lld", (long long)(r->row + 1));
    return -1;
}

int lode_pqr_next_row(lode_pqr *r, lode_pqr_row *row)
{
    if (r->failed) return -1;
    if (r->rg_row >= r->rg_rows) return pqr_finish_row_group(r) < 0 ? -1 : 0;
    pq_buf *b = &r->cells;
    b->len = 0;
    for (size_t i = 0; i < r->n_out; i++) {
        int is_null;
        r->cell_off[i] = b->len;
        if (render_cell(r, &r->out[i], b, PQ_FMT_RAW, &is_null)) {
            if (!r->failed) pqr_fail(r, "out of memory");
            return -1;
        }
        r->cell_len[i] = is_null ? -1 : (int64_t)(b->len - r->cell_off[i]);
    }
    r->rg_row++;
    r->row++;
    row->data = b->data;
    row->off = r->cell_off;
    row->len = r->cell_len;
    row->kind = r->cell_kind;
    return 1;
}

/* After the last row: every column must be exhausted. */
int pqr_finish_row_group(lode_pqr *r)
{
    if (r->rg_finished) return 0;
    r->rg_finished = 1;
    for (size_t j = 0; j < r->n_cols; j++) {
        pq_col *c = &r->cols[j];
        if (c->page_pos < c->page_n || c->values_read < c->values_total) {
            int more = col_ensure(r, c);
            if (more < 0) return -1;
            if (more > 0) {
                col_fail(r, c, "more values than the row group's %lld rows", (long long)r->rg_rows);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- setup: footer, projection, row groups ------------------------------------------------ */

int next_sibling(const lode_pq_meta *m, int s)
{
    /* skip s's whole subtree (depth-first order) */
    int todo = 1;
    int i = s;
    while (todo > 0 && (uint32_t)i < m->n_schema) {
        todo += m->schema[i].num_children - 1;
        i++;
    }
    return i;
}

static int count_leaves(const lode_pq_meta *m, int s, int *first_leaf)
{
    int end = next_sibling(m, s), n = 0;
    *first_leaf = -1;
    for (int i = s; i < end; i++)
        if (m->schema[i].num_children == 0) {
            if (*first_leaf < 0) *first_leaf = m->schema[i].leaf_index;
            n++;
        }
    return n;
}

static int setup_columns(lode_pqr *r)
{
    const lode_pq_meta *m = r->meta;
    if (m->n_schema < 1) {
        pqr_fail(r, "empty schema");
        return -1;
    }
    /* top-level fields */
    int nf = m->schema[0].num_children;
    int *fields = calloc((size_t)nf + 1, sizeof *fields);
    if (!fields) return -1;
    int s = 1;
    for (int i = 0; i < nf; i++) {
        fields[i] = s;
        s = next_sibling(m, s);
    }
    size_t want = r->opts.columns ? r->opts.n_columns : (size_t)nf;
    r->out = calloc(want + 1, sizeof *r->out);
    int *chosen = calloc(want + 1, sizeof *chosen);
    if (!r->out || !chosen) {
        free(fields);
        free(chosen);
        pqr_fail(r, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < want; i++) {
        if (!r->opts.columns) {
            chosen[i] = fields[i];
            continue;
        }
        const char *name = r->opts.columns[i];
        chosen[i] = -1;
        for (int k = 0; k < nf; k++) {
            const lode_pq_schema_element *e = &m->schema[fields[k]];
            if (e->name.len == strlen(name) && !memcmp(e->name.ptr, name, e->name.len)) {
                chosen[i] = fields[k];
                break;
            }
        }
        if (chosen[i] < 0 && !r->opts.missing_as_null) {
            pqr_fail(r, "no column '%s' in the file", name);
            free(fields);
            free(chosen);
            return -1;
        }
    }
    free(fields);
    size_t ncols = 0;
    for (size_t i = 0; i < want; i++) {
        int fl;
        if (chosen[i] >= 0) ncols += (size_t)count_leaves(m, chosen[i], &fl);
    }
    r->cols = calloc(ncols + 1, sizeof *r->cols);
    r->cell_off = calloc(want + 1, sizeof *r->cell_off);
    r->cell_len = calloc(want + 1, sizeof *r->cell_len);
    r->cell_kind = calloc(want + 1, sizeof *r->cell_kind);
    if (!r->cols || !r->cell_off || !r->cell_len || !r->cell_kind) {
        free(chosen);
        pqr_fail(r, "out of memory");
        return -1;
    }
    size_t ci = 0;
    for (size_t i = 0; i < want; i++) {
        pq_outcol *oc = &r->out[i];
        if (chosen[i] < 0) {   /* absent from this file: always NULL */
            oc->schema = -1;
            oc->name = strdup(r->opts.columns[i]);
            if (!oc->name) {
                pqr_fail(r, "out of memory");
                free(chosen);
                r->n_out = want;
                r->n_cols = ncols;
                return -1;
            }
            oc->first_col = (int)ci;
            oc->flat = 1;
            snprintf(oc->pg_type, sizeof oc->pg_type, "text");
            r->cell_kind[i] = LODE_PQR_CELL_TEXT;
            continue;
        }
        const lode_pq_schema_element *e = &m->schema[chosen[i]];
        oc->schema = chosen[i];
        oc->name = strndup((const char *)e->name.ptr, e->name.len);
        oc->n_cols = count_leaves(m, chosen[i], &oc->first_leaf);
        oc->first_col = (int)ci;
        oc->flat = e->num_children == 0 && e->repetition != LODE_PQ_REPEATED;
        if (oc->n_cols == 0) {
            pqr_fail(r, "column '%s' has no leaf columns", oc->name ? oc->name : "?");
            free(chosen);
            r->n_out = want;     /* lode_pqr_free frees what was set up (the rest is zeroed) */
            r->n_cols = ncols;
            return -1;
        }
        for (int j = 0; j < oc->n_cols; j++, ci++) {
            pq_col *c = &r->cols[ci];
            c->leaf = oc->first_leaf + j;
            const lode_pq_schema_element *le = &m->schema[m->leaves[c->leaf]];
            char path[512], err[200];
            c->path = strdup(lode_pq_leaf_path(m, (uint32_t)c->leaf, path, sizeof path));
            c->max_def = le->max_def;
            c->max_rep = le->max_rep;
            c->ptype = le->type;
            c->page_no = -1;
            if (pq_vtype_of(le, &c->vt, err, sizeof err) != 0) {
                pqr_fail(r, "column '%s': %s", c->path ? c->path : "?", err);
                free(chosen);
                r->n_out = want;
                r->n_cols = ncols;
                return -1;
            }
            if (c->ptype == LODE_PQ_BOOLEAN) c->vt.width = 1;
        }
        if (oc->flat) {
            const pq_vtype *t = &r->cols[oc->first_col].vt;
            pq_pg_type_name(t, oc->pg_type, sizeof oc->pg_type);
            switch (t->kind) {
            case PQV_BOOL: r->cell_kind[i] = LODE_PQR_CELL_BOOL; break;
            case PQV_INT32: case PQV_UINT32: case PQV_INT64: r->cell_kind[i] = LODE_PQR_CELL_INT; break;
            case PQV_FLOAT: case PQV_DOUBLE: case PQV_FLOAT16: r->cell_kind[i] = LODE_PQR_CELL_NUMBER; break;
            case PQV_BINARY: r->cell_kind[i] = LODE_PQR_CELL_BYTES; break;
            case PQV_JSON: r->cell_kind[i] = LODE_PQR_CELL_JSON; break;
            default: r->cell_kind[i] = LODE_PQR_CELL_TEXT;
            }
        } else {
            snprintf(oc->pg_type, sizeof oc->pg_type, "jsonb");
            r->cell_kind[i] = LODE_PQR_CELL_JSON;
        }
    }
    r->n_out = want;
    r->n_cols = ncols;
    free(chosen);
    return 0;
}

lode_pqr *lode_pqr_new(lode_source *src, const lode_pqr_options *opts)
{
    lode_pqr *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->src = src;
    if (opts) r->opts = *opts;
    if (!r->opts.max_chunk_bytes) r->opts.max_chunk_bytes = DEFAULT_MAX_CHUNK;
    if (!r->opts.max_page_bytes) r->opts.max_page_bytes = DEFAULT_MAX_PAGE;
    if (!r->opts.max_page_values) r->opts.max_page_values = DEFAULT_MAX_PAGE_VALUES;
    r->topts.replace_invalid = r->opts.replace_invalid_utf8;
    r->topts.replacement = r->opts.replacement ? r->opts.replacement : '?';
    r->check_crc = 1;
    switch (r->opts.format) {
    case LODE_PQR_CSV: r->fmt = PQ_FMT_CSV; break;
    case LODE_PQR_TSV: r->fmt = PQ_FMT_TSV; break;
    case LODE_PQR_JSONL: r->fmt = PQ_FMT_JSON; break;
    case LODE_PQR_BINARY: r->fmt = PQ_FMT_BINARY; break;
    case LODE_PQR_CELLS: r->fmt = PQ_FMT_RAW; break;
    default: r->fmt = PQ_FMT_TEXT;
    }
    r->rg = -1;
    r->rg_finished = 1;
    return r;
}

void lode_pqr_free(lode_pqr *r)
{
    if (!r) return;
    for (size_t j = 0; j < r->n_cols; j++) col_free(&r->cols[j]);
    free(r->cols);
    for (size_t i = 0; i < r->n_out; i++) free(r->out[i].name);
    free(r->out);
    free(r->cell_off);
    free(r->cell_len);
    free(r->cell_kind);
    pq_buf_free(&r->scratch);
    pq_buf_free(&r->scratch2);
    pq_buf_free(&r->cells);
    free(r->tail);
    if (r->meta) lode_pq_meta_free(r->meta);
    free(r);
}

size_t lode_pqr_ncolumns(const lode_pqr *r) { return r->n_out; }
const char *lode_pqr_column_name(const lode_pqr *r, size_t i) { return i < r->n_out ? r->out[i].name : NULL; }
const char *lode_pqr_column_pg_type(const lode_pqr *r, size_t i) { return i < r->n_out ? r->out[i].pg_type : NULL; }
int64_t lode_pqr_num_rows(const lode_pqr *r) { return r->meta ? lode_pq_meta_rows(r->meta) : 0; }
int lode_pqr_num_row_groups(const lode_pqr *r) { return r->meta ? (int)r->meta->n_row_groups : 0; }
const lode_pq_meta *lode_pqr_meta(const lode_pqr *r) { return r->meta; }
int lode_pqr_row_group(const lode_pqr *r) { return r->rg; }
int64_t lode_pqr_rows_done(const lode_pqr *r) { return r->row; }
size_t lode_pqr_nleaves(const lode_pqr *r) { return r->n_cols; }
int lode_pqr_leaf(const lode_pqr *r, size_t j) { return r->cols[j].leaf; }

/* Parse the footer found at the end of buf (the last `len` bytes of the file). */
int pqr_parse_footer(lode_pqr *r, const uint8_t *buf, size_t len, uint64_t file_size)
{
    char err[512];
    uint32_t flen;
    if (len < 8) {
        pqr_fail(r, "not a Parquet file: %llu bytes", (unsigned long long)file_size);
        return -1;
    }
    if (lode_pq_footer_tail(buf + len - 8, file_size, &flen, err, sizeof err) != 0) {
        pqr_fail(r, "%s", err);
        return -1;
    }
    if ((size_t)flen + 8 > len) return 1;   /* need more bytes */
    if (lode_pq_meta_parse(buf + len - 8 - flen, flen, &r->meta, err, sizeof err) != 0) {
        pqr_fail(r, "footer: %s", err);
        return -1;
    }
    if (r->meta->encrypted) {
        pqr_fail(r, "encrypted Parquet files are not supported");
        return -1;
    }
    return setup_columns(r);
}

static void on_tail(void *ud, int status, size_t nread, const char *errmsg)
{
    lode_pqr *r = ud;
    if (status != 0) {
        pqr_fail(r, "%s", errmsg ? errmsg : "read failed");
    } else if (nread != r->tail_len) {
        pqr_fail(r, "short read of the footer");
    } else {
        int rc = pqr_parse_footer(r, r->tail, r->tail_len, r->src->size);
        if (rc == 1) {
            /* the footer is longer than our guess: read exactly it */
            uint32_t flen;
            memcpy(&flen, r->tail + r->tail_len - 8, 4);
            size_t need = (size_t)flen + 8;
            free(r->tail);
            r->tail = malloc(need);
            r->tail_len = need;
            if (!r->tail) {
                pqr_fail(r, "out of memory for a %zu-byte footer", need);
            } else if (lode_source_read(r->src, r->src->size - need, need, r->tail, on_tail, r) == 0) {
                return;
            } else {
                pqr_fail(r, "cannot read the footer");
            }
        }
    }
    free(r->tail);
    r->tail = NULL;
    lode_pqr_cb cb = r->cb;
    r->cb = NULL;
    cb(r->cb_ud, r);
}

void lode_pqr_open(lode_pqr *r, lode_pqr_cb cb, void *ud)
{
    r->cb = cb;
    r->cb_ud = ud;
    uint64_t size = r->src->size;
    if (size < 12) {
        pqr_fail(r, "not a Parquet file: only %llu bytes", (unsigned long long)size);
        r->cb = NULL;
        cb(ud, r);
        return;
    }
    r->tail_len = size < TAIL_GUESS ? (size_t)size : TAIL_GUESS;
    r->tail = malloc(r->tail_len);
    if (!r->tail || lode_source_read(r->src, size - r->tail_len, r->tail_len, r->tail, on_tail, r) != 0) {
        pqr_fail(r, "cannot read the footer");
        free(r->tail);
        r->tail = NULL;
        r->cb = NULL;
        cb(ud, r);
    }
}

typedef struct {
    lode_pqr *r;
    pq_col *c;
} chunk_read;

static void rg_loaded(lode_pqr *r)
{
    lode_pqr_cb cb = r->cb;
    r->cb = NULL;
    cb(r->cb_ud, r);
}

static void on_chunk(void *ud, int status, size_t nread, const char *errmsg)
{
    pq_col *c = ud;
    lode_pqr *r = c->owner;
    if (status != 0) pqr_fail(r, "row group %d, column '%s': %s", r->rg, c->path, errmsg ? errmsg : "read failed");
    else if (nread != c->chunk_len)
        pqr_fail(r, "row group %d, column '%s': the column chunk runs past the end of the file", r->rg, c->path);
    if (--r->pending == 0) rg_loaded(r);
}

/* Locate column chunk j of row group g and check it against the file. */
int pqr_chunk_range(lode_pqr *r, pq_col *c, const lode_pq_row_group *rg, uint64_t *off, uint64_t *len)
{
    if ((uint32_t)c->leaf >= rg->n_columns) {
        pqr_fail(r, "row group %d has %u columns, the schema %u", r->rg, rg->n_columns, r->meta->n_leaves);
        return -1;
    }
    const lode_pq_column_chunk *cc = &rg->columns[c->leaf];
    const lode_pq_column_meta *cm = cc->meta;
    if (!cm || cc->encrypted) {
        pqr_fail(r, "row group %d, column '%s': encrypted or missing column metadata", r->rg, c->path);
        return -1;
    }
    if (cc->has_file_path) {
        pqr_fail(r, "row group %d, column '%s': column chunks in other files are not supported", r->rg, c->path);
        return -1;
    }
    if (cm->type != c->ptype) {
        pqr_fail(r, "row group %d, column '%s': chunk type %s differs from the schema's %s", r->rg, c->path,
                 lode_pq_type_name(cm->type), lode_pq_type_name(c->ptype));
        return -1;
    }
    int64_t start = cm->data_page_offset;
    if (cm->has_dictionary_page_offset && cm->dictionary_page_offset >= 4 && cm->dictionary_page_offset < start)
        start = cm->dictionary_page_offset;
    if (start < 4 || cm->total_compressed_size <= 0 || cm->num_values < 0 ||
        (uint64_t)start > r->src->size || (uint64_t)cm->total_compressed_size > r->src->size - (uint64_t)start) {
        pqr_fail(r, "row group %d, column '%s': column chunk at %lld (+%lld bytes) is outside the %llu-byte file",
                 r->rg, c->path, (long long)start, (long long)cm->total_compressed_size,
                 (unsigned long long)r->src->size);
        return -1;
    }
    if ((uint64_t)cm->total_compressed_size > r->opts.max_chunk_bytes) {
        pqr_fail(r, "row group %d, column '%s': column chunk of %lld bytes is too large (limit %llu)", r->rg,
                 c->path, (long long)cm->total_compressed_size, (unsigned long long)r->opts.max_chunk_bytes);
        return -1;
    }
    if (!lode_codec_supported(cm->codec)) {
        pqr_fail(r, "row group %d, column '%s': compression %s is not supported", r->rg, c->path,
                 lode_codec_name(cm->codec));
        return -1;
    }
    *off = (uint64_t)start;
    *len = (uint64_t)cm->total_compressed_size;
    c->codec = cm->codec;
    c->values_total = cm->num_values;
    return 0;
}

/* Prepare row group g: set counters and allocate chunk buffers. */
int pqr_begin_row_group(lode_pqr *r, int g)
{
    const lode_pq_row_group *rg = &r->meta->row_groups[g];
    r->rg = g;
    r->rg_rows = rg->num_rows;
    r->rg_row = 0;
    r->rg_finished = 0;
    if (rg->num_rows < 0) {
        pqr_fail(r, "row group %d has %lld rows", g, (long long)rg->num_rows);
        return -1;
    }
    for (size_t j = 0; j < r->n_cols; j++) {
        pq_col *c = &r->cols[j];
        col_reset_chunk(c);
        c->owner = r;
        uint64_t off, len;
        if (pqr_chunk_range(r, c, rg, &off, &len) != 0) return -1;
        if (len > c->chunk_cap) {   /* exactly the largest chunk so far */
            free(c->chunk);
            c->chunk = malloc((size_t)len);
            c->chunk_cap = c->chunk ? (size_t)len : 0;
        }
        if (!c->chunk) {
            pqr_fail(r, "row group %d, column '%s': out of memory for %llu bytes", g, c->path,
                     (unsigned long long)len);
            return -1;
        }
        c->chunk_len = (size_t)len;
        c->chunk_offset = off;
    }
    return 0;
}

int lode_pqr_next_row_group(lode_pqr *r, lode_pqr_cb cb, void *ud)
{
    if (r->failed || !r->meta) return -1;
    if (!r->rg_finished && pqr_finish_row_group(r) != 0) return -1;
    int g = r->rg + 1;
    while ((uint32_t)g < r->meta->n_row_groups && r->meta->row_groups[g].num_rows == 0) g++;  /* nothing to read */
    if ((uint32_t)g >= r->meta->n_row_groups) {
        r->rg = g - 1;
        return 1;
    }
    if (pqr_begin_row_group(r, g) != 0) return -1;
    r->cb = cb;
    r->cb_ud = ud;
    r->pending = 1;   /* held until every read is issued */
    for (size_t j = 0; j < r->n_cols && !r->failed; j++) {
        pq_col *c = &r->cols[j];
        r->pending++;
        if (lode_source_read(r->src, c->chunk_offset, c->chunk_len, c->chunk, on_chunk, c) != 0) {
            r->pending--;
            pqr_fail(r, "row group %d, column '%s': cannot start the read", g, c->path);
        }
    }
    if (--r->pending == 0) rg_loaded(r);
    return 0;
}

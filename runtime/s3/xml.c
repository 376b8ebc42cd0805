/* s3/xml.c — just enough XML for S3's flat response documents: find an
 * element by name, decode entities, escape text for request bodies. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *find_open(const char *p, const char *end, const char *tag, size_t tlen, int *self_closing,
                             const char **after)
{
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt) return NULL;
        if ((size_t)(end - lt) > tlen + 1 && memcmp(lt + 1, tag, tlen) == 0) {
            char c = lt[1 + tlen];
            if (c == '>' || c == ' ' || c == '/' || c == '\t' || c == '\n' || c == '\r') {
                const char *gt = memchr(lt, '>', (size_t)(end - lt));
                if (!gt) return NULL;
                *self_closing = gt[-1] == '/';
                *after = gt + 1;
                return lt;
            }
        }
        p = lt + 1;
    }
    return NULL;
}

const char *s3_xml_next(const char *p, const char *end, const char *tag, const char **inner, size_t *len)
{
    size_t tlen = strlen(tag);
    int self_closing;
    const char *after;
    if (!find_open(p, end, tag, tlen, &self_closing, &after)) return NULL;
    if (self_closing) {
        *inner = after;
        *len = 0;
        return after;
    }
    /* the matching close tag: S3 documents do not nest an element in itself */
    for (const char *q = after; q < end; q++) {
        q = memchr(q, '<', (size_t)(end - q));
        if (!q) return NULL;
        if ((size_t)(end - q) >= tlen + 3 && q[1] == '/' && memcmp(q + 2, tag, tlen) == 0 && q[2 + tlen] == '>') {
            *inner = after;
            *len = (size_t)(q - after);
            return q + tlen + 3;
        }
    }
    return NULL;
}

/* "&#233;" or "&#xE9;" (e is el bytes, '&' to ';'): a valid Unicode scalar
 * value, not NUL and not a surrogate, in *cp. Anything else stays as text. */
static int char_ref(const char *e, size_t el, unsigned long *cp)
{
    int hex = el > 3 && (e[2] == 'x' || e[2] == 'X');
    const char *d = e + (hex ? 3 : 2), *semi = e + el - 1;
    if (d == semi || semi - d > 8) return 0;
    unsigned long v = 0;
    for (; d < semi; d++) {
        int c = (unsigned char)*d, k;
        if (c >= '0' && c <= '9') k = c - '0';
        else if (hex && c >= 'a' && c <= 'f') k = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F') k = c - 'A' + 10;
        else return 0;
        v = v * (hex ? 16 : 10) + (unsigned long)k;
    }
    if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return 1;
}

char *s3_xml_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '&') {
            *o++ = s[i];
            continue;
        }
        const char *semi = memchr(s + i, ';', n - i);
        if (!semi || semi - (s + i) > 10) {
            *o++ = s[i];
            continue;
        }
        size_t el = (size_t)(semi - (s + i)) + 1;
        const char *e = s + i;
        unsigned long cp;
        if (el == 5 && memcmp(e, "&amp;", 5) == 0) *o++ = '&';
        else if (el == 4 && memcmp(e, "&lt;", 4) == 0) *o++ = '<';
        else if (el == 4 && memcmp(e, "&gt;", 4) == 0) *o++ = '>';
        else if (el == 6 && memcmp(e, "&quot;", 6) == 0) *o++ = '"';
        else if (el == 6 && memcmp(e, "&apos;", 6) == 0) *o++ = '\'';
        else if (e[1] == '#' && char_ref(e, el, &cp)) {
            /* UTF-8 encode the code point */
            if (cp < 0x80) *o++ = (char)cp;
            else if (cp < 0x800) {
                *o++ = (char)(0xC0 | (cp >> 6));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xE0 | (cp >> 12));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (char)(0xF0 | (cp >> 18));
                *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            }
        } else {
            memcpy(o, e, el);
            o += el;
        }
        i += el - 1;
    }
    *o = '\0';
    return out;
}

char *s3_xml_get(const char *p, const char *end, const char *tag)
{
    const char *inner;
    size_t len;
    if (!s3_xml_next(p, end, tag, &inner, &len)) return NULL;
    return s3_xml_decode(inner, len);
}

int s3_xml_escape_append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t need = *len + strlen(s) * 6 + 1;
    if (need > *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c < need) c *= 2;
        char *b = realloc(*buf, c);
        if (!b) return -1;
        *buf = b;
        *cap = c;
    }
    char *o = *buf + *len;
    for (; *s; s++) {
        switch (*s) {
        case '&': memcpy(o, "&amp;", 5); o += 5; break;
        case '<': memcpy(o, "&lt;", 4); o += 4; break;
        case '>': memcpy(o, "&gt;", 4); o += 4; break;
        case '"': memcpy(o, "&quot;", 6); o += 6; break;
        case '\'': memcpy(o, "&apos;", 6); o += 6; break;
        case '\r': memcpy(o, "&#13;", 5); o += 5; break;
        default: *o++ = *s;
        }
    }
    *o = '\0';
    *len = (size_t)(o - *buf);
    return 0;
}

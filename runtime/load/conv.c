/* load/conv.c — per target-column validation and conversion of one field into
 * PostgreSQL's text COPY form, with Redshift's COPY rules: NULL AS,
 * EMPTYASNULL, BLANKSASNULL, integer ranges, numeric(p,s) (extra scale
 * digits truncated, as Redshift does without ROUNDEC), booleans,
 * DATEFORMAT/TIMEFORMAT (formats, 'auto', 'epochsecs', 'epochmillisecs'),
 * varchar(n) byte lengths with TRUNCATECOLUMNS, invalid UTF-8 and NUL bytes
 * with ACCEPTINVCHARS, ROUNDEC, TRIMBLANKS and ACCEPTANYDATE. A rejected field leaves the output untouched and says
 * why in Redshift's words (err_code as in STL_LOAD_ERRORS). */
#include "lode/load/load.h"
#include "lode/pg/pg.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int conv_fail(lode_conv_error *e, int code, const char *fmt, const char *p, size_t n)
{
    /* the value as text a person can read: at most 40 bytes, others as \xNN */
    char shown[180];
    size_t k = n < 40 ? n : 40;
    size_t j = 0;
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 32 && c < 127 && c != '\\') shown[j++] = (char)c;
        else j += (size_t)snprintf(shown + j, sizeof shown - j, "\\x%02X", c);
    }
    if (n > k) { shown[j++] = '.'; shown[j++] = '.'; shown[j++] = '.'; }
    shown[j] = 0;
    e->code = code;
    snprintf(e->reason, sizeof e->reason, fmt, shown);
    return -1;
}

/* ---- UTF-8 ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned min;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

int lode_utf8_valid(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) { i++; continue; }
        size_t k = utf8_seq(s + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

/* ---- text output ------------------------------------------------------------ */

static int put_escaped(lode_buf *out, const char *p, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        const char *esc = NULL;
        switch (c) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        default: break;
        }
        if (esc) {
            if (lode_buf_append(out, p + run, i - run) || lode_buf_append(out, esc, 2)) return -1;
            run = i + 1;
        }
    }
    return lode_buf_append(out, p + run, n - run);
}

static int put_null(lode_buf *out) { return lode_buf_append(out, "\\N", 2); }

/* Text for a character column: UTF-8 checked (ACCEPTINVCHARS replaces bad
 * bytes and NULs), length checked or truncated on a character boundary. */
static int conv_text(const lode_load_column *col, const lode_conv_opts *o, const char *p, size_t n,
                     lode_buf *out, lode_conv_error *e, int raw)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t mark = out->len;
    size_t bytes = 0;               /* bytes of the value written so far */
    size_t limit = col->length >= 0 ? (size_t)col->length : (size_t)-1;
    char rep = o->acceptinvchars;
    size_t i = 0;
    while (i < n) {
        size_t k;
        const char *chunk;
        char rbuf[1];
        if (s[i] == 0) {
            if (!rep) { out->len = mark; return conv_fail(e, LODE_ERR_NUL, "NUL byte in value '%s' (use ACCEPTINVCHARS to replace it)", p, n); }
            rbuf[0] = rep; chunk = rbuf; k = 1;
            i += 1;
        } else if (s[i] < 0x80) {
            /* a run of plain ASCII */
            size_t j = i;
            while (j < n && s[j] != 0 && s[j] < 0x80) j++;
            chunk = p + i; k = j - i;
            if (bytes + k > limit) k = limit - bytes;
            if (k && (raw ? lode_buf_append(out, chunk, k) : put_escaped(out, chunk, k))) goto oom;
            bytes += k;
            if (j - i > k) goto too_long;
            i = j;
            continue;
        } else if ((k = utf8_seq(s + i, n - i)) != 0) {
            chunk = p + i;
            i += k;
        } else {
            if (!rep) { out->len = mark; return conv_fail(e, LODE_ERR_UTF8, "Invalid UTF8 character in value '%s' (use ACCEPTINVCHARS to replace it)", p, n); }
            rbuf[0] = rep; chunk = rbuf; k = 1;
            i += 1;
        }
        if (bytes + k > limit) goto too_long;
        if (raw ? lode_buf_append(out, chunk, k) : put_escaped(out, chunk, k)) goto oom;
        bytes += k;
    }
    return 0;
too_long:
    if (o->truncatecolumns) return 0;
    out->len = mark;
    {
        char fmt[96];
        snprintf(fmt, sizeof fmt, "String length exceeds DDL length (%d bytes): '%%s'", (int)col->length);
        return conv_fail(e, LODE_ERR_LENGTH, fmt, p, n);
    }
oom:
    out->len = mark;
    e->code = 0;
    snprintf(e->reason, sizeof e->reason, "out of memory");
    return -1;
}

/* ---- binary fields written in place ------------------------------------------- */

/* Room for n more bytes in b (grown by doubling, as lode_copy_buf_append grows it). */
static int bin_room(lode_copy_buf *b, size_t n)
{
    if (b->cap - b->len >= n) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) cap *= 2;
    unsigned char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

static inline void store_be16(unsigned char *w, uint16_t v)
{
    w[0] = (unsigned char)(v >> 8); w[1] = (unsigned char)v;
}

static inline void store_be32(unsigned char *w, uint32_t v)
{
    w[0] = (unsigned char)(v >> 24); w[1] = (unsigned char)(v >> 16);
    w[2] = (unsigned char)(v >> 8); w[3] = (unsigned char)v;
}

/* A fixed-size field (length word, then v in `bytes` = 2, 4 or 8 big-endian
 * bytes): what lode_copy_bin_int2/int4/int8 write, without a call per byte. */
static inline int bin_put_uint(lode_copy_buf *b, uint64_t v, unsigned bytes)
{
    if (b->cap - b->len < 4 + bytes && bin_room(b, 4 + bytes)) return -1;
    unsigned char *w = b->data + b->len;
    store_be32(w, bytes);
    if (bytes == 2) store_be16(w + 4, (uint16_t)v);
    else if (bytes == 4) store_be32(w + 4, (uint32_t)v);
    else store_be32(w + 4, (uint32_t)(v >> 32)), store_be32(w + 8, (uint32_t)v);
    b->len += 4 + bytes;
    return 0;
}

/* numeric's send format for the decimal conv_numeric writes as text: the
 * integer digits ip[0..ni) and the fraction digits fp[0..nf), nf being the
 * display scale, in base-10000 groups aligned on the point, leading and
 * trailing zero groups left out (lode_copy_bin_numeric_text reads that
 * text to the same bytes). At most NUMERIC_DIRECT_DIGITS digits. */
#define NUMERIC_DIRECT_DIGITS 256
static int bin_put_numeric(lode_copy_buf *b, int neg, const char *ip, size_t ni, const char *fp, size_t nf)
{
    uint16_t g[NUMERIC_DIRECT_DIGITS / 4 + 2];
    size_t ng = 0;
    unsigned v = 0, k = (unsigned)((4 - ni % 4) % 4);   /* the first group padded on the left */
    for (size_t i = 0; i < ni; i++) {
        v = v * 10 + (unsigned)(ip[i] - '0');
        if (++k == 4) { g[ng++] = (uint16_t)v; v = 0; k = 0; }
    }
    size_t gi = ng;
    for (size_t i = 0; i < nf; i++) {
        v = v * 10 + (unsigned)(fp[i] - '0');
        if (++k == 4) { g[ng++] = (uint16_t)v; v = 0; k = 0; }
    }
    if (k) {                                              /* the last padded on the right */
        for (; k < 4; k++) v *= 10;
        g[ng++] = (uint16_t)v;
    }
    size_t first = 0, last = ng;
    while (first < last && g[first] == 0) first++;
    while (last > first && g[last - 1] == 0) last--;
    size_t ndig = last - first;
    int weight = ndig ? (int)gi - 1 - (int)first : 0;
    size_t len = 8 + 2 * ndig;
    if (bin_room(b, 4 + len)) return -1;
    unsigned char *w = b->data + b->len;
    uint16_t head[4] = { (uint16_t)ndig, (uint16_t)(int16_t)weight, (uint16_t)(neg && ndig ? 0x4000 : 0),
                         (uint16_t)nf };
    store_be32(w, (uint32_t)len);
    w += 4;
    for (size_t i = 0; i < 4; i++, w += 2) store_be16(w, head[i]);
    for (size_t i = first; i < last; i++, w += 2) store_be16(w, g[i]);
    b->len += 4 + len;
    return 0;
}

/* ---- numbers ------------------------------------------------------------------ */

static int64_t days_from_2000(int64_t y, int64_t m, int64_t d);

/* An integer column's value: bin set, straight in binary form; else its text. */
static int conv_int(const lode_load_column *col, const char *p, size_t n, lode_buf *out, lode_conv_error *e,
                    lode_copy_buf *bin)
{
    static const char *names[] = { "Smallint", "Integer", "Bigint" };
    int which = col->type == LODE_LT_INT2 ? 0 : col->type == LODE_LT_INT4 ? 1 : 2;
    size_t i = 0;
    int neg = 0;
    if (n && (p[0] == '-' || p[0] == '+')) { neg = p[0] == '-'; i = 1; }
    if (i == n) return conv_fail(e, LODE_ERR_DIGIT, "Invalid digit, Value '%s', Type: Integer", p, n);
    uint64_t v = 0;
    uint64_t max = which == 0 ? 32767u : which == 1 ? 2147483647u : 9223372036854775807u;
    max += (uint64_t)neg;
    const uint64_t max10 = max / 10;
    const unsigned maxlast = (unsigned)(max % 10);
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            char fmt[96];
            snprintf(fmt, sizeof fmt, "Invalid digit, Value '%%s', Pos %zu, Type: %s", i, names[which]);
            return conv_fail(e, LODE_ERR_DIGIT, fmt, p, n);
        }
        unsigned d = (unsigned)(p[i] - '0');
        if (v > max10 || (v == max10 && d > maxlast)) {   /* v * 10 + d > max */
            char fmt[96];
            snprintf(fmt, sizeof fmt, "Overflow, Value '%%s', Type: %s", names[which]);
            return conv_fail(e, LODE_ERR_OVERFLOW, fmt, p, n);
        }
        v = v * 10 + d;
    }
    if (bin) {
        int64_t x = neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
        return which == 0 ? bin_put_uint(bin, (uint16_t)(int16_t)x, 2)
             : which == 1 ? bin_put_uint(bin, (uint32_t)(int32_t)x, 4) : bin_put_uint(bin, (uint64_t)x, 8);
    }
    char buf[24];
    int k = neg && v ? snprintf(buf, sizeof buf, "-%llu", (unsigned long long)v)
                     : snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return lode_buf_append(out, buf, (size_t)k);
}

/* ROUNDEC: digits[0..n) (integer then scale digits) plus one when the first
 * dropped digit is 5 or more, as INSERT rounds; returns 1 when the carry
 * adds a leading digit. */
static int round_digits(char *digits, size_t n, char dropped)
{
    if (dropped < '5') return 0;
    for (size_t k = n; k-- > 0;) {
        if (digits[k] != '9') { digits[k]++; return 0; }
        digits[k] = '0';
    }
    return 1;
}

/* numeric(p,s) with more than s fraction digits under ROUNDEC: rounded to s
 * digits, then the precision checked again (99.995 in numeric(4,2) overflows). */
static int conv_numeric_rounded(const lode_load_column *col, const char *p, size_t n, int neg, size_t int_start,
                                size_t int_end, size_t frac_start, lode_buf *out, lode_conv_error *e)
{
    size_t ni = int_end - int_start, ns = (size_t)col->scale;
    char digits[128];
    if (ni + ns + 1 > sizeof digits) {
        char fmt[96];
        snprintf(fmt, sizeof fmt, "Numeric data overflow (result precision), Value '%%s', Type: numeric(%d,%d)",
                 col->precision, col->scale);
        return conv_fail(e, LODE_ERR_OVERFLOW, fmt, p, n);
    }
    memcpy(digits + 1, p + int_start, ni);
    memcpy(digits + 1 + ni, p + frac_start, ns);
    digits[0] = '0';
    if (round_digits(digits + 1, ni + ns, p[frac_start + ns])) { digits[0] = '1'; }
    size_t first = digits[0] == '1' ? 0 : 1;
    size_t int_digits = ni + 1 - first;
    while (int_digits > 0 && digits[first] == '0') { first++; int_digits--; }
    if ((int)int_digits > col->precision - col->scale) {
        char fmt[96];
        snprintf(fmt, sizeof fmt, "Numeric data overflow (result precision), Value '%%s', Type: numeric(%d,%d)",
                 col->precision, col->scale);
        return conv_fail(e, LODE_ERR_OVERFLOW, fmt, p, n);
    }
    int zero = 1;
    for (size_t k = first; k < 1 + ni + ns; k++) if (digits[k] != '0') zero = 0;
    size_t mark = out->len;
    if (neg && !zero && lode_buf_putc(out, '-')) goto oom;
    if (int_digits) { if (lode_buf_append(out, digits + first, int_digits)) goto oom; }
    else if (lode_buf_putc(out, '0')) goto oom;
    if (ns && (lode_buf_putc(out, '.') || lode_buf_append(out, digits + 1 + ni, ns))) goto oom;
    return 0;
oom:
    out->len = mark;
    snprintf(e->reason, sizeof e->reason, "out of memory");
    return -1;
}

/* bin set: the value straight in binary form, unless ROUNDEC rounds it or
 * it has more than NUMERIC_DIRECT_DIGITS digits (then its text, as without bin). */
static int conv_numeric(const lode_load_column *col, const lode_conv_opts *o, const char *p, size_t n,
                        lode_buf *out, lode_conv_error *e, lode_copy_buf *bin)
{
    size_t i = 0;
    int neg = 0;
    if (n && (p[0] == '-' || p[0] == '+')) { neg = p[0] == '-'; i = 1; }
    size_t int_start = i;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    size_t int_end = i;
    size_t frac_start = i, frac_end = i;
    if (i < n && p[i] == '.') {
        frac_start = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
        frac_end = i;
    }
    if (i != n || (int_end == int_start && frac_end == frac_start))
        return conv_fail(e, LODE_ERR_DIGIT, "Invalid digit, Value '%s', Type: Decimal", p, n);
    while (int_start < int_end - (int_end > int_start ? 1 : 0) && p[int_start] == '0') int_start++;
    size_t int_digits = int_end - int_start;
    if (int_digits == 1 && p[int_start] == '0') int_digits = 0;
    size_t frac_digits = frac_end - frac_start;
    if (col->precision > 0) {
        if ((int)int_digits > col->precision - col->scale) {
            char fmt[96];
            snprintf(fmt, sizeof fmt, "Numeric data overflow (result precision), Value '%%s', Type: numeric(%d,%d)",
                     col->precision, col->scale);
            return conv_fail(e, LODE_ERR_OVERFLOW, fmt, p, n);
        }
        if ((int)frac_digits > col->scale) {
            if (o->roundec) return conv_numeric_rounded(col, p, n, neg, int_start, int_end, frac_start, out, e);
            frac_digits = (size_t)col->scale; /* truncated, not rounded (Redshift without ROUNDEC) */
        }
    }
    if (bin && int_end - int_start + frac_digits <= NUMERIC_DIRECT_DIGITS)
        return bin_put_numeric(bin, neg, p + int_start, int_end - int_start, p + frac_start, frac_digits);
    size_t mark = out->len;
    int zero = 1;
    for (size_t k = int_start; k < int_end; k++) if (p[k] != '0') zero = 0;
    for (size_t k = frac_start; k < frac_start + frac_digits; k++) if (p[k] != '0') zero = 0;
    if (neg && !zero && lode_buf_putc(out, '-')) goto oom;
    if (int_end > int_start) { if (lode_buf_append(out, p + int_start, int_end - int_start)) goto oom; }
    else if (lode_buf_putc(out, '0')) goto oom;
    if (frac_digits && (lode_buf_putc(out, '.') || lode_buf_append(out, p + frac_start, frac_digits))) goto oom;
    return 0;
oom:
    out->len = mark;
    snprintf(e->reason, sizeof e->reason, "out of memory");
    return -1;
}

static int conv_float(const lode_load_column *col, const char *p, size_t n, lode_buf *out, lode_conv_error *e)
{
    char buf[80];
    const char *tname = col->type == LODE_LT_FLOAT4 ? "Real" : "Double";
    char fmt[96];
    snprintf(fmt, sizeof fmt, "Invalid digit, Value '%%s', Type: %s", tname);
    if (n == 0 || n >= sizeof buf) return conv_fail(e, LODE_ERR_FLOAT, fmt, p, n);
    memcpy(buf, p, n);
    buf[n] = 0;
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        /* no hex floats, no spaces, no NULs: digits, signs, '.', exponent, inf/nan words */
        if (!(isdigit((unsigned char)c) || c == '+' || c == '-' || c == '.' || isalpha((unsigned char)c)))
            return conv_fail(e, LODE_ERR_FLOAT, fmt, p, n);
        if (c == 'x' || c == 'X') return conv_fail(e, LODE_ERR_FLOAT, fmt, p, n);
    }
    errno = 0;
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + n) return conv_fail(e, LODE_ERR_FLOAT, fmt, p, n);
    if (isnan(v)) return lode_buf_append(out, "NaN", 3);
    if (isinf(v)) {
        int word = 0;
        for (size_t i = 0; i < n; i++) if (isalpha((unsigned char)buf[i]) && buf[i] != 'e' && buf[i] != 'E') word = 1;
        if (!word) {
            snprintf(fmt, sizeof fmt, "Overflow, Value '%%s', Type: %s", tname);
            return conv_fail(e, LODE_ERR_OVERFLOW, fmt, p, n);
        }
        return v > 0 ? lode_buf_append(out, "Infinity", 8) : lode_buf_append(out, "-Infinity", 9);
    }
    if (col->type == LODE_LT_FLOAT4 && fabs(v) > 3.4028234663852886e38) {
        snprintf(fmt, sizeof fmt, "Overflow, Value '%%s', Type: %s", tname);
        return conv_fail(e, LODE_ERR_OVERFLOW, fmt, p, n);
    }
    int k = snprintf(buf, sizeof buf, col->type == LODE_LT_FLOAT4 ? "%.9g" : "%.17g", v);
    return lode_buf_append(out, buf, (size_t)k);
}

static int ieq(const char *p, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (k != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)p[i]) != w[i]) return 0;
    return 1;
}

static int conv_bool(const char *p, size_t n, lode_buf *out, lode_conv_error *e)
{
    static const char *yes[] = { "t", "true", "1", "y", "yes", "on" };
    static const char *no[] = { "f", "false", "0", "n", "no", "off" };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (ieq(p, n, yes[i])) return lode_buf_putc(out, 't');
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (ieq(p, n, no[i])) return lode_buf_putc(out, 'f');
    return conv_fail(e, LODE_ERR_BOOL, "Invalid boolean value '%s'", p, n);
}

/* ---- dates and times ---------------------------------------------------------- */

static const char *MONTHS[] = { "jan", "feb", "mar", "apr", "may", "jun",
                                "jul", "aug", "sep", "oct", "nov", "dec" };

static int days_in_month(int y, int m)
{
    static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return d[m - 1];
}

/* Read exactly `min`..`max` digits. */
static int read_num(const char *p, size_t n, size_t *i, int min, int max, int *v)
{
    int k = 0, x = 0;
    while (*i < n && k < max && p[*i] >= '0' && p[*i] <= '9') {
        x = x * 10 + (p[*i] - '0');
        (*i)++;
        k++;
    }
    if (k < min) return -1;
    *v = x;
    return 0;
}

static int read_fraction(const char *p, size_t n, size_t *i, int *usec)
{
    if (*i < n && p[*i] == '.') {
        size_t j = *i + 1;
        int k = 0, x = 0;
        while (j < n && p[j] >= '0' && p[j] <= '9') {
            if (k < 6) { x = x * 10 + (p[j] - '0'); k++; }
            j++;
        }
        if (j == *i + 1) return -1;
        while (k < 6) { x *= 10; k++; }
        *usec = x;
        *i = j;
    }
    return 0;
}

static int read_tz(const char *p, size_t n, size_t *i, lode_datetime *dt)
{
    size_t j = *i;
    while (j < n && p[j] == ' ') j++;
    if (j < n && (p[j] == 'Z' || p[j] == 'z')) {
        dt->has_tz = 1; dt->tz_minutes = 0; *i = j + 1; return 0;
    }
    if (j + 3 <= n && ieq(p + j, 3, "utc")) {
        dt->has_tz = 1; dt->tz_minutes = 0; *i = j + 3; return 0;
    }
    if (j < n && (p[j] == '+' || p[j] == '-')) {
        int sign = p[j] == '-' ? -1 : 1;
        size_t k = j + 1;
        int hh, mm = 0;
        if (read_num(p, n, &k, 2, 2, &hh)) return -1;
        if (k < n && p[k] == ':') k++;
        if (k < n && p[k] >= '0' && p[k] <= '9' && read_num(p, n, &k, 2, 2, &mm)) return -1;
        if (hh > 15 || mm > 59) return -1;
        dt->has_tz = 1;
        dt->tz_minutes = sign * (hh * 60 + mm);
        *i = k;
    }
    return 0;
}

static int fmt_is(const char *f, const char *tok)
{
    size_t k = strlen(tok);
    for (size_t i = 0; i < k; i++)
        if (toupper((unsigned char)f[i]) != tok[i]) return 0;
    return 1;
}

/* Parse p with a Redshift datetime format string. */
static int parse_with_format(const char *fmt, const char *p, size_t n, lode_datetime *dt)
{
    size_t i = 0;
    int pm = -1, h12 = 0;
    const char *f = fmt;
    while (*f) {
        if (fmt_is(f, "YYYY")) { if (read_num(p, n, &i, 4, 4, &dt->year)) return -1; dt->has_date = 1; f += 4; }
        else if (fmt_is(f, "YY")) {
            if (read_num(p, n, &i, 2, 2, &dt->year)) return -1;
            dt->year += dt->year < 70 ? 2000 : 1900; dt->has_date = 1; f += 2;
        }
        else if (fmt_is(f, "MONTH") || fmt_is(f, "MON")) {
            int found = 0;
            for (int m = 0; m < 12; m++) {
                if (i + 3 <= n && ieq(p + i, 3, MONTHS[m])) {
                    dt->month = m + 1; i += 3; found = 1;
                    while (i < n && isalpha((unsigned char)p[i])) i++;  /* full month names */
                    break;
                }
            }
            if (!found) return -1;
            f += fmt_is(f, "MONTH") ? 5 : 3;
        }
        else if (fmt_is(f, "MM")) { if (read_num(p, n, &i, 1, 2, &dt->month)) return -1; f += 2; }
        else if (fmt_is(f, "DD")) { if (read_num(p, n, &i, 1, 2, &dt->day)) return -1; f += 2; }
        else if (fmt_is(f, "HH24")) { if (read_num(p, n, &i, 1, 2, &dt->hour)) return -1; dt->has_time = 1; f += 4; }
        else if (fmt_is(f, "HH12")) { if (read_num(p, n, &i, 1, 2, &dt->hour)) return -1; h12 = 1; dt->has_time = 1; f += 4; }
        else if (fmt_is(f, "HH")) { if (read_num(p, n, &i, 1, 2, &dt->hour)) return -1; dt->has_time = 1; f += 2; }
        else if (fmt_is(f, "MI")) { if (read_num(p, n, &i, 1, 2, &dt->minute)) return -1; f += 2; }
        else if (fmt_is(f, "SS")) {
            if (read_num(p, n, &i, 1, 2, &dt->second)) return -1;
            f += 2;
            /* "SS.SSS…" in the format, or a fraction in the data */
            if (*f == '.' && (f[1] == 'S' || f[1] == 's')) { f++; while (*f == 'S' || *f == 's') f++; }
            if (read_fraction(p, n, &i, &dt->usec)) return -1;
        }
        else if (fmt_is(f, "AM") || fmt_is(f, "PM")) {
            if (i + 2 > n) return -1;
            if (ieq(p + i, 2, "am")) pm = 0; else if (ieq(p + i, 2, "pm")) pm = 1; else return -1;
            i += 2; f += 2;
        }
        else if (*f == ' ') {
            if (i >= n || (p[i] != ' ' && p[i] != 'T')) return -1;
            while (i < n && p[i] == ' ') i++;
            if (i < n && p[i] == 'T' && p[i - 1] != ' ') i++;
            f++;
        }
        else {
            if (i >= n || p[i] != *f) return -1;
            i++; f++;
        }
    }
    if (pm >= 0 || h12) {
        if (dt->hour < 1 || dt->hour > 12) return -1;
        if (pm == 1 && dt->hour < 12) dt->hour += 12;
        if (pm == 0 && dt->hour == 12) dt->hour = 0;
    }
    if (read_tz(p, n, &i, dt)) return -1;
    return i == n ? 0 : -1;
}

static int parse_epoch(const char *p, size_t n, int millis, lode_datetime *dt)
{
    size_t i = 0;
    int neg = 0;
    if (n && p[0] == '-') { neg = 1; i = 1; }
    if (i == n || n - i > 19) return -1;
    int64_t v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    if (neg) v = -v;
    int64_t secs = millis ? (v >= 0 ? v / 1000 : -((-v + 999) / 1000)) : v;
    int usec = millis ? (int)((v - secs * 1000) * 1000) : 0;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    /* civil from days (Howard Hinnant's algorithm, public domain facts) */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    if (y < 1 || y > 9999) return -1;
    dt->year = (int)y; dt->month = (int)m; dt->day = (int)d;
    dt->hour = (int)(rem / 3600); dt->minute = (int)(rem / 60 % 60); dt->second = (int)(rem % 60);
    dt->usec = usec;
    dt->has_date = dt->has_time = dt->has_tz = 1;
    dt->tz_minutes = 0;
    return 0;
}

static const char *AUTO_FORMATS[] = {
    "YYYY-MM-DD HH:MI:SS", "YYYY-MM-DD HH:MI", "YYYY-MM-DD",
    "YYYY/MM/DD HH:MI:SS", "YYYY/MM/DD",
    "MM/DD/YYYY HH:MI:SS AM", "MM/DD/YYYY HH:MI:SS", "MM/DD/YYYY",
    "MM-DD-YYYY", "DD.MM.YYYY HH:MI:SS", "DD.MM.YYYY",
    "YYYYMMDD HH:MI:SS", "YYYYMMDD",
    "MON DD, YYYY", "MON DD YYYY HH:MI:SS", "MON DD YYYY", "DD MON YYYY HH:MI:SS", "DD MON YYYY",
    "YYYY-MON-DD", "DD-MON-YYYY", "DD-MON-YY",
    "HH:MI:SS AM", "HH:MI:SS", "HH:MI",
    NULL
};

static int valid_datetime(const lode_datetime *dt)
{
    if (dt->has_date) {
        if (dt->year < 1 || dt->year > 9999 || dt->month < 1 || dt->month > 12) return 0;
        if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month)) return 0;
    }
    if (dt->hour > 24 || dt->minute > 59 || dt->second > 60) return 0;
    if (dt->hour == 24 && (dt->minute || dt->second || dt->usec)) return 0;
    return 1;
}

int lode_parse_datetime(const char *fmt, const char *p, size_t n, lode_datetime *dt)
{
    memset(dt, 0, sizeof *dt);
    if (fmt && strcmp(fmt, "epochsecs") == 0) return parse_epoch(p, n, 0, dt);
    if (fmt && strcmp(fmt, "epochmillisecs") == 0) return parse_epoch(p, n, 1, dt);
    if (fmt && strcmp(fmt, "auto") == 0) {
        /* ISO 8601 with a T first, then the common shapes */
        for (int k = 0; AUTO_FORMATS[k]; k++) {
            lode_datetime t;
            memset(&t, 0, sizeof t);
            if (parse_with_format(AUTO_FORMATS[k], p, n, &t) == 0 && valid_datetime(&t)) {
                *dt = t;
                return 0;
            }
        }
        return -1;
    }
    if (parse_with_format(fmt, p, n, dt) != 0) return -1;
    return valid_datetime(dt) ? 0 : -1;
}

static inline int two_digits(const char *p, int *v)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') return -1;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return 0;
}

/* The default DATEFORMAT's and TIMEFORMAT's usual values without the format
 * interpreter: exactly "YYYY-MM-DD", or (with_time) that followed by a space
 * or a T, "HH:MI:SS" and an optional fraction, and nothing else.
 * parse_with_format reads such text to the same fields. 0 with dt filled
 * when p has that shape and is a valid date and time; -1 leaves p to
 * lode_parse_datetime (which gives the error of an invalid one). */
static int parse_iso_fast(const char *p, size_t n, int with_time, lode_datetime *dt)
{
    int y1, y2;
    if (n < 10 || (n != 10 && !with_time)) return -1;
    memset(dt, 0, sizeof *dt);
    if (two_digits(p, &y1) || two_digits(p + 2, &y2) || p[4] != '-' || two_digits(p + 5, &dt->month) ||
        p[7] != '-' || two_digits(p + 8, &dt->day))
        return -1;
    dt->year = y1 * 100 + y2;
    dt->has_date = 1;
    if (n > 10) {
        if (n < 19 || (p[10] != ' ' && p[10] != 'T') || two_digits(p + 11, &dt->hour) || p[13] != ':' ||
            two_digits(p + 14, &dt->minute) || p[16] != ':' || two_digits(p + 17, &dt->second))
            return -1;
        dt->has_time = 1;
        if (n > 19) {
            if (p[19] != '.' || n == 20) return -1;
            int usec = 0, k = 0;
            for (size_t i = 20; i < n; i++) {
                if (p[i] < '0' || p[i] > '9') return -1;
                if (k < 6) { usec = usec * 10 + (p[i] - '0'); k++; }
            }
            for (; k < 6; k++) usec *= 10;
            dt->usec = usec;
        }
    }
    return valid_datetime(dt) ? 0 : -1;
}

static int put_date(lode_buf *out, const lode_datetime *dt)
{
    char b[16];
    int k = snprintf(b, sizeof b, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
    return lode_buf_append(out, b, (size_t)k);
}

static int put_time(lode_buf *out, const lode_datetime *dt, int with_tz)
{
    char b[48];
    int k = snprintf(b, sizeof b, "%02d:%02d:%02d", dt->hour, dt->minute, dt->second);
    if (dt->usec) k += snprintf(b + k, sizeof b - (size_t)k, ".%06d", dt->usec);
    if (with_tz) {
        int tz = dt->has_tz ? dt->tz_minutes : 0;
        k += snprintf(b + k, sizeof b - (size_t)k, "%c%02d:%02d", tz < 0 ? '-' : '+', abs(tz) / 60, abs(tz) % 60);
    }
    return lode_buf_append(out, b, (size_t)k);
}

/* The value put_date / put_time would write, as the server reads that text:
 * days from 2000-01-01, microseconds since midnight or since 2000-01-01 UTC;
 * timetz: microseconds since midnight, then the zone in seconds west of UTC. */
static int put_datetime_bin(lode_copy_buf *bin, lode_load_type type, const lode_datetime *dt)
{
    int64_t days = days_from_2000(dt->year, dt->month, dt->day);
    int64_t us = (((int64_t)dt->hour * 60 + dt->minute) * 60 + dt->second) * 1000000 + dt->usec;
    switch (type) {
    case LODE_LT_TIMETZ: {   /* put_time writes the offset given, or +00:00 */
        if (bin_room(bin, 16)) return -1;
        unsigned char *w = bin->data + bin->len;
        store_be32(w, 12);
        store_be32(w + 4, (uint32_t)((uint64_t)us >> 32));
        store_be32(w + 8, (uint32_t)us);
        store_be32(w + 12, (uint32_t)(int32_t)(-(dt->has_tz ? dt->tz_minutes : 0) * 60));
        bin->len += 16;
        return 0;
    }
    case LODE_LT_DATE: return bin_put_uint(bin, (uint32_t)(int32_t)days, 4);
    case LODE_LT_TIME: return bin_put_uint(bin, (uint64_t)us, 8);
    case LODE_LT_TIMESTAMP: return bin_put_uint(bin, (uint64_t)(days * 86400 * 1000000 + us), 8);
    default: /* timestamptz: put_time writes the offset given, or +00:00 */
        return bin_put_uint(bin, (uint64_t)(days * 86400 * 1000000 + us -
                                            (dt->has_tz ? (int64_t)dt->tz_minutes * 60 * 1000000 : 0)), 8);
    }
}

/* A date/time column's value: bin set, straight in binary form; else its text. */
static int conv_datetime(const lode_load_column *col, const lode_conv_opts *o, const char *p, size_t n,
                         lode_buf *out, lode_conv_error *e, lode_copy_buf *bin)
{
    lode_datetime dt;
    size_t mark = out->len;
    switch (col->type) {
    case LODE_LT_DATE: {
        const char *f = o->dateformat ? o->dateformat : "YYYY-MM-DD";
        if ((o->dateformat || parse_iso_fast(p, n, 0, &dt)) &&
            (lode_parse_datetime(f, p, n, &dt) || !dt.has_date || dt.has_time)) {
            char fmt[160];
            snprintf(fmt, sizeof fmt, "Invalid Date Format - '%%s' does not match DATEFORMAT '%.60s'", f);
            return conv_fail(e, LODE_ERR_DATE, fmt, p, n);
        }
        if (bin) return put_datetime_bin(bin, col->type, &dt);
        if (put_date(out, &dt)) goto oom;
        return 0;
    }
    case LODE_LT_TIME:
    case LODE_LT_TIMETZ: {
        const char *f = o->timeformat && strcmp(o->timeformat, "auto") == 0 ? "auto" : "HH:MI:SS";
        if (lode_parse_datetime(f, p, n, &dt) || dt.has_date) {
            return conv_fail(e, LODE_ERR_TIMESTAMP, "Invalid time format - '%s' (HH:MI:SS expected)", p, n);
        }
        if (bin) return put_datetime_bin(bin, col->type, &dt);
        if (put_time(out, &dt, col->type == LODE_LT_TIMETZ)) goto oom;
        return 0;
    }
    default: {
        const char *f = o->timeformat ? o->timeformat : "YYYY-MM-DD HH:MI:SS";
        int rc = !o->timeformat && parse_iso_fast(p, n, 1, &dt) == 0 ? 0 : lode_parse_datetime(f, p, n, &dt);
        /* the default format also takes a bare date, as Redshift does */
        if (rc && !o->timeformat) rc = lode_parse_datetime("YYYY-MM-DD", p, n, &dt);
        if (rc || !dt.has_date) {
            char fmt[160];
            snprintf(fmt, sizeof fmt, "Invalid timestamp format or value - '%%s' does not match TIMEFORMAT '%.60s'", f);
            return conv_fail(e, LODE_ERR_TIMESTAMP, fmt, p, n);
        }
        if (col->type == LODE_LT_TIMESTAMP && dt.has_tz && dt.tz_minutes != 0) {
            /* Redshift stores the UTC time for an offset given to a TIMESTAMP column */
            int64_t mins = (int64_t)dt.hour * 60 + dt.minute - dt.tz_minutes;
            int64_t day_shift = mins >= 0 ? mins / 1440 : -((-mins + 1439) / 1440);
            mins -= day_shift * 1440;
            dt.hour = (int)(mins / 60);
            dt.minute = (int)(mins % 60);
            if (day_shift) {
                dt.day += (int)day_shift;
                if (dt.day < 1) {
                    if (--dt.month < 1) { dt.month = 12; dt.year--; }
                    dt.day = days_in_month(dt.year, dt.month);
                } else if (dt.day > days_in_month(dt.year, dt.month)) {
                    dt.day = 1;
                    if (++dt.month > 12) { dt.month = 1; dt.year++; }
                }
            }
        }
        if (bin) return put_datetime_bin(bin, col->type, &dt);
        if (put_date(out, &dt) || lode_buf_putc(out, ' ') ||
            put_time(out, &dt, col->type == LODE_LT_TIMESTAMPTZ)) goto oom;
        return 0;
    }
    }
oom:
    out->len = mark;
    snprintf(e->reason, sizeof e->reason, "out of memory");
    return -1;
}

/* ---- one field -------------------------------------------------------------------- */

static int all_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t') return 0;
    return 1;
}

/* NULL: \N in text form; in raw form nothing, and *null set. */
#define PUT_NULL() (raw ? (*null = 1, 0) : put_null(out))

/* One field in text COPY form (raw 0), or as the bare value text with
 * NULL reported in *null (raw 1: no escapes, for the binary renderer). */
/* bin: integers and dates/times (not TIMETZ) go there in binary form, and
 * *null stays 0 for them; other types write their text to out as above. */
static int conv_field(const lode_load_column *col, const lode_conv_opts *o, const char *p, size_t n, int quoted,
                      int is_null, lode_buf *out, lode_conv_error *err, int raw, int *null, lode_copy_buf *bin)
{
    err->code = 0;
    err->reason[0] = 0;
    if (is_null) return PUT_NULL();
    if (o->null_as && !quoted && n == o->null_as_len && memcmp(p, o->null_as, n) == 0) return PUT_NULL();
    int is_json = col->type == LODE_LT_JSON || col->type == LODE_LT_JSONB;
    int is_text = col->type == LODE_LT_TEXT || col->type == LODE_LT_OTHER || col->type == LODE_LT_BYTEA || is_json;
    if (o->trimblanks && col->type == LODE_LT_TEXT)
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    if (is_text) {
        if (n == 0 && o->emptyasnull) return PUT_NULL();
        if (o->blanksasnull && all_blank(p, n)) return PUT_NULL();
        size_t mark = out->len;
        int rc = conv_text(col, o, p, n, out, err, raw);
        if (rc == 0 && is_json && n == 0) {
            out->len = mark;
            return conv_fail(err, LODE_ERR_JSON, "Invalid JSON value '%s'", p, n);
        }
        return rc;
    }
    /* other types: empty (and with BLANKSASNULL, blank) is NULL */
    if (n == 0 || (o->blanksasnull && all_blank(p, n))) return PUT_NULL();
    switch (col->type) {
    case LODE_LT_INT2: case LODE_LT_INT4: case LODE_LT_INT8:
        return conv_int(col, p, n, out, err, bin);
    case LODE_LT_NUMERIC:
        return conv_numeric(col, o, p, n, out, err, bin);
    case LODE_LT_FLOAT4: case LODE_LT_FLOAT8:
        return conv_float(col, p, n, out, err);
    case LODE_LT_BOOL:
        return conv_bool(p, n, out, err);
    case LODE_LT_DATE: case LODE_LT_TIMESTAMP: case LODE_LT_TIMESTAMPTZ:
        if (o->acceptanydate) {
            size_t mark = out->len;
            if (conv_datetime(col, o, p, n, out, err, bin) == 0) return 0;
            if (err->code == 0) return -1;        /* out of memory */
            out->len = mark;
            err->code = 0;
            err->reason[0] = 0;
            return PUT_NULL();               /* ACCEPTANYDATE: what does not parse is NULL */
        }
        return conv_datetime(col, o, p, n, out, err, bin);
    case LODE_LT_TIME: case LODE_LT_TIMETZ:
        return conv_datetime(col, o, p, n, out, err, bin);
    default:
        return conv_text(col, o, p, n, out, err, raw);
    }
}

int lode_conv_field(const lode_load_column *col, const lode_conv_opts *o,
                    const char *p, size_t n, int quoted, int is_null,
                    lode_buf *out, lode_conv_error *err)
{
    return conv_field(col, o, p, n, quoted, is_null, out, err, 0, NULL, NULL);
}

/* ---- binary COPY form ----------------------------------------------------------------- */

int lode_conv_binary_type(lode_load_type t)
{
    switch (t) {
    case LODE_LT_TEXT: case LODE_LT_INT2: case LODE_LT_INT4: case LODE_LT_INT8: case LODE_LT_NUMERIC:
    case LODE_LT_FLOAT4: case LODE_LT_FLOAT8: case LODE_LT_BOOL: case LODE_LT_DATE: case LODE_LT_TIME:
    case LODE_LT_TIMETZ: case LODE_LT_TIMESTAMP: case LODE_LT_TIMESTAMPTZ: case LODE_LT_JSON: case LODE_LT_JSONB:
    case LODE_LT_BYTEA:
        return 1;
    default:
        return 0;
    }
}

/* Days from 2000-01-01 (PostgreSQL's epoch) to y-m-d. */
static int64_t days_from_2000(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 - 10957;   /* 10957: 1970-01-01 to 2000-01-01 */
}

/* The value text conv_field wrote for a bool, float or numeric column
 * (canonical: 't'/'f', "%.17g" / "%.9g" or NaN/Infinity, the normalised
 * decimal) in PostgreSQL's binary send format, by the binary COPY builders
 * of pg/copy.c. 0, -1 out of memory, -2 (err filled) when the server would
 * refuse the text. */
static int text_to_binary(const lode_load_column *col, const char *p, size_t n, lode_copy_buf *b, lode_conv_error *e)
{
    switch (col->type) {
    case LODE_LT_BOOL:
        return lode_copy_bin_bool(b, p[0] == 't');
    case LODE_LT_FLOAT8: case LODE_LT_FLOAT4: {
        char buf[80];
        memcpy(buf, p, n);
        buf[n] = 0;
        if (col->type == LODE_LT_FLOAT8) return lode_copy_bin_float8(b, strtod(buf, NULL));
        errno = 0;
        float v = strtof(buf, NULL);
        /* float4in refuses what strtof takes to 0 or infinity with ERANGE, failing the
         * text COPY: the same value fails this load too */
        if (errno == ERANGE && (v == 0.0f || isinf(v))) {
            snprintf(e->reason, sizeof e->reason, "\"%.80s\" is out of range for type real", buf);
            e->code = 0;
            return -2;
        }
        return lode_copy_bin_float4(b, v);
    }
    case LODE_LT_NUMERIC:
        return lode_copy_bin_numeric_text(b, p, n);
    default:
        return -1;
    }
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* bytea's input text (s, n: valid UTF-8 without NUL) decoded as byteain
 * decodes it (PostgreSQL's varlena.c and encode.c): after "\x", hex digit
 * pairs with blanks between them; otherwise bytes as they are, "\\" for a
 * backslash and "\ooo" (first digit 0-3) for an octal byte. 0, -1 out of
 * memory, -2 with the server's message when it would refuse the text. */
static int bytea_decode(const char *s, size_t n, lode_buf *out, lode_conv_error *e)
{
    if (n >= 2 && s[0] == '\\' && s[1] == 'x') {
        for (size_t i = 2; i < n;) {
            if (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') { i++; continue; }
            int hi = hex_value(s[i]);
            if (hi < 0) goto bad_hex;
            if (++i >= n) {
                snprintf(e->reason, sizeof e->reason, "invalid hexadecimal data: odd number of digits");
                return -2;
            }
            int lo = hex_value(s[i]);
            if (lo < 0) goto bad_hex;
            i++;
            if (lode_buf_putc(out, (char)(hi << 4 | lo))) return -1;
            continue;
        bad_hex: {   /* s[i] is the character, quoted whole as pg_mblen counts it */
                unsigned char c = (unsigned char)s[i];
                size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
                if (i + k > n) k = n - i;
                snprintf(e->reason, sizeof e->reason, "invalid hexadecimal digit: \"%.*s\"", (int)k, s + i);
                return -2;
            }
        }
        return 0;
    }
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') {
            size_t j = i;
            while (j < n && s[j] != '\\') j++;
            if (lode_buf_append(out, s + i, j - i)) return -1;
            i = j;
        } else if (i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
                   s[i + 3] >= '0' && s[i + 3] <= '7') {
            if (lode_buf_putc(out, (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0')))) return -1;
            i += 4;
        } else if (i + 1 < n && s[i + 1] == '\\') {
            if (lode_buf_putc(out, '\\')) return -1;
            i += 2;
        } else {
            snprintf(e->reason, sizeof e->reason, "invalid input syntax for type bytea");
            return -2;
        }
    }
    return 0;
}

int lode_conv_field_binary(const lode_load_column *col, const lode_conv_opts *o,
                           const char *p, size_t n, int quoted, int is_null,
                           lode_buf *out, lode_buf *scratch, lode_conv_error *err)
{
    size_t mark = out->len;
    int null = 0, rc;
    if (col->type == LODE_LT_TEXT || col->type == LODE_LT_JSON || col->type == LODE_LT_JSONB) {
        /* the value's bytes straight after their length word (jsonb: and its version byte, 1) */
        if (lode_buf_append(out, "\0\0\0\0\1", col->type == LODE_LT_JSONB ? 5 : 4)) goto oom;
        if (conv_field(col, o, p, n, quoted, is_null, out, err, 1, &null, NULL) != 0) {
            out->len = mark;
            return -1;
        }
        if (null) out->len = mark + 4;
        uint32_t len = null ? 0xFFFFFFFFu : (uint32_t)(out->len - mark - 4);
        unsigned char *w = (unsigned char *)out->data + mark;
        w[0] = (unsigned char)(len >> 24); w[1] = (unsigned char)(len >> 16);
        w[2] = (unsigned char)(len >> 8); w[3] = (unsigned char)len;
        return 0;
    }
    if (col->type == LODE_LT_BYTEA) {
        /* the text checked as for text COPY, then decoded as the server would read it */
        scratch->len = 0;
        if (conv_field(col, o, p, n, quoted, is_null, scratch, err, 1, &null, NULL) != 0) return -1;
        if (lode_buf_append(out, null ? "\xff\xff\xff\xff" : "\0\0\0\0", 4)) goto oom;
        if (null) return 0;
        err->code = 0;
        rc = bytea_decode(scratch->data ? scratch->data : "", scratch->len, out, err);
        if (rc != 0) {
            out->len = mark;
            if (rc == -2) return -2;
            goto oom;
        }
        uint32_t len = (uint32_t)(out->len - mark - 4);
        unsigned char *w = (unsigned char *)out->data + mark;
        w[0] = (unsigned char)(len >> 24); w[1] = (unsigned char)(len >> 16);
        w[2] = (unsigned char)(len >> 8); w[3] = (unsigned char)len;
        return 0;
    }
    /* integers, numerics and dates/times go straight into out; the rest through their text in scratch */
    lode_copy_buf b = { (unsigned char *)out->data, out->len, out->cap };
    scratch->len = 0;
    rc = conv_field(col, o, p, n, quoted, is_null, scratch, err, 1, &null, &b);
    if (rc == 0 && b.len == mark) {
        err->code = 0;
        rc = null ? lode_copy_bin_null(&b) : text_to_binary(col, scratch->data, scratch->len, &b, err);
        if (rc == -1) err->code = 0;
    }
    out->data = (char *)b.data;   /* grown (moved) by the builders */
    out->len = b.len;
    out->cap = b.cap;
    if (rc == 0) return 0;
    out->len = mark;
    if (rc == -2 || err->code != 0) return rc;
oom:
    out->len = mark;
    err->code = 0;
    snprintf(err->reason, sizeof err->reason, "out of memory");
    return -1;
}

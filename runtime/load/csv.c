/* csv.c — a push parser for CSV and Redshift's delimited text, over byte
 * chunks of any size, holding at most one record in memory.
 *
 * CSV: fields separated by `delimiter`, optionally enclosed in `quote`; a
 * doubled quote inside quotes is one quote; newlines inside quotes are data.
 * Text: fields separated by `delimiter`; with ESCAPE a backslash makes the
 * next byte (also a newline or the delimiter) literal; with REMOVEQUOTES
 * surrounding double quotes are dropped (and delimiters inside them kept).
 * FIXEDWIDTH: each line is cut into fields of the given widths in characters.
 * A CR before a record's LF is dropped. */
#include "lode/load/load.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#define DEFAULT_MAX_RECORD (4u << 20)

typedef enum {
    ST_HEADER,          /* skipping IGNOREHEADER lines */
    ST_FIELD_START,
    ST_UNQUOTED,
    ST_QUOTED,
    ST_QUOTE_IN_QUOTED, /* CSV: a quote seen inside quotes: "" or the end */
    ST_AFTER_QUOTED,    /* CSV: after the closing quote, before delimiter/newline */
    ST_ESCAPED          /* text: the byte after a backslash */
} csv_state;

typedef struct {
    size_t off, len;
    int quoted;
} field_span;

struct lode_csv {
    lode_csv_opts o;
    lode_csv_record_fn fn;
    void *ud;
    csv_state st, st_before_escape;
    int64_t line;            /* current line (1-based) */
    int64_t rec_line;        /* line where the current record started */
    int64_t header_left;
    lode_buf buf;            /* field bytes of the current record */
    field_span *spans;
    size_t nspans, capspans;
    lode_field *fields;      /* handed to the callback */
    size_t capfields;
    char raw[LODE_RAW_LINE_MAX];
    size_t raw_len;
    size_t rec_bytes;        /* raw bytes of the current record */
    int in_record;           /* bytes of a record were seen */
    char field_q;            /* the quote that opened the current field */
    int field_escn;          /* the field began with an escaped N, kept as \N */
    int field_quoted;        /* current field started with a quote */
    size_t field_start;      /* offset of the current field in buf */
    char err[200];
    int64_t err_line;
    int fast;                /* records on one line may take fast_record */
    int nspecial;            /* bytes set in special */
    unsigned char special[256]; /* fast_record: bytes of an unquoted field it leaves to the state machine */
};

lode_csv *lode_csv_new(const lode_csv_opts *opts, lode_csv_record_fn fn, void *ud)
{
    lode_csv *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->o = *opts;
    if (!p->o.max_record) p->o.max_record = DEFAULT_MAX_RECORD;
    if (p->o.csv && !p->o.quote) p->o.quote = '"';
    if (!p->o.csv && p->o.removequotes) p->o.quote = '"';
    p->fn = fn;
    p->ud = ud;
    p->line = 1;
    p->header_left = opts->ignoreheader;
    p->st = p->header_left > 0 ? ST_HEADER : ST_FIELD_START;
    /* fast_record reads a line as the state machine would when the
     * delimiter and quote cannot be mistaken for each other, a newline, a CR
     * or an escape */
    char d = p->o.delimiter, q = p->o.quote;
    p->fast = !p->o.nwidths && d != '\n' && d != '\r' && d != '\\' && d != '"' && d != '\'' &&
              (!p->o.csv || (q && q != d && q != '\n' && q != '\r' && q != '\\'));
    if (p->o.escape) p->special['\\'] = 1;        /* text: ESCAPE; OpenCSVSerde: its escapeChar */
    if (p->o.opencsv && q) p->special[(unsigned char)q] = 1;
    p->nspecial = p->o.escape || (p->o.opencsv && q);
    return p;
}

void lode_csv_free(lode_csv *p)
{
    if (!p) return;
    lode_buf_free(&p->buf);
    free(p->spans);
    free(p->fields);
    free(p);
}

const char *lode_csv_error(const lode_csv *p) { return p->err[0] ? p->err : NULL; }
int64_t lode_csv_error_line(const lode_csv *p) { return p->err_line; }
int64_t lode_csv_lines(const lode_csv *p) { return p->line - 1; }

static int fail(lode_csv *p, const char *msg)
{
    snprintf(p->err, sizeof p->err, "%s", msg);
    p->err_line = p->rec_line ? p->rec_line : p->line;
    return -1;
}

static int end_field(lode_csv *p)
{
    if (p->nspans == p->capspans) {
        size_t n = p->capspans ? p->capspans * 2 : 32;
        field_span *s = realloc(p->spans, n * sizeof *s);
        if (!s) return fail(p, "out of memory");
        p->spans = s;
        p->capspans = n;
    }
    field_span *f = &p->spans[p->nspans++];
    f->off = p->field_start;
    f->len = p->buf.len - p->field_start;
    f->quoted = p->field_quoted;
    /* ESCAPE: \N stays \N only as the whole field (the NULL AS default);
     * anywhere else the backslash goes, as before any other byte */
    if (p->field_escn && f->len > 2) {
        memmove(p->buf.data + f->off, p->buf.data + f->off + 1, f->len - 1);
        p->buf.len--;
        f->len--;
    }
    p->field_escn = 0;
    p->field_start = p->buf.len;
    p->field_quoted = 0;
    return 0;
}

static void reset_record(lode_csv *p)
{
    p->buf.len = 0;
    p->nspans = 0;
    p->field_start = 0;
    p->field_quoted = 0;
    p->field_escn = 0;
    p->raw_len = 0;
    p->rec_bytes = 0;
    p->in_record = 0;
}

/* The bytes of a UTF-8 sequence that starts with b (1 for a stray byte:
 * the conversion reports invalid UTF-8 later). */
static size_t utf8_seq_len(unsigned char b)
{
    return b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : b < 0xF8 ? 4 : 1;
}

/* FIXEDWIDTH: cut the line (the record's one span) into fields of widths[i]
 * characters — characters, not bytes, as Redshift counts them. A short line
 * ends with a shorter field and has fewer fields; text after the last width
 * is one more field (the decoder reports both, as for delimited rows). */
static int split_fixed(lode_csv *p)
{
    size_t need = p->o.nwidths + 1;
    if (need > p->capspans) {
        field_span *s = realloc(p->spans, need * sizeof *s);
        if (!s) return fail(p, "out of memory");
        p->spans = s;
        p->capspans = need;
    }
    const unsigned char *s = (const unsigned char *)(p->buf.data ? p->buf.data : "");
    size_t i = p->spans[0].off, end = i + p->spans[0].len, k = 0;
    for (size_t w = 0; w < p->o.nwidths && (i < end || k == 0); w++) {
        size_t start = i;
        for (uint32_t c = 0; c < p->o.widths[w] && i < end; c++) {
            i += utf8_seq_len(s[i]);
            if (i > end) i = end;
        }
        p->spans[k++] = (field_span){ start, i - start, 0 };
    }
    if (i < end) p->spans[k++] = (field_span){ i, end - i, 0 };
    p->nspans = k;
    return 0;
}

static int end_record(lode_csv *p)
{
    if (end_field(p) != 0) return -1;
    /* CRLF: drop the CR that ends an unquoted last field */
    field_span *last = &p->spans[p->nspans - 1];
    if (!last->quoted && last->len > 0 && p->buf.data[last->off + last->len - 1] == '\r')
        last->len--;
    if (p->raw_len > 0 && p->raw[p->raw_len - 1] == '\r') p->raw_len--;
    int blank = p->nspans == 1 && last->len == 0 && !last->quoted;
    if (p->o.nwidths && !blank && split_fixed(p)) return -1;
    int rc = 0;
    if (!(blank && p->o.ignoreblanklines)) {
        if (p->nspans > p->capfields) {
            lode_field *f = realloc(p->fields, p->nspans * sizeof *f);
            if (!f) return fail(p, "out of memory");
            p->fields = f;
            p->capfields = p->nspans;
        }
        for (size_t i = 0; i < p->nspans; i++) {
            p->fields[i].data = p->buf.data ? p->buf.data + p->spans[i].off : "";
            p->fields[i].len = p->spans[i].len;
            p->fields[i].quoted = p->spans[i].quoted;
        }
        lode_csv_record rec = { p->rec_line, p->nspans, p->fields, p->raw, p->raw_len };
        rc = p->fn(p->ud, &rec);
    }
    reset_record(p);
    return rc;
}

static int put(lode_csv *p, char c)
{
    if (p->buf.len >= p->o.max_record) {
        char m[120];
        snprintf(m, sizeof m, "record longer than %zu bytes (an unterminated quote?)", p->o.max_record);
        return fail(p, m);
    }
    return lode_buf_putc(&p->buf, c) == 0 ? 0 : fail(p, "out of memory");
}

/* OpenCSVSerde (opencsv 2.3) drops a backslash escape, unescapes the next
 * quote or backslash, and toggles quoting at a quote inside a field: bytes
 * lode does not reproduce, so the record fails instead of reading otherwise. */
static int opencsv_refuse(lode_csv *p, char c)
{
    char m[200];
    snprintf(m, sizeof m, "OpenCSVSerde's reading of %s is not emulated by lode (field %zu)",
             c == '\\' ? "a backslash (its escapeChar)" : "a quote inside an unquoted field", p->nspans + 1);
    return fail(p, m);
}

/* The common record, read without the state machine: all of it on one line
 * of this chunk, no escape, and in CSV only quoted fields without a doubled
 * quote or a quoted newline. Its fields and raw line point into the chunk.
 * Returns 0 with *used the bytes read through the newline, or with *used 0
 * when the record needs the state machine (nothing read then); else the
 * callback's non-zero value or -1. */
static int fast_record(lode_csv *p, const char *s, size_t n, size_t *used)
{
    *used = 0;
    const char *eol = memchr(s, '\n', n);
    if (!eol || (size_t)(eol - s) + 1 > p->o.max_record) return 0;
    const char d = p->o.delimiter, q = p->o.quote;
    const int quotes = p->o.csv || p->o.removequotes;
    size_t nf = 0;
    const char *f = s;
    for (;;) {
        if (nf == p->capfields) {
            size_t cap = p->capfields ? p->capfields * 2 : 32;
            lode_field *nfl = realloc(p->fields, cap * sizeof *nfl);
            if (!nfl) return fail(p, "out of memory");
            p->fields = nfl;
            p->capfields = cap;
        }
        lode_field *fl = &p->fields[nf++];
        if (quotes && f < eol && ((q && *f == q) || (*f == '\'' && p->o.removequotes && !p->o.csv))) {
            if (!p->o.csv) return 0;   /* REMOVEQUOTES: escapes inside, quotes of two kinds */
            const char *close = memchr(f + 1, q, (size_t)(eol - f - 1));
            if (!close) return 0;      /* a newline inside quotes, or no closing quote */
            if (p->o.opencsv && p->o.escape && memchr(f + 1, '\\', (size_t)(close - f - 1))) return 0;
            const char *after = close + 1;
            fl->data = f + 1;
            fl->len = (size_t)(close - f - 1);
            fl->quoted = 1;
            if (after == eol || (*after == '\r' && after + 1 == eol)) break;
            if (*after != d) return 0; /* a doubled quote, or bytes after the closing quote */
            f = after + 1;
            continue;
        }
        const char *e = f;
        if (p->nspecial) {
            while (e < eol && *e != d) {
                if (p->special[(unsigned char)*e]) return 0;
                e++;
            }
        } else {
            while (e < eol && *e != d) e++;
        }
        fl->data = f;
        fl->len = (size_t)(e - f);
        fl->quoted = 0;
        if (e == eol) {
            if (fl->len && f[fl->len - 1] == '\r') fl->len--;   /* CRLF */
            break;
        }
        f = e + 1;
    }
    *used = (size_t)(eol - s) + 1;
    p->rec_line = p->line++;
    size_t raw_len = (size_t)(eol - s) < LODE_RAW_LINE_MAX ? (size_t)(eol - s) : LODE_RAW_LINE_MAX;
    if (raw_len > 0 && s[raw_len - 1] == '\r') raw_len--;
    if (nf == 1 && p->fields[0].len == 0 && !p->fields[0].quoted && p->o.ignoreblanklines) return 0;
    lode_csv_record rec = { p->rec_line, nf, p->fields, s, raw_len };
    return p->fn(p->ud, &rec);
}

int lode_csv_feed(lode_csv *p, const void *data, size_t len)
{
    const char *s = data;
    const char d = p->o.delimiter, q = p->o.quote;
    for (size_t i = 0; i < len; i++) {
        if (p->fast && !p->in_record && p->st == ST_FIELD_START) {
            size_t used;
            int rc = fast_record(p, s + i, len - i, &used);
            if (rc) return rc;
            if (used) {
                i += used - 1;
                continue;
            }
        }
        char c = s[i];
        if (p->st == ST_HEADER) {
            if (c == '\n') {
                p->line++;
                if (--p->header_left == 0) p->st = ST_FIELD_START;
            }
            continue;
        }
        if (!p->in_record) {
            p->in_record = 1;
            p->rec_line = p->line;
        }
        if (p->raw_len < LODE_RAW_LINE_MAX && c != '\n') p->raw[p->raw_len++] = c;
        if (++p->rec_bytes > p->o.max_record + 2) {
            char m[120];
            snprintf(m, sizeof m, "record longer than %zu bytes (an unterminated quote?)", p->o.max_record);
            return fail(p, m);
        }
        if (p->o.nwidths) {
            /* FIXEDWIDTH: a line is a record, cut by width in end_record */
            if (c == '\n') {
                int rc = end_record(p);
                p->line++;
                if (rc) return rc;
            } else if (put(p, c)) {
                return -1;
            }
            continue;
        }
        switch (p->st) {
        case ST_FIELD_START:
            /* REMOVEQUOTES takes single or double quotes (AWS: 'Black' and
             * "White" both load without them); CSV its QUOTE character */
            if ((q && c == q && (p->o.csv || p->o.removequotes)) ||
                (c == '\'' && p->o.removequotes && !p->o.csv)) {
                p->field_q = c;
                p->field_quoted = 1;
                p->st = ST_QUOTED;
                break;
            }
            p->st = ST_UNQUOTED;
            /* fall through */
        case ST_UNQUOTED:
            if (c == d) {
                if (end_field(p)) return -1;
                p->st = ST_FIELD_START;
            } else if (c == '\n') {
                p->st = ST_FIELD_START;
                int rc = end_record(p);
                p->line++;
                if (rc) return rc;
            } else if (c == '\\' && p->o.escape && !p->o.csv) {
                p->st_before_escape = ST_UNQUOTED;
                p->st = ST_ESCAPED;
            } else if (p->o.opencsv && (c == q || (c == '\\' && p->o.escape))) {
                return opencsv_refuse(p, c);
            } else if (put(p, c)) {
                return -1;
            }
            break;
        case ST_QUOTED:
            if (c == p->field_q) {
                p->st = p->o.csv ? ST_QUOTE_IN_QUOTED : ST_AFTER_QUOTED;
            } else if (c == '\\' && p->o.escape && !p->o.csv) {
                p->st_before_escape = ST_QUOTED;
                p->st = ST_ESCAPED;
            } else if (c == '\\' && p->o.escape && p->o.opencsv) {
                return opencsv_refuse(p, c);
            } else {
                if (c == '\n') p->line++;
                if (put(p, c)) return -1;
            }
            break;
        case ST_QUOTE_IN_QUOTED:
            if (c == p->field_q) {
                if (put(p, c)) return -1;
                p->st = ST_QUOTED;
                break;
            }
            p->st = ST_AFTER_QUOTED;
            /* fall through */
        case ST_AFTER_QUOTED:
            if (c == d) {
                if (end_field(p)) return -1;
                p->st = ST_FIELD_START;
            } else if (c == '\n') {
                p->st = ST_FIELD_START;
                int rc = end_record(p);
                p->line++;
                if (rc) return rc;
            } else if (c == '\r') {
                /* CRLF after a closing quote */
            } else if (p->o.removequotes && !p->o.csv) {
                /* REMOVEQUOTES: that quote was data (AWS: ' ' 'Black' ' '
                 * loads as ' 'Black' '); only one before the delimiter or
                 * the end of the line closes. c is read as inside quotes. */
                if (put(p, p->field_q)) return -1;
                if (c == p->field_q) break;   /* the next closing candidate */
                if (c == '\\' && p->o.escape) {
                    p->st_before_escape = ST_QUOTED;
                    p->st = ST_ESCAPED;
                } else {
                    if (put(p, c)) return -1;
                    p->st = ST_QUOTED;
                }
            } else {
                char m[120];
                snprintf(m, sizeof m, "unexpected character '%c' after a closing quote (field %zu)",
                         (c >= 32 && c < 127) ? c : '?', p->nspans + 1);
                return fail(p, m);
            }
            break;
        case ST_ESCAPED:
            if (c == '\n') p->line++;
            /* Redshift's ESCAPE: the byte after a backslash is data, whatever
             * it is — \012 loads 012, \n an n (AWS, "Data conversion
             * parameters": ESCAPE "does not interpret octal, hex, Unicode, or
             * other escape sequence notation"). One exception: a field that
             * is \N alone stays \N, so the NULL AS default still matches
             * (end_field drops the backslash if more follows). */
            if (c == 'N' && p->buf.len == p->field_start && !p->field_quoted) {
                if (put(p, '\\')) return -1;
                p->field_escn = 1;
            }
            if (put(p, c)) return -1;
            p->st = p->st_before_escape;
            break;
        case ST_HEADER:
            break;
        }
    }
    return 0;
}

int lode_csv_finish(lode_csv *p)
{
    if (p->st == ST_QUOTED || p->st == ST_ESCAPED)
        return fail(p, p->st == ST_QUOTED ? "unterminated quoted field at the end of the file"
                                          : "a backslash at the end of the file");
    if (p->in_record) {
        p->st = ST_FIELD_START;
        return end_record(p);
    }
    return 0;
}

/* ---- lode_buf --------------------------------------------------------------- */

int lode_buf_append(lode_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return -1;
        b->data = d;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int lode_buf_putc(lode_buf *b, char c)
{
    if (b->len < b->cap) {
        b->data[b->len++] = c;
        return 0;
    }
    return lode_buf_append(b, &c, 1);
}

void lode_buf_free(lode_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

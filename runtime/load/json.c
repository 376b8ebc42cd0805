/* load/json.c — the JSON reader of emulated `COPY … FORMAT AS JSON`: a push
 * parser over newline-delimited or simply concatenated JSON objects (or
 * arrays, with a JSONPaths file: $[0] is the first element) that
 * hands each object to the caller as one field per target column, picked
 * by key ('auto', 'auto ignorecase') or by a compiled JSONPath.
 *
 * Owns: one record's bytes (bounded by max_record) and its field table.
 * A scanner finds where each top-level object ends (strings, escapes and
 * depth), then a small validating parser walks the complete object: spans
 * into the record buffer, never a tree, so a record costs its own size. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lode/load/load.h"

#define MAX_DEPTH 256

typedef struct {
    int is_index;
    size_t index;
    char *key;
    size_t key_len;
} path_step;

typedef struct {
    path_step *steps;
    size_t n;
} json_path;

struct lode_jsonload {
    lode_jsonload_opts o;
    char **names;
    size_t *name_len;
    json_path *paths;          /* one per column when jsonpaths are used */
    lode_buf rec;              /* the current object's bytes */
    lode_buf text;             /* unescaped strings of the current record */
    lode_field *fields;
    int *isnull;
    size_t *field_off;         /* offsets into text (strings) or rec (raw) */
    int *field_in_text;
    /* scanner */
    int depth, in_string, escape, started;
    int64_t line, rec_line;
    char err[300];
    int64_t err_line;
    lode_json_record_fn fn;
    void *ud;
};

/* ---- JSONPath ----------------------------------------------------------------------- */

static void path_free(json_path *p)
{
    for (size_t i = 0; i < p->n; i++) free(p->steps[i].key);
    free(p->steps);
    p->steps = NULL;
    p->n = 0;
}

static int path_add(json_path *p, int is_index, size_t index, const char *key, size_t len)
{
    path_step *s = realloc(p->steps, (p->n + 1) * sizeof *s);
    if (!s) return -1;
    p->steps = s;
    s = &p->steps[p->n++];
    s->is_index = is_index;
    s->index = index;
    s->key = NULL;
    s->key_len = len;
    if (!is_index) {
        s->key = malloc(len + 1);
        if (!s->key) return -1;
        memcpy(s->key, key, len);
        s->key[len] = 0;
    }
    return 0;
}

/* "$.a.b", "$['b']", "$[\"b\"]", "$.c[0]" (Redshift's JSONPath subset). */
static int path_compile(const char *s, json_path *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    size_t n = strlen(s), i = 0;
    if (n == 0 || s[0] != '$') goto bad;
    i = 1;
    while (i < n) {
        if (s[i] == '.') {
            size_t st = ++i;
            while (i < n && s[i] != '.' && s[i] != '[') i++;
            if (i == st) goto bad;
            if (path_add(p, 0, 0, s + st, i - st)) goto oom;
        } else if (s[i] == '[') {
            i++;
            if (i < n && (s[i] == '\'' || s[i] == '"')) {
                char q = s[i++];
                size_t st = i;
                while (i < n && s[i] != q) i++;
                if (i >= n || i + 1 >= n || s[i + 1] != ']') goto bad;
                if (path_add(p, 0, 0, s + st, i - st)) goto oom;
                i += 2;
            } else {
                size_t st = i, v = 0;
                while (i < n && isdigit((unsigned char)s[i])) {
                    if (v > 100000000) goto bad;
                    v = v * 10 + (size_t)(s[i] - '0');
                    i++;
                }
                if (i == st || i >= n || s[i] != ']') goto bad;
                if (path_add(p, 1, v, NULL, 0)) goto oom;
                i++;
            }
        } else {
            goto bad;
        }
    }
    if (p->n == 0) goto bad;
    return 0;
bad:
    snprintf(err, errlen, "invalid JSONPath expression '%s' (use $.a, $['a'] or $.a[0])", s);
    path_free(p);
    return -1;
oom:
    snprintf(err, errlen, "out of memory");
    path_free(p);
    return -1;
}

/* ---- a validating walker over spans ------------------------------------------------------ */

typedef struct {
    const char *p, *end;
    const char *err;
    int depth;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int skip_value(cursor *c);

static int skip_string(cursor *c)
{
    if (c->p >= c->end || *c->p != '"') { c->err = "expected a string"; return -1; }
    c->p++;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') { c->p++; return 0; }
        if (ch < 0x20) { c->err = "control character in a string"; return -1; }
        if (ch == '\\') {
            c->p++;
            if (c->p >= c->end) break;
            char e = *c->p;
            if (e == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (c->p + k >= c->end || !isxdigit((unsigned char)c->p[k])) { c->err = "bad \\u escape"; return -1; }
                c->p += 4;
            } else if (!strchr("\"\\/bfnrt", e)) {
                c->err = "bad escape in a string";
                return -1;
            }
        }
        c->p++;
    }
    c->err = "unterminated string";
    return -1;
}

static int skip_number(cursor *c)
{
    const char *s = c->p;
    if (c->p < c->end && *c->p == '-') c->p++;
    if (c->p >= c->end || !isdigit((unsigned char)*c->p)) { c->err = "invalid value"; return -1; }
    if (*c->p == '0') c->p++;
    else while (c->p < c->end && isdigit((unsigned char)*c->p)) c->p++;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (c->p >= c->end || !isdigit((unsigned char)*c->p)) { c->err = "invalid number"; return -1; }
        while (c->p < c->end && isdigit((unsigned char)*c->p)) c->p++;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        if (c->p >= c->end || !isdigit((unsigned char)*c->p)) { c->err = "invalid number"; return -1; }
        while (c->p < c->end && isdigit((unsigned char)*c->p)) c->p++;
    }
    return c->p > s ? 0 : -1;
}

static int skip_lit(cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0) { c->err = "invalid value"; return -1; }
    c->p += n;
    return 0;
}

static int skip_container(cursor *c, char open)
{
    char close = open == '{' ? '}' : ']';
    if (++c->depth > MAX_DEPTH) { c->err = "nested too deeply"; return -1; }
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == close) { c->p++; c->depth--; return 0; }
    for (;;) {
        skip_ws(c);
        if (open == '{') {
            if (skip_string(c)) return -1;
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':') { c->err = "expected ':'"; return -1; }
            c->p++;
            skip_ws(c);
        }
        if (skip_value(c)) return -1;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        if (c->p < c->end && *c->p == close) { c->p++; c->depth--; return 0; }
        c->err = open == '{' ? "expected ',' or '}'" : "expected ',' or ']'";
        return -1;
    }
}

static int skip_value(cursor *c)
{
    if (c->p >= c->end) { c->err = "unexpected end"; return -1; }
    switch (*c->p) {
    case '{': case '[': return skip_container(c, *c->p);
    case '"': return skip_string(c);
    case 't': return skip_lit(c, "true");
    case 'f': return skip_lit(c, "false");
    case 'n': return skip_lit(c, "null");
    default: return skip_number(c);
    }
}

static int hexval(char h)
{
    return h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10;
}

/* Unescape the string at s (starting at the quote) into out. */
static int unescape(const char *s, const char *end, lode_buf *out)
{
    s++;
    while (s < end && *s != '"') {
        if (*s != '\\') {
            const char *q = s;
            while (q < end && *q != '"' && *q != '\\') q++;
            if (lode_buf_append(out, s, (size_t)(q - s))) return -1;
            s = q;
            continue;
        }
        s++;
        char e = *s++;
        char c;
        switch (e) {
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            for (int k = 0; k < 4; k++) cp = cp << 4 | (unsigned)hexval(s[k]);
            s += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && end - s >= 6 && s[0] == '\\' && s[1] == 'u') {
                unsigned lo = 0;
                for (int k = 0; k < 4; k++) lo = lo << 4 | (unsigned)hexval(s[2 + k]);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    s += 6;
                }
            }
            char u[4];
            size_t n;
            if (cp < 0x80) { u[0] = (char)cp; n = 1; }
            else if (cp < 0x800) { u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 63)); n = 2; }
            else if (cp < 0x10000) {
                u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | (cp >> 6 & 63)); u[2] = (char)(0x80 | (cp & 63)); n = 3;
            } else {
                u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | (cp >> 12 & 63));
                u[2] = (char)(0x80 | (cp >> 6 & 63)); u[3] = (char)(0x80 | (cp & 63)); n = 4;
            }
            /* a lone surrogate is not UTF-8: the column's check reports it */
            if (lode_buf_append(out, u, n)) return -1;
            continue;
        }
        default: c = e;
        }
        if (lode_buf_putc(out, c)) return -1;
    }
    return 0;
}

/* Do the n bytes of a key equal name? With dots, a '.' in the key stands
 * for a '_' in the name (OpenX JsonSerDe's dots.in.keys). */
static int key_bytes_equal(const char *key, const char *name, size_t n, int ignorecase, int dots)
{
    if (!dots) return ignorecase ? strncasecmp(key, name, n) == 0 : memcmp(key, name, n) == 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)key[i], b = (unsigned char)name[i];
        if (a == '.' && b == '_') continue;
        if (ignorecase ? tolower(a) != tolower(b) : a != b) return 0;
    }
    return 1;
}

/* Does the key string at k (quoted, maybe escaped) equal name? (ignorecase,
 * dots: as key_bytes_equal) */
static int key_equals(const char *k, const char *kend, const char *name, size_t n, int ignorecase, int dots,
                      lode_buf *tmp)
{
    const char *body = k + 1;
    size_t blen = (size_t)(kend - k) - 2;
    if (!memchr(body, '\\', blen)) {
        if (blen != n) return 0;
        return key_bytes_equal(body, name, n, ignorecase, dots);
    }
    tmp->len = 0;
    if (unescape(k, kend, tmp)) return 0;
    if (tmp->len != n) return 0;
    return key_bytes_equal(tmp->data, name, n, ignorecase, dots);
}

/* ---- records --------------------------------------------------------------------------- */

static void set_field(lode_jsonload *j, size_t col, const char *v, const char *vend)
{
    j->isnull[col] = 0;
    if (*v == '"') {
        size_t off = j->text.len;
        if (unescape(v, vend, &j->text)) return;
        j->field_in_text[col] = 1;
        j->field_off[col] = off;
        j->fields[col].len = j->text.len - off;
        j->fields[col].quoted = 1;
    } else if (vend - v == 4 && memcmp(v, "null", 4) == 0) {
        j->isnull[col] = 1;
    } else {
        j->field_in_text[col] = 0;
        j->field_off[col] = (size_t)(v - j->rec.data);
        j->fields[col].len = (size_t)(vend - v);
        j->fields[col].quoted = 0;
    }
}

/* Find path in the value at c->p; returns the span or NULL. */
static const char *follow(cursor *c, const json_path *path, size_t step, const char **vend, lode_buf *tmp)
{
    const char *start = c->p;
    if (step == path->n) {
        if (skip_value(c)) return NULL;
        *vend = c->p;
        return start;
    }
    const path_step *s = &path->steps[step];
    char open = *c->p;
    if ((s->is_index && open != '[') || (!s->is_index && open != '{')) return NULL;
    c->p++;
    skip_ws(c);
    char close = open == '{' ? '}' : ']';
    if (c->p < c->end && *c->p == close) return NULL;
    for (size_t i = 0;; i++) {
        skip_ws(c);
        int hit;
        if (open == '{') {
            const char *k = c->p;
            if (skip_string(c)) return NULL;
            hit = key_equals(k, c->p, s->key, s->key_len, 0, 0, tmp);
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':') return NULL;
            c->p++;
            skip_ws(c);
        } else {
            hit = i == s->index;
        }
        if (hit) return follow(c, path, step + 1, vend, tmp);
        if (skip_value(c)) return NULL;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        return NULL;
    }
}

/* The record in j->rec is one complete top-level value: pick the fields. */
static int emit(lode_jsonload *j)
{
    const char *s = j->rec.data, *end = j->rec.data + j->rec.len;
    cursor c = { s, end, NULL, 0 };
    if (skip_value(&c)) {
        snprintf(j->err, sizeof j->err, "invalid JSON: %s at byte %zu of the object", c.err, (size_t)(c.p - s) + 1);
        j->err_line = j->rec_line;
        return -1;
    }
    j->text.len = 0;
    for (size_t i = 0; i < j->o.ncols; i++) {
        j->isnull[i] = 1;
        j->fields[i].len = 0;
        j->fields[i].quoted = 0;
    }
    lode_buf tmp = { 0 };
    if (j->paths) {
        for (size_t i = 0; i < j->o.ncols; i++) {
            cursor w = { s, end, NULL, 0 };
            skip_ws(&w);
            const char *vend = NULL;
            const char *v = follow(&w, &j->paths[i], 0, &vend, &tmp);
            if (v) set_field(j, i, v, vend);
        }
    } else {
        cursor w = { s + 1, end, NULL, 0 };
        skip_ws(&w);
        if (w.p < end && *w.p != '}') {
            for (;;) {
                skip_ws(&w);
                const char *k = w.p;
                skip_string(&w);
                const char *kend = w.p;
                skip_ws(&w);
                w.p++;   /* ':' */
                skip_ws(&w);
                const char *v = w.p;
                skip_value(&w);
                for (size_t i = 0; i < j->o.ncols; i++) {
                    if (key_equals(k, kend, j->names[i], j->name_len[i], j->o.ignorecase, j->o.dots_in_keys, &tmp)) {
                        set_field(j, i, v, w.p);   /* a repeated key: the last one wins */
                        break;
                    }
                }
                skip_ws(&w);
                if (w.p < end && *w.p == ',') { w.p++; continue; }
                break;
            }
        }
    }
    lode_buf_free(&tmp);
    for (size_t i = 0; i < j->o.ncols; i++) {
        if (j->isnull[i]) {
            j->fields[i].data = "";
        } else {
            const char *base = j->field_in_text[i] ? j->text.data : j->rec.data;
            j->fields[i].data = base ? base + j->field_off[i] : "";   /* an empty buffer may be NULL */
        }
    }
    lode_json_record r = {
        .line = j->rec_line, .nfields = j->o.ncols, .fields = j->fields, .isnull = j->isnull,
        .raw = j->rec.data, .raw_len = j->rec.len < LODE_RAW_LINE_MAX ? j->rec.len : LODE_RAW_LINE_MAX,
    };
    return j->fn(j->ud, &r);
}

int lode_jsonload_feed(lode_jsonload *j, const void *data, size_t len)
{
    const char *p = data, *end = p + len;
    if (j->err[0]) return -1;
    while (p < end) {
        if (!j->started) {
            /* between values: whitespace, then an object */
            while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
                if (*p == '\n') j->line++;
                p++;
            }
            if (p == end) break;
            if (*p == '[' && !j->paths) {
                /* as Redshift: arrays map to columns only through a JSONPaths file ($[0], $[1], …) */
                snprintf(j->err, sizeof j->err, "invalid JSON: an array ('[') needs a JSONPaths file ($[0], $[1], ...), "
                         "not 'auto'");
                j->err_line = j->line;
                return -1;
            }
            if (*p != '{' && *p != '[') {
                snprintf(j->err, sizeof j->err, "invalid JSON: expected an object ('{') or an array ('['), found '%s%c'",
                         (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ? "\\x" : "",
                         (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ? '?' : *p);
                j->err_line = j->line;
                return -1;
            }
            j->started = 1;
            j->depth = 0;
            j->in_string = j->escape = 0;
            j->rec.len = 0;
            j->rec_line = j->line;
        }
        /* scan to the end of the object, copying into rec */
        const char *q = p;
        int closed = 0;
        while (q < end) {
            char ch = *q++;
            if (ch == '\n') j->line++;
            if (j->in_string) {
                if (j->escape) j->escape = 0;
                else if (ch == '\\') j->escape = 1;
                else if (ch == '"') j->in_string = 0;
            } else if (ch == '"') {
                j->in_string = 1;
            } else if (ch == '{' || ch == '[') {
                j->depth++;
            } else if (ch == '}' || ch == ']') {
                if (--j->depth == 0) {
                    closed = 1;
                    break;
                }
            }
        }
        if (j->rec.len + (size_t)(q - p) > j->o.max_record) {
            snprintf(j->err, sizeof j->err, "a JSON object is longer than %zu bytes", j->o.max_record);
            j->err_line = j->rec_line;
            return -1;
        }
        if (lode_buf_append(&j->rec, p, (size_t)(q - p))) {
            snprintf(j->err, sizeof j->err, "out of memory");
            return -1;
        }
        p = q;
        if (closed) {
            j->started = 0;
            int rc = emit(j);
            if (rc) return rc;
        }
    }
    return 0;
}

int lode_jsonload_finish(lode_jsonload *j)
{
    if (j->err[0]) return -1;
    if (j->started) {
        snprintf(j->err, sizeof j->err, "invalid JSON: the input ends inside an object");
        j->err_line = j->rec_line;
        return -1;
    }
    return 0;
}

const char *lode_jsonload_error(const lode_jsonload *j) { return j->err; }
int64_t lode_jsonload_error_line(const lode_jsonload *j) { return j->err_line; }

lode_jsonload *lode_jsonload_new(const lode_jsonload_opts *o, lode_json_record_fn fn, void *ud,
                                 char *err, size_t errlen)
{
    lode_jsonload *j = calloc(1, sizeof *j);
    if (!j) goto oom;
    j->o = *o;
    if (!j->o.max_record) j->o.max_record = 4u << 20;
    j->fn = fn;
    j->ud = ud;
    j->line = 1;
    size_t n = o->ncols;
    j->names = calloc(n + 1, sizeof *j->names);
    j->name_len = calloc(n + 1, sizeof *j->name_len);
    j->fields = calloc(n + 1, sizeof *j->fields);
    j->isnull = calloc(n + 1, sizeof *j->isnull);
    j->field_off = calloc(n + 1, sizeof *j->field_off);
    j->field_in_text = calloc(n + 1, sizeof *j->field_in_text);
    if (!j->names || !j->name_len || !j->fields || !j->isnull || !j->field_off || !j->field_in_text) goto oom;
    for (size_t i = 0; i < n; i++) {
        j->name_len[i] = strlen(o->names[i]);
        j->names[i] = strdup(o->names[i]);
        if (!j->names[i]) goto oom;
    }
    if (o->jsonpaths) {
        if (o->n_jsonpaths != n) {
            snprintf(err, errlen, "the jsonpaths file has %zu expressions for %zu columns", o->n_jsonpaths, n);
            lode_jsonload_free(j);
            return NULL;
        }
        j->paths = calloc(n + 1, sizeof *j->paths);
        if (!j->paths) goto oom;
        for (size_t i = 0; i < n; i++) {
            if (path_compile(o->jsonpaths[i], &j->paths[i], err, errlen)) {
                lode_jsonload_free(j);
                return NULL;
            }
        }
    }
    j->o.names = NULL;
    j->o.jsonpaths = NULL;
    return j;
oom:
    snprintf(err, errlen, "out of memory");
    lode_jsonload_free(j);
    return NULL;
}

void lode_jsonload_free(lode_jsonload *j)
{
    if (!j) return;
    for (size_t i = 0; j->names && i < j->o.ncols; i++) free(j->names[i]);
    free(j->names);
    free(j->name_len);
    if (j->paths)
        for (size_t i = 0; i < j->o.ncols; i++) path_free(&j->paths[i]);
    free(j->paths);
    free(j->fields);
    free(j->isnull);
    free(j->field_off);
    free(j->field_in_text);
    lode_buf_free(&j->rec);
    lode_buf_free(&j->text);
    free(j);
}

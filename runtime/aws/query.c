/* query.c — the AWS Query protocol's wire formats without a service model:
 * JSON parameters flattened into a form body, and an XML answer turned into
 * a JSON tree (objects of strings; <member> lists, repeated elements and
 * <entry> key/value maps recognised by shape). Pure functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aws_internal.h"
#include "lode/aws/sigv4.h"

/* ---- parameters -> form body -------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void add_encoded(buf *b, const char *s)
{
    char *e = lode_uri_encode(s, strlen(s), 0);
    if (!e) {
        b->oom = 1;
        return;
    }
    buf_add(b, e, strlen(e));
    free(e);
}

static void add_pair(buf *b, const char *name, const char *value)
{
    buf_add(b, "&", 1);
    add_encoded(b, name);
    buf_add(b, "=", 1);
    add_encoded(b, value);
}

static int flatten(buf *b, const char *name, const cJSON *v, int depth)
{
    if (depth > 32) return -1;
    char tmp[64];
    if (cJSON_IsObject(v)) {
        for (const cJSON *c = v->child; c; c = c->next) {
            char *n = NULL;
            if (asprintf(&n, "%s.%s", name, c->string) < 0) return b->oom = 1, -1;
            int rc = flatten(b, n, c, depth + 1);
            free(n);
            if (rc) return rc;
        }
    } else if (cJSON_IsArray(v)) {
        if (!v->child) add_pair(b, name, "");          /* an empty list is "Name=" (botocore) */
        int i = 1;
        for (const cJSON *c = v->child; c; c = c->next, i++) {
            char *n = NULL;
            if (asprintf(&n, "%s.member.%d", name, i) < 0) return b->oom = 1, -1;
            int rc = flatten(b, n, c, depth + 1);
            free(n);
            if (rc) return rc;
        }
    } else if (cJSON_IsString(v)) {
        add_pair(b, name, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        add_pair(b, name, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(long long)d && d > -9.2e18 && d < 9.2e18) snprintf(tmp, sizeof tmp, "%lld", (long long)d);
        else snprintf(tmp, sizeof tmp, "%.17g", d);
        add_pair(b, name, tmp);
    }
    /* null: the parameter is absent */
    return 0;
}

char *aws_query_body(const char *action, const char *version, const cJSON *params, char *why, size_t whylen)
{
    buf b = {0};
    buf_add(&b, "Action=", 7);
    add_encoded(&b, action);
    buf_add(&b, "&Version=", 9);
    add_encoded(&b, version);
    if (params && !cJSON_IsObject(params) && !(cJSON_IsArray(params) && !params->child)) {
        snprintf(why, whylen, "parameters must be a table of names to values");
        free(b.p);
        return NULL;
    }
    if (params && cJSON_IsObject(params))
        for (const cJSON *c = params->child; c; c = c->next)
            if (flatten(&b, c->string, c, 0) != 0 && !b.oom) {
                snprintf(why, whylen, "parameter %s nests deeper than 32 levels", c->string);
                free(b.p);
                return NULL;
            }
    if (b.oom) {
        snprintf(why, whylen, "out of memory");
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- XML -> JSON ------------------------------------------------------------------- */

typedef struct {
    const char *p, *end;
    int depth;
} xml;

static int starts(const xml *x, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(x->end - x->p) >= n && memcmp(x->p, s, n) == 0;
}

/* Skip past the next occurrence of s; -1 when absent. */
static int skip_past(xml *x, const char *s)
{
    size_t n = strlen(s);
    for (const char *q = x->p; q + n <= x->end; q++)
        if (memcmp(q, s, n) == 0) {
            x->p = q + n;
            return 0;
        }
    return -1;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Skip whitespace, the prolog, comments, processing instructions and a DOCTYPE. */
static int skip_misc(xml *x)
{
    for (;;) {
        while (x->p < x->end && is_space(*x->p)) x->p++;
        if (starts(x, "<?")) {
            if (skip_past(x, "?>")) return -1;
        } else if (starts(x, "<!--")) {
            if (skip_past(x, "-->")) return -1;
        } else if (starts(x, "<!DOCTYPE")) {
            if (skip_past(x, ">")) return -1;
        } else {
            return 0;
        }
    }
}

/* Append decoded text [s, s+n) (entities and character references). */
static void text_add(buf *t, const char *s, size_t n)
{
    static const struct {
        const char *ent, *ch;
    } ents[] = {{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""}, {"&apos;", "'"}};
    size_t i = 0;
    while (i < n) {
        if (s[i] != '&') {
            size_t j = i;
            while (j < n && s[j] != '&') j++;
            buf_add(t, s + i, j - i);
            i = j;
            continue;
        }
        const char *semi = memchr(s + i, ';', n - i < 12 ? n - i : 12);
        size_t el = semi ? (size_t)(semi - (s + i)) + 1 : 0;
        int done = 0;
        for (size_t k = 0; semi && k < sizeof ents / sizeof *ents; k++)
            if (el == strlen(ents[k].ent) && memcmp(s + i, ents[k].ent, el) == 0) {
                buf_add(t, ents[k].ch, 1);
                done = 1;
            }
        if (!done && semi && el > 3 && s[i + 1] == '#') {
            int hex = s[i + 2] == 'x' || s[i + 2] == 'X';
            unsigned long v = 0;
            int ok = 1;
            for (size_t k = i + (hex ? 3 : 2); k < i + el - 1; k++) {
                int c = (unsigned char)s[k], d;
                if (c >= '0' && c <= '9') d = c - '0';
                else if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
                else if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
                else ok = 0, d = 0;
                v = v * (hex ? 16 : 10) + (unsigned long)d;
                if (v > 0x10FFFF) ok = 0;
            }
            if (ok && v != 0 && !(v >= 0xD800 && v <= 0xDFFF)) {
                char u[4];
                size_t un;
                if (v < 0x80) u[0] = (char)v, un = 1;
                else if (v < 0x800) u[0] = (char)(0xC0 | (v >> 6)), u[1] = (char)(0x80 | (v & 0x3F)), un = 2;
                else if (v < 0x10000)
                    u[0] = (char)(0xE0 | (v >> 12)), u[1] = (char)(0x80 | ((v >> 6) & 0x3F)),
                    u[2] = (char)(0x80 | (v & 0x3F)), un = 3;
                else
                    u[0] = (char)(0xF0 | (v >> 18)), u[1] = (char)(0x80 | ((v >> 12) & 0x3F)),
                    u[2] = (char)(0x80 | ((v >> 6) & 0x3F)), u[3] = (char)(0x80 | (v & 0x3F)), un = 4;
                buf_add(t, u, un);
                done = 1;
            }
        }
        if (done) {
            i += el;
        } else {
            buf_add(t, "&", 1);
            i++;
        }
    }
}

/* An array made by add_child from repeated elements carries this bit in its
 * type (unused by cJSON, cleared before the tree is returned), so shape()
 * tells it from an array that is an element's own value. */
#define REPEATED 0x1000

/* Add child (named name) to obj; a repeated name turns the value into an array. */
static int add_child(cJSON *obj, const char *name, cJSON *child)
{
    cJSON *prev = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!prev) return cJSON_AddItemToObject(obj, name, child) ? 0 : -1;
    if (!prev->string || !cJSON_IsArray(prev) || !(prev->type & REPEATED)) {
        cJSON *list = cJSON_CreateArray();
        if (!list) return -1;
        list->type |= REPEATED;
        cJSON_DetachItemViaPointer(obj, prev);
        cJSON_AddItemToArray(list, prev);
        cJSON_AddItemToObject(obj, name, list);
        prev = list;
    }
    return cJSON_AddItemToArray(prev, child) ? 0 : -1;
}

static void clear_marks(cJSON *j)
{
    for (; j; j = j->next) {
        j->type &= ~REPEATED;
        clear_marks(j->child);
    }
}

/* Whether obj's only key is `name` (repeats of it are one key by now). */
static int only_key(const cJSON *obj, const char *name)
{
    return obj->child && !obj->child->next && strcmp(obj->child->string, name) == 0;
}

/* <Items><member>a</member><member>b</member></Items> -> ["a","b"];
 * <Attrs><entry><key>k</key><value>v</value></entry>...</Attrs> -> {"k":"v"}. */
static cJSON *shape(cJSON *obj)
{
    if (!only_key(obj, "member") && !only_key(obj, "entry")) return obj;
    cJSON *only = obj->child;
    if (strcmp(only->string, "member") == 0) {
        cJSON *list = cJSON_DetachItemViaPointer(obj, only);
        cJSON_Delete(obj);
        if (cJSON_IsArray(list) && (list->type & REPEATED)) return list;
        cJSON *a = cJSON_CreateArray();
        if (!a) {
            cJSON_Delete(list);
            return NULL;
        }
        cJSON_AddItemToArray(a, list);
        return a;
    }
    /* entry: a map when every entry is {key, value} */
    cJSON *entries = only;
    cJSON *map = cJSON_CreateObject();
    if (!map) return obj;
    int single = !((entries->type & REPEATED) && cJSON_IsArray(entries));
    for (cJSON *e = single ? entries : entries->child; e; e = single ? NULL : e->next) {
        cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "key"), *v = cJSON_GetObjectItemCaseSensitive(e, "value");
        if (!cJSON_IsObject(e) || !cJSON_IsString(k) || !v || cJSON_GetArraySize(e) != 2) {
            cJSON_Delete(map);
            return obj;
        }
        cJSON_AddItemToObject(map, k->valuestring, cJSON_Duplicate(v, 1));
    }
    cJSON_Delete(obj);
    return map;
}

static cJSON *parse_element(xml *x, char *name, size_t namecap);

/* Content after a start tag up to its end tag: an object of children, or text. */
static cJSON *parse_content(xml *x, const char *name)
{
    buf text = {0};
    cJSON *obj = NULL;
    char child_name[256];
    for (;;) {
        if (x->p >= x->end) goto bad;
        if (*x->p != '<') {
            const char *lt = memchr(x->p, '<', (size_t)(x->end - x->p));
            if (!lt) goto bad;
            text_add(&text, x->p, (size_t)(lt - x->p));
            x->p = lt;
            continue;
        }
        if (starts(x, "<![CDATA[")) {
            const char *s = x->p + 9;
            x->p = s;
            if (skip_past(x, "]]>")) goto bad;
            buf_add(&text, s, (size_t)(x->p - 3 - s));
            continue;
        }
        if (starts(x, "<!--")) {
            if (skip_past(x, "-->")) goto bad;
            continue;
        }
        if (starts(x, "<?")) {
            if (skip_past(x, "?>")) goto bad;
            continue;
        }
        if (starts(x, "</")) {
            size_t n = strlen(name);
            x->p += 2;
            if ((size_t)(x->end - x->p) < n || memcmp(x->p, name, n) != 0) goto bad;
            x->p += n;
            while (x->p < x->end && is_space(*x->p)) x->p++;
            if (x->p >= x->end || *x->p != '>') goto bad;
            x->p++;
            break;
        }
        cJSON *child = parse_element(x, child_name, sizeof child_name);
        if (!child) goto bad;
        if (!obj && !(obj = cJSON_CreateObject())) {
            cJSON_Delete(child);
            goto bad;
        }
        if (add_child(obj, child_name, child) != 0) {
            cJSON_Delete(child);
            goto bad;
        }
    }
    if (text.oom) goto bad;
    if (obj) {
        free(text.p);
        return shape(obj);
    }
    int blank = 1;
    for (size_t i = 0; i < text.len; i++)
        if (!is_space(text.p[i])) blank = 0;
    cJSON *v = blank ? cJSON_CreateArray() : cJSON_CreateString(text.p);
    free(text.p);
    return v;
bad:
    free(text.p);
    cJSON_Delete(obj);
    return NULL;
}

/* At '<' of a start tag: the element's name into name, its value returned. */
static cJSON *parse_element(xml *x, char *name, size_t namecap)
{
    if (++x->depth > 64 || x->p >= x->end || *x->p != '<') return NULL;
    x->p++;
    const char *s = x->p;
    while (x->p < x->end && !is_space(*x->p) && *x->p != '>' && *x->p != '/') x->p++;
    size_t n = (size_t)(x->p - s);
    if (n == 0 || n >= namecap) return NULL;
    memcpy(name, s, n);
    name[n] = '\0';
    /* attributes are skipped (xmlns and the like); quoted values may hold '>' */
    while (x->p < x->end && *x->p != '>' && !(*x->p == '/' && x->p + 1 < x->end && x->p[1] == '>')) {
        if (*x->p == '"' || *x->p == '\'') {
            const char *q = memchr(x->p + 1, *x->p, (size_t)(x->end - x->p - 1));
            if (!q) return NULL;
            x->p = q;
        }
        x->p++;
    }
    if (x->p >= x->end) return NULL;
    cJSON *v;
    if (*x->p == '/') {
        x->p += 2;
        v = cJSON_CreateArray();
    } else {
        x->p++;
        v = parse_content(x, name);
    }
    x->depth--;
    return v;
}

cJSON *aws_xml_parse(const char *s, size_t n)
{
    xml x = {s, s + n, 0};
    char name[256];
    if (skip_misc(&x) != 0) return NULL;
    cJSON *root = parse_element(&x, name, sizeof name);
    if (root && (skip_misc(&x) != 0 || x.p != x.end)) {
        cJSON_Delete(root);
        return NULL;
    }
    if (root) clear_marks(root);
    return root;
}

const cJSON *aws_json_find(const cJSON *j, const char *name)
{
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
        if (c->string && strcmp(c->string, name) == 0) return c;
        const cJSON *in = aws_json_find(c, name);
        if (in) return in;
    }
    return NULL;
}

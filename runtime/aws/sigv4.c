/* sigv4.c — AWS Signature Version 4 with OpenSSL HMAC-SHA256.
 * Owns nothing beyond the strings it returns in lode_sigv4_result. No clock,
 * no environment: everything comes in through lode_sigv4_request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "lode/aws/sigv4.h"

/* ---- a growable string ------------------------------------------------------ */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_chr(sbuf *b, char c) { sb_add(b, &c, 1); }

/* Take the string out of b (NULL when out of memory). */
static char *sb_take(sbuf *b)
{
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    if (!b->p) return strdup("");
    return b->p;
}

/* ---- encoding and hashing ------------------------------------------------ */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static void sb_encode(sbuf *b, const char *s, size_t len, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            sb_chr(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            sb_add(b, e, 3);
        }
    }
}

char *lode_uri_encode(const char *s, size_t len, int keep_slash)
{
    sbuf b = {0};
    sb_encode(&b, s, len, keep_slash);
    return sb_take(&b);
}

static void to_hex(const unsigned char *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

void lode_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(data, len, d);
    to_hex(d, sizeof d, out);
}

static void hmac(const void *key, size_t klen, const char *msg, size_t mlen, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, mlen, out, &n);
}

void lode_sigv4_amz_date(int64_t now, char buf[17])
{
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* ---- canonical parts ----------------------------------------------------- */

typedef struct {
    char *name, *value;     /* encoded (query) or lowercased/trimmed (headers) */
    size_t order;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    /* query: then by value; headers keep their order (values joined later) */
    if (x->value && y->value && x->order == (size_t)-1) return strcmp(x->value, y->value);
    return x->order < y->order ? -1 : x->order > y->order;
}

static void free_pairs(pair *p, size_t n)
{
    if (!p) return;
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

char *lode_sigv4_canonical_query(const lode_kv *q, size_t n)
{
    pair *p = calloc(n ? n : 1, sizeof *p);
    if (!p) return NULL;
    int oom = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = q[i].value ? q[i].value : "";
        p[i].name = lode_uri_encode(q[i].name, strlen(q[i].name), 0);
        p[i].value = lode_uri_encode(v, strlen(v), 0);
        p[i].order = (size_t)-1;
        if (!p[i].name || !p[i].value) oom = 1;
    }
    char *out = NULL;
    if (!oom) {
        qsort(p, n, sizeof *p, pair_cmp);
        sbuf b = {0};
        for (size_t i = 0; i < n; i++) {
            if (i) sb_chr(&b, '&');
            sb_str(&b, p[i].name);
            sb_chr(&b, '=');
            sb_str(&b, p[i].value);
        }
        out = sb_take(&b);
    }
    free_pairs(p, n);
    return out;
}

/* Trim and collapse every whitespace run (including folded lines) to one space. */
static char *header_value(const char *v)
{
    size_t n = strlen(v);
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    int space = 0;
    for (const char *s = v; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
            space = o != out;
            continue;
        }
        if (space) *o++ = ' ';
        space = 0;
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    if (d)
        for (char *c = d; *c; c++)
            if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    return d;
}

/* Remove dot segments and empty segments (generic services only). */
static void normalized_path(sbuf *out, const char *path)
{
    size_t n = strlen(path);
    const char **seg = calloc(n + 1, sizeof *seg);
    size_t *segl = calloc(n + 1, sizeof *segl);
    size_t ns = 0;
    if (!seg || !segl) {
        out->oom = 1;
        free(seg);
        free(segl);
        return;
    }
    const char *s = path;
    while (*s) {
        while (*s == '/') s++;
        const char *e = s;
        while (*e && *e != '/') e++;
        size_t l = (size_t)(e - s);
        if (l == 0 || (l == 1 && s[0] == '.')) {
            /* skip */
        } else if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (ns) ns--;
        } else {
            seg[ns] = s;
            segl[ns++] = l;
        }
        s = e;
    }
    for (size_t i = 0; i < ns; i++) {
        sb_chr(out, '/');
        sb_encode(out, seg[i], segl[i], 0);
    }
    if (ns == 0 || (n > 0 && path[n - 1] == '/')) sb_chr(out, '/');
    free(seg);
    free(segl);
}

/* Build canonical request, string to sign and signature into out. */
static int sign_core(const lode_sigv4_request *r, const lode_aws_credentials *c,
                     const lode_kv *query, size_t nquery, lode_sigv4_result *out)
{
    int rc = -1;
    char date[17], day[9];
    lode_sigv4_amz_date(r->now, date);
    memcpy(day, date, 8);
    day[8] = '\0';

    pair *h = calloc(r->nheaders ? r->nheaders : 1, sizeof *h);
    char *cq = lode_sigv4_canonical_query(query, nquery);
    sbuf creq = {0}, signed_hdrs = {0}, sts = {0}, authz = {0};
    if (!h || !cq) goto done;
    for (size_t i = 0; i < r->nheaders; i++) {
        h[i].name = lower_dup(r->headers[i].name);
        h[i].value = header_value(r->headers[i].value ? r->headers[i].value : "");
        h[i].order = i;
        if (!h[i].name || !h[i].value) goto done;
    }
    qsort(h, r->nheaders, sizeof *h, pair_cmp);

    sb_str(&creq, r->method);
    sb_chr(&creq, '\n');
    if (r->normalize_path) normalized_path(&creq, r->path);
    else sb_encode(&creq, r->path, strlen(r->path), 1);
    sb_chr(&creq, '\n');
    sb_str(&creq, cq);
    sb_chr(&creq, '\n');
    for (size_t i = 0; i < r->nheaders; i++) {
        int dup = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
        if (dup) {
            sb_chr(&creq, ',');
        } else {
            if (i) sb_chr(&creq, '\n');
            sb_str(&creq, h[i].name);
            sb_chr(&creq, ':');
            if (signed_hdrs.len) sb_chr(&signed_hdrs, ';');
            sb_str(&signed_hdrs, h[i].name);
        }
        sb_str(&creq, h[i].value);
    }
    if (r->nheaders) sb_chr(&creq, '\n');
    sb_chr(&creq, '\n');
    sb_str(&creq, signed_hdrs.p ? signed_hdrs.p : "");
    sb_chr(&creq, '\n');
    sb_str(&creq, r->payload_hash);
    if (creq.oom || signed_hdrs.oom) goto done;

    char creq_hash[65], scope[128];
    lode_sha256_hex(creq.p, creq.len, creq_hash);
    snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", day, r->region, r->service);
    sb_str(&sts, "AWS4-HMAC-SHA256\n");
    sb_str(&sts, date);
    sb_chr(&sts, '\n');
    sb_str(&sts, scope);
    sb_chr(&sts, '\n');
    sb_str(&sts, creq_hash);
    if (sts.oom) goto done;

    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, day), region), service), "aws4_request") */
    unsigned char k[32], k2[32];
    size_t slen = strlen(c->secret_access_key);
    char *ks = malloc(slen + 5);
    if (!ks) goto done;
    memcpy(ks, "AWS4", 4);
    memcpy(ks + 4, c->secret_access_key, slen + 1);
    hmac(ks, slen + 4, day, 8, k);
    OPENSSL_cleanse(ks, slen + 4);
    free(ks);
    hmac(k, 32, r->region, strlen(r->region), k2);
    hmac(k2, 32, r->service, strlen(r->service), k);
    hmac(k, 32, "aws4_request", 12, k2);
    hmac(k2, 32, sts.p, sts.len, k);
    OPENSSL_cleanse(k2, sizeof k2);
    to_hex(k, 32, out->signature);

    sb_str(&authz, "AWS4-HMAC-SHA256 Credential=");
    sb_str(&authz, c->access_key_id);
    sb_chr(&authz, '/');
    sb_str(&authz, scope);
    sb_str(&authz, ", SignedHeaders=");
    sb_str(&authz, signed_hdrs.p ? signed_hdrs.p : "");
    sb_str(&authz, ", Signature=");
    sb_str(&authz, out->signature);
    if (authz.oom) goto done;

    out->canonical_request = sb_take(&creq);
    out->string_to_sign = sb_take(&sts);
    out->authorization = sb_take(&authz);
    creq.p = sts.p = authz.p = NULL;
    rc = 0;
done:
    free_pairs(h, r->nheaders);
    free(cq);
    free(creq.p);
    free(signed_hdrs.p);
    free(sts.p);
    free(authz.p);
    return rc;
}

int lode_sigv4_sign(const lode_sigv4_request *r, const lode_aws_credentials *c, lode_sigv4_result *out)
{
    memset(out, 0, sizeof *out);
    return sign_core(r, c, r->query, r->nquery, out);
}

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int lode_sigv4_presign(const lode_sigv4_request *r, const lode_aws_credentials *c,
                       int64_t expires_seconds, lode_sigv4_result *out)
{
    memset(out, 0, sizeof *out);
    char date[17], cred[512], expires[24];
    sbuf shdrs = {0};
    lode_sigv4_amz_date(r->now, date);
    snprintf(cred, sizeof cred, "%s/%.8s/%s/%s/aws4_request", c->access_key_id, date,
             r->region, r->service);
    snprintf(expires, sizeof expires, "%lld", (long long)expires_seconds);
    /* SignedHeaders: the lowercased, sorted, deduplicated header names */
    char **names = calloc(r->nheaders ? r->nheaders : 1, sizeof *names);
    lode_kv *q = calloc(r->nquery + 6, sizeof *q);
    int rc = -1;
    if (!names || !q) goto done;
    for (size_t i = 0; i < r->nheaders; i++)
        if (!(names[i] = lower_dup(r->headers[i].name))) goto done;
    qsort(names, r->nheaders, sizeof *names, str_ptr_cmp);
    for (size_t i = 0; i < r->nheaders; i++) {
        if (i && strcmp(names[i], names[i - 1]) == 0) continue;
        if (shdrs.len) sb_chr(&shdrs, ';');
        sb_str(&shdrs, names[i]);
    }
    if (shdrs.oom) goto done;
    size_t n = 0;
    q[n++] = (lode_kv){"X-Amz-Algorithm", "AWS4-HMAC-SHA256"};
    q[n++] = (lode_kv){"X-Amz-Credential", cred};
    q[n++] = (lode_kv){"X-Amz-Date", date};
    q[n++] = (lode_kv){"X-Amz-Expires", expires};
    q[n++] = (lode_kv){"X-Amz-SignedHeaders", shdrs.p ? shdrs.p : ""};
    if (c->session_token && *c->session_token)
        q[n++] = (lode_kv){"X-Amz-Security-Token", c->session_token};
    for (size_t i = 0; i < r->nquery; i++) q[n++] = r->query[i];

    lode_sigv4_request pr = *r;
    pr.payload_hash = "UNSIGNED-PAYLOAD";
    if (sign_core(&pr, c, q, n, out) != 0) goto done;
    char *cq = lode_sigv4_canonical_query(q, n);
    if (!cq) goto done;
    sbuf qs = {0};
    sb_str(&qs, cq);
    sb_str(&qs, "&X-Amz-Signature=");
    sb_str(&qs, out->signature);
    free(cq);
    out->query = sb_take(&qs);
    if (out->query) rc = 0;
done:
    if (names)
        for (size_t i = 0; i < r->nheaders; i++) free(names[i]);
    free(names);
    free(q);
    free(shdrs.p);
    if (rc != 0) lode_sigv4_result_free(out);
    return rc;
}

void lode_sigv4_result_free(lode_sigv4_result *out)
{
    free(out->canonical_request);
    free(out->string_to_sign);
    free(out->authorization);
    free(out->query);
    out->canonical_request = out->string_to_sign = out->authorization = out->query = NULL;
}

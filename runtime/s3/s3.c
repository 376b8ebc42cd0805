/* s3/s3.c — the S3 client: one shared configuration, signed requests over
 * runtime/http.c with retries (exponential backoff, full jitter), and S3's
 * XML errors turned into lode_s3_error.
 * Owns: the default client (freed at shutdown), every s3_req from
 * s3_request to s3_req_free (its backoff timer is freed in its close callback). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <lauxlib.h>

#include "lode.h"
#include "internal.h"

/* ---- errors ------------------------------------------------------------------ */

int s3_code_retryable(long status, const char *code)
{
    if (status >= 500 || status == 429) return 1;
    static const char *const codes[] = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable",
                                        "RequestTimeTooSkewed", "transport", "timeout", NULL};
    for (int i = 0; code && codes[i]; i++)
        if (strcmp(code, codes[i]) == 0) return 1;
    return 0;
}

void s3_error_set(lode_s3_error *e, long status, const char *code, const char *message,
                  const char *bucket, const char *key, int retryable)
{
    memset(e, 0, sizeof *e);
    e->status = status;
    snprintf(e->code, sizeof e->code, "%s", code ? code : "error");
    snprintf(e->message, sizeof e->message, "%s", message ? message : "");
    if (bucket) snprintf(e->key, sizeof e->key, "s3://%s/%s", bucket, key ? key : "");
    e->retryable = retryable;
}

void lode_s3_push_error(lua_State *L, const char *op, const lode_s3_error *e)
{
    lode_push_error(L, op, e->code, e->message[0] ? e->message : e->code, e->retryable);
    if (e->status) {
        lua_pushinteger(L, e->status);
        lua_setfield(L, -2, "status");
    }
    if (e->key[0]) {
        lua_pushstring(L, e->key);
        lua_setfield(L, -2, "key");
    }
    if (e->request_id[0]) {
        lua_pushstring(L, e->request_id);
        lua_setfield(L, -2, "request_id");
    }
}

/* ---- the client ----------------------------------------------------------------- */

static lode_s3 *default_client;

static void client_free(lode_s3 *c)
{
    if (!c) return;
    lode_aws_creds_provider_free(c->creds);
    lode_aws_config_free(&c->cfg);
    free(c->file_root);
    free(c->scheme);
    free(c->host);
    free(c->base_path);
    free(c);
}

static void client_shutdown(void *ud)
{
    (void)ud;
    client_free(default_client);
    default_client = NULL;
}

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

/* Split the endpoint URL into scheme, host[:port] and path, or take the file:// root. */
static int client_endpoint(lode_s3 *c, lode_s3_error *err)
{
    const char *url = c->cfg.endpoint_url;
    char *generated = NULL;
    if (!url) {
        if (asprintf(&generated, "https://s3.%s.amazonaws.com", c->cfg.region) < 0) return -1;
        url = generated;
    }
    int rc = 0;
    if (strncmp(url, "file://", 7) == 0) {
        const char *root = url + 7;
        size_t n = strlen(root);
        while (n > 1 && root[n - 1] == '/') n--;
        c->file_root = strndup(root, n);
        if (!c->file_root || root[0] != '/') {
            s3_error_set(err, 0, "config", "a file:// endpoint needs an absolute path (file:///some/dir)", NULL, NULL, 0);
            rc = -1;
        }
        free(generated);
        return rc;
    }
    const char *sep = strstr(url, "://");
    if (!sep || (strncmp(url, "http", 4) != 0)) {
        s3_error_set(err, 0, "config", "the S3 endpoint must be an http://, https:// or file:// URL", NULL, NULL, 0);
        free(generated);
        return -1;
    }
    c->scheme = strndup(url, (size_t)(sep - url));
    const char *h = sep + 3;
    const char *slash = strchr(h, '/');
    c->host = slash ? strndup(h, (size_t)(slash - h)) : strdup(h);
    c->base_path = strdup(slash ? slash : "");
    size_t bl = strlen(c->base_path);
    while (bl > 0 && c->base_path[bl - 1] == '/') c->base_path[--bl] = '\0';
    if (c->cfg.addressing == LODE_S3_ADDR_PATH) c->path_style = 1;
    else if (c->cfg.addressing == LODE_S3_ADDR_VIRTUAL) c->path_style = 0;
    else c->path_style = !strstr(c->host, "amazonaws.com");   /* custom endpoints: path style */
    free(generated);
    return 0;
}

lode_s3 *s3_client_new(const char *endpoint, const char *region, const char *access_key,
                       const char *secret_key, const char *token, lode_s3_error *err)
{
    lode_s3 *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cfg.endpoint_url = endpoint ? strdup(endpoint) : NULL;
    c->cfg.region = strdup(region ? region : "us-east-1");
    c->cfg.access_key_id = strdup(access_key ? access_key : "");
    c->cfg.secret_access_key = strdup(secret_key ? secret_key : "");
    c->cfg.session_token = token ? strdup(token) : NULL;
    lode_aws_creds_error ce;
    c->creds = lode_aws_creds_static_new(access_key, secret_key, token, &ce);
    if (!c->creds) {
        s3_error_set(err, 0, "internal", ce.message, NULL, NULL, 0);
        client_free(c);
        return NULL;
    }
    if (client_endpoint(c, err) != 0) {
        client_free(c);
        return NULL;
    }
    return c;
}

void s3_client_free(lode_s3 *c) { client_free(c); }

lode_s3 *lode_s3_default(lode_s3_error *err)
{
    if (default_client) return default_client;
    lode_s3 *c = calloc(1, sizeof *c);
    char msg[256];
    if (!c) {
        s3_error_set(err, 0, "config", "out of memory", NULL, NULL, 0);
        return NULL;
    }
    if (lode_aws_config_load(&c->cfg, NULL, msg, sizeof msg) != 0) {
        s3_error_set(err, 0, "config", msg, NULL, NULL, 0);
        free(c);
        return NULL;
    }
    if (client_endpoint(c, err) != 0) {
        client_free(c);
        return NULL;
    }
    if (!c->file_root) {           /* resolved on the first request, refreshed before expiry */
        lode_aws_creds_error ce;
        c->creds = lode_aws_creds_shared(NULL, &ce);
        if (!c->creds) {
            s3_error_set(err, 0, "internal", ce.message, NULL, NULL, 0);
            client_free(c);
            return NULL;
        }
    }
    c->max_attempts = env_int("LODE_S3_MAX_ATTEMPTS", 5);
    if (c->max_attempts < 1) c->max_attempts = 1;
    c->backoff_base_ms = 100;
    c->backoff_cap_ms = 5000;
    c->connect_timeout_ms = 10000;
    c->low_speed_time_s = 30;
    c->deadline_ms = 60000;              /* + 1 s per 128 KiB: 4 MiB gets 92 s, 64 MiB 9 min */
    c->min_rate = 128 << 10;
    c->part_size = 8 << 20;
    c->multipart_threshold = 8 << 20;
    c->concurrency = 8;
    default_client = c;
    lode_on_shutdown(client_shutdown, NULL);
    return c;
}

int lode_s3_parse_url(const char *url, char **bucket, char **key)
{
    *bucket = *key = NULL;
    if (!url || strncmp(url, "s3://", 5) != 0) return -1;
    const char *b = url + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    if (bl == 0) return -1;
    *bucket = strndup(b, bl);
    *key = strdup(slash ? slash + 1 : "");
    if (!*bucket || !*key) {
        free(*bucket);
        free(*key);
        *bucket = *key = NULL;
        return -1;
    }
    return 0;
}

/* ---- requests ------------------------------------------------------------------ */

struct s3_req {
    lode_s3 *c;
    s3_req_opts o;
    char *bucket, *key;
    lode_kv *query, *headers;        /* deep copies */
    lode_http *h;
    lode_s3_error err;
    int failed;
    int attempts;
    int cancelled;
    int finished;
    uv_timer_t timer;
    int timer_init;
    long live_status;                /* status of the response being received */
    /* the answer being received, checked against what was asked (reset per attempt) */
    int head_checked;                /* its head passed check_head */
    int bad;                         /* a check failed: err says why, the transfer was cut */
    int no_retry;                    /* err is final: another attempt would fail the same way */
    int whole;                       /* a 200 to a ranged GET: the body is the whole object */
    int range_done;                  /* ... and the range arrived, so the rest was cut off */
    uint64_t body_pos;               /* 2xx body bytes received */
    uint64_t expect_body;            /* a 206's length by its Content-Range, UINT64_MAX: none */
    uint64_t whole_total;            /* a whole-object answer's Content-Length, UINT64_MAX: unknown */
    uint64_t want_lo, want_hi;       /* body offsets handed to the sink (want_hi UINT64_MAX: to the end) */
    uint64_t delivered;              /* bytes handed to the sink */
    uint64_t first_start_ms;         /* the request's deadline counts from here (lode_http_now_ms) */
    char *errbody;                   /* error document collected instead of the sink */
    size_t errlen, errcap;
    char *url, *host_hdr;
    char **hdr_lines;
    size_t nhdr_lines;
    lode_aws_creds *keys;            /* the credentials this attempt signs with */
    lode_aws_creds_query *keys_wait; /* waiting for them */
};

static char *path_of(const s3_req *r)
{
    /* decoded path: [base]/[bucket/]key */
    const lode_s3 *c = r->c;
    char *p = NULL;
    const char *k = r->key ? r->key : "";
    int rc;
    if (c->path_style) rc = asprintf(&p, "%s/%s%s%s", c->base_path, r->bucket, *k ? "/" : "", k);
    else rc = asprintf(&p, "%s/%s", c->base_path, k);
    return rc < 0 ? NULL : p;
}

static void free_lines(s3_req *r)
{
    for (size_t i = 0; i < r->nhdr_lines; i++) free(r->hdr_lines[i]);
    free(r->hdr_lines);
    r->hdr_lines = NULL;
    r->nhdr_lines = 0;
    free(r->url);
    free(r->host_hdr);
    r->url = r->host_hdr = NULL;
}

static void req_on_done(lode_http *h, void *ud);

/* ---- checking the answer against the request ------------------------------------- */

/* An ETag without its weak prefix and quotes. */
static void etag_core(const char *e, const char **p, size_t *n)
{
    if (strncmp(e, "W/", 2) == 0) e += 2;
    size_t len = strlen(e);
    if (len >= 2 && e[0] == '"' && e[len - 1] == '"') {
        e++;
        len -= 2;
    }
    *p = e;
    *n = len;
}

static int etag_same(const char *a, const char *b)
{
    const char *pa, *pb;
    size_t na, nb;
    etag_core(a, &pa, &na);
    etag_core(b, &pb, &nb);
    return na == nb && memcmp(pa, pb, na) == 0;
}

/* "bytes a-b/total" -> 0, or -1 when it is not that (e.g. "bytes * /total"). */
int s3_parse_content_range(const char *v, uint64_t *a, uint64_t *b, uint64_t *total)
{
    unsigned long long x, y, z;
    int used = 0;
    if (!v || sscanf(v, "bytes %llu-%llu/%llu%n", &x, &y, &z, &used) != 3 || v[used] != '\0') return -1;
    if (y < x || y >= z) return -1;
    *a = x;
    *b = y;
    *total = z;
    return 0;
}

static int check_failed(s3_req *r, long status, const char *code, int retryable, int final, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Record why the answer is refused; -1. */
static int check_failed(s3_req *r, long status, const char *code, int retryable, int final, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s3_error_set(&r->err, status, code, msg, r->bucket, r->key, retryable);
    const char *rid = lode_http_header(r->h, "x-amz-request-id");
    if (rid) snprintf(r->err.request_id, sizeof r->err.request_id, "%s", rid);
    r->no_retry = final;
    r->bad = 1;
    return -1;
}

#define CHANGED(r, status, ...) check_failed(r, status, "ObjectChanged", 1, 1, __VA_ARGS__)
#define INVALID(r, status, ...) check_failed(r, status, "InvalidResponse", 0, 1, __VA_ARGS__)

/* The checks a 2xx answer's head allows, before any of its body is used:
 * the ETag, a 206's Content-Range, and how a ranged GET's body maps onto
 * the range. 0, or -1 with the error recorded. */
static int check_head(s3_req *r, long status)
{
    const lode_http *h = r->h;
    r->head_checked = 1;
    if (r->o.if_match && *r->o.if_match) {
        const char *etag = lode_http_header(h, "etag");
        if (etag && !etag_same(etag, r->o.if_match))
            return CHANGED(r, status, "s3://%s/%s changed during the load: the answer carries ETag %s, not %s",
                           r->bucket, r->key, etag, r->o.if_match);
    }
    uint64_t first = r->o.range_first, last = r->o.range_last;
    if (status == 206) {
        uint64_t a, b, total;
        const char *cr = lode_http_header(h, "content-range");
        if (s3_parse_content_range(cr, &a, &b, &total) != 0)
            return INVALID(r, status, "a 206 answer with Content-Range \"%s\"", cr ? cr : "");
        r->expect_body = b - a + 1;
        if (!r->o.ranged) return 0;
        if (r->o.object_size && total != r->o.object_size)
            return CHANGED(r, status, "s3://%s/%s changed during the load: it has %llu bytes, not %llu", r->bucket,
                           r->key, (unsigned long long)total, (unsigned long long)r->o.object_size);
        if (last > total - 1) last = total - 1;
        if (a != first || b != last)
            return INVALID(r, status, "bytes %llu-%llu were asked for, the answer holds %s",
                           (unsigned long long)first, (unsigned long long)last, cr);
        return 0;
    }
    if (!r->o.ranged) return 0;
    if (status != 200) return INVALID(r, status, "HTTP %ld to a ranged GET", status);
    /* the server ignored Range: the body is the whole object, of which only the range is used */
    const char *cl = lode_http_header(h, "content-length");
    r->whole = 1;
    r->whole_total = cl ? strtoull(cl, NULL, 10) : UINT64_MAX;
    if (cl && r->o.object_size && r->whole_total != r->o.object_size)
        return CHANGED(r, status, "s3://%s/%s changed during the load: it has %llu bytes, not %llu", r->bucket,
                       r->key, (unsigned long long)r->whole_total, (unsigned long long)r->o.object_size);
    if (cl && first >= r->whole_total)
        return check_failed(r, 416, "InvalidRange", 0, 1, "bytes from %llu were asked for; the object has %llu",
                            (unsigned long long)first, (unsigned long long)r->whole_total);
    r->want_lo = first;
    r->want_hi = cl && last > r->whole_total - 1 ? r->whole_total - 1 : last;
    lode_logf(LODE_LOG_DEBUG, "s3: GET s3://%s/%s: the server ignored Range (200, the whole object); using bytes "
              "%llu-%llu of it", r->bucket, r->key, (unsigned long long)first, (unsigned long long)r->want_hi);
    return 0;
}

/* Append n bytes to the collected body (kept NUL-terminated): its room
 * doubles, and a 206 reserves its announced length at once, so a 4 MiB
 * range is not copied again each time curl hands over a few KiB. */
static int collect(s3_req *r, const char *p, size_t n)
{
    if (r->errlen + n + 1 > r->errcap) {
        size_t cap = r->errcap ? r->errcap * 2 : 4096;
        if (!r->errcap && r->expect_body != UINT64_MAX && r->expect_body < r->o.max_body) cap = (size_t)r->expect_body + 1;
        if (cap < r->errlen + n + 1) cap = r->errlen + n + 1;
        char *b = realloc(r->errbody, cap);
        if (!b) return -1;
        r->errbody = b;
        r->errcap = cap;
    }
    memcpy(r->errbody + r->errlen, p, n);
    r->errlen += n;
    r->errbody[r->errlen] = '\0';
    return 0;
}

/* Hand n body bytes to the sink or the collected body; n, or less to stop. */
static size_t deliver(s3_req *r, const char *p, size_t n)
{
    if (r->o.on_data) return r->o.on_data(r->o.ud, p, n);
    if (r->errlen + n > r->o.max_body) return 0;
    return collect(r, p, n) ? 0 : n;
}

static size_t req_on_data(void *ud, const char *p, size_t n)
{
    s3_req *r = ud;
    if (r->live_status == 0) {
        long st = lode_http_status_live(r->h);
        r->live_status = st ? st : 200;
    }
    if (r->live_status >= 300) {
        if (r->errlen + n > 65536) return n;     /* keep the head of an error */
        return collect(r, p, n) ? 0 : n;
    }
    if (!r->head_checked && check_head(r, r->live_status) != 0) return 0;
    uint64_t pos = r->body_pos;
    r->body_pos += n;
    if (r->body_pos > r->expect_body) {
        INVALID(r, r->live_status, "the answer runs past the %llu bytes its Content-Range announces",
                (unsigned long long)r->expect_body);
        return 0;
    }
    /* the part of [pos, pos + n) inside [want_lo, want_hi] */
    size_t skip = pos < r->want_lo ? (r->want_lo - pos < n ? (size_t)(r->want_lo - pos) : n) : 0;
    size_t k = n - skip;
    if (k && pos + skip > r->want_hi) k = 0;
    else if (k && r->want_hi - (pos + skip) < k) k = (size_t)(r->want_hi - (pos + skip) + 1);
    if (k && deliver(r, p + skip, k) != k) return 0;
    r->delivered += k;
    if (r->whole && r->body_pos > r->want_hi && r->body_pos != r->whole_total) {
        r->range_done = 1;                       /* the rest of the object is not wanted */
        return 0;
    }
    return n;
}

static size_t req_read(void *ud, char *buf, size_t n)
{
    s3_req *r = ud;
    return r->o.read_body(r->o.ud, buf, n);
}

/* Build, sign and start one attempt. */
/* Build the URL and the signed header lines of r for the instant `now`. */
static int sign_request(s3_req *r, int64_t now)
{
    lode_s3 *c = r->c;
    free_lines(r);
    char date[17], hash[65];
    lode_sigv4_amz_date(now, date);
    const char *payload = LODE_EMPTY_SHA256;
    if (r->o.read_body) payload = "UNSIGNED-PAYLOAD";
    else if (r->o.body && r->o.body_len > 0) {
        lode_sha256_hex(r->o.body, (size_t)r->o.body_len, hash);
        payload = hash;
    }
    char *path = path_of(r);
    if (c->path_style) r->host_hdr = strdup(c->host);
    else if (asprintf(&r->host_hdr, "%s.%s", r->bucket, c->host) < 0) r->host_hdr = NULL;
    size_t nh = r->o.nheaders + 4;
    lode_kv *h = calloc(nh, sizeof *h);
    char *epath = path ? lode_uri_encode(path, strlen(path), 1) : NULL;
    char *qs = lode_sigv4_canonical_query(r->query, r->o.nquery);
    int rc = -1;
    if (!path || !r->host_hdr || !h || !epath || !qs) goto done;
    size_t k = 0;
    h[k++] = (lode_kv){"host", r->host_hdr};
    h[k++] = (lode_kv){"x-amz-date", date};
    h[k++] = (lode_kv){"x-amz-content-sha256", payload};
    const lode_aws_credentials *keys = &r->keys->keys;
    if (keys->session_token) h[k++] = (lode_kv){"x-amz-security-token", keys->session_token};
    for (size_t i = 0; i < r->o.nheaders; i++) h[k++] = r->headers[i];
    lode_sigv4_request sr = {
        .method = r->o.method, .path = path, .query = r->query, .nquery = r->o.nquery,
        .headers = h, .nheaders = k, .payload_hash = payload,
        .region = c->cfg.region, .service = "s3", .now = now,
    };
    lode_sigv4_result out;
    if (lode_sigv4_sign(&sr, keys, &out) != 0) goto done;
    r->hdr_lines = calloc(k + 2, sizeof *r->hdr_lines);
    if (!r->hdr_lines) {
        lode_sigv4_result_free(&out);
        goto done;
    }
    for (size_t i = 0; i < k; i++) {
        char *line = NULL;
        if (asprintf(&line, "%s: %s", strcasecmp(h[i].name, "host") == 0 ? "Host" : h[i].name, h[i].value) < 0) line = NULL;
        r->hdr_lines[r->nhdr_lines++] = line;
    }
    if (asprintf(&r->hdr_lines[r->nhdr_lines], "Authorization: %s", out.authorization) >= 0) r->nhdr_lines++;
    lode_sigv4_result_free(&out);
    if (asprintf(&r->url, "%s://%s%s%s%s", c->scheme, r->host_hdr, epath, *qs ? "?" : "", qs) < 0) {
        r->url = NULL;
        goto done;
    }
    rc = 0;
done:
    free(path);
    free(epath);
    free(qs);
    free(h);
    return rc;
}

int s3_sign_for_test(lode_s3 *c, const char *bucket, const char *key, int64_t now, char **url, char **authorization)
{
    s3_req r = {.c = c, .bucket = (char *)bucket, .key = (char *)key};
    r.o.method = "GET";
    r.o.body_len = -1;
    *url = *authorization = NULL;
    r.keys = c->creds ? lode_aws_creds_current(c->creds) : NULL;
    if (!r.keys) return -1;
    int rc = sign_request(&r, now);
    lode_aws_creds_unref(r.keys);
    if (rc == 0) {
        *url = r.url;
        r.url = NULL;
        for (size_t i = 0; i < r.nhdr_lines; i++)
            if (r.hdr_lines[i] && strncmp(r.hdr_lines[i], "Authorization: ", 15) == 0)
                *authorization = strdup(r.hdr_lines[i] + 15);
    }
    free_lines(&r);
    return rc;
}

/* The bytes the request moves, as far as known before the answer. */
static int64_t expected_bytes(const s3_req *r)
{
    if (r->o.ranged && r->o.range_last != UINT64_MAX) return (int64_t)(r->o.range_last - r->o.range_first + 1);
    if (r->o.ranged && r->o.object_size > r->o.range_first) return (int64_t)(r->o.object_size - r->o.range_first);
    return (r->o.body_len > 0 ? r->o.body_len : 0) + (int64_t)r->o.server_work_bytes;
}

static int attempt_send(s3_req *r);
static void finish_req(s3_req *r);

static void on_keys(void *ud, lode_aws_creds *keys, const lode_aws_creds_error *e)
{
    s3_req *r = ud;
    r->keys_wait = NULL;
    if (!keys) {
        s3_error_set(&r->err, 0, e->code, e->message, r->bucket, r->key, e->retryable);
        r->failed = 1;
        finish_req(r);
        return;
    }
    r->keys = keys;
    if (attempt_send(r) != 0) {
        r->failed = 1;
        finish_req(r);
    }
}

/* Sign and send one attempt, first waiting for credentials unless the
 * cached ones are fresh (every attempt asks: a retry may need a refresh). */
static int attempt_start(s3_req *r)
{
    lode_aws_creds_unref(r->keys);
    r->keys = r->c->creds ? lode_aws_creds_current(r->c->creds) : NULL;
    if (r->keys || !r->c->creds) return attempt_send(r);
    lode_aws_creds_error e;
    r->keys_wait = lode_aws_creds_get(r->c->creds, on_keys, r, &e);
    if (r->keys_wait) return 0;
    s3_error_set(&r->err, 0, e.code, e.message, r->bucket, r->key, 0);
    return -1;
}

static int attempt_send(s3_req *r)
{
    lode_s3 *c = r->c;
    r->live_status = 0;
    free(r->errbody);
    r->errbody = NULL;
    r->errlen = r->errcap = 0;
    r->head_checked = r->bad = r->no_retry = r->whole = r->range_done = 0;
    r->body_pos = r->delivered = 0;
    r->expect_body = r->whole_total = UINT64_MAX;
    r->want_lo = 0;
    r->want_hi = UINT64_MAX;
    int rc = -1;
    if (sign_request(r, (int64_t)time(NULL)) != 0) goto done;
    char msg[256];
    lode_http_opts ho = {
        .method = r->o.method, .url = r->url, .headers = (const char *const *)r->hdr_lines,
        .body = r->o.body, .body_len = r->o.body_len,
        .read_body = r->o.read_body ? req_read : NULL,
        .on_data = req_on_data, .max_body = 0,
        .connect_timeout_ms = c->connect_timeout_ms, .low_speed_time_s = c->low_speed_time_s + (long)(r->o.server_work_bytes >> 24),
        .deadline_ms = c->deadline_ms, .min_rate = c->min_rate, .expect_bytes = expected_bytes(r),
        .deadline_from_ms = r->first_start_ms,
        .on_done = req_on_done, .ud = r,
    };
    if (r->o.body_len >= 0 && !r->o.body && !r->o.read_body) ho.body = "";
    r->h = lode_http_start(&ho, msg, sizeof msg);
    if (!r->h) {
        s3_error_set(&r->err, 0, "transport", msg, r->bucket, r->key, 0);
        goto done;
    }
    r->attempts++;
    rc = 0;
done:
    if (rc != 0 && !r->err.code[0]) s3_error_set(&r->err, 0, "internal", "out of memory", r->bucket, r->key, 0);
    return rc;
}

/* Turn a finished attempt into success or r->err. */
static void classify(s3_req *r)
{
    const char *why = lode_http_error(r->h);
    long status = lode_http_status(r->h);
    const char *rid = lode_http_header(r->h, "x-amz-request-id");
    r->failed = 0;
    if (r->bad) {                        /* a check refused the answer and cut the transfer */
        r->failed = 1;
        return;
    }
    if (why && lode_http_cancelled(r->h)) r->cancelled = 1;
    if (r->range_done) {                 /* cut on purpose: the range had arrived */
        why = NULL;
        status = lode_http_status_live(r->h);
    }
    if (why) {
        int timeout = lode_http_timed_out(r->h);
        s3_error_set(&r->err, 0, timeout ? "timeout" : "transport", why, r->bucket, r->key, !r->cancelled);
        if (r->cancelled) snprintf(r->err.code, sizeof r->err.code, "cancelled");
        r->failed = 1;
        return;
    }
    if (status >= 200 && status < 300) {
        if (!r->head_checked && check_head(r, status) != 0) {    /* an empty body */
            r->failed = 1;
            return;
        }
        uint64_t want = r->whole ? (r->want_hi == UINT64_MAX ? r->body_pos : r->want_hi + 1) : 0;
        if (r->whole && want <= r->want_lo) {
            check_failed(r, 416, "InvalidRange", 0, 1, "bytes from %llu were asked for; the object has %llu",
                         (unsigned long long)r->want_lo, (unsigned long long)r->body_pos);
            r->failed = 1;
            return;
        }
        if ((r->expect_body != UINT64_MAX && r->body_pos != r->expect_body) ||
            (r->whole && r->delivered != want - r->want_lo)) {
            char m[200];
            snprintf(m, sizeof m, "short body: %llu of the %llu bytes asked for", (unsigned long long)
                     (r->whole ? r->delivered : r->body_pos), (unsigned long long)(r->whole ? want - r->want_lo
                     : r->expect_body));
            s3_error_set(&r->err, status, "transport", m, r->bucket, r->key, 1);
            r->failed = 1;
            return;
        }
        /* CompleteMultipartUpload and CopyObject can fail with 200 and an <Error> body */
        if (r->errbody && r->errlen < 65536 && strstr(r->errbody, "<Error>") && !r->o.on_data) {
            const char *b = r->errbody, *e = b + r->errlen;
            char *code = s3_xml_get(b, e, "Code"), *msg = s3_xml_get(b, e, "Message");
            s3_error_set(&r->err, status, code ? code : "InternalError", msg, r->bucket, r->key,
                         s3_code_retryable(500, code));
            free(code);
            free(msg);
            r->failed = 1;
        }
        return;
    }
    char *code = NULL, *msg = NULL, *xrid = NULL;
    if (r->errbody) {
        const char *b = r->errbody, *e = b + r->errlen;
        code = s3_xml_get(b, e, "Code");
        msg = s3_xml_get(b, e, "Message");
        xrid = s3_xml_get(b, e, "RequestId");
    }
    const char *fallback = status == 404 ? (r->key && *r->key ? "NoSuchKey" : "NoSuchBucket")
                         : status == 403 ? "AccessDenied" : status == 412 ? "PreconditionFailed"
                         : status == 416 ? "InvalidRange" : status == 503 ? "SlowDown" : "HTTPError";
    char m[160];
    snprintf(m, sizeof m, "HTTP %ld from S3 for %s", status, r->o.method);
    if (status == 412 && r->o.if_match && *r->o.if_match) {
        char why412[300];
        snprintf(why412, sizeof why412, "s3://%s/%s changed during the load: it no longer has ETag %s (HTTP 412 "
                 "to If-Match)", r->bucket, r->key, r->o.if_match);
        s3_error_set(&r->err, status, "ObjectChanged", why412, r->bucket, r->key, 1);
        r->no_retry = 1;
    } else {
        s3_error_set(&r->err, status, code ? code : fallback, msg ? msg : m, r->bucket, r->key,
                     s3_code_retryable(status, code));
    }
    const char *id = xrid ? xrid : rid;
    if (id) snprintf(r->err.request_id, sizeof r->err.request_id, "%s", id);
    free(code);
    free(msg);
    free(xrid);
    r->failed = 1;
}

static void finish_req(s3_req *r)
{
    r->finished = 1;
    if (r->o.on_done) r->o.on_done(r, r->o.ud);
}

static void on_backoff(uv_timer_t *t)
{
    s3_req *r = t->data;
    if (r->o.on_retry) r->o.on_retry(r->o.ud);
    if (attempt_start(r) != 0) {
        r->failed = 1;
        finish_req(r);
    }
}

/* Whether another attempt, `delay` ms from now, would start past the
 * request's deadline (deadline_ms + its bytes / min_rate from the first
 * attempt's start); if so, say so in the error. */
static int past_deadline(s3_req *r, uint64_t delay)
{
    const lode_s3 *c = r->c;
    if (c->deadline_ms <= 0) return 0;
    uint64_t bytes = (uint64_t)expected_bytes(r);
    const char *cl = r->h ? lode_http_header(r->h, "content-length") : NULL;
    if (cl && r->live_status < 300 && strtoull(cl, NULL, 10) > bytes) bytes = strtoull(cl, NULL, 10);
    uint64_t limit = (uint64_t)c->deadline_ms + (c->min_rate > 0 ? bytes * 1000u / (uint64_t)c->min_rate : 0);
    uint64_t at = lode_http_now_ms() + delay;
    if (at - r->first_start_ms < limit) return 0;
    char tail[120];
    snprintf(tail, sizeof tail, " (after %d attempt%s: no time left within the request's deadline of %llu ms)",
             r->attempts, r->attempts == 1 ? "" : "s", (unsigned long long)limit);
    size_t n = strlen(r->err.message), room = sizeof r->err.message - 1;
    size_t at_ = n + strlen(tail) > room ? room - strlen(tail) : n;   /* the reason survives a long message */
    memcpy(r->err.message + at_, tail, strlen(tail) + 1);
    return 1;
}

static void req_on_done(lode_http *h, void *ud)
{
    s3_req *r = ud;
    (void)h;
    classify(r);
    if (!r->first_start_ms) {
        uint64_t started = lode_http_started_ms(r->h);
        r->first_start_ms = started ? started : lode_http_now_ms();
    }
    if (r->failed && r->err.retryable && !r->no_retry && !r->cancelled && r->attempts < r->c->max_attempts) {
        /* full jitter: uniform in [0, min(cap, base * 2^attempt)] */
        long ceiling = (long)r->c->backoff_base_ms << (r->attempts < 16 ? r->attempts : 16);
        if (ceiling > r->c->backoff_cap_ms) ceiling = r->c->backoff_cap_ms;
        long delay = (long)(((double)rand() / RAND_MAX) * (double)ceiling);
        if (past_deadline(r, (uint64_t)delay)) {
            finish_req(r);
            return;
        }
        lode_logf(LODE_LOG_DEBUG, "s3: %s %s: %s (%s), retry %d in %ld ms", r->o.method, r->err.key,
                  r->err.code, r->err.message, r->attempts, delay);
        lode_http_free(r->h);
        r->h = NULL;
        if (!r->timer_init) {
            uv_timer_init(lode_loop(), &r->timer);
            r->timer.data = r;
            r->timer_init = 1;
        }
        uv_timer_start(&r->timer, on_backoff, (uint64_t)delay, 0);
        return;
    }
    finish_req(r);
}

s3_req *s3_request(lode_s3 *c, const s3_req_opts *o, lode_s3_error *err)
{
    s3_req *r = calloc(1, sizeof *r);
    if (!r) goto oom;
    r->c = c;
    r->o = *o;
    if (!r->o.max_body) r->o.max_body = 16u << 20;
    r->bucket = strdup(o->bucket);
    r->key = o->key ? strdup(o->key) : NULL;
    r->query = calloc(o->nquery + 1, sizeof *r->query);
    r->headers = calloc(o->nheaders + 3, sizeof *r->headers);
    if (!r->bucket || (o->key && !r->key) || !r->query || !r->headers) goto oom;
    for (size_t i = 0; i < o->nquery; i++) {
        r->query[i].name = strdup(o->query[i].name);
        r->query[i].value = o->query[i].value ? strdup(o->query[i].value) : NULL;
    }
    for (size_t i = 0; i < o->nheaders; i++) {
        r->headers[i].name = strdup(o->headers[i].name);
        r->headers[i].value = strdup(o->headers[i].value);
    }
    if (o->ranged) {
        char range[64];
        if (o->range_last == UINT64_MAX) snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)o->range_first);
        else snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)o->range_first,
                      (unsigned long long)o->range_last);
        r->headers[r->o.nheaders].name = strdup("range");
        r->headers[r->o.nheaders++].value = strdup(range);
    }
    if (o->if_match && *o->if_match) {
        /* an entity-tag is quoted; a listing may have dropped the quotes */
        char *v = NULL;
        if (o->if_match[0] == '"' || strncmp(o->if_match, "W/", 2) == 0) v = strdup(o->if_match);
        else if (asprintf(&v, "\"%s\"", o->if_match) < 0) v = NULL;
        r->headers[r->o.nheaders].name = strdup("if-match");
        r->headers[r->o.nheaders++].value = v;
        r->o.if_match = v;      /* the copy outlives the caller's string */
    }
    for (size_t i = 0; i < r->o.nheaders; i++)
        if (!r->headers[i].name || !r->headers[i].value) goto oom;
    if (attempt_start(r) != 0) {
        *err = r->err;
        s3_req_free(r);
        return NULL;
    }
    return r;
oom:
    s3_error_set(err, 0, "internal", "out of memory", o->bucket, o->key, 0);
    s3_req_free(r);
    return NULL;
}

void s3_req_cancel(s3_req *r)
{
    if (!r || r->finished) return;
    r->cancelled = 1;
    if (r->keys_wait) {
        lode_aws_creds_cancel(r->keys_wait);
        r->keys_wait = NULL;
    }
    if (r->h && !lode_http_error(r->h) && lode_http_status(r->h) == 0) {
        lode_http_cancel(r->h);          /* req_on_done → finish_req */
        return;
    }
    if (r->timer_init) uv_timer_stop(&r->timer);
    s3_error_set(&r->err, 0, "cancelled", "cancelled", r->bucket, r->key, 0);
    r->failed = 1;
    finish_req(r);
}

static void timer_closed(uv_handle_t *h) { free(h->data); }

void s3_req_free(s3_req *r)
{
    if (!r) return;
    lode_aws_creds_cancel(r->keys_wait);
    lode_aws_creds_unref(r->keys);
    lode_http_free(r->h);
    free_lines(r);
    free(r->errbody);
    free(r->bucket);
    free(r->key);
    if (r->query)
        for (size_t i = 0; i < r->o.nquery; i++) {
            free((char *)r->query[i].name);
            free((char *)r->query[i].value);
        }
    if (r->headers)
        for (size_t i = 0; i < r->o.nheaders; i++) {
            free((char *)r->headers[i].name);
            free((char *)r->headers[i].value);
        }
    free(r->query);
    free(r->headers);
    if (r->timer_init) uv_close((uv_handle_t *)&r->timer, timer_closed);
    else free(r);
}

const lode_s3_error *s3_req_error(const s3_req *r) { return r->failed ? &r->err : NULL; }
const lode_http *s3_req_http(const s3_req *r) { return r->h; }
int s3_req_attempts(const s3_req *r) { return r->attempts; }

/* Collected body: the error document or, without on_data, the response. */
const char *s3_req_body(const s3_req *r, size_t *len)
{
    if (len) *len = r->errlen;
    return r->errbody ? r->errbody : "";
}

char *s3_req_take_body(s3_req *r, size_t *len)
{
    char *b = r->errbody ? r->errbody : calloc(1, 1);
    *len = b ? r->errlen : 0;
    r->errbody = NULL;
    r->errlen = r->errcap = 0;
    return b;
}

char *s3_presign(lode_s3 *c, const char *method, const char *bucket, const char *key,
                 int64_t now, int64_t expires, lode_s3_error *err)
{
    lode_aws_creds *k = c->creds ? lode_aws_creds_current(c->creds) : NULL;
    if (!k && !c->file_root) {
        s3_error_set(err, 0, "NoCredentials", "AWS credentials are not resolved yet", bucket, key, 0);
        return NULL;
    }
    char *url = s3_presign_with(c, k ? &k->keys : NULL, method, bucket, key, now, expires, err);
    lode_aws_creds_unref(k);
    return url;
}

char *s3_presign_with(lode_s3 *c, const lode_aws_credentials *keys, const char *method, const char *bucket,
                      const char *key, int64_t now, int64_t expires, lode_s3_error *err)
{
    if (c->file_root) {
        char *p = s3_file_path(c, bucket, key), *u = NULL;
        if (p && asprintf(&u, "file://%s", p) < 0) u = NULL;
        free(p);
        return u;
    }
    s3_req tmp = {.c = c, .bucket = (char *)bucket, .key = (char *)key};
    char *path = path_of(&tmp), *host = NULL, *url = NULL, *epath = NULL;
    if (c->path_style) host = strdup(c->host);
    else if (asprintf(&host, "%s.%s", bucket, c->host) < 0) host = NULL;
    if (!path || !host) goto done;
    lode_kv h[] = {{"host", host}};
    lode_sigv4_request sr = {
        .method = method, .path = path, .headers = h, .nheaders = 1,
        .region = c->cfg.region, .service = "s3", .now = now,
    };
    lode_sigv4_result out;
    if (lode_sigv4_presign(&sr, keys, expires, &out) != 0) goto done;
    epath = lode_uri_encode(path, strlen(path), 1);
    if (epath && asprintf(&url, "%s://%s%s?%s", c->scheme, host, epath, out.query) < 0) url = NULL;
    lode_sigv4_result_free(&out);
done:
    if (!url) s3_error_set(err, 0, "internal", "out of memory", bucket, key, 0);
    free(path);
    free(host);
    free(epath);
    return url;
}

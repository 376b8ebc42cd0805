/* credentials_container.c — botocore's ContainerProvider ("container-role"),
 * ECS/Fargate and EKS Pod Identity: configured by
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (http://169.254.170.2 + path) or
 * else AWS_CONTAINER_CREDENTIALS_FULL_URI, whose host must be 169.254.170.2,
 * 169.254.170.23, fd00:ec2::23, localhost or a loopback address; the
 * Authorization header is read from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
 * (each fetch: the file rotates) or else AWS_CONTAINER_AUTHORIZATION_TOKEN.
 * GET returns {AccessKeyId, SecretAccessKey, Token, Expiration}. Once
 * configured, failure stops the chain (after botocore's 3 attempts, 1 s
 * apart, 2 s timeout each).
 * Owns: each fetch, its lode_http and its retry timer (freed on close). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "credentials_internal.h"
#include "lode/http/http.h"
#include "lode/core/task.h"

#define ATTEMPTS 3

typedef struct {
    lode_http *h;
    uv_timer_t timer;
    char *url;
    char *auth;                    /* "Authorization: ..." (a secret) or NULL */
    int attempts;
    char last[512];
    creds_source_done done;
    void *ud;
    const char *provider;
} ecs_fetch;

static void fetch_closed(uv_handle_t *t)
{
    ecs_fetch *f = t->data;
    if (f->auth) {
        memset(f->auth, 0, strlen(f->auth));
        free(f->auth);
    }
    free(f->url);
    free(f);
}

static void fetch_free(ecs_fetch *f) { uv_close((uv_handle_t *)&f->timer, fetch_closed); }

static int host_allowed(const char *host)
{
    static const char *const hosts[] = {"169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost", NULL};
    for (int i = 0; hosts[i]; i++)
        if (strcasecmp(host, hosts[i]) == 0) return 1;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

/* The host of an http(s) URL into buf (brackets of IPv6 removed); -1 if not http(s). */
static int url_host(const char *url, char *buf, size_t len)
{
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0) p = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0) p = url + 8;
    else return -1;
    const char *at = NULL;
    for (const char *q = p; *q && *q != '/' && *q != '?' && *q != '#'; q++)
        if (*q == '@') at = q;
    if (at) p = at + 1;
    size_t n;
    if (*p == '[') {
        const char *e = strchr(p, ']');
        if (!e) return -1;
        p++;
        n = (size_t)(e - p);
    } else {
        n = strcspn(p, ":/?#");
    }
    if (n == 0 || n >= len) return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 0;
}

static void on_http_done(lode_http *h, void *ud);

/* Start one GET; -1 with res filled when it cannot start. */
static int attempt(ecs_fetch *f, creds_result *res)
{
    const char *headers[] = {"Accept: application/json", f->auth, NULL};
    lode_http_opts o = {
        .method = "GET", .url = f->url, .headers = headers, .body_len = -1, .max_body = 64 << 10,
        .connect_timeout_ms = 2000, .timeout_ms = 2000, .on_done = on_http_done, .ud = f,
    };
    char err[256];
    f->attempts++;
    f->h = lode_http_start(&o, err, sizeof err);
    if (f->h) return 0;
    creds_fail(res, "CredentialRetrievalError", 0, "container credentials from %s: %s", f->url, err);
    return -1;
}

static void on_retry(uv_timer_t *t)
{
    ecs_fetch *f = t->data;
    creds_result res;
    if (attempt(f, &res) == 0) return;
    f->done(f->ud, &res);
    fetch_free(f);
}

static void on_http_done(lode_http *h, void *ud)
{
    ecs_fetch *f = ud;
    f->h = NULL;
    creds_http_answer a;
    if (creds_http_take(h, !f->done, 1, &a)) {     /* cancelled */
        fetch_free(f);
        return;
    }
    const char *why = a.why;
    long status = a.status;
    creds_result res;
    cJSON *doc = a.json;
    if (why) snprintf(f->last, sizeof f->last, "%s", why);
    else if (status != 200) snprintf(f->last, sizeof f->last, "HTTP %ld", status);
    else if (!cJSON_IsObject(doc)) snprintf(f->last, sizeof f->last, "the answer is not a JSON object");
    lode_http_free(h);
    if (!doc || !cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        if (f->attempts < ATTEMPTS) {
            uv_timer_start(&f->timer, on_retry, 1000, 0);
            return;
        }
        creds_fail(&res, "CredentialRetrievalError", 1, "container credentials from %s: %s (%d attempts)", f->url,
                   f->last, f->attempts);
    } else {
        const char *akid = creds_json_str(doc, "AccessKeyId"), *secret = creds_json_str(doc, "SecretAccessKey");
        const char *token = creds_json_str(doc, "Token"), *exp = creds_json_str(doc, "Expiration");
        int64_t expiration = exp ? creds_parse_time(exp) : -1;
        if (!akid || !secret || !token || !exp)
            creds_fail(&res, "CredentialRetrievalError", 0, "container credentials from %s lack %s", f->url,
                       !akid ? "AccessKeyId" : !secret ? "SecretAccessKey" : !token ? "Token" : "Expiration");
        else if (expiration < 0)
            creds_fail(&res, "CredentialRetrievalError", 0, "container credentials from %s: bad Expiration", f->url);
        else creds_found(&res, f->provider, akid, secret, token, expiration);
        cJSON_Delete(doc);
    }
    f->done(f->ud, &res);
    lode_aws_creds_unref(res.creds);
    fetch_free(f);
}

static char *read_token_file(const char *path, char *why, size_t whylen)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(why, whylen, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s", path);
        return NULL;
    }
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    while (n && isspace((unsigned char)buf[n - 1])) buf[--n] = '\0';
    char *out = strdup(buf);
    memset(buf, 0, sizeof buf);
    return out;
}

static void *ecs_start(creds_source *s, creds_source_done done, void *ud, creds_result *res)
{
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!rel && !full) {
        creds_skip(res, "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set");
        return NULL;
    }
    char *url = NULL, host[256], why[512];
    if (rel) {
        if (asprintf(&url, "http://169.254.170.2%s", rel) < 0) url = NULL;
    } else {
        if (url_host(full, host, sizeof host) != 0 || !host_allowed(host)) {
            creds_fail(res, "InvalidConfig", 0,
                       "AWS_CONTAINER_CREDENTIALS_FULL_URI: unsupported host; only 169.254.170.2, 169.254.170.23, "
                       "fd00:ec2::23, localhost and loopback addresses are allowed");
            return NULL;
        }
        url = strdup(full);
    }
    char *auth = NULL, *tok = NULL;
    const char *tfile = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tenv = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (tfile && *tfile) {
        tok = read_token_file(tfile, why, sizeof why);
        if (!tok) {
            free(url);
            creds_fail(res, "InvalidConfig", 0, "%s", why);
            return NULL;
        }
    } else if (tenv) {
        tok = strdup(tenv);
    }
    if (tok) {
        if (strpbrk(tok, "\r\n")) {
            memset(tok, 0, strlen(tok));
            free(tok);
            free(url);
            creds_fail(res, "InvalidConfig", 0, "the container authorization token contains a line break");
            return NULL;
        }
        if (asprintf(&auth, "Authorization: %s", tok) < 0) auth = NULL;
        memset(tok, 0, strlen(tok));
        free(tok);
    }
    ecs_fetch *f = calloc(1, sizeof *f);
    if (!f || !url || ((tfile || tenv) && !auth)) {
        free(f);
        free(url);
        free(auth);
        creds_fail(res, "OutOfMemory", 0, "out of memory");
        return NULL;
    }
    f->url = url;
    f->auth = auth;
    f->done = done;
    f->ud = ud;
    f->provider = s->name;
    uv_timer_init(lode_loop(), &f->timer);
    f->timer.data = f;
    if (attempt(f, res) != 0) {
        fetch_free(f);
        return NULL;
    }
    return f;
}

static void ecs_cancel(void *fetch)
{
    ecs_fetch *f = fetch;
    f->done = NULL;
    if (f->h) lode_http_cancel(f->h);       /* on_http_done frees f */
    else {
        uv_timer_stop(&f->timer);
        fetch_free(f);
    }
}

static void source_free(creds_source *s) { free(s); }

creds_source *creds_source_container(void)
{
    creds_source *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = "container-role";
    s->start = ecs_start;
    s->cancel = ecs_cancel;
    s->free = source_free;
    return s;
}

/* credentials_imds.c — botocore's InstanceMetadataProvider ("iam-role"):
 * EC2 IMDSv2. PUT /latest/api/token with a TTL header (a 403/404/405 or a
 * timeout falls back to IMDSv1, no token), GET
 * /latest/meta-data/iam/security-credentials/ for the role name, then GET
 * .../<role> for {AccessKeyId, SecretAccessKey, Token, Expiration}. Every
 * failure (nothing answers, non-200, missing fields) means "not on EC2":
 * the chain goes on, as botocore's fetcher returns {} — fast: one attempt,
 * a 1 s timeout by default. AWS_EC2_METADATA_DISABLED=true skips it;
 * AWS_EC2_METADATA_SERVICE_ENDPOINT or the profile's
 * ec2_metadata_service_endpoint replaces http://169.254.169.254/;
 * AWS_METADATA_SERVICE_TIMEOUT or metadata_service_timeout (seconds) the 1 s.
 * Owns: each fetch and its current lode_http (freed in the http callback). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "credentials_internal.h"
#include "lode/http/http.h"

#define IMDS_DEFAULT "http://169.254.169.254/"
#define IMDS_ROLE_PATH "latest/meta-data/iam/security-credentials/"

enum { STEP_TOKEN, STEP_ROLE, STEP_CREDS };

typedef struct {
    lode_http *h;
    int step;
    char *base;                    /* ends with '/' */
    char *token;                   /* IMDSv2 session token (a secret) */
    char *role;
    long timeout_ms;
    creds_source_done done;
    void *ud;
    const char *provider;
} imds_fetch;

static void fetch_free(imds_fetch *f)
{
    if (f->token) {
        memset(f->token, 0, strlen(f->token));
        free(f->token);
    }
    free(f->base);
    free(f->role);
    free(f);
}

static void finish(imds_fetch *f, creds_result *res)
{
    f->done(f->ud, res);
    lode_aws_creds_unref(res->creds);
    fetch_free(f);
}

static void on_http_done(lode_http *h, void *ud);

static int request(imds_fetch *f, const char *method, const char *path, char *err, size_t errlen)
{
    char *url = NULL, *hdr = NULL;
    if (asprintf(&url, "%s%s%s", f->base, path, f->step == STEP_CREDS ? f->role : "") < 0) url = NULL;
    if (f->step == STEP_TOKEN) {
        if (asprintf(&hdr, "x-aws-ec2-metadata-token-ttl-seconds: 21600") < 0) hdr = NULL;
    } else if (f->token) {
        if (asprintf(&hdr, "x-aws-ec2-metadata-token: %s", f->token) < 0) hdr = NULL;
    }
    int rc = -1;
    if (!url || ((f->step == STEP_TOKEN || f->token) && !hdr)) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    const char *headers[] = {hdr, NULL};
    lode_http_opts o = {
        .method = method, .url = url, .headers = hdr ? headers : NULL, .body = "", .body_len = -1,
        .max_body = 64 << 10, .connect_timeout_ms = f->timeout_ms, .timeout_ms = f->timeout_ms,
        .on_done = on_http_done, .ud = f,
    };
    if (f->step == STEP_TOKEN) o.body_len = 0;
    f->h = lode_http_start(&o, err, errlen);
    rc = f->h ? 0 : -1;
done:
    if (hdr) {
        memset(hdr, 0, strlen(hdr));
        free(hdr);
    }
    free(url);
    return rc;
}

static void on_http_done(lode_http *h, void *ud)
{
    imds_fetch *f = ud;
    long status = lode_http_status(h);
    const char *why = lode_http_error(h);
    size_t len = 0;
    const char *body = lode_http_body(h, &len);
    creds_result res;
    char err[256];
    f->h = NULL;
    if (!f->done) {                /* cancelled */
        lode_http_free(h);
        fetch_free(f);
        return;
    }
    if (f->step == STEP_TOKEN) {
        if (status == 200 && len > 0) f->token = strndup(body, len);
        else if (status == 400) {
            creds_skip(&res, "IMDS refused the token request (HTTP 400)");
            goto skip;
        } else if (!(status == 403 || status == 404 || status == 405 || lode_http_timed_out(h))) {
            creds_skip(&res, "no IMDS at %s: %s", f->base, why ? why : "unexpected answer to the token request");
            goto skip;
        }
        lode_http_free(h);
        f->step = STEP_ROLE;
        if (request(f, "GET", IMDS_ROLE_PATH, err, sizeof err) != 0) {
            creds_skip(&res, "IMDS: %s", err);
            goto skip_nofree;
        }
        return;
    }
    if (why || status != 200 || len == 0) {
        if (why) creds_skip(&res, "no IMDS at %s: %s", f->base, why);
        else creds_skip(&res, "IMDS answered HTTP %ld for the %s", status, f->step == STEP_ROLE ? "role name" : "role's credentials");
        goto skip;
    }
    if (f->step == STEP_ROLE) {
        f->role = strndup(body, len);
        lode_http_free(h);
        char *nl = f->role ? strchr(f->role, '\n') : NULL;
        if (nl) *nl = '\0';
        f->step = STEP_CREDS;
        if (!f->role || request(f, "GET", IMDS_ROLE_PATH, err, sizeof err) != 0) {
            creds_skip(&res, "IMDS: %s", f->role ? err : "out of memory");
            goto skip_nofree;
        }
        return;
    }
    cJSON *doc = cJSON_ParseWithLength(body, len);
    const char *akid = creds_json_str(doc, "AccessKeyId"), *secret = creds_json_str(doc, "SecretAccessKey");
    const char *token = creds_json_str(doc, "Token"), *exp = creds_json_str(doc, "Expiration");
    int64_t expiration = exp ? creds_parse_time(exp) : -1;
    if (!akid || !secret || !token || !exp) creds_skip(&res, "IMDS credentials of role '%s' lack a field", f->role);
    else if (expiration < 0) creds_skip(&res, "IMDS credentials of role '%s': bad Expiration", f->role);
    else creds_found(&res, f->provider, akid, secret, token, expiration);
    cJSON_Delete(doc);
    lode_http_free(h);
    finish(f, &res);
    return;
skip:
    lode_http_free(h);
skip_nofree:
    finish(f, &res);
}

static int disabled(void)
{
    const char *v = getenv("AWS_EC2_METADATA_DISABLED");
    return v && strcasecmp(v, "true") == 0;
}

static void *imds_start(creds_source *s, creds_source_done done, void *ud, creds_result *res)
{
    if (disabled()) {
        creds_skip(res, "AWS_EC2_METADATA_DISABLED is true");
        return NULL;
    }
    const char *base = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    creds_profiles pr = {0};
    char why[512];
    int have_pr = creds_profiles_load(&pr, why, sizeof why) == 0;
    const creds_section *prof = have_pr ? creds_ini_section(&pr.profiles, s->profile) : NULL;
    if (!base || !*base) base = creds_section_get(prof, "ec2_metadata_service_endpoint");
    /* botocore's metadata_service_timeout: seconds, from the environment or the profile */
    long timeout_ms = s->opts->imds_timeout_ms;
    const char *tv = getenv("AWS_METADATA_SERVICE_TIMEOUT");
    if (!tv || !*tv) tv = creds_section_get(prof, "metadata_service_timeout");
    if (timeout_ms <= 0 && tv) timeout_ms = (long)(strtod(tv, NULL) * 1000);
    if (timeout_ms <= 0) timeout_ms = 1000;
    if (!base || !*base) base = IMDS_DEFAULT;
    if (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0) {
        creds_fail(res, "InvalidConfig", 0, "the EC2 metadata endpoint '%.200s' is not an http(s) URL", base);
        if (have_pr) creds_profiles_free(&pr);
        return NULL;
    }
    imds_fetch *f = calloc(1, sizeof *f);
    if (f) {
        size_t bl = strlen(base);
        if (asprintf(&f->base, "%s%s", base, bl && base[bl - 1] == '/' ? "" : "/") < 0) f->base = NULL;
    }
    if (have_pr) creds_profiles_free(&pr);
    if (!f || !f->base) {
        if (f) fetch_free(f);
        creds_skip(res, "IMDS: out of memory");
        return NULL;
    }
    f->done = done;
    f->ud = ud;
    f->provider = s->name;
    f->timeout_ms = timeout_ms;
    f->step = STEP_TOKEN;
    if (request(f, "PUT", "latest/api/token", why, sizeof why) != 0) {
        creds_skip(res, "IMDS: %s", why);
        fetch_free(f);
        return NULL;
    }
    return f;
}

static void imds_cancel(void *fetch)
{
    imds_fetch *f = fetch;
    f->done = NULL;                /* on_http_done, run by the cancel, frees f */
    lode_http_cancel(f->h);
}

static void source_free(creds_source *s) { free(s); }

creds_source *creds_source_imds(void)
{
    creds_source *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = "iam-role";
    s->start = imds_start;
    s->cancel = imds_cancel;
    s->free = source_free;
    return s;
}

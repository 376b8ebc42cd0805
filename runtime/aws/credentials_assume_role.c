/* credentials_assume_role.c — botocore's AssumeRoleProvider ("assume-role"):
 * a profile with role_arn (and no web_identity_token_file) assumes the role
 * with STS AssumeRole, signed with its source credentials: source_profile
 * (that profile's own providers, environment disabled — or, when it has a
 * role_arn and no static keys, its own role, chained) or credential_source
 * (Environment, Ec2InstanceMetadata, EcsContainer). external_id,
 * role_session_name and duration_seconds are passed on; mfa_serial is
 * refused (lode runs unattended: nothing can type the code). The profile
 * graph is validated as botocore does before anything is fetched: both or
 * neither of source_profile / credential_source, an unknown source profile
 * or credential_source, a source_profile loop.
 * Owns: the source provider (kept across refreshes: it caches and refreshes
 * the source credentials itself) and each fetch (its query or lode_http). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "credentials_internal.h"
#include "lode/http/http.h"
#include "lode/aws/sigv4.h"

typedef struct {
    creds_source base;
    lode_aws_creds_provider *src;  /* source credentials */
    char *src_key;                 /* what src was built for ("profile:x", "source:Environment") */
} role_source;

typedef struct {
    role_source *rs;
    lode_aws_creds_query *q;
    lode_http *h;
    char *url, *body, *host, *region;
    char *hdrs[6];
    char role_arn[512], profile[256];
    int cancelled;
    creds_source_done done;
    void *ud;
} role_fetch;

static int has_static(const creds_section *s)
{
    return creds_section_get(s, "aws_access_key_id") || creds_section_get(s, "aws_secret_access_key");
}

static void fetch_free(role_fetch *f)
{
    if (f->body) {
        memset(f->body, 0, strlen(f->body));
        free(f->body);
    }
    for (size_t i = 0; i < sizeof f->hdrs / sizeof f->hdrs[0]; i++) {
        if (f->hdrs[i]) memset(f->hdrs[i], 0, strlen(f->hdrs[i]));
        free(f->hdrs[i]);
    }
    free(f->url);
    free(f->host);
    free(f->region);
    free(f);
}

static void finish(role_fetch *f, creds_result *res)
{
    f->done(f->ud, res);
    lode_aws_creds_unref(res->creds);
    fetch_free(f);
}

static void on_http_done(lode_http *h, void *ud)
{
    role_fetch *f = ud;
    f->h = NULL;
    creds_http_answer a;
    if (creds_http_take(h, f->cancelled, 0, &a)) {
        fetch_free(f);
        return;
    }
    creds_result res;
    char what[1200];
    snprintf(what, sizeof what, "STS AssumeRole %s (profile '%s')", f->role_arn, f->profile);
    creds_sts_answer(&res, &a, f->rs->base.name, what, f->url);
    lode_http_free(h);
    finish(f, &res);
}

/* Sign and send the AssumeRole POST with the source keys. */
static void send_assume_role(role_fetch *f, const lode_aws_credentials *k, creds_result *res)
{
    int64_t now = (int64_t)time(NULL);
    char date[17], hash[65], err[256];
    lode_sigv4_amz_date(now, date);
    lode_sha256_hex(f->body, strlen(f->body), hash);
    lode_kv h[5];
    size_t n = 0;
    h[n++] = (lode_kv){"host", f->host};
    h[n++] = (lode_kv){"x-amz-date", date};
    h[n++] = (lode_kv){"content-type", "application/x-www-form-urlencoded; charset=utf-8"};
    if (k->session_token) h[n++] = (lode_kv){"x-amz-security-token", k->session_token};
    lode_sigv4_request sr = {.method = "POST", .path = "/", .headers = h, .nheaders = n, .payload_hash = hash,
                             .region = f->region, .service = "sts", .now = now, .normalize_path = 1};
    lode_sigv4_result out;
    if (lode_sigv4_sign(&sr, k, &out) != 0) {
        creds_fail(res, "OutOfMemory", 0, "out of memory");
        return;
    }
    int ok = asprintf(&f->hdrs[0], "Content-Type: application/x-www-form-urlencoded; charset=utf-8") >= 0 &&
             asprintf(&f->hdrs[1], "X-Amz-Date: %s", date) >= 0 &&
             asprintf(&f->hdrs[2], "Authorization: %s", out.authorization) >= 0 &&
             (!k->session_token || asprintf(&f->hdrs[3], "X-Amz-Security-Token: %s", k->session_token) >= 0);
    lode_sigv4_result_free(&out);
    if (!ok) {
        creds_fail(res, "OutOfMemory", 0, "out of memory");
        return;
    }
    lode_http_opts o = {
        .method = "POST", .url = f->url, .headers = (const char *const *)f->hdrs, .body = f->body,
        .body_len = (int64_t)strlen(f->body), .max_body = 1 << 20, .connect_timeout_ms = 10000,
        .timeout_ms = 60000, .on_done = on_http_done, .ud = f,
    };
    f->h = lode_http_start(&o, err, sizeof err);
    if (!f->h) creds_fail(res, "CredentialRetrievalError", 1, "STS at %s: %s", f->url, err);
    else res->rc = -1;             /* pending */
}

static void on_source(void *ud, lode_aws_creds *c, const lode_aws_creds_error *e)
{
    role_fetch *f = ud;
    f->q = NULL;
    creds_result res;
    memset(&res, 0, sizeof res);
    if (!c) {
        creds_fail(&res, strcmp(e->code, "NoCredentials") == 0 ? "InvalidConfig" : e->code, e->retryable,
                   "the source credentials of profile '%s' (role %s): %s", f->profile, f->role_arn, e->message);
        finish(f, &res);
        return;
    }
    send_assume_role(f, &c->keys, &res);
    lode_aws_creds_unref(c);
    if (res.rc != -1) finish(f, &res);
}

/* botocore's _get_role_config validation for `name`; 0, or -1 with res. */
static int check_role(const creds_profiles *pr, const char *name, const creds_section *prof, creds_result *res)
{
    const char *sp = creds_section_get(prof, "source_profile"), *cs = creds_section_get(prof, "credential_source");
    if (sp && cs) {
        creds_fail(res, "InvalidConfig", 0, "profile '%s' has both source_profile and credential_source", name);
        return -1;
    }
    if (!sp && !cs) {
        creds_fail(res, "PartialCredentials", 0, "profile '%s' has role_arn but neither source_profile nor credential_source",
                   name);
        return -1;
    }
    if (cs && strcmp(cs, "Environment") != 0 && strcmp(cs, "Ec2InstanceMetadata") != 0 &&
        strcmp(cs, "EcsContainer") != 0) {
        creds_fail(res, "InvalidConfig", 0,
                   "credential_source '%.100s' of profile '%s' is not Environment, Ec2InstanceMetadata or EcsContainer",
                   cs, name);
        return -1;
    }
    if (sp && !creds_ini_section(&pr->profiles, sp)) {
        creds_fail(res, "InvalidConfig", 0, "source_profile '%.100s' of profile '%s' does not exist", sp, name);
        return -1;
    }
    return 0;
}

static void *role_start(creds_source *s, creds_source_done done, void *ud, creds_result *res)
{
    role_source *rs = (role_source *)s;
    creds_profiles pr;
    char why[512];
    if (creds_profiles_load(&pr, why, sizeof why) != 0) {
        creds_fail(res, "InvalidConfig", 0, "%s", why);
        return NULL;
    }
    role_fetch *f = NULL;
    char *key = NULL;
    const creds_section *prof = creds_ini_section(&pr.profiles, s->profile);
    const char *role_arn = creds_section_get(prof, "role_arn");
    if (!role_arn || creds_section_get(prof, "web_identity_token_file")) {
        creds_skip(res, "no role_arn in profile '%s'", s->profile);
        goto out;
    }
    if (check_role(&pr, s->profile, prof, res) != 0) goto out;
    /* walk the source_profile links as botocore's _validate_source_profile */
    const char *visited[16];
    size_t nv = 0;
    visited[nv++] = s->profile;
    const char *cur = s->profile;
    const creds_section *cp = prof;
    for (;;) {
        const char *sp = creds_section_get(cp, "source_profile");
        if (!sp) break;
        const creds_section *spp = creds_ini_section(&pr.profiles, sp);
        int seen = 0;
        for (size_t i = 0; i < nv; i++) seen |= strcmp(visited[i], sp) == 0;
        if (seen && (strcmp(sp, cur) != 0 || !has_static(spp))) {
            creds_fail(res, "InvalidConfig", 0, "the source_profile chain of profile '%s' loops at '%s'", s->profile, sp);
            goto out;
        }
        if (seen || has_static(spp) || !creds_section_get(spp, "role_arn")) break;
        if (nv == sizeof visited / sizeof visited[0]) {
            creds_fail(res, "InvalidConfig", 0, "the source_profile chain of profile '%s' is too long", s->profile);
            goto out;
        }
        if (check_role(&pr, sp, spp, res) != 0) goto out;
        visited[nv++] = sp;
        cur = sp;
        cp = spp;
    }
    if (creds_section_get(prof, "mfa_serial")) {
        creds_fail(res, "MfaRequired", 0,
                   "profile '%s' sets mfa_serial: lode runs unattended and cannot ask for an MFA code; use a role "
                   "without MFA, or export temporary credentials (aws sts get-session-token / aws configure "
                   "export-credentials) before the run", s->profile);
        goto out;
    }
    /* the source provider, rebuilt only when the configuration changed */
    const char *sp = creds_section_get(prof, "source_profile"), *cs = creds_section_get(prof, "credential_source");
    int kind;
    if (cs) {
        kind = strcmp(cs, "Environment") == 0 ? CREDS_SUB_ENV : strcmp(cs, "Ec2InstanceMetadata") == 0 ? CREDS_SUB_IMDS
                                                                                                       : CREDS_SUB_ECS;
        if (asprintf(&key, "source:%s", cs) < 0) key = NULL;
    } else {
        const creds_section *spp = creds_ini_section(&pr.profiles, sp);
        kind = (has_static(spp) || !creds_section_get(spp, "role_arn")) ? CREDS_SUB_PROFILE : CREDS_SUB_ROLE;
        if (asprintf(&key, "%s:%s", kind == CREDS_SUB_ROLE ? "role" : "profile", sp) < 0) key = NULL;
    }
    if (!key) goto oom;
    if (!rs->src || !rs->src_key || strcmp(rs->src_key, key) != 0) {
        lode_aws_creds_provider_free(rs->src);
        free(rs->src_key);
        rs->src = creds_sub_provider_new(cs ? NULL : sp, kind, s->opts);
        rs->src_key = key;
        key = NULL;
        if (!rs->src) goto oom;
    }
    /* the request: body and endpoint */
    f = calloc(1, sizeof *f);
    if (!f) goto oom;
    f->rs = rs;
    f->done = done;
    f->ud = ud;
    snprintf(f->role_arn, sizeof f->role_arn, "%s", role_arn);
    snprintf(f->profile, sizeof f->profile, "%s", s->profile);
    const char *session = creds_section_get(prof, "role_session_name");
    char default_session[64];
    if (!session) {
        snprintf(default_session, sizeof default_session, "botocore-session-%lld", (long long)time(NULL));
        session = default_session;
    }
    const char *ext = creds_section_get(prof, "external_id"), *dur = creds_section_get(prof, "duration_seconds");
    char durbuf[32] = "";
    if (dur) {
        char *e;
        long d = strtol(dur, &e, 10);
        if (*dur && !*e) snprintf(durbuf, sizeof durbuf, "%ld", d);   /* botocore ignores a non-integer */
    }
    char *e_arn = lode_uri_encode(role_arn, strlen(role_arn), 0), *e_sess = lode_uri_encode(session, strlen(session), 0);
    char *e_ext = ext ? lode_uri_encode(ext, strlen(ext), 0) : NULL;
    int rc = -1;
    if (e_arn && e_sess && (!ext || e_ext))
        rc = asprintf(&f->body, "Action=AssumeRole&Version=2011-06-15&RoleArn=%s&RoleSessionName=%s%s%s%s%s", e_arn,
                      e_sess, e_ext ? "&ExternalId=" : "", e_ext ? e_ext : "", durbuf[0] ? "&DurationSeconds=" : "",
                      durbuf);
    free(e_arn);
    free(e_sess);
    free(e_ext);
    if (rc < 0) {
        f->body = NULL;
        goto oom;
    }
    f->url = creds_sts_endpoint(prof);
    if (!f->url) goto oom;
    /* host[:port] and the signing region of the endpoint */
    const char *hs = strstr(f->url, "://");
    hs = hs ? hs + 3 : f->url;
    f->host = strndup(hs, strcspn(hs, "/?#"));
    const char *region = NULL;
    char rbuf[64] = "us-east-1";
    if (strncmp(f->host, "sts.", 4) == 0 && strstr(f->host, ".amazonaws.com") && strcmp(f->host, "sts.amazonaws.com") != 0) {
        size_t rl = strcspn(f->host + 4, ".");
        if (rl < sizeof rbuf) snprintf(rbuf, sizeof rbuf, "%.*s", (int)rl, f->host + 4);
    } else if (strcmp(f->host, "sts.amazonaws.com") != 0) {
        region = getenv("AWS_REGION");
        if (!region || !*region) region = getenv("AWS_DEFAULT_REGION");
        if (!region || !*region) region = creds_section_get(prof, "region");
        if (region && *region) snprintf(rbuf, sizeof rbuf, "%s", region);
    }
    f->region = strdup(rbuf);
    if (!f->host || !f->region) goto oom;
    lode_aws_creds_error qe;
    f->q = lode_aws_creds_get(rs->src, on_source, f, &qe);
    if (!f->q) {
        creds_fail(res, qe.code, 0, "%s", qe.message);
        fetch_free(f);
        f = NULL;
    }
    goto out;
oom:
    creds_fail(res, "OutOfMemory", 0, "out of memory");
    if (f) fetch_free(f);
    f = NULL;
out:
    free(key);
    creds_profiles_free(&pr);
    return f;
}

static void role_cancel(void *fetch)
{
    role_fetch *f = fetch;
    if (f->q) {
        lode_aws_creds_cancel(f->q);
        fetch_free(f);
        return;
    }
    f->cancelled = 1;              /* on_http_done, run by the cancel, frees f */
    lode_http_cancel(f->h);
}

static void role_free(creds_source *s)
{
    role_source *rs = (role_source *)s;
    lode_aws_creds_provider_free(rs->src);
    free(rs->src_key);
    free(rs);
}

creds_source *creds_source_assume_role(void)
{
    role_source *rs = calloc(1, sizeof *rs);
    if (!rs) return NULL;
    rs->base.name = "assume-role";
    rs->base.start = role_start;
    rs->base.cancel = role_cancel;
    rs->base.free = role_free;
    return &rs->base;
}

/* credentials_web_identity.c — botocore's AssumeRoleWithWebIdentityProvider
 * ("assume-role-with-web-identity"; EKS IRSA, GitHub Actions OIDC): the
 * token file, role ARN and session name come from AWS_WEB_IDENTITY_TOKEN_FILE
 * / AWS_ROLE_ARN / AWS_ROLE_SESSION_NAME, each one falling back to the
 * profile's web_identity_token_file / role_arn / role_session_name (the
 * environment is ignored for an explicit profile). The token file is re-read
 * on every fetch (it rotates). STS AssumeRoleWithWebIdentity is an unsigned
 * Query POST; the answer is XML.
 * STS endpoint: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's
 * endpoint_url, else https://sts.<region>.amazonaws.com (the global endpoint
 * for us-east-1 and when no region is set).
 * Owns: each fetch and its lode_http (freed in the http callback). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "credentials_internal.h"
#include "lode/http/http.h"
#include "lode/aws/sigv4.h"

typedef struct {
    lode_http *h;
    char *body;                    /* holds the token: wiped */
    char *url;
    char role_arn[512];
    creds_source_done done;
    void *ud;
    const char *provider;
} wi_fetch;

static void fetch_free(wi_fetch *f)
{
    if (f->body) {
        memset(f->body, 0, strlen(f->body));
        free(f->body);
    }
    free(f->url);
    free(f);
}

/* The text of the first <tag>...</tag> in [b, e), entities decoded; malloc'd or NULL. */
char *creds_xml_text(const char *b, size_t len, const char *tag)
{
    char open[80], close[80];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *e = b + len;
    const char *s = memmem(b, len, open, strlen(open));
    if (!s) return NULL;
    s += strlen(open);
    const char *t = memmem(s, (size_t)(e - s), close, strlen(close));
    if (!t) return NULL;
    char *out = malloc((size_t)(t - s) + 1), *o = out;
    if (!out) return NULL;
    static const struct { const char *ent; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    while (s < t) {
        int done = 0;
        if (*s == '&')
            for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
                size_t n = strlen(ents[i].ent);
                if ((size_t)(t - s) >= n && memcmp(s, ents[i].ent, n) == 0) {
                    *o++ = ents[i].c;
                    s += n;
                    done = 1;
                    break;
                }
            }
        if (!done) *o++ = *s++;
    }
    *o = '\0';
    return out;
}

static void on_http_done(lode_http *h, void *ud)
{
    wi_fetch *f = ud;
    f->h = NULL;
    creds_http_answer a;
    if (creds_http_take(h, !f->done, 0, &a)) {     /* cancelled */
        fetch_free(f);
        return;
    }
    creds_result res;
    char what[600];
    snprintf(what, sizeof what, "STS AssumeRoleWithWebIdentity for %s", f->role_arn);
    creds_sts_answer(&res, &a, f->provider, what, f->url);
    lode_http_free(h);
    f->done(f->ud, &res);
    lode_aws_creds_unref(res.creds);
    fetch_free(f);
}

static const char *env(const char *name, int allowed)
{
    const char *v = allowed ? getenv(name) : NULL;
    return v && *v ? v : NULL;
}

/* The STS endpoint URL (malloc'd), as described at the top. */
char *creds_sts_endpoint(const creds_section *prof)
{
    const char *u = getenv("AWS_ENDPOINT_URL_STS");
    if (!u || !*u) u = getenv("AWS_ENDPOINT_URL");
    if (!u || !*u) u = creds_section_get(prof, "endpoint_url");
    if (u && *u) return strdup(u);
    const char *region = getenv("AWS_REGION");
    if (!region || !*region) region = getenv("AWS_DEFAULT_REGION");
    if (!region || !*region) region = creds_section_get(prof, "region");
    char *out = NULL;
    if (!region || !*region || strcmp(region, "us-east-1") == 0 || strcmp(region, "aws-global") == 0)
        return strdup("https://sts.amazonaws.com");
    if (asprintf(&out, "https://sts.%s.amazonaws.com", region) < 0) return NULL;
    return out;
}

static void *wi_start(creds_source *s, creds_source_done done, void *ud, creds_result *res)
{
    int env_ok = s->opts->profile == NULL;
    creds_profiles pr;
    char why[512];
    if (creds_profiles_load(&pr, why, sizeof why) != 0) {
        creds_fail(res, "InvalidConfig", 0, "%s", why);
        return NULL;
    }
    const creds_section *prof = creds_ini_section(&pr.profiles, s->profile);
    const char *token_file = env("AWS_WEB_IDENTITY_TOKEN_FILE", env_ok);
    if (!token_file) token_file = creds_section_get(prof, "web_identity_token_file");
    const char *role_arn = env("AWS_ROLE_ARN", env_ok);
    if (!role_arn) role_arn = creds_section_get(prof, "role_arn");
    const char *session = env("AWS_ROLE_SESSION_NAME", env_ok);
    if (!session) session = creds_section_get(prof, "role_session_name");
    wi_fetch *f = NULL;
    char *tok = NULL;
    char *e_arn = NULL, *e_sess = NULL, *e_tok = NULL;
    char default_session[64];
    if (!token_file) {
        creds_skip(res, "neither AWS_WEB_IDENTITY_TOKEN_FILE nor web_identity_token_file in profile '%s'", s->profile);
        goto out;
    }
    if (!role_arn) {
        creds_fail(res, "InvalidConfig", 0,
                   "a web identity token file is configured but no role ARN (AWS_ROLE_ARN or role_arn in profile '%s')",
                   s->profile);
        goto out;
    }
    if (!session) {
        snprintf(default_session, sizeof default_session, "botocore-session-%lld", (long long)time(NULL));
        session = default_session;
    }
    FILE *fp = fopen(token_file, "r");
    if (!fp) {
        creds_fail(res, "CredentialRetrievalError", 0, "cannot read the web identity token file %.300s", token_file);
        goto out;
    }
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    tok = strdup(buf);
    memset(buf, 0, sizeof buf);
    f = calloc(1, sizeof *f);
    e_arn = lode_uri_encode(role_arn, strlen(role_arn), 0);
    e_sess = lode_uri_encode(session, strlen(session), 0);
    e_tok = tok ? lode_uri_encode(tok, strlen(tok), 0) : NULL;
    if (!f || !tok || !e_arn || !e_sess || !e_tok || !(f->url = creds_sts_endpoint(prof)) ||
        asprintf(&f->body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=%s&RoleSessionName=%s"
                           "&WebIdentityToken=%s", e_arn, e_sess, e_tok) < 0) {
        if (f) f->body = NULL;
        creds_fail(res, "OutOfMemory", 0, "out of memory");
        goto fail;
    }
    snprintf(f->role_arn, sizeof f->role_arn, "%s", role_arn);
    f->done = done;
    f->ud = ud;
    f->provider = s->name;
    static const char *const headers[] = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8",
                                          "Accept: application/xml", NULL};
    lode_http_opts o = {
        .method = "POST", .url = f->url, .headers = headers, .body = f->body, .body_len = (int64_t)strlen(f->body),
        .max_body = 1 << 20, .connect_timeout_ms = 10000, .timeout_ms = 60000, .on_done = on_http_done, .ud = f,
    };
    f->h = lode_http_start(&o, why, sizeof why);
    if (!f->h) {
        creds_fail(res, "CredentialRetrievalError", 1, "STS at %s: %s", f->url, why);
        goto fail;
    }
    goto out;
fail:
    if (f) fetch_free(f);
    f = NULL;
out:
    if (tok) {
        memset(tok, 0, strlen(tok));
        free(tok);
    }
    if (e_tok) {
        memset(e_tok, 0, strlen(e_tok));
        free(e_tok);
    }
    free(e_arn);
    free(e_sess);
    creds_profiles_free(&pr);
    return f;
}

static void wi_cancel(void *fetch)
{
    wi_fetch *f = fetch;
    f->done = NULL;                /* on_http_done, run by the cancel, frees f */
    lode_http_cancel(f->h);
}

static void source_free(creds_source *s) { free(s); }

creds_source *creds_source_web_identity(void)
{
    creds_source *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = "assume-role-with-web-identity";
    s->start = wi_start;
    s->cancel = wi_cancel;
    s->free = source_free;
    return s;
}

void creds_sts_answer(creds_result *res, const creds_http_answer *a, const char *provider,
                      const char *what, const char *url)
{
    if (a->why) {
        creds_fail(res, "CredentialRetrievalError", 1, "%s at %s: %s", what, url, a->why);
        return;
    }
    if (a->status != 200) {
        char *code = creds_xml_text(a->body, a->len, "Code"), *msg = creds_xml_text(a->body, a->len, "Message");
        creds_fail(res, "CredentialRetrievalError", a->status >= 500 || a->status == 429,
                   "%s: HTTP %ld %s: %.300s", what, a->status, code ? code : "", msg ? msg : "");
        free(code);
        free(msg);
        return;
    }
    char *akid = creds_xml_text(a->body, a->len, "AccessKeyId");
    char *secret = creds_xml_text(a->body, a->len, "SecretAccessKey");
    char *token = creds_xml_text(a->body, a->len, "SessionToken");
    char *exp = creds_xml_text(a->body, a->len, "Expiration");
    int64_t expiration = exp ? creds_parse_time(exp) : -1;
    if (!akid || !secret || !token || expiration < 0)
        creds_fail(res, "CredentialRetrievalError", 0, "%s: the answer lacks credentials", what);
    else creds_found(res, provider, akid, secret, token, expiration);
    free(akid);
    creds_wipe_free(secret);
    creds_wipe_free(token);
    free(exp);
}

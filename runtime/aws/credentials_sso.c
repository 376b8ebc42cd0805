/* credentials_sso.c — botocore's SSOProvider ("sso"): a profile with
 * sso_account_id or sso_role_name, plus sso_start_url and sso_region either
 * in the profile (legacy) or in the [sso-session NAME] section its
 * sso_session names (a value set in both must agree). The access token is
 * the one `aws sso login` cached in ~/.aws/sso/cache/<sha1>.json, where
 * sha1 is the hex SHA-1 of the session name (sso_session) or of the start
 * URL (legacy), as botocore's SSOTokenLoader; it needs accessToken and
 * expiresAt. With sso_session an expired token fails with "run aws sso
 * login" (botocore would try CreateToken; lode does not refresh tokens);
 * legacy profiles send it and let the portal refuse it, as botocore. GetRoleCredentials is an unsigned
 * GET <portal>/federation/credentials?account_id=&role_name= with header
 * x-amz-sso_bearer_token; the answer is {"roleCredentials": {accessKeyId,
 * secretAccessKey, sessionToken, expiration (ms)}}.
 * Portal: AWS_ENDPOINT_URL_SSO, AWS_ENDPOINT_URL, else
 * https://portal.sso.<sso_region>.amazonaws.com (botocore's client
 * endpoint resolution for the "sso" service).
 * Owns: each fetch and its lode_http (freed in the http callback). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "credentials_internal.h"
#include "lode/http/http.h"
#include "lode/aws/sigv4.h"

typedef struct {
    lode_http *h;
    char *url;
    char *auth;                    /* "x-amz-sso_bearer_token: ..." (a secret): wiped */
    creds_source_done done;
    void *ud;
    const char *provider;
} sso_fetch;

static void fetch_free(sso_fetch *f)
{
    creds_wipe_free(f->auth);
    free(f->url);
    free(f);
}

static void on_http_done(lode_http *h, void *ud)
{
    sso_fetch *f = ud;
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
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(doc, "roleCredentials");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(rc, "expiration");
    const char *akid = creds_json_str(rc, "accessKeyId"), *secret = creds_json_str(rc, "secretAccessKey");
    const char *token = creds_json_str(rc, "sessionToken");
    if (why) creds_fail(&res, "CredentialRetrievalError", 1, "SSO portal %s: %s", f->url, why);
    else if (status == 401 || status == 403)
        creds_fail(&res, "UnauthorizedSSOToken", 0,
                   "SSO portal %s refused the cached SSO token (HTTP %ld): run aws sso login", f->url, status);
    else if (status != 200)
        creds_fail(&res, "CredentialRetrievalError", status >= 500, "SSO portal %s: HTTP %ld", f->url, status);
    else if (!akid || !secret || !token || !cJSON_IsNumber(exp))
        creds_fail(&res, "CredentialRetrievalError", 0, "SSO portal %s: the answer lacks roleCredentials", f->url);
    else creds_found(&res, f->provider, akid, secret, token, (int64_t)(exp->valuedouble / 1000));
    cJSON_Delete(doc);
    lode_http_free(h);
    f->done(f->ud, &res);
    lode_aws_creds_unref(res.creds);
    fetch_free(f);
}

/* ~/.aws/sso/cache/<hex sha1 of key>.json, malloc'd. */
static char *token_cache_path(const char *key)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(key, strlen(key), md, &n, EVP_sha1(), NULL)) return NULL;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned int i = 0; i < n; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    const char *home = getenv("HOME");
    char *out = NULL;
    if (asprintf(&out, "%s/.aws/sso/cache/%s.json", home ? home : "", hex) < 0) return NULL;
    return out;
}

/* The cached access token (malloc'd), or NULL with res failed. */
static char *read_token(const char *path, const char *login, int check_expiry, creds_result *res)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        creds_fail(res, "SSOTokenLoadError", 0, "no cached SSO token at %s: run %s", path, login);
        return NULL;
    }
    char *text = NULL;
    size_t cap = 0, len = 0, got;
    char chunk[4096];
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0 && len < (1u << 20)) {
        char *t = realloc(text, cap = len + got + 1);
        if (!t) break;
        text = t;
        memcpy(text + len, chunk, got);
        len += got;
        text[len] = '\0';
    }
    fclose(fp);
    memset(chunk, 0, sizeof chunk);
    (void)cap;
    cJSON *doc = text ? cJSON_ParseWithLength(text, len) : NULL;
    if (text) creds_wipe_free(text);
    const char *tok = creds_json_str(doc, "accessToken"), *exp = creds_json_str(doc, "expiresAt");
    char *out = NULL;
    int64_t expires = exp ? creds_parse_time(exp) : -1;
    if (!tok || !exp || expires < 0)
        creds_fail(res, "SSOTokenLoadError", 0, "the cached SSO token %s lacks %s: run %s", path,
                   !tok ? "accessToken" : "a valid expiresAt", login);
    else if (check_expiry && expires * 1000 <= creds_now_ms())
        creds_fail(res, "TokenRetrievalError", 0, "the cached SSO token %s expired at %s (lode does not refresh it): run %s",
                   path, exp, login);
    else if (!(out = strdup(tok))) creds_fail(res, "OutOfMemory", 0, "out of memory");
    if (doc) {
        cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, "accessToken");
        if (cJSON_IsString(a)) memset(a->valuestring, 0, strlen(a->valuestring));
        cJSON *r = cJSON_GetObjectItemCaseSensitive(doc, "refreshToken");
        if (cJSON_IsString(r)) memset(r->valuestring, 0, strlen(r->valuestring));
        cJSON_Delete(doc);
    }
    return out;
}

static char *portal_url(const char *region, const char *account, const char *role)
{
    const char *u = getenv("AWS_ENDPOINT_URL_SSO");
    if (!u || !*u) u = getenv("AWS_ENDPOINT_URL");
    char *base = NULL, *out = NULL;
    if (u && *u) base = strdup(u);
    else if (asprintf(&base, "https://portal.sso.%s.amazonaws.com", region) < 0) base = NULL;
    char *ea = lode_uri_encode(account, strlen(account), 0), *er = lode_uri_encode(role, strlen(role), 0);
    if (base && ea && er) {
        size_t n = strlen(base);
        while (n && base[n - 1] == '/') base[--n] = '\0';
        if (asprintf(&out, "%s/federation/credentials?account_id=%s&role_name=%s", base, ea, er) < 0) out = NULL;
    }
    free(base);
    free(ea);
    free(er);
    return out;
}

static void *sso_start(creds_source *s, creds_source_done done, void *ud, creds_result *res)
{
    creds_profiles pr;
    char why[512];
    if (creds_profiles_load(&pr, why, sizeof why) != 0) {
        creds_fail(res, "InvalidConfig", 0, "%s", why);
        return NULL;
    }
    sso_fetch *f = NULL;
    char *token = NULL, *path = NULL, login[300];
    const creds_section *prof = creds_ini_section(&pr.profiles, s->profile);
    if (!creds_section_get(prof, "sso_role_name") && !creds_section_get(prof, "sso_account_id")) {
        creds_skip(res, "neither sso_role_name nor sso_account_id in profile '%s'", s->profile);
        goto out;
    }
    static const char *const keys[] = {"sso_role_name", "sso_account_id", "sso_start_url", "sso_region", NULL};
    const char *val[4] = {0};
    const char *session = creds_section_get(prof, "sso_session");
    const creds_section *sess = NULL;
    if (session) {
        char name[300];
        snprintf(name, sizeof name, "sso-session %s", session);
        sess = creds_ini_section(&pr.config, name);
        if (!sess) {
            creds_fail(res, "InvalidConfig", 0, "The specified sso-session does not exist: \"%s\"", session);
            goto out;
        }
    }
    char missing[200] = "";
    for (int i = 0; keys[i]; i++) {
        const char *pv = creds_section_get(prof, keys[i]), *sv = creds_section_get(sess, keys[i]);
        if (pv && sv && strcmp(pv, sv) != 0) {
            creds_fail(res, "InvalidConfig", 0,
                       "The value for \"%s\" is inconsistent between profile (%s) and sso-session (%s)", keys[i], pv,
                       sv);
            goto out;
        }
        val[i] = sv ? sv : pv;
        if (!val[i]) snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s",
                              missing[0] ? ", " : "", keys[i]);
    }
    if (missing[0]) {
        creds_fail(res, "InvalidConfig", 0,
                   "The profile \"%s\" is configured to use SSO but is missing required configuration: %s",
                   s->profile, missing);
        goto out;
    }
    if (session) snprintf(login, sizeof login, "aws sso login --sso-session %s", session);
    else snprintf(login, sizeof login, "aws sso login --profile %s", s->profile);
    path = token_cache_path(session ? session : val[2]);
    if (!path) {
        creds_fail(res, "OutOfMemory", 0, "out of memory");
        goto out;
    }
    if (!(token = read_token(path, login, session != NULL, res))) goto out;
    f = calloc(1, sizeof *f);
    if (!f || !(f->url = portal_url(val[3], val[1], val[0])) ||
        asprintf(&f->auth, "x-amz-sso_bearer_token: %s", token) < 0) {
        if (f) f->auth = NULL;
        creds_fail(res, "OutOfMemory", 0, "out of memory");
        goto fail;
    }
    if (strpbrk(token, "\r\n")) {
        creds_fail(res, "SSOTokenLoadError", 0, "the cached SSO token %s contains a line break", path);
        goto fail;
    }
    f->done = done;
    f->ud = ud;
    f->provider = s->name;
    const char *headers[] = {"Accept: application/json", f->auth, NULL};
    lode_http_opts o = {
        .method = "GET", .url = f->url, .headers = headers, .body_len = -1, .max_body = 1 << 20,
        .connect_timeout_ms = 10000, .timeout_ms = 60000, .on_done = on_http_done, .ud = f,
    };
    f->h = lode_http_start(&o, why, sizeof why);
    if (!f->h) {
        creds_fail(res, "CredentialRetrievalError", 1, "SSO portal %s: %s", f->url, why);
        goto fail;
    }
    goto out;
fail:
    if (f) fetch_free(f);
    f = NULL;
out:
    creds_wipe_free(token);
    free(path);
    creds_profiles_free(&pr);
    return f;
}

static void sso_cancel(void *fetch)
{
    sso_fetch *f = fetch;
    f->done = NULL;                /* on_http_done, run by the cancel, frees f */
    lode_http_cancel(f->h);
}

static void source_free(creds_source *s) { free(s); }

creds_source *creds_source_sso(void)
{
    creds_source *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = "sso";
    s->start = sso_start;
    s->cancel = sso_cancel;
    s->free = source_free;
    return s;
}

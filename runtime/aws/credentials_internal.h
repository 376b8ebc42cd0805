/* credentials_internal.h — private to runtime/aws/credentials*.c: the
 * source interface every provider implements, the shared config/credentials
 * file reader (botocore's configloader semantics) and small helpers. */
#ifndef LODE_AWS_CREDENTIALS_INTERNAL_H
#define LODE_AWS_CREDENTIALS_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "lode/aws/credentials.h"

/* Outcome of one source. */
enum { CREDS_FOUND = 0, CREDS_SKIP = 1, CREDS_FAIL = 2 };

/* A source's answer: FOUND with creds (a reference passed on), SKIP when the
 * source is not configured (why says what was looked for), FAIL when it is
 * configured but broken (why, code: stop the chain as botocore does). */
typedef struct {
    int rc;
    lode_aws_creds *creds;
    char code[64];
    char why[1024];
    int retryable;
} creds_result;

typedef void (*creds_source_done)(void *ud, creds_result *res);

typedef struct creds_source creds_source;
struct creds_source {
    const char *name;              /* botocore's method name */
    /* Synchronous sources (environment, files) fill res and return. */
    void (*resolve)(creds_source *s, creds_result *res);
    /* Asynchronous sources start work and call done later from a loop
     * callback; return a handle for cancel, or NULL with res filled when
     * they finish at once (not configured, bad config). */
    void *(*start)(creds_source *s, creds_source_done done, void *ud, creds_result *res);
    void (*cancel)(void *fetch);   /* stop; done is never called */
    void (*free)(creds_source *s);
    const char *profile;           /* profile the chain resolves ("default" ...) */
    const lode_aws_chain_opts *opts;
};

/* ---- results ---- */
void creds_skip(creds_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void creds_fail(creds_result *r, const char *code, int retryable, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* FOUND with new creds copied from the strings (token may be NULL/"");
 * FAIL "OutOfMemory" when allocation fails. */
void creds_found(creds_result *r, const char *provider, const char *akid, const char *secret,
                 const char *token, int64_t expiration);

/* ---- config files (botocore configloader) ---- */
typedef struct {
    char *key, *value;
} creds_kv;

typedef struct {
    char *name;                    /* profile name ("default", "dev"); "sso-session x" kept as is */
    creds_kv *kv;
    size_t n;
} creds_section;

typedef struct {
    creds_section *s;
    size_t n;
} creds_ini;

/* Parse an INI file; 0 (ini filled, possibly empty), 1 when the file does not
 * exist, -1 on a syntax error / OOM with why filled. */
int creds_ini_read(const char *path, creds_ini *ini, char *why, size_t whylen);
void creds_ini_free(creds_ini *ini);
const creds_section *creds_ini_section(const creds_ini *ini, const char *name);
const char *creds_section_get(const creds_section *s, const char *key);

/* The two files' paths (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE or ~/.aws/...), malloc'd. */
char *creds_config_path(void);
char *creds_credentials_path(void);

/* The merged profile map as botocore's session.full_config: config file
 * profiles ("[profile x]" and "[default]"), each updated with the
 * credentials file's section of the same name. Returned sections own their
 * strings. 0, or -1 with why. */
typedef struct {
    creds_ini config;              /* raw config file (for sso-session sections) */
    creds_ini profiles;            /* merged profiles, named without the "profile " prefix */
    int have_config;               /* config file exists */
    char *config_path, *credentials_path;
} creds_profiles;
int creds_profiles_load(creds_profiles *p, char *why, size_t whylen);
void creds_profiles_free(creds_profiles *p);

/* ---- helpers ---- */
/* ISO 8601 "2026-01-02T03:04:05Z" (fraction and offsets allowed) to Unix seconds; -1 if invalid. */
int64_t creds_parse_time(const char *s);
/* Zero a secret string, then free it (NULL is fine). */
void creds_wipe_free(char *s);
/* Current Unix time in milliseconds (the cache's clock). */
int64_t creds_now_ms(void);

/* ---- sources (one file each) ---- */
creds_source *creds_source_env(void);
creds_source *creds_source_shared_file(void);
creds_source *creds_source_config_file(void);
creds_source *creds_source_process(void);
creds_source *creds_source_container(void);
creds_source *creds_source_imds(void);
creds_source *creds_source_web_identity(void);
creds_source *creds_source_assume_role(void);

/* A provider for a role's source credentials (no cache windows of its own
 * beyond the defaults): the profile providers of `profile` with the
 * environment disabled, the assume-role provider of `profile`, or one
 * credential_source. NULL when out of memory. */
enum { CREDS_SUB_PROFILE, CREDS_SUB_ROLE, CREDS_SUB_ENV, CREDS_SUB_IMDS, CREDS_SUB_ECS };
lode_aws_creds_provider *creds_sub_provider_new(const char *profile, int kind, const lode_aws_chain_opts *base);

/* STS helpers (credentials_web_identity.c): the endpoint URL for a profile,
 * malloc'd; the decoded text of the first <tag> in an XML body, malloc'd or NULL. */
char *creds_sts_endpoint(const creds_section *prof);
char *creds_xml_text(const char *body, size_t len, const char *tag);
creds_source *creds_source_sso(void);

/* A credential endpoint's HTTP answer as the four HTTP providers read it:
 * why (transport error, or NULL), status, body, and the body parsed when
 * asked for JSON and the status is 200 (NULL otherwise; the caller
 * cJSON_Delete()s it). Strings point into h: use them before
 * lode_http_free(h). */
struct lode_http;
struct cJSON;
typedef struct {
    const char *why;
    long status;
    const char *body;
    size_t len;
    struct cJSON *json;
} creds_http_answer;
/* A provider's request ended. When it was cancelled meanwhile, free h and
 * return 1 (the caller frees its fetch and returns); else fill a, return 0. */
int creds_http_take(struct lode_http *h, int cancelled, int json, creds_http_answer *a);

/* STS's answer to AssumeRole or AssumeRoleWithWebIdentity into res: FOUND
 * with its <Credentials> under `provider`, or FAIL naming `what` ("STS
 * AssumeRole <arn> (profile 'p')") and url: a transport error (retryable),
 * an HTTP error with STS's Code and Message (retryable on 5xx and 429), or
 * an answer without credentials. Secrets read are wiped before freeing. */
void creds_sts_answer(creds_result *res, const creds_http_answer *a, const char *provider,
                      const char *what, const char *url);

/* The string member `key` of a JSON object (credential answers), or NULL. */
struct cJSON;
const char *creds_json_str(const struct cJSON *doc, const char *key);

#endif

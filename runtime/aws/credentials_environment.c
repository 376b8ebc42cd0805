/* credentials_environment.c — botocore's EnvProvider ("env"):
 * AWS_ACCESS_KEY_ID (the trigger), AWS_SECRET_ACCESS_KEY, AWS_SECURITY_TOKEN
 * or else AWS_SESSION_TOKEN, and AWS_CREDENTIAL_EXPIRATION. A key without
 * its secret is an error, not a reason to look further. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credentials_internal.h"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void env_resolve(creds_source *s, creds_result *res)
{
    const char *akid = env("AWS_ACCESS_KEY_ID");
    if (!akid) {
        creds_skip(res, "AWS_ACCESS_KEY_ID is not set");
        return;
    }
    const char *secret = env("AWS_SECRET_ACCESS_KEY");
    if (!secret) {
        creds_fail(res, "PartialCredentials", 0, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
        return;
    }
    const char *token = env("AWS_SECURITY_TOKEN");
    if (!token) token = env("AWS_SESSION_TOKEN");
    const char *exp = env("AWS_CREDENTIAL_EXPIRATION");
    int64_t expiration = 0;
    if (exp && (expiration = creds_parse_time(exp)) < 0) {
        creds_fail(res, "InvalidConfig", 0, "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time");
        return;
    }
    creds_found(res, s->name, akid, secret, token, expiration);
}

static void env_free(creds_source *s) { free(s); }

creds_source *creds_source_env(void)
{
    creds_source *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = "env";
    s->resolve = env_resolve;
    s->free = env_free;
    return s;
}

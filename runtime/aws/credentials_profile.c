/* credentials_profile.c — botocore's SharedCredentialProvider
 * ("shared-credentials-file": the profile's section of the credentials file
 * alone) and ConfigProvider ("config-file": the profile in the config file
 * alone). Each triggers on aws_access_key_id in its section; the secret is
 * then required; aws_security_token, else aws_session_token, is the token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credentials_internal.h"

static void from_section(creds_source *s, const creds_section *sec, const char *path, creds_result *res)
{
    const char *akid = creds_section_get(sec, "aws_access_key_id");
    if (!akid) {
        creds_skip(res, "no aws_access_key_id in profile '%s' of %s", s->profile, path);
        return;
    }
    const char *secret = creds_section_get(sec, "aws_secret_access_key");
    if (!secret) {
        creds_fail(res, "PartialCredentials", 0, "profile '%s' in %s has aws_access_key_id but no aws_secret_access_key",
                   s->profile, path);
        return;
    }
    const char *token = creds_section_get(sec, "aws_security_token");
    if (!token) token = creds_section_get(sec, "aws_session_token");
    creds_found(res, s->name, akid, secret, token, 0);
}

static void shared_resolve(creds_source *s, creds_result *res)
{
    char *path = creds_credentials_path();
    creds_ini ini;
    char why[512];
    int rc = creds_ini_read(path, &ini, why, sizeof why);
    if (rc < 0) creds_fail(res, "InvalidConfig", 0, "%s", why);
    else if (rc > 0) creds_skip(res, "%s does not exist", path ? path : "~/.aws/credentials");
    else {
        const creds_section *sec = creds_ini_section(&ini, s->profile);
        if (!sec) creds_skip(res, "no profile '%s' in %s", s->profile, path);
        else from_section(s, sec, path, res);
        creds_ini_free(&ini);
    }
    free(path);
}

static void config_resolve(creds_source *s, creds_result *res)
{
    creds_profiles pr;
    char why[512];
    if (creds_profiles_load(&pr, why, sizeof why) != 0) {
        creds_fail(res, "InvalidConfig", 0, "%s", why);
        return;
    }
    const char *path = pr.config_path ? pr.config_path : "~/.aws/config";
    if (!pr.have_config) creds_skip(res, "%s does not exist", path);
    else {
        /* the config file's own profile, without the credentials file merged in */
        const creds_section *sec = NULL;
        char name[300];
        if (strcmp(s->profile, "default") == 0) sec = creds_ini_section(&pr.config, "default");
        snprintf(name, sizeof name, "profile %s", s->profile);
        const creds_section *named = creds_ini_section(&pr.config, name);
        if (named) sec = named;
        if (!sec) creds_skip(res, "no profile '%s' in %s", s->profile, path);
        else from_section(s, sec, path, res);
    }
    creds_profiles_free(&pr);
}

static void source_free(creds_source *s) { free(s); }

creds_source *creds_source_shared_file(void)
{
    creds_source *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = "shared-credentials-file";
    s->resolve = shared_resolve;
    s->free = source_free;
    return s;
}

creds_source *creds_source_config_file(void)
{
    creds_source *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = "config-file";
    s->resolve = config_resolve;
    s->free = source_free;
    return s;
}

/* aws/config.c — resolve credentials, region and endpoint the way the aws
 * CLI does: environment first, then the profile in ~/.aws/credentials and
 * ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE override the
 * paths). Owns the strings of lode_aws_config. Never logs a secret. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode/aws/config.h"

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strdup(v) : NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

typedef struct {
    const char *section;           /* "default", "profile x", "x" */
    const char *key;               /* "region", or "s3.addressing_style" for nested */
    char **out;
} ini_want;

/* Read `path` and set each wanted key of the matching section (first wins). */
static void ini_read(const char *path, const char *section, const char *const *keys, char **outs, int nkeys)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return;
    char line[4096], cur[512] = "", parent[128] = "";
    int in_section = 0;
    while (fgets(line, sizeof line, f)) {
        int indented = line[0] == ' ' || line[0] == '\t';
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (!e) continue;
            *e = '\0';
            snprintf(cur, sizeof cur, "%s", trim(s + 1));
            in_section = strcmp(cur, section) == 0;
            parent[0] = '\0';
            continue;
        }
        if (!in_section) continue;
        char *eq = strchr(s, '=');
        if (!eq) continue;
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        char full[256];
        if (indented && parent[0]) {
            snprintf(full, sizeof full, "%s.%s", parent, k);
        } else {
            if (*v == '\0') {           /* "s3 =" opens a nested block */
                snprintf(parent, sizeof parent, "%s", k);
                continue;
            }
            parent[0] = '\0';
            snprintf(full, sizeof full, "%s", k);
        }
        for (int i = 0; i < nkeys; i++)
            if (!outs[i] && strcmp(full, keys[i]) == 0) outs[i] = strdup(v);
    }
    fclose(f);
}

static char *home_path(const char *env, const char *rel)
{
    const char *p = getenv(env);
    if (p && *p) return strdup(p);
    const char *home = getenv("HOME");
    if (!home) return NULL;
    char *out = NULL;
    if (asprintf(&out, "%s/%s", home, rel) < 0) return NULL;
    return out;
}

const char *lode_aws_env_profile(void)
{
    const char *p = getenv("AWS_DEFAULT_PROFILE");
    return p ? p : getenv("AWS_PROFILE");
}

int lode_aws_config_load(lode_aws_config *c, const char *profile, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    const char *env_profile = lode_aws_env_profile();
    c->profile = profile && *profile ? strdup(profile)
               : env_profile && *env_profile ? strdup(env_profile) : NULL;
    if (!c->profile) c->profile = strdup("default");
    if (!c->profile) goto oom;

    c->access_key_id = env_dup("AWS_ACCESS_KEY_ID");
    c->secret_access_key = env_dup("AWS_SECRET_ACCESS_KEY");
    if (c->access_key_id && c->secret_access_key) c->session_token = env_dup("AWS_SESSION_TOKEN");
    c->region = env_dup("AWS_REGION");
    if (!c->region) c->region = env_dup("AWS_DEFAULT_REGION");
    c->endpoint_url = env_dup("AWS_ENDPOINT_URL_S3");
    if (!c->endpoint_url) c->endpoint_url = env_dup("AWS_ENDPOINT_URL");

    char *cred_path = home_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    char *conf_path = home_path("AWS_CONFIG_FILE", ".aws/config");
    char conf_section[600];
    if (strcmp(c->profile, "default") == 0) snprintf(conf_section, sizeof conf_section, "default");
    else snprintf(conf_section, sizeof conf_section, "profile %s", c->profile);

    /* credentials file, then config file, for keys the environment did not give */
    static const char *const cred_keys[] = {"aws_access_key_id", "aws_secret_access_key", "aws_session_token"};
    char *creds[3] = {0};
    if (!c->access_key_id || !c->secret_access_key) {
        ini_read(cred_path, c->profile, cred_keys, creds, 3);
        if (!creds[0] || !creds[1]) ini_read(conf_path, conf_section, cred_keys, creds, 3);
        if (creds[0] && creds[1]) {
            free(c->access_key_id);
            free(c->secret_access_key);
            c->access_key_id = creds[0];
            c->secret_access_key = creds[1];
            c->session_token = creds[2];
            creds[0] = creds[1] = creds[2] = NULL;
        }
    }
    for (int i = 0; i < 3; i++) free(creds[i]);

    static const char *const conf_keys[] = {"region", "endpoint_url", "s3.endpoint_url", "s3.addressing_style"};
    char *conf[4] = {0};
    ini_read(conf_path, conf_section, conf_keys, conf, 4);
    if (!c->region && conf[0]) {
        c->region = conf[0];
        conf[0] = NULL;
    }
    if (!c->endpoint_url && conf[2]) {
        c->endpoint_url = conf[2];
        conf[2] = NULL;
    }
    if (!c->endpoint_url && conf[1]) {
        c->endpoint_url = conf[1];
        conf[1] = NULL;
    }
    if (conf[3]) {
        if (strcmp(conf[3], "path") == 0) c->addressing = LODE_S3_ADDR_PATH;
        else if (strcmp(conf[3], "virtual") == 0) c->addressing = LODE_S3_ADDR_VIRTUAL;
    }
    for (int i = 0; i < 4; i++) free(conf[i]);
    free(cred_path);
    free(conf_path);
    if (!c->region) c->region = strdup("us-east-1");
    if (!c->region) goto oom;
    return 0;
oom:
    snprintf(err, errlen, "aws config: out of memory");
    lode_aws_config_free(c);
    return -1;
}

void lode_aws_config_free(lode_aws_config *c)
{
    free(c->profile);
    free(c->access_key_id);
    if (c->secret_access_key) {
        memset(c->secret_access_key, 0, strlen(c->secret_access_key));
        free(c->secret_access_key);
    }
    free(c->session_token);
    free(c->region);
    free(c->endpoint_url);
    memset(c, 0, sizeof *c);
}

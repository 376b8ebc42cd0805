/* endpoint.c — the services lode speaks, and where a client's region,
 * endpoint and retry count come from, in the aws CLI's order:
 *   region:   the client's option, AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`
 *   endpoint: the client's option, then (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
 *             or the profile's ignore_configured_endpoint_urls is true)
 *             AWS_ENDPOINT_URL_<SERVICE_ID>, AWS_ENDPOINT_URL, `endpoint_url` under
 *             the service in the [services <name>] section the profile names with
 *             `services = <name>`, the profile's `endpoint_url`; else AWS's own
 *             https://<prefix>.<region>.amazonaws.com (STS regional, IAM global)
 *   attempts: the client's option, AWS_MAX_ATTEMPTS, the profile's max_attempts, 3
 * Owns the strings of aws_settings. Reads files, never logs a value. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws_internal.h"
#include "lode/aws/config.h"

/* From botocore's service models (metadata: serviceId, signingName,
 * endpointPrefix, protocol, apiVersion, targetPrefix, jsonVersion). */
static const lode_aws_service services[] = {
    {"sts", "sts", "sts", "sts", LODE_AWS_QUERY, "2011-06-15", NULL, NULL, 2},
    {"iam", "iam", "iam", "iam", LODE_AWS_QUERY, "2010-05-08", NULL, NULL, 1},
    {"redshift", "redshift", "redshift", "redshift", LODE_AWS_QUERY, "2012-12-01", NULL, NULL, 0},
    {"redshift-serverless", "redshift_serverless", "redshift-serverless", "redshift-serverless", LODE_AWS_JSON,
     NULL, "RedshiftServerless", "1.1", 0},
    {"redshift-data", "redshift_data", "redshift-data", "redshift-data", LODE_AWS_JSON, NULL, "RedshiftData",
     "1.1", 0},
    {"glue", "glue", "glue", "glue", LODE_AWS_JSON, NULL, "AWSGlue", "1.1", 0},
    {"athena", "athena", "athena", "athena", LODE_AWS_JSON, NULL, "AmazonAthena", "1.1", 0},
    {"cloudwatch", "cloudwatch", "monitoring", "monitoring", LODE_AWS_QUERY, "2010-08-01", NULL, NULL, 0},
    {"monitoring", "cloudwatch", "monitoring", "monitoring", LODE_AWS_QUERY, "2010-08-01", NULL, NULL, 0},
    {"logs", "cloudwatch_logs", "logs", "logs", LODE_AWS_JSON, NULL, "Logs_20140328", "1.1", 0},
    {"sqs", "sqs", "sqs", "sqs", LODE_AWS_JSON, NULL, "AmazonSQS", "1.0", 0},
    {"sns", "sns", "sns", "sns", LODE_AWS_QUERY, "2010-03-31", NULL, NULL, 0},
    {"cloudformation", "cloudformation", "cloudformation", "cloudformation", LODE_AWS_QUERY, "2010-05-15", NULL,
     NULL, 0},
    {"kms", "kms", "kms", "kms", LODE_AWS_JSON, NULL, "TrentService", "1.1", 0},
    {"secretsmanager", "secrets_manager", "secretsmanager", "secretsmanager", LODE_AWS_JSON, NULL,
     "secretsmanager", "1.1", 0},
    {"ssm", "ssm", "ssm", "ssm", LODE_AWS_JSON, NULL, "AmazonSSM", "1.1", 0},
    {"events", "eventbridge", "events", "events", LODE_AWS_JSON, NULL, "AWSEvents", "1.1", 0},
    {"firehose", "firehose", "firehose", "firehose", LODE_AWS_JSON, NULL, "Firehose_20150804", "1.1", 0},
    {"kinesis", "kinesis", "kinesis", "kinesis", LODE_AWS_JSON, NULL, "Kinesis_20131202", "1.1", 0},
    {"stepfunctions", "sfn", "states", "states", LODE_AWS_JSON, NULL, "AWSStepFunctions", "1.0", 0},
    {"dynamodb", "dynamodb", "dynamodb", "dynamodb", LODE_AWS_JSON, NULL, "DynamoDB_20120810", "1.0", 0},
    {"emr", "emr", "elasticmapreduce", "elasticmapreduce", LODE_AWS_JSON, NULL, "ElasticMapReduce", "1.1", 0},
};

static const struct {
    const char *name, *why;
} refused[] = {
    {"s3", "S3 has its own client: use lode.s3"},
    {"lambda", "lambda speaks REST-JSON (operations are HTTP paths), which lode.aws does not; call it with "
               "lode.http or open an issue"},
    {"lakeformation", "lakeformation speaks REST-JSON, which lode.aws does not"},
    {"sso", "sso speaks REST-JSON, which lode.aws does not"},
};

const lode_aws_service *lode_aws_service_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof services / sizeof *services; i++)
        if (strcmp(services[i].name, name) == 0) return &services[i];
    return NULL;
}

const char *lode_aws_service_unsupported(const char *name)
{
    for (size_t i = 0; name && i < sizeof refused / sizeof *refused; i++)
        if (strcmp(refused[i].name, name) == 0) return refused[i].why;
    return NULL;
}

void aws_error_set(lode_aws_error *e, const char *op, long status, const char *code, const char *message,
                   int retryable)
{
    memset(e, 0, sizeof *e);
    snprintf(e->op, sizeof e->op, "%s", op ? op : "aws");
    e->status = status;
    snprintf(e->code, sizeof e->code, "%s", code ? code : "error");
    snprintf(e->message, sizeof e->message, "%s", message ? message : "");
    e->retryable = retryable;
}

/* ---- the shared config file ----------------------------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

/* The value of `key` in [section] of the INI file at path (malloc'd), or
 * NULL. A key "glue.endpoint_url" is `endpoint_url` in the indented block
 * under "glue =". */
static char *ini_get(const char *path, const char *section, const char *key)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return NULL;
    char line[4096], parent[128] = "";
    char *found = NULL;
    int in_section = 0;
    while (!found && fgets(line, sizeof line, f)) {
        int indented = line[0] == ' ' || line[0] == '\t';
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (!e) continue;
            *e = '\0';
            in_section = strcmp(trim(s + 1), section) == 0;
            parent[0] = '\0';
            continue;
        }
        char *eq = strchr(s, '=');
        if (!in_section || !eq) continue;
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1), full[300];
        if (indented && parent[0]) {
            snprintf(full, sizeof full, "%s.%s", parent, k);
        } else if (*v == '\0') {          /* "glue =" opens a nested block */
            snprintf(parent, sizeof parent, "%s", k);
            continue;
        } else {
            parent[0] = '\0';
            snprintf(full, sizeof full, "%s", k);
        }
        if (strcmp(full, key) == 0) found = strdup(v);
    }
    fclose(f);
    return found;
}

static char *config_path(void)
{
    const char *p = getenv("AWS_CONFIG_FILE");
    if (p && *p) return strdup(p);
    const char *home = getenv("HOME");
    char *out = NULL;
    if (home && asprintf(&out, "%s/.aws/config", home) < 0) out = NULL;
    return out;
}

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strdup(v) : NULL;
}

/* A region is one DNS label (botocore's check), so it cannot reshape the URL. */
static int valid_region(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 63 || r[0] == '-' || r[n - 1] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)r[i]) && r[i] != '-') return 0;
    return 1;
}

static int is_true(const char *v) { return v && strcasecmp(v, "true") == 0; }

/* The endpoint configured for svc (env, then the config file) in *url, or
 * NULL; -1 with err when the profile names a missing services section. */
static int configured_endpoint(const lode_aws_service *svc, const char *conf, const char *section, char **url,
                               lode_aws_error *err)
{
    char env[128];
    snprintf(env, sizeof env, "AWS_ENDPOINT_URL_%s", svc->service_id);
    for (char *p = env; *p; p++) *p = (char)toupper((unsigned char)*p);
    *url = env_dup(env);
    if (!*url) *url = env_dup("AWS_ENDPOINT_URL");
    if (*url) return 0;
    char *services = ini_get(conf, section, "services");
    if (services) {
        char sect[300], key[160];
        snprintf(sect, sizeof sect, "services %s", services);
        snprintf(key, sizeof key, "%s.endpoint_url", svc->service_id);
        *url = ini_get(conf, sect, key);
        if (!*url) {
            /* botocore refuses a profile that names a missing services section */
            char probe[300];
            snprintf(probe, sizeof probe, "[services %s]", services);
            FILE *f = fopen(conf, "r");
            int present = 0;
            char line[4096];
            while (f && !present && fgets(line, sizeof line, f)) present = strstr(trim(line), probe) == line;
            if (f) fclose(f);
            if (!present) {
                char m[400];
                snprintf(m, sizeof m, "the profile's `services = %s` names no [services %s] section in %s",
                         services, services, conf);
                aws_error_set(err, svc->name, 0, "config", m, 0);
                free(services);
                return -1;
            }
        }
        free(services);
        if (*url) return 0;
    }
    *url = ini_get(conf, section, "endpoint_url");
    return 0;
}

int aws_settings_resolve(const lode_aws_service *svc, const lode_aws_client_opts *o, aws_settings *out,
                         lode_aws_error *err)
{
    memset(out, 0, sizeof *out);
    char *conf = config_path();
    char section[300];
    const char *env_profile = lode_aws_env_profile();
    out->profile = o->profile && *o->profile ? strdup(o->profile)
                 : env_profile && *env_profile ? strdup(env_profile) : NULL;
    if (!out->profile) out->profile = strdup("default");
    if (!out->profile) goto oom;
    if (strcmp(out->profile, "default") == 0) snprintf(section, sizeof section, "default");
    else snprintf(section, sizeof section, "profile %s", out->profile);

    /* region */
    if (o->region && *o->region) out->region = strdup(o->region);
    if (!out->region) out->region = env_dup("AWS_REGION");
    if (!out->region) out->region = env_dup("AWS_DEFAULT_REGION");
    if (!out->region) out->region = ini_get(conf, section, "region");
    if (out->region && !valid_region(out->region)) {
        aws_error_set(err, svc->name, 0, "config", "the AWS region is not a valid region name", 0);
        goto fail;
    }
    if (!out->region && !svc->global) {
        char m[300];
        snprintf(m, sizeof m, "no AWS region for %s: set AWS_REGION (or AWS_DEFAULT_REGION), `region` in "
                 "profile '%s', or the client's region option", svc->name, out->profile);
        aws_error_set(err, svc->name, 0, "config", m, 0);
        goto fail;
    }

    /* endpoint */
    if (o->endpoint_url && *o->endpoint_url) out->endpoint_url = strdup(o->endpoint_url);
    if (!out->endpoint_url) {
        char *ignore_env = env_dup("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        char *ignore_conf = ignore_env ? NULL : ini_get(conf, section, "ignore_configured_endpoint_urls");
        int ignore = ignore_env ? is_true(ignore_env) : is_true(ignore_conf);
        free(ignore_env);
        free(ignore_conf);
        if (!ignore) {
            if (configured_endpoint(svc, conf, section, &out->endpoint_url, err) != 0) goto fail;
        }
    }
    const char *suffix = out->region && strncmp(out->region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    if (out->endpoint_url) {
        if (strncmp(out->endpoint_url, "http://", 7) != 0 && strncmp(out->endpoint_url, "https://", 8) != 0) {
            aws_error_set(err, svc->name, 0, "config", "the AWS endpoint URL must start with http:// or https://", 0);
            goto fail;
        }
        out->signing_region = strdup(out->region ? out->region : "us-east-1");
    } else if (svc->global == 1 || (svc->global == 2 && !out->region)) {
        /* one endpoint per partition: aws (us-east-1), aws-cn (cn-north-1), aws-us-gov (us-gov-west-1) */
        int cn = strcmp(suffix, "amazonaws.com.cn") == 0;
        int gov = out->region && strncmp(out->region, "us-gov-", 7) == 0;
        int rc = cn ? asprintf(&out->endpoint_url, "https://%s.cn-north-1.%s", svc->endpoint_prefix, suffix)
               : gov ? asprintf(&out->endpoint_url, "https://%s.us-gov.%s", svc->endpoint_prefix, suffix)
                     : asprintf(&out->endpoint_url, "https://%s.%s", svc->endpoint_prefix, suffix);
        if (rc < 0) out->endpoint_url = NULL;
        out->signing_region = strdup(cn ? "cn-north-1" : gov ? "us-gov-west-1" : "us-east-1");
    } else {
        if (asprintf(&out->endpoint_url, "https://%s.%s.%s", svc->endpoint_prefix, out->region, suffix) < 0)
            out->endpoint_url = NULL;
        out->signing_region = strdup(out->region);
    }
    if (!out->endpoint_url || !out->signing_region) goto oom;

    /* attempts */
    out->max_attempts = o->max_attempts;
    if (out->max_attempts <= 0) {
        char *v = env_dup("AWS_MAX_ATTEMPTS");
        if (!v) v = ini_get(conf, section, "max_attempts");
        out->max_attempts = v ? atoi(v) : 3;
        free(v);
    }
    if (out->max_attempts < 1) out->max_attempts = 1;
    free(conf);
    return 0;
oom:
    aws_error_set(err, svc->name, 0, "internal", "out of memory", 0);
fail:
    free(conf);
    aws_settings_free(out);
    return -1;
}

void aws_settings_free(aws_settings *s)
{
    free(s->profile);
    free(s->region);
    free(s->signing_region);
    free(s->endpoint_url);
    memset(s, 0, sizeof *s);
}

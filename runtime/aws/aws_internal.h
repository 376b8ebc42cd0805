/* aws_internal.h — private to runtime/aws/{client,endpoint,query}.c: where
 * a client's settings come from, and the Query protocol's wire formats. */
#ifndef LODE_AWS_INTERNAL_H
#define LODE_AWS_INTERNAL_H

#include <stddef.h>

#include "lode/aws/client.h"

struct cJSON;

/* ---- settings (endpoint.c) -------------------------------------------------- */

typedef struct {
    char *profile;
    char *region;                  /* the client's region (NULL only for global services) */
    char *signing_region;          /* the SigV4 scope's region */
    char *endpoint_url;            /* scheme://host[:port][/path] */
    int max_attempts;
} aws_settings;

/* Resolve region, endpoint and max attempts for svc as the aws CLI does
 * (options, then env, then the profile and its [services] section).
 * 0, or -1 with err (code "config") filled. */
int aws_settings_resolve(const lode_aws_service *svc, const lode_aws_client_opts *o, aws_settings *out,
                         lode_aws_error *err);
void aws_settings_free(aws_settings *s);

/* Fill e (op, code, message, status); the other fields are zeroed. */
void aws_error_set(lode_aws_error *e, const char *op, long status, const char *code, const char *message,
                   int retryable);

/* ---- Query protocol (query.c) ----------------------------------------------- */

/* The form body "Action=..&Version=..&A.B=..&L.member.1=.." of params (an
 * object or NULL), malloc'd; NULL with why filled when params is not an
 * object or memory runs out. */
char *aws_query_body(const char *action, const char *version, const struct cJSON *params, char *why,
                     size_t whylen);

/* Parse an XML document into the JSON shape of lode/aws/client.h (the root
 * element's content). NULL when it is not well-formed or nests deeper than 64. */
struct cJSON *aws_xml_parse(const char *s, size_t n);

/* The first object named `name` anywhere in j (depth first), or NULL. */
const struct cJSON *aws_json_find(const struct cJSON *j, const char *name);

#endif

/* lode/aws/client.h — a signed client for AWS service APIs (everything but
 * S3, which has its own client in lode/s3.h): SigV4 over runtime/http.c,
 * the Query protocol (STS, IAM, Redshift, SQS, SNS, CloudWatch: form
 * parameters in, XML out) and JSON 1.0/1.1 (Glue, Athena, Redshift Data,
 * Redshift Serverless, CloudWatch Logs: X-Amz-Target), retries in the AWS
 * SDKs' "standard" mode, region and endpoint resolved as the aws CLI does.
 *
 *   lode_aws_error e;
 *   lode_aws_client *c = lode_aws_client_new("glue", &(lode_aws_client_opts){0}, &e);
 *   cJSON *p = cJSON_Parse("{\"DatabaseName\":\"lake\"}");
 *   lode_aws_call *call = lode_aws_call_start(c, "GetTables", p, done, me, &e);
 *   cJSON_Delete(p);                                 // the call keeps what it needs
 *   static void done(lode_aws_call *call, void *ud) { // runs from a loop callback
 *       const lode_aws_error *err = lode_aws_call_error(call);   // NULL on success
 *       cJSON *result = lode_aws_call_take_result(call);         // caller owns it
 *       lode_aws_call_free(call);
 *   }
 *   lode_aws_client_release(c);                      // calls in flight keep it alive
 *
 * Parameters and results are JSON trees whatever the wire protocol: for
 * Query, an object becomes "A.B" parameters and an array "A.member.N"
 * (a key may also be given already flat, "Tags.member.1.Key"); the XML
 * answer becomes objects of strings, with <member> lists (and repeated
 * elements) as arrays and an empty element as an empty array. Every
 * callback runs on the loop thread and must not resume Lua (lode_op_done). */
#ifndef LODE_AWS_CLIENT_H
#define LODE_AWS_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>

struct cJSON;

typedef enum { LODE_AWS_QUERY, LODE_AWS_JSON } lode_aws_protocol;

/* One AWS service as the client speaks to it. */
typedef struct {
    const char *name;              /* the aws CLI's name: "glue", "redshift-data", "logs" */
    const char *service_id;        /* snake-case service id: AWS_ENDPOINT_URL_<UPPER>, [services] key */
    const char *signing_name;      /* SigV4 service name */
    const char *endpoint_prefix;   /* https://<prefix>.<region>.amazonaws.com */
    lode_aws_protocol protocol;
    const char *api_version;       /* Query: the Version parameter */
    const char *target_prefix;     /* JSON: X-Amz-Target is <prefix>.<Operation> */
    const char *json_version;      /* JSON: "1.0" or "1.1" */
    int global;                    /* 1: one endpoint per partition, signed for its first region (IAM);
                                    * 2: regional, but the global endpoint when no region is set (STS) */
} lode_aws_service;

/* The service named `name`, or NULL when lode does not speak it (unknown,
 * or a REST protocol such as lambda's: see lode_aws_service_unsupported). */
const lode_aws_service *lode_aws_service_find(const char *name);
/* Why a known service is refused ("lambda speaks REST-JSON ..."), or NULL. */
const char *lode_aws_service_unsupported(const char *name);

typedef struct {
    long status;                   /* HTTP status, 0 without a response */
    char code[128];                /* AWS error code ("ThrottlingException"), or "transport",
                                    * "timeout", "cancelled", "config", "credentials", "response" */
    char message[512];             /* AWS's message or the local reason; never a secret */
    char request_id[128];          /* x-amzn-RequestId / the RequestId element */
    char op[96];                   /* "glue.GetTables" */
    int retryable;                 /* the standard retry mode would retry it */
    int attempts;                  /* attempts made */
} lode_aws_error;

typedef struct {
    const char *region;            /* NULL: AWS_REGION, AWS_DEFAULT_REGION, the profile's region */
    const char *endpoint_url;      /* NULL: configured endpoints (env, config), else AWS's */
    const char *profile;           /* NULL: AWS_PROFILE or "default" */
    int max_attempts;              /* 0: AWS_MAX_ATTEMPTS, the profile's max_attempts, else 3 */
    int64_t retry_base_ms;         /* < 0: 1000 (the SDKs' 1 s); delay of retry n is
                                    * random(0,1) * min(base * 2^(n-1), 20 s); 0 in tests */
    long timeout_ms;               /* whole attempt; 0: 60000 */
} lode_aws_client_opts;

typedef struct lode_aws_client lode_aws_client;
typedef struct lode_aws_call lode_aws_call;
typedef void (*lode_aws_done_fn)(lode_aws_call *call, void *ud);

/* A client for `service` with region and endpoint resolved now (env and
 * ~/.aws/config read once). NULL with err filled when the service is
 * unknown or no region/endpoint can be resolved. */
lode_aws_client *lode_aws_client_new(const char *service, const lode_aws_client_opts *o, lode_aws_error *err);
/* Drop the creator's reference; the client lives until its last call is freed. */
void lode_aws_client_release(lode_aws_client *c);
/* The resolved endpoint URL, region (signing region) and service. */
const char *lode_aws_client_endpoint(const lode_aws_client *c);
const char *lode_aws_client_region(const lode_aws_client *c);
const lode_aws_service *lode_aws_client_service(const lode_aws_client *c);

/* Start `operation` with params (a JSON object, or NULL for none; not kept).
 * Returns the call (done runs later, once, on the loop), or NULL with err
 * filled when it cannot start (done is not called). */
lode_aws_call *lode_aws_call_start(lode_aws_client *c, const char *operation, const struct cJSON *params,
                                   lode_aws_done_fn done, void *ud, lode_aws_error *err);
/* Stop a call still running or waiting to retry; done runs now with "cancelled". */
void lode_aws_call_cancel(lode_aws_call *call);
/* Release a finished call (after done). */
void lode_aws_call_free(lode_aws_call *call);
/* NULL on success, else the structured error. */
const lode_aws_error *lode_aws_call_error(const lode_aws_call *call);
/* The parsed result (ownership passes to the caller; NULL after an error or a second take).
 * It carries ResponseMetadata {RequestId, HTTPStatusCode, RetryAttempts} as boto3 does. */
struct cJSON *lode_aws_call_take_result(lode_aws_call *call);
/* Attempts made so far. */
int lode_aws_call_attempts(const lode_aws_call *call);

/* Push the structured error table {op, code, message, retryable, status,
 * request_id, attempts} (the lode.error metatable). */
void lode_aws_push_error(lua_State *L, const lode_aws_error *e);

#endif

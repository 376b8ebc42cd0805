/* client.c — signed calls to AWS service APIs (Query and JSON protocols)
 * over runtime/http.c, with the AWS SDKs' standard retry mode:
 *   - at most max_attempts attempts (3 by default);
 *   - retried: connection failures and timeouts, HTTP 500/502/503/504, and
 *     the throttling and transient error codes botocore lists;
 *   - the delay before retry n is random(0,1) * min(base * 2^(n-1), 20 s)
 *     (base 1 s; the client's retry_base_ms changes it, 0 in tests);
 *   - a retry quota per client (500 tokens; a retry takes 5, 10 after a
 *     timeout; a success gives back what its retry took, or 1).
 * Owns: each client until its last reference, each call from
 * lode_aws_call_start to lode_aws_call_free (its backoff timer is freed in
 * the timer's close callback). Never logs or returns a secret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "lode.h"
#include "lode/http/http.h"
#include "lode/aws/sigv4.h"
#include "aws_internal.h"
#include "lode/aws/credentials.h"

#define QUOTA_MAX 500
#define QUOTA_RETRY_COST 5
#define QUOTA_TIMEOUT_COST 10
#define MAX_BACKOFF_MS 20000
#define MAX_RESPONSE (64u << 20)

struct lode_aws_client {
    int refs;                       /* the creator's, plus one per call not yet freed */
    const lode_aws_service *svc;
    aws_settings set;
    char *scheme;                   /* "http" / "https" */
    char *host;                     /* host[:port]: the Host header */
    char *path;                     /* the endpoint's path, "/" by default */
    int64_t base_ms;
    long timeout_ms;
    int quota;                      /* retry quota tokens left */
    lode_aws_creds_provider *chain; /* the shared chain of the profile (not owned) */
};

struct lode_aws_call {
    lode_aws_client *c;
    char *operation;
    char *body;
    size_t body_len;
    lode_aws_done_fn done;
    void *ud;
    lode_http *h;
    char *url;
    char **hdr_lines;
    size_t nhdr_lines;
    lode_aws_error err;
    int failed, cancelled, finished, starting;
    int attempts;
    int quota_held;                 /* tokens the last retry took from the quota */
    cJSON *result;
    lode_aws_creds_query *keys_wait; /* waiting on the chain */
    uv_timer_t timer;
    int timer_init;
};

/* ---- the client ------------------------------------------------------------------ */

lode_aws_client *lode_aws_client_new(const char *service, const lode_aws_client_opts *o, lode_aws_error *err)
{
    const lode_aws_service *svc = lode_aws_service_find(service);
    if (!svc) {
        const char *why = lode_aws_service_unsupported(service);
        char m[300];
        if (!why) snprintf(m, sizeof m, "unknown AWS service '%s' (lode.aws knows sts, iam, redshift, "
                           "redshift-serverless, redshift-data, glue, athena, cloudwatch, logs, sqs, sns, ...)", service);
        aws_error_set(err, service, 0, "config", why ? why : m, 0);
        return NULL;
    }
    lode_aws_client *c = calloc(1, sizeof *c);
    if (!c) {
        aws_error_set(err, service, 0, "internal", "out of memory", 0);
        return NULL;
    }
    c->refs = 1;
    c->svc = svc;
    c->quota = QUOTA_MAX;
    c->base_ms = o->retry_base_ms < 0 ? 1000 : o->retry_base_ms;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 60000;
    if (aws_settings_resolve(svc, o, &c->set, err) != 0) {
        free(c);
        return NULL;
    }
    const char *url = c->set.endpoint_url, *sep = strstr(url, "://");
    const char *h = sep + 3, *slash = strchr(h, '/');
    c->scheme = strndup(url, (size_t)(sep - url));
    c->host = slash ? strndup(h, (size_t)(slash - h)) : strdup(h);
    c->path = strdup(slash ? slash : "/");
    if (!c->scheme || !c->host || !c->path || !*c->host) {
        aws_error_set(err, service, 0, "config", "the AWS endpoint URL has no host", 0);
        lode_aws_client_release(c);
        return NULL;
    }
    lode_aws_creds_error ce;
    c->chain = lode_aws_creds_shared(o->profile && *o->profile ? o->profile : NULL, &ce);
    if (!c->chain) {
        aws_error_set(err, service, 0, "internal", ce.message, 0);
        lode_aws_client_release(c);
        return NULL;
    }
    return c;
}

static void client_unref(lode_aws_client *c)
{
    if (!c || --c->refs > 0) return;
    aws_settings_free(&c->set);
    free(c->scheme);
    free(c->host);
    free(c->path);
    free(c);
}

void lode_aws_client_release(lode_aws_client *c) { client_unref(c); }

const char *lode_aws_client_endpoint(const lode_aws_client *c) { return c->set.endpoint_url; }
const char *lode_aws_client_region(const lode_aws_client *c) { return c->set.signing_region; }
const lode_aws_service *lode_aws_client_service(const lode_aws_client *c) { return c->svc; }

/* ---- credentials -------------------------------------------------------------------- */

static void on_credentials(lode_aws_call *call, const lode_aws_credentials *cr, const char *why);

static void creds_arrived(lode_aws_call *call, lode_aws_creds *k, const lode_aws_creds_error *e)
{
    if (!k) {
        on_credentials(call, NULL, e->message);
        return;
    }
    on_credentials(call, &k->keys, NULL);
    lode_aws_creds_unref(k);
}

static void on_chain_creds(void *ud, lode_aws_creds *k, const lode_aws_creds_error *e)
{
    lode_aws_call *call = ud;
    call->keys_wait = NULL;
    creds_arrived(call, k, e);
}

/* The one place a call gets its credentials: the profile's shared chain
 * (lode/aws/credentials.h) — cached keys at once, else wait for the one
 * resolution or refresh every waiter shares. */
static void client_get_credentials(lode_aws_call *call)
{
    lode_aws_creds_provider *chain = call->c->chain;
    lode_aws_creds *k = lode_aws_creds_current(chain);
    if (k) {
        creds_arrived(call, k, NULL);
        return;
    }
    lode_aws_creds_error e;
    call->keys_wait = lode_aws_creds_get(chain, on_chain_creds, call, &e);
    if (!call->keys_wait) creds_arrived(call, NULL, &e);
}

/* ---- errors -------------------------------------------------------------------------- */

static int code_in(const char *code, const char *const *list)
{
    for (int i = 0; code && list[i]; i++)
        if (strcmp(code, list[i]) == 0) return 1;
    return 0;
}

/* botocore's standard mode: transient status codes, transient and throttling error codes. */
static int retryable_response(long status, const char *code)
{
    static const char *const throttling[] = {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException", NULL};
    static const char *const transient[] = {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
                                            NULL};
    if (status == 500 || status == 502 || status == 503 || status == 504) return 1;
    return code_in(code, throttling) || code_in(code, transient);
}

void lode_aws_push_error(lua_State *L, const lode_aws_error *e)
{
    lode_push_error(L, e->op, e->code, e->message[0] ? e->message : e->code, e->retryable);
    if (e->status) {
        lua_pushinteger(L, e->status);
        lua_setfield(L, -2, "status");
    }
    if (e->request_id[0]) {
        lua_pushstring(L, e->request_id);
        lua_setfield(L, -2, "request_id");
    }
    if (e->attempts) {
        lua_pushinteger(L, e->attempts);
        lua_setfield(L, -2, "attempts");
    }
}

/* ---- calls ---------------------------------------------------------------------------- */

static void call_set_error(lode_aws_call *call, long status, const char *code, const char *message, int retryable)
{
    char op[96];
    snprintf(op, sizeof op, "%s.%s", call->c->svc->name, call->operation);
    aws_error_set(&call->err, op, status, code, message, retryable);
    call->failed = 1;
}

static void free_attempt(lode_aws_call *call)
{
    for (size_t i = 0; i < call->nhdr_lines; i++) free(call->hdr_lines[i]);
    free(call->hdr_lines);
    call->hdr_lines = NULL;
    call->nhdr_lines = 0;
    free(call->url);
    call->url = NULL;
    lode_http_free(call->h);
    call->h = NULL;
}

static void finish(lode_aws_call *call)
{
    call->finished = 1;
    call->err.attempts = call->attempts;
    if (!call->starting && call->done) call->done(call, call->ud);
}

static void on_http_done(lode_http *h, void *ud);

/* Sign one attempt with creds at `now` and start it. */
static int attempt_send(lode_aws_call *call, const lode_aws_credentials *cr)
{
    lode_aws_client *c = call->c;
    const lode_aws_service *svc = c->svc;
    int64_t now = (int64_t)time(NULL);
    char date[17], hash[65], target[200], msg[256];
    lode_sigv4_amz_date(now, date);
    lode_sha256_hex(call->body, call->body_len, hash);
    const char *ctype = "application/x-www-form-urlencoded; charset=utf-8";
    char jtype[64];
    lode_kv hv[6];
    size_t k = 0;
    hv[k++] = (lode_kv){"host", c->host};
    hv[k++] = (lode_kv){"x-amz-date", date};
    if (svc->protocol == LODE_AWS_JSON) {
        snprintf(jtype, sizeof jtype, "application/x-amz-json-%s", svc->json_version);
        snprintf(target, sizeof target, "%s.%s", svc->target_prefix, call->operation);
        ctype = jtype;
        hv[k++] = (lode_kv){"x-amz-target", target};
    }
    hv[k++] = (lode_kv){"content-type", ctype};
    if (cr->session_token && *cr->session_token) hv[k++] = (lode_kv){"x-amz-security-token", cr->session_token};
    lode_sigv4_request sr = {
        .method = "POST", .path = c->path, .headers = hv, .nheaders = k, .payload_hash = hash,
        .region = c->set.signing_region, .service = svc->signing_name, .now = now, .normalize_path = 1,
    };
    lode_sigv4_result out;
    if (lode_sigv4_sign(&sr, cr, &out) != 0) return -1;
    char *epath = lode_uri_encode(c->path, strlen(c->path), 1);
    call->hdr_lines = calloc(k + 3, sizeof *call->hdr_lines);
    int rc = -1;
    if (!epath || !call->hdr_lines) goto done;
    for (size_t i = 0; i < k; i++)
        if (asprintf(&call->hdr_lines[call->nhdr_lines++], "%s: %s", i == 0 ? "Host" : hv[i].name, hv[i].value) < 0)
            goto done;
    if (asprintf(&call->hdr_lines[call->nhdr_lines++], "Authorization: %s", out.authorization) < 0) goto done;
    if (asprintf(&call->hdr_lines[call->nhdr_lines++], "User-Agent: lode/%s", LODE_VERSION) < 0) goto done;
    if (asprintf(&call->url, "%s://%s%s", c->scheme, c->host, epath) < 0) {
        call->url = NULL;
        goto done;
    }
    lode_http_opts ho = {
        .method = "POST", .url = call->url, .headers = (const char *const *)call->hdr_lines,
        .body = call->body, .body_len = (int64_t)call->body_len, .max_body = MAX_RESPONSE,
        .timeout_ms = c->timeout_ms, .on_done = on_http_done, .ud = call,
    };
    call->h = lode_http_start(&ho, msg, sizeof msg);
    if (!call->h) {
        call_set_error(call, 0, "transport", msg, 0);
        goto done;
    }
    call->attempts++;
    rc = 0;
done:
    lode_sigv4_result_free(&out);
    free(epath);
    return rc;
}

static void on_credentials(lode_aws_call *call, const lode_aws_credentials *cr, const char *why)
{
    if (!cr) {
        call_set_error(call, 0, "credentials", why, 0);
        finish(call);
        return;
    }
    if (attempt_send(call, cr) != 0) {
        if (!call->failed) call_set_error(call, 0, "internal", "out of memory", 0);
        finish(call);
    }
}

static void attempt_begin(lode_aws_call *call)
{
    free_attempt(call);
    call->failed = 0;
    client_get_credentials(call);
}

static void query_error(const char *body, size_t len, char *code, size_t codelen, char *msg, size_t msglen,
                        char *rid, size_t ridlen);

/* The error code of a JSON error answer: x-amzn-ErrorType or __type/code,
 * without its "namespace#" prefix or ":url" suffix. */
static void json_error(lode_aws_call *call, long status, const char *body, size_t len, char *code, size_t codelen,
                       char *msg, size_t msglen)
{
    const char *hdr = lode_http_header(call->h, "x-amzn-errortype");
    cJSON *j = cJSON_ParseWithLength(body, len);
    const char *raw = hdr;
    if (!raw) {
        static const char *const keys[] = {"__type", "code", "Code", NULL};
        for (int i = 0; !raw && keys[i]; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
            if (cJSON_IsString(v)) raw = v->valuestring;
        }
    }
    if (raw) {
        const char *hash = strrchr(raw, '#');
        if (hash) raw = hash + 1;
        snprintf(code, codelen, "%.*s", (int)strcspn(raw, ":"), raw);
    }
    static const char *const mkeys[] = {"message", "Message", "errorMessage", NULL};
    for (int i = 0; mkeys[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, mkeys[i]);
        if (cJSON_IsString(v)) {
            snprintf(msg, msglen, "%s", v->valuestring);
            break;
        }
    }
    (void)status;
    cJSON_Delete(j);
    /* an XML error document where JSON was due (moto's authentication errors) */
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) i++;
    if (!code[0] && i < len && body[i] == '<') query_error(body, len, code, codelen, msg, msglen, NULL, 0);
}

static void query_error(const char *body, size_t len, char *code, size_t codelen, char *msg, size_t msglen,
                        char *rid, size_t ridlen)
{
    cJSON *doc = aws_xml_parse(body, len);
    const cJSON *e = aws_json_find(doc, "Error");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "Code"), *m = cJSON_GetObjectItemCaseSensitive(e, "Message");
    const cJSON *r = aws_json_find(doc, "RequestId");
    if (!r) r = aws_json_find(doc, "RequestID");
    if (cJSON_IsString(c)) snprintf(code, codelen, "%s", c->valuestring);
    if (cJSON_IsString(m)) snprintf(msg, msglen, "%s", m->valuestring);
    if (rid && cJSON_IsString(r)) snprintf(rid, ridlen, "%s", r->valuestring);
    cJSON_Delete(doc);
}

/* The result of a 2xx answer, with ResponseMetadata; NULL when it does not parse. */
static cJSON *parse_result(lode_aws_call *call, const char *body, size_t len, char *rid, size_t ridlen)
{
    cJSON *result = NULL;
    if (call->c->svc->protocol == LODE_AWS_JSON) {
        size_t i = 0;
        while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) i++;
        result = i == len ? cJSON_CreateObject() : cJSON_ParseWithLength(body, len);
        if (result && !cJSON_IsObject(result)) {
            cJSON_Delete(result);
            return NULL;
        }
    } else {
        cJSON *doc = aws_xml_parse(body, len);
        if (!doc) return NULL;
        const cJSON *r = aws_json_find(doc, "RequestId");
        if (cJSON_IsString(r)) snprintf(rid, ridlen, "%s", r->valuestring);
        char name[200];
        snprintf(name, sizeof name, "%sResult", call->operation);
        result = cJSON_IsObject(doc) ? cJSON_DetachItemFromObjectCaseSensitive(doc, name) : NULL;
        cJSON_Delete(doc);
        if (result && !cJSON_IsObject(result)) {     /* an empty <XResult/> */
            cJSON_Delete(result);
            result = NULL;
        }
        if (!result) result = cJSON_CreateObject();
    }
    return result;
}

/* Turn a finished attempt into call->result or call->err. */
static void classify(lode_aws_call *call)
{
    const char *why = lode_http_error(call->h);
    long status = lode_http_status(call->h);
    char op[96];
    snprintf(op, sizeof op, "%s.%s", call->c->svc->name, call->operation);
    if (why) {
        call->cancelled = call->cancelled || lode_http_cancelled(call->h);
        int timeout = lode_http_timed_out(call->h);
        call_set_error(call, 0, call->cancelled ? "cancelled" : timeout ? "timeout" : "transport", why,
                       !call->cancelled);
        return;
    }
    size_t len;
    const char *body = lode_http_body(call->h, &len);
    char rid[128] = "", code[128] = "", msg[512] = "";
    const char *hrid = lode_http_header(call->h, "x-amzn-requestid");
    if (!hrid) hrid = lode_http_header(call->h, "x-amz-request-id");
    if (hrid) snprintf(rid, sizeof rid, "%s", hrid);
    if (status >= 200 && status < 300) {
        cJSON *result = parse_result(call, body, len, rid, sizeof rid);
        cJSON *meta = result ? cJSON_CreateObject() : NULL;
        if (!meta) {
            cJSON_Delete(result);
            snprintf(msg, sizeof msg, "%s answered HTTP %ld with a body that is not %s", op, status,
                     call->c->svc->protocol == LODE_AWS_JSON ? "a JSON object" : "well-formed XML");
            call_set_error(call, status, "response", msg, 0);
            snprintf(call->err.request_id, sizeof call->err.request_id, "%s", rid);
            return;
        }
        cJSON_AddStringToObject(meta, "RequestId", rid);
        cJSON_AddNumberToObject(meta, "HTTPStatusCode", (double)status);
        cJSON_AddNumberToObject(meta, "RetryAttempts", (double)(call->attempts - 1));
        cJSON_DeleteItemFromObjectCaseSensitive(result, "ResponseMetadata");
        cJSON_AddItemToObject(result, "ResponseMetadata", meta);
        cJSON_Delete(call->result);
        call->result = result;
        return;
    }
    if (call->c->svc->protocol == LODE_AWS_JSON) json_error(call, status, body, len, code, sizeof code, msg, sizeof msg);
    else query_error(body, len, code, sizeof code, msg, sizeof msg, rid, sizeof rid);   /* the body's RequestId wins */
    if (!code[0]) snprintf(code, sizeof code, "HTTPError");
    if (!msg[0]) snprintf(msg, sizeof msg, "HTTP %ld from %s", status, op);
    call_set_error(call, status, code, msg, retryable_response(status, code));
    snprintf(call->err.request_id, sizeof call->err.request_id, "%s", rid);
}

static void on_backoff(uv_timer_t *t)
{
    attempt_begin(t->data);
}

static void on_http_done(lode_http *h, void *ud)
{
    lode_aws_call *call = ud;
    lode_aws_client *c = call->c;
    (void)h;
    classify(call);
    if (!call->failed) {
        c->quota += call->quota_held ? call->quota_held : 1;
        if (c->quota > QUOTA_MAX) c->quota = QUOTA_MAX;
        finish(call);
        return;
    }
    if (!call->err.retryable || call->cancelled || call->attempts >= c->set.max_attempts) {
        finish(call);
        return;
    }
    int cost = strcmp(call->err.code, "timeout") == 0 ? QUOTA_TIMEOUT_COST : QUOTA_RETRY_COST;
    if (c->quota < cost) {
        lode_logf(LODE_LOG_DEBUG, "aws: %s: %s, not retried: the retry quota is spent", call->err.op, call->err.code);
        finish(call);
        return;
    }
    c->quota -= cost;
    call->quota_held = cost;
    int64_t ceiling = c->base_ms << (call->attempts - 1 < 20 ? call->attempts - 1 : 20);
    if (ceiling > MAX_BACKOFF_MS || ceiling < 0) ceiling = MAX_BACKOFF_MS;
    uint64_t delay = (uint64_t)(((double)rand() / RAND_MAX) * (double)ceiling);
    lode_logf(LODE_LOG_DEBUG, "aws: %s: %s (HTTP %ld), attempt %d of %d, retry in %llu ms", call->err.op,
              call->err.code, call->err.status, call->attempts, c->set.max_attempts, (unsigned long long)delay);
    if (!call->timer_init) {
        uv_timer_init(lode_loop(), &call->timer);
        call->timer.data = call;
        call->timer_init = 1;
    }
    uv_timer_start(&call->timer, on_backoff, delay, 0);
}

lode_aws_call *lode_aws_call_start(lode_aws_client *c, const char *operation, const cJSON *params,
                                   lode_aws_done_fn done, void *ud, lode_aws_error *err)
{
    char op[96], why[200];
    snprintf(op, sizeof op, "%s.%s", c->svc->name, operation);
    for (const char *p = operation; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
            aws_error_set(err, op, 0, "config", "an operation name is letters and digits (GetTables)", 0);
            return NULL;
        }
    lode_aws_call *call = calloc(1, sizeof *call);
    if (!call) goto oom;
    call->c = c;
    c->refs++;
    call->done = done;
    call->ud = ud;
    call->operation = strdup(operation);
    if (!call->operation) goto oom;
    if (c->svc->protocol == LODE_AWS_QUERY) {
        call->body = aws_query_body(operation, c->svc->api_version, params, why, sizeof why);
        if (!call->body) {
            aws_error_set(err, op, 0, strcmp(why, "out of memory") ? "config" : "internal", why, 0);
            lode_aws_call_free(call);
            return NULL;
        }
    } else if (params && cJSON_IsArray(params) && !params->child) {
        call->body = strdup("{}");
    } else if (params && !cJSON_IsObject(params)) {
        aws_error_set(err, op, 0, "config", "parameters must be a table of names to values", 0);
        lode_aws_call_free(call);
        return NULL;
    } else {
        char *text = params ? cJSON_PrintUnformatted(params) : NULL;
        call->body = strdup(text ? text : "{}");
        if (params && !text) {
            free(call->body);
            call->body = NULL;
        }
        cJSON_free(text);
    }
    if (!call->body) goto oom;
    call->body_len = strlen(call->body);
    call->starting = 1;
    attempt_begin(call);
    call->starting = 0;
    if (call->finished) {               /* failed before anything was sent */
        *err = call->err;
        lode_aws_call_free(call);
        return NULL;
    }
    return call;
oom:
    aws_error_set(err, op, 0, "internal", "out of memory", 0);
    lode_aws_call_free(call);
    return NULL;
}

void lode_aws_call_cancel(lode_aws_call *call)
{
    if (!call || call->finished) return;
    call->cancelled = 1;
    if (call->h && !lode_http_error(call->h) && lode_http_status(call->h) == 0) {
        lode_http_cancel(call->h);      /* on_http_done -> finish */
        return;
    }
    if (call->timer_init) uv_timer_stop(&call->timer);
    lode_aws_creds_cancel(call->keys_wait);
    call->keys_wait = NULL;
    call_set_error(call, 0, "cancelled", "cancelled", 0);
    finish(call);
}

static void timer_closed(uv_handle_t *h) { free(h->data); }

void lode_aws_call_free(lode_aws_call *call)
{
    if (!call) return;
    lode_aws_creds_cancel(call->keys_wait);
    free_attempt(call);
    free(call->operation);
    free(call->body);
    cJSON_Delete(call->result);
    client_unref(call->c);
    if (call->timer_init) uv_close((uv_handle_t *)&call->timer, timer_closed);
    else free(call);
}

const lode_aws_error *lode_aws_call_error(const lode_aws_call *call) { return call->failed ? &call->err : NULL; }
int lode_aws_call_attempts(const lode_aws_call *call) { return call->attempts; }

cJSON *lode_aws_call_take_result(lode_aws_call *call)
{
    if (call->failed) return NULL;
    cJSON *r = call->result;
    call->result = NULL;
    return r;
}

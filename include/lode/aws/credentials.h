/* lode/aws/credentials.h — AWS credentials the way botocore finds them, on
 * the lode loop: a chain of providers tried in botocore's order, wrapped in
 * a cache that refreshes temporary credentials before they expire.
 *
 *   lode_aws_creds_error e;
 *   lode_aws_creds_provider *p = lode_aws_creds_chain_new(&(lode_aws_chain_opts){0}, &e);
 *   lode_aws_creds *c = lode_aws_creds_current(p);          // fresh cached: no wait
 *   if (!c) q = lode_aws_creds_get(p, on_creds, me, &e);     // else wait (async)
 *   static void on_creds(void *ud, lode_aws_creds *c, const lode_aws_creds_error *e) {
 *       // c == NULL: e->code, e->message (every provider tried and why)
 *       // else: sign with &c->keys, then lode_aws_creds_unref(c)
 *   }
 *
 * Order (botocore's create_credential_resolver): env, assume-role (profile
 * role_arn), assume-role-with-web-identity, sso, shared-credentials-file,
 * custom-process, config-file, container-role, iam-role. A provider that is
 * not configured is skipped; one that is configured but fails stops the
 * chain with its error, as botocore does. sso reads the token `aws sso
 * login` cached and never refreshes it; mfa_serial on a role is refused
 * ("MfaRequired").
 *
 * Refresh: credentials with an expiration are refreshed by the provider
 * that produced them. Inside the advisory window (default 15 min before
 * expiry) callers keep the current credentials while one refresh runs in
 * the background (a failed advisory refresh keeps them); inside the
 * mandatory window (default 10 min) every caller waits for that same one
 * refresh. Many waiters always share one refresh.
 *
 * Secrets: no function here logs, and no error message contains, a secret
 * access key, session token, web identity token, SSO access token or the
 * output of credential_process. Every callback runs from a loop callback,
 * never inside the call that started it, and must not resume Lua itself. */
#ifndef LODE_AWS_CREDENTIALS_H
#define LODE_AWS_CREDENTIALS_H

#include <stddef.h>
#include <stdint.h>

#include "lode/aws/sigv4.h"

/* Immutable, reference-counted credentials. */
typedef struct lode_aws_creds {
    lode_aws_credentials keys;     /* access_key_id, secret_access_key, session_token (NULL if none) */
    int64_t expiration;            /* Unix seconds; 0 when they do not expire */
    const char *provider;          /* botocore's method name: "env", "assume-role",
                                    * "assume-role-with-web-identity", "sso",
                                    * "shared-credentials-file", "custom-process",
                                    * "config-file", "container-role", "iam-role", "explicit" */
    int refs;                      /* private: use lode_aws_creds_ref / _unref */
} lode_aws_creds;

typedef struct {
    char code[64];                 /* "NoCredentials", "PartialCredentials", "ProfileNotFound",
                                    * "InvalidConfig", "MfaRequired", "CredentialRetrievalError",
                                    * "OutOfMemory" */
    char provider[48];             /* the provider that failed, "" for NoCredentials */
    char message[1024];            /* names each provider tried and why; never a secret */
    int retryable;                 /* transport failures and 5xx of a credential endpoint */
} lode_aws_creds_error;

typedef struct lode_aws_creds_provider lode_aws_creds_provider;
typedef struct lode_aws_creds_query lode_aws_creds_query;

/* Exactly one of creds and err is non-NULL; creds is a reference the
 * callback owns (lode_aws_creds_unref). */
typedef void (*lode_aws_creds_cb)(void *ud, lode_aws_creds *creds, const lode_aws_creds_error *err);

typedef struct {
    const char *profile;           /* NULL: AWS_PROFILE, else "default". An explicit profile
                                    * (not NULL) skips the environment keys, as botocore's
                                    * Session(profile=...) does. */
    int64_t advisory_refresh_s;    /* refresh in the background this long before expiry; 0: 900 */
    int64_t mandatory_refresh_s;   /* every caller waits for a refresh this long before expiry; 0: 600 */
    long imds_timeout_ms;          /* per IMDS / container request; 0: 1000 (botocore's default) */
} lode_aws_chain_opts;

/* The default chain with a refreshing cache. Reads nothing yet (the first
 * get resolves). NULL with err only when out of memory. */
lode_aws_creds_provider *lode_aws_creds_chain_new(const lode_aws_chain_opts *o, lode_aws_creds_error *err);

/* The process's one chain for `profile` (NULL: the default chain, as
 * lode_aws_creds_chain_new with profile NULL), created on first use and
 * shared by the S3 client and every lode.aws client, so they share one
 * cache and one refresh. Freed at shutdown; lode_aws_creds_provider_free
 * on it does nothing. NULL with err only when out of memory. */
lode_aws_creds_provider *lode_aws_creds_shared(const char *profile, lode_aws_creds_error *err);

/* Change the refresh windows (seconds; 0 keeps the current value). The
 * documented way to make short-lived credentials testable. */
void lode_aws_creds_set_windows(lode_aws_creds_provider *p, int64_t advisory_s, int64_t mandatory_s);

/* A provider that always answers these keys (provider name "explicit"). */
lode_aws_creds_provider *lode_aws_creds_static_new(const char *access_key_id, const char *secret_access_key,
                                                   const char *session_token, lode_aws_creds_error *err);

/* Free a provider: pending queries are dropped (never called back), and
 * running fetches (HTTP requests, a credential_process child) are stopped. */
void lode_aws_creds_provider_free(lode_aws_creds_provider *p);

/* Cached credentials that are outside the mandatory window, as a new
 * reference, or NULL (then call lode_aws_creds_get). Inside the advisory
 * window this also starts the one background refresh. Never blocks. */
lode_aws_creds *lode_aws_creds_current(lode_aws_creds_provider *p);

/* Ask for credentials; cb runs once, later, from a loop callback. Returns
 * the query (to cancel), or NULL with err filled when it cannot start
 * (cb is then never called). */
lode_aws_creds_query *lode_aws_creds_get(lode_aws_creds_provider *p, lode_aws_creds_cb cb, void *ud,
                                         lode_aws_creds_error *err);

/* Withdraw a query whose callback has not run: it never will. The shared
 * refresh keeps running for the other waiters. Frees q. */
void lode_aws_creds_cancel(lode_aws_creds_query *q);

lode_aws_creds *lode_aws_creds_ref(lode_aws_creds *c);
/* Drop a reference; the last one wipes the secret and frees. NULL is fine. */
void lode_aws_creds_unref(lode_aws_creds *c);

#endif

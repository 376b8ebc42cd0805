/* credentials.c — the provider chain and its refreshing cache.
 *
 * A provider is a list of sources tried in botocore's order and the
 * credentials the winning source produced. A refresh re-runs only that
 * source (as botocore's RefreshableCredentials do); the first resolution
 * walks the chain, collecting why each skipped source was not configured so
 * that "no credentials" names them all. At most one resolution runs at a
 * time; every query that arrives meanwhile waits for it (many waiters, one
 * refresh). Queries are answered from the kick timer or from a source's
 * completion, never inside lode_aws_creds_get.
 * Owns: the sources, the cached credentials, the queries (freed after their
 * callback or on cancel) and the kick timer (freed in its close callback). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include <cjson/cJSON.h>

#include "credentials_internal.h"
#include "lode/core/task.h"
#include "lode/http/http.h"
#include "lode/aws/config.h"

/* ---- credentials and results ------------------------------------------------ */

lode_aws_creds *lode_aws_creds_ref(lode_aws_creds *c)
{
    if (c) c->refs++;
    return c;
}

void creds_wipe_free(char *s)
{
    if (!s) return;
    memset(s, 0, strlen(s));
    free(s);
}

void lode_aws_creds_unref(lode_aws_creds *c)
{
    if (!c || --c->refs > 0) return;
    free((char *)c->keys.access_key_id);
    creds_wipe_free((char *)c->keys.secret_access_key);
    creds_wipe_free((char *)c->keys.session_token);
    free(c);
}

static lode_aws_creds *creds_new(const char *provider, const char *akid, const char *secret, const char *token,
                                 int64_t expiration)
{
    lode_aws_creds *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->refs = 1;
    c->provider = provider;
    c->expiration = expiration;
    c->keys.access_key_id = strdup(akid);
    c->keys.secret_access_key = strdup(secret);
    c->keys.session_token = token && *token ? strdup(token) : NULL;
    if (!c->keys.access_key_id || !c->keys.secret_access_key || (token && *token && !c->keys.session_token)) {
        lode_aws_creds_unref(c);
        return NULL;
    }
    return c;
}

void creds_skip(creds_result *r, const char *fmt, ...)
{
    memset(r, 0, sizeof *r);
    r->rc = CREDS_SKIP;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
}

void creds_fail(creds_result *r, const char *code, int retryable, const char *fmt, ...)
{
    memset(r, 0, sizeof *r);
    r->rc = CREDS_FAIL;
    snprintf(r->code, sizeof r->code, "%s", code);
    r->retryable = retryable;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
}

void creds_found(creds_result *r, const char *provider, const char *akid, const char *secret, const char *token,
                 int64_t expiration)
{
    memset(r, 0, sizeof *r);
    r->creds = creds_new(provider, akid, secret, token, expiration);
    if (!r->creds) {
        creds_fail(r, "OutOfMemory", 0, "out of memory");
        return;
    }
    r->rc = CREDS_FOUND;
}

/* Format into a fixed buffer, truncating (messages are bounded). */
static void msgf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void msgf(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, n, fmt, ap);
    va_end(ap);
}

/* ---- the provider ------------------------------------------------------------- */

typedef struct {
    lode_aws_creds_query *head, *tail;
} qlist;

struct lode_aws_creds_query {
    lode_aws_creds_provider *p;
    lode_aws_creds_cb cb;
    void *ud;
    qlist *list;
    lode_aws_creds_query *prev, *next;
};

struct lode_aws_creds_provider {
    creds_source **src;
    size_t nsrc;
    lode_aws_chain_opts opts;
    char *profile;
    lode_aws_creds *cur;           /* cached, NULL before the first success */
    int winner;                    /* index of the source of cur, -1 */
    int resolving;                 /* a resolution is running */
    size_t pos;                    /* source being tried */
    void *fetch;                   /* its async handle */
    char tried[1024];              /* "env: ...; shared-credentials-file: ..." */
    qlist waiters;
    uv_timer_t *kick;
    int want_refresh;              /* advisory refresh asked by lode_aws_creds_current */
    int delivering, dead;          /* freed from inside a callback */
    int named;                     /* the profile was named (argument or environment) */
    int shared;                    /* owned by the process's shared chains (lode_aws_creds_shared) */
};

static void q_remove(lode_aws_creds_query *q)
{
    qlist *l = q->list;
    if (!l) return;
    if (q->prev) q->prev->next = q->next;
    else l->head = q->next;
    if (q->next) q->next->prev = q->prev;
    else l->tail = q->prev;
    q->prev = q->next = NULL;
    q->list = NULL;
}

static void q_append(qlist *l, lode_aws_creds_query *q)
{
    q->list = l;
    q->next = NULL;
    q->prev = l->tail;
    if (l->tail) l->tail->next = q;
    else l->head = q;
    l->tail = q;
}

static void provider_destroy(lode_aws_creds_provider *p);

/* Answer every waiter with creds or err. Callbacks may get, cancel or free p. */
static void deliver(lode_aws_creds_provider *p, lode_aws_creds *creds, const lode_aws_creds_error *err)
{
    qlist now = p->waiters;
    p->waiters.head = p->waiters.tail = NULL;
    for (lode_aws_creds_query *q = now.head; q; q = q->next) q->list = &now;
    p->delivering++;
    lode_aws_creds_query *q;
    while ((q = now.head)) {
        q_remove(q);
        if (creds) q->cb(q->ud, lode_aws_creds_ref(creds), NULL);
        else q->cb(q->ud, NULL, err);
        free(q);
    }
    p->delivering--;
    if (p->dead && !p->delivering) provider_destroy(p);
}

static int64_t window_ms(int64_t s, int64_t def_s) { return (s > 0 ? s : def_s) * 1000; }

/* 0: fresh, 1: inside the advisory window, 2: inside the mandatory window or none. */
static int freshness(const lode_aws_creds_provider *p)
{
    if (!p->cur) return 2;
    if (p->cur->expiration == 0) return 0;
    int64_t left = p->cur->expiration * 1000 - creds_now_ms();
    if (left <= window_ms(p->opts.mandatory_refresh_s, 600)) return 2;
    if (left <= window_ms(p->opts.advisory_refresh_s, 900)) return 1;
    return 0;
}

static void resolve_step(lode_aws_creds_provider *p);

static void resolution_failed(lode_aws_creds_provider *p, const lode_aws_creds_error *e)
{
    p->resolving = 0;
    if (freshness(p) < 2) {        /* an advisory refresh failed: keep what we have */
        lode_aws_creds *c = lode_aws_creds_ref(p->cur);
        deliver(p, c, NULL);
        lode_aws_creds_unref(c);
        return;
    }
    deliver(p, NULL, e);
}

/* Handle one source's answer; returns 1 when the resolution is over. */
static int source_answered(lode_aws_creds_provider *p, creds_result *res)
{
    creds_source *s = p->src[p->pos];
    if (res->rc == CREDS_FOUND) {
        lode_aws_creds_unref(p->cur);
        p->cur = res->creds;
        res->creds = NULL;
        p->winner = (int)p->pos;
        p->resolving = 0;
        lode_aws_creds *c = lode_aws_creds_ref(p->cur);
        deliver(p, c, NULL);
        lode_aws_creds_unref(c);
        return 1;
    }
    lode_aws_creds_error e = {0};
    if (res->rc == CREDS_SKIP && p->winner < 0) {
        size_t n = strlen(p->tried);
        msgf(p->tried + n, sizeof p->tried - n, "%s%s: %s", n ? "; " : "", s->name, res->why);
        if (++p->pos < p->nsrc) return 0;
        snprintf(e.code, sizeof e.code, "NoCredentials");
        msgf(e.message, sizeof e.message, "no AWS credentials (profile '%s'); tried %s", p->profile, p->tried);
    } else {
        snprintf(e.code, sizeof e.code, "%s", res->rc == CREDS_SKIP ? "CredentialRetrievalError" : res->code);
        snprintf(e.provider, sizeof e.provider, "%s", s->name);
        msgf(e.message, sizeof e.message, "AWS credentials from %s (profile '%s'): %s%s", s->name,
                 p->profile, res->rc == CREDS_SKIP ? "no longer configured: " : "", res->why);
        e.retryable = res->retryable;
    }
    resolution_failed(p, &e);
    return 1;
}

static void source_async_done(void *ud, creds_result *res)
{
    lode_aws_creds_provider *p = ud;
    p->fetch = NULL;
    if (source_answered(p, res)) return;
    resolve_step(p);
}

/* Try sources from p->pos until one answers or one is pending. */
static void resolve_step(lode_aws_creds_provider *p)
{
    while (p->pos < p->nsrc) {
        creds_source *s = p->src[p->pos];
        creds_result res;
        memset(&res, 0, sizeof res);
        if (s->resolve) {
            s->resolve(s, &res);
        } else {
            void *h = s->start(s, source_async_done, p, &res);
            if (h) {
                p->fetch = h;
                return;
            }
        }
        if (source_answered(p, &res)) return;
    }
}

static void resolve_start(lode_aws_creds_provider *p)
{
    if (p->resolving) return;
    p->resolving = 1;
    p->tried[0] = '\0';
    if (p->winner >= 0) {
        p->pos = (size_t)p->winner;
        creds_source *s = p->src[p->pos];
        creds_result res;
        memset(&res, 0, sizeof res);
        if (s->resolve) s->resolve(s, &res);
        else {
            void *h = s->start(s, source_async_done, p, &res);
            if (h) {
                p->fetch = h;
                return;
            }
        }
        source_answered(p, &res);
        return;
    }
    p->pos = 0;
    if (p->named) {
        creds_profiles pr;
        char why[512];
        lode_aws_creds_error e = {0};
        if (creds_profiles_load(&pr, why, sizeof why) != 0) {
            snprintf(e.code, sizeof e.code, "InvalidConfig");
            msgf(e.message, sizeof e.message, "AWS config: %s", why);
        } else {
            if (!creds_ini_section(&pr.profiles, p->profile)) {
                snprintf(e.code, sizeof e.code, "ProfileNotFound");
                msgf(e.message, sizeof e.message, "AWS profile '%s' is in neither %s nor %s", p->profile,
                     pr.config_path ? pr.config_path : "~/.aws/config",
                     pr.credentials_path ? pr.credentials_path : "~/.aws/credentials");
            }
            creds_profiles_free(&pr);
        }
        if (e.code[0]) {
            resolution_failed(p, &e);
            return;
        }
    }
    resolve_step(p);
}

static void on_kick(uv_timer_t *t)
{
    lode_aws_creds_provider *p = t->data;
    int f = freshness(p);
    p->delivering++;               /* p outlives the callbacks below */
    if (f < 2 && p->waiters.head) {
        lode_aws_creds *c = lode_aws_creds_ref(p->cur);
        deliver(p, c, NULL);
        lode_aws_creds_unref(c);
    }
    if (!p->dead && !p->resolving && (f == 2 || (f == 1 && p->want_refresh))) {
        p->want_refresh = 0;
        resolve_start(p);
    }
    p->delivering--;
    if (p->dead && !p->delivering) provider_destroy(p);
}

static void kick(lode_aws_creds_provider *p)
{
    uv_timer_start(p->kick, on_kick, 0, 0);
}

static void kick_closed(uv_handle_t *h) { free(h); }

static lode_aws_creds_provider *provider_new(const lode_aws_chain_opts *o, lode_aws_creds_error *err)
{
    lode_aws_creds_provider *p = calloc(1, sizeof *p);
    if (!p) goto oom;
    if (o) p->opts = *o;
    p->winner = -1;
    /* botocore's "profile" setting: AWS_DEFAULT_PROFILE, then AWS_PROFILE; a
     * named profile (even "default", even "") must exist */
    const char *prof = o && o->profile ? o->profile : lode_aws_env_profile();
    p->named = prof != NULL;
    p->profile = strdup(prof ? prof : "default");
    p->opts.profile = o && o->profile ? p->profile : NULL;
    p->kick = malloc(sizeof *p->kick);
    if (!p->profile || !p->kick) goto oom;
    uv_timer_init(lode_loop(), p->kick);
    p->kick->data = p;
    return p;
oom:
    if (p) {
        free(p->profile);
        free(p->kick);
        free(p);
    }
    if (err) {
        memset(err, 0, sizeof *err);
        snprintf(err->code, sizeof err->code, "OutOfMemory");
        snprintf(err->message, sizeof err->message, "out of memory");
    }
    return NULL;
}

static int provider_add(lode_aws_creds_provider *p, creds_source *s)
{
    if (!s) return -1;
    creds_source **ns = realloc(p->src, (p->nsrc + 1) * sizeof *ns);
    if (!ns) {
        s->free(s);
        return -1;
    }
    p->src = ns;
    s->profile = p->profile;
    s->opts = &p->opts;
    p->src[p->nsrc++] = s;
    return 0;
}

lode_aws_creds_provider *lode_aws_creds_chain_new(const lode_aws_chain_opts *o, lode_aws_creds_error *err)
{
    lode_aws_creds_provider *p = provider_new(o, err);
    if (!p) return NULL;
    /* botocore: env (unless a profile was given explicitly), assume-role,
     * assume-role-with-web-identity, sso, shared-credentials-file,
     * custom-process, config-file, container-role, iam-role */
    int explicit_profile = o && o->profile;
    if ((!explicit_profile && provider_add(p, creds_source_env()) != 0) ||
        provider_add(p, creds_source_assume_role()) != 0 ||
        provider_add(p, creds_source_web_identity()) != 0 ||
        provider_add(p, creds_source_sso()) != 0 ||
        provider_add(p, creds_source_shared_file()) != 0 ||
        provider_add(p, creds_source_process()) != 0 ||
        provider_add(p, creds_source_config_file()) != 0 ||
        provider_add(p, creds_source_container()) != 0 ||
        provider_add(p, creds_source_imds()) != 0) {
        lode_aws_creds_provider_free(p);
        if (err) {
            memset(err, 0, sizeof *err);
            snprintf(err->code, sizeof err->code, "OutOfMemory");
            snprintf(err->message, sizeof err->message, "out of memory");
        }
        return NULL;
    }
    return p;
}

lode_aws_creds_provider *creds_sub_provider_new(const char *profile, int kind, const lode_aws_chain_opts *base)
{
    lode_aws_chain_opts o = base ? *base : (lode_aws_chain_opts){0};
    o.profile = profile;
    lode_aws_creds_provider *p = provider_new(&o, NULL);
    if (!p) return NULL;
    int rc = 0;
    switch (kind) {
    case CREDS_SUB_PROFILE:        /* botocore's ProfileProviderBuilder, environment disabled */
        rc = provider_add(p, creds_source_web_identity()) || provider_add(p, creds_source_sso()) ||
             provider_add(p, creds_source_shared_file()) || provider_add(p, creds_source_process()) ||
             provider_add(p, creds_source_config_file());
        break;
    case CREDS_SUB_ROLE: rc = provider_add(p, creds_source_assume_role()); break;
    case CREDS_SUB_ENV: rc = provider_add(p, creds_source_env()); break;
    case CREDS_SUB_IMDS: rc = provider_add(p, creds_source_imds()); break;
    default: rc = provider_add(p, creds_source_container()); break;
    }
    if (rc) {
        lode_aws_creds_provider_free(p);
        return NULL;
    }
    return p;
}

lode_aws_creds_provider *lode_aws_creds_static_new(const char *access_key_id, const char *secret_access_key,
                                                   const char *session_token, lode_aws_creds_error *err)
{
    lode_aws_creds_provider *p = provider_new(NULL, err);
    if (!p) return NULL;
    p->cur = creds_new("explicit", access_key_id ? access_key_id : "", secret_access_key ? secret_access_key : "",
                       session_token, 0);
    if (!p->cur) {
        lode_aws_creds_provider_free(p);
        if (err) {
            memset(err, 0, sizeof *err);
            snprintf(err->code, sizeof err->code, "OutOfMemory");
            snprintf(err->message, sizeof err->message, "out of memory");
        }
        return NULL;
    }
    return p;
}

static void provider_destroy(lode_aws_creds_provider *p)
{
    lode_aws_creds_query *q;
    while ((q = p->waiters.head)) {
        q_remove(q);
        free(q);
    }
    for (size_t i = 0; i < p->nsrc; i++) p->src[i]->free(p->src[i]);
    free(p->src);
    lode_aws_creds_unref(p->cur);
    free(p->profile);
    uv_close((uv_handle_t *)p->kick, kick_closed);
    free(p);
}

void lode_aws_creds_provider_free(lode_aws_creds_provider *p)
{
    if (!p || p->dead || p->shared) return;
    if (p->fetch) {
        p->src[p->pos]->cancel(p->fetch);
        p->fetch = NULL;
    }
    p->resolving = 0;
    lode_aws_creds_query *q;
    while ((q = p->waiters.head)) {
        q_remove(q);
        free(q);
    }
    uv_timer_stop(p->kick);
    p->dead = 1;
    if (!p->delivering) provider_destroy(p);
}

void lode_aws_creds_set_windows(lode_aws_creds_provider *p, int64_t advisory_s, int64_t mandatory_s)
{
    if (advisory_s > 0) p->opts.advisory_refresh_s = advisory_s;
    if (mandatory_s > 0) p->opts.mandatory_refresh_s = mandatory_s;
}

lode_aws_creds *lode_aws_creds_current(lode_aws_creds_provider *p)
{
    int f = freshness(p);
    if (f == 2) return NULL;
    if (f == 1 && !p->resolving && !p->want_refresh) {
        p->want_refresh = 1;
        kick(p);
    }
    return lode_aws_creds_ref(p->cur);
}

lode_aws_creds_query *lode_aws_creds_get(lode_aws_creds_provider *p, lode_aws_creds_cb cb, void *ud,
                                         lode_aws_creds_error *err)
{
    lode_aws_creds_query *q = calloc(1, sizeof *q);
    if (!q) {
        if (err) {
            memset(err, 0, sizeof *err);
            snprintf(err->code, sizeof err->code, "OutOfMemory");
            snprintf(err->message, sizeof err->message, "out of memory");
        }
        return NULL;
    }
    q->p = p;
    q->cb = cb;
    q->ud = ud;
    q_append(&p->waiters, q);
    if (!p->resolving) kick(p);
    return q;
}

void lode_aws_creds_cancel(lode_aws_creds_query *q)
{
    if (!q) return;
    q_remove(q);
    free(q);
}

/* ---- shared chains: one per profile for the whole process ------------------------------ */

typedef struct shared_chain {
    struct shared_chain *next;
    char *profile;                 /* NULL: the default chain (environment, AWS_PROFILE) */
    lode_aws_creds_provider *p;
} shared_chain;

static shared_chain *shared_chains;

static void shared_chains_free(void *ud)
{
    (void)ud;
    while (shared_chains) {
        shared_chain *s = shared_chains;
        shared_chains = s->next;
        s->p->shared = 0;
        lode_aws_creds_provider_free(s->p);
        free(s->profile);
        free(s);
    }
}

lode_aws_creds_provider *lode_aws_creds_shared(const char *profile, lode_aws_creds_error *err)
{
    for (shared_chain *s = shared_chains; s; s = s->next)
        if (profile ? s->profile && strcmp(s->profile, profile) == 0 : !s->profile) return s->p;
    shared_chain *s = calloc(1, sizeof *s);
    if (!s || (profile && !(s->profile = strdup(profile)))) {
        free(s);
        if (err) {
            memset(err, 0, sizeof *err);
            snprintf(err->code, sizeof err->code, "OutOfMemory");
            snprintf(err->message, sizeof err->message, "out of memory");
        }
        return NULL;
    }
    s->p = lode_aws_creds_chain_new(&(lode_aws_chain_opts){.profile = profile}, err);
    if (!s->p) {
        free(s->profile);
        free(s);
        return NULL;
    }
    s->p->shared = 1;
    if (!shared_chains) lode_on_shutdown(shared_chains_free, NULL);
    s->next = shared_chains;
    shared_chains = s;
    return s->p;
}

const char *creds_json_str(const cJSON *doc, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int creds_http_take(lode_http *h, int cancelled, int json, creds_http_answer *a)
{
    if (cancelled) {
        lode_http_free(h);
        return 1;
    }
    a->status = lode_http_status(h);
    a->why = lode_http_error(h);
    a->len = 0;
    a->body = lode_http_body(h, &a->len);
    a->json = json && !a->why && a->status == 200 ? cJSON_ParseWithLength(a->body, a->len) : NULL;
    return 0;
}

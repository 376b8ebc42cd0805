/* credentials_process.c — botocore's ProcessProvider ("custom-process"):
 * the profile's credential_process (config or credentials file), split into
 * argv like Python's shlex.split (no shell), run with stdout and stderr
 * piped; exit 0 and a JSON document {Version: 1, AccessKeyId,
 * SecretAccessKey, SessionToken?, Expiration?} on stdout. A non-zero exit
 * fails with the command's stderr; stdout never reaches a message (it holds
 * the secret).
 * Owns: each run (process handle and pipes), freed when the last handle
 * has closed — after done, or after a cancel that killed the child. */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "credentials_internal.h"
#include "lode/core/task.h"

#define MAX_OUTPUT (1 << 20)

/* shlex.split(s) in POSIX mode: whitespace separates words; '...' is
 * literal; "..." keeps backslash only before \ and "; a backslash outside
 * quotes escapes the next character. Returns a NULL-terminated argv whose
 * strings live in one block (free argv[-1]... no: free the returned array
 * and *block), or NULL with why when quotes are unbalanced. */
static char **shell_split(const char *s, char **block, char *why, size_t whylen)
{
    size_t n = strlen(s);
    char *buf = malloc(n + 1), **argv = calloc(n / 2 + 2, sizeof *argv);
    if (!buf || !argv) goto oom;
    size_t argc = 0, o = 0;
    const char *p = s;
    while (*p) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        char *word = buf + o;
        while (*p && !isspace((unsigned char)*p)) {
            if (*p == '\'') {
                for (p++; *p && *p != '\''; p++) buf[o++] = *p;
                if (!*p) goto unbalanced;
                p++;
            } else if (*p == '"') {
                for (p++; *p && *p != '"'; p++) {
                    if (*p == '\\' && (p[1] == '\\' || p[1] == '"')) p++;
                    buf[o++] = *p;
                }
                if (!*p) goto unbalanced;
                p++;
            } else if (*p == '\\') {
                if (!p[1]) goto unbalanced;
                buf[o++] = p[1];
                p += 2;
            } else {
                buf[o++] = *p++;
            }
        }
        buf[o++] = '\0';
        argv[argc++] = word;
    }
    if (argc == 0) {
        snprintf(why, whylen, "credential_process is empty");
        goto fail;
    }
    *block = buf;
    return argv;
unbalanced:
    snprintf(why, whylen, "credential_process: no closing quotation");
    goto fail;
oom:
    snprintf(why, whylen, "out of memory");
fail:
    free(buf);
    free(argv);
    return NULL;
}

typedef struct {
    uv_process_t proc;
    uv_pipe_t out, err;
    int open_handles;
    int exited, out_eof, err_eof, cancelled, answered;
    int64_t exit_status;
    int term_signal;
    char *obuf, *ebuf;
    size_t olen, elen;
    int too_big;
    creds_source_done done;
    void *ud;
    const char *provider;
    char profile[256];
} proc_run;

static void run_closed(uv_handle_t *h)
{
    proc_run *r = h->data;
    if (--r->open_handles > 0) return;
    if (r->obuf) memset(r->obuf, 0, r->olen);
    free(r->obuf);
    free(r->ebuf);
    free(r);
}

static void run_close(proc_run *r)
{
    uv_close((uv_handle_t *)&r->proc, run_closed);
    if (!uv_is_closing((uv_handle_t *)&r->out)) uv_close((uv_handle_t *)&r->out, run_closed);
    if (!uv_is_closing((uv_handle_t *)&r->err)) uv_close((uv_handle_t *)&r->err, run_closed);
}

static void parse_output(proc_run *r, creds_result *res)
{
    if (r->term_signal) {
        creds_fail(res, "CredentialRetrievalError", 0, "credential_process of profile '%s' was killed by signal %d",
                   r->profile, r->term_signal);
        return;
    }
    if (r->exit_status != 0) {
        size_t n = r->elen;
        while (n && isspace((unsigned char)r->ebuf[n - 1])) n--;
        creds_fail(res, "CredentialRetrievalError", 0, "credential_process of profile '%s' exited with %lld: %.*s",
                   r->profile, (long long)r->exit_status, (int)(n > 600 ? 600 : n), r->ebuf ? r->ebuf : "");
        return;
    }
    if (r->too_big) {
        creds_fail(res, "CredentialRetrievalError", 0, "credential_process of profile '%s' wrote more than %d bytes",
                   r->profile, MAX_OUTPUT);
        return;
    }
    cJSON *doc = cJSON_ParseWithLength(r->obuf ? r->obuf : "", r->olen);
    if (!doc || !cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        creds_fail(res, "CredentialRetrievalError", 0, "credential_process of profile '%s' did not print a JSON object",
                   r->profile);
        return;
    }
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "Version");
    const char *akid = creds_json_str(doc, "AccessKeyId"), *secret = creds_json_str(doc, "SecretAccessKey");
    const char *token = creds_json_str(doc, "SessionToken"), *exp = creds_json_str(doc, "Expiration");
    int64_t expiration = 0;
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1)
        creds_fail(res, "CredentialRetrievalError", 0,
                   "credential_process of profile '%s': unsupported Version (supported: 1)", r->profile);
    else if (!akid || !secret)
        creds_fail(res, "CredentialRetrievalError", 0, "credential_process of profile '%s': missing %s", r->profile,
                   !akid ? "AccessKeyId" : "SecretAccessKey");
    else if (exp && (expiration = creds_parse_time(exp)) < 0)
        creds_fail(res, "CredentialRetrievalError", 0,
                   "credential_process of profile '%s': Expiration '%.40s' is not an ISO 8601 time", r->profile, exp);
    else
        creds_found(res, r->provider, akid, secret, token, expiration);
    cJSON_Delete(doc);
}

static void maybe_finish(proc_run *r)
{
    if (!r->exited || !r->out_eof || !r->err_eof || r->answered) return;
    r->answered = 1;
    if (!r->cancelled) {
        creds_result res;
        parse_output(r, &res);
        r->done(r->ud, &res);
        lode_aws_creds_unref(res.creds);
    }
    run_close(r);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    b->base = malloc(suggested);
    b->len = b->base ? suggested : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    proc_run *r = s->data;
    int is_out = s == (uv_stream_t *)&r->out;
    if (n > 0) {
        char **buf = is_out ? &r->obuf : &r->ebuf;
        size_t *len = is_out ? &r->olen : &r->elen;
        if (*len + (size_t)n > MAX_OUTPUT) r->too_big = 1;
        else {
            char *nb = realloc(*buf, *len + (size_t)n + 1);
            if (nb) {
                memcpy(nb + *len, b->base, (size_t)n);
                *len += (size_t)n;
                nb[*len] = '\0';
                *buf = nb;
            } else r->too_big = 1;
        }
    }
    if (b->base) {
        memset(b->base, 0, b->len);
        free(b->base);
    }
    if (n < 0) {
        uv_read_stop(s);
        if (is_out) r->out_eof = 1;
        else r->err_eof = 1;
        maybe_finish(r);
    }
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    proc_run *r = p->data;
    r->exited = 1;
    r->exit_status = status;
    r->term_signal = sig;
    maybe_finish(r);
}

static void *process_start(creds_source *s, creds_source_done done, void *ud, creds_result *res)
{
    creds_profiles pr;
    char why[512];
    if (creds_profiles_load(&pr, why, sizeof why) != 0) {
        creds_fail(res, "InvalidConfig", 0, "%s", why);
        return NULL;
    }
    const char *cmd = creds_section_get(creds_ini_section(&pr.profiles, s->profile), "credential_process");
    if (!cmd) {
        creds_skip(res, "no credential_process in profile '%s'", s->profile);
        creds_profiles_free(&pr);
        return NULL;
    }
    char *block = NULL;
    char **argv = shell_split(cmd, &block, why, sizeof why);
    creds_profiles_free(&pr);
    if (!argv) {
        creds_fail(res, "InvalidConfig", 0, "profile '%s': %s", s->profile, why);
        return NULL;
    }
    proc_run *r = calloc(1, sizeof *r);
    if (!r) {
        free(argv);
        free(block);
        creds_fail(res, "OutOfMemory", 0, "out of memory");
        return NULL;
    }
    r->done = done;
    r->ud = ud;
    r->provider = s->name;
    snprintf(r->profile, sizeof r->profile, "%s", s->profile);
    uv_loop_t *loop = lode_loop();
    uv_pipe_init(loop, &r->out, 0);
    uv_pipe_init(loop, &r->err, 0);
    r->out.data = r->err.data = r->proc.data = r;
    r->open_handles = 3;           /* uv_spawn initialises the process handle even when it fails */
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&r->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&r->err;
    uv_process_options_t o;
    memset(&o, 0, sizeof o);
    o.file = argv[0];
    o.args = argv;
    o.exit_cb = on_exit_cb;
    o.stdio = stdio;
    o.stdio_count = 3;
    int rc = uv_spawn(loop, &r->proc, &o);
    if (rc != 0) {
        creds_fail(res, "CredentialRetrievalError", 0, "credential_process of profile '%s': cannot run %s: %s",
                   s->profile, argv[0], uv_strerror(rc));
        free(argv);
        free(block);
        r->answered = r->cancelled = 1;
        run_close(r);
        return NULL;
    }
    free(argv);
    free(block);
    uv_read_start((uv_stream_t *)&r->out, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&r->err, on_alloc, on_read);
    return r;
}

static void process_cancel(void *fetch)
{
    proc_run *r = fetch;
    r->cancelled = 1;
    if (!r->exited) uv_process_kill(&r->proc, SIGTERM);
}

static void source_free(creds_source *s) { free(s); }

creds_source *creds_source_process(void)
{
    creds_source *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->name = "custom-process";
    s->start = process_start;
    s->cancel = process_cancel;
    s->free = source_free;
    return s;
}

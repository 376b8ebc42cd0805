/* bindings/http.c — lode.http: small HTTP client for pipelines that pull from
 * SaaS APIs, on the same transfer layer as lode.s3 (runtime/http/http.c).
 *
 *   local http = require "lode.http"
 *   local r = http.request { method = "POST", url = u, headers = { ["x-api-key"] = k },
 *                            json = { since = "2024-01-01" } }       -- body encoded with cJSON
 *   r.status, r.headers["content-type"], r.body, r.json (when the response is JSON)
 *   http.get(url [, opts]); http.post(url, body [, opts]); http.put(url, body [, opts])
 *   http.get(url, { file = "out.bin" })    -- streamed to a file, r.bytes written
 *
 * Transport failures (refused, reset, timeout) raise a structured error with
 * retryable = true; HTTP error statuses are returned, not raised. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <cjson/cJSON.h>

#include "lode.h"
#include "lode/http/http.h"
#include "lode/core/luajson.h"

typedef struct {
    lode_op op;
    lode_http *h;
    char *body;                 /* request body copy */
    char **headers;             /* "Name: value" strings */
    size_t nheaders;
    int fd;                     /* response file, or -1 */
    char *file;
    uint64_t written;
    int write_errno;
    int want_json;
    char start_err[256];
} http_op;

/* ---- the op ---------------------------------------------------------------- */

static void http_release(lode_op *op)
{
    http_op *o = (http_op *)op;
    lode_http_free(o->h);
    free(o->body);
    for (size_t i = 0; i < o->nheaders; i++) free(o->headers[i]);
    free(o->headers);
    if (o->fd >= 0) close(o->fd);
    free(o->file);
    free(o);
}

static void http_cancel(lode_op *op)
{
    lode_http_cancel(((http_op *)op)->h);   /* on_done calls lode_op_done */
}

static void on_done(lode_http *h, void *ud)
{
    (void)h;
    lode_op_done(&((http_op *)ud)->op);
}

static size_t to_file(void *ud, const char *p, size_t n)
{
    http_op *o = ud;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(o->fd, p + off, n - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            o->write_errno = errno;
            return 0;
        }
        off += (size_t)w;
    }
    o->written += n;
    return n;
}

static void push_header(void *ud, const char *name, const char *value)
{
    lua_State *L = ud;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (const char *c = name; *c; c++)
        luaL_addchar(&b, (*c >= 'A' && *c <= 'Z') ? (char)(*c + 32) : *c);
    luaL_pushresult(&b);
    lua_pushstring(L, value);
    lua_settable(L, -3);
}

static int http_push(lua_State *L, lode_op *op)
{
    http_op *o = (http_op *)op;
    if (o->start_err[0]) {
        lode_push_error(L, "http.request", "transport", o->start_err, 0);
        return -1;
    }
    const char *why = lode_http_error(o->h);
    if (o->write_errno) {
        lode_push_error(L, "http.request", "write", strerror(o->write_errno), 0);
        lua_pushstring(L, o->file);
        lua_setfield(L, -2, "file");
        return -1;
    }
    if (why) {
        lode_push_error(L, "http.request", lode_http_timed_out(o->h) ? "timeout" : "transport", why, 1);
        return -1;
    }
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, lode_http_status(o->h));
    lua_setfield(L, -2, "status");
    lua_newtable(L);
    lode_http_each_header(o->h, push_header, L);
    lua_setfield(L, -2, "headers");
    if (o->fd >= 0) {
        lua_pushinteger(L, (lua_Integer)o->written);
        lua_setfield(L, -2, "bytes");
        return 1;
    }
    size_t len;
    const char *body = lode_http_body(o->h, &len);
    lua_pushlstring(L, body, len);
    lua_setfield(L, -2, "body");
    const char *ct = lode_http_header(o->h, "content-type");
    if (o->want_json || (ct && strstr(ct, "json"))) {
        cJSON *j = cJSON_ParseWithLength(body, len);
        if (j) {
            lode_json_push_value(L, j);
            lua_setfield(L, -2, "json");
            cJSON_Delete(j);
        } else if (o->want_json) {
            lode_push_error(L, "http.request", "json", "the response body is not valid JSON", 0);
            return -1;
        }
    }
    return 1;
}

static lua_Integer opt_int(lua_State *L, int t, const char *k, lua_Integer def)
{
    lua_Integer v = def;
    if (lua_getfield(L, t, k) != LUA_TNIL) {
        if (!lua_isinteger(L, -1)) luaL_error(L, "http: option '%s' must be an integer", k);
        v = lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

/* http.request{ method=, url=, headers=, body= | json=, file=, timeout=, connect_timeout=, max_body= } */
static int l_request(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lode_check_task(L, "http.request");
    lua_getfield(L, 1, "url");
    const char *url = lua_tostring(L, -1);
    if (!url) return luaL_argerror(L, 1, "url is required");
    lua_getfield(L, 1, "method");
    const char *method = luaL_optstring(L, -1, "GET");
    lua_Integer timeout = opt_int(L, 1, "timeout", 0);
    lua_Integer connect_timeout = opt_int(L, 1, "connect_timeout", 10000);
    lua_Integer max_body = opt_int(L, 1, "max_body", 64 << 20);
    lua_getfield(L, 1, "insecure");
    int insecure = lua_toboolean(L, -1);
    lua_pop(L, 1);

    int is_json = 0;
    if (lua_getfield(L, 1, "json") != LUA_TNIL) {
        lode_json_push_text(L, -1);
        lua_setfield(L, 1, "body");
        is_json = 1;
    }
    lua_pop(L, 1);
    /* validate headers before anything is allocated */
    if (lua_getfield(L, 1, "headers") == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
                luaL_error(L, "http: headers must map names to strings");
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);

    http_op *o = (http_op *)lode_op_new(L, sizeof *o, "http.request", http_push, http_cancel, http_release);
    o->fd = -1;
    int has_body = 0;
    size_t blen = 0;
    if (lua_getfield(L, 1, "body"), lua_type(L, -1) == LUA_TSTRING) {
        const char *b = lua_tolstring(L, -1, &blen);
        o->body = malloc(blen ? blen : 1);
        if (o->body) memcpy(o->body, b, blen);
        has_body = 1;
    }
    lua_pop(L, 1);

    /* headers */
    size_t cap = 8;
    o->headers = calloc(cap + 1, sizeof *o->headers);
    if (is_json && o->headers) o->headers[o->nheaders++] = strdup("Content-Type: application/json");
    if (lua_getfield(L, 1, "headers") == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) == LUA_TSTRING && o->headers) {
                if (o->nheaders + 1 >= cap) {
                    char **n = realloc(o->headers, (cap * 2 + 1) * sizeof *n);
                    if (n) {
                        o->headers = n;
                        cap *= 2;
                    }
                }
                if (o->nheaders + 1 < cap) {
                    char *line = NULL;
                    if (asprintf(&line, "%s: %s", lua_tostring(L, -2), lua_tostring(L, -1)) < 0) line = NULL;
                    o->headers[o->nheaders++] = line;
                }
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    if (o->headers) o->headers[o->nheaders] = NULL;

    if (lua_getfield(L, 1, "file") == LUA_TSTRING) {
        o->file = strdup(lua_tostring(L, -1));
        o->fd = open(lua_tostring(L, -1), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (o->fd < 0)
            snprintf(o->start_err, sizeof o->start_err, "%s: %s", lua_tostring(L, -1), strerror(errno));
    }
    lua_pop(L, 1);

    if (!o->start_err[0]) {
        lode_http_opts ho = {
            .method = method, .url = url, .headers = (const char *const *)o->headers,
            .body = o->body, .body_len = has_body ? (int64_t)blen : -1,
            .on_data = o->fd >= 0 ? to_file : NULL, .max_body = (size_t)max_body,
            .connect_timeout_ms = (long)connect_timeout, .timeout_ms = (long)timeout,
            .insecure = insecure, .on_done = on_done, .ud = o,
        };
        if (has_body && !o->body && blen == 0) ho.body = "";
        o->h = lode_http_start(&ho, o->start_err, sizeof o->start_err);
    }
    if (!o->h) o->op.done = 1;
    return lode_op_yield(L, &o->op);
}

/* http.get(url [, opts]) / http.post(url, body [, opts]) / http.put(...) */
static int with_method(lua_State *L, const char *method, int has_body)
{
    luaL_checkstring(L, 1);
    int opts = has_body ? 3 : 2;
    lua_settop(L, opts);
    lua_newtable(L);
    if (lua_istable(L, opts)) {
        lua_pushnil(L);
        while (lua_next(L, opts)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_settable(L, -4);
        }
    }
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "url");
    lua_pushstring(L, method);
    lua_setfield(L, -2, "method");
    if (has_body) {
        if (lua_istable(L, 2)) {
            lua_pushvalue(L, 2);
            lua_setfield(L, -2, "json");
        } else if (!lua_isnil(L, 2)) {
            luaL_checkstring(L, 2);
            lua_pushvalue(L, 2);
            lua_setfield(L, -2, "body");
        }
    }
    lua_replace(L, 1);
    lua_settop(L, 1);
    return l_request(L);
}

static int l_get(lua_State *L) { return with_method(L, "GET", 0); }
static int l_post(lua_State *L) { return with_method(L, "POST", 1); }
static int l_put(lua_State *L) { return with_method(L, "PUT", 1); }
static int l_delete(lua_State *L) { return with_method(L, "DELETE", 0); }

/* http.max_connections(n): bound connections open at once (shared with lode.s3) */
static int l_max_connections(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 1 && n <= 1024, 1, "between 1 and 1024");
    lode_http_set_max_connections((long)n);
    return 0;
}

int luaopen_lode_http(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"request", l_request},
        {"get", l_get},
        {"post", l_post},
        {"put", l_put},
        {"delete", l_delete},
        {"max_connections", l_max_connections},
        {NULL, NULL}
    };
    luaL_newlib(L, fns);
    return 1;
}

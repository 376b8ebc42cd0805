/* bindings/s3.c — lode.s3: S3 object operations on s3://bucket/key URLs.
 *
 *   local s3 = require "lode.s3"
 *   s3.list(url, {delimiter=, recursive=}) -> objects, prefixes   (follows continuation tokens)
 *   for obj in s3.each(url, opts) do ... end                        (pages lazily)
 *   s3.list_page(url, {delimiter=, max_keys=, token=}) -> {objects=, prefixes=, next=}
 *   s3.head(url) -> {size=, etag=, last_modified=, content_type=};  s3.exists(url) -> bool
 *   s3.get(url, {range = {first, last}, if_match = etag}) -> string
 *   s3.download(url, path) -> {size=, etag=}          (parallel ranged GETs, streamed to disk)
 *   s3.put(url, data, {content_type=}) -> {etag=}
 *   s3.upload(path, url, {part_size=, concurrency=}) -> {etag=, parts=}   (multipart above the threshold)
 *   s3.delete(url) / s3.delete({url, ...})            (DeleteObjects, 1,000 per request)
 *   s3.copy(src_url, dst_url) -> {etag=}
 *   s3.presign(url, {expires=, method=}) -> string
 *   s3.create_bucket(name_or_url, {region=}) -> created (false: it was already yours)
 *   s3.configure{max_attempts=, part_size=, concurrency=, low_speed_time=, connect_timeout=, deadline=, min_rate=,
 *                credential_refresh = {advisory=, mandatory=}}
 *
 * Every failure raises a structured error {op, code, message, retryable,
 * status, key, request_id}. In a dry run (`lode plan`) writes are logged,
 * not done. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <openssl/evp.h>

#include "lode.h"
#include "../runtime/s3/internal.h"

/* ---- helpers ---------------------------------------------------------------- */

static lode_s3 *client(lua_State *L, const char *op)
{
    lode_s3_error e;
    lode_s3 *c = lode_s3_default(&e);
    if (!c) {
        lode_s3_push_error(L, op, &e);
        lua_error(L);
    }
    return c;
}

/* Parse the URL at idx into bucket/key anchored as Lua strings on the stack
 * (so nothing leaks when a later check raises). */
static void check_url(lua_State *L, int idx, const char **bucket, const char **key, int need_key)
{
    const char *url = luaL_checkstring(L, idx);
    char *b, *k;
    if (lode_s3_parse_url(url, &b, &k) != 0) luaL_argerror(L, idx, "expected an s3://bucket/key URL");
    lua_pushstring(L, b);
    lua_pushstring(L, k);
    free(b);
    free(k);
    *bucket = lua_tostring(L, -2);
    *key = lua_tostring(L, -1);
    if (need_key && !**key) luaL_argerror(L, idx, "the URL names no key (s3://bucket/key)");
}

static lua_Integer opt_field_int(lua_State *L, int t, const char *k, lua_Integer def)
{
    if (!lua_istable(L, t)) return def;
    lua_Integer v = def;
    if (lua_getfield(L, t, k) != LUA_TNIL) {
        if (!lua_isinteger(L, -1)) luaL_error(L, "s3: option '%s' must be an integer", k);
        v = lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static const char *opt_field_str(lua_State *L, int t, const char *k)
{
    if (!lua_istable(L, t)) return NULL;
    lua_getfield(L, t, k);
    const char *s = lua_tostring(L, -1);   /* stays anchored by the options table */
    lua_pop(L, 1);
    return s;
}

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

static void iso_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static void push_object(lua_State *L, const s3_file_object *o, const char *last_modified)
{
    lua_createtable(L, 0, 4);
    lua_pushstring(L, o->key ? o->key : "");
    lua_setfield(L, -2, "key");
    lua_pushinteger(L, o->size);
    lua_setfield(L, -2, "size");
    lua_pushstring(L, o->etag);
    lua_setfield(L, -2, "etag");
    char iso[32];
    if (!last_modified) {
        iso_time(o->mtime, iso);
        last_modified = iso;
    }
    lua_pushstring(L, last_modified);
    lua_setfield(L, -2, "last_modified");
}

/* ---- the simple op: one request, results parsed on the loop ---------------- */

enum { K_LIST, K_HEAD, K_GET, K_PUT, K_DELETE, K_DELETE_BATCH, K_COPY, K_LIST_UPLOADS, K_ABORT, K_CREATE_BUCKET,
       K_HEAD_BUCKET };

typedef struct {
    lode_op op;
    int kind;
    const char *opname;
    lode_s3 *c;
    s3_req *req;
    lode_s3_error err;
    int failed;
    char *bucket, *key;
    char *body;                  /* request body (put data, delete XML) */
    size_t body_len;
    /* results */
    s3_file_object *objs;
    char **last_mod;             /* per object, from the XML */
    size_t nobjs;
    char **prefixes;
    size_t nprefixes;
    char *next_token;
    s3_file_object obj;
    char *content_type, *last_modified;
    char *data;
    size_t ndata;
    char **upload_ids;           /* list_uploads: parallel to objs */
    int deleted;
    int existed;                 /* create_bucket: the bucket was there (and yours) */
} simple_op;

static void simple_release(lode_op *op)
{
    simple_op *s = (simple_op *)op;
    s3_req_free(s->req);
    free(s->bucket);
    free(s->key);
    free(s->body);
    for (size_t i = 0; i < s->nobjs; i++) {
        free(s->objs[i].key);
        if (s->last_mod) free(s->last_mod[i]);
        if (s->upload_ids) free(s->upload_ids[i]);
    }
    free(s->objs);
    free(s->last_mod);
    free(s->upload_ids);
    for (size_t i = 0; i < s->nprefixes; i++) free(s->prefixes[i]);
    free(s->prefixes);
    free(s->next_token);
    free(s->obj.key);
    free(s->content_type);
    free(s->last_modified);
    free(s->data);
    free(s);
}

static void simple_cancel(lode_op *op) { s3_req_cancel(((simple_op *)op)->req); }

static void copy_etag(char dst[40], const char *src)
{
    snprintf(dst, 40, "%s", src ? src : "");
}

/* Parse <Contents>/<CommonPrefixes> (list) or <Upload> (list_uploads). */
static int parse_list(simple_op *s, const char *b, const char *e)
{
    size_t cap = 0;
    const char *p = b, *inner;
    size_t len;
    const char *tag = s->kind == K_LIST_UPLOADS ? "Upload" : "Contents";
    while ((p = s3_xml_next(p, e, tag, &inner, &len))) {
        if (s->nobjs == cap) {
            cap = cap ? cap * 2 : 64;
            s3_file_object *o = realloc(s->objs, cap * sizeof *o);
            char **lm = realloc(s->last_mod, cap * sizeof *lm);
            char **ui = realloc(s->upload_ids, cap * sizeof *ui);
            if (o) s->objs = o;
            if (lm) s->last_mod = lm;
            if (ui) s->upload_ids = ui;
            if (!o || !lm || !ui) return -1;
        }
        s3_file_object *o = &s->objs[s->nobjs];
        memset(o, 0, sizeof *o);
        const char *ie = inner + len;
        o->key = s3_xml_get(inner, ie, "Key");
        char *size = s3_xml_get(inner, ie, "Size"), *etag = s3_xml_get(inner, ie, "ETag");
        o->size = size ? strtoll(size, NULL, 10) : 0;
        copy_etag(o->etag, etag);
        free(size);
        free(etag);
        s->last_mod[s->nobjs] = s3_xml_get(inner, ie, s->kind == K_LIST_UPLOADS ? "Initiated" : "LastModified");
        s->upload_ids[s->nobjs] = s3_xml_get(inner, ie, "UploadId");
        s->nobjs++;
    }
    size_t pcap = 0;
    p = b;
    while ((p = s3_xml_next(p, e, "CommonPrefixes", &inner, &len))) {
        if (s->nprefixes == pcap) {
            pcap = pcap ? pcap * 2 : 16;
            char **n = realloc(s->prefixes, pcap * sizeof *n);
            if (!n) return -1;
            s->prefixes = n;
        }
        char *pf = s3_xml_get(inner, inner + len, "Prefix");
        if (pf) s->prefixes[s->nprefixes++] = pf;
    }
    char *trunc = s3_xml_get(b, e, "IsTruncated");
    if (trunc && strcmp(trunc, "true") == 0) {
        s->next_token = s3_xml_get(b, e, s->kind == K_LIST_UPLOADS ? "NextKeyMarker" : "NextContinuationToken");
        if (!s->next_token && s->nobjs) s->next_token = strdup(s->objs[s->nobjs - 1].key);
    }
    free(trunc);
    return 0;
}

static void simple_done(s3_req *req, void *ud)
{
    simple_op *s = ud;
    const lode_s3_error *e = s3_req_error(req);
    if (e) {
        s->err = *e;
        s->failed = 1;
        if (s->kind == K_DELETE && e->status == 404 && strcmp(e->code, "NoSuchKey") == 0) s->failed = 0;
        if (s->kind == K_CREATE_BUCKET && strcmp(e->code, "BucketAlreadyOwnedByYou") == 0) {
            s->failed = 0;
            s->existed = 1;
        }
        if (s->kind == K_HEAD_BUCKET && (e->status == 404 || e->status == 403)) {
            s->failed = 0;
            s->existed = 0;
        }
        lode_op_done(&s->op);
        return;
    }
    const lode_http *h = s3_req_http(req);
    size_t n;
    const char *b = s3_req_body(req, &n), *end = b + n;
    switch (s->kind) {
    case K_LIST:
    case K_LIST_UPLOADS:
        if (parse_list(s, b, end) != 0) {
            s3_error_set(&s->err, 0, "internal", "out of memory", s->bucket, s->key, 0);
            s->failed = 1;
        }
        break;
    case K_HEAD: {
        const char *len = lode_http_header(h, "content-length");
        s->obj.size = len ? strtoll(len, NULL, 10) : 0;
        copy_etag(s->obj.etag, lode_http_header(h, "etag"));
        s->content_type = xstrdup(lode_http_header(h, "content-type"));
        s->last_modified = xstrdup(lode_http_header(h, "last-modified"));
        break;
    }
    case K_GET:
        s->data = malloc(n + 1);
        if (s->data) {
            memcpy(s->data, b, n);
            s->ndata = n;
        }
        break;
    case K_PUT:
        copy_etag(s->obj.etag, lode_http_header(h, "etag"));
        break;
    case K_HEAD_BUCKET:
        s->existed = 1;
        break;
    case K_COPY: {
        char *etag = s3_xml_get(b, end, "ETag");
        copy_etag(s->obj.etag, etag);
        free(etag);
        break;
    }
    case K_DELETE_BATCH: {
        const char *p = b, *inner;
        size_t len;
        while ((p = s3_xml_next(p, end, "Deleted", &inner, &len))) s->deleted++;
        if (s3_xml_next(b, end, "Error", &inner, &len)) {
            char *k = s3_xml_get(inner, inner + len, "Key"), *code = s3_xml_get(inner, inner + len, "Code"),
                 *msg = s3_xml_get(inner, inner + len, "Message");
            s3_error_set(&s->err, 200, code ? code : "InternalError", msg ? msg : "delete failed",
                         s->bucket, k, s3_code_retryable(0, code));
            s->failed = 1;
            free(k);
            free(code);
            free(msg);
        }
        break;
    }
    default:
        break;
    }
    lode_op_done(&s->op);
}

static int simple_push(lua_State *L, lode_op *op)
{
    simple_op *s = (simple_op *)op;
    if (s->failed) {
        lode_s3_push_error(L, s->opname, &s->err);
        return -1;
    }
    switch (s->kind) {
    case K_LIST: {
        lua_createtable(L, 0, 3);
        lua_createtable(L, (int)s->nobjs, 0);
        for (size_t i = 0; i < s->nobjs; i++) {
            push_object(L, &s->objs[i], s->last_mod ? s->last_mod[i] : NULL);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "objects");
        lua_createtable(L, (int)s->nprefixes, 0);
        for (size_t i = 0; i < s->nprefixes; i++) {
            lua_pushstring(L, s->prefixes[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "prefixes");
        if (s->next_token) {
            lua_pushstring(L, s->next_token);
            lua_setfield(L, -2, "next");
        }
        return 1;
    }
    case K_LIST_UPLOADS:
        lua_createtable(L, (int)s->nobjs, 0);
        for (size_t i = 0; i < s->nobjs; i++) {
            lua_createtable(L, 0, 2);
            lua_pushstring(L, s->objs[i].key ? s->objs[i].key : "");
            lua_setfield(L, -2, "key");
            lua_pushstring(L, s->upload_ids[i] ? s->upload_ids[i] : "");
            lua_setfield(L, -2, "upload_id");
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        return 1;
    case K_HEAD:
        s->obj.key = s->key;
        push_object(L, &s->obj, s->last_modified);
        s->obj.key = NULL;
        lua_pushstring(L, s->content_type ? s->content_type : "binary/octet-stream");
        lua_setfield(L, -2, "content_type");
        return 1;
    case K_GET:
        lua_pushlstring(L, s->data ? s->data : "", s->ndata);
        return 1;
    case K_PUT:
    case K_COPY:
        lua_createtable(L, 0, 1);
        lua_pushstring(L, s->obj.etag);
        lua_setfield(L, -2, "etag");
        return 1;
    case K_DELETE_BATCH:
        lua_pushinteger(L, s->deleted);
        return 1;
    case K_CREATE_BUCKET:
        lua_pushboolean(L, !s->existed);
        return 1;
    case K_HEAD_BUCKET:
        lua_pushboolean(L, s->existed);
        return 1;
    default:
        lua_pushboolean(L, 1);
        return 1;
    }
}

static simple_op *simple_new(lua_State *L, int kind, const char *opname, const char *bucket, const char *key)
{
    simple_op *s = (simple_op *)lode_op_new(L, sizeof *s, opname, simple_push, simple_cancel, simple_release);
    s->kind = kind;
    s->opname = opname;
    s->bucket = strdup(bucket);
    s->key = strdup(key ? key : "");
    return s;
}

/* Start the request for s, or complete it with the start error. */
static int simple_start(lua_State *L, simple_op *s, s3_req_opts *o)
{
    o->on_done = simple_done;
    o->ud = s;
    if (o->body_len == 0 && !o->body) o->body_len = -1;
    s->req = s3_request(s->c, o, &s->err);
    if (!s->req) {
        s->failed = 1;
        s->op.done = 1;
    }
    return lode_op_yield(L, &s->op);
}

static int dry_run_skip(const char *what, const char *url)
{
    if (!lode_dry_run()) return 0;
    lode_logf(LODE_LOG_INFO, "plan: s3.%s %s (skipped in a dry run)", what, url);
    return 1;
}

/* s3.list_page(url, {delimiter=, max_keys=, token=, start_after=}) */
static int l_list_page(lua_State *L)
{
    const char *bucket, *prefix;
    check_url(L, 1, &bucket, &prefix, 0);
    const char *delim = opt_field_str(L, 2, "delimiter");
    const char *token = opt_field_str(L, 2, "token");
    const char *start_after = opt_field_str(L, 2, "start_after");
    lua_Integer max_keys = opt_field_int(L, 2, "max_keys", 1000);
    luaL_argcheck(L, max_keys >= 1 && max_keys <= 1000, 2, "max_keys must be between 1 and 1000");
    lode_s3 *c = client(L, "s3.list");
    simple_op *s = simple_new(L, K_LIST, "s3.list", bucket, prefix);
    s->c = c;
    if (c->file_root) {
        int trunc;
        const char *after = token ? token : start_after;
        if (s3_file_list(c, bucket, prefix, delim, after, (int)max_keys, &s->objs, &s->nobjs,
                         &s->prefixes, &s->nprefixes, &trunc, &s->err) != 0)
            s->failed = 1;
        else if (trunc)
            s->next_token = strdup(s->nprefixes && (!s->nobjs || strcmp(s->prefixes[s->nprefixes - 1],
                                   s->objs[s->nobjs - 1].key) > 0) ? s->prefixes[s->nprefixes - 1]
                                   : s->objs[s->nobjs - 1].key);
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    char mk[24];
    snprintf(mk, sizeof mk, "%lld", (long long)max_keys);
    lode_kv q[6];
    size_t n = 0;
    q[n++] = (lode_kv){"list-type", "2"};
    q[n++] = (lode_kv){"max-keys", mk};
    q[n++] = (lode_kv){"prefix", prefix};
    if (delim) q[n++] = (lode_kv){"delimiter", delim};
    if (token) q[n++] = (lode_kv){"continuation-token", token};
    if (start_after) q[n++] = (lode_kv){"start-after", start_after};
    s3_req_opts o = {.method = "GET", .bucket = bucket, .key = NULL, .query = q, .nquery = n, .body_len = -1,
                     .max_body = 32u << 20};
    return simple_start(L, s, &o);
}

/* s3.head(url) */
static int l_head(lua_State *L)
{
    const char *bucket, *key;
    check_url(L, 1, &bucket, &key, 1);
    lode_s3 *c = client(L, "s3.head");
    simple_op *s = simple_new(L, K_HEAD, "s3.head", bucket, key);
    s->c = c;
    if (c->file_root) {
        if (s3_file_head(c, bucket, key, &s->obj, &s->err) != 0) s->failed = 1;
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    s3_req_opts o = {.method = "HEAD", .bucket = bucket, .key = key, .body_len = -1};
    return simple_start(L, s, &o);
}

/* s3.get(url, {range = {first, last} | "bytes=a-b", max_size=, if_match=etag}) */
static int l_get(lua_State *L)
{
    const char *bucket, *key;
    check_url(L, 1, &bucket, &key, 1);
    char range[80] = "";
    int64_t first = 0, last = -1;
    const char *if_match = opt_field_str(L, 2, "if_match");
    if (lua_istable(L, 2)) {
        int t = lua_getfield(L, 2, "range");
        if (t == LUA_TTABLE) {
            lua_rawgeti(L, -1, 1);
            lua_rawgeti(L, -2, 2);
            first = luaL_checkinteger(L, -2);
            last = luaL_optinteger(L, -1, -1);
            lua_pop(L, 2);
            luaL_argcheck(L, first >= 0 && (last < 0 || last >= first), 2, "range must be {first, last} with 0 <= first <= last");
            if (last >= 0) snprintf(range, sizeof range, "bytes=%lld-%lld", (long long)first, (long long)last);
            else snprintf(range, sizeof range, "bytes=%lld-", (long long)first);
        } else if (t == LUA_TSTRING) {
            snprintf(range, sizeof range, "%s", lua_tostring(L, -1));
            long long a = 0, b = -1;
            if (sscanf(range, "bytes=%lld-%lld", &a, &b) < 1 || a < 0 || (b >= 0 && b < a))
                luaL_argerror(L, 2, "range string must be bytes=FIRST-[LAST]");
            first = a;
            last = b;
        } else if (t != LUA_TNIL) {
            luaL_argerror(L, 2, "range must be {first, last} or \"bytes=a-b\"");
        }
        lua_pop(L, 1);
    }
    lua_Integer max_size = opt_field_int(L, 2, "max_size", 256 << 20);
    lode_s3 *c = client(L, "s3.get");
    simple_op *s = simple_new(L, K_GET, "s3.get", bucket, key);
    s->c = c;
    if (c->file_root) {
        if (s3_file_get(c, bucket, key, first, last >= 0 ? last - first + 1 : -1, &s->data, &s->ndata, &s->err) != 0)
            s->failed = 1;
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    s3_req_opts o = {.method = "GET", .bucket = bucket, .key = key, .body_len = -1, .max_body = (size_t)max_size,
                     .ranged = range[0] != '\0', .range_first = (uint64_t)first,
                     .range_last = last >= 0 ? (uint64_t)last : UINT64_MAX, .if_match = if_match};
    return simple_start(L, s, &o);
}

/* s3.put(url, data, {content_type=}) */
static int l_put(lua_State *L)
{
    const char *bucket, *key;
    size_t n;
    const char *data = luaL_checklstring(L, 2, &n);
    const char *ctype = opt_field_str(L, 3, "content_type");
    check_url(L, 1, &bucket, &key, 1);
    lode_s3 *c = client(L, "s3.put");
    simple_op *s = simple_new(L, K_PUT, "s3.put", bucket, key);
    s->c = c;
    if (dry_run_skip("put", lua_tostring(L, 1))) {
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    if (c->file_root) {
        if (s3_file_put(c, bucket, key, data, n, NULL, &s->obj, &s->err) != 0) s->failed = 1;
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    s->body = malloc(n ? n : 1);
    if (s->body) memcpy(s->body, data, n);
    lode_kv h[] = {{"content-type", ctype ? ctype : "binary/octet-stream"}};
    s3_req_opts o = {.method = "PUT", .bucket = bucket, .key = key, .headers = h, .nheaders = 1,
                     .body = s->body, .body_len = (int64_t)n};
    if (!s->body) o.body_len = -1;
    return simple_start(L, s, &o);
}

/* s3.copy(src, dst) */
static int l_copy(lua_State *L)
{
    const char *sb, *sk, *db, *dk;
    check_url(L, 1, &sb, &sk, 1);
    check_url(L, 2, &db, &dk, 1);
    lode_s3 *c = client(L, "s3.copy");
    simple_op *s = simple_new(L, K_COPY, "s3.copy", db, dk);
    s->c = c;
    if (dry_run_skip("copy", lua_tostring(L, 2))) {
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    if (c->file_root) {
        char *src = s3_file_path(c, sb, sk);
        s3_file_object tmp;
        if (!src || s3_file_head(c, sb, sk, &tmp, &s->err) != 0 ||
            s3_file_put(c, db, dk, NULL, 0, src, &s->obj, &s->err) != 0)
            s->failed = 1;
        if (!src) s3_error_set(&s->err, 404, "NoSuchKey", "the source key does not exist", sb, sk, 0);
        free(src);
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    char *raw = NULL, *src = NULL;
    if (asprintf(&raw, "/%s/%s", sb, sk) < 0) raw = NULL;
    src = raw ? lode_uri_encode(raw, strlen(raw), 1) : NULL;
    free(raw);
    lua_pushstring(L, src ? src : "");
    free(src);
    lode_kv h[] = {{"x-amz-copy-source", lua_tostring(L, -1)}};
    s3_req_opts o = {.method = "PUT", .bucket = db, .key = dk, .headers = h, .nheaders = 1, .body_len = -1};
    return simple_start(L, s, &o);
}

/* A bucket name, from "name", "s3://name" or "s3://name/", checked against
 * S3's naming rules (3-63 of a-z 0-9 . -, starting and ending with a letter
 * or digit) so a bad name fails here with a clear message. */
static const char *check_bucket_arg(lua_State *L, int idx)
{
    const char *arg = luaL_checkstring(L, idx);
    const char *name = arg;
    size_t n;
    if (strncmp(arg, "s3://", 5) == 0) {
        name = arg + 5;
        const char *slash = strchr(name, '/');
        if (slash && slash[1]) luaL_error(L, "s3.create_bucket: expected a bucket (name or s3://name), not a key: %s", arg);
        n = slash ? (size_t)(slash - name) : strlen(name);
    } else {
        n = strlen(name);
    }
    int ok = n >= 3 && n <= 63;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = name[i];
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        ok = alnum || ((ch == '-' || ch == '.') && i > 0 && i + 1 < n);
    }
    if (!ok)
        luaL_error(L, "s3.create_bucket: not a valid bucket name: '%s' (3-63 lower-case letters, digits, '.' and "
                      "'-', starting and ending with a letter or digit)", arg);
    lua_pushlstring(L, name, n);
    return lua_tostring(L, -1);
}

/* s3._create_bucket(name_or_url, {region=}) -> true, or false when it was
 * already yours (BucketAlreadyOwnedByYou; an existing folder on file://).
 * s3.create_bucket (Lua, below) also accepts BucketAlreadyExists for a
 * bucket it can HEAD (s3rver says that of one's own buckets). */
static int l_create_bucket(lua_State *L)
{
    const char *region = opt_field_str(L, 2, "region");
    const char *bucket = check_bucket_arg(L, 1);
    lode_s3 *c = client(L, "s3.create_bucket");
    if (!region) region = c->cfg.region ? c->cfg.region : "us-east-1";
    for (const char *p = region; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            luaL_error(L, "s3.create_bucket: not a region name: '%s' (such as eu-west-1)", region);
    simple_op *s = simple_new(L, K_CREATE_BUCKET, "s3.create_bucket", bucket, NULL);
    s->c = c;
    if (dry_run_skip("create_bucket", bucket)) {
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    if (c->file_root) {
        if (s3_file_create_bucket(c, bucket, &s->existed, &s->err) != 0) s->failed = 1;
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    s3_req_opts o = {.method = "PUT", .bucket = bucket, .key = NULL, .body = "", .body_len = 0};
    if (strcmp(region, "us-east-1") != 0) {
        /* us-east-1 is the default location and S3 refuses it as a constraint */
        int n = asprintf(&s->body, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                                   "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>", region);
        if (n < 0) {
            s->body = NULL;
            s3_error_set(&s->err, 0, "internal", "out of memory", bucket, NULL, 0);
            s->failed = 1;
            s->op.done = 1;
            return lode_op_yield(L, &s->op);
        }
        s->body_len = (size_t)n;
        o.body = s->body;
        o.body_len = n;
    }
    return simple_start(L, s, &o);
}

/* s3._head_bucket(name_or_url) -> whether the bucket exists and is reachable
 * with these credentials (404/403: false). */
static int l_head_bucket(lua_State *L)
{
    const char *bucket = check_bucket_arg(L, 1);
    lode_s3 *c = client(L, "s3.create_bucket");
    simple_op *s = simple_new(L, K_HEAD_BUCKET, "s3.create_bucket", bucket, NULL);
    s->c = c;
    if (c->file_root) {
        char *p = s3_file_path(c, bucket, NULL);
        struct stat st;
        s->existed = p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
        free(p);
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    s3_req_opts o = {.method = "HEAD", .bucket = bucket, .key = NULL, .body_len = -1};
    return simple_start(L, s, &o);
}

/* s3._delete_one(url) */
static int l_delete_one(lua_State *L)
{
    const char *bucket, *key;
    check_url(L, 1, &bucket, &key, 1);
    lode_s3 *c = client(L, "s3.delete");
    simple_op *s = simple_new(L, K_DELETE, "s3.delete", bucket, key);
    s->c = c;
    if (dry_run_skip("delete", lua_tostring(L, 1))) {
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    if (c->file_root) {
        if (s3_file_delete(c, bucket, key, &s->err) != 0) s->failed = 1;
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    s3_req_opts o = {.method = "DELETE", .bucket = bucket, .key = key, .body_len = -1};
    return simple_start(L, s, &o);
}

/* s3._delete_batch(bucket, {key, ...}) -> deleted count (at most 1,000 keys) */
static int l_delete_batch(lua_State *L)
{
    const char *bucket = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 2);
    luaL_argcheck(L, n >= 1 && n <= 1000, 2, "between 1 and 1000 keys per request");
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 2, i);
        if (!lua_isstring(L, -1)) luaL_argerror(L, 2, "keys must be strings");
        lua_pop(L, 1);
    }
    lode_s3 *c = client(L, "s3.delete");
    simple_op *s = simple_new(L, K_DELETE_BATCH, "s3.delete", bucket, "");
    s->c = c;
    if (lode_dry_run()) {
        lode_logf(LODE_LOG_INFO, "plan: s3.delete %lld keys in s3://%s (skipped in a dry run)", (long long)n, bucket);
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    if (c->file_root) {
        for (lua_Integer i = 1; i <= n && !s->failed; i++) {
            lua_rawgeti(L, 2, i);
            if (s3_file_delete(c, bucket, lua_tostring(L, -1), &s->err) != 0) s->failed = 1;
            else s->deleted++;
            lua_pop(L, 1);
        }
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    size_t len = 0, cap = 0;
    char *x = NULL;
    int oom = s3_xml_escape_append(&x, &len, &cap, "");
    const char *head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>false</Quiet>";
    if (!oom && len + strlen(head) + 1 < cap) {
        memcpy(x, head, strlen(head) + 1);
        len = strlen(head);
    }
    for (lua_Integer i = 1; i <= n && !oom; i++) {
        lua_rawgeti(L, 2, i);
        oom |= s3_xml_escape_append(&x, &len, &cap, "") ;
        /* append raw tags around the escaped key */
        char *tmp = NULL;
        size_t tl = 0, tc = 0;
        oom |= s3_xml_escape_append(&tmp, &tl, &tc, lua_tostring(L, -1));
        lua_pop(L, 1);
        if (!oom) {
            size_t need = len + tl + 32;
            if (need > cap) {
                char *nx = realloc(x, need * 2);
                if (!nx) oom = 1;
                else {
                    x = nx;
                    cap = need * 2;
                }
            }
            if (!oom) len += (size_t)sprintf(x + len, "<Object><Key>%s</Key></Object>", tmp);
        }
        free(tmp);
    }
    if (!oom) {
        char *nx = realloc(x, len + 16);
        if (nx) {
            x = nx;
            len += (size_t)sprintf(x + len, "</Delete>");
        } else {
            oom = 1;
        }
    }
    if (oom) {
        free(x);
        s3_error_set(&s->err, 0, "internal", "out of memory", bucket, NULL, 0);
        s->failed = 1;
        s->op.done = 1;
        return lode_op_yield(L, &s->op);
    }
    s->body = x;
    s->body_len = len;
    /* DeleteObjects requires Content-MD5 (base64 of the MD5 of the body) */
    unsigned char md5[16];
    unsigned int ml = 16;
    EVP_Digest(x, len, md5, &ml, EVP_md5(), NULL);
    char b64[32];
    EVP_EncodeBlock((unsigned char *)b64, md5, 16);
    lode_kv h[] = {{"content-md5", b64}, {"content-type", "application/xml"}};
    lode_kv q[] = {{"delete", NULL}};
    s3_req_opts o = {.method = "POST", .bucket = bucket, .key = NULL, .query = q, .nquery = 1,
                     .headers = h, .nheaders = 2, .body = x, .body_len = (int64_t)len};
    return simple_start(L, s, &o);
}

/* s3.list_uploads(url) -> {{key=, upload_id=}, ...}   (ListMultipartUploads) */
static int l_list_uploads(lua_State *L)
{
    const char *bucket, *prefix;
    check_url(L, 1, &bucket, &prefix, 0);
    lode_s3 *c = client(L, "s3.list_uploads");
    simple_op *s = simple_new(L, K_LIST_UPLOADS, "s3.list_uploads", bucket, prefix);
    s->c = c;
    if (c->file_root) {
        s->op.done = 1;          /* the file:// endpoint has no multipart uploads */
        return lode_op_yield(L, &s->op);
    }
    lode_kv q[] = {{"uploads", NULL}, {"prefix", prefix}};
    s3_req_opts o = {.method = "GET", .bucket = bucket, .query = q, .nquery = *prefix ? 2 : 1, .body_len = -1};
    return simple_start(L, s, &o);
}

/* s3.abort_upload(url, upload_id) */
static int l_abort_upload(lua_State *L)
{
    const char *bucket, *key;
    check_url(L, 1, &bucket, &key, 1);
    const char *id = luaL_checkstring(L, 2);
    lode_s3 *c = client(L, "s3.abort_upload");
    simple_op *s = simple_new(L, K_ABORT, "s3.abort_upload", bucket, key);
    s->c = c;
    lode_kv q[] = {{"uploadId", id}};
    s3_req_opts o = {.method = "DELETE", .bucket = bucket, .key = key, .query = q, .nquery = 1, .body_len = -1};
    return simple_start(L, s, &o);
}

/* ---- download: parallel ranged GETs written at their offsets --------------------- */

typedef struct dl_op dl_op;
typedef struct {
    dl_op *d;
    uint64_t off, len, written;
    s3_req *req;
    int werr;
} dl_part;

struct dl_op {
    lode_op op;
    lode_s3 *c;
    char *bucket, *key, *path;
    int fd;
    uint64_t size, next_off, part_size;
    char etag[80];
    int concurrency, inflight;
    dl_part **slots;
    s3_req *head;
    int failed, cancelled, finished;
    lode_s3_error err;
};

static void dl_finish(dl_op *d)
{
    if (d->finished || d->inflight > 0 || d->head) return;
    d->finished = 1;
    lode_op_done(&d->op);
}

static void dl_fail(dl_op *d, const lode_s3_error *e)
{
    if (!d->failed) {
        d->failed = 1;
        d->err = *e;
    }
    for (int i = 0; i < d->concurrency; i++)
        if (d->slots[i] && d->slots[i]->req) s3_req_cancel(d->slots[i]->req);
}

static size_t dl_sink(void *ud, const char *p, size_t n)
{
    dl_part *pt = ud;
    if (pt->written + n > pt->len) return 0;     /* more than asked for: a broken server */
    size_t off = 0;
    while (off < n) {
        ssize_t w = pwrite(pt->d->fd, p + off, n - off, (off_t)(pt->off + pt->written + off));
        if (w < 0) {
            if (errno == EINTR) continue;
            pt->werr = errno;
            return 0;
        }
        off += (size_t)w;
    }
    pt->written += n;
    return n;
}

static void dl_rewind(void *ud) { ((dl_part *)ud)->written = 0; }

static void dl_launch(dl_op *d);

static void dl_part_done(s3_req *req, void *ud)
{
    dl_part *pt = ud;
    dl_op *d = pt->d;
    const lode_s3_error *e = s3_req_error(req);
    lode_s3_error local;
    if (pt->werr) {
        char m[300];
        snprintf(m, sizeof m, "%s: %s", d->path, strerror(pt->werr));
        s3_error_set(&local, 0, "write", m, d->bucket, d->key, 0);
        e = &local;
    } else if (!e && pt->written != pt->len) {
        s3_error_set(&local, 0, "transport", "short response body", d->bucket, d->key, 1);
        e = &local;
    }
    for (int i = 0; i < d->concurrency; i++)
        if (d->slots[i] == pt) d->slots[i] = NULL;
    s3_req_free(req);
    free(pt);
    d->inflight--;
    if (e && !d->failed) dl_fail(d, e);
    dl_launch(d);
    dl_finish(d);
}

static void dl_launch(dl_op *d)
{
    while (!d->failed && !d->cancelled && d->inflight < d->concurrency && d->next_off < d->size) {
        int slot = 0;
        while (d->slots[slot]) slot++;
        dl_part *pt = calloc(1, sizeof *pt);
        if (!pt) {
            lode_s3_error e;
            s3_error_set(&e, 0, "internal", "out of memory", d->bucket, d->key, 0);
            dl_fail(d, &e);
            return;
        }
        pt->d = d;
        pt->off = d->next_off;
        pt->len = d->size - d->next_off < d->part_size ? d->size - d->next_off : d->part_size;
        d->next_off += pt->len;
        s3_req_opts o = {.method = "GET", .bucket = d->bucket, .key = d->key, .body_len = -1, .on_data = dl_sink,
                         .on_retry = dl_rewind, .on_done = dl_part_done, .ud = pt, .ranged = 1,
                         .range_first = pt->off, .range_last = pt->off + pt->len - 1, .object_size = d->size,
                         .if_match = d->etag};
        lode_s3_error e;
        pt->req = s3_request(d->c, &o, &e);
        if (!pt->req) {
            free(pt);
            dl_fail(d, &e);
            return;
        }
        d->slots[slot] = pt;
        d->inflight++;
    }
}

static void dl_head_done(s3_req *req, void *ud)
{
    dl_op *d = ud;
    const lode_s3_error *e = s3_req_error(req);
    if (e) {
        d->failed = 1;
        d->err = *e;
    } else {
        const lode_http *h = s3_req_http(req);
        const char *len = lode_http_header(h, "content-length");
        d->size = len ? strtoull(len, NULL, 10) : 0;
        const char *etag = lode_http_header(h, "etag");
        if (etag) snprintf(d->etag, sizeof d->etag, "%s", etag);
        if (ftruncate(d->fd, (off_t)d->size) != 0) { /* sparse preallocation is only a hint */ }
    }
    s3_req_free(req);
    d->head = NULL;
    if (!d->cancelled) dl_launch(d);
    dl_finish(d);
}

static void dl_cancel(lode_op *op)
{
    dl_op *d = (dl_op *)op;
    d->cancelled = 1;
    lode_s3_error e;
    s3_error_set(&e, 0, "cancelled", "cancelled", d->bucket, d->key, 0);
    if (d->head) s3_req_cancel(d->head);
    dl_fail(d, &e);
    dl_finish(d);
}

static void dl_release(lode_op *op)
{
    dl_op *d = (dl_op *)op;
    if (d->fd >= 0) close(d->fd);
    free(d->slots);
    free(d->bucket);
    free(d->key);
    free(d->path);
    free(d);
}

static int dl_push(lua_State *L, lode_op *op)
{
    dl_op *d = (dl_op *)op;
    if (d->failed) {
        lode_s3_push_error(L, "s3.download", &d->err);
        return -1;
    }
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)d->size);
    lua_setfield(L, -2, "size");
    lua_pushstring(L, d->etag);
    lua_setfield(L, -2, "etag");
    return 1;
}

/* s3.download(url, path, {part_size=, concurrency=}) */
static int l_download(lua_State *L)
{
    const char *bucket, *key;
    const char *path = luaL_checkstring(L, 2);
    lua_Integer part = opt_field_int(L, 3, "part_size", 0);
    lua_Integer conc = opt_field_int(L, 3, "concurrency", 0);
    check_url(L, 1, &bucket, &key, 1);
    lode_s3 *c = client(L, "s3.download");
    dl_op *d = (dl_op *)lode_op_new(L, sizeof *d, "s3.download", dl_push, dl_cancel, dl_release);
    d->c = c;
    d->bucket = strdup(bucket);
    d->key = strdup(key);
    d->path = strdup(path);
    d->part_size = part > 0 ? (uint64_t)part : (uint64_t)c->part_size;
    d->concurrency = conc > 0 ? (int)conc : c->concurrency;
    d->slots = calloc((size_t)d->concurrency, sizeof *d->slots);
    d->fd = -1;
    if (c->file_root) {
        s3_file_object obj;
        if (s3_file_head(c, bucket, key, &obj, &d->err) != 0 || s3_file_copy_out(c, bucket, key, path, &d->err) != 0) {
            d->failed = 1;
        } else {
            d->size = (uint64_t)obj.size;
            snprintf(d->etag, sizeof d->etag, "%s", obj.etag);
        }
        d->op.done = 1;
        return lode_op_yield(L, &d->op);
    }
    d->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (d->fd < 0 || !d->slots || !d->bucket || !d->key || !d->path) {
        char m[300];
        snprintf(m, sizeof m, "%s: %s", path, d->fd < 0 ? strerror(errno) : "out of memory");
        s3_error_set(&d->err, 0, "write", m, bucket, key, 0);
        d->failed = 1;
        d->op.done = 1;
        return lode_op_yield(L, &d->op);
    }
    s3_req_opts o = {.method = "HEAD", .bucket = bucket, .key = key, .body_len = -1,
                     .on_done = dl_head_done, .ud = d};
    d->head = s3_request(c, &o, &d->err);
    if (!d->head) {
        d->failed = 1;
        d->op.done = 1;
    }
    return lode_op_yield(L, &d->op);
}

/* ---- upload: single PUT or multipart with parallel parts, aborted on failure ---- */

typedef struct up_op up_op;
typedef struct {
    up_op *u;
    int number;
    uint64_t off, len, sent;
    s3_req *req;
    int rerr;
} up_part;

enum { UP_SINGLE, UP_CREATE, UP_PARTS, UP_COMPLETE, UP_ABORT, UP_DONE };

struct up_op {
    lode_op op;
    lode_s3 *c;
    char *bucket, *key, *path, *content_type;
    int fd;
    uint64_t size, part_size;
    int nparts, next_part, inflight, concurrency, phase;
    char **etags;
    char *upload_id;
    up_part **slots;
    s3_req *ctl;
    char *complete_xml;
    int failed, cancelled, finished;
    lode_s3_error err;
    char etag[80];
};

static void up_finish(up_op *u)
{
    if (u->finished || u->inflight > 0 || u->ctl) return;
    u->finished = 1;
    lode_op_done(&u->op);
}

static size_t up_read(void *ud, char *buf, size_t n)
{
    up_part *pt = ud;
    uint64_t left = pt->len - pt->sent;
    if (n > left) n = (size_t)left;
    if (n == 0) return 0;
    ssize_t r;
    do r = pread(pt->u->fd, buf, n, (off_t)(pt->off + pt->sent));
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
        pt->rerr = r < 0 ? errno : EIO;
        return SIZE_MAX;
    }
    pt->sent += (uint64_t)r;
    return (size_t)r;
}

static void up_rewind(void *ud) { ((up_part *)ud)->sent = 0; }

static void up_abort(up_op *u);
static void up_launch(up_op *u);

static void up_fail(up_op *u, const lode_s3_error *e)
{
    if (!u->failed) {
        u->failed = 1;
        u->err = *e;
    }
    for (int i = 0; i < u->concurrency; i++)
        if (u->slots[i] && u->slots[i]->req) s3_req_cancel(u->slots[i]->req);
}

static void up_ctl_done(s3_req *req, void *ud);

static int up_ctl_start(up_op *u, const char *method, const lode_kv *q, size_t nq, const lode_kv *h, size_t nh,
                        const char *body, size_t blen)
{
    s3_req_opts o = {.method = method, .bucket = u->bucket, .key = u->key, .query = q, .nquery = nq,
                     .headers = h, .nheaders = nh, .body = body, .body_len = body ? (int64_t)blen : -1,
                     .on_done = up_ctl_done, .ud = u};
    lode_s3_error e;
    u->ctl = s3_request(u->c, &o, &e);
    if (!u->ctl) {
        if (!u->failed) {
            u->failed = 1;
            u->err = e;
        }
        return -1;
    }
    return 0;
}

static void up_complete(up_op *u)
{
    size_t len = 0, cap = 0;
    char *x = NULL;
    char line[200];
    int oom = s3_xml_escape_append(&x, &len, &cap, "");
    /* tags are written raw; ETags are escaped (they hold quotes) */
    #define RAW(s) do { if (!oom) { size_t l_ = strlen(s); if (len + l_ + 1 > cap) { char *n_ = realloc(x, (len + l_ + 1) * 2); if (!n_) oom = 1; else { x = n_; cap = (len + l_ + 1) * 2; } } if (!oom) { memcpy(x + len, s, l_ + 1); len += l_; } } } while (0)
    RAW("<CompleteMultipartUpload>");
    for (int i = 0; i < u->nparts && !oom; i++) {
        snprintf(line, sizeof line, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
        RAW(line);
        if (!oom) oom = s3_xml_escape_append(&x, &len, &cap, u->etags[i] ? u->etags[i] : "");
        RAW("</ETag></Part>");
    }
    RAW("</CompleteMultipartUpload>");
    #undef RAW
    if (oom) {
        free(x);
        lode_s3_error e;
        s3_error_set(&e, 0, "internal", "out of memory", u->bucket, u->key, 0);
        up_fail(u, &e);
        up_abort(u);
        return;
    }
    u->complete_xml = x;
    u->phase = UP_COMPLETE;
    lode_kv q[] = {{"uploadId", u->upload_id}};
    lode_kv h[] = {{"content-type", "application/xml"}};
    if (up_ctl_start(u, "POST", q, 1, h, 1, x, len) != 0) up_abort(u);
}

static void up_abort(up_op *u)
{
    if (!u->upload_id) {
        u->phase = UP_DONE;
        return;
    }
    u->phase = UP_ABORT;
    lode_kv q[] = {{"uploadId", u->upload_id}};
    if (up_ctl_start(u, "DELETE", q, 1, NULL, 0, NULL, 0) != 0) u->phase = UP_DONE;
}

static void up_part_done(s3_req *req, void *ud)
{
    up_part *pt = ud;
    up_op *u = pt->u;
    const lode_s3_error *e = s3_req_error(req);
    lode_s3_error local;
    if (pt->rerr) {
        char m[300];
        snprintf(m, sizeof m, "%s: %s", u->path, strerror(pt->rerr));
        s3_error_set(&local, 0, "read", m, u->bucket, u->key, 0);
        e = &local;
    }
    if (!e) {
        const char *etag = lode_http_header(s3_req_http(req), "etag");
        u->etags[pt->number - 1] = xstrdup(etag ? etag : "");
    }
    for (int i = 0; i < u->concurrency; i++)
        if (u->slots[i] == pt) u->slots[i] = NULL;
    s3_req_free(req);
    free(pt);
    u->inflight--;
    if (e) up_fail(u, e);
    up_launch(u);
    if (u->inflight == 0 && u->phase == UP_PARTS) {
        if (u->failed || u->cancelled) up_abort(u);
        else if (u->next_part >= u->nparts) up_complete(u);
    }
    up_finish(u);
}

static void up_launch(up_op *u)
{
    while (u->phase == UP_PARTS && !u->failed && !u->cancelled && u->inflight < u->concurrency &&
           u->next_part < u->nparts) {
        int slot = 0;
        while (u->slots[slot]) slot++;
        up_part *pt = calloc(1, sizeof *pt);
        if (!pt) {
            lode_s3_error e;
            s3_error_set(&e, 0, "internal", "out of memory", u->bucket, u->key, 0);
            up_fail(u, &e);
            return;
        }
        pt->u = u;
        pt->number = u->next_part + 1;
        pt->off = (uint64_t)u->next_part * u->part_size;
        pt->len = u->size - pt->off < u->part_size ? u->size - pt->off : u->part_size;
        u->next_part++;
        char num[16];
        snprintf(num, sizeof num, "%d", pt->number);
        lode_kv q[] = {{"partNumber", num}, {"uploadId", u->upload_id}};
        s3_req_opts o = {.method = "PUT", .bucket = u->bucket, .key = u->key, .query = q, .nquery = 2,
                         .read_body = up_read, .body_len = (int64_t)pt->len, .on_retry = up_rewind,
                         .on_done = up_part_done, .ud = pt};
        lode_s3_error e;
        pt->req = s3_request(u->c, &o, &e);
        if (!pt->req) {
            free(pt);
            up_fail(u, &e);
            return;
        }
        u->slots[slot] = pt;
        u->inflight++;
    }
}

static void up_ctl_done(s3_req *req, void *ud)
{
    up_op *u = ud;
    const lode_s3_error *e = s3_req_error(req);
    size_t n;
    const char *b = s3_req_body(req, &n);
    const lode_http *h = s3_req_http(req);
    u->ctl = NULL;
    switch (u->phase) {
    case UP_SINGLE:
        if (e) up_fail(u, e);
        else if (h && lode_http_header(h, "etag")) snprintf(u->etag, sizeof u->etag, "%s", lode_http_header(h, "etag"));
        u->phase = UP_DONE;
        break;
    case UP_CREATE:
        if (!e) u->upload_id = s3_xml_get(b, b + n, "UploadId");
        if (e || !u->upload_id) {
            lode_s3_error local;
            if (!e) s3_error_set(&local, 200, "InternalError", "CreateMultipartUpload returned no UploadId", u->bucket, u->key, 0);
            up_fail(u, e ? e : &local);
            u->phase = UP_DONE;
            break;
        }
        u->phase = UP_PARTS;
        if (u->cancelled) {
            up_abort(u);
            break;
        }
        up_launch(u);
        if (u->inflight == 0) up_abort(u);     /* the first part could not start */
        break;
    case UP_COMPLETE:
        if (e) {
            up_fail(u, e);
            up_abort(u);
            break;
        }
        {
            char *etag = s3_xml_get(b, b + n, "ETag");
            snprintf(u->etag, sizeof u->etag, "%s", etag ? etag : "");
            free(etag);
        }
        u->phase = UP_DONE;
        break;
    case UP_ABORT:
        if (e) lode_logf(LODE_LOG_WARN, "s3: could not abort multipart upload of s3://%s/%s: %s", u->bucket, u->key, e->message);
        u->phase = UP_DONE;
        break;
    }
    s3_req_free(req);
    up_finish(u);
}

static void up_cancel(lode_op *op)
{
    up_op *u = (up_op *)op;
    u->cancelled = 1;
    lode_s3_error e;
    s3_error_set(&e, 0, "cancelled", "cancelled", u->bucket, u->key, 0);
    up_fail(u, &e);
    if (u->ctl && u->phase != UP_ABORT && u->phase != UP_CREATE) s3_req_cancel(u->ctl);
    up_finish(u);
}

static void up_release(lode_op *op)
{
    up_op *u = (up_op *)op;
    if (u->fd >= 0) close(u->fd);
    for (int i = 0; u->etags && i < u->nparts; i++) free(u->etags[i]);
    free(u->etags);
    free(u->slots);
    free(u->upload_id);
    free(u->complete_xml);
    free(u->bucket);
    free(u->key);
    free(u->path);
    free(u->content_type);
    free(u);
}

static int up_push(lua_State *L, lode_op *op)
{
    up_op *u = (up_op *)op;
    if (u->failed) {
        lode_s3_push_error(L, "s3.upload", &u->err);
        return -1;
    }
    lua_createtable(L, 0, 3);
    lua_pushstring(L, u->etag[0] || !u->etags || !u->etags[0] ? u->etag : u->etags[0]);
    lua_setfield(L, -2, "etag");
    lua_pushinteger(L, u->nparts);
    lua_setfield(L, -2, "parts");
    lua_pushinteger(L, (lua_Integer)u->size);
    lua_setfield(L, -2, "size");
    return 1;
}

/* s3.upload(path, url, {part_size=, concurrency=, multipart_threshold=, content_type=}) */
static int l_upload(lua_State *L)
{
    const char *bucket, *key;
    const char *path = luaL_checkstring(L, 1);
    lua_Integer part = opt_field_int(L, 3, "part_size", 0);
    lua_Integer conc = opt_field_int(L, 3, "concurrency", 0);
    lua_Integer threshold = opt_field_int(L, 3, "multipart_threshold", -1);
    const char *ctype = opt_field_str(L, 3, "content_type");
    check_url(L, 2, &bucket, &key, 1);
    luaL_argcheck(L, part == 0 || part >= (5 << 20), 3, "part_size must be at least 5 MiB (an S3 limit)");
    lode_s3 *c = client(L, "s3.upload");
    up_op *u = (up_op *)lode_op_new(L, sizeof *u, "s3.upload", up_push, up_cancel, up_release);
    u->c = c;
    u->fd = -1;
    u->bucket = strdup(bucket);
    u->key = strdup(key);
    u->path = strdup(path);
    u->content_type = strdup(ctype ? ctype : "binary/octet-stream");
    u->concurrency = conc > 0 ? (int)conc : c->concurrency;
    u->phase = UP_DONE;
    if (dry_run_skip("upload", lua_tostring(L, 2))) {
        u->op.done = 1;
        return lode_op_yield(L, &u->op);
    }
    struct stat st;
    u->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (u->fd < 0 || fstat(u->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        char m[300];
        snprintf(m, sizeof m, "%s: %s", path, u->fd < 0 ? strerror(errno) : "not a regular file");
        s3_error_set(&u->err, 0, "read", m, bucket, key, 0);
        u->failed = 1;
        u->op.done = 1;
        return lode_op_yield(L, &u->op);
    }
    u->size = (uint64_t)st.st_size;
    if (c->file_root) {
        s3_file_object obj;
        if (s3_file_put(c, bucket, key, NULL, 0, path, &obj, &u->err) != 0) u->failed = 1;
        else snprintf(u->etag, sizeof u->etag, "%s", obj.etag);
        u->nparts = 1;
        u->op.done = 1;
        return lode_op_yield(L, &u->op);
    }
    u->part_size = part > 0 ? (uint64_t)part : (uint64_t)c->part_size;
    if (u->size / u->part_size >= 10000) u->part_size = u->size / 9999 + 1;   /* at most 10,000 parts */
    uint64_t thr = threshold >= 0 ? (uint64_t)threshold : (uint64_t)c->multipart_threshold;
    lode_kv h[] = {{"content-type", u->content_type}};
    if (u->size <= thr) u->phase = UP_SINGLE;
    u->nparts = u->phase == UP_SINGLE ? 1 : (int)((u->size + u->part_size - 1) / u->part_size);
    if (u->phase == UP_SINGLE) {
        u->etags = calloc(1, sizeof *u->etags);
        u->slots = calloc((size_t)u->concurrency, sizeof *u->slots);
        /* a single PUT is a one-part transfer without an uploadId */
        up_part *pt = calloc(1, sizeof *pt);
        if (!pt || !u->etags || !u->slots) {
            free(pt);
            s3_error_set(&u->err, 0, "internal", "out of memory", bucket, key, 0);
            u->failed = 1;
            u->op.done = 1;
            return lode_op_yield(L, &u->op);
        }
        pt->u = u;
        pt->number = 1;
        pt->len = u->size;
        u->next_part = 1;
        s3_req_opts o = {.method = "PUT", .bucket = bucket, .key = key, .headers = h, .nheaders = 1,
                         .read_body = up_read, .body_len = (int64_t)u->size, .on_retry = up_rewind,
                         .on_done = up_part_done, .ud = pt};
        pt->req = s3_request(c, &o, &u->err);
        if (!pt->req) {
            free(pt);
            u->failed = 1;
            u->op.done = 1;
            return lode_op_yield(L, &u->op);
        }
        u->slots[0] = pt;
        u->inflight = 1;
        return lode_op_yield(L, &u->op);
    }
    u->etags = calloc((size_t)u->nparts, sizeof *u->etags);
    u->slots = calloc((size_t)u->concurrency, sizeof *u->slots);
    if (!u->etags || !u->slots) {
        s3_error_set(&u->err, 0, "internal", "out of memory", bucket, key, 0);
        u->failed = 1;
        u->op.done = 1;
        return lode_op_yield(L, &u->op);
    }
    u->phase = UP_CREATE;
    lode_kv q[] = {{"uploads", NULL}};
    if (up_ctl_start(u, "POST", q, 1, h, 1, NULL, 0) != 0) u->op.done = 1;
    return lode_op_yield(L, &u->op);
}

/* ---- s3.open: an object as a random-access reader (lode_source) ---------------- */

#define READER_MT "lode.s3.reader"

typedef struct {
    lode_source *src;
    int closed;
} reader_ud;

typedef struct {
    lode_op op;
    lode_source *src;            /* open: the result; handed to the userdata on push */
    lode_s3_error err;
    int failed;
    char *buf;                   /* read: the destination */
    size_t nread;
    char msg[1500];
} src_op;

static void src_open_cb(void *ud, lode_source *src, const lode_s3_error *err)
{
    src_op *o = ud;
    if (src) o->src = src;
    else {
        o->err = *err;
        o->failed = 1;
    }
    if (!o->op.task && o->src) {            /* the task was cancelled meanwhile */
        lode_source_close(o->src);
        o->src = NULL;
    }
    lode_op_done(&o->op);
}

static void src_release(lode_op *op)
{
    src_op *o = (src_op *)op;
    if (o->src) lode_source_close(o->src);
    free(o->buf);
    free(o);
}

static int reader_close(lua_State *L)
{
    reader_ud *r = luaL_checkudata(L, 1, READER_MT);
    if (!r->closed) {
        r->closed = 1;
        lode_source_close(r->src);
        r->src = NULL;
    }
    return 0;
}

static int src_open_push(lua_State *L, lode_op *op)
{
    src_op *o = (src_op *)op;
    if (o->failed) {
        lode_s3_push_error(L, "s3.open", &o->err);
        return -1;
    }
    reader_ud *r = lua_newuserdatauv(L, sizeof *r, 0);
    r->src = o->src;
    r->closed = 0;
    o->src = NULL;
    luaL_setmetatable(L, READER_MT);
    return 1;
}

/* s3.open(url) -> reader {size, etag, :read(offset, len), :close()} */
static int l_open(lua_State *L)
{
    const char *url = luaL_checkstring(L, 1);
    lode_s3 *c = client(L, "s3.open");
    src_op *o = (src_op *)lode_op_new(L, sizeof *o, "s3.open", src_open_push, NULL, src_release);
    if (lode_source_open_s3(c, url, src_open_cb, o, &o->err) != 0) {
        o->failed = 1;
        o->op.done = 1;
    }
    return lode_op_yield(L, &o->op);
}

static void src_read_cb(void *ud, int status, size_t nread, const char *errmsg)
{
    src_op *o = ud;
    o->nread = nread;
    if (status != 0) {
        o->failed = 1;
        snprintf(o->msg, sizeof o->msg, "%s", errmsg ? errmsg : "read failed");
    }
    lode_op_done(&o->op);
}

static int src_read_push(lua_State *L, lode_op *op)
{
    src_op *o = (src_op *)op;
    if (o->failed) {
        lode_push_error(L, "s3.read", "read", o->msg, 1);
        return -1;
    }
    lua_pushlstring(L, o->buf ? o->buf : "", o->nread);
    return 1;
}

/* reader:read(offset, len) -> string (shorter at the end of the object) */
static int reader_read(lua_State *L)
{
    reader_ud *r = luaL_checkudata(L, 1, READER_MT);
    lua_Integer off = luaL_checkinteger(L, 2), len = luaL_checkinteger(L, 3);
    luaL_argcheck(L, off >= 0, 2, "offset must be >= 0");
    luaL_argcheck(L, len >= 0 && len <= (256 << 20), 3, "len must be between 0 and 256 MiB");
    if (r->closed) return luaL_error(L, "s3 reader is closed");
    src_op *o = (src_op *)lode_op_new(L, sizeof *o, "s3.read", src_read_push, NULL, src_release);
    o->buf = malloc((size_t)len + 1);
    /* the reader may be closed while this read is in flight: the source
     * completes it first (lode_source contract) */
    int rc = o->buf ? lode_source_read(r->src, (uint64_t)off, (size_t)len, o->buf, src_read_cb, o) : UV_ENOMEM;
    if (rc != 0) {
        o->failed = 1;
        snprintf(o->msg, sizeof o->msg, "%s: %s", r->src->name, uv_strerror(rc));
        o->op.done = 1;
    }
    return lode_op_yield(L, &o->op);
}

static int reader_index(lua_State *L)
{
    reader_ud *r = luaL_checkudata(L, 1, READER_MT);
    const char *k = luaL_checkstring(L, 2);
    if (!r->closed && strcmp(k, "size") == 0) lua_pushinteger(L, (lua_Integer)r->src->size);
    else if (!r->closed && strcmp(k, "etag") == 0) lua_pushstring(L, r->src->etag);
    else if (!r->closed && strcmp(k, "reads") == 0) lua_pushinteger(L, (lua_Integer)r->src->reads);
    else if (strcmp(k, "read") == 0) lua_pushcfunction(L, reader_read);
    else if (strcmp(k, "close") == 0) lua_pushcfunction(L, reader_close);
    else lua_pushnil(L);
    return 1;
}

/* ---- presign and configure ------------------------------------------------------- */

/* s3.presign(url, {expires = seconds (default 3600, at most 604800), method = "GET"}):
 * waits for credentials when none are cached yet */
typedef struct {
    lode_op op;
    lode_s3 *c;
    lode_aws_creds_query *q;
    lode_aws_creds *keys;
    lode_aws_creds_error err;
    char *method, *bucket, *key;
    int64_t now, expires;
} presign_op;

static void presign_keys(void *ud, lode_aws_creds *keys, const lode_aws_creds_error *e)
{
    presign_op *o = ud;
    o->q = NULL;
    o->keys = keys;
    if (!keys) o->err = *e;
    lode_op_done(&o->op);
}

static int presign_push(lua_State *L, lode_op *op)
{
    presign_op *o = (presign_op *)op;
    lode_s3_error e;
    if (!o->keys && o->c->creds) {
        memset(&e, 0, sizeof e);
        snprintf(e.code, sizeof e.code, "%s", o->err.code);
        snprintf(e.message, sizeof e.message, "%s", o->err.message);
        lode_s3_push_error(L, "s3.presign", &e);
        return -1;
    }
    char *url = s3_presign_with(o->c, o->keys ? &o->keys->keys : NULL, o->method, o->bucket, o->key, o->now,
                                o->expires, &e);
    if (!url) {
        lode_s3_push_error(L, "s3.presign", &e);
        return -1;
    }
    lua_pushstring(L, url);
    free(url);
    return 1;
}

static void presign_cancel(lode_op *op)
{
    presign_op *o = (presign_op *)op;
    lode_aws_creds_cancel(o->q);
    o->q = NULL;
    lode_op_done(op);
}

static void presign_release(lode_op *op)
{
    presign_op *o = (presign_op *)op;
    lode_aws_creds_cancel(o->q);
    lode_aws_creds_unref(o->keys);
    free(o->method);
    free(o->bucket);
    free(o->key);
    free(o);
}

static int l_presign(lua_State *L)
{
    const char *bucket, *key;
    lua_Integer expires = opt_field_int(L, 2, "expires", 3600);
    const char *method = opt_field_str(L, 2, "method");
    lua_Integer now = opt_field_int(L, 2, "now", (lua_Integer)time(NULL));
    luaL_argcheck(L, expires >= 1 && expires <= 604800, 2, "expires must be between 1 and 604800 seconds");
    check_url(L, 1, &bucket, &key, 1);
    lode_s3 *c = client(L, "s3.presign");
    presign_op *o = (presign_op *)lode_op_new(L, sizeof *o, "s3.presign", presign_push, presign_cancel,
                                              presign_release);
    o->c = c;
    o->now = (int64_t)now;
    o->expires = (int64_t)expires;
    o->method = strdup(method ? method : "GET");
    o->bucket = strdup(bucket);
    o->key = strdup(key);
    if (!o->method || !o->bucket || !o->key) {
        snprintf(o->err.code, sizeof o->err.code, "OutOfMemory");
        snprintf(o->err.message, sizeof o->err.message, "out of memory");
        o->op.done = 1;
    } else if (c->creds && !(o->keys = lode_aws_creds_current(c->creds))) {
        o->q = lode_aws_creds_get(c->creds, presign_keys, o, &o->err);
        if (!o->q) o->op.done = 1;
    } else {
        o->op.done = 1;
    }
    return lode_op_yield(L, &o->op);
}

/* s3._sign_for_test(url, {endpoint=, now=, expires=, access_key=, secret_key=, token=, region=})
 * -> {url=, authorization=, presigned=}: the request lode would send, signed at a
 * fixed instant with explicit credentials (compared with botocore in the tests). */
static int l_sign_for_test(lua_State *L)
{
    const char *bucket, *key;
    luaL_checktype(L, 2, LUA_TTABLE);
    check_url(L, 1, &bucket, &key, 1);
    lua_Integer now = opt_field_int(L, 2, "now", 0), expires = opt_field_int(L, 2, "expires", 3600);
    lode_s3_error e;
    lode_s3 *c = s3_client_new(opt_field_str(L, 2, "endpoint"), opt_field_str(L, 2, "region"),
                               opt_field_str(L, 2, "access_key"), opt_field_str(L, 2, "secret_key"),
                               opt_field_str(L, 2, "token"), &e);
    if (!c) {
        lode_s3_push_error(L, "s3.sign", &e);
        return lua_error(L);
    }
    char *url = NULL, *auth = NULL;
    char *pre = s3_presign(c, "GET", bucket, key, (int64_t)now, (int64_t)expires, &e);
    s3_sign_for_test(c, bucket, key, (int64_t)now, &url, &auth);
    s3_client_free(c);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, pre);
    lua_setfield(L, -2, "url");
    lua_pushstring(L, auth);
    lua_setfield(L, -2, "authorization");
    lua_pushstring(L, url);
    lua_setfield(L, -2, "request_url");
    free(pre);
    free(url);
    free(auth);
    return 1;
}

/* s3.configure{max_attempts=, part_size=, multipart_threshold=, concurrency=,
 *              low_speed_time=, connect_timeout=, backoff_base=, backoff_cap=,
 *              deadline=, min_rate=, credential_refresh = {advisory = s, mandatory = s}}
 * credential_refresh: how long before temporary credentials expire they are
 * refreshed in the background (default 900 s) / before every request waits
 * for the refresh (default 600 s), as botocore. */
static int l_configure(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lode_s3 *c = client(L, "s3.configure");
    lua_Integer v;
    if ((v = opt_field_int(L, 1, "max_attempts", 0)) > 0) c->max_attempts = (int)v;
    if ((v = opt_field_int(L, 1, "part_size", 0)) > 0) {
        luaL_argcheck(L, v >= (5 << 20), 1, "part_size must be at least 5 MiB");
        c->part_size = v;
    }
    if ((v = opt_field_int(L, 1, "multipart_threshold", 0)) > 0) c->multipart_threshold = v;
    if ((v = opt_field_int(L, 1, "concurrency", 0)) > 0) c->concurrency = (int)v;
    if ((v = opt_field_int(L, 1, "low_speed_time", 0)) > 0) c->low_speed_time_s = (long)v;
    if ((v = opt_field_int(L, 1, "connect_timeout", 0)) > 0) c->connect_timeout_ms = (long)v;
    if ((v = opt_field_int(L, 1, "backoff_base", 0)) > 0) c->backoff_base_ms = (int)v;
    if ((v = opt_field_int(L, 1, "backoff_cap", 0)) > 0) c->backoff_cap_ms = (int)v;
    if ((v = opt_field_int(L, 1, "deadline", -1)) >= 0) c->deadline_ms = (long)v;
    if ((v = opt_field_int(L, 1, "min_rate", 0)) > 0) c->min_rate = (long)v;
    if (lua_getfield(L, 1, "credential_refresh") == LUA_TTABLE && c->creds) {
        int rt = lua_gettop(L);
        lua_Integer adv = opt_field_int(L, rt, "advisory", 0), man = opt_field_int(L, rt, "mandatory", 0);
        luaL_argcheck(L, adv >= 0 && man >= 0, 1, "credential_refresh windows are seconds >= 0");
        lode_aws_creds_set_windows(c->creds, adv, man);
    }
    lua_pop(L, 1);
    lua_createtable(L, 0, 10);
    lua_pushinteger(L, c->max_attempts);
    lua_setfield(L, -2, "max_attempts");
    lua_pushinteger(L, c->part_size);
    lua_setfield(L, -2, "part_size");
    lua_pushinteger(L, c->concurrency);
    lua_setfield(L, -2, "concurrency");
    lua_pushstring(L, c->file_root ? "file" : c->path_style ? "path" : "virtual");
    lua_setfield(L, -2, "addressing");
    lua_pushstring(L, c->cfg.region);
    lua_setfield(L, -2, "region");
    lua_pushinteger(L, c->deadline_ms);
    lua_setfield(L, -2, "deadline");
    lua_pushinteger(L, c->min_rate);
    lua_setfield(L, -2, "min_rate");
    lua_pushinteger(L, c->low_speed_time_s);
    lua_setfield(L, -2, "low_speed_time");
    return 1;
}

/* Lua-side conveniences over the C operations: full listing, the lazy
 * iterator, batched deletes. */
static const char s3_lua[] =
    "local M = ...\n"
    "local function opts_of(o)\n"
    "  o = o or {}\n"
    "  local d = o.delimiter\n"
    "  if d == nil and o.recursive == false then d = '/' end\n"
    "  return d, o.max_keys\n"
    "end\n"
    "function M.each(url, o)\n"
    "  local d, mk = opts_of(o)\n"
    "  local page, i, token, done = nil, 0, nil, false\n"
    "  return function()\n"
    "    while true do\n"
    "      if page and i < #page.objects then i = i + 1; return page.objects[i] end\n"
    "      if page and page.prefixes and #page.prefixes > 0 then\n"
    "        local p = table.remove(page.prefixes, 1); return { prefix = p }\n"
    "      end\n"
    "      if done then return nil end\n"
    "      page = M.list_page(url, { delimiter = d, max_keys = mk, token = token })\n"
    "      i = 0; token = page.next; done = token == nil\n"
    "    end\n"
    "  end\n"
    "end\n"
    "function M.list(url, o)\n"
    "  local d, mk = opts_of(o)\n"
    "  local objects, prefixes, token = {}, {}, nil\n"
    "  repeat\n"
    "    local page = M.list_page(url, { delimiter = d, max_keys = mk, token = token })\n"
    "    for _, x in ipairs(page.objects) do objects[#objects + 1] = x end\n"
    "    for _, p in ipairs(page.prefixes) do prefixes[#prefixes + 1] = p end\n"
    "    token = page.next\n"
    "  until not token\n"
    "  return objects, prefixes\n"
    "end\n"
    "function M.exists(url)\n"
    "  local ok, err = pcall(M.head, url)\n"
    "  if ok then return true end\n"
    "  if type(err) == 'table' and err.status == 404 then return false end\n"
    "  error(err, 0)\n"
    "end\n"
    "function M.create_bucket(name, o)\n"
    "  local ok, r = pcall(M._create_bucket, name, o)\n"
    "  if ok then return r end\n"
    "  if type(r) == 'table' and r.code == 'BucketAlreadyExists' and M._head_bucket(name) then return false end\n"
    "  error(r, 0)\n"
    "end\n"
    "function M.delete(what)\n"
    "  if type(what) == 'string' then return M._delete_one(what) end\n"
    "  local by_bucket, order = {}, {}\n"
    "  for _, u in ipairs(what) do\n"
    "    local b, k = u:match('^s3://([^/]+)/(.+)$')\n"
    "    if not b then error(('s3.delete: not an s3://bucket/key URL: %s'):format(u), 2) end\n"
    "    if not by_bucket[b] then by_bucket[b] = {}; order[#order + 1] = b end\n"
    "    local t = by_bucket[b]; t[#t + 1] = k\n"
    "  end\n"
    "  local n = 0\n"
    "  for _, b in ipairs(order) do\n"
    "    local keys = by_bucket[b]\n"
    "    for i = 1, #keys, 1000 do\n"
    "      n = n + M._delete_batch(b, table.move(keys, i, math.min(i + 999, #keys), 1, {}))\n"
    "    end\n"
    "  end\n"
    "  return n\n"
    "end\n"
    "return M\n";

int luaopen_lode_s3(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"list_page", l_list_page},
        {"head", l_head},
        {"get", l_get},
        {"put", l_put},
        {"copy", l_copy},
        {"download", l_download},
        {"upload", l_upload},
        {"presign", l_presign},
        {"open", l_open},
        {"_sign_for_test", l_sign_for_test},
        {"configure", l_configure},
        {"list_uploads", l_list_uploads},
        {"abort_upload", l_abort_upload},
        {"_delete_one", l_delete_one},
        {"_delete_batch", l_delete_batch},
        {"_create_bucket", l_create_bucket},
        {"_head_bucket", l_head_bucket},
        {NULL, NULL}
    };
    if (luaL_newmetatable(L, READER_MT)) {
        lua_pushcfunction(L, reader_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, reader_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, reader_close);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    luaL_newlib(L, fns);
    if (luaL_loadbuffer(L, s3_lua, sizeof s3_lua - 1, "=lode.s3") != LUA_OK) return lua_error(L);
    lua_pushvalue(L, -2);
    lua_call(L, 1, 1);
    return 1;
}

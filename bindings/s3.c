/* bindings/s3.c — lode.s3core, the C half of lode.s3 (stdlib/lode/s3.lua,
 * where the whole API is listed): S3 object operations on s3://bucket/key
 * URLs, each an argument check, one call into the runtime's s3/ops.c or
 * s3/transfer.c (lode/s3/transfer.h), a yield and its results pushed. Every failure
 * raises a structured error {op, code, message, retryable, status, key,
 * request_id}. In a dry run (`lode plan`) the runtime skips writes and logs them. */
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#include <lauxlib.h>

#include "lode.h"
#include "lode/s3/transfer.h"

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

static void push_object(lua_State *L, const lode_s3_object *o)
{
    lua_createtable(L, 0, 4);
    lua_pushstring(L, o->key ? o->key : "");
    lua_setfield(L, -2, "key");
    lua_pushinteger(L, o->size);
    lua_setfield(L, -2, "size");
    lua_pushstring(L, o->etag);
    lua_setfield(L, -2, "etag");
    lua_pushstring(L, o->last_modified ? o->last_modified : "");
    lua_setfield(L, -2, "last_modified");
}

static void push_etag(lua_State *L, const char *etag)
{
    lua_createtable(L, 0, 3);
    lua_pushstring(L, etag);
    lua_setfield(L, -2, "etag");
}

/* ---- one op for every call: start it in the runtime, yield, push its result ---- */

enum { K_LIST, K_HEAD, K_GET, K_PUT, K_DELETE, K_DELETE_BATCH, K_COPY, K_LIST_UPLOADS, K_ABORT, K_CREATE_BUCKET,
       K_HEAD_BUCKET, K_DOWNLOAD, K_UPLOAD, K_PRESIGN, K_CREATE_UPLOAD, K_UPLOAD_PART };

typedef struct {
    lode_op op;
    int kind;
    const char *opname;
    lode_s3_call *call;          /* NULL: out of memory */
} s3_op;

static void s3_op_done(lode_s3_call *call, void *ud)
{
    (void)call;
    lode_op_done(&((s3_op *)ud)->op);
}

static void s3_op_cancel(lode_op *op)
{
    s3_op *s = (s3_op *)op;
    if (s->call) lode_s3_call_cancel(s->call);   /* an UploadPart's aborts its upload */
}

static void s3_op_release(lode_op *op)
{
    s3_op *s = (s3_op *)op;
    lode_s3_call_free(s->call);
    free(op);
}

static int s3_op_push(lua_State *L, lode_op *op)
{
    s3_op *s = (s3_op *)op;
    if (!s->call) {
        lode_push_error(L, s->opname, "internal", "out of memory", 0);
        return -1;
    }
    const lode_s3_error *e = lode_s3_call_error(s->call);
    if (e) {
        lode_s3_push_error(L, s->opname, e);
        return -1;
    }
    const lode_s3_result *r = lode_s3_call_result(s->call);
    switch (s->kind) {
    case K_LIST:
        lua_createtable(L, 0, 3);
        lua_createtable(L, (int)r->nobjects, 0);
        for (size_t i = 0; i < r->nobjects; i++) {
            push_object(L, &r->objects[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "objects");
        lua_createtable(L, (int)r->nprefixes, 0);
        for (size_t i = 0; i < r->nprefixes; i++) {
            lua_pushstring(L, r->prefixes[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "prefixes");
        if (r->next) {
            lua_pushstring(L, r->next);
            lua_setfield(L, -2, "next");
        }
        return 1;
    case K_LIST_UPLOADS:
        lua_createtable(L, (int)r->nobjects, 0);
        for (size_t i = 0; i < r->nobjects; i++) {
            lua_createtable(L, 0, 2);
            lua_pushstring(L, r->objects[i].key ? r->objects[i].key : "");
            lua_setfield(L, -2, "key");
            lua_pushstring(L, r->objects[i].upload_id ? r->objects[i].upload_id : "");
            lua_setfield(L, -2, "upload_id");
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        return 1;
    case K_HEAD:
        push_object(L, &r->object);
        lua_pushstring(L, r->content_type ? r->content_type : "binary/octet-stream");
        lua_setfield(L, -2, "content_type");
        return 1;
    case K_GET:
    case K_PRESIGN:
        lua_pushlstring(L, r->data ? r->data : "", r->ndata);
        return 1;
    case K_PUT:
    case K_COPY:
        push_etag(L, r->object.etag);
        return 1;
    case K_CREATE_UPLOAD:
        lua_pushstring(L, r->object.upload_id ? r->object.upload_id : "");
        return 1;
    case K_UPLOAD_PART:
        lua_pushstring(L, r->object.etag);
        return 1;
    case K_DOWNLOAD:
    case K_UPLOAD:
        push_etag(L, r->object.etag);
        lua_pushinteger(L, (lua_Integer)r->object.size);
        lua_setfield(L, -2, "size");
        if (s->kind == K_UPLOAD) {
            lua_pushinteger(L, r->parts);
            lua_setfield(L, -2, "parts");
        }
        return 1;
    case K_DELETE_BATCH:
        lua_pushinteger(L, (lua_Integer)r->deleted);
        return 1;
    case K_CREATE_BUCKET:
        lua_pushboolean(L, !r->exists);
        return 1;
    case K_HEAD_BUCKET:
        lua_pushboolean(L, r->exists);
        return 1;
    default:
        lua_pushboolean(L, 1);
        return 1;
    }
}

static s3_op *s3_op_new(lua_State *L, int kind, const char *opname)
{
    s3_op *s = (s3_op *)lode_op_new(L, sizeof *s, opname, s3_op_push, s3_op_cancel, s3_op_release);
    s->kind = kind;
    s->opname = opname;
    return s;
}

/* Yield until call (started with s3_op_done and s) ends. */
static int s3_op_yield(lua_State *L, s3_op *s, lode_s3_call *call)
{
    s->call = call;
    if (!call || lode_s3_call_finished(call)) s->op.done = 1;
    return lode_op_yield(L, &s->op);
}

/* s3.list_page(url, {delimiter=, max_keys=, token=, start_after=}) */
static int l_list_page(lua_State *L)
{
    const char *bucket, *prefix;
    check_url(L, 1, &bucket, &prefix, 0);
    lode_s3_list_opts o = {.delimiter = opt_field_str(L, 2, "delimiter"), .token = opt_field_str(L, 2, "token"),
                           .start_after = opt_field_str(L, 2, "start_after")};
    lua_Integer max_keys = opt_field_int(L, 2, "max_keys", 1000);
    luaL_argcheck(L, max_keys >= 1 && max_keys <= 1000, 2, "max_keys must be between 1 and 1000");
    o.max_keys = (int)max_keys;
    lode_s3 *c = client(L, "s3.list");
    s3_op *s = s3_op_new(L, K_LIST, "s3.list");
    return s3_op_yield(L, s, lode_s3_list_page(c, bucket, prefix, &o, s3_op_done, s));
}

/* s3.head(url) */
static int l_head(lua_State *L)
{
    const char *bucket, *key;
    check_url(L, 1, &bucket, &key, 1);
    lode_s3 *c = client(L, "s3.head");
    s3_op *s = s3_op_new(L, K_HEAD, "s3.head");
    return s3_op_yield(L, s, lode_s3_head(c, bucket, key, s3_op_done, s));
}

/* s3.get(url, {range = {first, last} | "bytes=a-b", max_size=, if_match=etag}) */
static int l_get(lua_State *L)
{
    const char *bucket, *key;
    check_url(L, 1, &bucket, &key, 1);
    lode_s3_get_opts o = {.last = UINT64_MAX, .if_match = opt_field_str(L, 2, "if_match")};
    int t = lua_istable(L, 2) ? lua_getfield(L, 2, "range") : LUA_TNONE;
    if (t == LUA_TTABLE) {
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        lua_Integer first = luaL_checkinteger(L, -2), last = luaL_optinteger(L, -1, -1);
        luaL_argcheck(L, first >= 0 && (last < 0 || last >= first), 2, "range must be {first, last} with 0 <= first <= last");
        o.first = (uint64_t)first;
        if (last >= 0) o.last = (uint64_t)last;
    } else if (t == LUA_TSTRING) {
        if (lode_s3_parse_range(lua_tostring(L, -1), &o.first, &o.last) != 0)
            luaL_argerror(L, 2, "range string must be bytes=FIRST-[LAST]");
    } else if (t != LUA_TNIL && t != LUA_TNONE) {
        luaL_argerror(L, 2, "range must be {first, last} or \"bytes=a-b\"");
    }
    o.ranged = t == LUA_TTABLE || t == LUA_TSTRING;
    lua_Integer max_size = opt_field_int(L, 2, "max_size", 256 << 20);
    o.max_size = (size_t)max_size;
    lode_s3 *c = client(L, "s3.get");
    s3_op *s = s3_op_new(L, K_GET, "s3.get");
    return s3_op_yield(L, s, lode_s3_get(c, bucket, key, &o, s3_op_done, s));
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
    s3_op *s = s3_op_new(L, K_PUT, "s3.put");
    return s3_op_yield(L, s, lode_s3_put(c, bucket, key, data, n, ctype, s3_op_done, s));
}

/* s3.copy(src, dst) */
static int l_copy(lua_State *L)
{
    const char *sb, *sk, *db, *dk;
    check_url(L, 1, &sb, &sk, 1);
    check_url(L, 2, &db, &dk, 1);
    lode_s3 *c = client(L, "s3.copy");
    s3_op *s = s3_op_new(L, K_COPY, "s3.copy");
    return s3_op_yield(L, s, lode_s3_copy(c, sb, sk, db, dk, s3_op_done, s));
}

/* A bucket name, from "name", "s3://name" or "s3://name/", checked against
 * S3's naming rules (3-63 of a-z 0-9 . -, starting and ending with a letter
 * or digit) so a bad name fails here with a clear message. */
static const char *check_bucket_arg(lua_State *L, int idx)
{
    const char *arg = luaL_checkstring(L, idx);
    size_t n;
    const char *name = lode_s3_bucket_of(arg, &n);
    if (!name) luaL_error(L, "s3.create_bucket: expected a bucket (name or s3://name), not a key: %s", arg);
    if (!lode_s3_bucket_name_ok(name, n))
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
    if (!region) region = lode_s3_region(c) ? lode_s3_region(c) : "us-east-1";
    if (!lode_s3_region_name_ok(region))
        luaL_error(L, "s3.create_bucket: not a region name: '%s' (such as eu-west-1)", region);
    s3_op *s = s3_op_new(L, K_CREATE_BUCKET, "s3.create_bucket");
    return s3_op_yield(L, s, lode_s3_create_bucket(c, bucket, region, s3_op_done, s));
}

/* s3._head_bucket(name_or_url) -> whether the bucket exists and is reachable
 * with these credentials (404/403: false). */
static int l_head_bucket(lua_State *L)
{
    const char *bucket = check_bucket_arg(L, 1);
    lode_s3 *c = client(L, "s3.create_bucket");
    s3_op *s = s3_op_new(L, K_HEAD_BUCKET, "s3.create_bucket");
    return s3_op_yield(L, s, lode_s3_head_bucket(c, bucket, s3_op_done, s));
}

/* s3._delete_one(url) */
static int l_delete_one(lua_State *L)
{
    const char *bucket, *key;
    check_url(L, 1, &bucket, &key, 1);
    lode_s3 *c = client(L, "s3.delete");
    s3_op *s = s3_op_new(L, K_DELETE, "s3.delete");
    return s3_op_yield(L, s, lode_s3_delete(c, bucket, key, s3_op_done, s));
}

/* s3._delete_batch(bucket, {key, ...}) -> deleted count (at most 1,000 keys) */
static int l_delete_batch(lua_State *L)
{
    const char *bucket = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 2);
    luaL_argcheck(L, n >= 1 && n <= 1000, 2, "between 1 and 1000 keys per request");
    const char *keys[1000];
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 2, i);        /* strings of the table: anchored there */
        if (!lua_isstring(L, -1)) luaL_argerror(L, 2, "keys must be strings");
        keys[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    lode_s3 *c = client(L, "s3.delete");
    s3_op *s = s3_op_new(L, K_DELETE_BATCH, "s3.delete");
    return s3_op_yield(L, s, lode_s3_delete_batch(c, bucket, keys, (size_t)n, s3_op_done, s));
}

/* s3.list_uploads(url) -> {{key=, upload_id=}, ...}   (ListMultipartUploads) */
static int l_list_uploads(lua_State *L)
{
    const char *bucket, *prefix;
    check_url(L, 1, &bucket, &prefix, 0);
    lode_s3 *c = client(L, "s3.list_uploads");
    s3_op *s = s3_op_new(L, K_LIST_UPLOADS, "s3.list_uploads");
    return s3_op_yield(L, s, lode_s3_list_uploads(c, bucket, prefix, s3_op_done, s));
}

/* s3.abort_upload(url, upload_id): waits for the answer; where the caller
 * cannot wait (a __close or __gc handler of a task being cancelled) the
 * abort is sent and left to finish on the loop, a failure logged. */
static int l_abort_upload(lua_State *L)
{
    const char *bucket, *key;
    check_url(L, 1, &bucket, &key, 1);
    const char *id = luaL_checkstring(L, 2);
    lode_s3 *c = client(L, "s3.abort_upload");
    if (!lua_isyieldable(L)) {
        lode_s3_abort_upload_detached(c, bucket, key, id);
        lua_pushboolean(L, 1);
        return 1;
    }
    s3_op *s = s3_op_new(L, K_ABORT, "s3.abort_upload");
    return s3_op_yield(L, s, lode_s3_abort_upload(c, bucket, key, id, s3_op_done, s));
}

/* s3.create_upload(url, {content_type=}) -> upload_id   (CreateMultipartUpload) */
static int l_create_upload(lua_State *L)
{
    const char *bucket, *key;
    check_url(L, 1, &bucket, &key, 1);
    const char *ctype = opt_field_str(L, 2, "content_type");
    lode_s3 *c = client(L, "s3.create_upload");
    s3_op *s = s3_op_new(L, K_CREATE_UPLOAD, "s3.create_upload");
    return s3_op_yield(L, s, lode_s3_create_upload(c, bucket, key, ctype, s3_op_done, s));
}

/* s3.upload_part(url, upload_id, number, data) -> etag   (UploadPart; data
 * stays on this function's stack, so anchored, until the part is sent) */
static int l_upload_part(lua_State *L)
{
    const char *bucket, *key;
    const char *id = luaL_checkstring(L, 2);
    lua_Integer number = luaL_checkinteger(L, 3);
    luaL_argcheck(L, number >= 1 && number <= 10000, 3, "part numbers are 1 to 10000");
    size_t n;
    const char *data = luaL_checklstring(L, 4, &n);
    check_url(L, 1, &bucket, &key, 1);
    lode_s3 *c = client(L, "s3.upload_part");
    s3_op *s = s3_op_new(L, K_UPLOAD_PART, "s3.upload_part");
    return s3_op_yield(L, s, lode_s3_upload_part(c, bucket, key, id, (int)number, data, n, s3_op_done, s));
}

/* s3.complete_upload(url, upload_id, {etag1, etag2, ...}, [size]) -> {etag=}   (CompleteMultipartUpload;
 * size, the object's bytes, gives the server time to assemble it) */
static int l_complete_upload(lua_State *L)
{
    const char *bucket, *key;
    const char *id = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 3);
    luaL_argcheck(L, n >= 1 && n <= 10000, 3, "1 to 10000 part ETags");
    lua_Integer size = luaL_optinteger(L, 4, 0);
    const char **etags = lua_newuserdatauv(L, sizeof *etags * (size_t)n, 0);   /* freed by the GC */
    for (lua_Integer i = 0; i < n; i++) {
        lua_rawgeti(L, 3, i + 1);
        etags[i] = luaL_checkstring(L, -1);   /* anchored by the table */
        lua_pop(L, 1);
    }
    check_url(L, 1, &bucket, &key, 1);
    lode_s3 *c = client(L, "s3.complete_upload");
    s3_op *s = s3_op_new(L, K_PUT, "s3.complete_upload");
    return s3_op_yield(L, s, lode_s3_complete_upload(c, bucket, key, id, etags, (int)n, (int64_t)size, s3_op_done, s));
}

/* s3.download(url, path, {part_size=, concurrency=}) */
static int l_download(lua_State *L)
{
    const char *bucket, *key;
    const char *path = luaL_checkstring(L, 2);
    lode_s3_transfer_opts o = {.part_size = opt_field_int(L, 3, "part_size", 0),
                               .concurrency = (int)opt_field_int(L, 3, "concurrency", 0)};
    check_url(L, 1, &bucket, &key, 1);
    lode_s3 *c = client(L, "s3.download");
    s3_op *s = s3_op_new(L, K_DOWNLOAD, "s3.download");
    return s3_op_yield(L, s, lode_s3_download(c, bucket, key, path, &o, s3_op_done, s));
}

/* s3.upload(path, url, {part_size=, concurrency=, multipart_threshold=, content_type=}) */
static int l_upload(lua_State *L)
{
    const char *bucket, *key;
    const char *path = luaL_checkstring(L, 1);
    lode_s3_transfer_opts o = {.part_size = opt_field_int(L, 3, "part_size", 0),
                               .concurrency = (int)opt_field_int(L, 3, "concurrency", 0),
                               .multipart_threshold = opt_field_int(L, 3, "multipart_threshold", -1),
                               .content_type = opt_field_str(L, 3, "content_type")};
    check_url(L, 2, &bucket, &key, 1);
    luaL_argcheck(L, o.part_size == 0 || o.part_size >= (5 << 20), 3, "part_size must be at least 5 MiB (an S3 limit)");
    lode_s3 *c = client(L, "s3.upload");
    s3_op *s = s3_op_new(L, K_UPLOAD, "s3.upload");
    return s3_op_yield(L, s, lode_s3_upload(c, path, bucket, key, &o, s3_op_done, s));
}

/* ---- presign and configure ------------------------------------------------------- */

/* s3.presign(url, {expires = seconds (default 3600, at most 604800), method = "GET"}):
 * waits for credentials when none are cached yet */
static int l_presign(lua_State *L)
{
    const char *bucket, *key;
    lua_Integer expires = opt_field_int(L, 2, "expires", 3600);
    const char *method = opt_field_str(L, 2, "method");
    lua_Integer now = opt_field_int(L, 2, "now", (lua_Integer)time(NULL));
    luaL_argcheck(L, expires >= 1 && expires <= 604800, 2, "expires must be between 1 and 604800 seconds");
    check_url(L, 1, &bucket, &key, 1);
    lode_s3 *c = client(L, "s3.presign");
    s3_op *s = s3_op_new(L, K_PRESIGN, "s3.presign");
    return s3_op_yield(L, s, lode_s3_presign(c, method ? method : "GET", bucket, key, (int64_t)now,
                                             (int64_t)expires, s3_op_done, s));
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
    char *pre, *url, *auth;
    if (lode_s3_sign_example(opt_field_str(L, 2, "endpoint"), opt_field_str(L, 2, "region"),
                             opt_field_str(L, 2, "access_key"), opt_field_str(L, 2, "secret_key"),
                             opt_field_str(L, 2, "token"), bucket, key, (int64_t)now, (int64_t)expires, &pre, &url,
                             &auth, &e) != 0) {
        lode_s3_push_error(L, "s3.sign", &e);
        return lua_error(L);
    }
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
 * -> the settings now (and addressing, region). credential_refresh: how long
 * before temporary credentials expire they are refreshed in the background
 * (default 900 s) / before every request waits for the refresh (default
 * 600 s), as botocore. */
static int l_configure(lua_State *L)
{
    static const struct { const char *name; size_t off; lua_Integer min; int shown; } opts[] = {
#define S(f) offsetof(lode_s3_settings, f)
        {"max_attempts", S(max_attempts), 1, 1},     {"part_size", S(part_size), 1, 1},
        {"multipart_threshold", S(multipart_threshold), 1, 0}, {"concurrency", S(concurrency), 1, 1},
        {"low_speed_time", S(low_speed_time_s), 1, 1}, {"connect_timeout", S(connect_timeout_ms), 1, 0},
        {"backoff_base", S(backoff_base_ms), 1, 0},  {"backoff_cap", S(backoff_cap_ms), 1, 0},
        {"deadline", S(deadline_ms), 0, 1},          {"min_rate", S(min_rate), 1, 1},
#undef S
    };
    luaL_checktype(L, 1, LUA_TTABLE);
    lode_s3 *c = client(L, "s3.configure");
    lode_s3_settings s;
    lode_s3_get_settings(c, &s);
    lua_Integer v;
    if ((v = opt_field_int(L, 1, "part_size", 0)) > 0) luaL_argcheck(L, v >= (5 << 20), 1, "part_size must be at least 5 MiB");
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
        if ((v = opt_field_int(L, 1, opts[i].name, -1)) >= opts[i].min) *(int64_t *)((char *)&s + opts[i].off) = v;
    lode_s3_set_settings(c, &s);
    if (lua_getfield(L, 1, "credential_refresh") == LUA_TTABLE) {
        int rt = lua_gettop(L);
        lua_Integer adv = opt_field_int(L, rt, "advisory", 0), man = opt_field_int(L, rt, "mandatory", 0);
        luaL_argcheck(L, adv >= 0 && man >= 0, 1, "credential_refresh windows are seconds >= 0");
        lode_s3_set_credential_refresh(c, adv, man);
    }
    lua_pop(L, 1);
    lode_s3_get_settings(c, &s);
    lua_createtable(L, 0, 10);
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
        if (!opts[i].shown) continue;
        lua_pushinteger(L, *(int64_t *)((char *)&s + opts[i].off));
        lua_setfield(L, -2, opts[i].name);
    }
    lua_pushstring(L, lode_s3_addressing_name(c));
    lua_setfield(L, -2, "addressing");
    lua_pushstring(L, lode_s3_region(c));
    lua_setfield(L, -2, "region");
    return 1;
}

int luaopen_lode_s3core(lua_State *L)
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
        {"_sign_for_test", l_sign_for_test},
        {"configure", l_configure},
        {"list_uploads", l_list_uploads},
        {"abort_upload", l_abort_upload},
        {"create_upload", l_create_upload},
        {"upload_part", l_upload_part},
        {"complete_upload", l_complete_upload},
        {"_delete_one", l_delete_one},
        {"_delete_batch", l_delete_batch},
        {"_create_bucket", l_create_bucket},
        {"_head_bucket", l_head_bucket},
        {NULL, NULL}
    };
    luaL_newlib(L, fns);
    return 1;
}

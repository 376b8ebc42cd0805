/* fs.c — lode.fs: local file-system metadata (scandir, stat, mkdir, mkdtemp,
 * remove). These are quick local calls made synchronously; bulk data goes
 * through the streaming readers, never through here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "lode.h"

static const char *type_name(uv_dirent_type_t t)
{
    switch (t) {
    case UV_DIRENT_FILE: return "file";
    case UV_DIRENT_DIR: return "directory";
    case UV_DIRENT_LINK: return "link";
    default: return "other";
    }
}

static int push_fail(lua_State *L, const char *op, const char *path, int err)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s", op, path, uv_strerror(err));
    lua_pushstring(L, uv_err_name(err));
    return 3;
}

/* fs.scandir(path) -> { {name=, type=}, ... } sorted by name, or nil, err */
static int l_scandir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    uv_fs_t req;
    int n = uv_fs_scandir(NULL, &req, path, 0, NULL);
    if (n < 0) {
        uv_fs_req_cleanup(&req);
        return push_fail(L, "scandir", path, n);
    }
    lua_createtable(L, n, 0);
    uv_dirent_t ent;
    int i = 0;
    while (uv_fs_scandir_next(&req, &ent) != UV_EOF) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, ent.name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, type_name(ent.type));
        lua_setfield(L, -2, "type");
        lua_rawseti(L, -2, ++i);
    }
    uv_fs_req_cleanup(&req);
    return 1;
}

/* fs.stat(path) -> {type=, size=, mtime=} or nil, err */
static int l_stat(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct stat st;
    if (stat(path, &st) != 0) return push_fail(L, "stat", path, -errno);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, S_ISDIR(st.st_mode) ? "directory" : S_ISREG(st.st_mode) ? "file" : "other");
    lua_setfield(L, -2, "type");
    lua_pushinteger(L, (lua_Integer)st.st_size);
    lua_setfield(L, -2, "size");
    lua_pushinteger(L, (lua_Integer)st.st_mtime);
    lua_setfield(L, -2, "mtime");
    return 1;
}

/* fs.mkdir(path [, parents]) -> true or nil, err */
static int l_mkdir(lua_State *L)
{
    size_t len;
    const char *path = luaL_checklstring(L, 1, &len);
    int parents = lua_toboolean(L, 2);
    if (!parents) {
        if (mkdir(path, 0777) != 0 && errno != EEXIST) return push_fail(L, "mkdir", path, -errno);
        lua_pushboolean(L, 1);
        return 1;
    }
    char *p = strdup(path);
    if (!p) return luaL_error(L, "out of memory");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            return push_fail(L, "mkdir", path, -e);
        }
        *s = '/';
    }
    int rc = mkdir(p, 0777) != 0 && errno != EEXIST ? -errno : 0;
    free(p);
    if (rc) return push_fail(L, "mkdir", path, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* fs.mkdtemp([prefix]) -> path of a new private directory */
static int l_mkdtemp(lua_State *L)
{
    const char *prefix = luaL_optstring(L, 1, "lode");
    const char *tmp = getenv("TMPDIR");
    lua_pushfstring(L, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    char *tmpl = strdup(lua_tostring(L, -1));
    if (!tmpl) return luaL_error(L, "out of memory");
    if (!mkdtemp(tmpl)) {
        int e = errno;
        free(tmpl);
        return push_fail(L, "mkdtemp", lua_tostring(L, -1), -e);
    }
    lua_pushstring(L, tmpl);
    free(tmpl);
    return 1;
}

/* fs.rmtree(path): remove a file or a directory and everything under it */
static int rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode)) return unlink(path) == 0 ? 0 : -errno;
    uv_fs_t req;
    int n = uv_fs_scandir(NULL, &req, path, 0, NULL);
    if (n < 0) {
        uv_fs_req_cleanup(&req);
        return n;
    }
    uv_dirent_t ent;
    int rc = 0;
    while (rc == 0 && uv_fs_scandir_next(&req, &ent) != UV_EOF) {
        size_t len = strlen(path) + strlen(ent.name) + 2;
        char *child = malloc(len);
        if (!child) {
            rc = -ENOMEM;
            break;
        }
        snprintf(child, len, "%s/%s", path, ent.name);
        rc = rmtree(child);
        free(child);
    }
    uv_fs_req_cleanup(&req);
    if (rc == 0 && rmdir(path) != 0) rc = -errno;
    return rc;
}

static int l_rmtree(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int rc = rmtree(path);
    if (rc) return push_fail(L, "remove", path, rc);
    lua_pushboolean(L, 1);
    return 1;
}

int luaopen_lode_fs(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"scandir", l_scandir},
        {"stat", l_stat},
        {"mkdir", l_mkdir},
        {"mkdtemp", l_mkdtemp},
        {"rmtree", l_rmtree},
        {NULL, NULL}
    };
    luaL_newlib(L, fns);
    return 1;
}

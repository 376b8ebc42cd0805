/* s3/file.c — the file:// endpoint: buckets are folders under the root, keys
 * are relative paths. Same semantics as S3 where it matters to pipelines:
 * bytewise list order, prefixes and delimiters, ranges, ETags as the MD5 of
 * the content. Synchronous (local disk, for the demo and newcomers). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "internal.h"

static int key_ok(const char *key)
{
    /* no "..", "." or empty segments: a key never escapes its bucket */
    if (!key || !*key || key[0] == '/') return 0;
    for (const char *s = key; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
        if (n == 0 && e) return 0;
        s = e ? e + 1 : s + n;
    }
    return 1;
}

char *s3_file_path(const lode_s3 *c, const char *bucket, const char *key)
{
    char *p = NULL;
    if (strchr(bucket, '/') || strcmp(bucket, "..") == 0 || strcmp(bucket, ".") == 0) return NULL;
    if (key && *key) {
        if (!key_ok(key)) return NULL;
        if (asprintf(&p, "%s/%s/%s", c->file_root, bucket, key) < 0) return NULL;
    } else if (asprintf(&p, "%s/%s", c->file_root, bucket) < 0) {
        return NULL;
    }
    return p;
}

static int bucket_exists(const lode_s3 *c, const char *bucket, lode_s3_error *err, const char *key)
{
    char *p = s3_file_path(c, bucket, NULL);
    struct stat st;
    int ok = p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
    free(p);
    if (!ok) s3_error_set(err, 404, "NoSuchBucket", "the bucket folder does not exist under the file:// root", bucket, key, 0);
    return ok;
}

static int md5_file(const char *path, char etag[40])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) EVP_DigestUpdate(ctx, buf, (size_t)n);
    close(fd);
    unsigned char d[16];
    unsigned int dl = 16;
    EVP_DigestFinal_ex(ctx, d, &dl);
    EVP_MD_CTX_free(ctx);
    static const char hex[] = "0123456789abcdef";
    etag[0] = '"';
    for (int i = 0; i < 16; i++) {
        etag[1 + 2 * i] = hex[d[i] >> 4];
        etag[2 + 2 * i] = hex[d[i] & 15];
    }
    etag[33] = '"';
    etag[34] = '\0';
    return n < 0 ? -1 : 0;
}

static void not_found(lode_s3_error *err, const char *bucket, const char *key)
{
    s3_error_set(err, 404, "NoSuchKey", "the specified key does not exist", bucket, key, 0);
}

static void io_error(lode_s3_error *err, const char *what, const char *bucket, const char *key)
{
    char m[300];
    snprintf(m, sizeof m, "%s: %s", what, strerror(errno));
    s3_error_set(err, 500, "InternalError", m, bucket, key, 0);
}

/* ---- listing ------------------------------------------------------------------ */

typedef struct {
    char **keys;
    size_t n, cap;
} keylist;

static int walk(const char *dir, const char *rel, keylist *kl)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && rc == 0) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (strncmp(e->d_name, ".lode-tmp-", 10) == 0) continue;
        char *full = NULL, *r = NULL;
        if (asprintf(&full, "%s/%s", dir, e->d_name) < 0) return -1;
        if (asprintf(&r, "%s%s%s", rel, *rel ? "/" : "", e->d_name) < 0) {
            free(full);
            return -1;
        }
        struct stat st;
        if (stat(full, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                rc = walk(full, r, kl);
            } else if (S_ISREG(st.st_mode)) {
                if (kl->n == kl->cap) {
                    size_t cap = kl->cap ? kl->cap * 2 : 256;
                    char **k = realloc(kl->keys, cap * sizeof *k);
                    if (!k) rc = -1;
                    else {
                        kl->keys = k;
                        kl->cap = cap;
                    }
                }
                if (rc == 0) {
                    kl->keys[kl->n++] = r;
                    r = NULL;
                }
            }
        }
        free(full);
        free(r);
    }
    closedir(d);
    return rc;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int s3_file_list(const lode_s3 *c, const char *bucket, const char *prefix, const char *delimiter,
                 const char *start_after, int max_keys, s3_file_object **objs, size_t *nobjs,
                 char ***prefixes, size_t *nprefixes, int *truncated, lode_s3_error *err)
{
    *objs = NULL;
    *prefixes = NULL;
    *nobjs = *nprefixes = 0;
    *truncated = 0;
    if (!bucket_exists(c, bucket, err, prefix)) return -1;
    char *root = s3_file_path(c, bucket, NULL);
    keylist kl = {0};
    if (!root || walk(root, "", &kl) != 0) {
        free(root);
        s3_error_set(err, 500, "InternalError", "out of memory listing the folder", bucket, prefix, 0);
        return -1;
    }
    qsort(kl.keys, kl.n, sizeof *kl.keys, str_cmp);
    size_t plen = prefix ? strlen(prefix) : 0;
    size_t dlen = delimiter ? strlen(delimiter) : 0;
    size_t salen = start_after ? strlen(start_after) : 0;
    s3_file_object *o = calloc(kl.n + 1, sizeof *o);
    char **pf = calloc(kl.n + 1, sizeof *pf);
    int count = 0, rc = 0;
    if (!o || !pf) rc = -1;
    for (size_t i = 0; rc == 0 && i < kl.n; i++) {
        const char *k = kl.keys[i];
        if (plen && strncmp(k, prefix, plen) != 0) continue;
        if (start_after && strcmp(k, start_after) <= 0) continue;
        /* a continuation after a common prefix skips the keys under it */
        if (salen && dlen && salen >= dlen && strcmp(start_after + salen - dlen, delimiter) == 0 &&
            strncmp(k, start_after, salen) == 0)
            continue;
        const char *cp = dlen ? strstr(k + plen, delimiter) : NULL;
        if (count >= max_keys) {
            *truncated = 1;
            break;
        }
        if (cp) {
            size_t n = (size_t)(cp - k) + dlen;
            if (*nprefixes && strlen(pf[*nprefixes - 1]) == n && strncmp(pf[*nprefixes - 1], k, n) == 0) continue;
            pf[(*nprefixes)++] = strndup(k, n);
            count++;
            continue;
        }
        char *path = NULL;
        struct stat st;
        if (asprintf(&path, "%s/%s", root, k) < 0 || stat(path, &st) != 0 || md5_file(path, o[*nobjs].etag) != 0) {
            free(path);
            continue;          /* vanished meanwhile */
        }
        free(path);
        o[*nobjs].key = strdup(k);
        o[*nobjs].size = st.st_size;
        o[*nobjs].mtime = st.st_mtime;
        (*nobjs)++;
        count++;
    }
    for (size_t i = 0; i < kl.n; i++) free(kl.keys[i]);
    free(kl.keys);
    free(root);
    *objs = o;
    *prefixes = pf;
    if (rc != 0) {
        s3_file_list_free(o, *nobjs, pf, *nprefixes);
        *objs = NULL;
        *prefixes = NULL;
        s3_error_set(err, 500, "InternalError", "out of memory", bucket, prefix, 0);
    }
    return rc;
}

void s3_file_list_free(s3_file_object *objs, size_t nobjs, char **prefixes, size_t nprefixes)
{
    for (size_t i = 0; objs && i < nobjs; i++) free(objs[i].key);
    free(objs);
    for (size_t i = 0; prefixes && i < nprefixes; i++) free(prefixes[i]);
    free(prefixes);
}

/* ---- objects ----------------------------------------------------------------- */

int s3_file_head(const lode_s3 *c, const char *bucket, const char *key, s3_file_object *out, lode_s3_error *err)
{
    memset(out, 0, sizeof *out);
    if (!bucket_exists(c, bucket, err, key)) return -1;
    char *p = s3_file_path(c, bucket, key);
    struct stat st;
    if (!p || stat(p, &st) != 0 || !S_ISREG(st.st_mode) || md5_file(p, out->etag) != 0) {
        free(p);
        not_found(err, bucket, key);
        return -1;
    }
    free(p);
    out->size = st.st_size;
    out->mtime = st.st_mtime;
    return 0;
}

int s3_file_get(const lode_s3 *c, const char *bucket, const char *key, int64_t off, int64_t len,
                char **data, size_t *n, lode_s3_error *err)
{
    *data = NULL;
    *n = 0;
    if (!bucket_exists(c, bucket, err, key)) return -1;
    char *p = s3_file_path(c, bucket, key);
    int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
    free(p);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        not_found(err, bucket, key);
        return -1;
    }
    if (off < 0) off = 0;
    if (off > 0 && off >= st.st_size) {
        close(fd);
        s3_error_set(err, 416, "InvalidRange", "the requested range is not satisfiable", bucket, key, 0);
        return -1;
    }
    int64_t want = st.st_size - off;
    if (len >= 0 && len < want) want = len;
    char *buf = malloc((size_t)want + 1);
    if (!buf) {
        close(fd);
        s3_error_set(err, 500, "InternalError", "out of memory", bucket, key, 0);
        return -1;
    }
    size_t got = 0;
    while ((int64_t)got < want) {
        ssize_t r = pread(fd, buf + got, (size_t)want - got, (off_t)(off + (int64_t)got));
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *n = got;
    return 0;
}

static int mkdirs_for(char *path)
{
    for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        int rc = mkdir(path, 0755);
        *s = '/';
        if (rc != 0 && errno != EEXIST) return -1;
    }
    return 0;
}

int s3_file_create_bucket(const lode_s3 *c, const char *bucket, int *existed, lode_s3_error *err)
{
    char *p = s3_file_path(c, bucket, NULL);
    *existed = 0;
    if (!p) {
        s3_error_set(err, 400, "InvalidBucketName", "not a bucket name", bucket, NULL, 0);
        return -1;
    }
    int rc = mkdirs_for(p);
    if (rc == 0 && mkdir(p, 0755) != 0) {
        struct stat st;
        if (errno == EEXIST && stat(p, &st) == 0 && S_ISDIR(st.st_mode)) *existed = 1;
        else rc = -1;
    }
    if (rc != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "cannot create the bucket folder %s: %s", p, strerror(errno));
        s3_error_set(err, 0, "io", msg, bucket, NULL, 0);
    }
    free(p);
    return rc;
}

static int copy_fd(int in, int out)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR) continue;
                return -1;
            }
            off += w;
        }
    }
    return n < 0 ? -1 : 0;
}

int s3_file_put(const lode_s3 *c, const char *bucket, const char *key, const void *data, size_t n,
                const char *from_path, s3_file_object *out, lode_s3_error *err)
{
    if (!bucket_exists(c, bucket, err, key)) return -1;
    char *p = s3_file_path(c, bucket, key), *tmp = NULL;
    if (!p) {
        s3_error_set(err, 400, "InvalidKey", "the key cannot be stored as a path (empty, '.' or '..' segments)", bucket, key, 0);
        return -1;
    }
    int rc = -1, fd = -1, in = -1;
    char *slash = strrchr(p, '/');
    if (mkdirs_for(p) != 0 || asprintf(&tmp, "%.*s/.lode-tmp-%d-%s", (int)(slash - p), p, (int)getpid(), slash + 1) < 0) {
        tmp = NULL;
        io_error(err, "creating folders", bucket, key);
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        io_error(err, "creating the object file", bucket, key);
        goto done;
    }
    if (from_path) {
        in = open(from_path, O_RDONLY | O_CLOEXEC);
        if (in < 0 || copy_fd(in, fd) != 0) {
            io_error(err, from_path, bucket, key);
            goto done;
        }
    } else {
        for (size_t off = 0; off < n;) {
            ssize_t w = write(fd, (const char *)data + off, n - off);
            if (w < 0) {
                if (errno == EINTR) continue;
                io_error(err, "writing the object file", bucket, key);
                goto done;
            }
            off += (size_t)w;
        }
    }
    if (close(fd) != 0) {
        fd = -1;
        io_error(err, "writing the object file", bucket, key);
        goto done;
    }
    fd = -1;
    if (rename(tmp, p) != 0) {
        io_error(err, "renaming the object file", bucket, key);
        goto done;
    }
    free(tmp);
    tmp = NULL;
    rc = out ? s3_file_head(c, bucket, key, out, err) : 0;
done:
    if (fd >= 0) close(fd);
    if (in >= 0) close(in);
    if (tmp) unlink(tmp);
    free(tmp);
    free(p);
    return rc;
}

int s3_file_delete(const lode_s3 *c, const char *bucket, const char *key, lode_s3_error *err)
{
    if (!bucket_exists(c, bucket, err, key)) return -1;
    char *p = s3_file_path(c, bucket, key);
    if (!p) return 0;                 /* such a key cannot exist */
    if (unlink(p) != 0 && errno != ENOENT) {
        io_error(err, "deleting", bucket, key);
        free(p);
        return -1;
    }
    /* remove folders left empty, like S3 where prefixes exist only through keys */
    char *root = s3_file_path(c, bucket, NULL);
    for (char *s = strrchr(p, '/'); s && root && (size_t)(s - p) > strlen(root); s = strrchr(p, '/')) {
        *s = '\0';
        if (rmdir(p) != 0) break;
    }
    free(root);
    free(p);
    return 0;
}

int s3_file_copy_out(const lode_s3 *c, const char *bucket, const char *key, const char *to_path, lode_s3_error *err)
{
    if (!bucket_exists(c, bucket, err, key)) return -1;
    char *p = s3_file_path(c, bucket, key);
    int in = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
    free(p);
    if (in < 0) {
        not_found(err, bucket, key);
        return -1;
    }
    int out = open(to_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = out >= 0 && copy_fd(in, out) == 0 ? 0 : -1;
    if (out >= 0 && close(out) != 0) rc = -1;
    close(in);
    if (rc != 0) io_error(err, to_path, bucket, key);
    return rc;
}

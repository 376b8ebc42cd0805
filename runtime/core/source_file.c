/* source_file.c — lode_source over a local file, read with uv_fs_read on
 * libuv's thread pool so the loop never waits on the disk.
 * Owns: the file descriptor (closed when the source is closed and the last
 * read has completed) and one request struct per read in flight. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lode.h"
#include "lode/core/source.h"

typedef struct {
    lode_source base;
    int fd;
    int inflight;
    int closed;
} file_source;

typedef struct {
    uv_fs_t req;
    file_source *fs;
    lode_source_read_cb cb;
    void *ud;
    char *buf;
    size_t want, got;
    uint64_t offset;
} file_read;

static void file_free(file_source *fs)
{
    if (fs->fd >= 0) close(fs->fd);
    free(fs->base.name);
    free(fs);
}

static void on_fs_read(uv_fs_t *req)
{
    file_read *r = (file_read *)req;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    file_source *fs = r->fs;
    if (n > 0 && !fs->closed) {
        r->got += (size_t)n;
        if (r->got < r->want) {      /* short read: continue where it stopped */
            uv_buf_t b = uv_buf_init(r->buf + r->got, (unsigned)(r->want - r->got));
            if (uv_fs_read(lode_loop(), &r->req, fs->fd, &b, 1,
                           (int64_t)(r->offset + r->got), on_fs_read) == 0)
                return;
            n = -EIO;
        }
    }
    char msg[256] = "";
    int status = 0;
    if (fs->closed) {
        status = UV_ECANCELED;
        snprintf(msg, sizeof msg, "%s: source closed", fs->base.name);
    } else if (n < 0) {
        status = (int)n;
        snprintf(msg, sizeof msg, "%s: read at offset %llu: %s", fs->base.name,
                 (unsigned long long)(r->offset + r->got), uv_strerror((int)n));
    }
    r->cb(r->ud, status, r->got, status ? msg : NULL);
    if (--fs->inflight == 0 && fs->closed) file_free(fs);
    free(r);
}

static int file_read_start(lode_source *src, uint64_t offset, size_t len, void *buf,
                           lode_source_read_cb cb, void *ud)
{
    file_source *fs = (file_source *)src;
    if (fs->closed) return UV_EBADF;
    if (offset >= src->size || len == 0) {
        /* nothing to read: complete on the next loop turn through the pool
         * would be overkill; report synchronously as an empty read */
        cb(ud, 0, 0, NULL);
        return 0;
    }
    if (len > src->size - offset) len = (size_t)(src->size - offset);
    file_read *r = calloc(1, sizeof *r);
    if (!r) return UV_ENOMEM;
    r->fs = fs;
    r->cb = cb;
    r->ud = ud;
    r->buf = buf;
    r->want = len;
    r->offset = offset;
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    int rc = uv_fs_read(lode_loop(), &r->req, fs->fd, &b, 1, (int64_t)offset, on_fs_read);
    if (rc < 0) {
        free(r);
        return rc;
    }
    fs->inflight++;
    src->reads++;
    return 0;
}

static void file_close(lode_source *src)
{
    file_source *fs = (file_source *)src;
    fs->closed = 1;
    if (fs->inflight == 0) file_free(fs);
}

static const lode_source_vt file_vt = { file_read_start, file_close };

int lode_source_open_file(const char *path, lode_source **out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    file_source *fs = calloc(1, sizeof *fs);
    if (!fs || !(fs->base.name = strdup(path))) {
        free(fs);
        close(fd);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    fs->base.vt = &file_vt;
    fs->base.size = (uint64_t)st.st_size;
    fs->fd = fd;
    *out = &fs->base;
    return 0;
}

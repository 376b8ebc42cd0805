/* parquet/dump.c — lode_pqr_dump: a whole Parquet file rendered to a file
 * descriptor (`lode parquet cat`), the loop of lode/parquet/read.h run to
 * the end: load a row group, render it in chunks, write each chunk, next.
 *
 * Owns: the output buffer (lode_pqr_dump_free). The reader stays the
 * caller's. Writes are blocking write(2)s to fd (stdout of the CLI). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lode/parquet/read.h"

#define OUT_CHUNK (1u << 20)

/* 0 written, 1 the reader of fd went away (| head), -1 failed (d->err). */
static int write_all(lode_pqr_dump *d, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(d->fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EPIPE) return 1;
            snprintf(d->err, sizeof d->err, "writing to %s: %s", d->fd == 1 ? "stdout" : "the output",
                     strerror(errno));
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void dump_step(void *ud, lode_pqr *r);

static void dump_finish(lode_pqr_dump *d)
{
    d->done(d, d->ud);
}

/* Called when the footer or a row group has loaded. */
static void dump_step(void *ud, lode_pqr *r)
{
    lode_pqr_dump *d = ud;
    if (lode_pqr_failed(r) || d->cancelled) {
        dump_finish(d);
        return;
    }
    if (lode_pqr_num_row_groups(r) == 0 && d->out.len == 0) {
        /* a file without row groups still gets its header line */
        lode_pqr_render(r, &d->out, OUT_CHUNK);
    }
    int more;
    do {
        more = lode_pqr_render(r, &d->out, OUT_CHUNK);
        int wr = d->out.len ? write_all(d, d->out.data, d->out.len) : 0;
        if (wr != 0) {
            d->failed = wr < 0;
            dump_finish(d);
            return;
        }
        d->out.len = 0;
    } while (more > 0);
    if (more < 0) {
        dump_finish(d);
        return;
    }
    int rc = lode_pqr_next_row_group(r, dump_step, d);
    if (rc == 0) return;             /* dump_step runs again when loaded */
    if (rc == 1) d->rows = lode_pqr_num_rows(r);
    dump_finish(d);
}

void lode_pqr_dump_start(lode_pqr_dump *d, lode_pqr *r, int fd,
                         void (*done)(lode_pqr_dump *d, void *ud), void *ud)
{
    d->r = r;
    d->fd = fd;
    d->done = done;
    d->ud = ud;
    dump_step(d, r);
}

void lode_pqr_dump_free(lode_pqr_dump *d)
{
    lode_pqr_buf_free(&d->out);
}

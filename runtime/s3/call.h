/* s3/call.h — private to runtime/s3/: the common part of every lode_s3_call
 * (ops.c: one-request calls; transfer.c: download and upload). */
#ifndef LODE_S3_CALL_H
#define LODE_S3_CALL_H

#include "lode/s3/transfer.h"
#include "internal.h"

struct lode_s3_call {
    lode_s3 *c;
    lode_s3_call_cb cb;
    void *ud;
    int starting;              /* inside its start function: no callback */
    int finished;
    int failed;
    lode_s3_error err;
    lode_s3_result res;
    char *bucket, *key;
    void (*cancel)(lode_s3_call *call);
    void (*release)(lode_s3_call *call);   /* the kind's own state */
};

/* A call of `size` bytes (a struct starting with lode_s3_call); NULL when out of memory. */
lode_s3_call *s3_call_new(size_t size, lode_s3 *c, const char *bucket, const char *key, lode_s3_call_cb cb,
                          void *ud);
/* Mark it ended; run the callback unless it is still starting. */
void s3_call_finish(lode_s3_call *call);
/* The end of a start function: a call that finished while starting is returned as is. */
lode_s3_call *s3_call_started(lode_s3_call *call);
/* Record the first error. */
void s3_call_fail(lode_s3_call *call, const lode_s3_error *e);
/* A write skipped in a dry run (`lode plan`): "plan: s3.<what> (skipped in a
 * dry run)" logged, what formatted from fmt, and a call ended while it
 * starts, with empty results. NULL when out of memory. */
lode_s3_call *s3_call_skipped(lode_s3 *c, const char *bucket, const char *key, lode_s3_call_cb cb, void *ud,
                              const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif

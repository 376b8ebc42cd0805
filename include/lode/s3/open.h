/* lode/s3/open.h — one way to open "a path or a URL" as a lode_source, for
 * every reader that takes either (the Parquet footer reader, the Parquet row
 * reader, Parquet COPY):
 *
 *   lode_source_open_url("s3://bkt/a.parquet", etag, LODE_PQ_SPECULATIVE_DEFAULT, on_open, ud);
 *   static void on_open(void *ud, lode_source *src, const lode_source_open_error *e) {
 *       // exactly one of src and e is non-NULL; e->message names the URL
 *   }
 *
 * A local path or file://path opens the file; s3://bucket/key goes through
 * the process's shared S3 client (lode_s3_default, which also maps s3:// to
 * folders on a file:// endpoint) with one GET of the last tail_len bytes.
 * Failures have one set of codes and one message shape, whichever reader
 * asked. It lives in s3/ because it is where a URL meets both kinds of
 * source; parquet/ itself never opens anything. */
#ifndef LODE_S3_OPEN_H
#define LODE_S3_OPEN_H

#include <stddef.h>

#include "lode/core/source.h"

typedef struct {
    const char *code;        /* "not_found" (no such file, key or bucket),
                              * "ObjectChanged" (not the listed version), "io" */
    char message[1200];      /* "<url>: no such key (NoSuchKey, HTTP 404)", "<path>: …" */
    int retryable;
    long status;             /* HTTP status, 0 for a local file */
} lode_source_open_error;

/* Exactly one of src and err is non-NULL; the callee owns src. */
typedef void (*lode_source_open_cb)(void *ud, lode_source *src, const lode_source_open_error *err);

/* Open url (a local path, file://path or s3://bucket/key). etag: the S3
 * version as listed (NULL or "": any version); tail_len > 0: the last
 * tail_len bytes come with the open (S3: kept in the source). cb is called
 * exactly once, maybe before this returns (a local file, or an S3 open
 * that could not start). */
void lode_source_open_url(const char *url, const char *etag, size_t tail_len,
                          lode_source_open_cb cb, void *ud);

#endif

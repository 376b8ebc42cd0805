/* lode/load/manifest.h — Redshift's COPY manifest: {"entries": [{"url":
 * "s3://...", "mandatory": true, "meta": {"content_length": n}}, ...]}. */
#ifndef LODE_LOAD_MANIFEST_H
#define LODE_LOAD_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *url;                 /* s3://bucket/key */
    int mandatory;
    int64_t content_length;    /* meta.content_length, or -1 when absent */
} lode_manifest_entry;

/* Parse a manifest; 0 with *entries (malloc'd, *count of them; free with
 * lode_manifest_free), or -1 with err naming `name` and what is wrong. */
int lode_manifest_parse(const char *text, size_t n, const char *name, lode_manifest_entry **entries,
                        size_t *count, char *err, size_t errlen);
void lode_manifest_free(lode_manifest_entry *entries, size_t count);

#endif

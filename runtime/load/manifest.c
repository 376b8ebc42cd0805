/* manifest.c — Redshift's COPY manifest JSON into a list of entries.
 * Owns: nothing after returning; the entries belong to the caller. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "lode/load/manifest.h"

void lode_manifest_free(lode_manifest_entry *entries, size_t count)
{
    for (size_t i = 0; i < count; i++) free(entries[i].url);
    free(entries);
}

int lode_manifest_parse(const char *text, size_t n, const char *name, lode_manifest_entry **entries,
                        size_t *count, char *err, size_t errlen)
{
    lode_manifest_entry *out = NULL;
    size_t k = 0;
    *entries = NULL;
    *count = 0;
    cJSON *root = cJSON_ParseWithLength(text, n);
    if (!root) {
        snprintf(err, errlen, "%s: not valid JSON", name);
        goto fail;
    }
    cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "entries");
    if (!cJSON_IsArray(list)) {
        snprintf(err, errlen, "%s: no \"entries\" array", name);
        goto fail;
    }
    int total = cJSON_GetArraySize(list);
    out = calloc(total > 0 ? (size_t)total : 1, sizeof *out);
    if (!out) {
        snprintf(err, errlen, "%s: out of memory", name);
        goto fail;
    }
    cJSON *e;
    cJSON_ArrayForEach(e, list) {
        cJSON *url = cJSON_GetObjectItemCaseSensitive(e, "url");
        if (!cJSON_IsString(url) || strncmp(url->valuestring, "s3://", 5) != 0) {
            snprintf(err, errlen, "%s: entry %zu has no s3:// \"url\"", name, k + 1);
            goto fail;
        }
        lode_manifest_entry *m = &out[k];
        if (!(m->url = strdup(url->valuestring))) {
            snprintf(err, errlen, "%s: out of memory", name);
            goto fail;
        }
        k++;
        m->mandatory = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "mandatory"));
        cJSON *meta = cJSON_GetObjectItemCaseSensitive(e, "meta");
        cJSON *len = meta ? cJSON_GetObjectItemCaseSensitive(meta, "content_length") : NULL;
        m->content_length = cJSON_IsNumber(len) && len->valuedouble >= 0 ? (int64_t)len->valuedouble : -1;
    }
    cJSON_Delete(root);
    *entries = out;
    *count = k;
    return 0;
fail:
    lode_manifest_free(out, k);
    cJSON_Delete(root);
    return -1;
}

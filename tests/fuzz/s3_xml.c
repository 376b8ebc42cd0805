/* libFuzzer target: S3's XML answers. The input is read the way lode reads
 * a ListObjectsV2 / ListMultipartUploads page, a DeleteObjects result and an
 * error document; then, as a property, text escaped for a request body must
 * decode back to itself. */
#include "s3/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

/* read every decoded byte (the sanitizers check them), then free */
static void take(char *s)
{
    if (s) sink += strlen(s);
    free(s);
}

static void walk(const char *b, const char *e)
{
    static const char *const items[] = { "Contents", "Upload", "Deleted", "Error" };
    static const char *const fields[] = { "Key", "Size", "ETag", "LastModified", "Initiated", "UploadId",
                                          "Code", "Message" };
    for (size_t t = 0; t < sizeof items / sizeof *items; t++) {
        const char *p = b, *inner;
        size_t len;
        while (p && (p = s3_xml_next(p, e, items[t], &inner, &len))) {
            if (inner < b || inner + len > e) abort();
            for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) take(s3_xml_get(inner, inner + len, fields[f]));
        }
    }
    const char *p = b, *inner;
    size_t len;
    while ((p = s3_xml_next(p, e, "CommonPrefixes", &inner, &len))) take(s3_xml_get(inner, inner + len, "Prefix"));
    static const char *const top[] = { "IsTruncated", "NextContinuationToken", "NextKeyMarker", "UploadId",
                                       "ETag", "Code", "Message", "RequestId" };
    for (size_t i = 0; i < sizeof top / sizeof *top; i++) take(s3_xml_get(b, e, top[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so reading one byte past the end is caught */
    char *b = malloc(size ? size : 1);
    if (!b) return 0;
    memcpy(b, data, size);
    walk(b, b + size);

    /* escape → decode is the identity on text without NUL */
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
        char *x = NULL;
        size_t xl = 0, xc = 0;
        if (s3_xml_escape_append(&x, &xl, &xc, s) == 0) {
            char *d = s3_xml_decode(x, xl);
            if (d && strcmp(d, s) != 0) abort();
            free(d);
        }
        free(x);
        free(s);
    }
    free(b);
    return 0;
}

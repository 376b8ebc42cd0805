/* libFuzzer target: AWS Query answers. The input is parsed the way
 * lode.aws reads a Query response or error (runtime/aws/query.c) into a
 * JSON tree; the tree must print, and its error fields be findable. */
#include "aws/aws_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *j = aws_xml_parse((const char *)data, size);
    if (!j) return 0;
    char *s = cJSON_PrintUnformatted(j);
    if (s) sink += strlen(s);
    free(s);
    const cJSON *e = aws_json_find(j, "Error");
    if (e) sink += (size_t)cJSON_GetArraySize(e);
    cJSON_Delete(j);
    return 0;
}

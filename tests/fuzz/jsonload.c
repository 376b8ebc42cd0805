/* libFuzzer target: the JSON object reader and the column conversions.
 * Byte 0 picks the options ('auto', 'auto ignorecase' or JSONPaths), byte 1
 * the chunk size; the rest is the input, fed in chunks. Every field of every
 * record is converted against a mixed set of column types. */
#include "lode/load/load.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const lode_load_column COLS[] = {
    { LODE_LT_INT4, -1, 0, 0 }, { LODE_LT_TEXT, 8, 0, 0 }, { LODE_LT_NUMERIC, -1, 6, 2 },
    { LODE_LT_JSON, -1, 0, 0 }, { LODE_LT_BOOL, -1, 0, 0 }, { LODE_LT_TIMESTAMP, -1, 0, 0 },
};
static const char *const NAMES[] = { "id", "name", "amount", "meta", "ok", "ts" };
static const char *const PATHS[] = { "$.id", "$['name']", "$.a.b[2]", "$.meta", "$[\"ok\"][0]", "$.ts" };
#define NCOLS (sizeof COLS / sizeof *COLS)

typedef struct {
    lode_conv_opts conv;
    lode_buf out;
} fuzz_state;

static int on_record(void *ud, const lode_json_record *r)
{
    fuzz_state *s = ud;
    if (r->nfields != NCOLS || r->raw_len > LODE_RAW_LINE_MAX) abort();
    for (size_t i = 0; i < r->nfields; i++) {
        lode_conv_error e;
        const lode_field *f = &r->fields[i];
        lode_conv_field(&COLS[i], &s->conv, f->data, f->len, f->quoted, r->isnull[i], &s->out, &e);
    }
    s->out.len = 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint8_t flags = data[0];
    size_t chunk = (size_t)data[1] + 1;
    data += 2;
    size -= 2;
    fuzz_state st;
    memset(&st, 0, sizeof st);
    lode_jsonload_opts o = { .ncols = NCOLS, .names = NAMES, .ignorecase = flags & 1, .max_record = 4096 };
    if (flags & 2) {
        o.jsonpaths = PATHS;
        o.n_jsonpaths = NCOLS;
    }
    char err[300];
    lode_jsonload *j = lode_jsonload_new(&o, on_record, &st, err, sizeof err);
    if (!j) abort();
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = lode_jsonload_feed(j, data + off, n);
    }
    if (rc == 0) lode_jsonload_finish(j);
    if (rc == -1 && !lode_jsonload_error(j)[0]) abort();
    lode_jsonload_free(j);
    lode_buf_free(&st.out);
    return 0;
}

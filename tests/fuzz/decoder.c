/* libFuzzer target: the COPY decoder (runtime/load/decoder.c) with and
 * without Spectrum's SET_TO_NULL data handling. Byte 0 picks the format
 * (text, CSV, JSON), binary output, REPLACE and TRUNCATE; byte 1 the chunk
 * size; the rest is one file, decoded twice: once as COPY reads it, once
 * with every kind SET_TO_NULL governs (count, length, UTF-8, NUL, numbers)
 * set to NULL. The second keeps every row the first keeps, and each record
 * is a row or a bad row in both, so the totals agree. */
#include "lode/load/decoder.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const lode_decoder_column COLS[] = {
    { "id", { LODE_LT_INT4, -1, 0, 0 } }, { "name", { LODE_LT_TEXT, 8, 0, 0 } },
    { "amount", { LODE_LT_NUMERIC, -1, 6, 2 } }, { "ok", { LODE_LT_BOOL, -1, 0, 0 } },
    { "x", { LODE_LT_FLOAT8, -1, 0, 0 } }, { "n", { LODE_LT_INT2, -1, 0, 0 } },
};
#define NCOLS (sizeof COLS / sizeof *COLS)

static const int NULL_CODES[] = { LODE_ERR_EXTRA_COLUMNS, LODE_ERR_DELIMITER, LODE_ERR_LENGTH, LODE_ERR_UTF8,
                                  LODE_ERR_NUL, LODE_ERR_OVERFLOW, LODE_ERR_DIGIT, LODE_ERR_FLOAT };

/* Decode the input; -1 on a fatal error (the stats are then not compared). */
static int decode(const lode_decoder_opts *o, const uint8_t *data, size_t size, size_t chunk, lode_decoder_stats *st)
{
    lode_decoder *d = lode_decoder_new(o);
    if (!d) abort();
    char err[300];
    if (lode_decoder_begin_file(d, "f", 1, err, sizeof err) != 0) abort();
    int rc = 0;
    for (size_t i = 0; i < size && rc == 0; i += chunk) {
        rc = lode_decoder_feed(d, data + i, i + chunk <= size ? chunk : size - i);
        lode_decoder_output_reset(d);
        lode_decoder_clear_bad(d);
    }
    if (rc == 0) rc = lode_decoder_end_file(d);
    lode_decoder_get_stats(d, st);
    lode_decoder_free(d);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint8_t flags = data[0];
    size_t chunk = (size_t)data[1] + 1;
    data += 2;
    size -= 2;
    lode_decoder_opts o;
    memset(&o, 0, sizeof o);
    o.format = (flags & 3) == 0 ? LODE_DEC_TEXT : (flags & 3) == 1 ? LODE_DEC_CSV : LODE_DEC_JSON;
    o.csv.delimiter = o.format == LODE_DEC_CSV ? ',' : '|';
    o.csv.quote = '"';
    o.csv.escape = (flags & 4) != 0;
    o.csv.max_record = 4096;
    o.binary = (flags & 8) != 0;
    o.conv.acceptinvchars = (flags & 16) ? '?' : 0;
    o.conv.truncatecolumns = (flags & 32) != 0;
    o.columns = COLS;
    o.ncols = NCOLS;
    o.compression = LODE_Z_NONE;
    lode_decoder_stats plain, nulled;
    int a = decode(&o, data, size, chunk, &plain);
    o.null_codes = NULL_CODES;
    o.n_null_codes = sizeof NULL_CODES / sizeof *NULL_CODES;
    int b = decode(&o, data, size, chunk, &nulled);
    if (a == 0 && b == 0) {
        if (nulled.rows < plain.rows) abort();
        if (nulled.rows + nulled.errors != plain.rows + plain.errors) abort();
    }
    return 0;
}

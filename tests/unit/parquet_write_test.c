/* parquet_write_test.c — the Parquet writer's value checks (every value of
 * the wrong shape fails naming the column, none is written differently) and
 * its footer, parsed back with lode's own footer parser. DuckDB checks the
 * values themselves (tests/lua/sql/unload_test.lua). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lode/parquet/codec.h"
#include "lode/parquet/parquet.h"
#include "lode/parquet/write.h"
#include "tap.h"

static char err[256];

static int put(lode_pqw *w, int col, const char *v) { return lode_pqw_value(w, col, v, v ? strlen(v) : 0, err, sizeof err); }

int main(void)
{
    char path[] = "/tmp/lode-pqw-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    lode_pqw_column cols[] = {
        { "i", LODE_PQW_INT32, 0, 0 },     { "d", LODE_PQW_DECIMAL, 8, 3 }, { "day", LODE_PQW_DATE, 0, 0 },
        { "ts", LODE_PQW_TIMESTAMP, 0, 0 }, { "b", LODE_PQW_BOOLEAN, 0, 0 }, { "s", LODE_PQW_STRING, 0, 0 },
    };
    lode_pqw *w = lode_pqw_open(path, cols, 6, 64, err, sizeof err);   /* tiny row groups: several */
    ok(w != NULL, "a writer for six columns");

    /* values of the wrong shape fail, naming the column */
    ok(put(w, 0, "2147483648") < 0 && strstr(err, "column i") && strstr(err, "2147483648"), "int32 overflow: %s", err);
    lode_pqw_free(w);
    w = lode_pqw_open(path, cols, 6, 64, err, sizeof err);
    const char *bad[][2] = {
        { "1", "1.2345" },          /* more fraction digits than the scale */
        { "1", "123456.000" },      /* precision 8 exceeded */
        { "1", "NaN" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        lode_pqw_free(w);
        w = lode_pqw_open(path, cols, 6, 64, err, sizeof err);
        put(w, 0, bad[k][0]);
        ok(put(w, 1, bad[k][1]) < 0 && strstr(err, "column d"), "decimal '%s' refused: %s", bad[k][1], err);
    }
    const char *bad_dates[] = { "2024-01-01 BC", "infinity", "2024-13-01", "24-01-01" };
    for (size_t k = 0; k < sizeof bad_dates / sizeof bad_dates[0]; k++) {
        lode_pqw_free(w);
        w = lode_pqw_open(path, cols, 6, 64, err, sizeof err);
        put(w, 0, "1");
        put(w, 1, NULL);
        ok(put(w, 2, bad_dates[k]) < 0 && strstr(err, "column day"), "date '%s' refused", bad_dates[k]);
    }
    const char *bad_ts[] = { "2024-01-01 00:00:00+00", "2024-01-01 00:00:00 BC", "2024-01-01 00:00:00.1234567",
                             "2024-01-01" };
    for (size_t k = 0; k < sizeof bad_ts / sizeof bad_ts[0]; k++) {
        lode_pqw_free(w);
        w = lode_pqw_open(path, cols, 6, 64, err, sizeof err);
        put(w, 0, "1");
        put(w, 1, NULL);
        put(w, 2, NULL);
        ok(put(w, 3, bad_ts[k]) < 0 && strstr(err, "column ts"), "timestamp '%s' refused", bad_ts[k]);
    }
    lode_pqw_free(w);
    w = lode_pqw_open(path, cols, 6, 64, err, sizeof err);
    ok(put(w, 1, "1.000") < 0 && strstr(err, "out of order"), "values are given in column order");
    lode_pqw_free(w);
    w = lode_pqw_open(path, cols, 6, 64, err, sizeof err);
    put(w, 0, "1");
    ok(lode_pqw_end_row(w, err, sizeof err) < 0 && strstr(err, "1 values"), "an incomplete row fails: %s", err);
    lode_pqw_free(w);

    /* a good file: 100 rows in several row groups, footer parsed back */
    w = lode_pqw_open(path, cols, 6, 64, err, sizeof err);
    int good = 1;
    for (int r = 0; r < 100; r++) {
        char i[16];
        snprintf(i, sizeof i, "%d", r % 2 ? -2147483647 - 1 : 2147483647);
        good &= put(w, 0, i) == 0 && put(w, 1, r % 3 ? "-0.010" : "99999.999") == 0 &&
                put(w, 2, "1900-02-28") == 0 && put(w, 3, r % 5 ? "1969-12-31 23:59:59.999999" : NULL) == 0 &&
                put(w, 4, r % 2 ? "t" : "f") == 0 && put(w, 5, r % 7 ? "é|\n\"" : "") == 0 &&
                lode_pqw_end_row(w, err, sizeof err) == 0;
    }
    ok(good, "100 rows of edge values are taken");
    ok(lode_pqw_rows(w) == 100, "rows counted");
    ok(lode_pqw_close(w, err, sizeof err) == 0, "closed: %s", err);
    lode_pqw_free(w);

    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    uint8_t *bytes = malloc((size_t)size);
    fseek(f, 0, SEEK_SET);
    ok(fread(bytes, 1, (size_t)size, f) == (size_t)size, "read back %ld bytes", size);
    fclose(f);
    ok(memcmp(bytes, "PAR1", 4) == 0 && memcmp(bytes + size - 4, "PAR1", 4) == 0, "PAR1 at both ends");
    uint32_t flen;
    memcpy(&flen, bytes + size - 8, 4);
    lode_pq_meta *m = NULL;
    ok(flen < (uint32_t)size && lode_pq_meta_parse(bytes + size - 8 - flen, flen, &m, err, sizeof err) == 0,
       "the footer parses: %s", err);
    if (m) {
        ok(m->num_rows == 100, "num_rows 100");
        ok(m->n_leaves == 6 && m->n_schema == 7, "six leaf columns under the root");
        ok(m->n_row_groups > 1, "%u row groups of about 64 bytes", m->n_row_groups);
        int64_t rows = 0;
        int offsets_ok = 1;
        for (uint32_t g = 0; g < m->n_row_groups; g++) {
            rows += m->row_groups[g].num_rows;
            for (uint32_t c = 0; c < m->row_groups[g].n_columns; c++) {
                const lode_pq_column_meta *cm = m->row_groups[g].columns[c].meta;
                offsets_ok &= cm && cm->data_page_offset >= 4 && cm->data_page_offset + cm->total_compressed_size <= size &&
                              cm->codec == LODE_PQ_SNAPPY && cm->num_values == m->row_groups[g].num_rows;
            }
        }
        ok(rows == 100, "the row groups hold the 100 rows");
        ok(offsets_ok, "every chunk lies inside the file, SNAPPY, one value per row");
        const lode_pq_schema_element *d = &m->schema[m->leaves[1]];
        ok(d->type == LODE_PQ_INT64 && d->converted_type == LODE_PQ_CT_DECIMAL && d->precision == 8 && d->scale == 3,
           "decimal(8,3) as INT64 DECIMAL");
        ok(m->schema[m->leaves[5]].converted_type == LODE_PQ_CT_UTF8 && m->schema[m->leaves[5]].repetition == LODE_PQ_OPTIONAL,
           "strings OPTIONAL UTF8");
        lode_pq_meta_free(m);
    }
    free(bytes);
    unlink(path);

    /* wide decimals, timestamptz, time, in memory with ZSTD: the footer's
     * types, and the fewest bytes per precision (10^p - 1 < 2^(8n - 1)) */
    static const int widths[][2] = { { 19, 9 }, { 21, 9 }, { 22, 10 }, { 28, 12 }, { 38, 16 } };
    lode_pqw_column wide[] = {
        { "d19", LODE_PQW_DECIMAL, 19, 0 }, { "d21", LODE_PQW_DECIMAL, 21, 2 }, { "d22", LODE_PQW_DECIMAL, 22, 0 },
        { "d28", LODE_PQW_DECIMAL, 28, 28 }, { "d38", LODE_PQW_DECIMAL, 38, 10 },
        { "tz", LODE_PQW_TIMESTAMPTZ, 0, 0 }, { "tm", LODE_PQW_TIME, 0, 0 },
    };
    w = lode_pqw_open(NULL, wide, 7, 0, err, sizeof err);
    ok(w && lode_pqw_set_codec(w, LODE_CODEC_ZSTD, err, sizeof err) == 0, "an in-memory ZSTD writer: %s", err);
    ok(lode_pqw_set_codec(w, 99, err, sizeof err) < 0 && strstr(err, "not written"), "an unknown codec refused");
    good = put(w, 0, "-9999999999999999999") == 0 && put(w, 1, "9999999999999999999.99") == 0 &&
           put(w, 2, "-1") == 0 && put(w, 3, "-0.0000000000000000000000000001") == 0 &&
           put(w, 4, "-9999999999999999999999999999.9999999999") == 0 &&
           put(w, 5, "2024-06-30 23:59:59.999999-12:30") == 0 && put(w, 6, "24:00:00") == 0 &&
           lode_pqw_end_row(w, err, sizeof err) == 0;
    ok(good, "extreme values taken: %s", err);
    ok(put(w, 0, "10000000000000000000") < 0 && strstr(err, "column d19"), "20 digits refused by numeric(19)");
    lode_pqw_free(w);
    w = lode_pqw_open(NULL, wide, 7, 0, err, sizeof err);
    lode_pqw_set_codec(w, LODE_CODEC_ZSTD, err, sizeof err);
    for (int c = 0; c < 7; c++) put(w, c, NULL);
    lode_pqw_end_row(w, err, sizeof err);
    size_t before;
    lode_pqw_output(w, &before);
    ok(before == 4, "in memory: only the magic before the first row group (%zu bytes)", before);
    ok(lode_pqw_close(w, err, sizeof err) == 0, "closed in memory: %s", err);
    size_t n;
    const uint8_t *mem = lode_pqw_output(w, &n);
    ok(n > 12 && memcmp(mem, "PAR1", 4) == 0 && memcmp(mem + n - 4, "PAR1", 4) == 0, "the whole file in memory");
    memcpy(&flen, mem + n - 8, 4);
    m = NULL;
    ok(lode_pq_meta_parse(mem + n - 8 - flen, flen, &m, err, sizeof err) == 0, "its footer parses: %s", err);
    if (m) {
        int wok = 1;
        for (int k = 0; k < 5; k++) {
            const lode_pq_schema_element *e = &m->schema[m->leaves[k]];
            wok &= e->type == LODE_PQ_FIXED_LEN_BYTE_ARRAY && e->type_length == widths[k][1] &&
                   e->precision == widths[k][0] && e->converted_type == LODE_PQ_CT_DECIMAL;
        }
        ok(wok, "numeric(19/21/22/28/38) as FIXED_LEN_BYTE_ARRAY of 9/9/10/12/16 bytes");
        const lode_pq_schema_element *tz = &m->schema[m->leaves[5]], *tm = &m->schema[m->leaves[6]];
        ok(tz->type == LODE_PQ_INT64 && tz->logical.type == LODE_PQ_LT_TIMESTAMP && tz->logical.is_adjusted_to_utc == 1 &&
           tz->logical.unit == LODE_PQ_MICROS, "timestamptz: INT64 TIMESTAMP(UTC, MICROS)");
        ok(tm->type == LODE_PQ_INT64 && tm->logical.type == LODE_PQ_LT_TIME && tm->logical.is_adjusted_to_utc == 0 &&
           tm->logical.unit == LODE_PQ_MICROS, "time: INT64 TIME(local, MICROS)");
        ok(m->row_groups[0].columns[0].meta->codec == LODE_PQ_ZSTD, "ZSTD pages");
        lode_pq_meta_free(m);
    }
    lode_pqw_consume(w, n);
    lode_pqw_output(w, &n);
    ok(n == 0, "consumed");
    lode_pqw_free(w);

    /* numbers given as numbers write the same file as their text */
    lode_pqw_column ncols[] = { { "i", LODE_PQW_INT32, 0, 0 }, { "l", LODE_PQW_INT64, 0, 0 },
                                { "f", LODE_PQW_FLOAT, 0, 0 }, { "d", LODE_PQW_DOUBLE, 0, 0 } };
    lode_pqw *a = lode_pqw_open(NULL, ncols, 4, 0, err, sizeof err), *b = lode_pqw_open(NULL, ncols, 4, 0, err, sizeof err);
    const int64_t ints[][2] = { { INT32_MIN, INT64_MIN }, { INT32_MAX, INT64_MAX }, { 0, -1 } };
    const double dbls[][2] = { { -2.25, 5e-324 }, { 1.5, -1.7976931348623157e308 }, { 3, 0.1 } };
    const char *texts[][4] = { { "-2147483648", "-9223372036854775808", "-2.25", "4.9406564584124654e-324" },
                               { "2147483647", "9223372036854775807", "1.5", "-1.7976931348623157e+308" },
                               { "0", "-1", "3", "0.10000000000000001" } };
    int same = a && b;
    for (int r = 0; r < 3 && same; r++) {
        same &= lode_pqw_number(a, 0, 1, ints[r][0], 0, err, sizeof err) == 0 &&
                lode_pqw_number(a, 1, 1, ints[r][1], 0, err, sizeof err) == 0 &&
                lode_pqw_number(a, 2, r == 2, 3, dbls[r][0], err, sizeof err) == 0 &&
                lode_pqw_number(a, 3, 0, 0, dbls[r][1], err, sizeof err) == 0 && lode_pqw_end_row(a, err, sizeof err) == 0;
        for (int k = 0; k < 4; k++) same &= put(b, k, texts[r][k]) == 0;
        same &= lode_pqw_end_row(b, err, sizeof err) == 0;
    }
    same &= lode_pqw_close(a, err, sizeof err) == 0 && lode_pqw_close(b, err, sizeof err) == 0;
    size_t na = 0, nb = 0;
    const void *pa = a ? lode_pqw_output(a, &na) : NULL, *pb = b ? lode_pqw_output(b, &nb) : NULL;
    ok(same && na == nb && na > 0 && memcmp(pa, pb, na) == 0, "INT32/INT64/FLOAT/DOUBLE from numbers: the file their text writes (%s)", err);
    lode_pqw_free(a);
    lode_pqw_free(b);
    a = lode_pqw_open(NULL, ncols, 4, 0, err, sizeof err);
    ok(lode_pqw_number(a, 0, 1, (int64_t)INT32_MAX + 1, 0, err, sizeof err) < 0 && strstr(err, "column i") &&
       strstr(err, "2147483648"), "an int32 out of range fails, naming the column: %s", err);
    lode_pqw_free(a);
    a = lode_pqw_open(NULL, ncols, 4, 0, err, sizeof err);
    ok(lode_pqw_number(a, 0, 0, 0, 1.5, err, sizeof err) < 0 && strstr(err, "column i") && strstr(err, "1.5"),
       "a float for an integer column fails: %s", err);
    ok(lode_pqw_number(a, 1, 1, 1, 0, err, sizeof err) < 0 && strstr(err, "out of order"), "out of order: %s", err);
    lode_pqw_free(a);
    return done_testing();
}

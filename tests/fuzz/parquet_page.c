/* parquet_page.c — libFuzzer target on the page decoder: the input is a
 * whole Parquet file in memory; its footer is parsed and every row group's
 * pages are decoded and rendered as CSV, as `lode parquet cat` would.
 * Seeds: tests/fuzz/seeds/parquet_page/ (tiny DuckDB-written files). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode/parquet/read.h"
#include "parquet/read_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lode_source src;
    memset(&src, 0, sizeof src);
    src.size = size;
    src.name = (char *)"fuzz.parquet";
    lode_pqr_options o;
    memset(&o, 0, sizeof o);
    o.format = LODE_PQR_CSV;
    o.max_chunk_bytes = 1u << 24;
    o.max_page_bytes = 1u << 24;
    o.max_page_values = 1u << 20;
    lode_pqr *r = lode_pqr_new(&src, &o);
    if (!r) return 0;
    lode_pqr_buf out = { 0 };
    if (pqr_parse_footer(r, data, size, size) == 0) {
        for (uint32_t g = 0; g < r->meta->n_row_groups && !r->failed; g++) {
            if (r->meta->row_groups[g].num_rows == 0) continue;
            if (r->meta->row_groups[g].num_rows > 100000) break;   /* keep runs short */
            if (pqr_begin_row_group(r, (int)g) != 0) break;
            for (size_t j = 0; j < r->n_cols; j++)
                memcpy(r->cols[j].chunk, data + r->cols[j].chunk_offset, r->cols[j].chunk_len);
            int more;
            do {
                more = lode_pqr_render(r, &out, 1u << 16);
                out.len = 0;
            } while (more > 0);
            if (more < 0) break;
        }
    }
    lode_pqr_buf_free(&out);
    lode_pqr_free(r);
    return 0;
}

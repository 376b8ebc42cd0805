/* libFuzzer target: the Parquet footer decoder on arbitrary bytes.
 * The input is treated as a whole file (tail magic + footer length + footer)
 * and, separately, as a bare footer and as a page header; every model that
 * parses is walked (leaf paths, statistics values) so the derived data is
 * exercised too. Seeds: tests/fuzz/seeds/parquet_footer/. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lode/parquet/parquet.h"

static void walk(const lode_pq_meta *m)
{
    char path[256];
    for (uint32_t j = 0; j < m->n_leaves; j++) lode_pq_leaf_path(m, j, path, sizeof path);
    for (uint32_t g = 0; g < m->n_row_groups; g++) {
        for (uint32_t j = 0; j < m->row_groups[g].n_columns; j++) {
            const lode_pq_column_meta *c = m->row_groups[g].columns[j].meta;
            if (!c || !c->has_statistics) continue;
            lode_pq_value lo, hi;
            lode_pq_stats_minmax(m, j, &c->statistics, &lo, &hi);
            lode_pq_value v;
            const lode_pq_schema_element *el = &m->schema[m->leaves[j]];
            if (c->statistics.has_min) lode_pq_value_decode(el, c->statistics.min, &v);
            if (c->statistics.has_max_value) lode_pq_value_decode(el, c->statistics.max_value, &v);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    lode_pq_meta *m = NULL;
    uint32_t footer_len;
    if (size >= 8 && lode_pq_footer_tail(data + size - 8, size, &footer_len, err, sizeof err) == 0) {
        if (lode_pq_meta_parse(data + size - 8 - footer_len, footer_len, &m, err, sizeof err) == 0) {
            walk(m);
            lode_pq_meta_free(m);
        }
    }
    if (lode_pq_meta_parse(data, size, &m, err, sizeof err) == 0) {
        walk(m);
        lode_pq_meta_free(m);
    }
    lode_pq_page_header h;
    size_t used;
    if (lode_pq_page_header_parse(data, size, &h, &used, err, sizeof err) == 0 && used > size) __builtin_trap();
    return 0;
}

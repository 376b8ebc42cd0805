/* libFuzzer target: the delimited-text parser and the column conversions.
 * Byte 0 picks the options, byte 1 the chunk size (its high bit OpenCSVSerde's
 * reading); the rest is the input.
 * Every record is converted against a mixed set of column types, in text
 * and in binary COPY form: both must accept and refuse the same values, and
 * a binary field's length word must match its bytes. The input is parsed
 * again one byte at a time (the state machine alone: no line is ever whole
 * in one chunk for the parser's fast path) and must give the same records,
 * raw lines and error. */
#include "lode/load/load.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const lode_load_column COLS[] = {
    { LODE_LT_INT4, -1, 0, 0 }, { LODE_LT_TEXT, 8, 0, 0 }, { LODE_LT_NUMERIC, -1, 6, 2 },
    { LODE_LT_DATE, -1, 0, 0 }, { LODE_LT_TIMESTAMPTZ, -1, 0, 0 }, { LODE_LT_FLOAT8, -1, 0, 0 },
    { LODE_LT_BOOL, -1, 0, 0 }, { LODE_LT_INT2, -1, 0, 0 }, { LODE_LT_TIME, -1, 0, 0 },
    { LODE_LT_FLOAT4, -1, 0, 0 }, { LODE_LT_NUMERIC, -1, 0, 0 }, { LODE_LT_TIMESTAMP, -1, 0, 0 },
    { LODE_LT_INT8, -1, 0, 0 }, { LODE_LT_TEXT, -1, 0, 0 }, { LODE_LT_TIMETZ, -1, 0, 0 },
    { LODE_LT_JSON, -1, 0, 0 }, { LODE_LT_JSONB, -1, 0, 0 }, { LODE_LT_BYTEA, -1, 0, 0 },
};
#define NCOLS (sizeof COLS / sizeof *COLS)

typedef struct {
    lode_conv_opts conv;
    lode_buf out, bin, scratch;
    lode_buf trace;   /* every record as read: line, fields (quoted flag, length, bytes), raw line */
} fuzz_state;

static void trace_record(lode_buf *t, const lode_csv_record *r)
{
    lode_buf_append(t, &r->line, sizeof r->line);
    lode_buf_append(t, &r->nfields, sizeof r->nfields);
    for (size_t i = 0; i < r->nfields; i++) {
        lode_buf_putc(t, r->fields[i].quoted ? 'q' : 'u');
        lode_buf_append(t, &r->fields[i].len, sizeof r->fields[i].len);
        lode_buf_append(t, r->fields[i].data, r->fields[i].len);
    }
    lode_buf_append(t, &r->raw_len, sizeof r->raw_len);
    lode_buf_append(t, r->raw, r->raw_len);
}

static int on_trace(void *ud, const lode_csv_record *r)
{
    trace_record(&((fuzz_state *)ud)->trace, r);
    return 0;
}

static int on_record(void *ud, const lode_csv_record *r)
{
    fuzz_state *s = ud;
    trace_record(&s->trace, r);
    for (size_t i = 0; i < r->nfields; i++) {
        lode_conv_error e;
        const lode_field *f = &r->fields[i];
        const lode_load_column *col = &COLS[i % NCOLS];
        int a = lode_conv_field(col, &s->conv, f->data, f->len, f->quoted, 0, &s->out, &e);
        size_t m = s->bin.len;
        int b = lode_conv_field_binary(col, &s->conv, f->data, f->len, f->quoted, 0, &s->bin, &s->scratch, &e);
        /* -2: the server would refuse the text (a float4 out of range, bytea input) */
        if (b == -2 && (a != 0 || (col->type != LODE_LT_FLOAT4 && col->type != LODE_LT_BYTEA))) abort();
        if (b != -2 && (a == 0) != (b == 0)) abort();
        if (b == 0) {
            const unsigned char *w = (const unsigned char *)s->bin.data + m;
            uint32_t len = (uint32_t)w[0] << 24 | (uint32_t)w[1] << 16 | (uint32_t)w[2] << 8 | w[3];
            if (len == 0xFFFFFFFFu ? s->bin.len != m + 4 : s->bin.len != m + 4 + len) abort();
        } else if (s->bin.len != m) {
            abort();
        }
    }
    if (r->raw_len > LODE_RAW_LINE_MAX) abort();
    s->out.len = 0;
    s->bin.len = 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint8_t flags = data[0];
    size_t chunk = (size_t)(data[1] & 0x7f) + 1;
    int opencsv = (data[1] & 0x80) != 0;
    data += 2;
    size -= 2;
    static const char *dfmt[] = { NULL, "auto", "MM/DD/YYYY", "DD MON YYYY" };
    static const char *tfmt[] = { NULL, "auto", "epochsecs", "epochmillisecs" };
    lode_csv_opts o = {
        .delimiter = (flags & 1) ? ',' : '|', .quote = '"', .csv = (flags & 2) != 0,
        .escape = (flags & 4) != 0, .removequotes = (flags & 8) != 0,
        .ignoreblanklines = (flags & 16) != 0, .ignoreheader = (flags >> 5) & 1,
        .max_record = 4096, .opencsv = opencsv,
    };
    fuzz_state s;
    memset(&s, 0, sizeof s);
    s.conv.truncatecolumns = (flags & 64) != 0;
    s.conv.acceptinvchars = (flags & 128) ? '?' : 0;
    s.conv.dateformat = dfmt[flags & 3];
    s.conv.timeformat = tfmt[(flags >> 2) & 3];
    s.conv.emptyasnull = (flags >> 4) & 1;
    lode_csv *p = lode_csv_new(&o, on_record, &s);
    int rc = 0;
    for (size_t i = 0; i < size && rc == 0; i += chunk)
        rc = lode_csv_feed(p, data + i, i + chunk <= size ? chunk : size - i);
    if (rc == 0) rc = lode_csv_finish(p);
    char err[240];
    snprintf(err, sizeof err, "%d %lld %s", rc, (long long)lode_csv_error_line(p),
             lode_csv_error(p) ? lode_csv_error(p) : "");
    lode_csv_free(p);
    /* the same bytes one at a time */
    fuzz_state one;
    memset(&one, 0, sizeof one);
    p = lode_csv_new(&o, on_trace, &one);
    int rc1 = 0;
    for (size_t i = 0; i < size && rc1 == 0; i++) rc1 = lode_csv_feed(p, data + i, 1);
    if (rc1 == 0) rc1 = lode_csv_finish(p);
    char err1[240];
    snprintf(err1, sizeof err1, "%d %lld %s", rc1, (long long)lode_csv_error_line(p),
             lode_csv_error(p) ? lode_csv_error(p) : "");
    lode_csv_free(p);
    if (strcmp(err, err1) != 0) abort();
    if (one.trace.len != s.trace.len || (s.trace.len && memcmp(one.trace.data, s.trace.data, s.trace.len) != 0))
        abort();
    lode_buf_free(&one.trace);
    lode_buf_free(&s.trace);
    lode_buf_free(&s.out);
    lode_buf_free(&s.bin);
    lode_buf_free(&s.scratch);
    return 0;
}

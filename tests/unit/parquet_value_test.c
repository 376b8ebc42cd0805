/* parquet_value_test.c — timestamps at and beyond PostgreSQL's range:
 * INT96 (well-formed, and Spark's wrapped far-future values), TIMESTAMP
 * in millis/micros/nanos; text and binary COPY agree; values outside
 * 4714-11-24 BC .. 294276-12-31 are errors naming the day. */
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "parquet/value.h"

static char err[256];
static pq_text_opts topts = { 0, '?' };

static const char *render(const pq_vtype *t, const uint8_t *v, int *rc)
{
    static pq_buf out;
    out.len = 0;
    err[0] = 0;
    *rc = pq_put_value(&out, PQ_FMT_TEXT, t, v, NULL, &topts, err, sizeof err);
    if (pq_buf_reserve(&out, 1)) return "";
    out.data[out.len] = 0;
    return (const char *)out.data;
}

static int64_t binary_us(const pq_vtype *t, const uint8_t *v)
{
    pq_buf out = { 0 };
    int64_t us = INT64_MIN;
    if (pq_put_value(&out, PQ_FMT_BINARY, t, v, NULL, &topts, err, sizeof err) == 0 && out.len == 12) {
        uint64_t be = 0;
        for (int i = 4; i < 12; i++) be = be << 8 | out.data[i];
        us = (int64_t)be;
    }
    pq_buf_free(&out);
    return us;
}

static void int96(uint8_t *v, int64_t nanos, int32_t jd)
{
    memcpy(v, &nanos, 8);
    memcpy(v + 8, &jd, 4);
}

static void check(const pq_vtype *t, const uint8_t *v, const char *want, const char *what)
{
    int rc;
    const char *got = render(t, v, &rc);
    is_int(rc, 0, "%s: rendered", what);
    is_str(got, want, "%s", what);
}

static void refuse(const pq_vtype *t, const uint8_t *v, const char *day, const char *what)
{
    int rc;
    render(t, v, &rc);
    is_int(rc, -2, "%s: refused", what);
    ok(strstr(err, day) && strstr(err, "outside PostgreSQL's range"), "%s: %s", what, err);
    pq_buf out = { 0 };
    is_int(pq_put_value(&out, PQ_FMT_BINARY, t, v, NULL, &topts, err, sizeof err), -2, "%s: refused in binary", what);
    pq_buf_free(&out);
}

int main(void)
{
    pq_vtype i96 = { .kind = PQV_INT96, .ptype = LODE_PQ_INT96, .width = 12 };
    uint8_t v[12];

    int96(v, INT64_C(74096123456000), 2460311);
    check(&i96, v, "2024-01-01 20:34:56.123456", "INT96 from Spark, row 1");
    is_int(binary_us(&i96, v), INT64_C(757456496123456), "binary: microseconds since 2000");
    int96(v, INT64_C(74096123456789), 2460311);
    check(&i96, v, "2024-01-01 20:34:56.123456789", "INT96 keeps nanoseconds in text");
    /* int96_from_spark.parquet row 6: Spark wrote 290000-12-31T01:00:00+02:00
     * with its Julian-day arithmetic wrapped around 64 bits */
    int96(v, INT64_C(-32509551616000), -105862232);
    check(&i96, v, "290000-12-30 23:00:00", "Spark's wrapped INT96 reads back as Spark wrote it");
    int96(v, INT64_C(86399999999000), 2440588 + 106762939);
    check(&i96, v, "294276-12-31 23:59:59.999999", "the last microsecond PostgreSQL accepts");
    is_int(binary_us(&i96, v), INT64_C(9223371331199999999), "binary: PostgreSQL's last microsecond");
    int96(v, 0, 2440588 + 106762940);
    refuse(&i96, v, "294277-01-01", "INT96 one microsecond past PostgreSQL's range");
    int96(v, 0, 0);
    check(&i96, v, "4714-11-24 00:00:00 BC", "Julian day 0, PostgreSQL's first day");
    int96(v, INT64_C(86399999999999), -1);
    refuse(&i96, v, "4714-11-23 BC", "the day before Julian day 0");
    int96(v, 0, INT32_MAX);
    refuse(&i96, v, "outside", "the largest Julian day");

    pq_vtype ms = { .kind = PQV_TIMESTAMP, .ptype = LODE_PQ_INT64, .width = 8, .unit = LODE_PQ_MILLIS };
    int64_t x = INT64_C(1700000000123);
    memcpy(v, &x, 8);
    check(&ms, v, "2023-11-14 22:13:20.123", "TIMESTAMP(MILLIS)");
    x = INT64_C(9300000000000000);
    memcpy(v, &x, 8);
    refuse(&ms, v, "296675-04-08", "TIMESTAMP(MILLIS) in 296675 AD");
    x = INT64_MIN;
    memcpy(v, &x, 8);
    refuse(&ms, v, " BC", "TIMESTAMP(MILLIS) at INT64_MIN");

    pq_vtype us = { .kind = PQV_TIMESTAMP, .ptype = LODE_PQ_INT64, .width = 8, .unit = LODE_PQ_MICROS, .utc = 1 };
    x = INT64_MAX;
    memcpy(v, &x, 8);
    check(&us, v, "294247-01-10 04:00:54.775807+00", "TIMESTAMP(MICROS) at INT64_MAX is inside PostgreSQL's range");
    x = INT64_MIN;
    memcpy(v, &x, 8);
    refuse(&us, v, "290309-12-21 BC", "TIMESTAMP(MICROS) at INT64_MIN");

    pq_vtype ns = { .kind = PQV_TIMESTAMP, .ptype = LODE_PQ_INT64, .width = 8, .unit = LODE_PQ_NANOS };
    x = INT64_C(-1);
    memcpy(v, &x, 8);
    check(&ns, v, "1969-12-31 23:59:59.999999999", "TIMESTAMP(NANOS) before 1970");
    is_int(binary_us(&ns, v), INT64_C(-946684800000001), "binary: floored to the microsecond");
    return done_testing();
}

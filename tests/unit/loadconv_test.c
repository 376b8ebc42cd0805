/* loadconv_test.c — per-column conversion into PostgreSQL text COPY form
 * with Redshift's COPY rules, and the reasons given for rejected values. */
#include "tap.h"
#include <errno.h>
#include <limits.h>
#include "lode/load/load.h"
#include "lode/pg/pg.h"

static lode_conv_opts O;

/* ---- the binary form's short cuts against the general reading ---------------------- */

static uint64_t rng_state = 88172645463325252u;
static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

/* Binary form of one field under opts o: "ERR" or the bytes as hex. */
static const char *bin_of(lode_load_type t, int p, int s, const lode_conv_opts *o, const char *in, size_t n)
{
    static char res[2][1200];
    static int which;
    char *r = res[which ^= 1];
    lode_load_column col = { t, -1, p, s };
    lode_buf out = { 0 }, scratch = { 0 };
    lode_conv_error e;
    if (lode_conv_field_binary(&col, o, in, n, 0, 0, &out, &scratch, &e) != 0) {
        snprintf(r, 1200, "ERR");
    } else {
        size_t k = 0;
        for (size_t i = 0; i < out.len && k + 3 < 1200; i++) k += (size_t)snprintf(r + k, 1200 - k, "%02x", (unsigned char)out.data[i]);
        r[k] = 0;
    }
    lode_buf_free(&out);
    lode_buf_free(&scratch);
    return r;
}

/* Dates and timestamps in the default formats take a short cut (exact
 * ISO shapes); what they give must be what the format reader gives: the
 * default DATEFORMAT is 'YYYY-MM-DD', the default TIMEFORMAT
 * 'YYYY-MM-DD HH:MI:SS' then a bare 'YYYY-MM-DD'. */
static void datetime_shortcut_agrees(void)
{
    static const char base[] = "2024-02-29 23:59:59.1234567";
    static const char alphabet[] = "0123456789-: T.+Z1920";
    int bad = 0, tried = 0;
    for (int round = 0; round < 200000 && bad < 5; round++) {
        char v[40];
        size_t n = 8 + rnd(22);
        memcpy(v, base, sizeof base);
        if (n > sizeof base - 1) n = sizeof base - 1;
        for (unsigned k = rnd(4); k > 0; k--) v[rnd((unsigned)n)] = alphabet[rnd(sizeof alphabet - 1)];
        if (rnd(3) == 0) { v[5] = (char)('0' + rnd(2)); v[6] = (char)('0' + rnd(10)); v[8] = (char)('0' + rnd(4)); }
        if (rnd(3) == 0) { v[11] = (char)('0' + rnd(3)); v[12] = (char)('0' + rnd(10)); v[14] = (char)('0' + rnd(7)); }
        lode_conv_opts def = { 0 }, d_fmt = { .dateformat = "YYYY-MM-DD" },
                       t_fmt = { .timeformat = "YYYY-MM-DD HH:MI:SS" }, t_date = { .timeformat = "YYYY-MM-DD" };
        char got[1200], want[1200];
        snprintf(got, sizeof got, "%s", bin_of(LODE_LT_DATE, 0, 0, &def, v, n));
        snprintf(want, sizeof want, "%s", bin_of(LODE_LT_DATE, 0, 0, &d_fmt, v, n));
        tried++;
        if (strcmp(got, want) != 0) { diag("date '%.*s': %s, the format reader %s", (int)n, v, got, want); bad++; }
        for (lode_load_type t = LODE_LT_TIMESTAMP; t <= LODE_LT_TIMESTAMPTZ; t++) {
            snprintf(got, sizeof got, "%s", bin_of(t, 0, 0, &def, v, n));
            snprintf(want, sizeof want, "%s", bin_of(t, 0, 0, &t_fmt, v, n));
            if (strcmp(want, "ERR") == 0) snprintf(want, sizeof want, "%s", bin_of(t, 0, 0, &t_date, v, n));
            if (strcmp(got, want) != 0) { diag("timestamp '%.*s': %s, the format reader %s", (int)n, v, got, want); bad++; }
        }
    }
    ok(bad == 0, "dates and timestamps in the default formats: the short cut agrees with the format reader (%d values)", tried);
}

/* Numerics go to binary straight from their digits; the bytes must be those
 * of their canonical text read by lode_copy_bin_numeric_text. Integers: the
 * binary value is the text's. */
static void numeric_direct_agrees(void)
{
    static const int typmods[][2] = { { 0, 0 }, { 10, 2 }, { 4, 2 }, { 38, 10 }, { 5, 0 }, { 19, 19 } };
    static const char alphabet[] = "0000123456789999..-+";
    int bad = 0, tried = 0;
    for (int round = 0; round < 100000 && bad < 5; round++) {
        char v[80];
        size_t n = 1 + rnd(40);
        for (size_t i = 0; i < n; i++) v[i] = alphabet[rnd(sizeof alphabet - 1)];
        if (rnd(2)) { for (size_t i = 1; i < n; i++) if (v[i] == '-' || v[i] == '+') v[i] = '0'; }
        for (int roundec = 0; roundec < 2; roundec++) {
            lode_conv_opts o = { .roundec = roundec };
            const int *tm = typmods[rnd(sizeof typmods / sizeof *typmods)];
            lode_load_column col = { LODE_LT_NUMERIC, -1, tm[0], tm[1] };
            lode_buf text = { 0 };
            lode_conv_error e;
            char want[1200];
            if (lode_conv_field(&col, &o, v, n, 0, 0, &text, &e) != 0) {
                snprintf(want, sizeof want, "ERR");
            } else if (text.len == 2 && memcmp(text.data, "\\N", 2) == 0) {
                snprintf(want, sizeof want, "ffffffff");
            } else {
                lode_copy_buf b = { 0 };
                lode_copy_bin_numeric_text(&b, text.data, text.len);
                size_t k = 0;
                for (size_t i = 0; i < b.len; i++) k += (size_t)snprintf(want + k, sizeof want - k, "%02x", b.data[i]);
                want[k] = 0;
                lode_copy_buf_free(&b);
            }
            lode_buf_free(&text);
            const char *got = bin_of(LODE_LT_NUMERIC, tm[0], tm[1], &o, v, n);
            tried++;
            if (strcmp(got, want) != 0) {
                diag("numeric(%d,%d) '%.*s': %s, from its text %s", tm[0], tm[1], (int)n, v, got, want);
                bad++;
            }
        }
    }
    ok(bad == 0, "numerics: binary from the digits is binary from the canonical text (%d values)", tried);
    bad = 0;
    for (int round = 0; round < 100000 && bad < 5; round++) {
        char v[32];
        size_t n = 1 + rnd(21);
        for (size_t i = 0; i < n; i++) v[i] = (char)('0' + (rnd(4) ? 9 - rnd(3) : rnd(10)));
        if (rnd(2)) v[0] = '-';
        v[n] = 0;
        lode_load_type t = (lode_load_type)(LODE_LT_INT2 + rnd(3));
        lode_conv_opts o = { 0 };
        const char *got = bin_of(t, 0, 0, &o, v, n);
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        long long lo = t == LODE_LT_INT2 ? -32768 : t == LODE_LT_INT4 ? -2147483648LL : LLONG_MIN;
        long long hi = t == LODE_LT_INT2 ? 32767 : t == LODE_LT_INT4 ? 2147483647LL : LLONG_MAX;
        char want[64];
        if (errno || *end || x < lo || x > hi || strcmp(v, "-") == 0) {
            snprintf(want, sizeof want, "ERR");
        } else {
            int bytes = t == LODE_LT_INT2 ? 2 : t == LODE_LT_INT4 ? 4 : 8;
            size_t k = (size_t)snprintf(want, sizeof want, "%08x", bytes);
            for (int i = bytes - 1; i >= 0; i--) k += (size_t)snprintf(want + k, sizeof want - k, "%02x", (unsigned)(((unsigned long long)x >> (8 * i)) & 0xff));
        }
        if (strcmp(got, want) != 0) { diag("int '%s': %s, strtoll %s", v, got, want); bad++; }
    }
    ok(bad == 0, "integers near their limits: binary is strtoll's value or an error where it overflows");
}

/* Convert and render: the output text, or "ERR <code>: <reason>". */
static const char *conv(lode_load_type t, int length, int p, int s, const char *in, size_t n, int quoted)
{
    static char res[512];
    lode_load_column col = { t, length, p, s };
    lode_buf out = { 0 };
    lode_buf_append(&out, "X", 1);   /* output is appended after what is there */
    lode_conv_error e;
    if (lode_conv_field(&col, &O, in, n, quoted, 0, &out, &e) == 0)
        snprintf(res, sizeof res, "%.*s", (int)out.len - 1, out.data + 1);
    else {
        snprintf(res, sizeof res, "ERR %d: %s", e.code, e.reason);
        if (out.len != 1) snprintf(res, sizeof res, "output not rolled back");
    }
    lode_buf_free(&out);
    return res;
}

#define C(t, in) conv(t, -1, 0, 0, in, strlen(in), 0)
#define CHECK(got, want) is_str(got, want, "%s", #got)

int main(void)
{
    /* integers */
    CHECK(C(LODE_LT_INT4, "42"), "42");
    CHECK(C(LODE_LT_INT4, "-0"), "0");
    CHECK(C(LODE_LT_INT4, "+7"), "7");
    CHECK(C(LODE_LT_INT2, "32767"), "32767");
    CHECK(C(LODE_LT_INT2, "-32768"), "-32768");
    CHECK(C(LODE_LT_INT2, "32768"), "ERR 1216: Overflow, Value '32768', Type: Smallint");
    CHECK(C(LODE_LT_INT4, "2147483648"), "ERR 1216: Overflow, Value '2147483648', Type: Integer");
    CHECK(C(LODE_LT_INT8, "-9223372036854775808"), "-9223372036854775808");
    CHECK(C(LODE_LT_INT8, "9223372036854775808"), "ERR 1216: Overflow, Value '9223372036854775808', Type: Bigint");
    CHECK(C(LODE_LT_INT4, "12a"), "ERR 1207: Invalid digit, Value '12a', Pos 2, Type: Integer");
    CHECK(C(LODE_LT_INT4, " 1"), "ERR 1207: Invalid digit, Value ' 1', Pos 0, Type: Integer");
    CHECK(C(LODE_LT_INT4, "-"), "ERR 1207: Invalid digit, Value '-', Type: Integer");
    CHECK(C(LODE_LT_INT4, ""), "\\N");

    /* numeric(p,s): extra scale digits truncated like Redshift without ROUNDEC */
    CHECK(conv(LODE_LT_NUMERIC, -1, 10, 2, "123.456", 7, 0), "123.45");
    CHECK(conv(LODE_LT_NUMERIC, -1, 10, 2, "-0.001", 6, 0), "0.00");
    CHECK(conv(LODE_LT_NUMERIC, -1, 10, 2, "-5.5", 4, 0), "-5.5");
    CHECK(conv(LODE_LT_NUMERIC, -1, 5, 2, "00123.4", 7, 0), "123.4");
    CHECK(conv(LODE_LT_NUMERIC, -1, 5, 2, ".5", 2, 0), "0.5");
    CHECK(conv(LODE_LT_NUMERIC, -1, 5, 2, "1234", 4, 0),
          "ERR 1216: Numeric data overflow (result precision), Value '1234', Type: numeric(5,2)");
    CHECK(conv(LODE_LT_NUMERIC, -1, 5, 2, "1.2.3", 5, 0), "ERR 1207: Invalid digit, Value '1.2.3', Type: Decimal");
    CHECK(conv(LODE_LT_NUMERIC, -1, 5, 2, ".", 1, 0), "ERR 1207: Invalid digit, Value '.', Type: Decimal");
    CHECK(conv(LODE_LT_NUMERIC, -1, 0, 0, "98765432109876543210.0123456789", 31, 0), "98765432109876543210.0123456789");
    /* ROUNDEC: rounded half away from zero, as INSERT (PostgreSQL's numeric cast) does */
    O.roundec = 1;
    CHECK(conv(LODE_LT_NUMERIC, -1, 8, 2, "20.259", 6, 0), "20.26");
    CHECK(conv(LODE_LT_NUMERIC, -1, 8, 2, "20.254", 6, 0), "20.25");
    CHECK(conv(LODE_LT_NUMERIC, -1, 8, 2, "-1.005", 6, 0), "-1.01");
    CHECK(conv(LODE_LT_NUMERIC, -1, 8, 2, "-0.004", 6, 0), "0.00");
    CHECK(conv(LODE_LT_NUMERIC, -1, 5, 2, "9.995", 5, 0), "10.00");
    CHECK(conv(LODE_LT_NUMERIC, -1, 5, 2, "099.999", 7, 0), "100.00");
    CHECK(conv(LODE_LT_NUMERIC, -1, 1, 0, ".5", 2, 0), "1");
    CHECK(conv(LODE_LT_NUMERIC, -1, 4, 2, "99.995", 6, 0),
          "ERR 1216: Numeric data overflow (result precision), Value '99.995', Type: numeric(4,2)");
    CHECK(conv(LODE_LT_NUMERIC, -1, 8, 2, "1.5", 3, 0), "1.5");
    O.roundec = 0;

    /* floats */
    CHECK(C(LODE_LT_FLOAT8, "1.5"), "1.5");
    CHECK(C(LODE_LT_FLOAT8, "-2e3"), "-2000");
    CHECK(C(LODE_LT_FLOAT8, "NaN"), "NaN");
    CHECK(C(LODE_LT_FLOAT8, "-Infinity"), "-Infinity");
    CHECK(C(LODE_LT_FLOAT8, "1e999"), "ERR 1216: Overflow, Value '1e999', Type: Double");
    CHECK(C(LODE_LT_FLOAT4, "1e39"), "ERR 1216: Overflow, Value '1e39', Type: Real");
    CHECK(C(LODE_LT_FLOAT8, "0x10"), "ERR 1208: Invalid digit, Value '0x10', Type: Double");
    CHECK(C(LODE_LT_FLOAT8, "1.5 "), "ERR 1208: Invalid digit, Value '1.5 ', Type: Double");
    CHECK(C(LODE_LT_FLOAT8, "abc"), "ERR 1208: Invalid digit, Value 'abc', Type: Double");

    /* booleans */
    CHECK(C(LODE_LT_BOOL, "TRUE"), "t");
    CHECK(C(LODE_LT_BOOL, "y"), "t");
    CHECK(C(LODE_LT_BOOL, "0"), "f");
    CHECK(C(LODE_LT_BOOL, "No"), "f");
    CHECK(C(LODE_LT_BOOL, "maybe"), "ERR 1210: Invalid boolean value 'maybe'");

    /* dates: default, formats, auto */
    CHECK(C(LODE_LT_DATE, "2024-02-29"), "2024-02-29");
    CHECK(C(LODE_LT_DATE, "2023-02-29"), "ERR 1205: Invalid Date Format - '2023-02-29' does not match DATEFORMAT 'YYYY-MM-DD'");
    CHECK(C(LODE_LT_DATE, "2024-13-01"), "ERR 1205: Invalid Date Format - '2024-13-01' does not match DATEFORMAT 'YYYY-MM-DD'");
    CHECK(C(LODE_LT_DATE, "01/02/2024"), "ERR 1205: Invalid Date Format - '01/02/2024' does not match DATEFORMAT 'YYYY-MM-DD'");
    O.dateformat = "MM/DD/YYYY";
    CHECK(C(LODE_LT_DATE, "01/02/2024"), "2024-01-02");
    O.dateformat = "DD.MM.YY";
    CHECK(C(LODE_LT_DATE, "31.12.99"), "1999-12-31");
    O.dateformat = "DD MON YYYY";
    CHECK(C(LODE_LT_DATE, "5 Mar 2021"), "2021-03-05");
    O.dateformat = "auto";
    CHECK(C(LODE_LT_DATE, "2021-03-05"), "2021-03-05");
    CHECK(C(LODE_LT_DATE, "03/05/2021"), "2021-03-05");
    CHECK(C(LODE_LT_DATE, "20210305"), "2021-03-05");
    CHECK(C(LODE_LT_DATE, "March 5, 2021"), "2021-03-05");
    CHECK(C(LODE_LT_DATE, "yesterday"), "ERR 1205: Invalid Date Format - 'yesterday' does not match DATEFORMAT 'auto'");
    O.dateformat = NULL;

    /* timestamps */
    CHECK(C(LODE_LT_TIMESTAMP, "2024-01-02 03:04:05"), "2024-01-02 03:04:05");
    CHECK(C(LODE_LT_TIMESTAMP, "2024-01-02 03:04:05.25"), "2024-01-02 03:04:05.250000");
    CHECK(C(LODE_LT_TIMESTAMP, "2024-01-02T03:04:05"), "2024-01-02 03:04:05");
    CHECK(C(LODE_LT_TIMESTAMP, "2024-01-02"), "2024-01-02 00:00:00");
    CHECK(C(LODE_LT_TIMESTAMP, "2024-01-02 25:00:00"),
          "ERR 1206: Invalid timestamp format or value - '2024-01-02 25:00:00' does not match TIMEFORMAT 'YYYY-MM-DD HH:MI:SS'");
    CHECK(C(LODE_LT_TIMESTAMPTZ, "2024-01-02 03:04:05+02"), "2024-01-02 03:04:05+02:00");
    CHECK(C(LODE_LT_TIMESTAMPTZ, "2024-01-02 03:04:05"), "2024-01-02 03:04:05+00:00");
    CHECK(C(LODE_LT_TIMESTAMP, "2024-01-01 01:00:00+02:00"), "2023-12-31 23:00:00");
    O.timeformat = "epochsecs";
    CHECK(C(LODE_LT_TIMESTAMP, "0"), "1970-01-01 00:00:00");
    CHECK(C(LODE_LT_TIMESTAMP, "1700000000"), "2023-11-14 22:13:20");
    CHECK(C(LODE_LT_TIMESTAMP, "-1"), "1969-12-31 23:59:59");
    CHECK(C(LODE_LT_TIMESTAMPTZ, "951782400"), "2000-02-29 00:00:00+00:00");
    CHECK(C(LODE_LT_TIMESTAMP, "12.5"),
          "ERR 1206: Invalid timestamp format or value - '12.5' does not match TIMEFORMAT 'epochsecs'");
    O.timeformat = "epochmillisecs";
    CHECK(C(LODE_LT_TIMESTAMP, "1700000000123"), "2023-11-14 22:13:20.123000");
    CHECK(C(LODE_LT_TIMESTAMP, "-1"), "1969-12-31 23:59:59.999000");
    O.timeformat = "MM/DD/YYYY HH12:MI:SS AM";
    CHECK(C(LODE_LT_TIMESTAMP, "07/04/2024 12:30:00 AM"), "2024-07-04 00:30:00");
    CHECK(C(LODE_LT_TIMESTAMP, "07/04/2024 01:30:00 pm"), "2024-07-04 13:30:00");
    O.timeformat = "auto";
    CHECK(C(LODE_LT_TIMESTAMP, "2024-07-04T13:30:00Z"), "2024-07-04 13:30:00");
    CHECK(C(LODE_LT_TIMESTAMP, "07/04/2024 01:30:00 PM"), "2024-07-04 13:30:00");
    CHECK(C(LODE_LT_TIME, "13:30:01.5"), "13:30:01.500000");
    O.timeformat = NULL;
    CHECK(C(LODE_LT_TIME, "23:59:59"), "23:59:59");
    CHECK(C(LODE_LT_TIME, "23:60:00"), "ERR 1206: Invalid time format - '23:60:00' (HH:MI:SS expected)");

    /* text: escaping for COPY, lengths, TRUNCATECOLUMNS, UTF-8, NUL */
    CHECK(C(LODE_LT_TEXT, "a\tb\\c\nd\re"), "a\\tb\\\\c\\nd\\re");
    CHECK(conv(LODE_LT_TEXT, 3, 0, 0, "abc", 3, 0), "abc");
    CHECK(conv(LODE_LT_TEXT, 3, 0, 0, "abcd", 4, 0), "ERR 1204: String length exceeds DDL length (3 bytes): 'abcd'");
    CHECK(conv(LODE_LT_TEXT, 3, 0, 0, "a\xc3\xa9", 3, 0), "a\xc3\xa9");
    CHECK(conv(LODE_LT_TEXT, 2, 0, 0, "a\xc3\xa9", 3, 0), "ERR 1204: String length exceeds DDL length (2 bytes): 'a\\xC3\\xA9'");
    O.truncatecolumns = 1;
    CHECK(conv(LODE_LT_TEXT, 3, 0, 0, "abcd", 4, 0), "abc");
    CHECK(conv(LODE_LT_TEXT, 2, 0, 0, "a\xc3\xa9", 3, 0), "a");
    CHECK(conv(LODE_LT_TEXT, 4, 0, 0, "a\tbcdef", 7, 0), "a\\tbc");
    O.truncatecolumns = 0;
    /* TRIMBLANKS: trailing spaces and tabs cut before the length check */
    O.trimblanks = 1;
    CHECK(conv(LODE_LT_TEXT, 3, 0, 0, "abc \t ", 6, 0), "abc");
    CHECK(conv(LODE_LT_TEXT, 5, 0, 0, " a b ", 5, 0), " a b");
    CHECK(conv(LODE_LT_INT4, -1, 0, 0, "1 ", 2, 0), "ERR 1207: Invalid digit, Value '1 ', Pos 1, Type: Integer");
    O.trimblanks = 0;
    /* ACCEPTANYDATE: a date or timestamp that does not parse is NULL */
    O.acceptanydate = 1;
    CHECK(C(LODE_LT_DATE, "00/00/00"), "\\N");
    CHECK(C(LODE_LT_TIMESTAMP, "00/00/00 00:00:00"), "\\N");
    CHECK(C(LODE_LT_DATE, "2024-02-29"), "2024-02-29");
    O.acceptanydate = 0;
    CHECK(C(LODE_LT_TEXT, "bad \xff byte"), "ERR 1220: Invalid UTF8 character in value 'bad \\xFF byte' (use ACCEPTINVCHARS to replace it)");
    CHECK(C(LODE_LT_TEXT, "\xed\xa0\x80"), "ERR 1220: Invalid UTF8 character in value '\\xED\\xA0\\x80' (use ACCEPTINVCHARS to replace it)");
    CHECK(C(LODE_LT_TEXT, "\xc0\xaf"), "ERR 1220: Invalid UTF8 character in value '\\xC0\\xAF' (use ACCEPTINVCHARS to replace it)");
    CHECK(conv(LODE_LT_TEXT, -1, 0, 0, "a\0b", 3, 0), "ERR 1221: NUL byte in value 'a\\x00b' (use ACCEPTINVCHARS to replace it)");
    O.acceptinvchars = '?';
    CHECK(C(LODE_LT_TEXT, "bad \xff\xfe byte"), "bad ?? byte");
    CHECK(conv(LODE_LT_TEXT, -1, 0, 0, "a\0b", 3, 0), "a?b");
    O.acceptinvchars = 0;
    CHECK(C(LODE_LT_TEXT, "\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");

    /* NULL rules */
    CHECK(C(LODE_LT_TEXT, ""), "");
    O.emptyasnull = 1;
    CHECK(C(LODE_LT_TEXT, ""), "\\N");
    O.emptyasnull = 0;
    CHECK(C(LODE_LT_TEXT, "  "), "  ");
    O.blanksasnull = 1;
    CHECK(C(LODE_LT_TEXT, "  "), "\\N");
    CHECK(C(LODE_LT_INT4, "  "), "\\N");
    O.blanksasnull = 0;
    O.null_as = "NA";
    O.null_as_len = 2;
    CHECK(C(LODE_LT_INT4, "NA"), "\\N");
    CHECK(C(LODE_LT_TEXT, "NA"), "\\N");
    CHECK(conv(LODE_LT_TEXT, -1, 0, 0, "NA", 2, 1), "NA");
    O.null_as = NULL;
    {
        lode_load_column col = { LODE_LT_INT4, -1, 0, 0 };
        lode_buf out = { 0 };
        lode_conv_error e;
        ok(lode_conv_field(&col, &O, "zz", 2, 0, 1, &out, &e) == 0 && out.len == 2 && memcmp(out.data, "\\N", 2) == 0,
           "is_null wins over the bytes");
        lode_buf_free(&out);
    }

    /* lode_utf8_valid */
    ok(lode_utf8_valid("h\xc3\xa9llo", 6), "valid UTF-8");
    ok(!lode_utf8_valid("\xf4\x90\x80\x80", 4), "past U+10FFFF");
    ok(!lode_utf8_valid("\xe2\x82", 2), "truncated sequence");

    datetime_shortcut_agrees();
    numeric_direct_agrees();
    return done_testing();
}

/* decoder_test.c — the COPY decoder (runtime/load/decoder.c) without Lua:
 * CSV rows into PostgreSQL text COPY, bad rows kept aside with line, column
 * and code, Redshift text's \N default, gzip input (compressed here with
 * zlib itself) giving the same rows whatever the chunk boundaries, JSON
 * 'auto' (and OpenX's dots.in.keys), a fatal error naming file and line, the
 * kept-details cap with an exact count, FIXEDWIDTH cut by characters, and
 * ENCODING UTF16/LE/BE and ISO88591 transcoded to UTF-8 whatever the chunk
 * boundaries. */
#include <zlib.h>

#include "tap.h"
#include "lode/load/decoder.h"

static lode_decoder *make(lode_decoder_format fmt, const lode_decoder_column *cols, size_t n, lode_zkind z)
{
    lode_decoder_opts o;
    memset(&o, 0, sizeof o);
    o.format = fmt;
    o.csv.delimiter = fmt == LODE_DEC_CSV ? ',' : '|';
    o.csv.quote = '"';
    o.compression = z;
    o.columns = cols;
    o.ncols = n;
    return lode_decoder_new(&o);
}

/* Decode `in` (n bytes) fed in chunks of `chunk`; the COPY text in out. */
static int run(lode_decoder *d, const char *name, const void *in, size_t n, size_t chunk, char *out, size_t cap)
{
    char err[200];
    size_t used = 0;
    if (lode_decoder_begin_file(d, name, strlen(name), err, sizeof err) != 0) return -2;
    const char *p = in;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += chunk) rc = lode_decoder_feed(d, p + i, i + chunk <= n ? chunk : n - i);
    if (rc == 0) rc = lode_decoder_end_file(d);
    size_t len;
    const char *o = lode_decoder_output(d, &len);
    if (used + len >= cap) return -3;
    memcpy(out + used, o, len);
    used += len;
    out[used] = 0;
    lode_decoder_output_reset(d);
    return rc;
}

int main(void)
{
    const lode_decoder_column two[] = {
        { "id", { LODE_LT_INT4, -1, 0, 0 } },
        { "name", { LODE_LT_TEXT, -1, 0, 0 } },
    };
    char out[8192];

    is_int(lode_load_type_of("character varying"), LODE_LT_TEXT, "type name: character varying is text");
    is_int(lode_load_type_of("timestamp with time zone"), LODE_LT_TIMESTAMPTZ, "type name: timestamptz");
    is_int(lode_load_type_of("geometry"), LODE_LT_OTHER, "type name: unknown is passed through");
    lode_zkind z;
    ok(lode_zkind_of("zstd", &z) == 0 && z == LODE_Z_ZSTD, "compression name: zstd");
    ok(lode_zkind_of("lzop", &z) == -1, "compression name: lzop is unknown");

    /* CSV: a good row, an integer that is not one, a quoted tab */
    lode_decoder *d = make(LODE_DEC_CSV, two, 2, LODE_Z_NONE);
    const char *csv = "1,a\nx,b\n3,\"c\td\"\n";
    is_int(run(d, "f.csv", csv, strlen(csv), 4, out, sizeof out), 0, "CSV decodes");
    is_str(out, "1\ta\n3\tc\\td\n", "good rows as text COPY, tab escaped");
    is_int(lode_decoder_nbad(d), 1, "one bad row kept");
    const lode_bad_row *b = lode_decoder_bad_row(d, 0);
    ok(b && b->line == 2 && b->column == 1 && b->code == LODE_ERR_DIGIT, "bad row: line 2, column 1, invalid digit");
    ok(b && b->raw_value_len == 1 && b->raw_value[0] == 'x', "bad row: raw value 'x'");
    is_str(lode_decoder_column_name(d, 0), "id", "bad row's column name");
    lode_decoder_stats st;
    lode_decoder_get_stats(d, &st);
    ok(st.rows == 2 && st.errors == 1 && st.file_rows == 2 && st.bytes == (int64_t)strlen(csv), "stats");
    lode_decoder_clear_bad(d);
    is_int(lode_decoder_nbad(d), 0, "clear_bad empties the list");
    ok(!lode_decoder_in_file(d), "end_file ends the file");
    lode_decoder_free(d);

    /* Redshift text format: '|' and \N for NULL unless null_as says otherwise */
    d = make(LODE_DEC_TEXT, two, 2, LODE_Z_NONE);
    const char *txt = "7|\\N\n";
    is_int(run(d, "f.txt", txt, strlen(txt), 64, out, sizeof out), 0, "text decodes");
    is_str(out, "7\t\\N\n", "\\N is NULL in text format");
    lode_decoder_free(d);

    /* gzip made by zlib: every chunk size gives the same rows */
    const char *plain = "10,ten\n20,twenty\n30,thirty\n";
    unsigned char gz[256];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (unsigned char *)plain;
    zs.avail_in = (uInt)strlen(plain);
    zs.next_out = gz;
    zs.avail_out = sizeof gz;
    int zr = deflate(&zs, Z_FINISH);
    size_t gzn = sizeof gz - zs.avail_out;
    deflateEnd(&zs);
    ok(zr == Z_STREAM_END, "zlib compressed the input");
    int same = 1;
    for (size_t chunk = 1; chunk <= gzn; chunk++) {
        d = make(LODE_DEC_CSV, two, 2, LODE_Z_AUTO);
        int rc = run(d, "f.csv.gz", gz, gzn, chunk, out, sizeof out);
        if (rc != 0 || strcmp(out, "10\tten\n20\ttwenty\n30\tthirty\n") != 0) {
            diag("chunk %zu: rc %d, %s", chunk, rc, out);
            same = 0;
        }
        lode_decoder_free(d);
    }
    ok(same, "gzip by magic bytes: same rows for every chunk size 1..%zu", gzn);

    /* a gzip stream cut short is fatal and names the file */
    d = make(LODE_DEC_CSV, two, 2, LODE_Z_GZIP);
    is_int(run(d, "cut.csv.gz", gz, gzn - 4, 16, out, sizeof out), -1, "truncated gzip fails");
    ok(strstr(lode_decoder_error(d), "cut.csv.gz") != NULL, "the error names the file: %s", lode_decoder_error(d));
    lode_decoder_free(d);

    /* an unterminated quote is fatal and names file and line */
    d = make(LODE_DEC_CSV, two, 2, LODE_Z_NONE);
    const char *open_quote = "1,a\n2,\"b\n";
    is_int(run(d, "q.csv", open_quote, strlen(open_quote), 3, out, sizeof out), -1, "unterminated quote fails");
    ok(strncmp(lode_decoder_error(d), "q.csv, line 2: ", 15) == 0, "names file and line: %s", lode_decoder_error(d));
    lode_decoder_free(d);

    /* JSON 'auto': keys by column name, a missing key is NULL */
    d = make(LODE_DEC_JSON, two, 2, LODE_Z_NONE);
    const char *js = "{\"id\": 5, \"name\": \"e\"}\n{\"id\": 6}\n";
    is_int(run(d, "f.json", js, strlen(js), 5, out, sizeof out), 0, "JSON decodes");
    is_str(out, "5\te\n6\t\\N\n", "JSON rows, missing key as NULL");
    lode_decoder_free(d);

    /* OpenX dots.in.keys: the key "user.name" is read by the column user_name,
     * only when asked (without it the key matches no column) */
    const lode_decoder_column dotted[] = {
        { "id", { LODE_LT_INT4, -1, 0, 0 } },
        { "user_name", { LODE_LT_TEXT, -1, 0, 0 } },
    };
    const char *dj = "{\"id\": 1, \"User.Name\": \"ada\"}\n{\"id\": 2, \"user_name\": \"bo\"}\n{\"id\": 3, \"user-name\": \"x\"}\n";
    lode_decoder_opts dopt;
    memset(&dopt, 0, sizeof dopt);
    dopt.format = LODE_DEC_JSON;
    dopt.columns = dotted;
    dopt.ncols = 2;
    dopt.ignorecase = 1;
    dopt.dots_in_keys = 1;
    d = lode_decoder_new(&dopt);
    is_int(run(d, "d.json", dj, strlen(dj), 7, out, sizeof out), 0, "dots.in.keys decodes");
    is_str(out, "1\tada\n2\tbo\n3\t\\N\n", "a '.' in a key matches '_' in the column name, nothing else does");
    lode_decoder_free(d);
    dopt.dots_in_keys = 0;
    d = lode_decoder_new(&dopt);
    is_int(run(d, "d.json", dj, strlen(dj), 7, out, sizeof out), 0, "without dots.in.keys decodes");
    is_str(out, "1\t\\N\n2\tbo\n3\t\\N\n", "without dots.in.keys the dotted key is no column's");
    lode_decoder_free(d);

    /* more bad rows than kept: details capped, count exact */
    d = make(LODE_DEC_CSV, two, 2, LODE_Z_NONE);
    size_t nbadrows = LODE_DECODER_MAX_KEPT_ERRORS + 5, len = 0;
    char *many = malloc(nbadrows * 4 + 1);
    for (size_t i = 0; i < nbadrows; i++) len += (size_t)sprintf(many + len, "x,y\n");
    char *big = malloc(64);
    is_int(run(d, "bad.csv", many, len, 1000, big, 64), 0, "all rows bad still decodes");
    lode_decoder_get_stats(d, &st);
    is_int(st.errors, (long long)nbadrows, "every bad row counted");
    is_int(lode_decoder_nbad(d), LODE_DECODER_MAX_KEPT_ERRORS, "details kept up to the cap");
    free(many);
    free(big);
    lode_decoder_free(d);

    /* FIXEDWIDTH (AWS, "Loading fixed-width data"): widths count characters
     * (COPY's ENCODING: "The field widths are based on the number of
     * characters, not the number of bytes"); numbers are read without their
     * padding blanks, character fields keep theirs. */
    {
        const lode_decoder_column fw[] = {
            { "id", { LODE_LT_INT4, -1, 0, 0 } },
            { "name", { LODE_LT_TEXT, -1, 0, 0 } },
            { "st", { LODE_LT_TEXT, -1, 0, 0 } },
        };
        const uint32_t widths[] = { 3, 5, 2 };
        lode_decoder_opts o;
        memset(&o, 0, sizeof o);
        o.format = LODE_DEC_TEXT;
        o.csv.delimiter = '|';
        o.csv.widths = widths;
        o.csv.nwidths = 3;
        o.columns = fw;
        o.ncols = 3;
        const char *in = "1  ab   NY\r\n 22\xc3\xa9t\xc3\xa9|zCA\n333x\n4  abcdeWAextra\n";
        for (size_t chunk = 1; chunk <= 8; chunk++) {
            lode_decoder *fd = lode_decoder_new(&o);
            int rc = run(fd, "fw.txt", in, strlen(in), chunk, out, sizeof out);
            char what[80];
            snprintf(what, sizeof what, "FIXEDWIDTH in chunks of %zu", chunk);
            ok(rc == 0 && strcmp(out, "1\tab   \tNY\n22\t\xc3\xa9t\xc3\xa9|z\tCA\n") == 0, "%s: rows cut by characters", what);
            ok(lode_decoder_nbad(fd) == 2 && lode_decoder_bad_row(fd, 0)->line == 3
               && lode_decoder_bad_row(fd, 1)->code == LODE_ERR_EXTRA_COLUMNS, "%s: short and long lines are bad rows", what);
            lode_decoder_free(fd);
        }
    }

    /* ENCODING: UTF16 needs a BOM; UTF16LE/BE skip one; surrogate pairs */
    {
        lode_encoding e;
        ok(lode_encoding_of("UTF16LE", &e) == 0 && e == LODE_ENC_UTF16LE, "encoding name: UTF16LE");
        ok(lode_encoding_of("LATIN1", &e) == -1, "encoding name: LATIN1 is unknown");
        /* "7|é😀\n" in UTF-16 */
        const unsigned char le_bom[] = { 0xFF, 0xFE, '7', 0, '|', 0, 0xE9, 0, 0x3D, 0xD8, 0x00, 0xDE, '\n', 0 };
        const unsigned char be[] = { 0, '7', 0, '|', 0, 0xE9, 0xD8, 0x3D, 0xDE, 0x00, 0, '\n' };
        const unsigned char be_bom[] = { 0xFE, 0xFF, 0, '7', 0, '|', 0, 0xE9, 0xD8, 0x3D, 0xDE, 0x00, 0, '\n' };
        const char *want = "7\t\xc3\xa9\xf0\x9f\x98\x80\n";
        const struct { lode_encoding enc; const unsigned char *in; size_t n; int rc; const char *what; } cases[] = {
            { LODE_ENC_UTF16, le_bom, sizeof le_bom, 0, "UTF16 with a little-endian BOM" },
            { LODE_ENC_UTF16, be_bom, sizeof be_bom, 0, "UTF16 with a big-endian BOM" },
            { LODE_ENC_UTF16, be, sizeof be, -1, "UTF16 without a BOM fails" },
            { LODE_ENC_UTF16LE, le_bom, sizeof le_bom, 0, "UTF16LE skips its BOM" },
            { LODE_ENC_UTF16BE, be, sizeof be, 0, "UTF16BE without a BOM" },
            { LODE_ENC_UTF16BE, be_bom, sizeof be_bom, 0, "UTF16BE skips its BOM" },
            { LODE_ENC_UTF16BE, be, sizeof be - 1, -1, "UTF16BE with an odd byte count fails" },
            { LODE_ENC_UTF16BE, be, 8, -1, "UTF16BE ending after a high surrogate fails" },
        };
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
            for (size_t chunk = 1; chunk <= 5; chunk++) {
                lode_decoder_opts o;
                memset(&o, 0, sizeof o);
                o.format = LODE_DEC_TEXT;
                o.csv.delimiter = '|';
                o.encoding = cases[c].enc;
                o.columns = two;
                o.ncols = 2;
                lode_decoder *ed = lode_decoder_new(&o);
                int rc = run(ed, "u.txt", cases[c].in, cases[c].n, chunk, out, sizeof out);
                if (cases[c].rc == 0)
                    ok(rc == 0 && strcmp(out, want) == 0, "%s (chunks of %zu)", cases[c].what, chunk);
                else
                    ok(rc == -1 && strstr(lode_decoder_error(ed), "u.txt, byte ") != NULL, "%s (chunks of %zu): %s",
                       cases[c].what, chunk, lode_decoder_error(ed));
                lode_decoder_free(ed);
            }
        lode_decoder_opts o;
        memset(&o, 0, sizeof o);
        o.format = LODE_DEC_TEXT;
        o.csv.delimiter = '|';
        o.encoding = LODE_ENC_ISO88591;
        o.columns = two;
        o.ncols = 2;
        lode_decoder *ed = lode_decoder_new(&o);
        ok(run(ed, "l.txt", "8|caf\xe9\n", 7, 3, out, sizeof out) == 0 && strcmp(out, "8\tcaf\xc3\xa9\n") == 0,
           "ISO88591: each byte is its code point");
        lode_decoder_free(ed);
    }

    /* Spectrum's SET_TO_NULL (CREATE EXTERNAL TABLE, TABLE PROPERTIES): the
     * bad value is NULL, its row kept and the other columns untouched; a
     * column count mismatch fills missing values with NULL and ignores the
     * additional ones. Expected rows written by hand from those words. COPY
     * (no null_codes) still keeps every such row aside. */
    {
        const lode_decoder_column three[] = {
            { "id", { LODE_LT_INT4, -1, 0, 0 } },
            { "name", { LODE_LT_TEXT, 5, 0, 0 } },
            { "amt", { LODE_LT_NUMERIC, -1, 4, 1 } },
        };
        static const char in[] = "1|ab|1.5\n2|toolongname|2.0\n3|b\xff" "d|3.0\n99999999999|c|4.0\n5|d|12345.6\n"
                                 "6|e\n7|f|7.0|extra\nx8|g|8.0\n9|h\0i|9.0\n";
        size_t inlen = sizeof in - 1;
        const int all[] = { LODE_ERR_LENGTH, LODE_ERR_UTF8, LODE_ERR_NUL, LODE_ERR_OVERFLOW, LODE_ERR_DIGIT,
                            LODE_ERR_FLOAT, LODE_ERR_EXTRA_COLUMNS, LODE_ERR_DELIMITER };
        lode_decoder_opts o;
        memset(&o, 0, sizeof o);
        o.format = LODE_DEC_TEXT;
        o.csv.delimiter = '|';
        o.columns = three;
        o.ncols = 3;
        o.null_codes = all;
        o.n_null_codes = sizeof all / sizeof *all;
        for (size_t chunk = 1; chunk <= 64; chunk *= 4) {
            lode_decoder *nd = lode_decoder_new(&o);
            is_int(run(nd, "n.txt", in, inlen, chunk, out, sizeof out), 0, "SET_TO_NULL decodes (chunks of %zu)", chunk);
            is_str(out, "1\tab\t1.5\n2\t\\N\t2.0\n3\t\\N\t3.0\n\\N\tc\t4.0\n5\td\t\\N\n6\te\t\\N\n7\tf\t7.0\n"
                        "\\N\tg\t8.0\n9\t\\N\t9.0\n", "SET_TO_NULL: each bad value NULL, every row kept");
            lode_decoder_get_stats(nd, &st);
            ok(st.rows == 9 && st.errors == 0 && lode_decoder_nbad(nd) == 0, "SET_TO_NULL: no bad rows");
            lode_decoder_free(nd);
        }
        /* one kind only: the others are still bad rows */
        const int surplus[] = { LODE_ERR_LENGTH };
        o.null_codes = surplus;
        o.n_null_codes = 1;
        lode_decoder *nd = lode_decoder_new(&o);
        is_int(run(nd, "n.txt", in, inlen, 7, out, sizeof out), 0, "surplus SET_TO_NULL decodes");
        is_str(out, "1\tab\t1.5\n2\t\\N\t2.0\n", "surplus SET_TO_NULL: only the long name is NULL");
        is_int(lode_decoder_nbad(nd), 7, "surplus SET_TO_NULL: the 7 other bad rows kept aside");
        lode_decoder_free(nd);
        /* COPY: no SET_TO_NULL */
        o.null_codes = NULL;
        o.n_null_codes = 0;
        nd = lode_decoder_new(&o);
        is_int(run(nd, "n.txt", in, inlen, 7, out, sizeof out), 0, "COPY decodes");
        is_str(out, "1\tab\t1.5\n", "COPY: one good row");
        is_int(lode_decoder_nbad(nd), 8, "COPY: 8 bad rows");
        lode_decoder_free(nd);
        /* binary COPY tuples: the NULL is a length of -1 */
        o.null_codes = all;
        o.n_null_codes = sizeof all / sizeof *all;
        o.binary = 1;
        nd = lode_decoder_new(&o);
        char bin[256];
        char err[200];
        ok(lode_decoder_begin_file(nd, "b.txt", 5, err, sizeof err) == 0, "binary: begin");
        ok(lode_decoder_feed(nd, "2|toolongname|\\N\n", 17) == 0 && lode_decoder_end_file(nd) == 0, "binary: decodes");
        size_t blen;
        const char *b2 = lode_decoder_output(nd, &blen);
        static const unsigned char want[] = { 0, 3, 0, 0, 0, 4, 0, 0, 0, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
        ok(blen == sizeof want && memcpy(bin, b2, blen) && memcmp(bin, want, sizeof want) == 0,
           "binary: 3 fields, int4 2, then NULL (-1) for the long name and for \\N");
        lode_decoder_free(nd);
    }

    return done_testing();
}

/* csv_test.c — the delimited-text push parser: quoting, escapes, embedded
 * newlines, CRLF, line numbers, IGNOREHEADER, blank lines, bounded records,
 * and identical results whatever the chunk boundaries. */
#include "tap.h"
#include "lode/load/load.h"

/* Records rendered as "line:field|field;" for comparison; quoted fields as [x]. */
typedef struct {
    lode_buf out;
    int stop_after;   /* stop (return 7) after this many records, 0: never */
    int n;
} sink;

static int on_record(void *ud, const lode_csv_record *r)
{
    sink *s = ud;
    char b[32];
    int k = snprintf(b, sizeof b, "%lld:", (long long)r->line);
    lode_buf_append(&s->out, b, (size_t)k);
    for (size_t i = 0; i < r->nfields; i++) {
        if (i) lode_buf_putc(&s->out, '|');
        if (r->fields[i].quoted) lode_buf_putc(&s->out, '[');
        lode_buf_append(&s->out, r->fields[i].data, r->fields[i].len);
        if (r->fields[i].quoted) lode_buf_putc(&s->out, ']');
    }
    lode_buf_putc(&s->out, ';');
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? 7 : 0;
}

/* Parse `in` fed in chunks of `chunk` bytes; returns the rendering (static). */
static const char *parse(const lode_csv_opts *o, const char *in, size_t chunk, int *rc_out)
{
    static char result[4096];
    sink s = { { 0 }, 0, 0 };
    lode_csv *p = lode_csv_new(o, on_record, &s);
    size_t n = strlen(in);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += chunk)
        rc = lode_csv_feed(p, in + i, i + chunk <= n ? chunk : n - i);
    if (rc == 0) rc = lode_csv_finish(p);
    if (rc == -1) {
        snprintf(result, sizeof result, "ERROR line %lld: %s", (long long)lode_csv_error_line(p), lode_csv_error(p));
    } else {
        snprintf(result, sizeof result, "%.*s", (int)s.out.len, s.out.data ? s.out.data : "");
    }
    if (rc_out) *rc_out = rc;
    lode_csv_free(p);
    lode_buf_free(&s.out);
    return result;
}

static void same_for_all_chunks(const lode_csv_opts *o, const char *in, const char *want, const char *what)
{
    int all = 1;
    for (size_t chunk = 1; chunk <= strlen(in) + 1; chunk++) {
        const char *got = parse(o, in, chunk, NULL);
        if (strcmp(got, want) != 0) {
            diag("chunk %zu: got %s", chunk, got);
            all = 0;
            break;
        }
    }
    ok(all, "%s (every chunk size)", what);
}

int main(void)
{
    lode_csv_opts csv = { .delimiter = ',', .quote = '"', .csv = 1 };
    lode_csv_opts text = { .delimiter = '|' };

    same_for_all_chunks(&csv, "a,b,c\n1,2,3\n", "1:a|b|c;2:1|2|3;", "plain CSV");
    same_for_all_chunks(&csv, "a,b\n1,2", "1:a|b;2:1|2;", "no final newline");
    same_for_all_chunks(&csv, "a,b\r\n1,2\r\n", "1:a|b;2:1|2;", "CRLF");
    same_for_all_chunks(&csv, "\"x,y\",\"he said \"\"hi\"\"\"\n", "1:[x,y]|[he said \"hi\"];", "quotes and doubled quotes");
    same_for_all_chunks(&csv, "1,\"two\nlines\",3\n4,5,6\n", "1:1|[two\nlines]|3;3:4|5|6;", "embedded newline, line numbers");
    same_for_all_chunks(&csv, "\"a\"\r\n\"b\"\r\n", "1:[a];2:[b];", "CRLF after quotes");
    same_for_all_chunks(&csv, ",,\n", "1:||;", "empty fields");
    same_for_all_chunks(&csv, "\"\",x\n", "1:[]|x;", "quoted empty is not unquoted empty");
    same_for_all_chunks(&csv, "a\n\nb\n", "1:a;2:;3:b;", "a blank line is a record");
    lode_csv_opts blank = csv;
    blank.ignoreblanklines = 1;
    same_for_all_chunks(&blank, "a\n\nb\n\n", "1:a;3:b;", "IGNOREBLANKLINES");

    lode_csv_opts hdr = csv;
    hdr.ignoreheader = 2;
    same_for_all_chunks(&hdr, "h1\nh2\n1,2\n3,4\n", "3:1|2;4:3|4;", "IGNOREHEADER 2 keeps line numbers");
    same_for_all_chunks(&hdr, "h1\n", "", "header only");

    lode_csv_opts semi = { .delimiter = ';', .quote = '\'', .csv = 1 };
    same_for_all_chunks(&semi, "'a;b';c\n", "1:[a;b]|c;", "custom delimiter and quote");
    lode_csv_opts tab = { .delimiter = '\t', .quote = '"', .csv = 1 };
    same_for_all_chunks(&tab, "a\tb c\n", "1:a|b c;", "tab delimiter");

    same_for_all_chunks(&text, "a|b|\\N\n1|2|3\n", "1:a|b|\\N;2:1|2|3;", "text: backslash is data without ESCAPE");
    lode_csv_opts esc = text;
    esc.escape = 1;
    same_for_all_chunks(&esc, "a\\|b|c\\\nd|e\\\\\n", "1:a|b|c\nd|e\\;", "text ESCAPE: delimiter, newline, backslash");
    /* AWS, "Data conversion parameters", ESCAPE: the byte after a backslash is
     * loaded as it is: \012 loads 012 (no octal, hex or other notation) */
    same_for_all_chunks(&esc, "\\012|\\x41|a\\nb\\tc\n", "1:012|x41|anbtc;", "text ESCAPE: any other byte is data, the backslash goes");
    same_for_all_chunks(&esc, "\\N|a\\Nb|\\Nx\n", "1:\\N|aNb|Nx;", "text ESCAPE: \\N alone stays \\N (the NULL AS default), elsewhere N");
    lode_csv_opts escrq = esc;
    escrq.removequotes = 1;
    /* the AWS page's own example (ESCAPE, row 4 with REMOVEQUOTES) */
    same_for_all_chunks(&escrq, "1|The quick brown fox\\\njumped over the lazy dog.\n2| A\\\\B\\\\C\n3| A \\| B \\| C\n"
                        "4|'A Midsummer Night\\'s Dream'\n",
                        "1:1|The quick brown fox\njumped over the lazy dog.;3:2| A\\B\\C;4:3| A | B | C;5:4|[A Midsummer Night's Dream];",
                        "text ESCAPE REMOVEQUOTES: AWS's example rows");
    lode_csv_opts rq = text;
    rq.removequotes = 1;
    same_for_all_chunks(&rq, "\"a|b\"|c\n", "1:[a|b]|c;", "text REMOVEQUOTES");
    same_for_all_chunks(&rq, "'Black'|\"White\"|Blue'|'a\"b'\n", "1:[Black]|[White]|Blue'|[a\"b];",
                        "text REMOVEQUOTES: single or double quotes, the one that opened closes");
    /* AWS, "Data conversion parameters", REMOVEQUOTES: ' ' 'Black' ' ' loads
     * as ' 'Black' ' (the surrounding quotes go, every character inside
     * stays) and ' ' as a blank: a quote closes the field only before the
     * delimiter or the end of the line */
    same_for_all_chunks(&rq, "' ' 'Black' ' '|' '|'it''s'\n\"a\"b\"|x\n",
                        "1:[ ' 'Black' ' ]|[ ]|[it''s];2:[a\"b]|x;",
                        "text REMOVEQUOTES: AWS's ' ' 'Black' ' ' keeps the quotes inside");
    same_for_all_chunks(&text, "\"a|b\"|c\n", "1:\"a|b\"|c;", "text: quotes are data without REMOVEQUOTES");

    /* OpenCSVSerde: CSV where it reads the same; where opencsv reads its own
     * way (a quote inside an unquoted field; its escapeChar, a backslash by
     * default) the record fails, naming the line */
    lode_csv_opts ocsv = csv;
    ocsv.opencsv = 1;
    ocsv.escape = 1;
    same_for_all_chunks(&ocsv, "1,\"a,\"\"b\"\"\"\n2,c\n", "1:1|[a,\"b\"];2:2|c;", "OpenCSVSerde: quotes and doubled quotes as CSV");
    same_for_all_chunks(&ocsv, "1,a\n2,C:\\temp\n",
        "ERROR line 2: OpenCSVSerde's reading of a backslash (its escapeChar) is not emulated by lode (field 2)",
        "OpenCSVSerde: a backslash fails the record");
    same_for_all_chunks(&ocsv, "1,\"a\\b\"\n",
        "ERROR line 1: OpenCSVSerde's reading of a backslash (its escapeChar) is not emulated by lode (field 2)",
        "OpenCSVSerde: a backslash inside quotes too");
    same_for_all_chunks(&ocsv, "1,Jo\"hn\n",
        "ERROR line 1: OpenCSVSerde's reading of a quote inside an unquoted field is not emulated by lode (field 2)",
        "OpenCSVSerde: a quote inside an unquoted field fails the record");
    lode_csv_opts ocsv_q = ocsv;
    ocsv_q.escape = 0;
    same_for_all_chunks(&ocsv_q, "1,C:\\temp\n", "1:1|C:\\temp;", "OpenCSVSerde with escapeChar = quoteChar: a backslash is data");

    /* NULs and invalid UTF-8 are data to the parser (conversion judges them) */
    {
        sink s = { { 0 }, 0, 0 };
        lode_csv *p = lode_csv_new(&csv, on_record, &s);
        const char in[] = "a\0b,\xff\xfe\n";
        ok(lode_csv_feed(p, in, sizeof in - 1) == 0 && lode_csv_finish(p) == 0, "NUL and 0xFF parse");
        is_mem(s.out.data, s.out.len, "1:a\0b|\xff\xfe;", 9, "bytes kept as they are");
        lode_csv_free(p);
        lode_buf_free(&s.out);
    }

    /* errors */
    ok(strcmp(parse(&csv, "a,\"open\n2,3\n", 4, NULL), "ERROR line 1: unterminated quoted field at the end of the file") == 0,
       "unterminated quote: error with the line it started on");
    const char *g = parse(&csv, "ok\n\"x\"y,2\n", 3, NULL);
    ok(strstr(g, "ERROR line 2: unexpected character 'y' after a closing quote") == g, "garbage after a quote: %s", g);
    lode_csv_opts small = csv;
    small.max_record = 16;
    g = parse(&small, "short\n\"this is much longer than sixteen bytes\"\n", 5, NULL);
    ok(strstr(g, "ERROR line 2: record longer than 16 bytes") == g, "bounded record: %s", g);
    g = parse(&small, "0123456789abcdef0123456789\n", 100, NULL);
    ok(strstr(g, "record longer than 16 bytes") != NULL, "bounded unquoted record: %s", g);

    /* stopping from the callback */
    {
        sink s = { { 0 }, 2, 0 };
        lode_csv *p = lode_csv_new(&csv, on_record, &s);
        int rc = lode_csv_feed(p, "1\n2\n3\n4\n", 8);
        is_int(rc, 7, "callback's stop value returned");
        is_int(s.n, 2, "no record after the stop");
        lode_csv_free(p);
        lode_buf_free(&s.out);
    }

    /* raw line for errors: first 1024 bytes, without the newline */
    {
        sink s = { { 0 }, 0, 0 };
        struct { int seen; size_t len; char first; } raw = { 0, 0, 0 };
        (void)raw;
        lode_csv *p = lode_csv_new(&csv, on_record, &s);
        char big[3000];
        memset(big, 'x', sizeof big);
        big[sizeof big - 1] = '\n';
        ok(lode_csv_feed(p, big, sizeof big) == 0, "a 3000-byte record");
        is_int(lode_csv_lines(p), 1, "one line counted");
        lode_csv_free(p);
        lode_buf_free(&s.out);
    }
    return done_testing();
}

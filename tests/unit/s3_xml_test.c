/* s3_xml_test.c — the XML reader behind S3 listings and errors: elements
 * found by name (self-closing, attributes, unterminated), entities and
 * character references decoded to UTF-8, invalid references kept as text,
 * and escaping for request bodies undone by decoding. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "s3/internal.h"

static void dec(const char *in, const char *want, const char *what)
{
    char *got = s3_xml_decode(in, strlen(in));
    is_str(got, want, "decode %s", what);
    free(got);
}

int main(void)
{
    dec("a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos;", "a&b <c> \"d\" 'e'", "the five named entities");
    dec("caf&#233; caf&#xE9; &#X1F600;", "caf\xc3\xa9 caf\xc3\xa9 \xf0\x9f\x98\x80", "decimal and hex references to UTF-8");
    dec("&#0;|&#xD800;|&#x110000;|&#;|&#x;|&# 65;|&#-1;|&#12a;", "&#0;|&#xD800;|&#x110000;|&#;|&#x;|&# 65;|&#-1;|&#12a;",
        "NUL, surrogates, out of range and malformed references stay as written");
    dec("&nbsp; & &amp", "&nbsp; & &amp", "unknown and unterminated entities stay as written");

    const char *doc = "<R><Contents><Key>a</Key><ETag/></Contents><Contents x=\"1\"><Key>b&amp;c</Key></Contents>"
                      "<KeyCount>2</KeyCount><Key>top</Key></R>";
    const char *e = doc + strlen(doc), *p = doc, *inner;
    size_t len;
    int n = 0;
    char *keys[3] = { 0 };
    while ((p = s3_xml_next(p, e, "Contents", &inner, &len)) && n < 3) keys[n++] = s3_xml_get(inner, inner + len, "Key");
    is_int(n, 2, "two Contents elements, one with an attribute");
    is_str(keys[0], "a", "first key");
    is_str(keys[1], "b&c", "second key decoded");
    for (int i = 0; i < n; i++) free(keys[i]);
    char *etag = s3_xml_get(doc, e, "ETag");
    is_str(etag, "", "a self-closing element is empty");
    free(etag);
    ok(s3_xml_get(doc, e, "KeyCountX") == NULL, "a longer name does not match a prefix of it");
    char *kc = s3_xml_get(doc, e, "KeyCount");
    is_str(kc, "2", "KeyCount is not taken for Key");
    free(kc);
    const char *cut = "<R><Key>never closed";
    ok(s3_xml_get(cut, cut + strlen(cut), "Key") == NULL, "an unterminated element is not found");
    const char *cut2 = "<R><Key";
    ok(s3_xml_get(cut2, cut2 + strlen(cut2), "Key") == NULL, "a tag cut before '>' is not found");

    const char *text = "k &amp; <v> \"q\" 'a'\r\n\xc3\xa9&#65;";
    char *x = NULL;
    size_t xl = 0, xc = 0;
    ok(s3_xml_escape_append(&x, &xl, &xc, text) == 0, "escape");
    ok(strchr(x, '<') == NULL && strchr(x, '\r') == NULL, "no raw '<' or CR in the escaped text");
    char *back = s3_xml_decode(x, xl);
    is_str(back, text, "decode(escape(s)) == s");
    free(back);
    free(x);
    return done_testing();
}

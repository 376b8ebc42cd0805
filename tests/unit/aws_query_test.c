/* aws_query_test.c — the Query protocol without a service model: JSON
 * parameters flattened as botocore's query serializer does (expected pairs
 * below were produced by botocore for IAM CreateUser and CloudWatch
 * PutMetricData), and XML answers turned into JSON trees (member lists,
 * entry maps, repeated elements, empty elements, entities, CDATA), with
 * malformed or too deep documents refused. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tap.h"
#include "aws/aws_internal.h"

/* Whether body (a=b&c=d) holds exactly the pairs in want (NULL-terminated, encoded). */
static int same_pairs(const char *body, const char *const *want)
{
    int n = 0, found = 0;
    for (const char *p = body; p && *p; n++) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        for (int i = 0; want[i]; i++)
            if (strlen(want[i]) == len && memcmp(want[i], p, len) == 0) found++;
        p = amp ? amp + 1 : NULL;
    }
    int nwant = 0;
    while (want[nwant]) nwant++;
    return n == nwant && found == nwant;
}

static char *xml_to_json(const char *xml)
{
    cJSON *j = aws_xml_parse(xml, strlen(xml));
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

static void xml_is(const char *xml, const char *want, const char *what)
{
    char *got = xml_to_json(xml);
    is_str(got, want, "%s", what);
    free(got);
}

int main(void)
{
    char why[200];
    cJSON *p = cJSON_Parse("{\"UserName\":\"a b\",\"Tags\":[{\"Key\":\"k\",\"Value\":\"v/+=\"}]}");
    char *body = aws_query_body("CreateUser", "2010-05-08", p, why, sizeof why);
    static const char *const create_user[] = {"Action=CreateUser", "Version=2010-05-08", "UserName=a%20b",
                                              "Tags.member.1.Key=k", "Tags.member.1.Value=v%2F%2B%3D", NULL};
    ok(body && same_pairs(body, create_user), "IAM CreateUser: lists as .member.N, values encoded (%s)", body);
    free(body);
    cJSON_Delete(p);

    p = cJSON_Parse("{\"Namespace\":\"lode\",\"MetricData\":[{\"MetricName\":\"rows\",\"Value\":1.5,"
                    "\"Dimensions\":[{\"Name\":\"table\",\"Value\":\"t\"}]},{\"MetricName\":\"n\",\"Value\":3}]}");
    body = aws_query_body("PutMetricData", "2010-08-01", p, why, sizeof why);
    static const char *const metrics[] = {
        "Action=PutMetricData", "Version=2010-08-01", "Namespace=lode",
        "MetricData.member.1.Dimensions.member.1.Name=table", "MetricData.member.1.Dimensions.member.1.Value=t",
        "MetricData.member.1.MetricName=rows", "MetricData.member.1.Value=1.5", "MetricData.member.2.MetricName=n",
        "MetricData.member.2.Value=3", NULL};
    ok(body && same_pairs(body, metrics), "CloudWatch PutMetricData: nested lists and numbers (%s)", body);
    free(body);
    cJSON_Delete(p);

    p = cJSON_Parse("{\"A\":true,\"B\":false,\"L\":[],\"N\":null,\"Tags.member.1.Key\":\"flat\"}");
    body = aws_query_body("X", "1", p, why, sizeof why);
    static const char *const misc[] = {"Action=X", "Version=1", "A=true", "B=false", "L=", "Tags.member.1.Key=flat",
                                       NULL};
    ok(body && same_pairs(body, misc), "booleans, an empty list as Name=, null left out, flat names kept (%s)", body);
    free(body);
    cJSON_Delete(p);

    p = cJSON_Parse("[1,2]");
    body = aws_query_body("X", "1", p, why, sizeof why);
    ok(!body && strstr(why, "table of names"), "parameters that are a list are refused: %s", why);
    cJSON_Delete(p);
    body = aws_query_body("X", "1", NULL, why, sizeof why);
    is_str(body, "Action=X&Version=1", "no parameters");
    free(body);

    xml_is("<?xml version=\"1.0\"?>\n<ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
           "<ListUsersResult><Users><member><UserName>a</UserName></member><member><UserName>b</UserName>"
           "</member></Users><IsTruncated>false</IsTruncated></ListUsersResult>"
           "<ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></ListUsersResponse>",
           "{\"ListUsersResult\":{\"Users\":[{\"UserName\":\"a\"},{\"UserName\":\"b\"}],\"IsTruncated\":\"false\"},"
           "\"ResponseMetadata\":{\"RequestId\":\"r1\"}}",
           "member lists become arrays; the prolog and xmlns are skipped");
    xml_is("<R><Users><member><UserName>only</UserName></member></Users></R>",
           "{\"Users\":[{\"UserName\":\"only\"}]}", "a single member is still a list");
    xml_is("<R><Users>\n   </Users><Marker/></R>", "{\"Users\":[],\"Marker\":[]}",
           "empty elements (blank or self-closing) are empty lists");
    xml_is("<R><Attrs><entry><key>k1</key><value>v1</value></entry><entry><key>k2</key><value>v2</value></entry>"
           "</Attrs></R>", "{\"Attrs\":{\"k1\":\"v1\",\"k2\":\"v2\"}}", "entry key/value pairs become a map");
    xml_is("<R><QueueUrl>a</QueueUrl><QueueUrl>b</QueueUrl><QueueUrl>c</QueueUrl></R>",
           "{\"QueueUrl\":[\"a\",\"b\",\"c\"]}", "repeated elements become a list");
    xml_is("<R><M>a &amp; b &lt;c&gt; caf&#233; &#xD800;</M><C><![CDATA[<raw> & ]]></C><!-- note --></R>",
           "{\"M\":\"a & b <c> caf\xc3\xa9 &#xD800;\",\"C\":\"<raw> & \"}",
           "entities and character references decoded, invalid ones kept; CDATA and comments");
    xml_is("<R><A x='1>2'>v</A></R>", "{\"A\":\"v\"}", "attributes are skipped even with '>' inside quotes");

    ok(!aws_xml_parse("<R><A>v</B></R>", 15), "a mismatched end tag is refused");
    ok(!aws_xml_parse("<R><A>v</A>", 11), "an unterminated document is refused");
    ok(!aws_xml_parse("<R/>junk", 8), "trailing text is refused");
    char deep[2000] = "";
    for (int i = 0; i < 70; i++) strcat(deep, "<a>");
    for (int i = 0; i < 70; i++) strcat(deep, "</a>");
    ok(!aws_xml_parse(deep, strlen(deep)), "nesting deeper than 64 is refused");

    const char *err = "<E><Errors><Error><Code>C</Code></Error></Errors></E>";
    cJSON *doc = aws_xml_parse(err, strlen(err));
    const cJSON *e = aws_json_find(doc, "Error");
    ok(e && cJSON_IsString(cJSON_GetObjectItem(e, "Code")), "aws_json_find finds a nested element");
    cJSON_Delete(doc);
    return done_testing();
}

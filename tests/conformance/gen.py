#!/usr/bin/env python3
"""Data and expectations for the Redshift conformance corpus (tests/conformance).

python3 gen.py OUTDIR writes OUTDIR/data/<key> (uploaded as s3://lode-conformance/<key>)
and OUTDIR/expected.json: {case: [[query, value], ...]}. Every value is computed
here from the generated rows, as Redshift would load them — never from lode.

A table's fingerprint is "<rows>:<md5 of its rows as text, sorted bytewise>"
(fp_query / fp_value build the query and the value the same way).
"""
import gzip, hashlib, json, os, sys
from decimal import Decimal

OUT = sys.argv[1]
DATA = os.path.join(OUT, "data")
EXPECTED = {}
NULL = None


def put(key, data):
    path = os.path.join(DATA, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def fp_query(table, cols):
    row = " || '|' || ".join("coalesce(%s::text, 'NULL!')" % c for c in cols)
    return ("SELECT count(*)::text || ':' || coalesce(md5(string_agg(r, chr(10) ORDER BY r COLLATE \"C\")), '') "
            "FROM (SELECT %s AS r FROM %s) x" % (row, table))


def fp_value(rows):
    lines = sorted(("|".join("NULL!" if v is None else str(v) for v in r) for r in rows),
                   key=lambda s: s.encode("utf-8"))
    if not lines:
        return "0:"
    return "%d:%s" % (len(lines), hashlib.md5("\n".join(lines).encode("utf-8")).hexdigest())


def expect(case, query, value):
    EXPECTED.setdefault(case, []).append([query, str(value)])


def expect_table(case, table, cols, rows):
    expect(case, fp_query(table, cols), fp_value(rows))


def money(x):
    return str(Decimal(x).quantize(Decimal("0.01")))


def b(v):
    return "true" if v else "false"


# TICKIT (AWS Redshift Getting Started / "Load sample data" tutorial) ----------------
STATES = ["NY", "CA", "WA", "TX", "IL"]
CITIES = ["New York City", "San Francisco", "Seattle", "Austin", "Chicago"]
users = []
for i in range(1, 31):
    likes = [((i * 7 + k * 3) % 5) < 2 for k in range(10)]
    users.append([i, "U%07d" % i, "First%d" % i, "Last%d" % i, CITIES[i % 5], STATES[i % 5],
                  "user%d@example.com" % i, "(%03d) 555-%04d" % (200 + i, i)] + likes)
put("tickit/allusers_pipe.txt", "".join(
    "|".join([str(u[0])] + u[1:8] + ["TRUE" if x else "FALSE" for x in u[8:]]) + "\n" for u in users))
venues = [[i, "Venue %d" % i, CITIES[i % 5], STATES[i % 5], 1000 * i if i % 4 else None] for i in range(1, 13)]
# Redshift text COPY: an empty field of a non-character column loads NULL
put("tickit/venue_pipe.txt", "".join("%d|%s|%s|%s|%s\n" % (v[0], v[1], v[2], v[3], "" if v[4] is None else v[4]) for v in venues))
cats = [[1, "Sports", "MLB", "Major League Baseball"], [2, "Sports", "NHL", "National Hockey League"],
        [3, "Sports", "NFL", "National Football League"], [4, "Sports", "NBA", "National Basketball Association"],
        [5, "Concerts", "Pop", "All rock and pop music concerts"], [6, "Shows", "Musicals", "Musical theatre"],
        [7, "Shows", "Plays", "All non-musical theatre"], [8, "Shows", "Opera", "All opera and light opera"],
        [9, "Concerts", "Classical", "All symphony, concerto, and choir concerts"]]
put("tickit/category_pipe.txt", "".join("|".join(str(x) for x in c) + "\n" for c in cats))
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
MONTHS = ["JAN", "FEB", "MAR"]
dates = []
for i in range(1, 61):
    m = 1 + (i - 1) // 31 if i <= 59 else 3
    d = i if i <= 31 else (i - 31 if i <= 59 else 1)
    dates.append([1826 + i, "2008-%02d-%02d" % (m, d), DAYS[(i + 0) % 7], 1 + (i - 1) // 7, MONTHS[m - 1], "1", 2008, i % 13 == 0])
put("tickit/date2008_pipe.txt", "".join("%d|%s|%s|%d|%s|%s|%d|%s\n" % (d[0], d[1], d[2], d[3], d[4], d[5], d[6], "TRUE" if d[7] else "FALSE") for d in dates))
events = [[i, 1 + i % 12, 1 + i % 9, 1827 + i % 60, "Event %d" % i, "2008-%02d-%02d %02d:%02d:00" % (1 + i % 2, 1 + i % 28, 12 + i % 10, (i * 5) % 60)] for i in range(1, 41)]
put("tickit/allevents_pipe.txt", "".join("|".join(str(x) for x in e) + "\n" for e in events))
listings = []
for i in range(1, 51):
    n = 1 + i % 8
    price = Decimal(10 + i) + Decimal(i % 4) / 4
    listings.append([i, 1 + i % 30, 1 + i % 40, 1827 + i % 60, n, money(price), money(price * n),
                     "2008-01-%02d %02d:%02d:%02d" % (1 + i % 28, i % 24, i % 60, (i * 7) % 60)])
put("tickit/listings_pipe.txt", "".join("|".join(str(x) for x in l) + "\n" for l in listings))
sales = []
sales_lines = []
for i in range(1, 61):
    l = listings[(i - 1) % 50]
    q = 1 + i % 4
    paid = Decimal(l[5]) * q
    comm = (paid * Decimal("0.15")).quantize(Decimal("0.01"))
    mo, dd, hh, mi, ss = 1 + i % 2, 1 + i % 28, (i * 3) % 24, i % 60, (i * 11) % 60
    sales.append([i, l[0], l[1], 1 + (i * 7) % 30, l[2], l[3], q, money(paid), money(comm),
                  "2008-%02d-%02d %02d:%02d:%02d" % (mo, dd, hh, mi, ss)])
    sales_lines.append("\t".join(str(x) for x in [i, l[0], l[1], 1 + (i * 7) % 30, l[2], l[3], q, money(paid), money(comm)])
                       + "\t%02d/%02d/2008 %02d:%02d:%02d\n" % (mo, dd, hh, mi, ss))
put("tickit/sales_tab.txt", "".join(sales_lines))

c = "aws_tickit/load_tickit"
expect_table(c, "users", ["userid", "username", "firstname", "lastname", "city", "state", "email", "phone",
                          "likesports", "liketheatre", "likeconcerts", "likejazz", "likeclassical", "likeopera",
                          "likerock", "likevegas", "likebroadway", "likemusicals"],
             [u[:8] + [b(x) for x in u[8:]] for u in users])
expect_table(c, "venue", ["venueid", "venuename", "venuecity", "venuestate", "venueseats"], venues)
expect_table(c, "category", ["catid", "catgroup", "catname", "catdesc"], cats)
expect_table(c, "date", ["dateid", "caldate", "day", "week", "month", "qtr", "year", "holiday"],
             [d[:7] + [b(d[7])] for d in dates])
expect_table(c, "event", ["eventid", "venueid", "catid", "dateid", "eventname", "starttime"], events)
expect_table(c, "listing", ["listid", "sellerid", "eventid", "dateid", "numtickets", "priceperticket", "totalprice", "listtime"], listings)
expect_table(c, "sales", ["salesid", "listid", "sellerid", "buyerid", "eventid", "dateid", "qtysold", "pricepaid", "commission", "saletime"], sales)
# the tutorial's own query: top buyers by quantity
top = {}
for s in sales:
    top[s[3]] = top.get(s[3], 0) + s[6]
best = sorted(top.items(), key=lambda kv: (-kv[1], kv[0]))[0]
expect(c, "SELECT buyerid || ':' || total FROM tickit_top_buyer", "%d:%d" % best)

# COPY examples (AWS: COPY examples page) ---------------------------------------------
put("copy/category_csv.txt", '12,Shows,Musicals,Musical theatre\n13,Shows,Plays,"All ""non-musical"" theatre"\n'
    '14,Shows,Opera,"All opera, light, and ""rock"" opera"\n15,Concerts,Classical,"All symphony, concerto, and choir concerts"\n')
put("copy/category_csv_quote.txt", '16,Shows,Musicals,%Musical, theatre%\n17,Concerts,Pop,%All "pop" music%\n')
put("copy/category_header.csv", 'catid,catgroup,catname,catdesc\n18,Sports,MLS,Major League Soccer\n')
csv_rows = [[12, "Shows", "Musicals", "Musical theatre"], [13, "Shows", "Plays", 'All "non-musical" theatre'],
            [14, "Shows", "Opera", 'All opera, light, and "rock" opera'],
            [15, "Concerts", "Classical", "All symphony, concerto, and choir concerts"],
            [16, "Shows", "Musicals", "Musical, theatre"], [17, "Concerts", "Pop", 'All "pop" music'],
            [18, "Sports", "MLS", "Major League Soccer"]]
expect_table("aws_copy/category_csv", "category", ["catid", "catgroup", "catname", "catdesc"], csv_rows)

jcats = [[1, "Sports", "MLB", "Major League Baseball"], [2, "Sports", "NHL", "National Hockey League"], [3, "Shows", "Opera", None]]
put("copy/category_object_auto.json", "".join(json.dumps({k: v for k, v in zip(["catid", "catgroup", "catname", "catdesc"], r) if v is not None}) + "\n" for r in jcats))
put("copy/category_object_auto-ignorecase.json", "".join(json.dumps({k: v for k, v in zip(["CatID", "CatGroup", "CatName", "CatDesc"], r) if v is not None}) + "\n" for r in jcats))
put("copy/category_jsonpath.json", json.dumps({"jsonpaths": ["$['id']", "$['group']", "$['name']", "$['description']"]}))
put("copy/category_object_paths.json", "".join(json.dumps({"id": r[0], "group": r[1], "name": r[2], "description": r[3]}) + "\n" for r in jcats))
put("copy/category_array_jsonpath.json", json.dumps({"jsonpaths": ["$[0]", "$[1]", "$[2]", "$[3]"]}))
put("copy/category_array_data.json", "".join(json.dumps(r) + "\n" for r in jcats))
expect_table("aws_copy/category_json", "category_auto", ["catid", "catgroup", "catname", "catdesc"], jcats)
expect_table("aws_copy/category_json", "category_ignorecase", ["catid", "catgroup", "catname", "catdesc"], jcats)
expect_table("aws_copy/category_json", "category_paths", ["catid", "catgroup", "catname", "catdesc"], jcats)
expect_table("aws_copy/category_json", "category_array", ["catid", "catgroup", "catname", "catdesc"], jcats)

# event with REMOVEQUOTES EMPTYASNULL BLANKSASNULL MAXERROR 5: two rows are bad
ev_lines, ev_rows = [], []
for i in range(1, 11):
    name = ["\"Event %d\"" % i, "", "   ", "\"Gala | night\""][i % 4]
    want = ["Event %d" % i, None, None, "Gala | night"][i % 4]
    ev_lines.append("%d|%d|%d|%d|%s|2008-01-%02d 19:30:00\n" % (i, i, 1 + i % 9, 1827 + i, name, i))
    ev_rows.append([i, i, 1 + i % 9, 1827 + i, want, "2008-01-%02d 19:30:00" % i])
ev_lines.append("11|x|1|1828|Bad venue|2008-01-11 19:30:00\n")
ev_lines.append("12|12|1|1829|Bad time|2008-13-45 99:99:00\n")
put("copy/allevents_pipe_quoted.txt", "".join(ev_lines))
expect_table("aws_copy/event_options", "event", ["eventid", "venueid", "catid", "dateid", "eventname", "starttime"], ev_rows)

# ESCAPE: a backslash before a delimiter, a newline or a backslash keeps it as data
esc = [[1, "pipe | inside"], [2, "line one\nline two"], [3, "back\\slash"], [4, "plain"]]
put("copy/redshiftinfo.txt", "".join("%d|%s\n" % (r[0], r[1].replace("\\", "\\\\").replace("|", "\\|").replace("\n", "\\\n")) for r in esc))
expect_table("aws_copy/escape", "redshiftinfo", ["infoid", "tableinfo"], esc)

# gzip, manifest, epochsecs, NULL AS
gz_rows = [[i, "Venue %d" % i, CITIES[i % 5], STATES[i % 5], 500 * i] for i in range(1, 6)]
put("copy/venue_pipe.txt.gz", gzip.compress("".join("%d|%s|%s|%s|%d\n" % tuple(r) for r in gz_rows).encode(), mtime=0))
m_rows = [[i, "Venue %d" % i, CITIES[i % 5], STATES[i % 5], 100 * i] for i in range(6, 10)]
put("copy/manifest/part-a.txt", "".join("%d|%s|%s|%s|%d\n" % tuple(r) for r in m_rows[:2]))
put("copy/manifest/part-b.txt", "".join("%d|%s|%s|%s|%d\n" % tuple(r) for r in m_rows[2:]))
put("copy/manifest/part-c.txt", "99|Never loaded|Nowhere|NO|1\n")
put("copy/venue.manifest", json.dumps({"entries": [
    {"url": "s3://lode-conformance/copy/manifest/part-a.txt", "mandatory": True},
    {"url": "s3://lode-conformance/copy/manifest/part-b.txt", "mandatory": True},
    {"url": "s3://lode-conformance/copy/manifest/missing.txt", "mandatory": False}]}))
n_rows = [[20, "Nulls Arena", None, "NY", None], [21, "Seats Hall", "Boston", "MA", 300]]
put("copy/venue_nulls.txt", "20|Nulls Arena|nil|NY|nil\n21|Seats Hall|Boston|MA|300\n")
expect_table("aws_copy/venue_variants", "venue", ["venueid", "venuename", "venuecity", "venuestate", "venueseats"], gz_rows + m_rows + n_rows)
put("copy/times_epoch.txt", "1|1199145600\n2|1230767999\n")
expect_table("aws_copy/venue_variants", "epoch_times", ["id", "at"], [[1, "2008-01-01 00:00:00"], [2, "2008-12-31 23:59:59"]])


# Backslashes in ordinary string literals (AWS: "Literals"; Redshift reads \ as an escape)
lit = [[1, "a\\b"], [2, "it's"], [3, "tab\there"], [4, "line\nbreak"], [5, "C:\\temp\\new"], [6, "pipe|"]]
expect_table("aws_literals/backslash_literals", "literal_values", ["id", "s"], lit)
expect("aws_literals/backslash_literals", "SELECT count(*)::text FROM literal_values WHERE s LIKE 'C:%'", 1)
expect_table("aws_literals/backslash_escape_refused", "literal_refused", ["id", "s"], [[1, "before"]])

# refused statements: what ran before them stays, nothing after runs
expect_table("aws_merge/merge_remove_duplicates_refused", "target", ["id", "name"], [[101, "Bob"], [102, "John"], [103, "Susan"]])
expect_table("aws_alter/append_refused", "sales", ["salesid", "qtysold"], [[1, 2]])
expect_table("aws_alter/append_refused", "sales_stage", ["salesid", "qtysold"], [[2, 4], [3, 6]])
expect_table("aws_copy/dynamodb_refused", "favoritemovies", ["name"], [])

# UNLOAD round trip (FORMAT CSV) and Airflow's RedshiftToS3Operator
rt = [[1, 'quote " and, comma', "2024-01-01"], [2, "pipe | and \\ backslash", None], [3, "", "2024-03-03"], [4, "four", "2024-04-04"]]
expect_table("aws_unload/unload_csv_roundtrip", "venue_back", ["id", "name", "d"], rt)

# Airflow S3ToRedshiftOperator: fruit, APPEND / REPLACE / UPSERT
fruit1 = [[1, "apple", 3], [2, "banana", 5], [3, "cherry", 7]]
fruit2 = [[2, "banana", 50], [4, "durian", 1]]
put("airflow/fruit/day1.csv", "".join("%d,%s,%d\n" % tuple(r) for r in fruit1))
put("airflow/fruit/day2.csv", "".join("%d,%s,%d\n" % tuple(r) for r in fruit2))
expect_table("airflow/s3_to_redshift_append", "public.fruit", ["id", "name", "qty"], fruit1 + fruit1)
expect_table("airflow/s3_to_redshift_replace", "public.fruit", ["id", "name", "qty"], fruit2)
ups = {r[0]: r for r in fruit1}
for r in fruit2:
    ups[r[0]] = r
expect_table("airflow/s3_to_redshift_upsert", "public.fruit", ["id", "name", "qty"], list(ups.values()))
expect("airflow/s3_to_redshift_upsert", "SELECT count(*)::text FROM pg_tables WHERE tablename = '#fruit'", 0)
expect_table("airflow/redshift_to_s3", "fruit_copy", ["id", "name", "qty"], fruit1)

# dbt-redshift: table, view, incremental (delete+insert, merge)
orders = [[i, "c%d" % (i % 4), money(Decimal(i) * Decimal("2.5")), "2024-01-%02d" % i] for i in range(1, 11)]
put("dbt/raw_orders.csv", "".join("%d,%s,%s,%s\n" % tuple(r) for r in orders))
by_cust = {}
for r in orders:
    n, s = by_cust.get(r[1], (0, Decimal(0)))
    by_cust[r[1]] = (n + 1, s + Decimal(r[2]))
expect_table("dbt_redshift/table_and_view", '"conformance_dbt"."analytics"."customer_orders"', ["customer", "n", "total"],
             [[k, v[0], money(v[1])] for k, v in by_cust.items()])
expect_table("dbt_redshift/table_and_view", "analytics.big_orders", ["id"], [[r[0]] for r in orders if Decimal(r[2]) >= 15])
expect("dbt_redshift/table_and_view", "SELECT count(*)::text FROM pg_tables WHERE tablename LIKE '%__dbt_%'", 0)
later = [[i, "c%d" % (i % 3), money(Decimal(i) * 3), "2024-02-%02d" % (i - 5)] for i in range(6, 14)]
put("dbt/raw_orders_later.csv", "".join("%d,%s,%s,%s\n" % tuple(r) for r in later))
inc = {r[0]: r for r in orders}
for r in later:
    inc[r[0]] = r
expect_table("dbt_redshift/incremental_delete_insert", "analytics.orders_inc", ["id", "customer", "amount", "ordered_on"], list(inc.values()))
expect_table("dbt_redshift/incremental_merge", "analytics.orders_merge", ["id", "customer", "amount", "ordered_on"], list(inc.values()))

# dlt: JSON lines through COPY … FORMAT AS JSON 'auto', merge by DELETE … EXISTS
dl1 = [{"id": i, "name": "item %d" % i, "price": i * 1.5} for i in range(1, 6)]
dl2 = [{"id": i, "name": "ITEM %d" % i, "price": i * 2.0} for i in range(4, 8)]
put("dlt/items/1.jsonl", "".join(json.dumps(r) + "\n" for r in dl1))
put("dlt/items/2.jsonl.gz", gzip.compress("".join(json.dumps(r) + "\n" for r in dl2).encode(), mtime=0))
dm = {r["id"]: r for r in dl1}
for r in dl2:
    dm[r["id"]] = r
def num(x):
    s = repr(float(x))   # PostgreSQL prints float8 shortest-exact, without a trailing .0
    return s[:-2] if s.endswith(".0") else s
expect_table("dlt/redshift_merge", "shop.items", ["id", "name", "price"], [[r["id"], r["name"], num(r["price"])] for r in dm.values()])

# pipelinewise-target-redshift: stage COPY with its default options, UPDATE + INSERT
pw1 = [[1, "ada", "  padded  "], [2, "", "x"], [3, "bob", ""]]
put("pipelinewise/customers.csv.gz", gzip.compress("".join('"%d","%s","%s"\n' % tuple(r) for r in pw1).encode(), mtime=0))
expect_table("pipelinewise/upsert", 'tap_shop."CUSTOMERS"', ['"ID"', '"NAME"', '"NOTE"'],
             [[1, "ada", "  padded"], [2, None, "x"], [3, "bob", None]])  # TRIMBLANKS: trailing blanks only

# AWS MERGE examples
expect_table("aws_merge/merge", "target", ["id", "name"], [[101, "Bob"], [102, "Charlie"], [103, "David"], [104, "Eve"]])
expect_table("aws_merge/merge", "target2", ["id", "name"], [[102, "Charlie"], [103, "David"]])

# Spectrum text table refused at CREATE EXTERNAL TABLE (AWS: CREATE EXTERNAL TABLE examples)
expect("aws_spectrum/orc_refused", "SELECT count(*)::text FROM information_schema.tables WHERE table_name = 'sales'", 0)

# CREATE TABLE examples: the columns each DDL declares, and the rows inserted
c = "aws_create_table/examples"
def cols_query(t):
    return ("SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) "
            "FROM information_schema.columns WHERE table_name = '%s'" % t)
expect(c, cols_query("sales"), "salesid integer, listid integer, sellerid integer, buyerid integer, eventid integer, "
       "dateid smallint, qtysold smallint, pricepaid numeric, commission numeric, saletime timestamp without time zone")
expect(c, cols_query("customer_interleaved"), ", ".join("%s character varying" % n if n != "c_custkey" else "c_custkey integer"
       for n in ["c_custkey", "c_name", "c_address", "c_city", "c_nation", "c_region", "c_phone", "c_mktsegment"]))
expect(c, cols_query("cities"), "cityid integer, city character varying, state character")
expect_table(c, "venue_ident", ["venuename", "venuecity", "venuestate", "venueseats"],
             [["AT&T Park", "San Francisco", "CA", 0], ["Shea Stadium", "Flushing", "NY", 0]])
expect(c, "SELECT count(DISTINCT venueid)::text FROM venue_ident", 2)
expect_table(c, "categorydef", ["catid", "catgroup", "catname", "catdesc"], [[0, "Special", "Other", "Special events"]])
for t in ["t1", "t2", "t3", "t4"]:
    expect(c, cols_query(t), {"t1": "col1 integer, col2 integer"}.get(t, "c0 integer, c1 character varying"))
expect(c, "SELECT c0 || ':' || length(c1) FROM t5", "1:70000")
ev = [[1, 1, 1, 1827, "Opening", "2008-01-01 19:00:00"], [2, 2, 9, 1828, "Gala", "2008-01-02 20:00:00"]]
expect_table(c, "event_backup", ["eventid", "venueid", "catid", "dateid", "eventname", "starttime"], ev)
expect_table(c, "eventdistsort", ["eventid", "venueid", "dateid", "eventname"], [[e[0], e[1], e[3], e[4]] for e in ev])
expect_table(c, "eventdisteven", ["eventid", "venueid", "eventname"], [[e[0], e[1], e[4]] for e in ev])
expect(c, "SELECT n::text FROM tempevent_count", 1)
expect(c, "SELECT count(*)::text FROM pg_tables WHERE tablename = 'tempevent'", 0)


def copy_formats():
    """FIXEDWIDTH, ENCODING and the trailing delimiter (issue #15)."""
    # FIXEDWIDTH (AWS: "Load VENUE from a fixed-width data file"): widths in characters;
    # VARCHAR keeps its padding unless TRIMBLANKS, numbers are read without theirs
    fw = [[1, "Toyota Park", "Bridgeview", "IL", 0], [2, "Columbus Crew Stadium", "Columbus", "OH", 0],
          [3, "RFK Stadium", "Washington", "DC", 0], [4, "CommunityAmerica Ballpark", "Kansas City", "KS", 0],
          [5, "Gillette Stadium", "Foxborough", "MA", 68756], [6, "Estádio do Maracanã", "São Paulo", "SP", 78838]]
    widths = [3, 25, 12, 2, 6]
    put("copy/venue_fw.txt", "".join("".join(str(v).ljust(w) for v, w in zip(r, widths)) + "\n" for r in fw))
    expect_table("aws_copy/fixedwidth", "venue", ["venueid", "venuename", "venuecity", "venuestate", "venueseats"],
                 [[r[0], r[1].ljust(25), r[2].ljust(12), r[3], r[4]] for r in fw])
    expect_table("aws_copy/fixedwidth", "venue_trimmed", ["venueid", "venuename", "venuecity", "venuestate", "venueseats"], fw)
    expect("aws_copy/fixedwidth", "SELECT octet_length(venuename)::text FROM venue WHERE venueid = 6", 27)

    # ENCODING: the same rows as UTF-16 (LE with BOM, BOM-led BE, BE without BOM) and ISO-8859-1
    rows = [[20, "Concerts", "Café", "Chansons à la française"], [21, "Shows", "Ωmega", "Ελληνικό θέατρο 🎭"]]
    latin = [[22, "Concerts", "Über", "Schöne Grüße"]]
    text = "".join("|".join(str(x) for x in r) + "\n" for r in rows)
    put("copy/category_utf16le_bom.txt", b"\xff\xfe" + text.encode("utf-16-le"))
    put("copy/category_utf16_be_bom.txt", b"\xfe\xff" + text.encode("utf-16-be"))
    put("copy/category_utf16be.txt", text.encode("utf-16-be"))
    put("copy/category_latin1.txt", "".join("|".join(str(x) for x in r) + "\n" for r in latin).encode("iso-8859-1"))
    base = [[1, "Sports", "MLB", "Major League Baseball"]]
    expect_table("aws_copy/encoding_utf16", "category", ["catid", "catgroup", "catname", "catdesc"], base + rows * 3 + latin)
    expect_table("aws_copy/encoding_utf16_no_bom", "category", ["catid", "catgroup", "catname", "catdesc"], base)

    # a delimiter closing the line is accepted ("This field can be a delimiter"; dbgen's
    # TPC-H/TPC-DS/SSB files end every line so); a non-empty field past the last column
    # is one too many
    good = [[30, "Sports", "MLS", "Major League Soccer"], [32, "Shows", "Circus", "Circus arts"],
            [31, "Shows", "Ballet", "Classical ballet"]]
    put("copy/category_trailing_pipe.txt", "30|Sports|MLS|Major League Soccer\n32|Shows|Circus|Circus arts|\n"
        "31|Shows|Ballet|Classical ballet|\n33|Concerts|Jazz|All jazz|x\n")
    expect_table("aws_copy/trailing_delimiter", "category", ["catid", "catgroup", "catname", "catdesc"], good)
    expect_table("aws_copy/trailing_delimiter", "category_strict", ["catid", "catgroup", "catname", "catdesc"], base)

    # COPY … SSH is refused at its statement: the rows before it stay
    expect_table("aws_copy/ssh_refused", "sales", ["salesid", "qtysold"], [[1, 2]])


def ssb():
    """The SSB tables of AWS's "Loading data from Amazon S3" and "Tuning table design" tutorials."""
    import datetime
    nations = [("UNITED KINGDOM", "EUROPE"), ("UNITED STATES", "AMERICA"), ("CANADA", "AMERICA"), ("CHINA", "ASIA")]
    def city(i, n):
        return nations[n][0][:9] + ("1" if i % 2 else "5")
    part = []
    for i in range(1, 21):
        mfgr = "MFGR#%d" % (1 + i % 2)
        cat = mfgr + str(1 + i % 3)
        part.append([i, ("part, no %d" % i) if i % 7 == 0 else "part %d" % i, None if i % 5 == 0 else mfgr, cat,
                     cat + str(1 + i % 4), ["red", "green", "blue"][i % 3], "STANDARD BRUSHED TIN", 1 + i % 50, "SM BOX"])
    supplier = []
    for i in range(1, 11):
        n = (i + 1) % 4
        supplier.append([i, "Supplier#%09d" % i, "addr %d" % i, city(i, n), nations[n][0], nations[n][1], "11-%03d-555-0000" % i])
    customer = []
    for i in range(1, 13):
        n = (i + 1) % 4
        customer.append([i, "Customer#%09d" % i, "street %d" % i, city(i, n), nations[n][0], nations[n][1],
                         "22-%03d-555-0000" % i, ["BUILDING", "MACHINERY", "AUTOMOBILE"][i % 3]])
    dwdate = []
    day = datetime.date(1997, 11, 20)
    while day <= datetime.date(1998, 1, 10):
        tt = day.timetuple()
        dwdate.append([int(day.strftime("%Y%m%d")), day.strftime("%B ") + str(day.day) + day.strftime(", %Y"), day.strftime("%A"),
                       day.strftime("%B"), day.year, day.year * 100 + day.month, day.strftime("%b%Y"), day.isoweekday() % 7 + 1,
                       day.day, tt.tm_yday, day.month, int(day.strftime("%U")) + 1, "Christmas" if day.month == 12 else "Winter",
                       "1" if day.isoweekday() == 6 else "0", "1" if (day + datetime.timedelta(days=1)).day == 1 else "0",
                       "1" if (day.month, day.day) in ((12, 25), (1, 1)) else "0", "1" if day.isoweekday() < 6 else "0"])
        day += datetime.timedelta(days=1)
    lineorder = []
    for i in range(1, 61):
        d = dwdate[(i * 7) % len(dwdate)][0]
        qty = 1 + (i * 3) % 40
        price = 1000 + i * 37
        disc = i % 6
        lineorder.append([1 + i // 3, 1 + i % 3, 1 + i % 12, 1 + (i * 5) % 20, 1 + (i * 3) % 10, d,
                          ["1-URGENT", "2-HIGH", "3-MEDIUM"][i % 3], "0", qty, price * qty, price * qty + 100, disc,
                          price * qty * (100 - disc) // 100, 600 + i, i % 9, d, ["AIR", "SHIP", "RAIL", "TRUCK"][i % 4]])
    txt = lambda rows, sep="|": "".join(sep.join("" if v is None else str(v) for v in r) + "\n" for r in rows)

    # Tutorial: Loading data from Amazon S3 -- one format per table
    def csv_field(v):
        if v is None:
            return "\0"                      # NUL: NULL AS '\000'
        v = str(v)
        return '"%s"' % v.replace('"', '""') if "," in v or '"' in v else v
    put("ssb/load/part-csv.tbl", "".join(",".join(csv_field(v) for v in r) + "\n" for r in part))
    put("ssb/load/supplier.tbl", gzip.compress(txt(supplier).encode(), mtime=0))
    widths = [10, 25, 25, 10, 15, 12, 15, 10]
    fwlines = ["".join(str(v).ljust(w) for v, w in zip(r, widths)) + "\n" for r in customer]
    fwlines.insert(5, "x" * 10 + fwlines[5][10:])   # a bad key: MAXERROR 10 skips the line
    put("ssb/load/customer-fw.tbl-000", "".join(fwlines[:7]))
    put("ssb/load/customer-fw.tbl-001", "".join(fwlines[7:]))
    put("ssb/load/customer-fw-manifest", json.dumps({"entries": [
        {"url": "s3://lode-conformance/ssb/load/customer-fw.tbl-000", "mandatory": True},
        {"url": "s3://lode-conformance/ssb/load/customer-fw.tbl-001", "mandatory": True}]}))
    put("ssb/load/dwdate-tab.tbl", txt(dwdate, "\t"))
    put("ssb/load/lo/lineorder-multi.tbl-000.gz", gzip.compress(txt(lineorder[:30]).encode(), mtime=0))
    put("ssb/load/lo/lineorder-multi.tbl-001.gz", gzip.compress(txt(lineorder[30:]).encode(), mtime=0))
    pcols = ["p_partkey", "p_name", "p_mfgr", "p_category", "p_brand1", "p_color", "p_type", "p_size", "p_container"]
    scols = ["s_suppkey", "s_name", "s_address", "s_city", "s_nation", "s_region", "s_phone"]
    ccols = ["c_custkey", "c_name", "c_address", "c_city", "c_nation", "c_region", "c_phone", "c_mktsegment"]
    dcols = ["d_datekey", "d_date", "d_dayofweek", "d_month", "d_year", "d_yearmonthnum", "d_yearmonth", "d_daynuminweek",
             "d_daynuminmonth", "d_daynuminyear", "d_monthnuminyear", "d_weeknuminyear", "d_sellingseason",
             "d_lastdayinweekfl", "d_lastdayinmonthfl", "d_holidayfl", "d_weekdayfl"]
    lcols = ["lo_orderkey", "lo_linenumber", "lo_custkey", "lo_partkey", "lo_suppkey", "lo_orderdate", "lo_orderpriority",
             "lo_shippriority", "lo_quantity", "lo_extendedprice", "lo_ordertotalprice", "lo_discount", "lo_revenue",
             "lo_supplycost", "lo_tax", "lo_commitdate", "lo_shipmode"]
    c = "aws_ssb/load_from_s3_tutorial"
    expect_table(c, "part", pcols, part)
    expect_table(c, "supplier", scols, supplier)
    # fixed width: the key is read without its padding, VARCHAR fields keep theirs
    expect_table(c, "customer", ccols, [[r[0]] + [str(v).ljust(w) for v, w in zip(r[1:], widths[1:])] for r in customer])
    expect_table(c, "dwdate", dcols, dwdate)
    expect_table(c, "lineorder", lcols, lineorder)

    # Tutorial: Tuning table design -- pipe-delimited gzip files under ssbgz/<table>
    for name, rows in [("customer", customer), ("dwdate", dwdate), ("part", part), ("supplier", supplier)]:
        put("ssb/ssbgz/%s0000_part_00.gz" % name, gzip.compress(txt(rows).encode(), mtime=0))
    for k in range(3):
        put("ssb/ssbgz/lineorder%04d_part_00.gz" % k, gzip.compress(txt(lineorder[k * 20:(k + 1) * 20]).encode(), mtime=0))
    c = "aws_ssb/tuning_table_design"
    # text format: an empty field of a VARCHAR column is an empty string, not NULL (no EMPTYASNULL)
    expect_table(c, "part", pcols, [["" if v is None else v for v in r] for r in part])
    expect_table(c, "supplier", scols, supplier)
    expect_table(c, "customer", ccols, customer)
    expect_table(c, "dwdate", dcols, dwdate)
    expect_table(c, "lineorder", lcols, lineorder)
    expect(c, "SELECT count(*)::text FROM pg_attribute WHERE attrelid = 'lineorder'::regclass AND attnum > 0", 17)
    dd = {r[0]: r for r in dwdate}
    pp = {r[0]: r for r in part}
    ss = {r[0]: r for r in supplier}
    cc = {r[0]: r for r in customer}
    q1 = [lo[9] * lo[11] for lo in lineorder if dd[lo[5]][4] == 1997 and 1 <= lo[11] <= 3 and lo[8] < 24]
    expect_table(c, "ssb_q1", ["revenue"], [[sum(q1) if q1 else None]])
    q2 = {}
    for lo in lineorder:
        p, su = pp[lo[3]], ss[lo[4]]
        if p[3] == "MFGR#12" and su[5] == "AMERICA":
            k = (dd[lo[5]][4], p[4])
            q2[k] = q2.get(k, 0) + lo[12]
    expect_table(c, "ssb_q2", ["sum", "d_year", "p_brand1"], [[v, k[0], k[1]] for k, v in q2.items()])
    q3 = {}
    for lo in lineorder:
        cu, su, d = cc[lo[2]], ss[lo[4]], dd[lo[5]]
        if cu[3] in ("UNITED KI1", "UNITED KI5") and su[3] in ("UNITED KI1", "UNITED KI5") and d[6] == "Dec1997":
            k = (cu[3], su[3], d[4])
            q3[k] = q3.get(k, 0) + lo[12]
    expect_table(c, "ssb_q3", ["c_city", "s_city", "d_year", "revenue"], [[k[0], k[1], k[2], v] for k, v in q3.items()])
    assert q1 and q2 and q3, ("the SSB data must give every tutorial query rows", len(q1), len(q2), len(q3))


def dbt_snapshot():
    """dbt-redshift snapshot, timestamp strategy: three runs over raw.orders."""
    def scd(i, at):
        return hashlib.md5(("%d|%s" % (i, at)).encode()).hexdigest()
    rows = []            # id, status, amount, updated_at, dbt_updated_at, valid_from, valid_to, scd_id
    def version(i, status, amount, at):
        rows.append([i, status, amount, at, at, at, None, scd(i, at)])
    def close(i, at):
        for r in rows:
            if r[0] == i and r[6] is None:
                r[6] = at
    for r in [(1, "placed", "10.00", "2024-01-01 10:00:00"), (2, "placed", "20.50", "2024-01-01 11:00:00"),
              (3, "placed", "30.25", "2024-01-02 09:30:00"), (4, "placed", "40.00", "2024-01-02 12:00:00")]:
        version(*r)
    close(2, "2024-01-03 08:00:00")
    version(2, "shipped", "20.50", "2024-01-03 08:00:00")
    version(5, "placed", "55.00", "2024-01-03 09:00:00")
    close(2, "2024-01-05 16:45:00")
    version(2, "delivered", "20.50", "2024-01-05 16:45:00")
    close(1, "2024-01-05 17:00:00")
    version(1, "placed", "12.00", "2024-01-05 17:00:00")
    c = "dbt_redshift/snapshot_timestamp"
    expect_table(c, '"conformance_dbt_snap"."snapshots"."orders_snapshot"',
                 ["id", "status", "amount", "updated_at", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_scd_id"], rows)
    expect(c, "SELECT count(*)::text FROM snapshots.orders_snapshot WHERE dbt_valid_to IS NULL", 5)


def tool_variants():
    """More of what Airflow, dlt and pipelinewise emit (#15), and UNLOAD FIXEDWIDTH."""
    import bz2
    # Airflow APPEND: CSV, IGNOREHEADER 1, TIMEFORMAT 'auto', GZIP, a column list
    d1 = [[1, "click", "2024-01-02 03:04:05"], [2, "view, then buy", "2024-01-02 03:04:05.789"],
          [3, "scroll", "2024-01-02T03:04:06Z"]]
    d2 = [[4, 'say "hi"', "2024-01-03 00:00:00"], [5, "", "2024-01-03 23:59:59.5"]]
    def csv_field(v):
        v = str(v)
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v
    for name, rows in (("day1", d1), ("day2", d2)):
        put("airflow/events/%s.csv.gz" % name, gzip.compress(("id,kind,at\n" + "".join(
            ",".join(csv_field(x) for x in r) + "\n" for r in rows)).encode(), mtime=0))
    def ts(v):   # PostgreSQL's text of the TIMESTAMP Redshift's 'auto' reads (Z: UTC, a timestamp without zone)
        v = v.replace("T", " ").rstrip("Z")
        if "." in v:
            v = v.rstrip("0").rstrip(".")
        return v
    # CSV: an unquoted empty field is NULL in CSV COPY only for non-character columns; "" would be ''
    expect_table("airflow/s3_to_redshift_append_options", "analytics.events", ["id", "kind", "at", "loaded_by"],
                 [[r[0], r[1], ts(r[2]), "airflow"] for r in d1 + d2])
    # Airflow REPLACE with JSON 'auto': keys in any order, a missing key is NULL, extra keys ignored
    a1 = [{"updated": "2024-05-01 10:00:00", "id": 1, "owner": "ann", "balance": 10.5, "active": True},
          {"id": 2, "owner": "bo", "balance": -3, "active": False, "extra": "x", "updated": "2024-05-01T11:30:00Z"}]
    a2 = [{"id": 2, "owner": "bo", "balance": 7.25, "active": True, "updated": "2024-05-02 09:00:00.25"},
          {"id": 3, "owner": "cy \u00e9", "active": None, "updated": "2024-05-02 09:30:00"}]
    for i, r in enumerate(a1):
        put("airflow/accounts/day1/part%d.json" % i, json.dumps(r) + "\n")
    put("airflow/accounts/day2/all.json", "".join(json.dumps(r) + "\n" for r in a2))
    expect_table("airflow/s3_to_redshift_replace_json", "public.accounts", ["id", "owner", "balance", "active", "updated"],
                 [[r["id"], r["owner"], money(r["balance"]) if r.get("balance") is not None else None,
                   None if r.get("active") is None else b(r["active"]), ts(r["updated"])] for r in a2])
    # Airflow UPSERT on a composite key; the staging copy's defaults come with LIKE … INCLUDING DEFAULTS,
    # but a CSV row carries every column, so note is the file's
    stock = {("s1", "a"): ["s1", "a", 1, "before"], ("s9", "z"): ["s9", "z", 9, "untouched"]}
    r1 = [["s1", "a", 5, "run1"], ["s1", "b", 2, "run1"], ["s2", "a", 3, "run1"]]
    r2 = [["s1", "b", 20, "run2"], ["s3", "c", 1, ""]]
    for name, rows in (("run1", r1), ("run2", r2)):
        put("airflow/stock/%s.csv" % name, "store,sku,qty,note\n" + "".join(",".join(str(x) for x in r) + "\n" for r in rows))
    for rows in (r1, r2):
        for r in rows:
            # an empty unquoted CSV field loads NULL into VARCHAR on Redshift's CSV COPY? no: '' (EMPTYASNULL absent)
            stock[(r[0], r[1])] = list(r)
    expect_table("airflow/s3_to_redshift_upsert_composite", "analytics.stock", ["store", "sku", "qty", "note"],
                 list(stock.values()))
    expect("airflow/s3_to_redshift_upsert_composite", "SELECT count(*)::text FROM pg_tables WHERE tablename = '#stock'", 0)
    # Airflow RedshiftToS3Operator: text UNLOAD with ESCAPE and HEADER, ALLOWOVERWRITE, loaded back;
    # NULL unloads as an empty field, which a VARCHAR loads as '' without EMPTYASNULL
    expect_table("airflow/redshift_to_s3_text_header", "active_back", ["id", "name"],
                 [[2, "back\\slash"], [4, "line\nbreak"], [5, ""]])
    # dlt: JSON lines (one gzipped) and a Parquet file staged, merged with dedup on updated_at
    c1 = [{"id": 1, "email": "one@example", "score": 10, "updated_at": "2024-01-01T00:00:01Z", "_dlt_load_id": "1700000000"},
          {"id": 2, "email": "two@example", "score": None, "updated_at": "2024-01-01 00:00:02", "_dlt_load_id": "1700000000"},
          {"id": 7, "email": "seven@old.example", "score": 7, "updated_at": "2024-01-01 00:00:07", "_dlt_load_id": "1700000000"}]
    c2 = [{"id": 2, "email": "two@new.example", "score": 20, "updated_at": "2024-02-01 00:00:02", "_dlt_load_id": "1700000001"},
          {"id": 2, "email": "two@older.example", "score": 19, "updated_at": "2024-01-15 00:00:02", "_dlt_load_id": "1700000001"},
          {"id": 3, "email": "three@example", "score": 30, "updated_at": "2024-02-01T00:00:03.5Z", "_dlt_load_id": "1700000001"}]
    put("dlt/contacts/1.jsonl", "".join(json.dumps(r) + "\n" for r in c1))
    put("dlt/contacts/2.jsonl.gz", gzip.compress("".join(json.dumps(r) + "\n" for r in c2).encode(), mtime=0))
    pq = [{"id": 7, "email": "seven@new.example", "score": 70, "updated_at": "2024-03-01 00:00:07", "_dlt_load_id": "1700000002"},
          {"id": 8, "email": "eight@example", "score": None, "updated_at": "2024-03-01 00:00:08", "_dlt_load_id": "1700000002"}]
    final = {r["id"]: r for r in c1}
    staged = {}
    for r in c2 + pq:
        if r["id"] not in staged or ts(r["updated_at"]) > ts(staged[r["id"]]["updated_at"]):
            staged[r["id"]] = r
    final.update(staged)
    cols = ["id", "email", "score", "updated_at", "_dlt_load_id"]
    expect_table("dlt/redshift_staging_dedup_merge", '"crm"."contacts"', ['"%s"' % c for c in cols],
                 [[r["id"], r["email"], r["score"], ts(r["updated_at"]), r["_dlt_load_id"]] for r in final.values()])
    expect("dlt/redshift_staging_dedup_merge", 'SELECT count(*)::text FROM "crm_staging"."contacts"', 0)
    # pipelinewise: json.dumps'd fields, REMOVEQUOTES ESCAPE, TRUNCATECOLUMNS, TRIMBLANKS, BZIP2
    def pw_line(r):
        return ",".join(json.dumps(v, ensure_ascii=False) if (v == 0 or v) else "" for v in r) + "\n"
    o1 = [[1, "ann", "short", "2024-01-02T03:04:05Z", None],
          [2, 'say "hi", \\o/', "a much longer note", "2024-01-02T03:04:05.5Z", None],
          [3, "two\nlines", "  padded  ", "2024-01-03 10:00:00", None]]
    o2 = [[2, "", "tab\there", "2024-02-02T00:00:00Z", "2024-02-03T00:00:00Z"],
          [4, "\u00fcnicode \u65e5\u672c", "", None, None]]
    put("pipelinewise/orders_1.csv.bz2", bz2.compress("".join(pw_line(r) for r in o1).encode()))
    put("pipelinewise/orders_2.csv.bz2", bz2.compress("".join(pw_line(r) for r in o2).encode()))
    def redshift_escape(s):   # ESCAPE: a backslash takes the next character as it is (JSON's \n is an 'n')
        out, i = [], 0
        while i < len(s):
            if s[i] == "\\" and i + 1 < len(s):
                out.append(s[i + 1]); i += 2
            else:
                out.append(s[i]); i += 1
        return "".join(out)
    def pw_value(v, width=None):
        if v is None or v == "":
            return None                                  # an empty field: EMPTYASNULL
        text = redshift_escape(json.dumps(v, ensure_ascii=False)[1:-1])   # REMOVEQUOTES, then ESCAPE
        text = text.rstrip(" \t")                        # TRIMBLANKS
        if width is not None:
            text = text[:width]                          # TRUNCATECOLUMNS (ASCII here: bytes = characters)
        return text if text.strip(" \t") != "" else None  # BLANKSASNULL
    orders = {}
    for r in o1 + o2:
        orders[r[0]] = [r[0], pw_value(r[1]), pw_value(r[2], 12), None if r[3] is None else ts(r[3]),
                        r[4]]   # a VARCHAR: TIMEFORMAT does not touch it
    expect_table("pipelinewise/json_escaped_bzip2", 'tap_shop."ORDERS"', ['"ID"', '"CUSTOMER"', '"NOTE"', '"CREATED_AT"', '"_SDC_DELETED_AT"'],
                 list(orders.values()))
    # UNLOAD … FIXEDWIDTH (AWS's example spec) and its reload
    venue = [[20, "Air Canada Centre", "Toronto", "ON", 0], [60, "Rexall Place", "Edmonton", "AB", 0],
             [100, "U.S. Cellular Field", "Chicago", "IL", 40615], [200, "Al Hirschfeld Theatre", "New York City", "NY", 0],
             [240, "San Jose Repertory Theatre", "San Jose", "CA", None], [300, "Kennedy Center Opera House", "Washington", "DC", 0]]
    widths = [3, 100, 30, 2, 6]
    lines = [["".join(("" if v is None else str(v)).ljust(w) for v, w in zip(r, widths))] for r in venue]
    expect_table("aws_unload/unload_fixedwidth", "venue_lines", ["line"], lines)
    expect_table("aws_unload/unload_fixedwidth", "venue_back", ["venueid", "venuename", "venuecity", "venuestate", "venueseats"], venue)


def spectrum_catalog():
    """r_CREATE_EXTERNAL_TABLE_examples: the catalog views' rows as the page prints them (bucket and role ours;
    the page's schema also had a REGION). Locations are compared without a trailing '/': the page prints
    them without one, lode keeps a LOCATION as it was written (see tests/conformance/AUDIT.md)."""
    c = "aws_spectrum/create_examples_catalog"
    loc = "s3://lode-conformance/tickit/spectrum/"
    expect(c, fp_query("svv_external_databases", ["eskind", "databasename", "esoptions"]),
           fp_value([[1, "spectrumdb", '{"IAM_ROLE":"arn:aws:iam::123456789012:role/myspectrumrole"}']]))
    expect(c, fp_query("svv_external_tables", ["schemaname", "tablename", "rtrim(location, '/')"]),
           fp_value([["spectrum", "sales", loc + "sales_date"], ["spectrum", "sales_part", loc + "sales_partition"]]))
    cols = [("salesid", "int"), ("listid", "int"), ("sellerid", "int"), ("buyerid", "int"), ("eventid", "int"),
            ("saledate", "date"), ("qtysold", "smallint"), ("pricepaid", "decimal(8,2)"), ("commission", "decimal(8,2)"),
            ("saletime", "timestamp")]
    expect(c, fp_query("svv_external_columns where schemaname like 'spectrum%' and tablename ='sales'",
                       ["schemaname", "tablename", "columnname", "external_type", "columnnum", "part_key"]),
           fp_value([["spectrum", "sales", n, t, i + 1, 0] for i, (n, t) in enumerate(cols)]))
    expect(c, fp_query("svv_external_partitions where tablename = 'sales_part'",
                       ["schemaname", "tablename", "values", "rtrim(location, '/')"]),
           fp_value([["spectrum", "sales_part", '["2008-%02d-01"]' % m, loc + "sales_partition/saledate=2008-%02d" % m]
                     for m in range(1, 13)]))


    # r_CREATE_EXTERNAL_SCHEMA: the data catalog schema stays, with the page's options; the Hive one is refused
    c = "aws_spectrum/external_schema_examples"
    expect(c, "SELECT (databasename || ' ' || (esoptions::jsonb = '{\"IAM_ROLE\": \"arn:aws:iam::123456789012:role/"
           "MySpectrumRole\", \"REGION\": \"us-west-2\"}'::jsonb)::text) FROM svv_external_schemas "
           "WHERE schemaname = 'spectrum_schema'", "sampledb true")
    expect(c, "SELECT count(*)::text FROM information_schema.schemata WHERE schema_name = 'hive_schema'", 0)
    expect(c, "SELECT databasename FROM svv_external_schemas WHERE schemaname = 'spectrum_schema_chained'", "spectrum_db")


copy_formats()
spectrum_catalog()
dbt_snapshot()
ssb()
tool_variants()

# External tables: AWS's Spectrum guide and dbt-external-tables, DuckDB as the oracle
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_spectrum  # noqa: E402
gen_spectrum.generate(put, expect, DATA)

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(EXPECTED, f, indent=1, sort_keys=True)

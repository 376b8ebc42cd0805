"""Data and expectations for the corpus's external-table cases (aws_spectrum/,
aws_alter/external_*, dbt_external_tables/), called by gen.py.

Text objects are written here in the layouts AWS's Spectrum guide and
dbt-external-tables document; Parquet objects are written by DuckDB from the
same rows. Every expected answer is DuckDB's: the case's query, run unchanged
in DuckDB over the same files (each external table a view over read_csv /
read_json / read_parquet, a partitioned one the union of the partitions the
case registers, each with the values its ALTER TABLE gives — never DuckDB's
hive_partitioning, which would take them from the folder names), fingerprinted
as gen.py's fp_value does, each case in a DuckDB of its own. Never from lode.
"""
import gzip, json, os, subprocess
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUCKET = "s3://lode-conformance/"

SALES_COLS = [("salesid", "INTEGER"), ("listid", "INTEGER"), ("sellerid", "INTEGER"), ("buyerid", "INTEGER"),
              ("eventid", "INTEGER"), ("dateid", "SMALLINT"), ("qtysold", "SMALLINT"),
              ("pricepaid", "DECIMAL(8,2)"), ("commission", "DECIMAL(8,2)"), ("saletime", "TIMESTAMP")]
SALES_DATE_COLS = [(n, "DATE") if n == "dateid" else (n, t) for n, t in SALES_COLS]
SALES_DATE_COLS[5] = ("saledate", "DATE")
EVENT_COLS = [("eventid", "INTEGER"), ("venueid", "SMALLINT"), ("catid", "SMALLINT"), ("dateid", "SMALLINT"),
              ("eventname", "VARCHAR"), ("starttime", "TIMESTAMP")]


def cols_struct(cols):
    return "{" + ", ".join("'%s': '%s'" % (n, t) for n, t in cols) + "}"


class Oracle:
    """Collects DuckDB set-up statements and the queries to fingerprint."""

    def __init__(self, data_dir):
        self.data = data_dir
        self.batches = []          # one DuckDB per case: (setup statements, [(case, pg_query, duck_query)])
        self.writes = []           # the Parquet objects DuckDB writes first
        self.case = None

    def begin(self, case):
        self.case = case
        self.setup, self.pending = [], []
        self.batches.append((self.setup, self.pending))

    def path(self, key):
        return os.path.join(self.data, key)

    def sql_list(self, keys):
        return "[" + ", ".join("'%s'" % self.path(k) for k in keys) + "]"

    def text_view(self, name, keys, cols, delim, extra=None, header=False):
        # Spectrum's TEXTFILE: no quoting, '\N' is NULL, an empty field NULL
        # for a non-string column (DuckDB reads every empty field as NULL;
        # the generated data has no empty string fields)
        sel = "SELECT * FROM read_csv(%s, delim = '%s', quote = '', escape = '', header = %s, nullstr = '\\N', " \
              "columns = %s, auto_detect = false, hive_partitioning = false)" % (self.sql_list(keys), delim, "true" if header else "false",
                                                      cols_struct(cols))
        return self._view(name, sel, extra)

    def csv_view(self, name, keys, cols, header=False, extra=None):
        sel = "SELECT * FROM read_csv(%s, delim = ',', quote = '\"', escape = '\"', header = %s, columns = %s, " \
              "auto_detect = false, allow_quoted_nulls = false, hive_partitioning = false)" % (self.sql_list(keys), "true" if header else "false",
                                                                      cols_struct(cols))
        return self._view(name, sel, extra)

    def json_view(self, name, keys, cols, select="*", extra=None):
        sel = "SELECT %s FROM read_json(%s, format = 'newline_delimited', columns = %s, hive_partitioning = false)" % (
            select, self.sql_list(keys), cols_struct(cols))
        return self._view(name, sel, extra)

    def parquet_view(self, name, keys, extra=None):
        return self._view(name, "SELECT * FROM read_parquet(%s, hive_partitioning = false)" % self.sql_list(keys), extra)

    def _view(self, name, sel, extra):
        # extra: partition columns and their values, as the case registers them
        if extra:
            sel = sel.replace("SELECT *", "SELECT *, " + ", ".join("%s AS %s" % (v, k) for k, v in extra), 1)
        return sel

    def union_view(self, name, selects):
        schema = name.split(".")[0] if "." in name else None
        if schema:
            self.setup.append("CREATE SCHEMA IF NOT EXISTS %s" % schema)
        self.setup.append("CREATE OR REPLACE VIEW %s AS %s" % (name, " UNION ALL ".join(selects)))

    def view(self, name, sel):
        self.union_view(name, [sel])

    def expect_query(self, query, ncols, duck_query=None):
        # duck_query: the same query in DuckDB's dialect, where Redshift's differs (TOP n is LIMIT n)
        case = self.case
        names = ", ".join("c%d" % i for i in range(1, ncols + 1))
        row_pg = " || '|' || ".join("coalesce(c%d::text, 'NULL!')" % i for i in range(1, ncols + 1))
        pg = ("SELECT count(*)::text || ':' || coalesce(md5(string_agg(r, chr(10) ORDER BY r COLLATE \"C\")), '') "
              "FROM (SELECT %s AS r FROM (%s) q(%s)) x" % (row_pg, query, names))
        row_duck = " || '|' || ".join("coalesce(CAST(c%d AS VARCHAR), 'NULL!')" % i for i in range(1, ncols + 1))
        duck = ("SELECT count(*)::VARCHAR || ':' || coalesce(md5(string_agg(r, chr(10) ORDER BY r)), '') "
                "FROM (SELECT %s AS r FROM (%s) q(%s)) x" % (row_duck, duck_query or query, names))
        self.pending.append((case, pg, duck))

    def run(self, expect):
        out = duckdb_batches([{"setup": self.writes, "queries": []}] +
                             [{"setup": setup, "queries": [p[2] for p in pending]} for setup, pending in self.batches])
        for (_, pending), values in zip(self.batches, out[1:]):
            for (case, pg, _), value in zip(pending, values):
                expect(case, pg, value)


def duckdb_batches(batches):
    """Each batch in an in-memory DuckDB of its own, all in one node process."""
    r = subprocess.run(["node", os.path.join(ROOT, "tests/tools/duckdb_batch.js")],
                       input=json.dumps({"batches": batches}).encode(), stdout=subprocess.PIPE, check=False)
    out = json.loads(r.stdout.decode())
    if r.returncode != 0 or isinstance(out, dict):
        raise SystemExit("gen_spectrum: DuckDB failed: %s" % r.stdout.decode())
    return out


def money(x):
    return str(Decimal(x).quantize(Decimal("0.01")))


def generate(put, expect, data_dir):
    o = Oracle(data_dir)

    # TICKIT sales for Spectrum: 160 rows over four months of 2008 ---------------------
    sales = []
    for i in range(1, 161):
        month = 1 + (i - 1) % 4
        price = Decimal(10 + (i * 37) % 200) + Decimal(i % 100) / 100
        sales.append([i, 1 + i % 50, 1 + (i * 7) % 30, 1 + (i * 11) % 30, 1 + i % 40, 1827 + i % 60, 1 + i % 4,
                      money(price), money(price * Decimal("0.15")),
                      "2008-%02d-%02d %02d:%02d:%02d" % (month, 1 + i % 28, i % 24, i % 60, (i * 7) % 60)])

    def line(r, delim):
        return delim.join(str(x) for x in r) + "\n"

    def month_of(r):
        return r[9][:7]

    # Getting started: tab-delimited, one plain object and one gzip'd
    half = len(sales) // 2
    put("tickit/spectrum/sales/sales_ts.000", "".join(line(r, "\t") for r in sales[:half]))
    put("tickit/spectrum/sales/sales_ts.001.gz",
        gzip.compress("".join(line(r, "\t") for r in sales[half:]).encode(), mtime=0))
    sales_tab = o.text_view("spectrum.sales", ["tickit/spectrum/sales/sales_ts.000", "tickit/spectrum/sales/sales_ts.001.gz"],
                            SALES_COLS, "\\t")
    # the events of the guide's COPY (eventid 1-120; names repeat so groups merge)
    events = [[i, 1 + i % 12, 1 + i % 9, 1827 + i % 60, "Event %d" % (i % 25), "2008-%02d-%02d 19:30:00" % (1 + i % 4, 1 + i % 28)]
              for i in range(1, 121)]
    put("tickit/spectrum/allevents_pipe.txt", "".join(line(e, "|") for e in events))
    event_tbl = o.text_view("event", ["tickit/spectrum/allevents_pipe.txt"], EVENT_COLS, "|")

    # the SQL reference's variant: saledate date in the sixth column
    put("tickit/spectrum/sales_date/sales_date.txt",
        "".join(line(r[:5] + [r[9][:10]] + r[6:], "\t") for r in sales))
    sales_date = o.text_view("x", ["tickit/spectrum/sales_date/sales_date.txt"], SALES_DATE_COLS, "\\t")

    # sales_partition/saledate=2008-MM/: '|' delimited, one folder per month (April's is never registered)
    for m in range(1, 5):
        rows = [r for r in sales if month_of(r) == "2008-%02d" % m]
        put("tickit/spectrum/sales_partition/saledate=2008-%02d/%04d_part_00" % (m, m - 1),
            "".join(line(r, "|") for r in rows))

    def part_key(m):
        return "tickit/spectrum/sales_partition/saledate=2008-%02d/%04d_part_00" % (m, m - 1)

    # salesevent/salesmonth=2008-MM/event=NNN/: two partition keys
    sales_event = []
    for m in range(1, 4):
        for ev in (101, 102, 103):
            rows = [[r[0] * 10 + ev - 100] + r[1:4] + [ev] + r[5:] for r in sales if month_of(r) == "2008-%02d" % m][:8]
            put("tickit/spectrum/salesevent/salesmonth=2008-%02d/event=%d/part-0" % (m, ev), "".join(line(r, "|") for r in rows))
            sales_event.append((m, ev))
    events_hi = [[ev, 1, 1, 1827, "Concert %d" % ev, "2008-02-01 20:00:00"] for ev in (101, 102, 103)]
    put("tickit/spectrum/allevents_hi_pipe.txt", "".join(line(e, "|") for e in events_hi))

    def se_sel(m, ev):
        return o.text_view("x", ["tickit/spectrum/salesevent/salesmonth=2008-%02d/event=%d/part-0" % (m, ev)], SALES_COLS, "|",
                           extra=[("salesmonth", "'2008-%02d'" % m), ("event", str(ev))])

    # 1. Getting started with Redshift Spectrum ------------------------------------------
    o.begin("aws_spectrum/getting_started")
    o.view("myspectrum_schema.sales", sales_tab)
    o.view("event", event_tbl)
    o.expect_query("select count(*) from myspectrum_schema.sales", 1)
    o.expect_query("select * from myspectrum_schema.sales", 10)
    o.expect_query("select * from event", 6)
    # the guide's join, without its TOP (aws_spectrum/getting_started_top keeps it)
    o.expect_query("select myspectrum_schema.sales.eventid, sum(myspectrum_schema.sales.pricepaid) "
                   "from myspectrum_schema.sales, event where myspectrum_schema.sales.eventid = event.eventid "
                   "and myspectrum_schema.sales.pricepaid > 30 group by myspectrum_schema.sales.eventid", 2)

    # 2. Partitioning Redshift Spectrum external tables: saledate char(10), three months
    o.begin("aws_spectrum/partitioned_sales_part")
    o.union_view("spectrum.sales_part", [o.text_view("x", [part_key(m)], SALES_COLS, "|", extra=[("saledate", "'2008-%02d'" % m)])
                                         for m in (1, 2, 3)])
    o.view("event", event_tbl)
    o.expect_query("select * from spectrum.sales_part", 11)
    o.expect_query("select saledate, count(*), sum(pricepaid) from spectrum.sales_part group by saledate", 3)
    o.expect_query("select spectrum.sales_part.eventid, sum(spectrum.sales_part.pricepaid) "
                   "from spectrum.sales_part, event where spectrum.sales_part.eventid = event.eventid "
                   "and spectrum.sales_part.pricepaid > 30 and saledate = '2008-01' "
                   "group by spectrum.sales_part.eventid", 2)

    # 3. Partitioning: sales_event by salesmonth and event
    o.begin("aws_spectrum/partitioned_sales_event")
    o.union_view("spectrum.sales_event", [se_sel(m, ev) for m, ev in sales_event])
    o.view("event", o.text_view("x", ["tickit/spectrum/allevents_hi_pipe.txt"], EVENT_COLS, "|"))
    o.expect_query("select spectrum.sales_event.salesmonth, event.eventname, sum(spectrum.sales_event.pricepaid) "
                   "from spectrum.sales_event, event where spectrum.sales_event.eventid = event.eventid "
                   "and salesmonth = '2008-02' and (event = '101' or event = '102' or event = '103') "
                   "group by event.eventname, spectrum.sales_event.salesmonth order by 3 desc", 3)
    o.expect_query("select salesmonth, event, count(*) from spectrum.sales_event group by salesmonth, event", 3)

    # 4. CREATE EXTERNAL TABLE examples (SQL reference): saledate date, tab-delimited;
    #    sales_part by a date key; cloudtrail JSON
    o.begin("aws_spectrum/create_examples")
    o.view("spectrum.sales", sales_date)
    o.expect_query("select * from spectrum.sales", 10)
    o.union_view("spectrum.sales_part", [o.text_view("x", [part_key(m)], SALES_COLS, "|", extra=[("saledate", "DATE '2008-%02d-01'" % m)])
                                         for m in (1, 3, 4)])
    o.expect_query("select count(*) from spectrum.sales_part", 1)
    o.expect_query("select saledate, count(*), sum(pricepaid), min(saletime) from spectrum.sales_part group by saledate", 4)
    cloud = []
    for i in range(1, 31):
        rec = {"event_version": 1 + i % 2, "event_id": 9000000000 + i, "event_time": "2024-03-%02d 10:%02d:00" % (1 + i % 28, i),
               "event_type": ["AwsApiCall", "AwsConsole"][i % 2], "awsregion": ["us-east-1", "eu-west-1"][i % 2],
               "event_name": "Get" + "Object" * (1 + i % 3), "event_source": "s3.amazonaws.com",
               "requesttimestamp": "2024-03-%02d 10:%02d:30" % (1 + i % 28, i), "useragent": "aws-cli/2.%d \"quoted\" \u00e9" % i,
               "recipientaccountid": 123456789012 + i % 3}
        if i % 7 == 0:
            del rec["useragent"]        # a missing key reads NULL
        if i % 3 == 0:
            # dots.in.keys: the key "event.source" is the column event_source
            rec["event.source"] = rec.pop("event_source") + ".dotted"
        cloud.append(rec)
    put("json/cloudtrail/part-0.json", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in cloud[:15]))
    put("json/cloudtrail/part-1.json", "".join(json.dumps(r) + "\n" for r in cloud[15:]))
    ct_cols = [("event_version", "INTEGER"), ("event_id", "BIGINT"), ("event_time", "TIMESTAMP"), ("event_type", "VARCHAR"),
               ("awsregion", "VARCHAR"), ("event_name", "VARCHAR"), ("event_source", "VARCHAR"),
               ("requesttimestamp", "TIMESTAMP"), ("useragent", "VARCHAR"), ("recipientaccountid", "BIGINT"),
               ("event.source", "VARCHAR")]
    o.view("spectrum.cloudtrail_json", o.json_view(
        "x", ["json/cloudtrail/part-0.json", "json/cloudtrail/part-1.json"], ct_cols,
        select="event_version, event_id, event_time, event_type, awsregion, event_name, "
               "coalesce(event_source, \"event.source\") AS event_source, "
               "requesttimestamp AS requesttime, useragent, recipientaccountid"))
    o.expect_query("select * from spectrum.cloudtrail_json", 10)
    o.expect_query("select awsregion, count(*), max(requesttime), count(useragent) from spectrum.cloudtrail_json group by awsregion", 4)

    # 5. ALTER TABLE (external) examples: one partition, three (one already there), one dropped
    o.begin("aws_alter/external_partitions")
    o.union_view("spectrum.sales_part", [o.text_view("x", [part_key(m)], SALES_COLS, "|", extra=[("saledate", "DATE '2008-%02d-01'" % m)])
                                         for m in (2, 3)])
    o.expect_query("select saledate, count(*), sum(qtysold) from spectrum.sales_part group by saledate", 3)

    # 6. Parquet: the same sales written by DuckDB, unpartitioned and by month
    pq = []
    for m in (1, 2, 3):
        key = "tickit/spectrum/sales_parquet_part/saledate=2008-%02d/part-0.parquet" % m
        os.makedirs(os.path.dirname(o.path(key)), exist_ok=True)
        pq.append("COPY (SELECT * FROM (%s) ORDER BY salesid) TO '%s' (FORMAT PARQUET)"
                  % (o.text_view("x", [part_key(m)], SALES_COLS, "|"), o.path(key)))
    key = "tickit/spectrum/sales_parquet/sales.parquet"
    os.makedirs(os.path.dirname(o.path(key)), exist_ok=True)
    pq.append("COPY (SELECT * FROM (%s) ORDER BY salesid) TO '%s' (FORMAT PARQUET, ROW_GROUP_SIZE 50)" % (sales_tab, o.path(key)))
    o.writes.extend(pq)
    o.begin("aws_spectrum/parquet_sales")
    o.view("spectrum.sales", o.parquet_view("x", [key]))
    o.union_view("spectrum.sales_part", [
        o.parquet_view("x", ["tickit/spectrum/sales_parquet_part/saledate=2008-%02d/part-0.parquet" % m],
                       extra=[("saledate", "'2008-%02d'" % m)]) for m in (1, 2, 3)])
    o.expect_query("select * from spectrum.sales", 10)
    o.expect_query("select saledate, count(*), sum(pricepaid), max(saletime) from spectrum.sales_part "
                   "where saledate in ('2008-02', '2008-03') group by saledate", 4)

    # 7. dbt-external-tables: the people sources (CSV, JSON, Parquet; by section and not)
    people = []
    for i in range(1, 41):
        first = ["Ada", "Grace", "O'Brien", "Zo\u00eb", "Jean-Luc"][i % 5]
        last = ["Lovelace", "Hopper, Jr.", 'The "Great"', "Smith", "\u00dcnal"][i % 5]
        people.append([i, first, last, "person%d@example.com" % i, "abcd"[i % 4]])

    def csv_field(v):
        v = str(v)
        return '"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\n') else v

    header = "id,first_name,last_name,email\n"
    put("dbt_ext/csv_unpartitioned/people.csv", header + "".join(",".join(csv_field(x) for x in p[:4]) + "\n" for p in people))
    for s in "abcd":
        put("dbt_ext/csv/section=%s/people_%s.csv" % (s, s),
            header + "".join(",".join(csv_field(x) for x in p[:4]) + "\n" for p in people if p[4] == s))
        put("dbt_ext/json/section=%s/people_%s.json" % (s, s),
            "".join(json.dumps({"id": p[0], "first_name": p[1], "last_name": p[2], "email": p[3]}) + "\n" for p in people if p[4] == s))
    put("dbt_ext/json_unpartitioned/people.json", "".join(json.dumps({"id": p[0], "first_name": p[1], "last_name": p[2], "email": p[3]}) + "\n"
                                            for p in people))
    people_cols = [("id", "INTEGER"), ("first_name", "VARCHAR"), ("last_name", "VARCHAR"), ("email", "VARCHAR")]
    pq = []
    for s in "abcd":
        key = "dbt_ext/parquet/section=%s/people.parquet" % s
        os.makedirs(os.path.dirname(o.path(key)), exist_ok=True)
        pq.append("COPY (SELECT * FROM (%s)) TO '%s' (FORMAT PARQUET)"
                  % (o.csv_view("x", ["dbt_ext/csv/section=%s/people_%s.csv" % (s, s)], people_cols, header=True), o.path(key)))
    key = "dbt_ext/parquet_unpartitioned/people.parquet"
    os.makedirs(os.path.dirname(o.path(key)), exist_ok=True)
    pq.append("COPY (SELECT * FROM (%s)) TO '%s' (FORMAT PARQUET)"
              % (o.csv_view("x", ["dbt_ext/csv_unpartitioned/people.csv"], people_cols, header=True), o.path(key)))
    o.writes.extend(pq)
    sch = "dbt_ext_spectrum"

    def parts(fn):
        return [fn(s) for s in "abcd"]

    o.begin("dbt_external_tables/csv")
    o.view(sch + ".people_csv_unpartitioned", o.csv_view("x", ["dbt_ext/csv_unpartitioned/people.csv"], people_cols, header=True))
    o.union_view(sch + ".people_csv_partitioned", parts(lambda s: o.csv_view(
        "x", ["dbt_ext/csv/section=%s/people_%s.csv" % (s, s)], people_cols, header=True, extra=[("section", "'%s'" % s)])))
    o.expect_query('select * from "%s"."people_csv_unpartitioned"' % sch, 4)
    o.expect_query('select * from "%s"."people_csv_partitioned"' % sch, 5)
    # hostile bytes for OpenCSVSerde: a backslash, a quote inside an unquoted field
    put("dbt_ext/csv_hostile/people.csv", header + "1,Ada,Lovelace,ada@example.com\n"
        "2,C:\\temp,Hopper,grace@example.com\n3,Jo\"hn,Smith,john@example.com\n")
    expect("dbt_external_tables/csv_backslash_refused", "SELECT count(*)::text FROM pg_tables WHERE tablename = 'people'", 0)
    expect("dbt_external_tables/csv_backslash_refused",
           "SELECT count(*)::text FROM information_schema.tables WHERE table_name = 'people_csv_unpartitioned'", 1)
    o.begin("dbt_external_tables/json")
    o.view(sch + ".people_json_unpartitioned", o.json_view("x", ["dbt_ext/json_unpartitioned/people.json"], people_cols))
    o.union_view(sch + ".people_json_partitioned", parts(lambda s: o.json_view(
        "x", ["dbt_ext/json/section=%s/people_%s.json" % (s, s)], people_cols, extra=[("section", "'%s'" % s)])))
    o.expect_query('select * from "%s"."people_json_unpartitioned"' % sch, 4)
    o.expect_query('select * from "%s"."people_json_partitioned"' % sch, 5)
    o.begin("dbt_external_tables/parquet")
    o.union_view(sch + ".people_parquet_partitioned", parts(lambda s: o.parquet_view(
        "x", ["dbt_ext/parquet/section=%s/people.parquet" % s], extra=[("section", "'%s'" % s)])))
    o.expect_query('select * from "%s"."people_parquet_partitioned"' % sch, 5)
    o.expect_query('select section, count(*) from "%s"."people_parquet_partitioned" group by section' % sch, 2)
    o.view(sch + ".people_parquet_unpartitioned", o.parquet_view("x", ["dbt_ext/parquet_unpartitioned/people.parquet"]))
    o.expect_query('select * from "%s"."people_parquet_unpartitioned"' % sch, 4)

    # refused and waiting cases: what ran before the refusal stays, nothing after it runs
    o.begin("aws_spectrum/getting_started_top")
    o.view("myspectrum_schema.sales", sales_tab)
    o.view("event", event_tbl)
    o.view("top_buyers", "select myspectrum_schema.sales.eventid, sum(myspectrum_schema.sales.pricepaid) as total "
           "from myspectrum_schema.sales, event where myspectrum_schema.sales.eventid = event.eventid "
           "and myspectrum_schema.sales.pricepaid > 30 group by myspectrum_schema.sales.eventid order by 2 desc, 1 limit 10")
    o.expect_query("select eventid, total from top_buyers", 2)
    o.begin("aws_alter/external_set_refused")
    o.view("spectrum.sales", sales_tab)
    o.expect_query("select count(*), sum(pricepaid), max(saletime) from spectrum.sales", 3)
    # SET LOCATION moves SALES to a folder holding the first 50 rows; the partition now reads February
    put("tickit/spectrum/sales_moved/sales_ts.000", "".join(line(r, "\t") for r in sales[:50]))
    o.begin("aws_alter/external_set")
    o.view("spectrum.sales", o.text_view("x", ["tickit/spectrum/sales_moved/sales_ts.000"], SALES_COLS, "\\t"))
    o.view("spectrum.sales_part", o.text_view("x", [part_key(2)], SALES_COLS, "|", extra=[("saledate", "DATE '2008-01-01'")]))
    o.expect_query("select * from spectrum.sales", 10)
    o.expect_query("select * from spectrum.sales_part", 11)
    # SVV_EXTERNAL_PARTITIONS: values is a JSON array of the partition's values, as Redshift prints it
    o.begin("aws_spectrum/partitions_catalog")
    o.view("svv_external_partitions", " UNION ALL ".join(
        "SELECT 'spectrum' AS schemaname, 'sales_part' AS tablename, '[\"2008-%02d\"]' AS values, "
        "'s3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-%02d/' AS location" % (m, m) for m in (1, 2, 3)))
    o.expect_query("select schemaname, tablename, values, location from svv_external_partitions where tablename = 'sales_part'", 4)
    expect("aws_spectrum/nested_refused", "SELECT count(*)::text FROM information_schema.schemata WHERE schema_name = 'spectrum'", 1)
    expect("aws_spectrum/nested_refused", "SELECT count(*)::text FROM information_schema.tables WHERE table_name = 'customers'", 0)

    # 8. CREATE EXTERNAL TABLE "Examples" (r_CREATE_EXTERNAL_TABLE_examples), catalog and
    #    partitioning: sales_partition/saledate=2008-05 .. 2008-12 as well, one object each;
    #    December has 14 events of distinct totals, so that TOP 10 cuts a well-defined list
    late = []
    for m in range(5, 13):
        n = 14 if m == 12 else 6
        for k in range(n):
            i = 1000 + m * 20 + k
            price = Decimal(31 + 17 * k + m) + Decimal(k) / 100
            late.append([i, 1 + i % 50, 1 + (i * 7) % 30, 1 + (i * 11) % 30, 1 + k, 1827 + i % 60, 1 + k % 4,
                         money(price), money(price * Decimal("0.15")),
                         "2008-%02d-%02d %02d:%02d:%02d" % (m, 1 + k, k % 24, (k * 7) % 60, (k * 13) % 60)])
    for m in range(5, 13):
        put(part_key(m), "".join(line(r, "|") for r in late if r[9][5:7] == "%02d" % m))

    def pseudo(m):
        key = part_key(m)
        return [("saledate", "DATE '2008-%02d-01'" % m), ('"$path"', "'%s%s'" % (BUCKET, key)),
                ('"$size"', str(os.path.getsize(o.path(key))))]

    o.begin("aws_spectrum/create_examples_catalog")
    o.union_view("spectrum.sales_part", [o.text_view("x", [part_key(m)], SALES_COLS, "|", extra=pseudo(m))
                                         for m in range(1, 13)])
    o.view("event", event_tbl)
    o.expect_query('select distinct "$path", "$size" from spectrum.sales_part', 2)
    o.expect_query('select "$path", "$size" from spectrum.sales_part where saledate = \'2008-12-01\'', 2)
    top = ("select top 10 spectrum.sales_part.eventid, sum(spectrum.sales_part.pricepaid) "
           "from spectrum.sales_part, event where spectrum.sales_part.eventid = event.eventid "
           "and spectrum.sales_part.pricepaid > 30 and saledate = '2008-12-01' "
           "group by spectrum.sales_part.eventid order by 2 desc")
    o.expect_query(top, 2, duck_query=top.replace("select top 10 ", "select ") + " limit 10")
    o.expect_query("select saledate, count(*), sum(pricepaid) from spectrum.sales_part group by saledate", 3)

    o.run(expect)

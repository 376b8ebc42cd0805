-- lode.sources.postgres: a table extracted to Parquet in chunks from one
-- REPEATABLE READ snapshot while a concurrent writer commits. The writer's
-- transactions keep an invariant (batch b inserts 1000 rows and sets v = b on
-- every row), so a consistent snapshot holds rows all of one v, 20000 + 1000*v
-- of them, each id once; the extracted files are loaded back with copy.into
-- and checked in PostgreSQL. Then the incremental run (since = max) takes
-- exactly the rows committed after the snapshot.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local pgsrc = require "lode.sources.postgres"

t.test("a concurrent writer during extraction: no torn or duplicated rows; the next run takes only newer rows",
  { timeout = 300000 }, function()
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
  local bucket = "lode-pgsrc-" .. math.random(1, 1e9)
  assert(proc.run({ "aws", "s3", "mb", "s3://" .. bucket }).status == 0)
  local wh = lode.warehouse { url = url, pool = 4 }
  wh:exec("DROP TABLE IF EXISTS pgsrc_orders")
  wh:exec("CREATE TABLE pgsrc_orders (id bigint PRIMARY KEY, v integer NOT NULL, amount numeric(12,2), "
    .. "note text, at timestamptz, day date)")
  wh:exec([[INSERT INTO pgsrc_orders SELECT g, 0, g / 100.0, 'note ' || g, timestamptz '2024-01-01 00:00:00+00'
    + g * interval '1 second', date '1960-01-01' + (g % 40000) FROM generate_series(1, 20000) g]])
  local stop, batches, during = false, 0, 0
  local extracting = false
  local writer = lode.spawn(function()
    while not stop do
      wh:transaction(function(tx)
        local b = batches + 1
        tx:exec(("INSERT INTO pgsrc_orders SELECT g, 0, 1, 'late', now(), current_date FROM generate_series(%d, %d) g")
          :format(20000 + (b - 1) * 1000 + 1, 20000 + b * 1000))
        tx:exec("UPDATE pgsrc_orders SET v = $1", b)
      end)
      batches = batches + 1
      if extracting then
        during = during + 1
      end
      lode.sleep(1)
    end
  end)
  lode.sleep(50)
  extracting = true
  local r = pgsrc.extract(wh, { table = "pgsrc_orders", cursor_column = "id", chunk_rows = 4000,
                                row_group_rows = 1000, to = "s3://" .. bucket .. "/run1/" })
  extracting = false
  stop = true
  writer:await()
  t.diag(("extracted %d rows in %d files; the writer committed %d batches during the extraction")
    :format(r.rows, #r.files, during))
  t.ok(during > 0, "the writer committed while the extraction ran")
  t.ok(#r.files >= 5, "chunked")
  wh:exec("DROP TABLE IF EXISTS pgsrc_copy")
  wh:exec("CREATE TABLE pgsrc_copy (id bigint, v integer, amount numeric(12,2), note text, at timestamp, day date)")
  local c = lode.copy.into(wh, { table = "pgsrc_copy", from = "s3://" .. bucket .. "/run1/", format = "parquet" })
  t.eq(c.rows, r.rows)
  local s = wh:query([[SELECT count(*)::bigint AS n, count(DISTINCT id)::bigint AS ids, min(v) AS vmin, max(v) AS vmax,
    max(id) AS maxid FROM pgsrc_copy]])[1]
  t.eq(s.n, s.ids, "no id twice")
  t.eq(s.vmin, s.vmax, "every row from one snapshot")
  t.eq(s.n, 20000 + 1000 * s.vmin, "the snapshot's row count")
  t.eq(r.max, s.maxid)
  -- the rows equal the source's at that snapshot, except v (which later batches moved on)
  t.eq(wh:query([[SELECT count(*)::int AS n FROM (SELECT id, amount, note, at, day FROM pgsrc_copy EXCEPT
    SELECT id, amount, note, at AT TIME ZONE 'UTC', day FROM pgsrc_orders) d]])[1].n, 0)
  -- incremental: only what committed after
  local r2 = pgsrc.extract(wh, { table = "pgsrc_orders", cursor_column = "id", since = r.max, chunk_rows = 4000,
                                 to = "s3://" .. bucket .. "/run2/" })
  local total = wh:query("SELECT count(*)::bigint AS n FROM pgsrc_orders")[1].n
  t.eq(r.rows + r2.rows, total)
  if r2.rows > 0 then
    lode.copy.into(wh, { table = "pgsrc_copy", from = "s3://" .. bucket .. "/run2/", format = "parquet" })
  end
  t.eq(wh:query("SELECT count(*)::int AS n FROM (SELECT id FROM pgsrc_orders EXCEPT SELECT id FROM pgsrc_copy) d")[1].n, 0)
  t.eq(wh:query("SELECT count(*) - count(DISTINCT id) AS d FROM pgsrc_copy")[1].d, 0)
  wh:exec("DROP TABLE pgsrc_orders")
  wh:exec("DROP TABLE pgsrc_copy")
end)

-- lode.sources.postgres: a table extracted to Parquet in chunks from one
-- REPEATABLE READ snapshot while a concurrent writer commits, checked in
-- PostgreSQL itself. The writer's batch b inserts 1000 new ids with
-- v = w = b and sets v = w = b on every row whose id % 100 = b % 100, so the
-- state after k batches is known exactly (expected_v below); a consistent
-- extract is that state for one k: each id once, no row torn (v = w), every
-- v what batch k left. LODE_TEST_PGSRC_ROWS sets the table's starting size
-- (default 200000; the issue's 10 M run is LODE_TEST_PGSRC_ROWS=10000000).
-- Then the incremental run (since = max, after_snapshot = snapshot) takes
-- exactly the rows committed after the snapshot, and the in-flight
-- transaction case (a smaller id committed after the snapshot) is shown.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local merge = require "lode.merge"
local pgsrc = require "lode.sources.postgres"

local function new_bucket()
  t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
  local bucket = "lode-pgsrc-" .. math.random(1, 1e9)
  assert(proc.run({ "aws", "s3", "mb", "s3://" .. bucket }).status == 0)
  return bucket
end

local function count(wh, q, ...)
  return math.tointeger(tonumber(wh:query(q, ...)[1].n))
end

t.test("a concurrent writer during extraction: no torn or duplicated rows; the next run takes only what committed after",
  { timeout = 3600000 }, function()
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local bucket = new_bucket()
  local N0 = math.tointeger(tonumber(os.getenv("LODE_TEST_PGSRC_ROWS") or "200000"))
  local K = 1000
  local chunk = math.max(4000, N0 // 50)
  local wh = lode.warehouse { url = url, pool = 4 }
  wh:exec("DROP TABLE IF EXISTS pgsrc_orders")
  wh:exec("CREATE TABLE pgsrc_orders (id bigint PRIMARY KEY, v integer NOT NULL, w integer NOT NULL, "
    .. "amount numeric(12,2), note text, at timestamptz, day date)")
  wh:exec(([[INSERT INTO pgsrc_orders SELECT g, 0, 0, g / 100.0, 'note ' || g, timestamptz '2024-01-01 00:00:00+00'
    + g * interval '1 second', date '1960-01-01' + (g %% 40000) FROM generate_series(1, %d) g]]):format(N0))
  wh:exec("ANALYZE pgsrc_orders")
  local stop, batches, during, extracting = false, 0, 0, false
  local writer = lode.spawn(function()
    while not stop do
      local b = batches + 1
      wh:transaction(function(tx)
        tx:exec(("INSERT INTO pgsrc_orders SELECT g, %d, %d, 1, 'late', now(), current_date FROM generate_series(%d, %d) g")
          :format(b, b, N0 + (b - 1) * K + 1, N0 + b * K))
        tx:exec("UPDATE pgsrc_orders SET v = $1, w = $1 WHERE id % 100 = $2", b, b % 100)
      end)
      batches = b
      if extracting then
        during = during + 1
      end
    end
  end)
  while batches < 2 do -- the writer is running before the extraction starts
    lode.sleep(5)
  end
  extracting = true
  local t0 = lode.now()
  local r = pgsrc.extract(wh, { table = "pgsrc_orders", cursor_column = "id", chunk_rows = chunk,
                                row_group_rows = chunk // 4, to = "s3://" .. bucket .. "/run1/" })
  local ms = lode.now() - t0
  extracting = false
  stop = true
  writer:await()
  t.diag(("extracted %d rows in %d files in %.1f s; the writer committed %d batches during the extraction")
    :format(r.rows, #r.files, ms / 1000, during))
  t.ok(during > 0, "the writer committed while the extraction ran")
  t.ok(#r.files >= 5, "chunked")
  t.ok(r.snapshot and r.snapshot:match("^%d+:%d+:"), "the snapshot is named")
  wh:exec("DROP TABLE IF EXISTS pgsrc_copy")
  wh:exec("CREATE TABLE pgsrc_copy (id bigint PRIMARY KEY, v integer, w integer, amount numeric(12,2), note text, "
    .. "at timestamp, day date)")
  local c = lode.copy.into(wh, { table = "pgsrc_copy", from = "s3://" .. bucket .. "/run1/", format = "parquet" })
  t.eq(c.rows, r.rows)
  local s = wh:query([[SELECT count(*)::bigint AS n, min(id) AS lo, max(id) AS hi, max(v) AS vmax,
    count(*) FILTER (WHERE v IS DISTINCT FROM w)::bigint AS torn FROM pgsrc_copy]])[1]
  local k = (s.n - N0) // K
  t.ok(k >= 2 and s.n == N0 + K * k, ("the row count is the start plus whole batches (%d rows, %d batches)"):format(s.n, k))
  t.eq(s.lo, 1)
  t.eq(s.hi, s.n, "ids 1..n, each once (a primary key on the copy)")
  t.eq(s.torn, 0, "no row torn")
  t.eq(r.max, s.hi)
  -- expected v after k batches: the row's insert batch, or the last batch <= k that updated it
  t.eq(count(wh, [[SELECT count(*) AS n FROM pgsrc_copy WHERE v IS DISTINCT FROM
    greatest(CASE WHEN id <= $1 THEN 0 ELSE (id - $1 + $2 - 1) / $2 END, $3 - ((($3 - id % 100) % 100) + 100) % 100)]],
    N0, K, k), 0, "every row as batch k left it: one snapshot for every chunk")
  -- the columns no batch changes equal the source's
  t.eq(count(wh, [[SELECT count(*) AS n FROM (SELECT id, amount, note, at, day FROM pgsrc_copy EXCEPT
    SELECT id, amount, note, at AT TIME ZONE 'UTC', day FROM pgsrc_orders) d]]), 0)
  -- since alone: exactly the ids inserted after (the single writer drew them in commit order)
  local plain = pgsrc.extract(wh, { table = "pgsrc_orders", cursor_column = "id", since = r.max, chunk_rows = chunk,
                                    to = "s3://" .. bucket .. "/plain/" })
  t.eq(plain.rows, count(wh, "SELECT count(*) AS n FROM pgsrc_orders WHERE id > $1", r.max))
  -- with after_snapshot: also every row updated after the snapshot, merged on the key
  local changed = count(wh, [[SELECT count(*) AS n FROM pgsrc_orders o LEFT JOIN pgsrc_copy c USING (id)
    WHERE c.id IS NULL OR c.v IS DISTINCT FROM o.v]])
  local r2 = pgsrc.extract(wh, { table = "pgsrc_orders", cursor_column = "id", since = r.max,
                                 after_snapshot = r.snapshot, chunk_rows = chunk, to = "s3://" .. bucket .. "/run2/" })
  t.eq(r2.rows, changed, "the second run takes exactly the rows inserted or updated after the first's snapshot")
  t.eq(r2.max, count(wh, "SELECT max(id) AS n FROM pgsrc_orders"))
  merge.upsert(wh, { target = "pgsrc_copy", from = "s3://" .. bucket .. "/run2/", format = "parquet", strategy = "merge" })
  t.eq(count(wh, [[SELECT count(*) AS n FROM (
    (SELECT id, v, w, amount, note, at, day FROM pgsrc_copy EXCEPT
     SELECT id, v, w, amount, note, at AT TIME ZONE 'UTC', day FROM pgsrc_orders) UNION ALL
    (SELECT id, v, w, amount, note, at AT TIME ZONE 'UTC', day FROM pgsrc_orders EXCEPT
     SELECT id, v, w, amount, note, at, day FROM pgsrc_copy)) d]]), 0, "the copy equals the source")
  wh:exec("DROP TABLE pgsrc_orders")
  wh:exec("DROP TABLE pgsrc_copy")
end)

t.test("a row committed after the snapshot with a smaller cursor value: since alone skips it, after_snapshot takes it",
  function()
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local bucket = new_bucket()
  local wh = lode.warehouse { url = url, pool = 4 }
  wh:exec("DROP TABLE IF EXISTS pgsrc_seq, pgsrc_seq_copy")
  wh:exec("CREATE TABLE pgsrc_seq (id bigserial PRIMARY KEY, note text NOT NULL)")
  wh:exec("INSERT INTO pgsrc_seq (note) SELECT 'before ' || g FROM generate_series(1, 10) g")
  local r1
  wh:transaction(function(t1)
    t1:exec("INSERT INTO pgsrc_seq (note) VALUES ('in flight')") -- draws id 11, commits last
    wh:exec("INSERT INTO pgsrc_seq (note) VALUES ('committed first')") -- id 12
    r1 = pgsrc.extract(wh, { table = "pgsrc_seq", cursor_column = "id", to = "s3://" .. bucket .. "/run1/" })
  end)
  t.eq(r1.rows, 11)
  t.eq(r1.max, 12)
  t.eq(count(wh, "SELECT id AS n FROM pgsrc_seq WHERE note = 'in flight'"), 11)
  wh:exec("INSERT INTO pgsrc_seq (note) VALUES ('after')") -- id 13
  local plain = pgsrc.extract(wh, { table = "pgsrc_seq", cursor_column = "id", since = r1.max,
                                    to = "s3://" .. bucket .. "/plain/" })
  t.eq(plain.rows, 1, "since alone: the in-flight row (id 11 < 12) is the documented hole")
  local r2 = pgsrc.extract(wh, { table = "pgsrc_seq", cursor_column = "id", since = r1.max,
                                 after_snapshot = r1.snapshot, to = "s3://" .. bucket .. "/run2/" })
  t.eq(r2.rows, 2)
  t.eq(r2.max, 13, "the late row does not move max back")
  wh:exec("CREATE TABLE pgsrc_seq_copy (id bigint, note text)")
  lode.copy.into(wh, { table = "pgsrc_seq_copy", from = "s3://" .. bucket .. "/run1/", format = "parquet" })
  lode.copy.into(wh, { table = "pgsrc_seq_copy", from = "s3://" .. bucket .. "/run2/", format = "parquet" })
  t.eq(count(wh, "SELECT count(*) - count(DISTINCT id) AS n FROM pgsrc_seq_copy"), 0, "no row twice")
  t.eq(count(wh, [[SELECT count(*) AS n FROM ((SELECT id, note FROM pgsrc_seq EXCEPT SELECT id, note FROM pgsrc_seq_copy)
    UNION ALL (SELECT id, note FROM pgsrc_seq_copy EXCEPT SELECT id, note FROM pgsrc_seq)) d]]), 0,
    "the two runs hold the table exactly")
  -- a third run after nothing changed takes nothing, and keeps no max
  local r3 = pgsrc.extract(wh, { table = "pgsrc_seq", cursor_column = "id", since = r2.max,
                                 after_snapshot = r2.snapshot, to = "s3://" .. bucket .. "/run3/" })
  t.eq(r3.rows, 0)
  t.eq(r3.max, nil)
  t.raises(function()
    pgsrc.extract(wh, { table = "pgsrc_seq", cursor_column = "id", since = 1, after_snapshot = r2.snapshot, limit = 5,
                        to = "s3://" .. bucket .. "/x/" })
  end, "limit")
  wh:exec("DROP TABLE pgsrc_seq, pgsrc_seq_copy")
end)

t.test("limit never splits rows that share a cursor value", function()
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local bucket = new_bucket()
  local wh = lode.warehouse { url = url, pool = 2 }
  wh:exec("DROP TABLE IF EXISTS pgsrc_ties")
  -- 30 rows, three to each updated_at value
  wh:exec([[CREATE TABLE pgsrc_ties AS SELECT g AS id, timestamp '2024-01-01' + (g / 3) * interval '1 minute' AS updated_at
    FROM generate_series(0, 29) g]])
  local since, batches, got = nil, 0, 0
  repeat
    local r = pgsrc.extract(wh, { table = "pgsrc_ties", cursor_column = "updated_at", since = since, limit = 4,
                                  to = ("s3://%s/b%d/"):format(bucket, batches) })
    batches = batches + 1
    got = got + r.rows
    if r.rows > 0 then
      t.eq(r.rows % 3, 0, "whole groups of ties")
      since = r.max
    end
  until r.rows == 0 or batches > 20
  t.eq(got, 30, "every row once over the batches")
  wh:exec("DROP TABLE pgsrc_ties")
end)

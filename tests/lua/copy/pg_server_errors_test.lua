-- A row PostgreSQL rejects in the middle of a COPY from the C paths (NOT
-- NULL, CHECK, a value too long for varchar(n)): the server's CONTEXT says
-- only "COPY t, line N" of the stream lode sent (binary tuple N), so the
-- error lode raises must name the source object, the row's line in it
-- (CSV, JSON, text) or its row (Parquet), and the column the server named.
-- The oracle is the file itself: the row the bad value was put in, counted
-- in the bytes uploaded (headers, quoted newlines, multi-line objects and
-- rows the decoder skips all sit before it), or DuckDB's row number.
local t = require "lode.test"
local lode = require "lode"
local copy = require "lode.copy"
local proc = require "lode.proc"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local root = os.getenv("LODE_ROOT") or "."
local H = dofile(root .. "/tests/lua/parquet_read/helpers.lua")
local s3 = require "lode.s3"

local bucket = "lode-copy-srverr-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)
local wh = lode.warehouse { url = url }

local function fresh(name, ddl)
  wh:exec(("DROP TABLE IF EXISTS %s"):format(name))
  wh:exec(("CREATE TABLE %s (%s)"):format(name, ddl))
  pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = $1", name)
end

-- The 1-based line of the file `text` on which byte `pos` is.
local function line_at(text, pos)
  return select(2, text:sub(1, pos - 1):gsub("\n", "")) + 1
end

-- The C stream sends binary COPY by default, text COPY when asked (or for a
-- column type it does not render): both must place the row.
local PATHS = {
  { name = "binary", set = function() copy._text_copy_text = nil end },
  { name = "text", set = function() copy._text_copy_text = true end },
}

local function load_fails(tbl, opts)
  local ok, e = pcall(copy.into, wh, opts)
  copy._text_copy_text = nil
  t.ok(not ok, tbl .. ": the load fails")
  t.eq(wh:query("SELECT count(*)::int AS n FROM " .. tbl)[1].n, 0, "nothing loaded")
  return e
end

-- CSV: a header, quoted newlines, a row the decoder skips (MAXERROR), in the
-- second of two files; rows follow the bad one, so the server's error comes
-- while later rows are still going out.
local function csv_file(n, bad_at, bad_row)
  local parts = { "id,name,note\n" }
  for i = 1, n do
    if i == bad_at then
      parts[#parts + 1] = bad_row
    elseif i % 7 == 0 then
      parts[#parts + 1] = ('%d,n%d,"two\nlines, %d"\n'):format(i, i, i)
    elseif i == 5 then
      parts[#parts + 1] = "notanumber,skipped,by the decoder\n"
    else
      parts[#parts + 1] = ("%d,n%d,plain\n"):format(i, i)
    end
  end
  return table.concat(parts)
end

for _, path in ipairs(PATHS) do
  t.test(path.name .. " COPY, CSV: a NULL into NOT NULL names the object, its line and the column", { timeout = 600000 },
    function()
    local tbl = "srverr_notnull_" .. path.name
    fresh(tbl, "id int NOT NULL, name varchar(20), note text")
    local bad = ",nullid,the bad row\n"
    local f1, f2 = csv_file(3000, nil), csv_file(3000, 2000, bad)
    s3.put(B .. tbl .. "/1.csv", f1)
    s3.put(B .. tbl .. "/2.csv", f2)
    local want = line_at(f2, (f2:find(bad, 1, true)))
    t.ok(want > 2000, "quoted newlines push the row down: line " .. want)
    path.set()
    local e = load_fails(tbl, { table = tbl, from = B .. tbl .. "/", format = "csv", ignoreheader = 1, maxerror = 10 })
    t.eq({ e.op, e.sqlstate, e.key, e.line, e.column }, { "pg.copy_in", "23502", B .. tbl .. "/2.csv", want, "id" },
      tostring(e))
    t.contains(tostring(e), ("%s/2.csv, line %d, column id: "):format(tbl, want))
    t.contains(tostring(e), "violates not-null constraint")
  end)
end

-- (A value too long for varchar(n) in CSV, JSON or text is the decoder's
-- bad row, as in Redshift; in Parquet the server finds it: below.)
t.test("binary COPY, '|' text: a duplicate key names the object and its line", { timeout = 600000 }, function()
  local tbl = "srverr_unique"
  fresh(tbl, "id int PRIMARY KEY, name text")
  local parts = { "id|name\n", "--|----\n" }   -- two header lines
  for i = 1, 5000 do
    parts[#parts + 1] = i == 4321 and "17|again\n" or ("%d|n%d\n"):format(i, i)
  end
  local f = table.concat(parts)
  s3.put(B .. tbl .. "/t.txt", f)
  local want = line_at(f, (f:find("17|again", 1, true)))
  local e = load_fails(tbl, { table = tbl, from = B .. tbl .. "/", format = "text", delimiter = "|", ignoreheader = 2 })
  t.eq({ e.sqlstate, e.key, e.line }, { "23505", B .. tbl .. "/t.txt", want }, tostring(e))
  t.contains(tostring(e), ("t.txt, line %d: duplicate key value"):format(want))
end)

t.test("binary COPY, JSON: a CHECK violation names the object and the object's first line", { timeout = 600000 },
  function()
  local tbl = "srverr_check"
  fresh(tbl, "id int, amount numeric(10,2) CHECK (amount > 0)")
  local parts = {}
  for i = 1, 400 do
    if i % 3 == 0 then   -- pretty-printed: three lines
      parts[#parts + 1] = ('{\n  "id": %d, "amount": %d.5\n}\n'):format(i, i)
    elseif i == 301 then
      parts[#parts + 1] = '{"id": 301, "amount": -1}\n'
    else
      parts[#parts + 1] = ('{"id": %d, "amount": %d}\n'):format(i, i)
    end
  end
  local f = table.concat(parts)
  s3.put(B .. tbl .. "/a.json", f)
  local want = line_at(f, (f:find('"id": 301,', 1, true)))
  local e = load_fails(tbl, { table = tbl, from = B .. tbl .. "/", format = "json" })
  t.eq({ e.sqlstate, e.key, e.line }, { "23514", B .. tbl .. "/a.json", want }, tostring(e))
  t.contains(tostring(e), ("a.json, line %d: "):format(want))
  t.contains(tostring(e), "check constraint")
end)

t.test("Parquet: NOT NULL and varchar(n) violations name the object, its row and the column", { timeout = 600000 },
  function()
  if not H.have_node() then
    t.skip("node with @duckdb/node-api is not installed in tests/")
    return
  end
  local dir = H.tmpdir()
  local tbl = "srverr_pq"
  -- two files of 5,000 rows in row groups of 2,048; the second has a NULL
  -- id at row 4,001 (row group 1) and a 6-character name at row 4,500
  for k = 1, 2 do
    H.duckdb({ ([[COPY (SELECT CASE WHEN %d = 2 AND i = 4000 THEN NULL ELSE i END::INTEGER AS id,
        CASE WHEN %d = 2 AND i = 4499 THEN 'sixsix' ELSE 'n' || (i %% 100) END AS name
      FROM range(0, 5000) t(i)) TO '%s/%d.parquet' (FORMAT parquet, ROW_GROUP_SIZE 2048)]]):format(k, k, dir, k) })
    local fh = assert(io.open(("%s/%d.parquet"):format(dir, k), "rb"))
    s3.put(("%s%s/%d.parquet"):format(B, tbl, k), fh:read("a"))
    fh:close()
  end
  fresh(tbl, "id int NOT NULL, name varchar(5)")
  local e = load_fails(tbl, { table = tbl, from = B .. tbl .. "/", format = "parquet" })
  t.eq({ e.sqlstate, e.key, e.row, e.row_group, e.column }, { "23502", B .. tbl .. "/2.parquet", 4001, 1, "id" },
    tostring(e))
  t.contains(tostring(e), tbl .. "/2.parquet: row group 1, row 4001, column id: ")
  fresh(tbl, "id int, name varchar(5)")
  e = load_fails(tbl, { table = tbl, from = B .. tbl .. "/", format = "parquet" })
  t.eq({ e.sqlstate, e.key, e.row, e.row_group, e.column }, { "22001", B .. tbl .. "/2.parquet", 4500, 2, "name" },
    tostring(e))
end)

t.test("cleanup", function()
  for _, r in ipairs(wh:query("SELECT tablename FROM pg_tables WHERE tablename LIKE 'srverr\\_%'")) do
    wh:exec("DROP TABLE IF EXISTS " .. r.tablename)
    pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = $1", r.tablename)
    pcall(wh.exec, wh, "DELETE FROM lode.load_errors WHERE table_name = $1", r.tablename)
  end
  proc.run({ "aws", "s3", "rb", B, "--force" })
end)

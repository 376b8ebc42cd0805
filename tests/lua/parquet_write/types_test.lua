-- lode.parquet.writer's wide numerics (precision 19-38, FIXED_LEN_BYTE_ARRAY),
-- timestamptz, time and the zstd / gzip / none codecs: DuckDB reads back the
-- values PostgreSQL itself prints for the same literals (the oracle: each
-- input cast in SQL), and copy.into … format = "parquet" loads the file into
-- PostgreSQL equal, value for value, to those casts.
local t = require "lode.test"
local lode = require "lode"
local parquet = require "lode.parquet"
local proc = require "lode.proc"
local json = require "lode.json"
local root = os.getenv("LODE_ROOT") or "."
local H = dofile(root .. "/tests/lua/parquet_read/helpers.lua")

local COLUMNS = {
  { name = "id", type = "integer" },
  { name = "n38", type = "numeric(38,0)" }, { name = "n38s", type = "numeric(38,38)" },
  { name = "n19", type = "numeric(19,4)" }, { name = "n30", type = "numeric(30,10)" },
  { name = "tz", type = "timestamptz" }, { name = "tm", type = "time" },
}
local NINES = ("9"):rep(38)
local ROWS = {
  { id = 1, n38 = NINES, n38s = "0." .. NINES, n19 = "999999999999999.9999", n30 = "12345678901234567890.0123456789",
    tz = "1969-07-20 20:17:40.5+00", tm = "00:00:00" },
  { id = 2, n38 = "-" .. NINES, n38s = "-0." .. NINES, n19 = "-999999999999999.9999", n30 = "-0.0000000001",
    tz = "2100-01-01 00:00:00-05:30", tm = "23:59:59.999999" },
  { id = 3 }, -- NULLs
  { id = 4, n38 = 0, n38s = "0", n19 = "-0.0001", n30 = 7, tz = "1901-12-13 20:45:52.000001+01", tm = "12:34:56.7" },
  { id = 5, n38 = "12345678901234567890123456789012345678", n38s = "0.00000000000000000000000000000000000001",
    n19 = "0.0001", n30 = "99999999999999999999.9999999999", tz = "2038-01-19 03:14:08+00", tm = "00:00:00.000001" },
  { id = 6, n38 = "-10000000000000000000000000000000000000", n38s = lode.null, n19 = "922337203685477.5808",
    n30 = "-99999999999999999999.9999999999", tz = "1950-06-30 12:00:00+13:45", tm = "24:00:00" },
}

local function literal(v, ty)
  if v == nil or v == lode.null then
    return "NULL::" .. ty
  end
  return ("'%s'::%s"):format(tostring(v), ty)
end

-- What PostgreSQL prints for each input literal (UTC session), ordered by id.
local function pg_oracle(wh)
  local selects = {}
  for _, r in ipairs(ROWS) do
    local cells = {}
    for _, c in ipairs(COLUMNS) do
      cells[#cells + 1] = ("(%s)::text AS %s"):format(literal(r[c.name], c.type), c.name)
    end
    selects[#selects + 1] = "SELECT " .. table.concat(cells, ", ")
  end
  return wh:transaction(function(tx)
    tx:exec("SET LOCAL TimeZone = 'UTC'")
    return tx:query(table.concat(selects, " UNION ALL ") .. " ORDER BY 1")
  end)
end

local function write(path, compression)
  local w = parquet.writer(path, { columns = COLUMNS, compression = compression })
  for _, r in ipairs(ROWS) do
    w:write(r)
  end
  return w:close()
end

local pg_url = os.getenv("LODE_TEST_PG_URL")

t.test("numeric(19..38), timestamptz and time read back by DuckDB as PostgreSQL prints them, every codec",
  function()
  if not H.have_node() then
    t.skip("node with @duckdb/node-api is not installed in tests/")
    return
  end
  t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local wh = lode.warehouse { url = pg_url }
  local want = pg_oracle(wh)
  local dir = t.tmpdir()
  for _, codec in ipairs({ "snappy", "zstd", "gzip", "none" }) do
    local path = ("%s/types-%s.parquet"):format(dir, codec)
    t.eq(write(path, codec).rows, #ROWS)
    -- DuckDB prints numerics without a leading 0 ('.5') and timestamptz in
    -- its own zone form; normalise both to PostgreSQL's spelling in SQL
    local r = proc.run({ "node", root .. "/tests/tools/duckdb.js", "SET TimeZone = 'UTC'", ([[
      SELECT id::VARCHAR AS id,
        regexp_replace(n38::VARCHAR, '^(-?)\.', '\10.') AS n38, regexp_replace(n38s::VARCHAR, '^(-?)\.', '\10.') AS n38s,
        regexp_replace(n19::VARCHAR, '^(-?)\.', '\10.') AS n19, regexp_replace(n30::VARCHAR, '^(-?)\.', '\10.') AS n30,
        strftime(tz, '%%Y-%%m-%%d %%H:%%M:%%S.%%f') AS tz, tm::VARCHAR AS tm,
        typeof(n38) || ' ' || typeof(n19) || ' ' || typeof(tz) || ' ' || typeof(tm) AS types
      FROM read_parquet('%s') ORDER BY id]]):format(path) })
    t.eq(r.status, 0, r.stdout)
    local got = json.decode(r.stdout)
    t.eq(#got, #want, codec)
    for i, w in ipairs(want) do
      local g = got[i]
      t.eq(g.types, "DECIMAL(38,0) DECIMAL(19,4) TIMESTAMP WITH TIME ZONE TIME", codec .. " types")
      for _, c in ipairs({ "id", "n38", "n38s", "n19", "n30", "tm" }) do
        local pgv = w[c] == lode.null and json.null or w[c]
        if c == "tm" and pgv == "24:00:00" then
          pgv = "24:00:00" -- DuckDB keeps 24:00:00 as PostgreSQL does
        end
        t.eq(g[c], pgv, ("%s row %d %s"):format(codec, i, c))
      end
      -- timestamptz: PostgreSQL's '… +00' text against DuckDB's microsecond form
      if w.tz == lode.null then
        t.eq(g.tz, json.null, codec .. " tz NULL")
      else
        local pgts = w.tz:gsub("%+00$", "")
        local frac = pgts:match("%.(%d+)$") or ""
        pgts = pgts:gsub("%.%d+$", "") .. "." .. (frac .. "000000"):sub(1, 6)
        t.eq(g.tz, pgts, ("%s row %d tz"):format(codec, i))
      end
    end
  end
  local m = parquet.metadata(dir .. "/types-zstd.parquet")
  t.ok(m ~= nil, "lode's reader parses the footer")
end)

t.test("the file loaded by copy.into format = parquet equals PostgreSQL's casts of the same literals", function()
  t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
  local bucket = "lode-pqw-types-" .. math.random(1, 1e9)
  assert(proc.run({ "aws", "s3", "mb", "s3://" .. bucket }).status == 0)
  local path = "s3://" .. bucket .. "/types.parquet"
  write(path, "zstd")
  local wh = lode.warehouse { url = pg_url }
  wh:exec("DROP TABLE IF EXISTS pqw_types")
  local defs = {}
  for i, c in ipairs(COLUMNS) do
    defs[i] = c.name .. " " .. c.type
  end
  wh:exec("CREATE TABLE pqw_types (" .. table.concat(defs, ", ") .. ")")
  local r = lode.copy.into(wh, { table = "pqw_types", from = path, format = "parquet" })
  t.eq(r.rows, #ROWS)
  local cells = {}
  for _, c in ipairs(COLUMNS) do
    cells[#cells + 1] = ("%s::text AS %s"):format(c.name, c.name)
  end
  local got = wh:transaction(function(tx)
    tx:exec("SET LOCAL TimeZone = 'UTC'")
    return tx:query("SELECT " .. table.concat(cells, ", ") .. " FROM pqw_types ORDER BY id")
  end)
  local want = pg_oracle(wh)
  t.eq(#got, #want)
  for i, w in ipairs(want) do
    for _, c in ipairs(COLUMNS) do
      t.eq(got[i][c.name], w[c.name], ("row %d %s"):format(i, c.name))
    end
  end
  wh:exec("DROP TABLE pqw_types")
end)

t.test("values a column cannot hold raise invalid_value naming the column", function()
  local dir = t.tmpdir()
  local cases = {
    { "numeric(38,0)", "1" .. NINES },                  -- 39 digits
    { "numeric(38,38)", "1.0" },                        -- an integer digit where none fit
    { "numeric(20,2)", "1.234" },                       -- more fraction digits than the scale
    { "timestamptz", "2024-01-01 00:00:00" },           -- no offset: ambiguous
    { "timestamptz", "2024-01-01 00:00:00+5" },
    { "time", "25:00:00" },
    { "time", "12:00" },
  }
  for _, c in ipairs(cases) do
    local w = parquet.writer(dir .. "/bad.parquet", { columns = { { name = "v", type = c[1] } } })
    local ok, err = pcall(w.write, w, { v = c[2] })
    t.ok(not ok, c[1] .. " " .. c[2])
    t.eq(type(err) == "table" and err.code, "invalid_value", c[1] .. " " .. c[2])
    t.contains(tostring(err), "column v", c[1])
  end
end)

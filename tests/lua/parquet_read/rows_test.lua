-- lode.parquet.rows: Parquet rows as Lua tables, across row groups.
local t = require "lode.test"
local lode = require "lode"
local parquet = require "lode.parquet"
local H = dofile((os.getenv("LODE_ROOT") or ".") .. "/tests/lua/parquet_read/helpers.lua")

if not H.have_node() then
  t.skip_all("node with @duckdb/node-api is not installed in tests/")
  return
end

t.test("rows as Lua values, projection, several row groups", function()
  local dir = H.tmpdir()
  local file = dir .. "/r.parquet"
  H.duckdb({ ("COPY (SELECT i AS a, i / 2.0 AS d, 'n' || i AS s, i %% 2 = 0 AS b, CASE WHEN i = 3 THEN NULL ELSE i END AS o, "
    .. "(i * 1.25)::DECIMAL(6,2) AS dec, [i, i] AS l, ('x' || i)::BLOB AS bin FROM range(5000) t(i)) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 1000)"):format(file) })
  local n = 0
  for row in parquet.rows(file) do
    if n == 3 then
      t.eq(row.a, 3)
      t.eq(row.d, 1.5)
      t.eq(row.s, "n3")
      t.eq(row.b, false)
      t.eq(row.o, lode.null)
      t.eq(row.dec, "3.75")
      t.eq(row.l, "[3,3]")
      t.eq(row.bin, "x3")
    end
    n = n + 1
  end
  t.eq(n, 5000)
  local seen = 0
  for row in parquet.rows(file, { columns = { "s" } }) do
    t.eq(row.a, nil)
    seen = seen + 1
  end
  t.eq(seen, 5000)
  local ok, err = pcall(function() for _ in parquet.rows(dir .. "/none.parquet") do end end)
  t.ok(not ok and tostring(err):find("none.parquet", 1, true), tostring(err))
  require("lode.proc").run({ "rm", "-rf", dir })
end)

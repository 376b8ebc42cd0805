-- Fixtures written by DuckDB at test time (every type it writes, every codec,
-- nested shapes, data page v2 with the DELTA and BYTE_STREAM_SPLIT encodings
-- it emits for format version 2): lode's CSV equals DuckDB's reading.
local t = require "lode.test"
local H = dofile((os.getenv("LODE_ROOT") or ".") .. "/tests/lua/parquet_read/helpers.lua")

if not H.have_node() then
  t.skip_all("node with @duckdb/node-api is not installed in tests/")
  return
end

local SELECT = [[
SELECT i AS id,
  (i % 3 = 0) AS b,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 37 % 1000)::INTEGER END AS i32,
  (i * 1000003)::BIGINT - 5000000 AS i64,
  (i % 100)::TINYINT AS i8, (i % 30000)::SMALLINT AS i16,
  (i % 200)::UTINYINT AS u8, (i * 7)::UINTEGER AS u32, (i * 1000000007)::UBIGINT AS u64,
  (i / 7.0)::FLOAT AS f32, CASE WHEN i % 11 = 0 THEN 'NaN'::DOUBLE WHEN i % 13 = 0 THEN '-inf'::DOUBLE ELSE i / 3.0 END AS f64,
  (i * 12.34)::DECIMAL(9,2) AS d9, (i * -123456.789)::DECIMAL(18,3) AS d18,
  (i * 1234567890.12345)::DECIMAL(38,5) AS d38, (i / 1000.0)::DECIMAL(4,3) AS d4,
  DATE '1970-01-01' + (i * 37 - 2000)::INTEGER AS dt,
  TIME '00:00:00' + INTERVAL (i * 1234567) MICROSECOND AS tm,
  TIMESTAMP '1999-12-31 23:59:59' + INTERVAL (i * 123456789) MICROSECOND AS ts,
  TIMESTAMPTZ '2020-01-01 00:00:00+00' + INTERVAL (i * 1000) SECOND AS tstz,
  (TIMESTAMP '2001-02-03 04:05:06' + INTERVAL (i) SECOND)::TIMESTAMP_MS AS ts_ms,
  (TIMESTAMP '2001-02-03 04:05:06.123456' + INTERVAL (i) SECOND)::TIMESTAMP_NS AS ts_ns,
  CASE WHEN i % 5 = 0 THEN NULL WHEN i % 5 = 1 THEN '' ELSE 'str ' || i || E'\t"x",\\y\n' || repeat('é', i % 4) END AS s,
  ('ab' || i)::BLOB AS bin,
  ('00000000-0000-0000-0000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS u,
  CASE WHEN i % 4 = 0 THEN NULL ELSE [i, i + 1, NULL] END AS li,
  [[i], [], NULL] AS lli,
  {'a': i, 'b': 'x' || i, 'c': [1.5, 2.5]} AS st,
  CASE WHEN i % 6 = 0 THEN NULL ELSE MAP {'k' || i: i, 'z': NULL} END AS mp,
  [{'p': i, 'q': [i::VARCHAR]}] AS los,
  ['a', NULL, 'c'][1 + i % 3] AS dictish
FROM range(0, ROWS) t(i)
]]

t.test("DuckDB-written files with every codec, both page versions", { timeout = 300000 }, function()
  local dir = H.tmpdir()
  local stmts = { "CREATE TABLE t AS " .. SELECT:gsub("ROWS", "2000") }
  local files = {}
  for _, codec in ipairs({ "uncompressed", "snappy", "gzip", "zstd", "lz4_raw", "brotli" }) do
    for _, v in ipairs({ "V1", "V2" }) do
      local file = ("%s/%s_%s.parquet"):format(dir, codec, v)
      stmts[#stmts + 1] = ("COPY t TO '%s' (FORMAT parquet, COMPRESSION %s, ROW_GROUP_SIZE 1024, PARQUET_VERSION %s)")
        :format(file, codec, v)
      files[#files + 1] = file
    end
  end
  local small = dir .. "/small_pages.parquet"   -- many pages and row groups, dictionary fallback
  stmts[#stmts + 1] = ("COPY (SELECT * FROM t UNION ALL SELECT * FROM t) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 700, PARQUET_VERSION V2)"):format(small)
  files[#files + 1] = small
  local empty = dir .. "/empty.parquet"
  stmts[#stmts + 1] = ("COPY (SELECT * FROM t LIMIT 0) TO '%s' (FORMAT parquet)"):format(empty)
  files[#files + 1] = empty
  H.duckdb(stmts)
  local pairs_ = {}
  for _, file in ipairs(files) do
    local r = H.cat(file, "csv")
    t.eq(r.status, 0, file .. ": " .. r.stderr)
    H.write(file .. ".csv", r.stdout)
    pairs_[#pairs_ + 1] = { parquet = file, csv = file .. ".csv" }
  end
  for _, v in ipairs(H.compare(pairs_)) do
    t.eq(v.status, "equal", v.parquet .. ": " .. v.detail)
  end
  require("lode.proc").run({ "rm", "-rf", dir })
end)

t.test("projection, formats and errors of lode parquet cat", function()
  local dir = H.tmpdir()
  local file = dir .. "/p.parquet"
  H.duckdb({ ("COPY (SELECT i AS a, 'x' || i AS b, CASE WHEN i = 1 THEN NULL ELSE E't\\tn\\n' END AS c, [i] AS d FROM range(3) t(i)) TO '%s' (FORMAT parquet)"):format(file) })
  local r = H.cat(file, "csv", { "--columns", "c,a" })
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, 'c,a\n"t\tn\n",0\n,1\n"t\tn\n",2\n')
  r = H.cat(file, "text")
  t.eq(r.stdout, "0\tx0\tt\\tn\\n\t[0]\n1\tx1\t\\N\t[1]\n2\tx2\tt\\tn\\n\t[2]\n")
  r = H.cat(file, "tsv", { "--no-header" })
  t.eq(r.stdout, "0\tx0\tt\\tn\\n\t[0]\n1\tx1\t\t[1]\n2\tx2\tt\\tn\\n\t[2]\n")
  r = H.cat(file, "jsonl", { "--columns", "a,c,d" })
  t.eq(r.stdout, '{"a":0,"c":"t\\tn\\n","d":[0]}\n{"a":1,"c":null,"d":[1]}\n{"a":2,"c":"t\\tn\\n","d":[2]}\n')
  r = H.cat(file, "csv", { "--columns", "nope" })
  t.eq(r.status, 1)
  t.ok(r.stderr:find("no column 'nope'", 1, true) and r.stderr:find(file, 1, true), r.stderr)
  r = H.cat(dir .. "/missing.parquet", "csv")
  t.eq(r.status, 1)
  t.ok(r.stderr:find("missing.parquet", 1, true), r.stderr)
  H.write(dir .. "/junk.parquet", "PAR1 this is not parquet PAR1")
  r = H.cat(dir .. "/junk.parquet", "csv")
  t.eq(r.status, 1)
  t.ok(r.stderr:find("junk.parquet", 1, true), r.stderr)
  require("lode.proc").run({ "rm", "-rf", dir })
end)

t.test("invalid UTF-8 is reported with row and column, or replaced on request", function()
  local dir = H.tmpdir()
  local file = dir .. "/bad.parquet"
  H.duckdb({ ("COPY (SELECT i AS a, CASE WHEN i = 2 THEN 'ok' || chr(200) ELSE 'fine' END AS s FROM range(4) t(i)) TO '%s' (FORMAT parquet)"):format(file) })
  -- DuckDB writes valid UTF-8; corrupt the é (0xC3 0x88) into 0xFF 0x88 in place
  local fh = assert(io.open(file, "rb"))
  local bytes = fh:read("a")
  fh:close()
  local at = bytes:find("ok\xC3\x88", 1, true)
  t.ok(at, "found the string in the file")
  -- only uncompressed pages can be patched: rewrite uncompressed when needed
  if not at then return end
  H.write(file, bytes:sub(1, at + 1) .. "\xFF" .. bytes:sub(at + 3))
  local r = H.cat(file, "csv")
  if r.stderr:find("CRC", 1, true) then t.skip("the writer checksums pages") end
  t.eq(r.status, 1)
  t.ok(r.stderr:find("row 3, column 's'", 1, true) and r.stderr:find("invalid UTF-8", 1, true), r.stderr)
  r = H.cat(file, "csv", { "--accept-invalid-chars", "?" })
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "a,s\n0,fine\n1,fine\n2,ok??\n3,fine\n")
  require("lode.proc").run({ "rm", "-rf", dir })
end)

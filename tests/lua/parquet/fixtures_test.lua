-- Footers of files DuckDB writes at test time (every logical type it writes,
-- several row groups, nulls, nested lists/structs/maps, every codec): the
-- schema, types and statistics lode decodes are the values that were written.
local t = require "lode.test"
local proc = require "lode.proc"
local parquet = require "lode.parquet"
local types = require "lode.types"

local root = os.getenv("LODE_ROOT") or "."

local function duckdb(...)
  local r = proc.run({ "node", root .. "/tests/tools/duckdb.js", ... })
  t.eq(r.status, 0, "duckdb: " .. r.stdout .. r.stderr)
  return r.stdout
end

local N = 5000 -- three row groups of 2048, 2048, 904
local fixture
local function all_types()
  if fixture then
    return fixture
  end
  local dir = t.tmpdir()
  fixture = dir .. "/all.parquet"
  duckdb("CREATE TYPE mood AS ENUM ('happy', 'sad')", ([==[COPY (SELECT
    (i %% 2 = 0) AS b, (i %% 100)::TINYINT AS i8, i::SMALLINT AS i16, (i*100000)::INT AS i32,
    (i*10000000000)::BIGINT AS i64, (i %% 200)::UTINYINT AS u8, i::USMALLINT AS u16, (i*100000)::UINTEGER AS u32,
    (18446744073709540000 + i)::UBIGINT AS u64, (i/4)::FLOAT AS f32, (i/8)::DOUBLE AS f64,
    ((i %% 1000)/10)::DECIMAL(4,1) AS d4, (-i*1.5)::DECIMAL(18,3) AS d18, (i*12345678901234.5)::DECIMAL(38,10) AS d38,
    'name' || lpad(i::VARCHAR, 4, '0') AS s, ('\x0' || (i %% 10))::BLOB AS bl,
    DATE '2024-01-01' + i::INT AS dt, TIME '00:00:00' + INTERVAL (i) SECOND AS tm,
    TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i) HOUR AS ts,
    TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i) MINUTE AS tstz,
    (TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i) SECOND)::TIMESTAMP_MS AS tsms,
    (TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i) SECOND)::TIMESTAMP_NS AS tsns,
    ('00000000-0000-0000-0000-00000000000' || (i %% 10)::VARCHAR)::UUID AS uu,
    (CASE WHEN i %% 2 = 0 THEN 'happy' ELSE 'sad' END)::mood AS en,
    CASE WHEN i %% 3 = 0 THEN NULL ELSE i END AS nullable,
    [i, i+1] AS li, {'x': i, 'y': 'v' || i} AS st, MAP {'k': i} AS mp, [[i]] AS ll
    FROM range(1, %d) t(i)) TO '%s' (ROW_GROUP_SIZE 2048)]==]):format(N + 1, fixture))
  return fixture
end

local function col_index(m, path)
  for j, c in ipairs(m.columns) do
    if c.path == path then
      return j
    end
  end
  error("no column " .. path)
end

local function day(i)
  return os.date("!%Y-%m-%d", os.time({ year = 2024, month = 1, day = 1, hour = 12 }) + i * 86400)
end

local function clock(secs, frac)
  return ("%02d:%02d:%02d%s"):format(secs // 3600, secs // 60 % 60, secs % 60, frac or "")
end

t.test("schema, row groups and nulls of a DuckDB file", function()
  local m = parquet.metadata(all_types())
  t.eq(m.num_rows, N)
  t.eq(#m.row_groups, 3)
  t.eq({ m.row_groups[1].num_rows, m.row_groups[2].num_rows, m.row_groups[3].num_rows }, { 2048, 2048, 904 })
  t.eq(#m.columns, 31)
  t.eq(#m.schema.children, 29, "top-level fields")
  t.match(m.created_by, "^DuckDB")
  t.eq(m.requests, 1, "one request for a footer within 64 KiB")
  local li = m.columns[col_index(m, "li.list.element")]
  t.eq({ li.max_definition_level, li.max_repetition_level }, { 3, 1 })
  t.eq(li.path_in_schema, { "li", "list", "element" })
  local ll = m.columns[col_index(m, "ll.list.element.list.element")]
  t.eq(ll.max_repetition_level, 2)
  local nc = col_index(m, "nullable")
  t.eq(m.row_groups[1].columns[nc].statistics.null_count, 682)
  t.eq(m.row_groups[3].columns[nc].statistics.null_count, 301)
  local st = m.schema.children[27]
  t.eq({ st.name, #st.children, st.children[2].name }, { "st", 2, "y" })
end)

t.test("statistics decode to the values written, per row group", function()
  local m = parquet.metadata(all_types())
  local function range(path, g)
    local s = m.row_groups[g].columns[col_index(m, path)].statistics
    return { s.min, s.max }
  end
  local lo, hi = 4097, 5000 -- row group 3
  t.eq(range("b", 1), { false, true })
  t.eq(range("i8", 1), { 0, 99 })
  t.eq(range("i16", 3), { lo, hi })
  t.eq(range("i32", 3), { lo * 100000, hi * 100000 })
  t.eq(range("i64", 1), { 10000000000, 2048 * 10000000000 })
  t.eq(range("u8", 1), { 0, 199 })
  t.eq(range("u16", 3), { lo, hi })
  t.eq(range("u32", 3), { lo * 100000, hi * 100000 })
  t.eq(range("u64", 3), { "18446744073709544097", "18446744073709545000" }, "UBIGINT above int64 as exact text")
  t.eq(range("f32", 1), { 0.25, 512.0 })
  t.eq(range("f64", 3), { lo / 8, hi / 8 })
  t.eq(range("d4", 1), { "0.0", "99.9" })
  t.eq(range("d18", 3), { "-7500.000", "-6145.500" })
  t.eq(range("d38", 1), { "12345678901234.5000000000", "25283950389728256.0000000000" })
  t.eq(range("s", 3), { "name4097", "name5000" })
  t.eq(range("dt", 3), { day(lo), day(hi) })
  t.eq(range("tm", 1), { clock(1), clock(2048) })
  t.eq(range("ts", 1), { "2024-01-01T01:00:00", day(85) .. "T08:00:00" }) -- 2048 h = 85 d 8 h
  t.eq(range("tstz", 1), { "2024-01-01T00:01:00Z", "2024-01-02T10:08:00Z" }) -- 2048 min
  t.eq(range("tsms", 1), { "2024-01-01T00:00:01", "2024-01-01T" .. clock(2048) })
  t.eq(range("tsns", 3), { "2024-01-01T" .. clock(lo), "2024-01-01T" .. clock(hi) })
  t.eq(range("uu", 1), { "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000009" })
  t.eq(range("en", 1), { "happy", "sad" })
  t.eq(range("nullable", 1), { 1, 2048 })
  t.eq(range("li.list.element", 3), { lo, hi + 1 })
  t.eq(range("st.y", 1), { "v1", "v999" })
  t.eq(range("ll.list.element.list.element", 2), { 2049, 4096 })
end)

t.test("logical types and their warehouse types", function()
  local m = parquet.schema(all_types())
  local by = {}
  for _, c in ipairs(m.schema.children) do
    by[c.name] = c
  end
  local want = {
    b = { "boolean", "boolean" }, i8 = { "smallint", "smallint" }, i16 = { "smallint", "smallint" },
    i32 = { "integer", "integer" }, i64 = { "bigint", "bigint" }, u8 = { "smallint", "smallint" },
    u16 = { "integer", "integer" }, u32 = { "bigint", "bigint" }, u64 = { "numeric(20,0)", "numeric(20,0)" },
    f32 = { "real", "real" }, f64 = { "double precision", "double precision" },
    d4 = { "numeric(4,1)", "numeric(4,1)" }, d18 = { "numeric(18,3)", "numeric(18,3)" },
    d38 = { "numeric(38,10)", "numeric(38,10)" }, s = { "varchar(65535)", "text" },
    bl = { "varbyte(1024000)", "bytea" }, dt = { "date", "date" }, tm = { "time", "time" },
    ts = { "timestamp", "timestamp" }, tstz = { "timestamptz", "timestamptz" },
    tsms = { "timestamp", "timestamp" }, tsns = { "timestamp", "timestamp" }, uu = { "char(36)", "uuid" },
    en = { "varchar(65535)", "text" }, nullable = { "bigint", "bigint" }, li = { "super", "jsonb" },
    st = { "super", "jsonb" }, mp = { "super", "jsonb" }, ll = { "super", "jsonb" },
  }
  for name, w in pairs(want) do
    t.eq({ types.redshift(by[name]), types.postgres(by[name]) }, w, name)
  end
  t.eq(by.tstz.logical_type, { type = "TIMESTAMP", unit = "MICROS", is_adjusted_to_utc = true })
  t.eq(by.tsns.logical_type, { type = "TIMESTAMP", unit = "NANOS", is_adjusted_to_utc = false })
  t.eq(by.uu.logical_type, { type = "UUID" })
  t.eq(by.d38.logical_type, { type = "DECIMAL", precision = 38, scale = 10 })
  t.eq(types.redshift(by.s, { string = "varchar(256)" }), "varchar(256)")
  t.eq(types.columns(m.schema, "postgres")[1], { name = "b", type = "boolean" })
  -- types of the corpus' INT96 and legacy annotations
  t.eq(types.redshift({ type = "INT96" }), "timestamp")
  t.eq(types.postgres({ type = "BYTE_ARRAY", converted_type = "JSON" }), "jsonb")
  t.eq(types.redshift({ type = "BYTE_ARRAY", logical_type = { type = "JSON" } }), "super")
  t.eq(types.redshift({ type = "FIXED_LEN_BYTE_ARRAY", logical_type = { type = "DECIMAL", precision = 50, scale = 2 } }),
    "varchar(80)")
end)

t.test("every codec DuckDB writes is named in the footer", function()
  local dir = t.tmpdir()
  local codecs = { uncompressed = "UNCOMPRESSED", snappy = "SNAPPY", gzip = "GZIP", zstd = "ZSTD", lz4 = "LZ4_RAW",
                   brotli = "BROTLI" }
  local stmts = {}
  for name in pairs(codecs) do
    stmts[#stmts + 1] = ("COPY (SELECT i, 'x' || i AS s FROM range(100) t(i)) TO '%s/%s.parquet' (COMPRESSION %s)")
      :format(dir, name, name)
  end
  duckdb(table.unpack(stmts))
  for name, want in pairs(codecs) do
    local m = parquet.metadata(dir .. "/" .. name .. ".parquet")
    t.eq(m.row_groups[1].columns[1].codec, want, name)
    t.eq(m.row_groups[1].columns[2].codec, want, name)
  end
end)

t.test("a footer larger than the speculative read takes exactly two requests", function()
  local f = all_types()
  local one = parquet.metadata(f)
  local two = parquet.metadata(f, { speculative = 256 })
  t.ok(one.footer_length > 256)
  t.eq(one.requests, 1)
  t.eq(two.requests, 2)
  two.requests = 1
  t.eq(two, one, "same footer either way")
end)

t.test("summary across files: totals and disagreeing schemas", function()
  local dir = t.tmpdir()
  duckdb(("COPY (SELECT i AS a, 'x' AS b FROM range(10) t(i)) TO '%s/p1.parquet'"):format(dir),
    ("COPY (SELECT i AS a, 'y' AS b FROM range(20) t(i)) TO '%s/p2.parquet'"):format(dir),
    ("COPY (SELECT i::INT AS a FROM range(5) t(i)) TO '%s/p3.parquet'"):format(dir))
  local s = parquet.summary(dir)
  t.eq(s.files, 3)
  t.eq(s.total_rows, 35)
  t.eq(#s.schemas, 2)
  t.eq(s.schemas_agree, false)
  t.eq(s.schemas[1].files, { dir .. "/p1.parquet", dir .. "/p2.parquet" })
  t.eq(s.schemas[2].files, { dir .. "/p3.parquet" })
  t.eq(s.columns[1].path, "a")
  t.eq(s.columns[1].values, 30)
  t.ok(s.total_bytes > 0)
  -- an unreadable file: raised by default, collected on request
  local fh = io.open(dir .. "/junk.parquet", "w")
  fh:write("not parquet at all")
  fh:close()
  local err = t.raises(function() parquet.summary(dir) end)
  t.eq(err.code, "corrupt")
  s = parquet.summary(dir, { on_error = "collect", concurrency = 2 })
  t.eq(#s.errors, 1)
  t.eq(s.errors[1].file, dir .. "/junk.parquet")
  t.eq(s.total_rows, 35)
end)

t.test("1,000 footers read concurrently through parquet.each", function()
  local dir = t.tmpdir()
  duckdb(("COPY (SELECT i AS a FROM range(3) t(i)) TO '%s/base.parquet'"):format(dir))
  local src = io.open(dir .. "/base.parquet", "rb"):read("a")
  local files = {}
  for i = 1, 1000 do
    files[i] = ("%s/f%04d.parquet"):format(dir, i)
    local fh = io.open(files[i], "wb")
    fh:write(src)
    fh:close()
  end
  local rows, requests = 0, 0
  parquet.each(files, function(_, m)
    rows = rows + m.num_rows
    requests = requests + m.requests
  end, { concurrency = 16 })
  t.eq(rows, 3000)
  t.eq(requests, 1000, "one request per small footer")
end)

t.test("lode parquet meta prints text and JSON, and fails cleanly", function()
  local bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
  local f = all_types()
  local r = proc.run({ bin, "parquet", "meta", f })
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "rows:       5000 in 3 row groups; 31 columns")
  t.contains(r.stdout, "optional tstz: INT64 TIMESTAMP(MICROS,UTC)")
  r = proc.run({ bin, "parquet", "meta", f, "--json" })
  t.eq(r.status, 0, r.stderr)
  t.match(r.stdout, '^{"columns":%[')
  t.contains(r.stdout, '"num_rows":5000')
  local node = proc.run({ "node", "-e", "const m = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
    .. "console.log(m.row_groups.length, m.columns.length, m.row_groups[0].columns[19].statistics.max)" },
    { stdin = r.stdout })
  t.eq(node.stdout, "3 31 2024-01-02T10:08:00Z\n", "the JSON parses and carries the stats")
  local junk = t.tmpdir() .. "/junk.parquet"
  local fh = io.open(junk, "w")
  fh:write("this is not a parquet file")
  fh:close()
  r = proc.run({ bin, "parquet", "meta", junk })
  t.eq(r.status, 1)
  t.eq(r.stderr, "lode: " .. junk .. ": not a Parquet file: no PAR1 magic at the end\n", "one clear line")
  r = proc.run({ bin, "parquet", "schema", f })
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "tstz")
  t.contains(r.stdout, "timestamptz")
end)

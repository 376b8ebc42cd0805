-- lode parquet cat over Apache's parquet-testing corpus: every file DuckDB
-- can read gives the same CSV as DuckDB (normalisation: tests/tools/parquet_diff.js),
-- the delta_*_expect.csv files match, and bad files fail with clear errors.
local t = require "lode.test"
local H = dofile((os.getenv("LODE_ROOT") or ".") .. "/tests/lua/parquet_read/helpers.lua")

local shared = os.getenv("LODE_SHARED")
local data = shared and (shared .. "/parquet-testing/data")
local f = data and io.open(data .. "/alltypes_plain.parquet", "rb")
if not f then
  t.skip_all("the parquet-testing corpus is not in $LODE_SHARED (../shared)")
  return
end
f:close()

local function list(dir, pattern)
  local r = require("lode.proc").run({ "sh", "-c", "ls " .. dir .. " 2>/dev/null" })
  local out = {}
  for name in r.stdout:gmatch("[^\n]+") do
    if name:match(pattern) then out[#out + 1] = name end
  end
  return out
end

-- Files lode must refuse, and the words its message must contain.
local MUST_FAIL = {
  ["datapage_v1-corrupt-checksum.parquet"] = "CRC mismatch",
  ["rle-dict-uncompressed-corrupt-checksum.parquet"] = "CRC mismatch",
  ["nation.dict-malformed.parquet"] = "runs past the end",
  ["large_string_map.brotli.parquet"] = "too large",
}
-- Where DuckDB is the one that is wrong.
local KNOWN_DIFFER = {
  ["int96_from_spark.parquet"] = "DuckDB overflows INT96 beyond the nanosecond range; lode's values are checked in timestamps_test.lua",
}

t.test("every corpus file DuckDB reads gives DuckDB's values", { timeout = 300000 }, function()
  if not H.have_node() then t.skip("node with @duckdb/node-api is not installed in tests/") end
  local dir = H.tmpdir()
  local pairs_, compared = {}, 0
  for _, name in ipairs(list(data, "%.parquet$")) do
    local r = H.cat(data .. "/" .. name, "csv")
    if MUST_FAIL[name] then
      t.eq(r.status, 1, name .. " must fail")
      t.ok(r.stderr:find(MUST_FAIL[name], 1, true) and r.stderr:find(name, 1, true),
           name .. ": message names the file and the cause: " .. r.stderr)
    else
      t.eq(r.status, 0, name .. ": " .. r.stderr)
      local csv = dir .. "/" .. name .. ".csv"
      H.write(csv, r.stdout)
      pairs_[#pairs_ + 1] = { parquet = data .. "/" .. name, csv = csv }
    end
  end
  local skipped = {}
  for _, v in ipairs(H.compare(pairs_)) do
    local name = v.parquet:match("[^/]+$")
    if v.status == "duckdb_error" then
      skipped[#skipped + 1] = name
    elseif KNOWN_DIFFER[name] then
      t.eq(v.status, "differ", name .. " was listed as differing (" .. KNOWN_DIFFER[name] .. ")")
    else
      t.eq(v.status, "equal", name .. ": " .. v.detail)
      compared = compared + 1
    end
  end
  t.ok(compared >= 50, ("compared %d files with DuckDB (DuckDB cannot read: %s)"):format(compared, table.concat(skipped, ", ")))
  require("lode.proc").run({ "rm", "-rf", dir })
end)

t.test("LZ4 files DuckDB cannot read still decode (Hadoop framing, raw block)", function()
  for _, name in ipairs({ "hadoop_lz4_compressed.parquet", "hadoop_lz4_compressed_larger.parquet",
                          "non_hadoop_lz4_compressed.parquet", "lz4_raw_compressed.parquet" }) do
    local r = H.cat(data .. "/" .. name, "csv")
    t.eq(r.status, 0, name .. ": " .. r.stderr)
    local rows = H.parse_csv(r.stdout)
    t.ok(#rows >= 4, name .. " has rows")
  end
  local r = H.cat(data .. "/hadoop_lz4_compressed.parquet", "csv")
  -- c1 is an unannotated BYTE_ARRAY: bytea, in PostgreSQL's hex form
  t.eq(r.stdout, "c0,c1,v11\n1593604800,\\x616263,42\n1593604800,\\x646566,7.7\n"
    .. "1593604801,\\x616263,42.125\n1593604801,\\x646566,7.7\n")
end)

t.test("BYTE_STREAM_SPLIT columns equal their PLAIN twins (all widths)", function()
  local r = H.cat(data .. "/byte_stream_split_extended.gzip.parquet", "csv")
  t.eq(r.status, 0, r.stderr)
  local rows = H.parse_csv(r.stdout)
  local header = rows[1]
  local pairs_ = 0
  for i, name in ipairs(header) do
    local base = name:match("^(.*)_byte_stream_split$")
    if base then
      for j, other in ipairs(header) do
        if other == base .. "_plain" then
          pairs_ = pairs_ + 1
          for k = 2, #rows do t.eq(rows[k][i], rows[k][j], name .. " row " .. (k - 1)) end
        end
      end
    end
  end
  t.ok(pairs_ >= 5, "found split/plain pairs: " .. pairs_)
end)

t.test("the corpus's expected CSVs for the DELTA encodings match", function()
  for _, base in ipairs({ "delta_binary_packed", "delta_byte_array", "delta_encoding_optional_column",
                          "delta_encoding_required_column" }) do
    local r = H.cat(data .. "/" .. base .. ".parquet", "csv")
    t.eq(r.status, 0, r.stderr)
    local got = H.parse_csv(r.stdout)
    local fh = assert(io.open(data .. "/" .. base .. "_expect.csv", "rb"))
    local want = H.parse_csv(fh:read("a"))
    fh:close()
    t.eq(#got, #want, base .. " rows")
    for i = 2, #want do   -- headers differ in spelling; the values must not
      for j = 1, #want[i] do
        -- the expected files write NULL and '' alike, as an empty field
        t.eq(got[i][j] or "", want[i][j] or "", ("%s row %d column %d"):format(base, i - 1, j))
      end
    end
  end
end)

t.test("DELTA_LENGTH_BYTE_ARRAY: apple_banana_mango + i*i", function()
  local r = H.cat(data .. "/delta_length_byte_array.parquet", "text")
  t.eq(r.status, 0, r.stderr)
  local i = 0
  for line in r.stdout:gmatch("[^\n]+") do
    t.eq(line, "apple_banana_mango" .. (i * i))
    i = i + 1
  end
  t.eq(i, 1000)
end)

t.test("bad_data files fail with a clear message and no crash", function()
  local dir = (shared .. "/parquet-testing/bad_data")
  local n = 0
  for _, name in ipairs(list(dir, "%.parquet$")) do
    local r = H.cat(dir .. "/" .. name, "csv")
    -- ARROW-GH-41317 / 45185 and friends are readable in part; what matters:
    -- never a signal, and a failure names the file
    t.ok(r.signal == nil or r.signal == 0, name .. " crashed with signal " .. tostring(r.signal))
    if r.status ~= 0 then
      t.eq(r.status, 1, name)
      t.ok(r.stderr:find(name, 1, true), name .. ": " .. r.stderr)
      n = n + 1
    end
  end
  t.ok(n >= 5, "at least 5 bad files were refused: " .. n)
end)

t.test("encrypted files are refused clearly", function()
  local r = H.cat(data .. "/uniform_encryption.parquet.encrypted", "csv")
  t.eq(r.status, 1)
  t.ok(r.stderr:find("encrypt", 1, true), r.stderr)
end)

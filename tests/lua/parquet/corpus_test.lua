-- Differential test: lode's footer reader against DuckDB's parquet_metadata()
-- / parquet_schema() / parquet_file_metadata() over every file of Apache's
-- parquet-testing corpus ($LODE_SHARED/parquet-testing). Files DuckDB reads
-- must agree field by field; encrypted and bad files must fail cleanly.
local t = require "lode.test"
local proc = require "lode.proc"
local fs = require "lode.fs"
local parquet = require "lode.parquet"

local shared = os.getenv("LODE_SHARED")
local corpus = shared and (shared .. "/parquet-testing")
if not corpus or not fs.stat(corpus .. "/data") then
  t.skip_all("the parquet-testing corpus is absent ($LODE_SHARED/parquet-testing)")
end
local root = os.getenv("LODE_ROOT") or "."

local function corpus_files(dir, suffixes)
  local out = {}
  for _, e in ipairs(fs.scandir(corpus .. "/" .. dir) or {}) do
    for _, s in ipairs(suffixes) do
      if e.type == "file" and e.name:sub(-#s) == s then
        out[#out + 1] = corpus .. "/" .. dir .. "/" .. e.name
      end
    end
  end
  table.sort(out)
  return out
end

local function unescape(v)
  if v == "\\N" then
    return nil
  end
  return (v:gsub("\\(.)", { t = "\t", n = "\n", ["\\"] = "\\" }))
end

-- Run the DuckDB oracle once over all files: { [file] = {error=|num_rows=, schema={}, meta={}} }
local oracle_cache
local function oracle()
  if oracle_cache then
    return oracle_cache
  end
  local files = corpus_files("data", { ".parquet" })
  for _, f in ipairs(corpus_files("bad_data", { ".parquet" })) do
    files[#files + 1] = f
  end
  local r = proc.run({ "node", root .. "/tests/tools/parquet_oracle.js" }, { stdin = table.concat(files, "\n") .. "\n" })
  t.eq(r.status, 0, "parquet_oracle.js: " .. (r.stderr or ""))
  local out, cur = {}, nil
  for line in r.stdout:gmatch("[^\n]+") do
    local f, n = {}, 0
    for field in (line .. "\t"):gmatch("([^\t]*)\t") do
      n = n + 1
      f[n] = unescape(field)
    end
    local kind = f[1]
    if kind == "F" then
      cur = { schema = {}, meta = {} }
      out[f[2]] = cur
    elseif kind == "E" then
      cur.error = f[2]
    elseif kind == "N" then
      cur.num_rows, cur.num_row_groups = tonumber(f[2]), tonumber(f[3])
    elseif kind == "S" then
      cur.schema[#cur.schema + 1] = { name = f[2], type = f[3], type_length = tonumber(f[4]), repetition = f[5],
        num_children = tonumber(f[6]), converted_type = f[7], scale = tonumber(f[8]), precision = tonumber(f[9]),
        field_id = tonumber(f[10]) }
    elseif kind == "M" then
      cur.meta[#cur.meta + 1] = { rg = tonumber(f[2]), col = tonumber(f[3]), path = f[4], type = f[5], codec = f[6],
        encodings = f[7], num_values = tonumber(f[8]), total_compressed_size = tonumber(f[9]),
        data_page_offset = tonumber(f[10]), null_count = tonumber(f[11]) }
    end
  end
  oracle_cache = out
  return out
end

local function flatten(node, out)
  out[#out + 1] = node
  for _, c in ipairs(node.children or {}) do
    flatten(c, out)
  end
  return out
end

local function encoding_set(list)
  local s = {}
  for _, e in ipairs(list) do
    s[e] = true
  end
  return s
end

local function compare(file, m, o)
  local where = file:match("[^/]+$")
  t.eq(m.file_num_rows, o.num_rows, where .. ": num_rows")
  t.eq(#m.row_groups, o.num_row_groups, where .. ": row groups")
  local mine = flatten(m.schema, {})
  t.eq(#mine, #o.schema, where .. ": schema elements")
  for i, want in ipairs(o.schema) do
    local got = mine[i]
    local w = ("%s: schema[%d] %s"):format(where, i, want.name)
    t.eq(got.name, want.name, w .. " name")
    t.eq(got.type, want.type, w .. " physical type")
    t.eq(got.type_length, want.type_length, w .. " type_length")
    if i > 1 or want.repetition then
      t.eq(got.repetition, want.repetition, w .. " repetition")
    end
    t.eq(got.children and #got.children or nil, want.num_children ~= 0 and want.num_children or nil, w .. " children")
    t.eq(got.converted_type, want.converted_type, w .. " converted type")
    t.eq(got.field_id, want.field_id, w .. " field id")
    if want.converted_type == "DECIMAL" then
      t.eq(got.precision, want.precision, w .. " precision")
      t.eq(got.scale, want.scale, w .. " scale")
    end
  end
  local n = 0
  for g, rg in ipairs(m.row_groups) do
    for j, cc in ipairs(rg.columns) do
      n = n + 1
      local want = o.meta[n]
      local w = ("%s: row group %d column %d"):format(where, g, j)
      t.ok(want, w .. ": DuckDB has no such chunk")
      t.eq(g - 1, want.rg, w .. " row group id")
      t.eq(j - 1, want.col, w .. " column id")
      t.eq(table.concat(m.columns[j].path_in_schema, ", "), want.path, w .. " path")
      t.eq(cc.type, want.type, w .. " type")
      t.eq(cc.codec, want.codec, w .. " codec")
      local theirs = {}
      for e in (want.encodings or ""):gmatch("[^, ]+") do
        theirs[#theirs + 1] = e
      end
      t.eq(encoding_set(cc.encodings), encoding_set(theirs), w .. " encodings")
      t.eq(cc.num_values, want.num_values, w .. " num_values")
      t.eq(cc.total_compressed_size, want.total_compressed_size, w .. " compressed size")
      t.eq(cc.data_page_offset, want.data_page_offset, w .. " data page offset")
      t.eq(cc.statistics and cc.statistics.null_count, want.null_count, w .. " null count")
    end
  end
  t.eq(n, #o.meta, where .. ": column chunk count")
end

t.test("every corpus file DuckDB reads has the same footer in lode", function()
  local files = corpus_files("data", { ".parquet" })
  t.ok(#files > 50, "corpus has its data files")
  local o = oracle()
  local compared = 0
  for _, f in ipairs(files) do
    local ok, m = pcall(parquet.metadata, f)
    if o[f].error then
      t.diag(("DuckDB cannot read %s (%s); lode: %s"):format(f:match("[^/]+$"), o[f].error,
        ok and "parsed" or tostring(m)))
    else
      t.ok(ok, ("lode fails on %s, which DuckDB reads: %s"):format(f, tostring(m)))
      compare(f, m, o[f])
      compared = compared + 1
    end
  end
  t.ok(compared >= 60, ("compared %d files"):format(compared))
end)

t.test("encrypted files are refused with code 'encrypted'", function()
  local files = corpus_files("data", { ".parquet.encrypted" })
  for _, f in ipairs(corpus_files("data/aes256", { ".parquet.encrypted", ".parquet" })) do
    files[#files + 1] = f
  end
  t.ok(#files >= 8, "the corpus has encrypted files")
  for _, f in ipairs(files) do
    local ok, err = pcall(parquet.metadata, f)
    t.ok(not ok, f .. " must not parse")
    t.eq(type(err), "table", "structured error for " .. f)
    t.eq(err.code, "encrypted", f)
    t.eq(err.file, f)
    t.contains(err.message, "encrypted Parquet file")
  end
end)

t.test("bad_data files: DuckDB-readable footers agree, the rest fail cleanly", function()
  local files = corpus_files("bad_data", { ".parquet" })
  t.ok(#files >= 8, "bad_data present")
  local o = oracle()
  local failed = 0
  for _, f in ipairs(files) do
    local ok, m = pcall(parquet.metadata, f)
    if ok then
      if not o[f].error then
        compare(f, m, o[f])
      end
    else
      failed = failed + 1
      t.eq(type(m), "table", "structured error for " .. f)
      t.eq(m.code, "corrupt", f)
      t.match(m.message, "^corrupt Parquet footer: .+ at byte %d+")
    end
  end
  -- PARQUET-1481 (negative physical type) breaks the footer itself
  local ok, err = pcall(parquet.metadata, corpus .. "/bad_data/PARQUET-1481.parquet")
  t.ok(not ok)
  t.contains(err.message, "invalid physical type -7")
  t.contains(err.message, "FileMetaData.schema[1]")
  t.ok(failed >= 1)
end)

t.test("statistics from the corpus decode by their logical types", function()
  local function stats(file, col)
    local m = parquet.metadata(corpus .. "/data/" .. file)
    return m.row_groups[1].columns[col or 1].statistics, m
  end
  local s = stats("int32_decimal.parquet")
  t.eq({ s.min, s.max }, { "1.00", "24.00" }, "INT32 DECIMAL(4,2)")
  s = stats("int64_decimal.parquet")
  t.eq({ s.min, s.max }, { "1.00", "24.00" }, "INT64 DECIMAL(10,2)")
  -- parquet-mr 1.8 wrote only the deprecated pair for FLBA, compared as
  -- signed bytes: not trustworthy for a byte-array type
  s = stats("fixed_length_decimal.parquet")
  t.eq(s.null_count, 0)
  t.is_nil(s.min, "deprecated FLBA min ignored")
  -- INT96 statistics are never trusted
  s = stats("int96_from_spark.parquet")
  t.is_nil(s and s.min, "INT96 min ignored")
  -- a NaN bound makes both bounds untrustworthy
  s = stats("nan_in_stats.parquet")
  t.is_nil(s.min, "NaN in stats ignored")
  -- float16: FLBA(2) widened to numbers
  s = stats("float16_nonzeros_and_nans.parquet")
  t.eq({ s.min, s.max }, { -2.0, 2.0 }, "FLOAT16 bounds")
  -- old-style byte-array stats (unsigned order unknown) are not trusted;
  -- binary_truncated_min_max has min_value/max_value with TYPE_ORDER
  local m
  s, m = stats("binary_truncated_min_max.parquet", 1)
  t.ok(m.columns[1].column_order == "TYPE_ORDER")
  t.eq(type(s.min), "string")
  t.ok(s.min <= s.max)
  -- sort_columns records its sorting columns
  m = parquet.metadata(corpus .. "/data/sort_columns.parquet")
  t.eq(#m.row_groups[1].sorting_columns, 2)
  t.eq(m.row_groups[1].sorting_columns[1].column, 1)
  -- dict-page-offset-zero: an offset of 0 means no dictionary page
  m = parquet.metadata(corpus .. "/data/dict-page-offset-zero.parquet")
  t.is_nil(m.row_groups[1].columns[1].dictionary_page_offset)
  -- unknown logical type members are kept opaque, not fatal
  m = parquet.metadata(corpus .. "/data/unknown-logical-type.parquet")
  t.eq(m.columns[2].logical_type.type, "UNRECOGNIZED")
  -- repeated_no_annotation: file num_rows 0, row groups say 6
  m = parquet.metadata(corpus .. "/data/repeated_no_annotation.parquet")
  t.eq(m.num_rows, 6)
end)

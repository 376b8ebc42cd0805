-- Shared helpers for the Parquet reader tests: run `lode parquet cat`, drive
-- DuckDB through tests/tools/parquet_diff.js, parse CSV.
local t = require "lode.test"
local proc = require "lode.proc"

local M = {}

M.root = os.getenv("LODE_ROOT") or "."
M.bin = os.getenv("LODE_BIN") or (M.root .. "/build/lode")
M.tool = M.root .. "/tests/tools/parquet_diff.js"

function M.tmpdir()
  local r = proc.run({ "mktemp", "-d" })
  t.eq(r.status, 0, r.stderr)
  return (r.stdout:gsub("%s+$", ""))
end

function M.write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

function M.cat(file, fmt, extra)
  local argv = { M.bin, "parquet", "cat", "--format", fmt or "csv" }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  argv[#argv + 1] = file
  return proc.run(argv, { max_output = 512 * 1024 * 1024 })
end

-- DuckDB's verdict on each {parquet=, csv=} pair.
function M.compare(pairs)
  local parts = {}
  for i, p in ipairs(pairs) do
    parts[i] = ('{"parquet":"%s","csv":"%s"}'):format(p.parquet, p.csv)
  end
  local r = proc.run({ "node", M.tool, "compare" }, { stdin = "[" .. table.concat(parts, ",") .. "]",
                                                      cwd = M.root .. "/tests", timeout = 300000 })
  t.eq(r.status, 0, r.stdout .. r.stderr)
  local out = {}
  for line in r.stdout:gmatch("[^\n]+") do
    local status, file, detail = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    out[#out + 1] = { parquet = file, status = status, detail = detail }
  end
  t.eq(#out, #pairs, "one verdict per file: " .. r.stdout:sub(1, 500))
  return out
end

function M.duckdb(stmts)
  local argv = { "node", M.tool, "sql" }
  for _, s in ipairs(stmts) do argv[#argv + 1] = s end
  local r = proc.run(argv, { cwd = M.root .. "/tests", timeout = 300000 })
  t.eq(r.status, 0, r.stdout .. r.stderr)
end

-- RFC 4180 rows; nil for an unquoted empty field.
function M.parse_csv(text)
  local rows, row, field, i, n = {}, {}, {}, 1, #text
  local quoted, was = false, false
  while i <= n do
    local c = text:sub(i, i)
    if quoted then
      if c == '"' then
        if text:sub(i + 1, i + 1) == '"' then field[#field + 1] = '"'; i = i + 1 else quoted = false end
      else
        field[#field + 1] = c
      end
    elseif c == '"' then
      quoted, was = true, true
    elseif c == "," or c == "\n" then
      local s = table.concat(field)
      row[#row + 1] = (s == "" and not was) and false or s
      field, was = {}, false
      if c == "\n" then rows[#rows + 1] = row; row = {} end
    elseif c ~= "\r" then
      field[#field + 1] = c
    end
    i = i + 1
  end
  if #field > 0 or #row > 0 then
    local s = table.concat(field)
    row[#row + 1] = (s == "" and not was) and false or s
    rows[#rows + 1] = row
  end
  return rows
end

function M.have_node()
  local ok, r = pcall(proc.run, { "node", "-e", "require('@duckdb/node-api')" }, { cwd = M.root .. "/tests" })
  return ok and r.status == 0
end

return M

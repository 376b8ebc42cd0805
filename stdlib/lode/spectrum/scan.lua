-- lode.spectrum.scan — `lode spectrum scan`: the program the emulated
-- partitions run, printing a folder's Parquet rows as COPY text.

local core = require "lode.core"
local discover = require "lode.spectrum.discover"

local M = {}

-- `lode spectrum scan`: the program the emulated partitions run -------------------------

local function copy_text(v)
  if v == nil or v == core.null then
    return "\\N"
  end
  local t = type(v)
  if t == "boolean" then
    return v and "t" or "f"
  elseif t == "number" then
    if math.type(v) == "integer" then
      return tostring(v)
    elseif v ~= v then
      return "NaN"
    elseif v == math.huge then
      return "Infinity"
    elseif v == -math.huge then
      return "-Infinity"
    end
    for digits = 15, 17 do
      local s = ("%." .. digits .. "g"):format(v)
      if tonumber(s) == v then
        return s
      end
    end
    return ("%.17g"):format(v)
  end
  return (tostring(v):gsub("[\\\t\n\r]", { ["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r" }))
end
M._copy_text = copy_text

--- scan(url, columns, values) -> rows: every data file under url on stdout as
--- PostgreSQL COPY text rows of the named columns (NULL where a file lacks
--- one) followed by the partition values. The rows are rendered in C
--- (lode.parquetrows.cat), straight from S3 or the file.
function M.scan(url, columns, values)
  local pr = require "lode.parquetrows"
  local suffix = {}
  for i, v in ipairs(values) do
    suffix[i] = "\t" .. copy_text(v)
  end
  suffix = table.concat(suffix)
  local rows = 0
  for _, f in ipairs(discover.list_files(url)) do
    rows = rows + pr.cat(f.url, { columns = columns, format = "text", missing = "null", suffix = suffix })
  end
  return rows
end

return M

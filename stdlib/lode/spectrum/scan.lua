-- lode.spectrum.scan — `lode spectrum scan`: the program the emulated
-- partitions run, printing a folder's Parquet rows as COPY text.

local lode = require "lode"
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
local CHUNK = 4 << 20

-- A text table's objects through the COPY decoder (lode.load): each object
-- read in ranged chunks, one ahead, so memory stays at a few chunks whatever
-- the object's size. A bad value ends the scan with its file, line and
-- column unless the table's properties say to drop its row.
local function scan_text(url, columns, suffix_of, o)
  local load = require "lode.load"
  local s3 = require "lode.s3"
  local textfmt = require "lode.spectrum.textfmt"
  local cols = {}
  for i, name in ipairs(columns) do
    -- JSON: the key a column reads ('mapping.<column>' or its name)
    cols[i] = textfmt.decoder_column(o.keys and o.keys[i] or name, o.types[i] or "text")
  end
  local dec = load.decoder {
    format = o.format, columns = cols, delimiter = o.delimiter, quote = o.quote, escape = o.escape,
    null_as = o.null_as, ignoreheader = o.ignoreheader, compression = o.compression, ignorecase = o.ignorecase,
    dots_in_keys = o.dots_in_keys, opencsv = o.opencsv, jsonpaths = o.jsonpaths, acceptinvchars = o.acceptinvchars,
    truncatecolumns = o.truncatecolumns, null_codes = o.null_codes,
  }
  local out = io.stdout
  local suffix = ""
  local function emit(text)
    if #text > 0 then
      -- COPY text escapes newlines inside values: every "\n" ends a row
      out:write(suffix == "" and text or (text:gsub("\n", suffix .. "\n")))
    end
  end
  local ncols = #columns
  -- The server only says the program failed; its COPY error's context
  -- quotes the line it could not take: one line with a field too many
  -- carries the message to the query's error (the rows before it were
  -- complete, so the line starts a row).
  local function tell(msg)
    out:write((msg:gsub("[%c\\]", " ")), ("\t"):rep(ncols + 1), "\n")
    out:flush()
  end
  -- a record the decoder cannot take at all (an unterminated quote, bytes
  -- OpenCSVSerde would read its own way) ends the scan the same way
  local function decode(fn, ...)
    local ok, res = pcall(fn, dec, ...)
    if not ok then
      -- the reason first: the server's context quotes only the line's start
      local msg = tostring(type(res) == "table" and res.message or res)
      local where, reason = msg:match("^(.-, line %d+): (.*)$")
      tell(where and (reason .. " at " .. where) or msg)
      error(res, 0)
    end
    return res
  end
  -- the bad rows the table's properties leave out, by the decoder's error code
  -- (a table made by an older lode says bad = "drop": every kind)
  local drop, drop_all = {}, o.bad == "drop"
  for _, code in ipairs(o.drop or {}) do
    drop[code] = true
  end
  local classified = 0
  local function check()
    local errs = dec:take_errors()
    local e
    for _, err in ipairs(errs) do
      if not drop_all and not drop[err.code] then
        e = err
        break
      end
    end
    classified = classified + #errs
    if not e and not drop_all and dec:stats().errors > classified then
      -- more bad rows than the decoder keeps details of: their kinds are unknown
      e = { file = errs[1] and errs[1].file or "", line = errs[#errs] and errs[#errs].line or 0,
        reason = "more bad rows than lode can tell the kinds of (the data handling properties drop some kinds only)" }
    end
    if e then
      local col = e.column and e.column >= 1 and columns[e.column] or nil
      local msg = ("lode spectrum scan: %s line %d%s: %s (Spectrum's data handling table properties, e.g. "
        .. "numeric_overflow_handling 'DROP_ROW', leave such rows out)"):format(e.file, e.line,
        col and (", column " .. col) or "", e.reason)
      tell(msg)
      error(core.error({ op = "spectrum", code = "bad_value", key = e.file, line = e.line, column = col,
        message = msg }), 0)
    end
  end
  for _, f in ipairs(discover.list_files(url)) do
    suffix = suffix_of(f)
    ncols = #columns + select(2, suffix:gsub("\t", ""))
    dec:begin_file(f.url)
    local size = f.size or 0
    local function fetch(first)
      if first >= size then
        return nil
      end
      return lode.spawn(function()
        -- the version listed, or ObjectChanged: never the bytes of two
        -- versions of the same size in one scan
        return s3.get(f.url, { range = { first, math.min(first + CHUNK, size) - 1 }, if_match = f.etag })
      end)
    end
    local pending = fetch(0)
    local first = 0
    while pending do
      local nxt = fetch(first + CHUNK)
      local bytes = pending:await()
      if #bytes ~= math.min(first + CHUNK, size) - first then
        error(core.error({ op = "spectrum", code = "changed", key = f.url, message =
          ("spectrum scan: %s changed while it was read (%d bytes at %d)"):format(f.url, #bytes, first) }), 0)
      end
      emit(decode(dec.feed, bytes))
      bytes = nil
      check()
      collectgarbage("step", CHUNK >> 10)
      pending, first = nxt, first + CHUNK
    end
    emit(decode(dec.end_file))
    check()
  end
  return dec:stats().rows
end

--- With pseudo, each row carries its object's URL and size ("$path",
--- "$size") between the columns and the partition values.
function M.scan(url, columns, values, text, pseudo)
  local pr = require "lode.parquetrows"
  local suffix = {}
  for i, v in ipairs(values) do
    suffix[i] = "\t" .. copy_text(v)
  end
  suffix = table.concat(suffix)
  local function suffix_of(f)
    if not pseudo then
      return suffix
    end
    return "\t" .. copy_text(f.url) .. "\t" .. copy_text(math.tointeger(f.size) or 0) .. suffix
  end
  if text then
    return scan_text(url, columns, suffix_of, text)
  end
  local rows = 0
  for _, f in ipairs(discover.list_files(url)) do
    rows = rows + pr.cat(f.url, { columns = columns, format = "text", missing = "null", suffix = suffix_of(f) })
  end
  return rows
end

return M

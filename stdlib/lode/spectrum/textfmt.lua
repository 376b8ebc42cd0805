-- lode.spectrum.textfmt — the text formats of external tables (TEXTFILE with
-- ROW FORMAT DELIMITED, OpenCSVSerde, the OpenX / HCatalog JsonSerDe): their
-- ROW FORMAT and TABLE PROPERTIES checked once, at CREATE EXTERNAL TABLE,
-- and turned into the options of the COPY decoder (lode.load) that
-- `lode spectrum scan` streams each object through.
--
-- A table definition is one format-aware record shared by every part of the
-- emulation (and by tables mirrored from Glue): { format = "parquet" |
-- "textfile" | "csv" | "json", row_format = { delimited = true, fields =,
-- lines =, escaped = } | { serde =, properties = {…} }, properties = {…} }.

local common = require "lode.spectrum.common"

local usage, fail = common.usage, common.fail

local M = {}

M.TEXT = { textfile = true, csv = true, json = true }

local function lower_keys(t)
  local out = {}
  for k, v in pairs(t or {}) do
    out[tostring(k):lower()] = tostring(v)
  end
  return out
end

local function one_char(qname, what, v)
  if #v ~= 1 then
    fail("unsupported", ("%s: %s must be one byte for lode's emulation (got %q)"):format(qname, what, v))
  end
  return v
end

-- Spectrum's data-handling properties (CREATE EXTERNAL TABLE, TABLE
-- PROPERTIES; without one: DEFAULT_HANDLING): FAIL (and DISABLED, whose
-- reading AWS does not give) ends the query at a bad value, naming file, line
-- and column; DROP_ROW leaves the row out; SET_TO_NULL makes the bad value
-- NULL and keeps the row ("Replaces
-- invalid UTF-8 values with null", "Replaces data that exceeds the column
-- width with null"; for a column count mismatch "Fill missing values with
-- NULL and ignore the additional values in each row"); REPLACE puts
-- replacement_char for an invalid character; TRUNCATE cuts a string to its
-- column's width. 'data_cleansing_enabled'='false' turns them all off ("data
-- handling is off for the table"): a bad value then fails the query.
local HANDLING = {
  column_count_mismatch_handling = { DISABLED = "fail", FAIL = "fail", SET_TO_NULL = "null", DROP_ROW = "drop" },
  invalid_char_handling = { DISABLED = "fail", FAIL = "fail", SET_TO_NULL = "null", DROP_ROW = "drop",
    REPLACE = "replace" },
  numeric_overflow_handling = { DISABLED = "fail", FAIL = "fail", SET_TO_NULL = "null", DROP_ROW = "drop" },
  surplus_char_handling = { DISABLED = "fail", FAIL = "fail", SET_TO_NULL = "null", DROP_ROW = "drop",
    TRUNCATE = "truncate" },
}

-- What a table without the property reads. AWS's CREATE EXTERNAL TABLE
-- page: its soccer_league example (no data handling property) prints NULL
-- for the name holding an invalid character ("Because club Barcelona has an
-- invalid character in the string, a NULL is displayed for the name") and
-- names cut to their VARCHAR, as its data types paragraph says ("When you
-- query an external table, results are truncated to fit the defined column
-- size without returning an error"; its surplus_char_handling paragraph's
-- "sets the value to null" is the one sentence against). Nothing says what a
-- number too big for its column or a column count mismatch read without
-- their property: the query fails.
local DEFAULT_HANDLING = { column_count_mismatch_handling = "fail", invalid_char_handling = "null",
  numeric_overflow_handling = "fail", surplus_char_handling = "truncate" }

-- The decoder's error codes (lode/load/load.h LODE_ERR_*) each property governs.
local HANDLED_CODES = {
  column_count_mismatch_handling = { 1202, 1214 },   -- extra columns, delimiter not found
  invalid_char_handling = { 1220, 1221 },            -- invalid UTF-8, NUL
  numeric_overflow_handling = { 1216, 1207, 1208 },  -- overflow, invalid digit, invalid float
  surplus_char_handling = { 1204 },                  -- longer than the column
}
local MALFORMED_JSON = 1224

local KNOWN_PROPS = {
  ["skip.header.line.count"] = true, ["serialization.null.format"] = true, compression_type = true,
  numrows = true, data_cleansing_enabled = true, replacement_char = true, ["write.parallel"] = true,
  ["write.maxfilesize.mb"] = true, ["write.kms.key.id"] = true, surplus_bytes_handling = true,
  ["has_encrypted_data"] = true, ["orc.schema.resolution"] = true, ["parquet.compression"] = true,
  classification = true,
}

-- A Parquet table's data handling: its values go from the file to the
-- server as they are, so a value its column cannot hold (a string longer than
-- its VARCHAR, a DECIMAL that overflows, invalid UTF-8) fails the query. An
-- action that would change or drop such a value is refused at CREATE, never
-- silently not taken; column_count_mismatch_handling is for text files only
-- (AWS: "only available for an uncompressed text file format").
local PARQUET_HANDLED = { invalid_char_handling = true, numeric_overflow_handling = true,
  surplus_char_handling = true }

local function check_parquet_handling(def)
  local props = lower_keys(def.properties)
  local names = {}
  for k in pairs(PARQUET_HANDLED) do
    names[#names + 1] = k
  end
  table.sort(names)
  for _, k in ipairs(names) do
    local v = props[k]
    if v and v:upper() ~= "FAIL" and v:upper() ~= "DISABLED" then
      fail("unsupported", ("%s: %s '%s' is not emulated locally by lode for Parquet tables: lode's Parquet scan "
        .. "hands each value to PostgreSQL as the file has it, so a value its column cannot hold fails the query "
        .. "(FAIL, DISABLED); text tables take every action"):format(def.qname or "external table", k, v),
        { feature = k .. " " .. v:upper() })
    end
  end
end

--- scan_options(def) -> the options `lode spectrum scan` gives the decoder
--- for a text table (nil for Parquet); refuses what it cannot read exactly.
function M.scan_options(def)
  if not M.TEXT[def.format] then
    if def.format == "parquet" then
      check_parquet_handling(def)
    end
    return nil
  end
  local q = def.qname or "external table"
  local rf = def.row_format or {}
  local sp = lower_keys(rf.properties)
  local props = lower_keys(def.properties)
  for k in pairs(props) do
    if not KNOWN_PROPS[k] and not HANDLING[k] then
      fail("unsupported", ("%s: TABLE PROPERTIES '%s' is not emulated locally by lode"):format(q, k))
    end
  end
  local o = { types = {} }
  if def.format == "textfile" then
    o.format = "text"
    o.delimiter = one_char(q, "FIELDS TERMINATED BY", rf.fields or sp["field.delim"] or "\1")
    if rf.lines and rf.lines ~= "\n" then
      fail("unsupported", ("%s: LINES TERMINATED BY other than '\\n' is not emulated (Spectrum reads '\\n' too)"):format(q))
    end
    local esc = rf.escaped or sp["escape.delim"]
    if esc and esc ~= "\\" then
      fail("unsupported", ("%s: ESCAPED BY other than '\\\\' is not emulated locally by lode"):format(q))
    end
    o.escape = esc == "\\"
    o.null_as = props["serialization.null.format"] or "\\N"
  elseif def.format == "csv" then
    o.format = "csv"
    o.delimiter = one_char(q, "separatorChar", sp.separatorchar or ",")
    o.quote = one_char(q, "quoteChar", sp.quotechar or '"')
    local esc = sp.escapechar
    if esc and esc ~= o.quote then
      fail("unsupported", ("%s: OpenCSVSerde escapeChar %q is not emulated locally by lode (a doubled quoteChar is)")
        :format(q, esc))
    end
    -- OpenCSVSerde's own reading of a quote inside an unquoted field and of its
    -- escapeChar (a backslash unless given) is not reproduced: such a record
    -- fails the query, naming object and line, instead of reading differently
    o.opencsv = true
    o.escape = esc == nil
    -- OpenCSVSerde reads every field as a string: an empty field is '', never NULL
    o.null_as = props["serialization.null.format"]
  else
    o.format = "json"
    o.ignorecase = (sp["case.insensitive"] or "true"):lower() ~= "false"
    -- dots.in.keys: the key "a.b" is read by the column a_b
    o.dots_in_keys = (sp["dots.in.keys"] or "false"):lower() == "true"
    o.malformed = (sp["ignore.malformed.json"] or "false"):lower() == "true" and "drop" or "fail"
    -- each column reads the key 'mapping.<column>' names, else its own name
    local keys, mapped = {}, false
    for i, c in ipairs(def.columns or {}) do
      local key = sp["mapping." .. c.name:lower()]
      mapped = mapped or key ~= nil
      keys[i] = key or c.name
    end
    if mapped then
      o.keys = keys
    end
  end
  o.ignoreheader = tonumber(props["skip.header.line.count"] or "0") or usage(("%s: skip.header.line.count must be a number"):format(q))
  local z = (props.compression_type or "auto"):lower()
  if z == "none" or z == "off" then
    z = "none"
  end
  if not ({ auto = true, none = true, gzip = true, bzip2 = true })[z] then
    fail("unsupported", ("%s: compression_type '%s' is not emulated locally by lode (gzip, bzip2 and zstd are, "
      .. "recognised by extension)"):format(q, z))
  end
  o.compression = z
  o.bad = "fail"
  o.drop = {}
  o.null_codes = {}
  local cleansing = (props.data_cleansing_enabled or "true"):lower()
  if cleansing ~= "true" and cleansing ~= "false" then
    fail("invalid", ("%s: data_cleansing_enabled must be 'true' or 'false' (got '%s')"):format(q, props.data_cleansing_enabled))
  end
  for k, actions in pairs(HANDLING) do
    local v = props[k]
    local a = DEFAULT_HANDLING[k]
    if v then
      a = actions[v:upper()]
      if not a then
        fail("unsupported", ("%s: %s '%s' is not emulated locally by lode (%s are)"):format(q, k, v,
          (function()
            local names = {}
            for name in pairs(actions) do
              names[#names + 1] = name
            end
            table.sort(names)
            return table.concat(names, ", ")
          end)()), { feature = k .. " " .. v:upper() })
      end
    end
    if cleansing == "false" then
      a = "fail"    -- data handling is off for the table
    end
    if a == "drop" or a == "null" then
      -- only the values this property governs are left out or NULL; any other bad value still fails
      local list = a == "drop" and o.drop or o.null_codes
      for _, code in ipairs(HANDLED_CODES[k]) do
        list[#list + 1] = code
      end
    elseif a == "replace" then
      o.acceptinvchars = props.replacement_char or "?"
      one_char(q, "replacement_char", o.acceptinvchars)
    elseif a == "truncate" then
      o.truncatecolumns = true
    end
  end
  if def.format == "json" and o.malformed == "drop" then
    o.drop[#o.drop + 1] = MALFORMED_JSON
  end
  table.sort(o.drop)
  table.sort(o.null_codes)
  o.malformed = nil
  for i, c in ipairs(def.columns or {}) do
    local ty = tostring(c.type):lower()
    if ty:find("^%s*varbyte") or ty:find("^%s*varbinary") or ty:find("^%s*binary%s+varying") then
      -- the decoder would pass the text through whole: neither Spectrum's reading of a VARBYTE from
      -- text nor its width (surplus_bytes_handling: by default "sets the value to null") is emulated
      fail("unsupported", ("%s: column \"%s\" is %s: VARBYTE columns of text tables are not emulated locally "
        .. "by lode (Parquet tables read them)"):format(q, c.name, c.type), { feature = "VARBYTE in a text table" })
    end
    o.types[i] = c.type
  end
  return o
end

--- decoder_column(type) -> {type=, length=, precision=, scale=} for lode.load
function M.decoder_column(name, t)
  local base, args = t:lower():match("^%s*([%a_ ]-)%s*%((.*)%)%s*$")
  base = base or t:lower():gsub("^%s+", ""):gsub("%s+$", "")
  local a, b
  if args then
    a, b = args:match("^%s*(%d+)%s*,?%s*(%d*)%s*$")
  end
  local map = { string = "text", ["varchar"] = "varchar", double = "float8", float = "float4", tinyint = "int2",
    ["character varying"] = "varchar", char = "char", character = "char" }
  local ty = map[base] or base
  local col = { name = name, type = ty }
  if ty == "numeric" or ty == "decimal" then
    col.precision, col.scale = tonumber(a) or 18, tonumber(b) or 0
  elseif (ty == "varchar" or ty == "char") and a then
    col.length = tonumber(a)
  end
  return col
end

return M

-- lode.sql — quoting that is safe for hostile names and values, for every
-- statement lode generates (COPY, Spectrum DDL, merge, the ledger).
--
--   sql.ident('a"b')              --> "a""b"
--   sql.ident("orders")           --> orders         (plain lowercase names stay bare)
--   sql.qname("lake.Sales")       --> lake."Sales"
--   sql.qname({"s", "t.x"})       --> s."t.x"        (parts taken literally)
--   sql.literal("it's")           --> 'it''s'
--   sql.literal("a\\b", "redshift") --> 'a\\b'      (Redshift reads backslash escapes)
--
-- Names that come from data (Parquet columns, S3 keys, partition values) must
-- always go through these.

local core = require "lode.core"

local M = {}

local function bad(msg)
  error(core.error({ op = "sql", code = "invalid_name", message = msg }), 3)
end

-- Words that must be quoted to be used as names (PostgreSQL reserved keywords
-- and Redshift's reserved words).
local RESERVED = {}
for w in ([[
all analyse analyze and any array as asc asymmetric authorization binary both case cast check
collate collation column concurrently constraint create cross current_catalog current_date
current_role current_schema current_time current_timestamp current_user default deferrable desc
distinct do else end except false fetch for foreign freeze from full grant group having ilike in
initially inner intersect into is isnull join lateral leading left like limit localtime
localtimestamp natural not notnull null offset on only or order outer overlaps placing primary
references returning right select session_user similar some symmetric system_user table tablesample
then to trailing true union unique user using variadic verbose when where window with
aes128 aes256 allowoverwrite backup blanksasnull bytedict bzip2 credentials delta delta32k
deflate defrag disable emptyasnull enable encode encrypt encryption explicit globaldict256
globaldict64k gzip identity ignore lun luns lzo lzop minus mostly13 mostly32 mostly8 new off
offline oid old open parallel partition percent permissions pivot raw readratio recover
respect rejectlog resort restore sysdate tag tdes text255 text32k timestamp top truncatecolumns
unnest unpivot wallet
]]):gmatch("%S+") do
  RESERVED[w] = true
end

local function check_name(name)
  if type(name) ~= "string" then
    bad(("a SQL name must be a string, got %s"):format(type(name)))
  end
  if name == "" then
    bad("a SQL name cannot be empty")
  end
  if name:find("\0", 1, true) then
    bad("a SQL name cannot contain a NUL byte")
  end
end

--- ident(name) -> the name quoted for use as an identifier; plain lowercase
--- names that are not reserved words stay bare.
function M.ident(name)
  check_name(name)
  if name:match("^[a-z_][a-z0-9_]*$") and not RESERVED[name] then
    return name
  end
  return '"' .. name:gsub('"', '""') .. '"'
end

--- quoted(name) -> always "quoted"
function M.quoted(name)
  check_name(name)
  return '"' .. name:gsub('"', '""') .. '"'
end

--- split_name("schema.table") -> {"schema", "table"}; honours "quoted.parts"
function M.split_name(s)
  if type(s) == "table" then
    return s
  end
  check_name(s)
  local parts, i, n = {}, 1, #s
  while i <= n do
    if s:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = s:find('"', j, true)
        if not q then
          bad(("unterminated quote in name %s"):format(s))
        end
        buf[#buf + 1] = s:sub(j, q - 1)
        if s:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      parts[#parts + 1] = table.concat(buf)
    else
      local dot = s:find(".", i, true) or n + 1
      local part = s:sub(i, dot - 1)
      if part == "" then
        bad(("empty part in name %s"):format(s))
      end
      parts[#parts + 1] = part
      i = dot
    end
    if i <= n then
      if s:sub(i, i) ~= "." then
        bad(("unexpected character after a quoted part in %s"):format(s))
      end
      i = i + 1
    end
  end
  return parts
end

--- qname("schema.table" | {"schema", "table"}) -> quoted qualified name
function M.qname(name)
  local parts = M.split_name(name)
  local out = {}
  for i, p in ipairs(parts) do
    out[i] = M.ident(p)
  end
  return table.concat(out, ".")
end

--- literal(value [, dialect]) -> a SQL string literal ('' doubled; for
--- Redshift backslashes too). Numbers and booleans are rendered as literals,
--- nil and lode.null as NULL.
function M.literal(v, dialect)
  if v == nil or v == core.null then
    return "NULL"
  end
  local t = type(v)
  if t == "boolean" then
    return v and "TRUE" or "FALSE"
  elseif t == "number" then
    if math.type(v) == "integer" then
      return tostring(v)
    end
    if v ~= v or v == math.huge or v == -math.huge then
      return ("'%s'"):format(v ~= v and "NaN" or (v > 0 and "Infinity" or "-Infinity"))
    end
    return ("%.17g"):format(v)
  end
  v = tostring(v)
  if v:find("\0", 1, true) then
    error(core.error({ op = "sql", code = "invalid_value", message = "a SQL string literal cannot contain a NUL byte" }), 2)
  end
  v = v:gsub("'", "''")
  if dialect == "redshift" then
    v = v:gsub("\\", "\\\\")
  end
  return "'" .. v .. "'"
end

--- list(items [, fn]) -> "a, b, c" with fn (default ident) applied to each
function M.list(items, fn)
  fn = fn or M.ident
  local out = {}
  for i, x in ipairs(items) do
    out[i] = fn(x)
  end
  return table.concat(out, ", ")
end

return M

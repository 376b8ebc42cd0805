-- lode.sql — SQL text helpers every generated statement goes through:
-- identifier and literal quoting that is safe for hostile names, qualified
-- names, type mapping for the postgres and redshift dialects, and redaction
-- of secrets before anything is printed or logged. Names that come from data
-- (Parquet columns, S3 keys, partition values) always go through these.
--
--   sql.ident('a"b')                     --> "a""b"
--   sql.ident("orders")                  --> orders   (plain lowercase, unreserved names stay bare)
--   sql.quoted("orders")                 --> "orders"
--   sql.qname("lake.Sales")              --> lake.sales (unquoted parts fold to lower case, as the server does)
--   sql.qname('lake."Sales"')            --> lake."Sales"
--   sql.qualified("staging", "Orders")   --> staging."Orders"  (parts taken literally)
--   sql.literal("it's")                  --> 'it''s'
--   sql.literal([[a\b]], "redshift")    --> [['a\\b']] (Redshift reads backslash escapes)
--   sql.idents({"a", "B"})               --> a, "B"
--   sql.type_for("redshift", "string")   --> VARCHAR(65535)
--   sql.redact("postgresql://u:pw@h/db") --> postgresql://u:***@h/db

local core = require "lode.core"

local M = {}

local function usage(msg, level)
  error(core.error({ op = "sql", code = "invalid", message = "lode.sql: " .. msg }), (level or 2) + 1)
end

M.dialects = { postgres = true, redshift = true }

local function bad(msg)
  error(core.error({ op = "sql", code = "invalid_name", message = "lode.sql: " .. msg }), 3)
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
  if not utf8.len(name) then
    bad("a SQL name must be valid UTF-8")
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

--- Longest identifier each engine keeps (bytes); longer ones are truncated
--- by the server (PostgreSQL at a character boundary, with a NOTICE).
M.max_ident_bytes = { postgres = 63, redshift = 127 }

--- sql.truncated_ident(name [, dialect]) -> the name the server will store
--- (cut at the byte limit on a UTF-8 character boundary).
function M.truncated_ident(name, dialect)
  local max = M.max_ident_bytes[dialect or "postgres"]
  if #name <= max then
    return name
  end
  local cut = max
  while cut > 0 do
    local b = name:byte(cut + 1)
    if b == nil or b < 0x80 or b >= 0xC0 then -- next byte starts a character
      break
    end
    cut = cut - 1
  end
  return name:sub(1, cut)
end

--- sql.qualified(schema, name) or sql.qualified{db, schema, name} -> "a"."b"
function M.qualified(...)
  local parts = select("#", ...) == 1 and type((...)) == "table" and (...) or { ... }
  local out = {}
  for i, p in ipairs(parts) do
    out[i] = M.ident(p)
  end
  if #out == 0 then
    usage("qualified name needs at least one part")
  end
  return table.concat(out, ".")
end

--- sql.parse_qualified('schema.table' or '"we.ird"."x"') -> {"schema", "table"}
--- Unquoted parts are folded to lower case, as the server does.
function M.parse_qualified(s)
  local parts, i, n = {}, 1, #s
  while i <= n do
    local part
    if s:sub(i, i) == '"' then
      local j, buf = i + 1, {}
      while true do
        local c = s:sub(j, j)
        if c == "" then
          usage(("unterminated quoted identifier in %q"):format(s))
        end
        if c == '"' then
          if s:sub(j + 1, j + 1) == '"' then
            buf[#buf + 1] = '"'
            j = j + 2
          else
            break
          end
        else
          buf[#buf + 1] = c
          j = j + 1
        end
      end
      part = table.concat(buf)
      i = j + 1
    else
      local j = s:find(".", i, true) or (n + 1)
      part = s:sub(i, j - 1):lower()
      i = j
      if part == "" then
        usage(("empty name part in %q"):format(s))
      end
    end
    parts[#parts + 1] = part
    if i <= n then
      if s:sub(i, i) ~= "." then
        usage(("expected '.' after a name part in %q"):format(s))
      end
      i = i + 1
      if i > n then
        usage(("name ends with '.' in %q"):format(s))
      end
    end
  end
  return parts
end

--- sql.split_name(s) -> parts of a qualified name (same as parse_qualified)
function M.split_name(s)
  if type(s) == "table" then
    return s
  end
  return M.parse_qualified(s)
end

--- sql.qname("schema.table" | {"schema", "table"}) -> quoted qualified name;
--- strings are parsed as SQL would (quoted parts kept, unquoted folded).
function M.qname(name)
  if type(name) == "table" then
    return M.qualified(name)
  end
  if type(name) ~= "string" then
    usage(("a table name must be a string or a list of parts, got %s"):format(type(name)))
  end
  return M.qualified(M.parse_qualified(name))
end

local null_value
local function is_null(v)
  if null_value == nil then
    local ok, core = pcall(require, "lode.core")
    null_value = ok and core.null or false
  end
  return v == nil or (null_value and v == null_value)
end

--- sql.literal(v [, dialect]) -> SQL text for a value: strings quoted
--- ('' for a quote; on redshift also \\ for a backslash, which it treats as
--- an escape), numbers, booleans, nil / lode.null as NULL.
function M.literal(v, dialect)
  if is_null(v) then
    return "NULL"
  end
  local t = type(v)
  if t == "boolean" then
    return v and "TRUE" or "FALSE"
  end
  if t == "number" then
    if math.type(v) == "integer" then
      return tostring(v)
    end
    if v ~= v then
      return "'NaN'"
    end
    if v == math.huge then
      return "'Infinity'"
    end
    if v == -math.huge then
      return "'-Infinity'"
    end
    return ("%.17g"):format(v)
  end
  if t ~= "string" then
    usage(("cannot write a %s as a SQL literal"):format(t))
  end
  if v:find("\0", 1, true) then
    usage("string literal contains a NUL byte")
  end
  local s = v:gsub("'", "''")
  if dialect == "redshift" then
    s = s:gsub("\\", "\\\\")
  end
  return "'" .. s .. "'"
end

--- sql.list(values [, dialect]) -> "v1, v2, ..." of literals
function M.list(values, dialect)
  local out = {}
  for i = 1, (values.n or #values) do
    out[i] = M.literal(values[i], dialect)
  end
  return table.concat(out, ", ")
end

--- sql.idents(names) -> "a, \"B\", c" of identifiers
function M.idents(names)
  local out = {}
  for i, n in ipairs(names) do
    out[i] = M.ident(n)
  end
  return table.concat(out, ", ")
end

-- Types ---------------------------------------------------------------------------

--- Logical column types (what decoders produce) to each dialect's SQL type.
M.types = {
  postgres = {
    boolean = "boolean", int8 = "smallint", int16 = "smallint", int32 = "integer",
    int64 = "bigint", float32 = "real", float64 = "double precision",
    decimal = "numeric", string = "text", binary = "bytea", date = "date",
    time = "time", timestamp = "timestamp", timestamptz = "timestamptz",
    json = "jsonb", uuid = "uuid",
  },
  redshift = {
    boolean = "BOOLEAN", int8 = "SMALLINT", int16 = "SMALLINT", int32 = "INTEGER",
    int64 = "BIGINT", float32 = "REAL", float64 = "DOUBLE PRECISION",
    decimal = "DECIMAL", string = "VARCHAR(65535)", binary = "VARBYTE",
    date = "DATE", time = "TIME", timestamp = "TIMESTAMP", timestamptz = "TIMESTAMPTZ",
    json = "SUPER", uuid = "CHAR(36)",
  },
}

--- sql.type_for(dialect, logical [, {precision=, scale=, length=}]) -> SQL type
function M.type_for(dialect, logical, opts)
  local map = M.types[dialect]
  if not map then
    usage(("unknown dialect '%s'"):format(tostring(dialect)))
  end
  local t = map[logical]
  if not t then
    usage(("no %s type for logical type '%s'"):format(dialect, tostring(logical)))
  end
  opts = opts or {}
  if logical == "decimal" and opts.precision then
    local p = math.tointeger(opts.precision)
    local s = math.tointeger(opts.scale or 0)
    if not p or not s then
      usage("decimal precision and scale must be integers")
    end
    if dialect == "redshift" and p > 38 then
      usage(("redshift DECIMAL precision is at most 38 (got %d)"):format(p))
    end
    return ("%s(%d,%d)"):format(t, p, s)
  end
  if logical == "string" and opts.length then
    local n = math.tointeger(opts.length)
    if not n or n < 1 then
      usage("string length must be a positive integer")
    end
    return dialect == "redshift" and ("VARCHAR(%d)"):format(n) or ("varchar(%d)"):format(n)
  end
  return t
end

-- Redaction ------------------------------------------------------------------------------

local SECRET_WORDS = { "password", "passwd", "secret", "token", "credential", "credentials",
  "private_key", "api_key", "apikey", "session_token", "master_symmetric_key", "signature" }

local function secret_name(name)
  local n = name:lower()
  for _, w in ipairs(SECRET_WORDS) do
    if n:find(w, 1, true) then
      return true
    end
  end
  return false
end
M.secret_name = secret_name

-- Secret values this process knows (the AWS secret key and session token from
-- the environment, passwords of warehouse URLs it opened): every occurrence is
-- replaced, whatever surrounds it. Short values are not registered: a 3-letter
-- "password" would blank ordinary words.
local known_secrets, known_list = {}, {}
local MIN_SECRET = 6

--- sql.register_secret(value): redact this exact value from now on.
function M.register_secret(v)
  if type(v) == "string" and #v >= MIN_SECRET and not known_secrets[v] then
    known_secrets[v] = true
    known_list[#known_list + 1] = v
    table.sort(known_list, function(a, b) return #a > #b end)   -- longest first: no partial leftovers
  end
end
for _, name in ipairs({ "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "PGPASSWORD" }) do
  M.register_secret(os.getenv(name))
end

local function replace_plain(s, needle, by)
  local out, i = {}, 1
  while true do
    local a, b = s:find(needle, i, true)
    if not a then break end
    out[#out + 1] = s:sub(i, a - 1)
    out[#out + 1] = by
    i = b + 1
  end
  if i == 1 then return s end
  out[#out + 1] = s:sub(i)
  return table.concat(out)
end

--- sql.redact(text) -> text with secrets replaced by ***: known secret values
--- (sql.register_secret), passwords in URLs, key=value pairs named like
--- secrets (conninfo, CREDENTIALS strings, query strings), "key": "value" JSON
--- pairs, and the literal after SQL options named like secrets (CREDENTIALS
--- '...', SECRET_ACCESS_KEY '...', SESSION_TOKEN '...', PASSWORD '...').
--- Values are redacted, never vocabulary: prose such as "no AWS credentials:
--- set AWS_ACCESS_KEY_ID" stays readable.
function M.redact(text)
  if type(text) ~= "string" then
    return text
  end
  local s = text
  for _, v in ipairs(known_list) do
    s = replace_plain(s, v, "***")
  end
  -- scheme://user:password@host
  s = s:gsub("(%a[%w+.-]*://[^:/@%s]*):([^@%s]*)@", "%1:***@")
  -- OPTION 'literal' where OPTION names a secret
  s = s:gsub("([%a_][%w_]*)(%s+)'([^']*)'", function(word, sp, _)
    if secret_name(word) then
      return word .. sp .. "'***'"
    end
  end)
  -- key=value pairs (conninfo, credentials strings, query strings); "key: value"
  -- with a space is prose, not a pair
  s = s:gsub("([%a_][%w_%-]*)(%s*=%s*)([^%s;&'\",]+)", function(key, sep, _)
    if secret_name(key) then
      return key .. sep .. "***"
    end
  end)
  -- key:value with nothing between (header-ish, colon-separated pairs)
  s = s:gsub("([%a_][%w_%-]*):([^%s;&'\",/]+)", function(key, _)
    if secret_name(key) then
      return key .. ":***"
    end
  end)
  -- "key": "value" (JSON)
  s = s:gsub('"([%a_][%w_%-]*)"(%s*:%s*)"([^"]*)"', function(key, sep, _)
    if secret_name(key) then
      return '"' .. key .. '"' .. sep .. '"***"'
    end
  end)
  return s
end

--- How `lode plan` shows a parameter value (redacted when it looks secret).
function M.show_param(v)
  if is_null(v) then
    return "NULL"
  end
  if type(v) == "string" then
    local r = M.redact(v)
    if #r > 200 then
      r = r:sub(1, 200) .. ("...(%d bytes)"):format(#v)
    end
    return M.literal(r)
  end
  return tostring(v)
end

return M

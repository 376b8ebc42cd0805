-- lode.copy — bulk loads from S3: `COPY … FROM 's3://…'` issued natively on
-- Redshift, emulated on PostgreSQL with the same rows and the same errors.
--
--   local copy = require "lode.copy"
--   local r = copy.into(wh, { table = "sales", from = "s3://lake/sales/", format = "csv",
--                             ignoreheader = 1, iam_role = role, maxerror = 10 })
--   -- r = { files =, rows =, bytes =, skipped_files =, errors =, seconds = }
--   copy.statement(opts [, {credentials = true}]) -> the Redshift COPY text
--
-- This file owns the options (validation, defaults) and the statement text;
-- the byte work (CSV/JSON decoding, type checks, COPY streaming) is C in
-- lode.load. Every name goes through lode.sql quoting.

local core = require "lode.core"
local sql = require "lode.sql"

local M = {}

local function usage(msg, level)
  error(core.error({ op = "copy", code = "invalid_option", message = "copy: " .. msg }), level or 3)
end

-- Options -----------------------------------------------------------------------

-- kind: "string", "char" (one character), "integer", "flag" (boolean),
-- "onoff" (boolean or "preset"), "names" (list of strings), "any"
local OPTIONS = {
  table = "tablename", columns = "names", from = "string", manifest = "manifest",
  format = "string", json = "string",
  iam_role = "string", access_key_id = "string", secret_access_key = "string", session_token = "string",
  region = "string",
  delimiter = "char", quote = "char", ignoreheader = "integer", null_as = "anystring",
  emptyasnull = "flag", blanksasnull = "flag", dateformat = "string", timeformat = "string",
  gzip = "flag", bzip2 = "flag", zstd = "flag",
  acceptinvchars = "acceptinvchars", truncatecolumns = "flag", fillrecord = "flag",
  removequotes = "flag", escape = "flag", ignoreblanklines = "flag",
  maxerror = "integer", compupdate = "onoff", statupdate = "onoff", serializetojson = "flag",
  -- lode's own (never part of the statement)
  reload = "flag", concurrency = "integer", run = "string", show_progress = "flag",
}

local FORMATS = { csv = true, json = true, parquet = true, text = true, orc = true }
local COLUMNAR = { parquet = true, orc = true }
-- options that only make sense for delimited text (CSV and text)
local DELIMITED_ONLY = { "delimiter", "ignoreheader", "fillrecord", "removequotes", "escape", "ignoreblanklines" }
-- options Redshift refuses with columnar formats
local NOT_COLUMNAR = {
  "delimiter", "quote", "ignoreheader", "null_as", "emptyasnull", "blanksasnull", "dateformat",
  "timeformat", "gzip", "bzip2", "zstd", "truncatecolumns", "fillrecord", "removequotes", "escape",
  "ignoreblanklines", "maxerror", "acceptinvchars",
}

local function check_kind(name, kind, v)
  local t = type(v)
  if kind == "string" then
    if t ~= "string" or v == "" then
      usage(("option '%s' must be a non-empty string, got %s"):format(name, t == "string" and "''" or t), 5)
    end
  elseif kind == "anystring" then
    if t ~= "string" then
      usage(("option '%s' must be a string, got %s"):format(name, t), 5)
    end
  elseif kind == "tablename" then
    if (t ~= "string" or v == "") and (t ~= "table" or #v == 0) then
      usage(("option '%s' must be a table name (string or list of parts)"):format(name), 5)
    end
    local ok, err = pcall(sql.split_name, v)
    if not ok then
      usage(("option '%s': %s"):format(name, type(err) == "table" and err.message or tostring(err)), 5)
    end
  elseif kind == "char" then
    if t ~= "string" or #v ~= 1 then
      usage(("option '%s' must be a single ASCII character"):format(name), 5)
    end
  elseif kind == "integer" then
    if math.type(v) ~= "integer" or v < 0 then
      usage(("option '%s' must be a non-negative integer"):format(name), 5)
    end
  elseif kind == "flag" then
    if t ~= "boolean" then
      usage(("option '%s' must be true or false, got %s"):format(name, t), 5)
    end
  elseif kind == "onoff" then
    if t ~= "boolean" and v ~= "preset" then
      usage(("option '%s' must be true, false or 'preset'"):format(name), 5)
    end
  elseif kind == "names" then
    if t ~= "table" or #v == 0 then
      usage(("option '%s' must be a non-empty list of column names"):format(name), 5)
    end
    for i, c in ipairs(v) do
      if type(c) ~= "string" or c == "" then
        usage(("option '%s': entry %d is not a column name"):format(name, i), 5)
      end
    end
  elseif kind == "manifest" then
    if t ~= "boolean" and (t ~= "string" or v == "") then
      usage(("option '%s' must be an s3:// URL (or true with 'from')"):format(name), 5)
    end
  elseif kind == "acceptinvchars" then
    if t ~= "boolean" and (t ~= "string" or #v ~= 1 or v:byte() > 127) then
      usage(("option '%s' must be true or a single ASCII replacement character"):format(name), 5)
    end
  end
end

local VALIDATED = setmetatable({}, { __mode = "k" })

local function is_s3_url(s)
  return type(s) == "string" and s:match("^s3://[^/]+") ~= nil
end

--- copy.options(opts) -> a validated copy of opts with defaults filled in
--- (format, url, manifest flag); raises code "invalid_option" naming the
--- offending option.
function M.options(opts)
  if type(opts) ~= "table" then
    usage("copy.into(wh, opts): opts must be a table", 3)
  end
  local o = {}
  local names = {}
  for k in pairs(opts) do
    names[#names + 1] = tostring(k)
  end
  table.sort(names)
  for _, k in ipairs(names) do
    local kind = OPTIONS[k]
    if not kind then
      usage(("unknown option '%s'"):format(k), 3)
    end
    local v = opts[k]
    check_kind(k, kind, v)
    o[k] = v
  end
  if not o.table then
    usage("option 'table' is required", 3)
  end

  -- source: from (prefix or key) or manifest
  if type(o.manifest) == "string" then
    if o.from then
      usage("give either 'from' or 'manifest = s3://…', not both", 3)
    end
    o.url, o.manifest = o.manifest, true
  else
    if not o.from then
      usage("option 'from' (an s3:// prefix or key) or 'manifest' is required", 3)
    end
    o.url = o.from
    o.manifest = o.manifest or false
  end
  if not is_s3_url(o.url) then
    usage(("'%s' must be an s3:// URL, got '%s'"):format(o.manifest and "manifest" or "from", o.url), 3)
  end

  -- format
  o.format = (o.format or "text"):lower()
  if not FORMATS[o.format] then
    usage(("unknown format '%s' (csv, json, parquet, orc or text)"):format(o.format), 3)
  end
  if o.format == "json" then
    o.json = o.json or "auto"
    local j = o.json:lower()
    if j == "auto" or j == "auto ignorecase" then
      o.json = j
    elseif not is_s3_url(o.json) then
      usage("option 'json' must be 'auto', 'auto ignorecase' or an s3:// jsonpaths URL", 3)
    end
  elseif o.json then
    usage("option 'json' needs format = 'json'", 3)
  end
  if o.quote and o.format ~= "csv" then
    usage("option 'quote' needs format = 'csv'", 3)
  end
  if COLUMNAR[o.format] then
    for _, k in ipairs(NOT_COLUMNAR) do
      if o[k] ~= nil then
        usage(("option '%s' is not supported with format '%s'%s"):format(k, o.format,
          k == "maxerror" and ": columnar COPY fails on any error (as on Redshift)" or ""), 3)
      end
    end
  elseif o.format == "json" then
    for _, k in ipairs(DELIMITED_ONLY) do
      if o[k] ~= nil then
        usage(("option '%s' is not supported with format 'json'"):format(k), 3)
      end
    end
  end
  if o.serializetojson and not COLUMNAR[o.format] then
    usage("option 'serializetojson' needs format 'parquet' or 'orc'", 3)
  end
  if o.format == "csv" and (o.escape or o.removequotes) then
    usage(("option '%s' cannot be used with format 'csv'"):format(o.escape and "escape" or "removequotes"), 3)
  end
  local nz = (o.gzip and 1 or 0) + (o.bzip2 and 1 or 0) + (o.zstd and 1 or 0)
  if nz > 1 then
    usage("give at most one of 'gzip', 'bzip2', 'zstd'", 3)
  end
  if o.delimiter and o.quote and o.delimiter == o.quote then
    usage("options 'delimiter' and 'quote' cannot be the same character", 3)
  end
  if o.delimiter and (o.delimiter == "\n" or o.delimiter == "\r") then
    usage("option 'delimiter' cannot be a newline", 3)
  end
  if o.maxerror and o.maxerror > 100000 then
    usage("option 'maxerror' must be at most 100000 (Redshift's limit)", 3)
  end
  if o.statupdate == "preset" then
    usage("option 'statupdate' must be true or false", 3)
  end
  if o.concurrency and o.concurrency < 1 then
    usage("option 'concurrency' must be at least 1", 3)
  end

  -- credentials: a role or keys, not both
  if o.iam_role and (o.access_key_id or o.secret_access_key or o.session_token) then
    usage("give either 'iam_role' or 'access_key_id'/'secret_access_key', not both", 3)
  end
  if (o.access_key_id == nil) ~= (o.secret_access_key == nil) then
    usage("options 'access_key_id' and 'secret_access_key' go together", 3)
  end
  if o.session_token and not o.access_key_id then
    usage("option 'session_token' needs 'access_key_id' and 'secret_access_key'", 3)
  end
  VALIDATED[o] = true
  return o
end

-- Redshift statement --------------------------------------------------------------

local REDACTED = "'<redacted>'"

local function onoff(v)
  if v == "preset" then
    return "PRESET"
  end
  return v and "ON" or "OFF"
end

--- copy.statement(opts [, show]) -> the Redshift COPY statement for opts
--- (validated). Credentials appear as '<redacted>' unless show.credentials.
function M.statement(opts, show)
  local o = VALIDATED[opts] and opts or M.options(opts)
  local reveal = show and show.credentials
  local function lit(v)
    return sql.literal(v, "redshift")
  end
  local function secret(v)
    return reveal and lit(v) or REDACTED
  end
  local p = { "COPY " .. sql.qname(o.table) }
  if o.columns then
    p[#p + 1] = "(" .. sql.idents(o.columns) .. ")"
  end
  p[#p + 1] = "FROM " .. lit(o.url)
  if o.manifest then
    p[#p + 1] = "MANIFEST"
  end
  if o.iam_role then
    p[#p + 1] = "IAM_ROLE " .. (o.iam_role:lower() == "default" and "default" or secret(o.iam_role))
  elseif o.access_key_id then
    p[#p + 1] = "ACCESS_KEY_ID " .. secret(o.access_key_id)
    p[#p + 1] = "SECRET_ACCESS_KEY " .. secret(o.secret_access_key)
    if o.session_token then
      p[#p + 1] = "SESSION_TOKEN " .. secret(o.session_token)
    end
  end
  if o.region then
    p[#p + 1] = "REGION " .. lit(o.region)
  end
  local f = o.format
  if f == "csv" then
    p[#p + 1] = "FORMAT AS CSV"
    if o.quote then
      p[#p + 1] = "QUOTE AS " .. lit(o.quote)
    end
  elseif f == "json" then
    p[#p + 1] = "FORMAT AS JSON " .. lit(o.json)
  elseif f == "parquet" or f == "orc" then
    p[#p + 1] = "FORMAT AS " .. f:upper()
  end
  if o.delimiter then
    p[#p + 1] = "DELIMITER AS " .. lit(o.delimiter)
  end
  if o.ignoreheader then
    p[#p + 1] = "IGNOREHEADER AS " .. o.ignoreheader
  end
  if o.null_as then
    p[#p + 1] = "NULL AS " .. lit(o.null_as)
  end
  if o.emptyasnull then
    p[#p + 1] = "EMPTYASNULL"
  end
  if o.blanksasnull then
    p[#p + 1] = "BLANKSASNULL"
  end
  if o.dateformat then
    p[#p + 1] = "DATEFORMAT AS " .. lit(o.dateformat)
  end
  if o.timeformat then
    p[#p + 1] = "TIMEFORMAT AS " .. lit(o.timeformat)
  end
  if o.gzip then
    p[#p + 1] = "GZIP"
  elseif o.bzip2 then
    p[#p + 1] = "BZIP2"
  elseif o.zstd then
    p[#p + 1] = "ZSTD"
  end
  if o.acceptinvchars then
    p[#p + 1] = o.acceptinvchars == true and "ACCEPTINVCHARS" or ("ACCEPTINVCHARS AS " .. lit(o.acceptinvchars))
  end
  for _, flag in ipairs { "truncatecolumns", "fillrecord", "removequotes", "escape", "ignoreblanklines" } do
    if o[flag] then
      p[#p + 1] = flag:upper()
    end
  end
  if o.maxerror then
    p[#p + 1] = "MAXERROR AS " .. o.maxerror
  end
  if o.compupdate ~= nil then
    p[#p + 1] = "COMPUPDATE " .. onoff(o.compupdate)
  end
  if o.statupdate ~= nil then
    p[#p + 1] = "STATUPDATE " .. onoff(o.statupdate)
  end
  if o.serializetojson then
    p[#p + 1] = "SERIALIZETOJSON"
  end
  return table.concat(p, " ")
end

return M

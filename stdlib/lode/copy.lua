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
local load = require "lode.load"
local lode = require "lode"
local log = lode.log

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
  roundec = "flag", trimblanks = "flag", acceptanydate = "flag", ignoreallerrors = "flag", explicit_ids = "flag",
  noload = "flag", comprows = "integer", encoding = "string", fixedwidth = "string",
  -- lode's own (never part of the statement)
  reload = "flag", concurrency = "integer", streams = "integer", run = "string", show_progress = "flag",
  ledger_table = "tablename", ledger = "flag", manifest_dir = "string",
  cursor = "cursor", -- { c, value }: lode.cursor c advanced to value in the load's transaction
}

local FORMATS = { csv = true, json = true, parquet = true, text = true, orc = true, fixedwidth = true }
local COLUMNAR = { parquet = true, orc = true }
-- options that only make sense for delimited text (CSV and text)
local DELIMITED_ONLY = { "delimiter", "ignoreheader", "fillrecord", "removequotes", "escape", "ignoreblanklines" }
-- options Redshift refuses with columnar formats
local NOT_COLUMNAR = {
  "delimiter", "quote", "ignoreheader", "null_as", "emptyasnull", "blanksasnull", "dateformat",
  "timeformat", "gzip", "bzip2", "zstd", "truncatecolumns", "fillrecord", "removequotes", "escape",
  "ignoreblanklines", "maxerror", "acceptinvchars", "roundec", "trimblanks", "acceptanydate", "ignoreallerrors",
}
-- ENCODING values Redshift takes (the data is converted to UTF-8)
local ENCODINGS = { UTF8 = true, UTF16 = true, UTF16LE = true, UTF16BE = true, ISO88591 = true }

-- FIXEDWIDTH 'label:width,…' -> { width, … } (labels are free text; the
-- pairs follow the table's columns in order, as on Redshift)
local function fixed_widths(spec)
  local widths = {}
  for pair in (spec .. ","):gmatch("([^,]*),") do
    local label, w = pair:match("^%s*([^:]-)%s*:%s*(%d+)%s*$")
    w = tonumber(w)
    if not label or label == "" or not w or w < 1 or w > 0xFFFFFF then
      usage(("option 'fixedwidth': '%s' is not label:width (a positive width) in '%s'"):format(pair, spec), 4)
    end
    widths[#widths + 1] = math.tointeger(w)
  end
  return widths
end

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
  elseif kind == "cursor" then
    require("lode.cursor").check_option(v, "copy.into", 6)
  elseif kind == "acceptinvchars" then
    if t ~= "boolean" and (t ~= "string" or #v ~= 1 or v:byte() > 127) then
      usage(("option '%s' must be true or a single ASCII replacement character"):format(name), 5)
    end
  end
end

local VALIDATED = setmetatable({}, { __mode = "k" })
local MAX_STREAMS = 64

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
  o.format = (o.format or (o.fixedwidth and "fixedwidth") or "text"):lower()
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
      -- MAXERROR 0 (dlt emits it with PARQUET) changes nothing: any error fails the COPY
      if o[k] ~= nil and not (k == "maxerror" and o.maxerror == 0) then
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
  if o.format == "fixedwidth" or o.fixedwidth then
    if o.format ~= "fixedwidth" or not o.fixedwidth then
      usage("format 'fixedwidth' and option 'fixedwidth' (the 'label:width,…' spec) go together", 3)
    end
    -- Redshift: FIXEDWIDTH can't be used with CSV or DELIMITER, nor ESCAPE
    for _, k in ipairs { "delimiter", "quote", "escape", "removequotes" } do
      if o[k] ~= nil then
        usage(("option '%s' cannot be used with FIXEDWIDTH"):format(k), 3)
      end
    end
    o.widths = fixed_widths(o.fixedwidth)
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
  if o.maxerror and o.ignoreallerrors then
    usage("options 'maxerror' and 'ignoreallerrors' cannot be combined (as on Redshift)", 3)
  end
  if o.encoding then
    o.encoding = o.encoding:upper():gsub("-", "")
    if not ENCODINGS[o.encoding] then
      usage(("option 'encoding' must be UTF8, UTF16, UTF16LE, UTF16BE or ISO88591, got '%s'"):format(opts.encoding), 3)
    end
    if o.encoding ~= "UTF8" and o.format == "fixedwidth" then
      usage("fixed-width data files must use UTF-8 encoding (as on Redshift: widths count characters)", 3)
    end
    if o.encoding ~= "UTF8" and COLUMNAR[o.format] then
      usage(("option 'encoding' is not supported with format '%s'"):format(o.format), 3)
    end
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
  if o.streams and (o.streams < 1 or o.streams > MAX_STREAMS) then
    usage(("option 'streams' must be between 1 and %d"):format(MAX_STREAMS), 3)
  end
  if o.manifest_dir and not is_s3_url(o.manifest_dir) then
    usage(("option 'manifest_dir' must be an s3:// URL, got '%s'"):format(o.manifest_dir), 3)
  end
  if o.ledger == false and (o.ledger_table or o.reload ~= nil) then
    usage(("option '%s' needs the ledger (ledger = false turns it off)"):format(o.ledger_table and "ledger_table"
      or "reload"), 3)
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
  elseif f == "fixedwidth" then
    p[#p + 1] = "FIXEDWIDTH " .. lit(o.fixedwidth)
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
  if o.encoding then
    p[#p + 1] = "ENCODING AS " .. o.encoding
  end
  if o.acceptinvchars then
    p[#p + 1] = o.acceptinvchars == true and "ACCEPTINVCHARS" or ("ACCEPTINVCHARS AS " .. lit(o.acceptinvchars))
  end
  for _, flag in ipairs { "truncatecolumns", "fillrecord", "removequotes", "escape", "ignoreblanklines", "trimblanks",
      "roundec", "acceptanydate", "explicit_ids", "ignoreallerrors", "noload" } do
    if o[flag] then
      p[#p + 1] = flag:upper()
    end
  end
  if o.maxerror then
    p[#p + 1] = "MAXERROR AS " .. o.maxerror
  end
  if o.comprows then
    p[#p + 1] = "COMPROWS " .. o.comprows
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

-- Shared --------------------------------------------------------------------------

local function dialect_of(db)
  if db.dialect then
    return db.dialect
  end
  if db.get_dialect then
    return db:get_dialect()
  end
  return "postgres"
end

local function ledger_mod()
  return require "lode.ledger"
end

local function s3mod()
  local ok, s3 = pcall(require, "lode.s3")
  if not ok then
    error(core.error({ op = "copy", code = "unsupported", message = "copy: lode.s3 is not built into this lode" }), 0)
  end
  return s3
end

local manifest_dir

local function split_url(url)
  local bucket, key = url:match("^s3://([^/]+)/?(.*)$")
  return bucket, key
end

local function in_tx(db, fn)
  if db.transaction then
    return db:transaction(fn)
  end
  return fn(db)
end

local function progress_line(r, t0, final)
  local secs = math.max((core.now() - t0) / 1000, 1e-3)
  io.stderr:write(("\rcopy: %d/%d files, %.1f MB/s, %.0f rows/s%s"):format(r.files, r.total_files,
    r.bytes / secs / 1e6, r.rows / secs, final and "\n" or ""))
end

-- Where the Redshift ledger writes the manifests of the files it loads
-- (never listed as data).
function manifest_dir(o)
  local d = o.manifest_dir or ("s3://%s/_lode/manifests/"):format((split_url(o.url)))
  return d:sub(-1) == "/" and d or d .. "/"
end

-- The objects to load: {url=, key=, size=, etag=}; manifest entries may be
-- missing (optional: skipped; mandatory: the load fails).
local function list_files(o)
  local s3 = s3mod()
  local files, skipped = {}, 0
  if o.manifest then
    local text = s3.get(o.url)
    local entries = load.manifest(text, o.url)
    for _, e in ipairs(entries) do
      local ok, h = pcall(s3.head, e.url)
      if not ok then
        if type(h) == "table" and (h.status == 404 or h.code == "NoSuchKey" or h.code == "NotFound") then
          if e.mandatory then
            error(core.error({ op = "copy", code = "missing_file", key = e.url, message =
              ("copy: %s is mandatory in manifest %s but does not exist"):format(e.url, o.url) }), 0)
          end
          log.info("copy: optional manifest entry missing, skipped", { key = e.url })
          skipped = skipped + 1
        else
          error(h, 0)
        end
      else
        if COLUMNAR[o.format] and e.content_length == nil then
          error(core.error({ op = "copy", code = "bad_manifest", key = e.url, message =
            ("copy: manifest %s: entry %s needs meta.content_length for format %s (as on Redshift)"):format(
              o.url, e.url, o.format) }), 0)
        end
        local _, key = split_url(e.url)
        files[#files + 1] = { url = e.url, key = key, size = h.size, etag = h.etag or "" }
      end
    end
  else
    local bucket = split_url(o.url)
    local mbucket, mprefix = split_url(manifest_dir(o))
    for _, obj in ipairs((s3.list(o.url, { recursive = true }))) do
      if mbucket == bucket and obj.key:sub(1, #mprefix) == mprefix then
        log.debug("copy: a manifest lode generated, not data", { key = obj.key })
      elseif obj.size == 0 and COLUMNAR[o.format] then
        -- markers such as _SUCCESS hold no rows; an empty object is no columnar file
        log.debug("copy: empty object skipped", { key = obj.key })
      elseif obj.size > 0 or obj.key:sub(-1) ~= "/" then
        files[#files + 1] = { url = ("s3://%s/%s"):format(bucket, obj.key), key = obj.key, size = obj.size,
                              etag = obj.etag or "" }
      end
    end
    table.sort(files, function(a, b) return a.key < b.key end)
    if #files == 0 and core.dry_run() then
      -- an earlier task of the run may write them; the plan cannot see that
      io.stdout:write(("-- lode plan: no objects under %s now: a run fails here unless an earlier step writes them\n")
        :format(o.url))
      return files, skipped
    end
    if #files == 0 then
      error(core.error({ op = "copy", code = "no_files", key = o.url,
        message = ("copy: no objects under %s (Redshift fails such a COPY too)"):format(o.url) }), 0)
    end
  end
  return files, skipped
end

-- Target columns with their types, in load order.
local function catalog_columns(db, name)
  local planned = core.dry_run() and require("lode.warehouse").planned_relation(name, function()
    return db:query("SELECT to_regclass($1) IS NOT NULL AS x", sql.qname(name))[1].x == true
  end)
  if not planned then
    return db:query([[SELECT a.attname AS name, t.typname AS typname, a.atttypmod AS typmod,
    a.attidentity <> '' AS identity
    FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
    WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum]], sql.qname(name))
  end
  -- a table this plan creates: its declared columns, typed by the server
  if planned.like then
    return catalog_columns(db, planned.like)
  end
  local out = {}
  for i, c in ipairs(planned.columns) do
    local ok, r = pcall(db.query, db, "SELECT t.typname FROM pg_type t WHERE t.oid = $1::regtype", c.type)
    local typname = ok and r[1] and r[1].typname or "text"
    local a, b = c.type:match("%(%s*(%d+)%s*,?%s*(%d*)%s*%)")
    local typmod = -1
    if a and (typname == "varchar" or typname == "bpchar") then
      typmod = tonumber(a) + 4
    elseif a and typname == "numeric" then
      typmod = ((tonumber(a) << 16) | (tonumber(b) or 0)) + 4
    end
    out[i] = { name = c.name, typname = typname, typmod = math.tointeger(typmod), identity = c.identity }
  end
  return out
end

local function target_columns(db, o)
  local r = catalog_columns(db, o.table)
  local all, by_name, by_lower = {}, {}, {}
  local loaded = {}   -- without a column list: IDENTITY columns only with EXPLICIT_IDS (as Redshift)
  for _, row in ipairs(r) do
    local c = { name = row.name, type = row.typname, identity = row.identity }
    local mod = row.typmod
    if (row.typname == "varchar" or row.typname == "bpchar") and mod >= 4 then
      c.length = mod - 4
    elseif row.typname == "numeric" and mod >= 4 then
      c.precision = ((mod - 4) >> 16) & 0xffff
      c.scale = (mod - 4) & 0xffff
    end
    all[#all + 1] = c
    if o.explicit_ids or not c.identity then
      loaded[#loaded + 1] = c
    end
    by_name[c.name] = c
    by_lower[c.name:lower()] = by_lower[c.name:lower()] or c
  end
  if #all == 0 then
    error(core.error({ op = "copy", code = "no_table", message = ("copy: table %s has no columns"):format(sql.qname(o.table)) }), 0)
  end
  if not o.columns then
    if #loaded == 0 then
      error(core.error({ op = "copy", code = "invalid_option", message =
        ("copy: every column of %s is an IDENTITY column: give EXPLICIT_IDS to load them"):format(o.table) }), 0)
    end
    return loaded
  end
  local cols, has_identity = {}, false
  for i, name in ipairs(o.columns) do
    local c = by_name[name] or by_lower[name:lower()]
    if not c then
      error(core.error({ op = "copy", code = "invalid_option", message =
        ("copy: column '%s' (columns[%d]) is not in table %s"):format(name, i, o.table) }), 0)
    end
    if c.identity and not o.explicit_ids then
      error(core.error({ op = "copy", code = "invalid_option", message =
        ("copy: column '%s' of %s is an IDENTITY column: loading it needs EXPLICIT_IDS (as on Redshift)")
          :format(c.name, o.table) }), 0)
    end
    has_identity = has_identity or c.identity
    cols[i] = c
  end
  if o.explicit_ids and not has_identity then
    for _, c in ipairs(all) do
      if c.identity then
        error(core.error({ op = "copy", code = "invalid_option", message =
          ("copy: EXPLICIT_IDS with a column list that leaves out the IDENTITY column '%s' (Redshift refuses it)")
            :format(c.name) }), 0)
      end
    end
  end
  return cols
end

-- Redshift ------------------------------------------------------------------------------

-- The rows of the failed (or MAXERROR-tolerant) COPY's errors, read on the
-- session that ran it: STL_LOAD_ERRORS (provisioned clusters, with the raw
-- value) and SYS_LOAD_ERROR_DETAIL (also serverless and concurrency scaling),
-- merged by file, line and column. Either view may be missing: no rows then.
local STL_ERRORS = "SELECT TRIM(filename) AS file, line_number AS line, TRIM(colname) AS colname, "
  .. "TRIM(raw_field_value) AS raw_value, err_code AS code, TRIM(err_reason) AS reason "
  .. "FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY line_number LIMIT 100"
local SYS_ERRORS = "SELECT TRIM(file_name) AS file, line_number AS line, TRIM(column_name) AS colname, "
  .. "error_code AS code, TRIM(error_message) AS reason FROM sys_load_error_detail "
  .. "WHERE query_id = (SELECT MAX(query_id) FROM sys_load_error_detail WHERE session_id = pg_backend_pid()) "
  .. "ORDER BY line_number LIMIT 100"
M._REDSHIFT_ERROR_QUERIES = { STL_ERRORS, SYS_ERRORS }

local function redshift_errors(db)
  local out, seen = {}, {}
  for i, q in ipairs { STL_ERRORS, SYS_ERRORS } do
    local ok, rows = pcall(db.query, db, q)
    if ok then
      for _, x in ipairs(rows) do
        local id = ("%s\0%s\0%s"):format(x.file, x.line, x.colname)
        if not seen[id] then
          seen[id] = true
          out[#out + 1] = { file = x.file, line = x.line, colname = x.colname, raw_value = x.raw_value,
                            code = x.code, reason = x.reason,
                            source = i == 1 and "stl_load_errors" or "sys_load_error_detail" }
        end
      end
    end
  end
  table.sort(out, function(a, b)
    if a.file ~= b.file then return tostring(a.file) < tostring(b.file) end
    return (tonumber(a.line) or 0) < (tonumber(b.line) or 0)
  end)
  return out
end

local function copy_failed(db, err)
  local e = type(err) == "table" and err or { message = tostring(err) }
  local rows = redshift_errors(db)
  local msg = sql.redact(tostring(e.message or err))
  if rows[1] then
    local x = rows[1]
    msg = ("%s (%s, line %s, column %s: %s%s)"):format(msg, x.file, x.line, x.colname, x.reason,
      x.raw_value and ("; value '" .. x.raw_value .. "'") or "")
  end
  return core.error({ op = "copy", code = "load_failed", message = "copy: " .. msg, load_errors = rows,
                      sqlstate = e.sqlstate, retryable = e.retryable or false })
end

-- The files the ledger (lode.load_history under lt) has not seen at their
-- current ETag; the others are counted in result.skipped_files.
local function not_loaded(tx, lt, files, result)
  local done = ledger_mod().loaded(tx, lt)
  local todo = {}
  for _, f in ipairs(files) do
    if ledger_mod().is_loaded(done, f) then
      result.skipped_files = result.skipped_files + 1
      log.debug("copy: already loaded, skipped", { key = f.url, etag = f.etag })
    else
      todo[#todo + 1] = f
    end
  end
  return todo
end

-- Run fn(tx) in a transaction of its own, or in the caller's when db is one
-- (Redshift has no savepoints: the caller's COMMIT then keeps rows and ledger together).
local function redshift_tx(db, fn)
  if db.depth ~= nil and db.session ~= true then
    return fn(db)
  end
  if db.session == true and db.conn and db.conn.transaction_status then
    local st = db.conn:transaction_status()
    if st == "intrans" or st == "inerror" then
      return fn(db)
    end
  end
  return db:transaction(fn)
end

-- A manifest naming exactly these files (mandatory, with their lengths, which
-- columnar formats need).
local function manifest_json(files)
  local json = require "lode.json"
  local entries = {}
  for i, f in ipairs(files) do
    entries[i] = { url = f.url, mandatory = true, meta = { content_length = f.size } }
  end
  return json.encode({ entries = entries })
end

local manifest_seq = 0

local function generated_manifest_url(o, lt)
  manifest_seq = manifest_seq + 1
  local name = ledger_mod().table_key(lt):gsub('[^%w_.-]', "_")
  return ("%s%s/%d-%d-%d.manifest"):format(manifest_dir(o), name, os.time(), core.now() % 1000000, manifest_seq)
end

-- The native COPY, with the ledger around it (see docs/reference.md):
--   list the objects (or the manifest's entries) with their ETags;
--   BEGIN; LOCK lode.load_history; read the table's ledger;
--   nothing new: COMMIT, no COPY;
--   otherwise COPY exactly the new files — from the caller's manifest when it
--   names only new files, else from a manifest lode writes listing them (a
--   prefix COPY could also take objects that arrive after the listing, which
--   the ledger would not know) — then record the files, and COMMIT.
local function into_redshift(db, o, t0)
  local shown = M.statement(o)
  if core.dry_run() or o.ledger == false then
    log.debug("copy: " .. shown)
    if core.dry_run() then
      io.stdout:write("-- lode plan: not run\n", shown, ";\n")
      return { files = 0, rows = 0, bytes = 0, skipped_files = 0, errors = 0, seconds = 0, planned = true }
    end
    local r
    local ok, err = pcall(o.cursor and redshift_tx or function(d, fn) return fn(d) end, db, function(tx)
      tx:exec(M.statement(o, { credentials = true }))
      r = tx:query("SELECT pg_last_copy_count() AS n")
      if o.cursor then
        o.cursor[1]:set(o.cursor[2], tx)
      end
    end)
    if not ok then
      error(r and err or copy_failed(db, err), 0)
    end
    return { files = 0, rows = r[1] and r[1].n or 0, bytes = 0, skipped_files = 0, errors = 0,
             seconds = (core.now() - t0) / 1000 }
  end
  local ledger = ledger_mod()
  local s3 = s3mod()
  local lt = o.ledger_table or o.table
  local run = o.run or require("lode.state").current_run_id or os.getenv("LODE_RUN_ID")
  local files, missing = list_files(o)
  ledger.ensure(db)
  local result = { files = 0, rows = 0, bytes = 0, skipped_files = missing, errors = 0, seconds = 0 }
  local function load(s)
    local generated
    local copy_ran = false
    local ok, err = pcall(redshift_tx, s, function(tx)
      tx:exec("LOCK lode.load_history")
      if o.cursor then
        o.cursor[1]:set(o.cursor[2], tx) -- commits with the rows (or with the files loaded before)
      end
      local todo = o.reload and files or not_loaded(tx, lt, files, result)
      if #todo == 0 then
        return
      end
      local run_o = o
      if not (o.manifest and #todo == #files) then
        generated = generated_manifest_url(o, lt)
        s3.put(generated, manifest_json(todo), { content_type = "application/json" })
        run_o = {}
        for k, v in pairs(o) do
          run_o[k] = v
        end
        run_o.url, run_o.manifest = generated, true
        VALIDATED[run_o] = true
      end
      log.debug("copy: " .. M.statement(run_o))
      copy_ran = true
      tx:exec(M.statement(run_o, { credentials = true }))
      local n = tx:query("SELECT pg_last_copy_count() AS n")[1].n
      for _, f in ipairs(todo) do
        -- Redshift reports one count per statement: per-file rows are known for one file only
        f.rows = #todo == 1 and n or -1
        result.bytes = result.bytes + f.size
      end
      ledger.record(tx, lt, todo, run)
      result.files, result.rows = #todo, n
    end)
    if generated then
      pcall(s3.delete, generated)
    end
    if not ok then
      error(copy_ran and copy_failed(s, err) or err, 0)
    end
    if result.files > 0 and o.maxerror and o.maxerror > 0 then
      result.errors = #redshift_errors(s)
    end
  end
  if type(db.session) == "function" then
    db:session(load) -- one connection: pg_last_copy_id() and the error views are per session
  else
    load(db)
  end
  result.seconds = (core.now() - t0) / 1000
  return result
end

-- PostgreSQL emulation ----------------------------------------------------------------------

local CHUNK = 4 << 20

-- Fetch every (file, range) chunk in order with up to `depth` requests in
-- flight; calls consume(file, index, bytes) in order.
local function fetch_in_order(files, depth, consume)
  local s3 = s3mod()
  local jobs = {}
  for fi, f in ipairs(files) do
    if f.size == 0 then
      jobs[#jobs + 1] = { file = fi, empty = true }
    end
    for first = 0, f.size - 1, CHUNK do
      jobs[#jobs + 1] = { file = fi, first = first, last = math.min(first + CHUNK, f.size) - 1 }
    end
  end
  local handles = {}
  local next_job = 1
  local ok, err = pcall(function()
    for i, j in ipairs(jobs) do
      while next_job <= #jobs and next_job < i + depth do
        local jj = jobs[next_job]
        if jj.empty then
          handles[next_job] = false
        else
          local f = files[jj.file]
          handles[next_job] = lode.spawn(function()
            -- the version listed, or ObjectChanged: never bytes of two versions under one ETag
            return s3.get(f.url, { range = { jj.first, jj.last }, if_match = f.etag })
          end)
        end
        next_job = next_job + 1
      end
      local h = handles[i]
      handles[i] = nil
      local bytes = h and h:await() or ""
      consume(j.file, i, bytes, jobs[i + 1] == nil or jobs[i + 1].file ~= j.file)
      bytes = nil
      -- each chunk leaves megabytes of strings behind (the bytes and their
      -- conversion): collect now rather than let the heap double first
      collectgarbage("step", CHUNK >> 10)
    end
  end)
  if not ok then
    for _, h in pairs(handles) do
      if h and not h:done() then
        h:cancel()
      end
    end
    error(err, 0)
  end
end

-- The expressions of a jsonpaths file: {"jsonpaths": ["$.a", "$['b']", ...]}.
local function read_jsonpaths(o, ncols)
  local text = s3mod().get(o.json)
  local ok, doc = pcall(require("lode.json").decode, text)
  local paths = ok and type(doc) == "table" and doc.jsonpaths
  if type(paths) ~= "table" or #paths == 0 then
    error(core.error({ op = "copy", code = "bad_jsonpaths", key = o.json, message =
      ("copy: %s is not a jsonpaths file ({\"jsonpaths\": [\"$.a\", ...]})"):format(o.json) }), 0)
  end
  for i, e in ipairs(paths) do
    if type(e) ~= "string" then
      error(core.error({ op = "copy", code = "bad_jsonpaths", key = o.json, message =
        ("copy: %s: expression %d is not a string"):format(o.json, i) }), 0)
    end
  end
  if #paths ~= ncols then
    error(core.error({ op = "copy", code = "bad_jsonpaths", key = o.json, message =
      ("copy: %s has %d expressions for %d columns (they must match, as on Redshift)"):format(o.json, #paths, ncols) }), 0)
  end
  return paths
end

local function decoder_for(o, cols, binary)
  local z
  if o.gzip then z = "gzip" elseif o.bzip2 then z = "bzip2" elseif o.zstd then z = "zstd" else z = "auto" end
  local jsonpaths
  if o.format == "json" and o.json ~= "auto" and o.json ~= "auto ignorecase" then
    jsonpaths = read_jsonpaths(o, #cols)
  end
  if o.widths and #o.widths ~= #cols then
    error(core.error({ op = "copy", code = "bad_fixedwidth", message =
      ("copy: FIXEDWIDTH '%s' has %d widths for %d columns of %s (they must match, as on Redshift)")
        :format(o.fixedwidth, #o.widths, #cols, sql.qname(o.table)) }), 0)
  end
  return load.decoder {
    format = (o.format == "text" or o.format == "fixedwidth") and "text" or o.format, columns = cols,
    widths = o.widths, encoding = o.encoding,
    ignorecase = o.json == "auto ignorecase", jsonpaths = jsonpaths, delimiter = o.delimiter, quote = o.quote,
    escape = o.escape, removequotes = o.removequotes, ignoreblanklines = o.ignoreblanklines,
    ignoreheader = o.ignoreheader, fillrecord = o.fillrecord, null_as = o.null_as, emptyasnull = o.emptyasnull,
    blanksasnull = o.blanksasnull, truncatecolumns = o.truncatecolumns, acceptinvchars = o.acceptinvchars,
    roundec = o.roundec, trimblanks = o.trimblanks, acceptanydate = o.acceptanydate,
    dateformat = o.dateformat, timeformat = o.timeformat, compression = z, binary = binary,
  }
end

local PROGRESS_MS = 500

-- Parquet: files into one binary COPY into `target` (the table, or a stream's
-- stage) through the C reader (lode.load); `progress` (or nil) counts it.
local function load_parquet(s, o, todo, cols, result, target, progress)
  local names, tcols, urls, etags = {}, {}, {}, {}
  for i, c in ipairs(cols) do
    names[i] = c.name
    tcols[i] = { name = c.name, type = c.type }
  end
  for i, f in ipairs(todo) do
    urls[i] = f.url
    etags[i] = f.etag
  end
  local text = ("COPY %s (%s) FROM STDIN (FORMAT binary)"):format(target, sql.idents(names))
  local conn = s.conn
  if not conn then
    error(core.error({ op = "copy", code = "unsupported", message =
      "copy: Parquet loads need a warehouse connection (wh, a transaction or a session)" }), 0)
  end
  local r = load.parquet_copy(conn, text, urls, tcols, { prefetch = o.concurrency, progress = progress,
                                                         etags = etags })
  for i, f in ipairs(todo) do
    f.rows = r.file_rows[i] or 0
    result.bytes = result.bytes + f.size
    log.debug("copy: file loaded", { key = f.url, rows = f.rows, bytes = f.size })
  end
  result.files = result.files + #todo
  result.rows = result.rows + r.rows
end

-- A task redrawing the progress line from the Parquet loads' counters (one per stream).
local function progress_ticker(result, t0, progs)
  return lode.spawn(function()
    while true do
      lode.sleep(PROGRESS_MS)
      local sum = { files = 0, bytes = 0, rows = 0, total_files = result.total_files }
      for _, p in ipairs(progs) do
        local g = p:get()
        sum.files, sum.bytes, sum.rows = sum.files + g.files, sum.bytes + g.bytes, sum.rows + g.rows
      end
      progress_line(sum, t0)
    end
  end)
end

-- The previous path, kept for tests (M._lua_text_path): files fetched in
-- Lua, decoded in C chunk by chunk, into one text COPY into `target`.
-- acc.counts[sid] is this stream's decoder total.
local function load_text_lua(s, o, todo, cols, result, target, acc, sid, show, t0, statement)
  local dec = decoder_for(o, cols)
  local names = {}
  for i, c in ipairs(cols) do
    names[i] = c.name
  end
  local w = s:copy_in(statement or ("COPY %s (%s) FROM STDIN"):format(target, sql.idents(names)), "text")
  local errors = acc.errors
  local file_t0 = core.now()
  local ok, err = pcall(fetch_in_order, todo, o.concurrency or 4, function(fi, _, bytes, last)
    local f = todo[fi]
    if not f.begun then
      f.begun = true
      file_t0 = core.now()
      dec:begin_file(f.url)
    end
    result.bytes = result.bytes + #bytes
    local out = dec:feed(bytes)
    if #out > 0 then
      w:write(out)
    end
    if last then
      out = dec:end_file()
      if #out > 0 then
        w:write(out)
      end
      local st = dec:stats()
      f.rows = st.file_rows
      for _, e in ipairs(dec:take_errors()) do
        errors[#errors + 1] = e
      end
      acc.counts[sid] = st.errors
      local bad = 0
      for _, n in pairs(acc.counts) do
        bad = bad + n
      end
      if bad > acc.maxerror then
        error(core.error({ op = "copy", code = "load_failed", key = f.url, load_errors = errors, message =
          ("copy: %d bad rows exceed MAXERROR %d; nothing loaded. First: %s line %d, column %s: %s"):format(
            bad, acc.maxerror, errors[1].file, errors[1].line, errors[1].colname or "?", errors[1].reason) }), 0)
      end
      result.files = result.files + 1
      log.debug("copy: file loaded", { key = f.url, rows = f.rows, bytes = f.size,
                                       ms = core.now() - file_t0, bad_rows = st.file_errors })
      if show then
        progress_line(result, t0)
      end
    end
  end)
  if not ok then
    pcall(w.abort, w, "lode copy failed")
    error(err, 0)
  end
  w:finish()
  local st = dec:stats()
  result.rows = result.rows + st.rows
  result.errors = result.errors + st.errors
end

-- CSV, JSON, text: files streamed from S3 through the decoder into one COPY
-- into `target`, all in C (load.text_copy). acc is shared by a load's
-- streams: the bad rows of all of them count against MAXERROR (acc.account,
-- counted in C as each file ends) and are kept in acc.errors for
-- lode.load_errors.
-- The column types the decoder renders in binary COPY form; a table with
-- any other column is loaded in text form (the server parses that column).
-- Not interval: its input syntax (units, ISO 8601, SQL forms, the typmod's
-- fields) is the server's to read.
local BINARY_TYPES = { text = true, varchar = true, bpchar = true, int2 = true, int4 = true, int8 = true,
                       numeric = true, float4 = true, float8 = true, bool = true, date = true, time = true,
                       timetz = true, timestamp = true, timestamptz = true, json = true, jsonb = true,
                       bytea = true }

-- The Lua path: in tests that compare the two, and under `lode plan`, where
-- its session's copy_in prints the COPY and reads (decodes, checks) the
-- files without sending a row (the C path would send them to the server).
local function lua_text_path()
  return M._lua_text_path or core.dry_run()
end

local function load_text(s, o, todo, cols, result, target, acc, sid, show, t0, progress)
  local names = {}
  local binary = not M._text_copy_text
  for i, c in ipairs(cols) do
    names[i] = c.name
    binary = binary and BINARY_TYPES[c.type] == true
  end
  local statement = ("COPY %s (%s) FROM STDIN%s"):format(target, sql.idents(names), binary and " (FORMAT binary)" or "")
  if lua_text_path() then
    -- the plan prints the statement a run sends
    return load_text_lua(s, o, todo, cols, result, target, acc, sid, show, t0,
      core.dry_run() and statement or nil)
  end
  local dec = decoder_for(o, cols, binary)
  local conn = s.conn
  if not conn then
    error(core.error({ op = "copy", code = "unsupported", message =
      "copy: text loads need a warehouse connection (wh, a transaction or a session)" }), 0)
  end
  acc.account = acc.account or load.errors(acc.maxerror)
  local urls, sizes, etags = {}, {}, {}
  for i, f in ipairs(todo) do
    urls[i], sizes[i], etags[i] = f.url, f.size, f.etag
  end
  local ok, r = pcall(load.text_copy, conn, statement, dec,
    urls, { sizes = sizes, etags = etags, errors = acc.account, depth = o.concurrency, progress = progress })
  local errors = acc.errors
  for _, e in ipairs(acc.account:take()) do
    errors[#errors + 1] = e
  end
  if not ok then
    if type(r) == "table" and r.op == "copy" and r.code == "load_failed" then
      r.load_errors = errors
    end
    error(r, 0)
  end
  for i, f in ipairs(todo) do
    f.rows = r.file_rows[i]
    log.debug("copy: file loaded", { key = f.url, rows = f.rows, bytes = f.size, bad_rows = r.file_errors[i] })
  end
  result.files = result.files + #todo
  result.bytes = result.bytes + r.bytes
  result.rows = result.rows + r.rows
  result.errors = result.errors + r.errors
end

-- Parallel streams (copy.into's `streams`) --------------------------------------------
--
-- One load's files are split over N connections that stream at once, and
-- the load stays all-or-nothing with one commit point:
--
--   the load's own transaction (connection 1): advisory lock on the table's
--     ledger key, read the ledger, COPY its share straight into the target;
--   connections 2..N, at the same time, each in autocommit: CREATE UNLOGGED
--     TABLE lode.copy_stage_<key>_<load>_<i> AS SELECT <the loaded columns>
--     FROM target WITH NO DATA, COPY its share into it;
--   then, back in the load's transaction: INSERT INTO target SELECT FROM
--     each stage, DROP the stages, the ledger rows, COMMIT.
--
-- Until that COMMIT nothing is in the target or the ledger; a failure rolls
-- the transaction back and drops the stages; a SIGKILL leaves only stages,
-- which no reader sees and which the next load of the table (holding its
-- lock, so no live load owns them) drops before it starts. Stages are
-- UNLOGGED: their rows are written once without WAL, and the target's share
-- of them a second time (by the INSERT), which is the price of atomicity
-- without PREPARE TRANSACTION (off by default: max_prepared_transactions = 0,
-- and transactions a SIGKILL left prepared would hold locks until resolved).
-- The advisory lock serialises loads into one table, not a load's own streams.
--
-- Streams take only connections free at the time (wh:try_acquire): a load
-- holding one connection never waits for a second, so loads sharing a full
-- pool cannot deadlock; with none free it runs as one stream.

-- One stream unless asked: on a 2-core server 2 streams ran at 0.77x of one
-- (tests/bench/copy.sh, 3 M rows, quiet machine): the stages' second write
-- costs more than the second backend wins. PostgreSQL does not report its
-- cores, so only the user can say a server has room for more.
local DEFAULT_STREAMS = 1

local function stream_count(db, o, todo)
  if not db.try_acquire or core.dry_run() or #todo < 2 then
    return 1 -- inside a caller's transaction or session, one stream (its uncommitted tables are invisible to others)
  end
  local n = o.streams
  if n == nil then
    n = DEFAULT_STREAMS
  end
  return math.min(n, #todo, db.size)
end

-- Split files into n groups of about equal bytes (largest first onto the
-- lightest group); each group keeps the files' listing order.
local function split_files(files, n)
  local order = {}
  for i = 1, #files do
    order[i] = i
  end
  table.sort(order, function(a, b)
    if files[a].size ~= files[b].size then
      return files[a].size > files[b].size
    end
    return a < b
  end)
  local bytes, count, pick = {}, {}, {}
  for g = 1, n do
    bytes[g], count[g] = 0, 0
  end
  for _, i in ipairs(order) do
    local best = 1
    for g = 2, n do
      if bytes[g] < bytes[best] or (bytes[g] == bytes[best] and count[g] < count[best]) then
        best = g
      end
    end
    pick[i], bytes[best], count[best] = best, bytes[best] + files[i].size, count[best] + 1
  end
  local groups = {}
  for g = 1, n do
    groups[g] = {}
  end
  for i, f in ipairs(files) do
    local g = groups[pick[i]]
    g[#g + 1] = f
  end
  return groups
end

local function load_files(s, o, files, cols, result, target, acc, sid, show, t0, progress)
  if o.format == "parquet" then
    load_parquet(s, o, files, cols, result, target, progress)
  else
    load_text(s, o, files, cols, result, target, acc, sid, show, t0, progress)
  end
end

-- Streams 2..N into stages (on the pinned connections `extra`), stream 1
-- into the target in tx, then the stages moved into the target in tx.
-- `stages` collects the stage names (the caller drops them on failure).
local function load_parallel(db, tx, o, todo, cols, result, acc, show, t0, progs, lock_key, extra, stages)
  local target = sql.qname(o.table)
  local first = db:session_on(extra[1])
  local h = first:query("SELECT left(md5($1), 16) AS h", lock_key)[1].h
  local prefix = ("copy_stage_%s_"):format(h)
  -- stages of a killed load of this table (we hold its lock: no live load owns them)
  local stale = first:query("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    .. "WHERE n.nspname = 'lode' AND left(c.relname, $2) = $1", prefix, #prefix)
  for _, r in ipairs(stale) do
    log.info("copy: dropping the stage of an interrupted load", { table = o.table, stage = r.relname })
    first:exec("DROP TABLE IF EXISTS " .. sql.qname({ "lode", r.relname }))
  end
  local load_id = ("%08x"):format(math.random(0, 0x7fffffff))
  local groups = split_files(todo, #extra + 1)
  local names = {}
  for i, c in ipairs(cols) do
    names[i] = c.name
  end
  local tasks = { function()
    load_files(tx, o, groups[1], cols, result, target, acc, 1, show, t0, progs[1])
  end }
  for i, c in ipairs(extra) do
    local stage = sql.qname({ "lode", ("%s%s_%d"):format(prefix, load_id, i) })
    stages[#stages + 1] = stage
    tasks[i + 1] = function()
      local s = db:session_on(c)
      -- the loaded columns with their types, no constraints: NOT NULL, identity and defaults
      -- of the columns not loaded apply at the INSERT into the target
      s:exec(("CREATE UNLOGGED TABLE %s AS SELECT %s FROM %s WITH NO DATA"):format(stage, sql.idents(names), target))
      load_files(s, o, groups[i + 1], cols, result, stage, acc, i + 1, show, t0, progs[i + 1])
    end
  end
  log.debug("copy: parallel streams", { table = o.table, streams = #tasks, files = #todo })
  lode.all(tasks)
  local list = sql.idents(names)
  for _, stage in ipairs(stages) do
    tx:exec(("INSERT INTO %s (%s) SELECT %s FROM %s"):format(target, list, list, stage))
    tx:exec("DROP TABLE " .. stage)
  end
end

local function into_postgres(db, o, t0)
  if o.format == "orc" then
    error(core.error({ op = "copy", code = "unsupported", message =
      ("copy: format '%s' is not emulated on PostgreSQL yet"):format(o.format) }), 0)
  end
  local ledger = require "lode.ledger"
  local run = o.run or require("lode.state").current_run_id or os.getenv("LODE_RUN_ID")
  local files, missing = list_files(o)
  local cols = target_columns(db, o)
  local lt = o.ledger_table or o.table
  local use_ledger = o.ledger ~= false
  -- IGNOREALLERRORS: every bad row is skipped (and recorded), as an unbounded MAXERROR
  local maxerror = o.ignoreallerrors and math.maxinteger or o.maxerror or 0
  -- lode.load_errors (Redshift's STL_LOAD_ERRORS) lives with the ledger
  -- (under `lode plan` its statements are printed, and the plan knows the tables);
  -- parallel streams stage in schema lode
  if use_ledger or maxerror > 0 or stream_count(db, o, files) > 1 then
    ledger.ensure(db)
  end
  if o.cursor and not core.dry_run() then
    require("lode.cursor").ensure(db)
  end
  local result = { files = 0, rows = 0, bytes = 0, skipped_files = missing, errors = 0, seconds = 0,
                   total_files = #files, streams = 1 }
  local show = o.show_progress
  if show == nil then
    show = os.getenv("TERM") ~= nil and os.getenv("TERM") ~= "dumb" and core.isatty and core.isatty(2)
  end
  local acc = { errors = {}, counts = {}, maxerror = maxerror }
  local stages = {}
  local extra = {} -- connections pinned for streams 2..N
  local function release_extra()
    for i = #extra, 1, -1 do
      db:release(table.remove(extra, i))
    end
  end
  local guard <close> = setmetatable({}, { __close = release_extra }) -- also when this task is cancelled

  local ok, err = pcall(in_tx, db, function(tx)
    -- one loader per table at a time: the ledger check and the rows agree
    -- (a load's own streams run on other connections inside it)
    local lock_key = "lode.copy:" .. ledger.table_key(lt)
    tx:query("SELECT pg_advisory_xact_lock(hashtext($1))", lock_key)
    if o.cursor then
      o.cursor[1]:set(o.cursor[2], tx) -- commits with the rows (or with the files loaded before)
    end
    local todo = (use_ledger and not o.reload) and not_loaded(tx, lt, files, result) or files
    if #todo == 0 then
      return
    end
    if o.format == "parquet" and core.dry_run() then
      io.stdout:write(("-- lode plan: COPY %d Parquet file(s), %d bytes, into %s\n"):format(#todo,
        (function() local n = 0 for _, f in ipairs(todo) do n = n + f.size end return n end)(), sql.qname(o.table)))
      return
    end
    for _ = 2, stream_count(db, o, todo) do
      local c = db:try_acquire()
      if not c then
        break
      end
      extra[#extra + 1] = c
    end
    result.streams = #extra + 1
    local progs = {}
    local ticker
    if show and (o.format == "parquet" or not lua_text_path()) then
      for i = 1, #extra + 1 do
        progs[i] = load.progress()
      end
      ticker = progress_ticker(result, t0, progs)
    end
    local tok, terr = pcall(function()
      if #extra == 0 then
        load_files(tx, o, todo, cols, result, sql.qname(o.table), acc, 1, show, t0, progs[1])
      else
        load_parallel(db, tx, o, todo, cols, result, acc, show, t0, progs, lock_key, extra, stages)
      end
    end)
    if ticker then
      ticker:cancel()
    end
    if not tok then
      error(terr, 0)
    end
    if use_ledger then
      ledger.record(tx, lt, todo, run)
    end
    if #acc.errors > 0 then
      ledger.record_errors(tx, lt, acc.errors, run)
    end
  end)
  release_extra()
  if not ok then
    -- the transaction rolled back; the stages were committed by their streams
    for _, stage in ipairs(stages) do
      local dok, derr = pcall(db.exec, db, "DROP TABLE IF EXISTS " .. stage)
      if not dok then
        log.warn("copy: could not drop a stage (the next load of the table will)", { stage = stage,
          error = tostring(derr) })
      end
    end
    error(err, 0)
  end
  if show and result.files > 0 then
    progress_line(result, t0, true)
  end
  result.total_files = nil
  result.seconds = (core.now() - t0) / 1000
  return result
end

--- copy.into(db, opts) -> {files=, rows=, bytes=, skipped_files=, errors=, seconds=}
function M.into(db, opts)
  local t0 = core.now()
  local o = M.options(opts)
  if type(db) ~= "table" or not db.query then
    usage("copy.into(wh, opts): wh must be a warehouse or a transaction", 2)
  end
  if dialect_of(db) == "redshift" then
    return into_redshift(db, o, t0)
  end
  if o.noload and not core.dry_run() then
    -- NOLOAD: every check of a real load (decoding, types, MAXERROR, the
    -- server's constraints), then nothing kept: the load runs in a
    -- transaction (or savepoint) that is rolled back; no ledger rows either
    local checked
    local undo = {}
    local ok, err = pcall(in_tx, db, function(tx)
      local lo = {}
      for k, v in pairs(o) do
        lo[k] = v
      end
      lo.ledger, lo.reload, lo.ledger_table, lo.cursor = false, nil, nil, nil
      VALIDATED[lo] = true
      checked = into_postgres(tx, lo, t0)
      error(undo, 0)
    end)
    if not ok and err ~= undo then
      error(err, 0)
    end
    checked.rows = 0
    return checked
  end
  return into_postgres(db, o, t0)
end

return M

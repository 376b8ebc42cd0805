-- lode.ledger — the load ledger kept in the warehouse (schema `lode`):
--
--   lode.load_history  one row per (table, S3 object, ETag) loaded, with size,
--                      rows and run; written in the same transaction as the
--                      rows, so a crash never leaves a file half-recorded.
--                      `key` holds the object's whole URL (s3://bucket/key),
--                      so the same key and ETag in another bucket is another
--                      file; rows written before that hold the bare key and
--                      still count for that key in any bucket.
--   lode.load_errors   rows rejected by emulated loads with MAXERROR, shaped
--                      like Redshift's STL_LOAD_ERRORS.
--
--   ledger.ensure(db)                          -- create the schema and tables once
--   ledger.loaded(db, "sales") -> { [key .. "\0" .. etag] = true }
--   ledger.record(tx, "sales", { {key=, etag=, size=, rows=} ... }, run)
--   ledger.record_errors(tx, "sales", errors, run)

local core = require "lode.core"
local sql = require "lode.sql"

local M = {}

local function ddl(dialect)
  local now = dialect == "redshift" and "GETDATE()" or "now()"
  local ts = dialect == "redshift" and "TIMESTAMP" or "TIMESTAMPTZ"
  return {
    "CREATE SCHEMA IF NOT EXISTS lode",
    "CREATE TABLE IF NOT EXISTS lode.load_history (table_name VARCHAR(512) NOT NULL, "
      .. "key VARCHAR(2048) NOT NULL, etag VARCHAR(256) NOT NULL, size BIGINT NOT NULL, rows BIGINT NOT NULL, "
      .. "run VARCHAR(256), loaded_at " .. ts .. " DEFAULT " .. now .. ", PRIMARY KEY (table_name, key, etag))",
    "CREATE TABLE IF NOT EXISTS lode.load_errors (table_name VARCHAR(512) NOT NULL, run VARCHAR(256), "
      .. "filename VARCHAR(2048), line_number BIGINT, colname VARCHAR(512), colnum INTEGER, "
      .. "raw_line VARCHAR(4096), raw_field_value VARCHAR(4096), err_code INTEGER, err_reason VARCHAR(1024), "
      .. "starttime " .. ts .. " DEFAULT " .. now .. ")",
  }
end

local ready = setmetatable({}, { __mode = "k" })

-- Run one idempotent DDL statement; two runs creating the schema at once may
-- race on the catalog, and the second attempt sees it. Inside a transaction
-- each attempt is a savepoint, so a lost race leaves the transaction usable.
local function create(db, s, in_tx, dialect)
  local function attempt()
    if in_tx and dialect ~= "redshift" then -- Redshift has no savepoints
      return pcall(db.transaction, db, function(sp) (sp.query_raw or sp.exec)(sp, s) end)
    end
    return pcall(db.query_raw or db.exec, db, s)   -- as written: emulate = "redshift" would drop the key
  end
  local ok, err = attempt()
  if not ok and not attempt() then
    error(err, 0)
  end
end

--- ledger.ensure(db): create schema lode and its tables (once per warehouse
--- handle). db is a warehouse, or a session or transaction: then on its own
--- connection (asking the pool for another while holding one deadlocks a
--- pool of one), and remembered only outside a transaction, which may yet
--- roll the tables back.
function M.ensure(db)
  local wh = db.wh or db
  if ready[wh] then
    return
  end
  local dialect = wh.dialect or (wh.get_dialect and wh:get_dialect()) or "postgres"
  local in_tx = false
  if db.conn then
    local st = db.conn:transaction_status()
    in_tx = st == "intrans" or st == "inerror"
  end
  for _, s in ipairs(ddl(dialect)) do
    create(db, s, in_tx, dialect)
  end
  if not in_tx then
    ready[wh] = true
  end
end

local function table_key(name)
  -- one spelling per table whatever the caller wrote: the quoted qualified name
  return sql.qname(name)
end
M.table_key = table_key

--- The ledger's name for a file: its s3:// URL (the bucket is part of it).
local function file_id(f)
  return f.url or f.key
end
M.file_id = file_id

--- ledger.is_loaded(set, f): f (with url, key, etag) is in the set from ledger.loaded —
--- by URL, or by a bare key recorded before the ledger kept buckets.
function M.is_loaded(set, f)
  return set[file_id(f) .. "\0" .. f.etag] or (f.key ~= nil and set[f.key .. "\0" .. f.etag]) or false
end

--- ledger.loaded(db, table) -> set of key .. "\0" .. etag already loaded into table
function M.loaded(db, tablename)
  local r = db:query("SELECT key, etag FROM lode.load_history WHERE table_name = $1", table_key(tablename))
  local set = {}
  for _, row in ipairs(r) do
    set[row.key .. "\0" .. row.etag] = true
  end
  return set
end

local BATCH = 100

--- ledger.record(tx, table, files, run): one history row per file (same
--- transaction as the rows), 100 files per statement; a file loaded again
--- (reload) replaces its row.
function M.record(tx, tablename, files, run)
  local t = table_key(tablename)
  for first = 1, #files, BATCH do
    local last = math.min(first + BATCH - 1, #files)
    local match, params = {}, { t }
    for i = first, last do
      local f = files[i]
      params[#params + 1] = file_id(f)
      params[#params + 1] = f.etag
      match[#match + 1] = ("(key = $%d AND etag = $%d)"):format(#params - 1, #params)
    end
    tx:exec("DELETE FROM lode.load_history WHERE table_name = $1 AND (" .. table.concat(match, " OR ") .. ")",
      table.unpack(params))
    local rows
    rows, params = {}, { t, run or core.null }
    for i = first, last do
      local f = files[i]
      local n = #params
      params[n + 1], params[n + 2], params[n + 3], params[n + 4] = file_id(f), f.etag, f.size, f.rows
      rows[#rows + 1] = ("($1, $%d, $%d, $%d, $%d, $2)"):format(n + 1, n + 2, n + 3, n + 4)
    end
    tx:exec("INSERT INTO lode.load_history (table_name, key, etag, size, rows, run) VALUES "
      .. table.concat(rows, ", "), table.unpack(params))
  end
end

local function clip(s, n)
  s = s or ""
  if #s <= n then
    return s
  end
  -- cut on a UTF-8 character boundary
  local cut = n
  while cut > 0 and (s:byte(cut + 1) or 0) & 0xC0 == 0x80 do
    cut = cut - 1
  end
  return s:sub(1, cut)
end

-- text that PostgreSQL stores: NULs and invalid UTF-8 shown as \xNN
local function printable(s)
  s = s or ""
  s = s:gsub("%z", "\\x00")
  if not utf8.len(s) then
    local out = {}
    local i = 1
    while i <= #s do
      local ok, len = pcall(utf8.len, s, i, i)
      local c = s:byte(i)
      if c < 0x80 then
        out[#out + 1] = string.char(c)
        i = i + 1
      else
        local n = c >= 0xF0 and 4 or c >= 0xE0 and 3 or 2
        local piece = s:sub(i, i + n - 1)
        if ok and len and utf8.len(piece) == 1 then
          out[#out + 1] = piece
          i = i + n
        else
          out[#out + 1] = ("\\x%02X"):format(c)
          i = i + 1
        end
      end
    end
    s = table.concat(out)
  end
  return s
end
M.printable = printable

--- ledger.record_errors(tx, table, errors, run): rows of lode.load_errors
function M.record_errors(tx, tablename, errors, run)
  local t = table_key(tablename)
  for _, e in ipairs(errors) do
    tx:exec("INSERT INTO lode.load_errors (table_name, run, filename, line_number, colname, colnum, raw_line, "
      .. "raw_field_value, err_code, err_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
      t, run or core.null, e.file, e.line, e.colname or core.null, e.column,
      clip(printable(e.raw_line), 1024), clip(printable(e.raw_value), 1024), e.code, clip(printable(e.reason), 1000))
  end
end

return M

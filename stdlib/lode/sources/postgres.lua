-- lode.sources.postgres — a table or query of any libpq-reachable database
-- extracted to Parquet files (local or s3://) in chunks, optionally only the
-- rows past a cursor value, from one consistent snapshot:
--
--   local src = lode.warehouse { url = "postgresql://app-db/shop" }
--   local r = require("lode.sources.postgres").extract(src, {
--     table = "public.orders", cursor_column = "updated_at", since = c:get(),
--     to = "s3://lake/staging/orders/" .. run_id .. "/", chunk_rows = 1000000 })
--   -- r = { files = { {url=, rows=, bytes=, etag=} }, rows =, max = greatest cursor value extracted, columns = }
--
-- One REPEATABLE READ transaction: every chunk comes from the same snapshot,
-- so a concurrent writer never tears a row set or duplicates a row across
-- chunks. Rows stream in single-row mode (tx:rows), memory is one Parquet
-- row group. Ordered by the cursor column (when given), so `max` is the last
-- row's. timestamptz columns are written as UTC timestamps.
-- A cursor on a column the writer sets at commit time can still miss rows
-- that commit later with an older value: prefer a sequence or a commit-order
-- column.

local core = require "lode.core"
local sql = require "lode.sql"
local writer = require "lode.parquet.writer"

local M = {}

local function fail(code, message)
  error(core.error({ op = "sources.postgres", code = code, message = message, retryable = false }), 0)
end

-- Redshift type of a catalog column, and how to select it
local function column_type(c)
  local t = c.data_type
  if t == "numeric" then
    if c.numeric_precision == core.null or not c.numeric_precision then
      return nil, "numeric without precision"
    end
    return ("numeric(%d,%d)"):format(c.numeric_precision, c.numeric_scale)
  elseif t == "character varying" or t == "text" or t == "character" then
    return "varchar"
  elseif t == "timestamp with time zone" then
    return "timestamp", ("(%s AT TIME ZONE 'UTC')"):format(sql.ident(c.column_name))
  end
  local simple = { smallint = true, integer = true, bigint = true, real = true, ["double precision"] = true,
                   boolean = true, date = true, ["timestamp without time zone"] = "timestamp" }
  if simple[t] then
    return simple[t] == true and t or simple[t]
  end
  return nil, t
end

--- postgres.columns(db, table) -> { {name=, type=, expr=} } from information_schema, in order
function M.columns(db, tablename)
  local parts = sql.split_name(tablename)
  local schema, name = #parts > 1 and parts[#parts - 1] or "public", parts[#parts]
  local rows = db:query([[SELECT column_name, data_type, numeric_precision, numeric_scale
    FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position]],
    schema, name)
  if #rows == 0 then
    fail("no_table", ("sources.postgres: table %s does not exist"):format(sql.qname(tablename)))
  end
  local cols = {}
  for i, c in ipairs(rows) do
    local ty, expr = column_type(c)
    if not ty then
      fail("unsupported", ("sources.postgres: column %s of %s has type %s, which is not extracted yet "
        .. "(give columns = and a query that casts it)"):format(c.column_name, sql.qname(tablename), expr))
    end
    cols[i] = { name = c.column_name, type = ty, expr = expr }
  end
  return cols
end

--- postgres.extract(db, opts) -> { files =, rows =, max =, columns = }
--- opts: table or query (with columns =), to (directory or s3:// prefix),
--- cursor_column, since, limit (rows at most: one batch of an incremental load), chunk_rows (1000000),
--- row_group_rows (100000), prefix ("part").
function M.extract(db, opts)
  opts = opts or {}
  if (opts.table == nil) == (opts.query == nil) then
    fail("usage", "sources.postgres.extract: give table = or query =")
  end
  if opts.query and not opts.columns then
    fail("usage", "sources.postgres.extract: a query needs columns = { {name=, type=} }")
  end
  if type(opts.to) ~= "string" or opts.to == "" then
    fail("usage", "sources.postgres.extract: to = (a directory or s3:// prefix) is required")
  end
  local to = opts.to:sub(-1) == "/" and opts.to or (opts.to .. "/")
  local chunk = opts.chunk_rows or 1000000
  local result = { files = {}, rows = 0 }
  db:transaction(function(tx)
    tx:exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    local cols = opts.columns or M.columns(tx, opts.table)
    local list = {}
    for i, c in ipairs(cols) do
      list[i] = c.expr and (c.expr .. " AS " .. sql.ident(c.name)) or sql.ident(c.name)
    end
    local from = opts.table and sql.qname(opts.table) or ("(" .. opts.query:gsub("[%s;]+$", "") .. ") AS lode_src")
    local q = ("SELECT %s FROM %s"):format(table.concat(list, ", "), from)
    local params = {}
    local cc = opts.cursor_column
    if cc then
      if opts.since ~= nil then
        q = q .. (" WHERE %s > $1"):format(sql.ident(cc))
        params[1] = opts.since
      end
      q = q .. (" ORDER BY %s"):format(sql.ident(cc))
    end
    if opts.limit then
      if math.type(opts.limit) ~= "integer" or opts.limit < 1 then
        fail("usage", "sources.postgres.extract: limit must be a positive integer")
      end
      q = q .. (" LIMIT %d"):format(opts.limit) -- with cursor_column: the next batch of an incremental load
    end
    result.columns = cols
    local w, n = nil, 0
    local function close_chunk()
      local r = w:close()
      result.files[#result.files + 1] = { url = w.target, rows = r.rows, bytes = r.bytes, etag = r.etag }
      core.log("debug", "sources.postgres: chunk written", { url = w.target, rows = r.rows, bytes = r.bytes })
      w = nil
    end
    local wcols = {}
    for i, c in ipairs(cols) do
      wcols[i] = { name = c.name, type = c.type }
    end
    local ok, err = pcall(function()
    for row in tx:rows(q, table.unpack(params)) do
      if not w then
        n = n + 1
        w = writer.new(("%s%s-%05d.parquet"):format(to, opts.prefix or "part", n),
          { columns = wcols, row_group_rows = opts.row_group_rows or 100000 })
      end
      w:write(row)
      result.rows = result.rows + 1
      if cc and row[cc] ~= core.null then
        result.max = row[cc]
      end
      if w.rows >= chunk then
        close_chunk()
      end
    end
    if w then
      close_chunk()
    end
    end)
    if not ok then
      if w then
        w:abort()
      end
      error(err, 0)
    end
  end)
  return result
end

return M

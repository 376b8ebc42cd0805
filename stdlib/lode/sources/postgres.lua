-- lode.sources.postgres — a table or query of any libpq-reachable database
-- extracted to Parquet files (local or s3://) in chunks, optionally only the
-- rows past a cursor value, from one consistent snapshot:
--
--   local src = lode.warehouse { url = "postgresql://app-db/shop" }
--   local r = require("lode.sources.postgres").extract(src, {
--     table = "public.orders", cursor_column = "updated_at", since = c:get(),
--     to = "s3://lake/staging/orders/" .. run_id .. "/", chunk_rows = 1000000 })
--   -- r = { files = { {url=, rows=, bytes=, etag=} }, rows =, max = greatest cursor value extracted
--   --       (nil when no row is past since), columns =, snapshot = }
--
-- One REPEATABLE READ transaction: every chunk comes from the same snapshot,
-- so a concurrent writer never tears a row set or duplicates a row across
-- chunks. Rows stream in single-row mode (tx:rows), memory is one Parquet
-- row group. Ordered by the cursor column (when given), so `max` is the last
-- row's. timestamptz columns are written as UTC timestamps.
--
-- What an incremental run (since = the previous max) guarantees:
-- * `cursor_column > since` alone takes every row committed after the
--   previous snapshot only when the column's values follow commit order. A
--   sequence or now() does not: a transaction in flight when the previous
--   snapshot was taken (it drew id 100, another drew 101 and committed first)
--   commits a value below that snapshot's max later, and `> since` never
--   takes it. That is the classic incremental-cursor hole.
-- * With after_snapshot = the previous run's r.snapshot (PostgreSQL 13+, a
--   table source) a row is also taken when the transaction that last wrote
--   it (its xmin) was not visible to that snapshot, whatever its cursor
--   value: no row committed after the previous snapshot is skipped. A row
--   updated since then comes again with its new values (a source with
--   updates is loaded with merge.upsert on its key; an append-only one with
--   copy.into gets each row once). Keep both values, e.g. in two cursors set
--   in the load's transaction. Valid while fewer than 2^31 transactions
--   separate the two runs (a row's xmin is 32 bits); an older snapshot is
--   refused (code snapshot_too_old): extract everything again.
-- * limit = n cuts a batch after the n-th row but never between rows that
--   share a cursor value (the next batch starts after it), so a batch may
--   hold more than n rows; limit with after_snapshot is refused (the rows a
--   cut batch left behind would be older than its snapshot).

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

--- postgres.extract(db, opts) -> { files =, rows =, max =, columns =, snapshot = }
--- opts: table or query (with columns =), to (directory or s3:// prefix),
--- cursor_column, since, after_snapshot (a previous run's r.snapshot: see above),
--- limit (one batch of an incremental load), chunk_rows (1000000),
--- row_group_rows (100000), prefix ("part"). r.snapshot is the snapshot the
--- rows come from (pg_current_snapshot() as text; nil before PostgreSQL 13).
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
  local cc = opts.cursor_column
  local after = opts.after_snapshot
  if after ~= nil then
    if type(after) ~= "string" or not after:match("^%d+:%d+:[%d,]*$") then
      fail("usage", "sources.postgres.extract: after_snapshot must be a previous run's r.snapshot ('xmin:xmax:xip,...')")
    end
    if not cc or not opts.table then
      fail("usage", "sources.postgres.extract: after_snapshot needs table = and cursor_column =")
    end
    if opts.limit then
      fail("usage", "sources.postgres.extract: after_snapshot cannot be combined with limit (a cut batch would "
        .. "leave rows older than its snapshot behind)")
    end
  end
  if opts.limit ~= nil and (math.type(opts.limit) ~= "integer" or opts.limit < 1) then
    fail("usage", "sources.postgres.extract: limit must be a positive integer")
  end
  local result = { files = {}, rows = 0 }
  db:transaction(function(tx)
    tx:exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    -- the first statement takes the transaction's snapshot; name it (13+)
    local v = tx:query("SELECT current_setting('server_version_num') AS v")[1].v
    if (tonumber(v) or 0) >= 130000 then
      result.snapshot = tx:query("SELECT pg_catalog.pg_current_snapshot()::text AS s")[1].s
    end
    local cols = opts.columns or M.columns(tx, opts.table)
    local list = {}
    for i, c in ipairs(cols) do
      list[i] = c.expr and (c.expr .. " AS " .. sql.ident(c.name)) or sql.ident(c.name)
    end
    local from = opts.table and (sql.qname(opts.table) .. " AS lode_src")
      or ("(" .. opts.query:gsub("[%s;]+$", "") .. ") AS lode_src")
    local q = ""
    local params = {}
    if cc then
      local where = ""
      if opts.since ~= nil then
        local cond = ("%s > $1"):format(sql.ident(cc))
        params[1] = opts.since
        if after then
          if not result.snapshot then
            fail("unsupported", "sources.postgres.extract: after_snapshot needs PostgreSQL 13 or later")
          end
          -- a row's xmin is 32 bits: widen it to the xid8 it was, counting back from this snapshot's xmax
          local xmax = math.tointeger(tonumber(result.snapshot:match("^%d+:(%d+):")))
          local prev_xmin = math.tointeger(tonumber(after:match("^(%d+):")))
          if xmax - prev_xmin >= 2147483648 or prev_xmin > xmax then
            fail("snapshot_too_old", ("sources.postgres.extract: after_snapshot %s is %d transactions old "
              .. "(at most 2^31): extract %s again without since"):format(after, xmax - prev_xmin, sql.qname(opts.table)))
          end
          cond = cond .. (" OR NOT pg_catalog.pg_visible_in_snapshot((%d - ((%d - lode_src.xmin::text::bigint) "
            .. "%% 4294967296 + 4294967296) %% 4294967296)::text::pg_catalog.xid8, $2::pg_catalog.pg_snapshot)")
            :format(xmax, xmax)
          params[2] = after
          -- a late row's value is at most since: it must not move max back
          list[#list + 1] = ("(%s > $1) AS lode_past_since"):format(sql.ident(cc))
        end
        where = " WHERE (" .. cond .. ")"
      end
      q = ("SELECT %s FROM %s"):format(table.concat(list, ", "), from)
      if opts.limit then
        -- up to the limit-th row's cursor value, all of its ties: the next batch starts after it
        q = q .. where .. (where == "" and " WHERE " or " AND ")
          .. ("%s <= (SELECT max(%s) FROM (SELECT %s FROM %s%s ORDER BY %s LIMIT %d) AS lode_batch)")
          :format(sql.ident(cc), sql.ident(cc), sql.ident(cc), from, where, sql.ident(cc), opts.limit)
      else
        q = q .. where
      end
      q = q .. (" ORDER BY %s"):format(sql.ident(cc))
    else
      q = ("SELECT %s FROM %s"):format(table.concat(list, ", "), from)
      if opts.limit then
        q = q .. (" LIMIT %d"):format(opts.limit)
      end
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
      if cc and row[cc] ~= core.null and (not after or row.lode_past_since == true) then
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

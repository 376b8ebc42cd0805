-- lode.cursor — the position of an incremental load (the greatest
-- `updated_at` or id already loaded), kept in the warehouse next to the
-- ledger and advanced in the same transaction as the rows it covers, so a
-- crash at any point neither skips nor re-loads:
--
--   local c = lode.cursor(wh, "orders.updated_at", "1970-01-01T00:00:00Z")
--   local since = c:get()                      -- the committed value, or the initial one
--   merge.upsert(wh, { ..., cursor = { c, newest } })   -- rows and cursor commit together
--   wh:transaction(function(tx) ...; c:set(newest, tx) end)
--
-- Stored in lode.cursors, one row per (pipeline, name); the value keeps its
-- Lua type (integer, number or string). The pipeline is opts.pipeline, else
-- the pipeline being run, else "default". `lode cursor list|show|reset`
-- reads and resets them; under `lode plan`, c:get() prints the value a run
-- would start from and nothing is written.

local core = require "lode.core"

local M = {}

local Cursor = { __name = "lode.cursor" }
Cursor.__index = Cursor

local function usage(message, level)
  error(core.error({ op = "cursor", code = "usage", message = message, retryable = false }), (level or 1) + 1)
end

--- cursor.ddl(dialect) -> the statements that create lode.cursors
function M.ddl(dialect)
  local rs = dialect == "redshift"
  return {
    "CREATE SCHEMA IF NOT EXISTS lode",
    "CREATE TABLE IF NOT EXISTS lode.cursors (pipeline VARCHAR(256) NOT NULL, name VARCHAR(512) NOT NULL, "
      .. "value VARCHAR(65535) NOT NULL, kind VARCHAR(16) NOT NULL, run VARCHAR(256), updated_at "
      .. (rs and "TIMESTAMP DEFAULT GETDATE()" or "TIMESTAMPTZ DEFAULT now()") .. ", PRIMARY KEY (pipeline, name))",
  }
end

M.SELECT = "SELECT value, kind FROM lode.cursors WHERE pipeline = $1 AND name = $2"
M.EXISTS = "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'lode' AND tablename = 'cursors'"

--- cursor.set_sql(dialect) -> the statements that store one value ($1 pipeline,
--- $2 name, $3 value, $4 kind, $5 run): an upsert on PostgreSQL, DELETE then
--- INSERT on Redshift (no ON CONFLICT there; the transaction makes it one change).
function M.set_sql(dialect)
  local insert = "INSERT INTO lode.cursors (pipeline, name, value, kind, run) VALUES ($1, $2, $3, $4, $5)"
  if dialect == "redshift" then
    return { { "DELETE FROM lode.cursors WHERE pipeline = $1 AND name = $2", 2 }, { insert, 5 } }
  end
  return { { insert .. " ON CONFLICT (pipeline, name) DO UPDATE SET value = EXCLUDED.value, kind = EXCLUDED.kind, "
    .. "run = EXCLUDED.run, updated_at = now()", 5 } }
end

local function dialect_of(db)
  local wh = db.wh or db
  return wh.dialect or (wh.get_dialect and wh:get_dialect()) or "postgres"
end

--- cursor.encode(value) -> text, kind; raises on a value a cursor cannot hold
function M.encode(v, level)
  local mt = math.type(v)
  if mt == "integer" then
    return tostring(v), "integer"
  elseif mt == "float" then
    if v ~= v or v == math.huge or v == -math.huge then
      usage("a cursor value must be finite, got " .. tostring(v), (level or 1) + 1)
    end
    return ("%.17g"):format(v), "number"
  elseif type(v) == "string" then
    return v, "string"
  end
  usage(("a cursor value must be an integer, a number or a string, got %s"):format(
    v == core.null and "lode.null" or type(v)), (level or 1) + 1)
end

--- cursor.decode(text, kind) -> the value as it was set
function M.decode(text, kind)
  if kind == "integer" then
    return math.tointeger(tonumber(text))
  elseif kind == "number" then
    local n = tonumber(text)
    return n and n + 0.0
  end
  return text
end

local ready = setmetatable({}, { __mode = "k" })

-- Create lode.cursors once per warehouse. Inside a transaction each attempt
-- is a savepoint (PostgreSQL), so a lost CREATE race leaves it usable; the
-- table is remembered only outside one, which may yet roll it back.
local function ensure(db)
  local wh = db.wh or db
  if ready[wh] or core.dry_run() then
    return
  end
  local dialect = dialect_of(db)
  local in_tx = db.depth ~= nil and not db.session
  if db.conn and db.conn.transaction_status then
    local st = db.conn:transaction_status()
    in_tx = st == "intrans" or st == "inerror"
  end
  for _, s in ipairs(M.ddl(dialect)) do
    local function attempt()
      if in_tx and dialect ~= "redshift" then
        return pcall(db.transaction, db, function(sp) (sp.query_raw or sp.exec)(sp, s) end)
      end
      return pcall(db.query_raw or db.exec, db, s)   -- as written: emulate = "redshift" would drop the key
    end
    local ok, err = attempt()
    if not ok and not attempt() then
      error(err, 0)
    end
  end
  if not in_tx then
    ready[wh] = true
  end
end
M.ensure = ensure

local function pipeline_name(self)
  if self.pipeline then
    return self.pipeline
  end
  local ok, p = pcall(require, "lode.pipeline")
  return ok and p.current_name or "default"
end

--- lode.cursor(wh, name, initial, { pipeline = }) -> a cursor
function M.new(wh, name, initial, opts)
  if type(wh) ~= "table" or not wh.query then
    usage("lode.cursor(wh, name, initial): wh must be a warehouse", 2)
  end
  if type(name) ~= "string" or name == "" or #name > 512 then
    usage("lode.cursor(wh, name, initial): name must be a non-empty string of at most 512 bytes", 2)
  end
  if initial ~= nil then
    M.encode(initial, 2)
  end
  opts = opts or {}
  if opts.pipeline ~= nil and (type(opts.pipeline) ~= "string" or opts.pipeline == "") then
    usage("lode.cursor: opts.pipeline must be a non-empty string", 2)
  end
  return setmetatable({ wh = wh, name = name, initial = initial, pipeline = opts.pipeline }, Cursor)
end

--- cursor.is_cursor(v) -> true when v is a lode.cursor
function M.is_cursor(v)
  return getmetatable(v) == Cursor
end

--- c:get(db) -> the committed value, or the initial one when none was set.
--- db (a transaction) reads inside it, seeing its own uncommitted set.
function Cursor:get(db)
  db = db or self.wh
  local pipeline = pipeline_name(self)
  local value = self.initial
  if tonumber(db:query(M.EXISTS)[1].n) > 0 then
    local r = db:query(M.SELECT, pipeline, self.name)
    if r[1] then
      value = M.decode(r[1].value, r[1].kind)
    end
  end
  if core.dry_run() then
    io.stdout:write(("-- lode plan: cursor %s (pipeline %s) starts from %s\n"):format(self.name, pipeline,
      value == nil and "nothing (no initial value)" or tostring(value)))
  end
  return value
end

--- c:set(value, tx): store value inside tx (it commits or rolls back with
--- tx's rows); without tx, in a transaction of its own.
function Cursor:set(value, tx)
  local text, kind = M.encode(value, 2)
  if tx == nil then
    return self.wh:transaction(function(t) return self:set(value, t) end)
  end
  if type(tx) ~= "table" or (tx.depth == nil and tx.session ~= true) then
    usage("c:set(value, tx): tx must be a transaction (from wh:transaction)", 2)
  end
  ensure(tx)
  local run = os.getenv("LODE_RUN_ID") or core.null
  for _, s in ipairs(M.set_sql(dialect_of(tx))) do
    local params = { pipeline_name(self), self.name, text, kind, run }
    tx:exec(s[1], table.unpack(params, 1, s[2]))
  end
  core.log("debug", "cursor set", { cursor = self.name, value = text })
end

--- c:reset(): forget the committed value (the next get() returns the initial one)
function Cursor:reset()
  if tonumber(self.wh:query(M.EXISTS)[1].n) > 0 then
    self.wh:exec("DELETE FROM lode.cursors WHERE pipeline = $1 AND name = $2", pipeline_name(self), self.name)
  end
end

function Cursor:__tostring()
  return ("lode.cursor(%s)"):format(self.name)
end

--- cursor.check_option(v, who) -> validates a `cursor = { c, value }` option
function M.check_option(v, who, level)
  if type(v) ~= "table" or not M.is_cursor(v[1]) or v[2] == nil then
    usage(("%s: option 'cursor' must be { c, value } with c from lode.cursor"):format(who), (level or 1) + 1)
  end
  M.encode(v[2], (level or 1) + 1)
end

return setmetatable(M, { __call = function(_, ...) return M.new(...) end })

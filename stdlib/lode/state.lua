-- lode.state — what lode keeps in the warehouse about its own runs: the
-- `lode` schema, `lode.runs` (one row per run and one per task: status,
-- timings, attempts, rows), and an advisory lock per pipeline so two runs of
-- the same pipeline never overlap against one warehouse.
--
--   local run = state.begin(wh, "sales_daily", run_id, { wait = false })
--   ... run the pipeline ...
--   run:finish(summary)
--
-- The lock and the bookkeeping use a connection of their own (not one of
-- the pool's), held for the whole run: the lock is a session lock, released
-- by run:finish() or, if lode dies, by the server when the session ends.

local core = require "lode.core"
local pg = require "lode.pg"
local sql = require "lode.sql"

local M = {}

--- state.current_run_id: the id of the `lode run` in progress (nil outside one);
--- copy.into records it in lode.load_history.
M.current_run_id = nil

-- Advisory locks take two int4 keys: lode's namespace and the pipeline's hash.
M.LOCK_NAMESPACE = 0x6c6f6465 -- "lode"

--- state.schema_sql(dialect) -> the statements that create the state schema.
function M.schema_sql(dialect)
  local text = dialect == "redshift" and "VARCHAR(65535)" or "text"
  local name = dialect == "redshift" and "VARCHAR(512)" or "text"
  return {
    "CREATE SCHEMA IF NOT EXISTS lode",
    ([[CREATE TABLE IF NOT EXISTS lode.runs (
  run_id %s NOT NULL,
  pipeline %s NOT NULL,
  task %s NOT NULL,
  status %s NOT NULL,
  attempts integer,
  started_at timestamptz,
  finished_at timestamptz,
  seconds double precision,
  rows_loaded bigint,
  error %s,
  PRIMARY KEY (run_id, task)
)]]):format(name, name, name, name, text),
  }
end

local Run = { __name = "lode.state.run" }
Run.__index = Run

local function state_error(code, message, retryable, extra)
  local e = { op = "state", code = code, message = message, retryable = retryable or false }
  for k, v in pairs(extra or {}) do
    e[k] = v
  end
  error(core.error(e), 0)
end

local function ensure_schema(c, dialect)
  if dialect == "redshift" then
    for _, s in ipairs(M.schema_sql(dialect)) do
      c:query(s)
    end
    return
  end
  -- concurrent CREATE ... IF NOT EXISTS can still collide: serialise them
  c:query("BEGIN")
  local ok, err = pcall(function()
    c:query("SELECT pg_advisory_xact_lock($1::int, 0)", { M.LOCK_NAMESPACE, n = 1 })
    for _, s in ipairs(M.schema_sql(dialect)) do
      c:query(s)
    end
    c:query("COMMIT")
  end)
  if not ok then
    pcall(c.query, c, "ROLLBACK")
    error(err, 0)
  end
end

local LOCK_KEY = "hashtext($2::text)"

local function holder(c, pipeline)
  local r = c:query(([[SELECT a.pid, a.application_name, a.client_addr::text AS addr,
      to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS') AS since
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int::oid
      AND l.objid = (%s)::oid AND l.objsubid = 2]]):format(LOCK_KEY),
    { M.LOCK_NAMESPACE, pipeline, n = 2 })
  return r[1]
end

--- state.lock(conn, pipeline, {wait=}) -> true; raises code "locked" when
--- another run holds the pipeline's lock (or waits for it with wait = true).
function M.lock(c, pipeline, opts)
  opts = opts or {}
  local params = { M.LOCK_NAMESPACE, pipeline, n = 2 }
  if opts.wait then
    core.log("info", ("waiting for the warehouse lock of pipeline '%s'"):format(pipeline))
    c:query(("SELECT pg_advisory_lock($1::int, %s)"):format(LOCK_KEY), params)
    return true
  end
  local r = c:query(("SELECT pg_try_advisory_lock($1::int, %s) AS got"):format(LOCK_KEY), params)
  if r[1].got then
    return true
  end
  local h = holder(c, pipeline)
  local who = h and (" (held by backend pid %s, %s%s, connected since %s)"):format(h.pid,
    h.application_name ~= "" and h.application_name or "?",
    h.addr ~= core.null and (" from " .. h.addr) or "", h.since) or ""
  state_error("locked",
    ("pipeline '%s' is already running against this warehouse%s; "
      .. "wait for it to finish, or run with --wait to wait for it"):format(pipeline, who),
    false, { exit_code = 3, pipeline = pipeline })
end

--- state.unlock(conn, pipeline)
function M.unlock(c, pipeline)
  c:query(("SELECT pg_advisory_unlock($1::int, %s)"):format(LOCK_KEY), { M.LOCK_NAMESPACE, pipeline, n = 2 })
end

--- state.mark_abandoned(conn, pipeline, run_id) -> n: with the pipeline's
--- lock held, mark its runs still recorded as `running` as `abandoned`. A
--- live run holds that lock for as long as its process lives (the server
--- releases a session lock when the session ends, SIGKILL included), so a
--- `running` row seen under the lock belongs to a run whose process is gone,
--- never to a concurrent one. Not on Redshift, which has no advisory locks.
function M.mark_abandoned(c, pipeline, run_id)
  local r = c:query([[UPDATE lode.runs SET status = 'abandoned',
      error = 'abandoned: its lode process ended without recording an outcome (killed?); found by run ' || $2
    WHERE pipeline = $1 AND task = '' AND status = 'running' AND run_id <> $2
    RETURNING run_id]], { pipeline, run_id, n = 2 })
  if #r > 0 then
    local ids = {}
    for i, row in ipairs(r) do
      ids[i] = row.run_id
    end
    core.log("warn", ("pipeline '%s': %d earlier run(s) recorded as running had ended without an outcome "
      .. "(their process is gone): marked abandoned in lode.runs: %s"):format(pipeline, #r, table.concat(ids, ", ")))
  end
  return #r
end

--- state.begin(wh, pipeline, run_id, {wait=}) -> run: takes the pipeline's
--- lock, creates the schema if needed and records the run as running.
function M.begin(wh, pipeline, run_id, opts)
  opts = opts or {}
  local ok, c = pcall(pg.connect, wh.conninfo)
  if not ok then
    if type(c) == "table" then
      c.message = sql.redact(tostring(c.message))
    end
    error(c, 0)
  end
  local run = setmetatable({ conn = c, pipeline = pipeline, run_id = run_id,
    dialect = wh.dialect, started = core.time() }, Run)
  local good, err = pcall(function()
    if run.dialect == nil then
      local v = c:query("SELECT version() AS v")[1].v
      run.dialect = v:find("Redshift", 1, true) and "redshift" or "postgres"
    end
    if run.dialect == "redshift" then
      core.log("warn", "Redshift has no advisory locks: concurrent runs of this pipeline are not prevented")
    else
      M.lock(c, pipeline, opts)
      run.locked = true
    end
    ensure_schema(c, run.dialect)
    if run.locked then
      M.mark_abandoned(c, pipeline, run_id)
    end
    c:query([[INSERT INTO lode.runs (run_id, pipeline, task, status, started_at)
      VALUES ($1, $2, '', 'running', now())]], { run_id, pipeline, n = 2 })
  end)
  if not good then
    c:close()
    error(err, 0)
  end
  return run
end

--- run:finish(summary): record the outcome of the run and of each task,
--- then release the lock.
function Run:finish(summary)
  local c = self.conn
  if not c then
    return
  end
  self.conn = nil
  local ok, err = pcall(function()
    c:query("BEGIN")
    local why = summary.cancelled and ("cancelled by " .. summary.cancelled) or nil
    c:query([[UPDATE lode.runs SET status = $3, finished_at = now(), seconds = $4, error = $5
      WHERE run_id = $1 AND pipeline = $2 AND task = '']],
      { self.run_id, self.pipeline, summary.cancelled and "cancelled" or (summary.ok and "ok" or "failed"),
        summary.seconds, why, n = 5 })
    for _, r in ipairs(summary.tasks or {}) do
      local started = r.seconds and (core.time() - r.seconds) or nil
      c:query([[INSERT INTO lode.runs (run_id, pipeline, task, status, attempts, started_at,
          finished_at, seconds, rows_loaded, error)
        VALUES ($1, $2, $3, $4, $5, to_timestamp($6), now(), $7, $8, $9)]],
        { self.run_id, self.pipeline, r.name, r.status, r.attempts, started, r.seconds,
          r.rows, r.error and sql.redact(r.error) or (r.status == "cancelled" and why) or nil, n = 9 })
    end
    c:query("COMMIT")
  end)
  if not ok then
    pcall(c.query, c, "ROLLBACK")
    core.log("error", "could not record the run in lode.runs: " .. tostring(err))
  end
  if self.locked then
    pcall(M.unlock, c, self.pipeline)
  end
  c:close()
end

--- run:abandon(): release the lock without recording anything more.
function Run:abandon()
  if self.conn then
    self.conn:close()
    self.conn = nil
  end
end

return M

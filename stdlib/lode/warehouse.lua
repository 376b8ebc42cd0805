-- lode.warehouse — the warehouse handle pipelines use: a pool of non-blocking
-- libpq connections (lode.pg) shared by every task, with queries, row
-- iterators, transactions, COPY streams and `lode plan` dry runs.
--
--   local wh = lode.warehouse()                 -- LODE_WAREHOUSE, or PG* / ~/.pgpass
--   local wh = lode.warehouse("redshift://user@cluster:5439/dev")
--   local wh = lode.warehouse{ url = "...", pool = 8, dialect = "redshift" }
--   local r = wh:query("select id, total from orders where day = $1", day)
--   wh:exec("delete from staging")
--   for row in wh:rows("select * from big") do ... end
--   wh:transaction(function(tx) tx:exec(...); tx:transaction(function(sp) ... end) end)
--   local w = wh:copy_in("COPY t FROM STDIN (FORMAT binary)", "binary"); w:write(s); w:finish()
--
-- Connections open on first use and are reused; at most `pool` (default 5)
-- are open at once and a task that needs one waits. A broken connection
-- (server restart, network) is dropped and replaced on the next use. A
-- connection goes back to the pool only idle: one returned inside a
-- transaction, or with a cancelled statement still finishing, is rolled back
-- first (or closed), so no task ever commits another's work. One whose
-- session a statement may have changed (SET, temp tables, session advisory
-- locks…) is reset with DISCARD ALL first (closed on Redshift), so the next
-- task starts from the server's defaults; a row iterator dropped unfinished
-- gives its connection back when it is collected.

local core = require "lode.core"
local pg = require "lode.pg"
local sql = require "lode.sql"
local iam = require "lode.warehouse_iam"

local M = {}

local Warehouse = { __name = "lode.warehouse" }
Warehouse.__index = Warehouse

local DEFAULT_POOL = 5

local function wh_error(code, message, retryable, level)
  error(core.error({ op = "warehouse", code = code, message = message, retryable = retryable or false }),
    level or 3)
end

-- Redshift speaks the PostgreSQL protocol: redshift:// is libpq's
-- postgresql:// with sslmode=verify-full unless the URL says otherwise;
-- with ?iam=true (and redshift-serverless://) each new connection logs in
-- with fetched temporary credentials (lode.warehouse_iam), returned third.
local function parse_url(url)
  local u = iam.parse(url)
  if u and u.iam then return nil, "redshift", u end
  if u then return iam.plain_url(url, u), "redshift" end
  return url, nil
end

--- lode.warehouse.connect(url_or_opts) -> wh (connections open lazily).
--- opts: url, dialect ("postgres" | "redshift"), pool (max connections), name,
--- emulate ("redshift": a PostgreSQL warehouse standing in for Redshift —
--- every query's text is read as Redshift SQL, see wh:query).
function M.connect(target)
  local opts
  if type(target) == "table" then
    opts = target
  elseif target == nil or type(target) == "string" then
    opts = { url = target }
  else
    wh_error("usage", "lode.warehouse(url_or_opts): expected a URL string or an options table", false)
  end
  local url = opts.url or os.getenv("LODE_WAREHOUSE") or ""
  local conninfo, dialect, iam_url = parse_url(url)
  dialect = opts.dialect or dialect
  if dialect ~= nil and dialect ~= "postgres" and dialect ~= "redshift" then
    wh_error("usage", ("unknown dialect '%s' (postgres or redshift)"):format(tostring(dialect)), false)
  end
  if opts.emulate ~= nil and opts.emulate ~= "redshift" then
    wh_error("usage", ("emulate must be \"redshift\" (or nil), got %s"):format(tostring(opts.emulate)), false)
  end
  local size = opts.pool or opts.max_connections or DEFAULT_POOL
  if math.type(size) ~= "integer" or size < 1 then
    wh_error("usage", "pool must be a positive integer", false)
  end
  return setmetatable({
    conninfo = conninfo,
    iam = iam_url,                    -- IAM login: credentials fetched per connection
    url = sql.redact(url),            -- safe to print
    dialect = dialect,
    emulate = opts.emulate,
    name = opts.name or "warehouse",
    connect_timeout = opts.connect_timeout,   -- ms; lode.pg's default is 30 s
    size = size,
    _idle = {},
    _open = 0,
    _waiters = {},      -- futures of waiting tasks, _wait_head .. _wait_tail
    _wait_head = 1,
    _wait_tail = 0,
    _closed = false,
  }, Warehouse)
end

-- Pool ------------------------------------------------------------------------

local function empty_result()
  return { rowcount = 0, columns = {}, command = "PLAN", planned = true }
end
local function empty_result_offline()
  return { rowcount = 0, columns = {}, command = "PLAN", planned = true, offline = true }
end

-- Under `lode plan`, a warehouse that cannot be reached still gets its plan:
-- a stand-in connection answers every read with no rows (writes are printed
-- before they reach a connection), after one warning that state was not read.
local Offline = { __name = "lode.warehouse.offline" }
Offline.__index = Offline
local NO_ROWS = function() return nil end

function Offline:query()
  return empty_result_offline()
end
function Offline:status() return "ready" end
function Offline:transaction_status() return "idle" end
function Offline:close() end
function Offline:queue() end
function Offline:rows()
  return NO_ROWS, setmetatable({}, { __index = { close = function() end } }), nil, nil
end
function Offline:copy_out()
  return setmetatable({}, { __index = { read = NO_ROWS, rows = function() return 0 end },
                            __close = function() end })
end

function Warehouse:_offline(err)
  if not self._offline_warned then
    self._offline_warned = true
    core.log("warn", ("lode plan: cannot reach the warehouse %s (%s): its state was not read, so reads answer no rows "
      .. "and the plan shows what a run against an empty warehouse would issue"):format(self.url,
      (sql.redact(tostring(type(err) == "table" and err.message or err)):gsub("%s+", " "))), { warehouse = self.url })
  end
  self.dialect = self.dialect or "postgres"
  return setmetatable({ offline = true }, Offline)
end

function Warehouse:_new_conn()
  local conninfo = self.conninfo
  if self.iam then
    -- fresh temporary database credentials for every new connection (they expire)
    local fok, ci = pcall(function() return iam.conninfo(self.iam, iam.fetch(self.iam)) end)
    if not fok then
      if core.dry_run() then
        return self:_offline(ci)
      end
      error(ci, 0)
    end
    conninfo = ci
  end
  local ok, c = pcall(pg.connect, conninfo, self.connect_timeout)
  if not ok and core.dry_run() then
    return self:_offline(c)
  end
  if not ok then
    if type(c) == "table" then
      c.op = "warehouse.connect"
      c.message = sql.redact(tostring(c.message))
    end
    error(c, 0)
  end
  if core.dry_run() then
    -- a safety net under `lode plan`: the server refuses any write
    c:query("SET default_transaction_read_only = on")
  end
  if self.dialect == nil then
    local r = c:query("select version() as v")
    self.dialect = tostring(r[1].v):find("Redshift", 1, true) and "redshift" or "postgres"
  end
  return c
end

local function usable(c)
  local s = c:status()
  return s == "ready" or s == "busy"
end

--- M.on_first_use: nil, or function(wh) run once per warehouse before its
--- first connection is handed out (`lode run` sets it: the Glue catalog
--- mirrors the pipeline names are refreshed wherever the script opens the
--- warehouse). Other tasks wait for it; its own queries pass; when it fails,
--- the next use tries again.
function Warehouse:_first_use()
  local st = self._first_use_state
  if st == true or not M.on_first_use then
    return
  end
  local me = coroutine.running()
  if st then
    if st.co ~= me then
      st.done:await()
      return self:_first_use()
    end
    return
  end
  st = { co = me, done = core.future() }
  self._first_use_state = st
  local ok = false
  local guard <close> = setmetatable({}, { __close = function()
    self._first_use_state = ok or nil
    st.done:set()
  end })
  M.on_first_use(self)
  ok = true
end

-- Connections a statement may have left session state on: reset before reuse.
local dirty = setmetatable({}, { __mode = "k" })

local SESSION_WORDS = { set = true, reset = true, discard = true, listen = true, prepare = true,
                        declare = true, load = true }

-- The first word at position i (after blanks and comments), lower-cased, and where it ends.
local function word_at(q, i)
  while true do
    local j = q:match("^%s*()", i)
    if q:sub(j, j + 1) == "--" then
      i = (q:find("\n", j, true) or #q) + 1
    elseif q:sub(j, j + 1) == "/*" then
      i = select(2, q:find("*/", j + 2, true)) or #q
      i = i + 1
    else
      local w, e = q:match("^(%a+)()", j)
      return w and w:lower(), e
    end
  end
end

-- Whether q may leave state on its session that outlives its transaction:
-- a statement starting with SET (not SET LOCAL / SET TRANSACTION), RESET,
-- DISCARD, LISTEN, PREPARE, DECLARE (WITH HOLD) or LOAD; a temp table; a
-- session advisory lock; set_config(). A guess from the text that errs on
-- the safe side: a false alarm costs one DISCARD ALL.
local function leaves_session_state(q)
  if q:find("advisory_lock", 1, true) or q:find("set_config", 1, true)
      or q:find("%f[%w_][Tt][Ee][Mm][Pp]") then
    return true
  end
  local i = 1
  while i do
    local w, e = word_at(q, i)
    if w and SESSION_WORDS[w] then
      local nxt = w == "set" and word_at(q, e)
      if nxt ~= "local" and nxt ~= "transaction" then
        return true
      end
    end
    i = q:find(";", i, true)
    i = i and i + 1
  end
  return false
end
M._leaves_session_state = leaves_session_state

--- wh:acquire() -> conn: pin a connection (wait when `pool` are in use).
--- Give it back with wh:release(conn); wh:with_conn(fn) does both.
function Warehouse:acquire()
  self:_first_use()
  while true do
    if self._closed then
      wh_error("closed", "the warehouse handle is closed", false)
    end
    local c = table.remove(self._idle)
    if c then
      if usable(c) then
        return c
      end
      c:close() -- broken while idle (server restart): replace it
      self._open = self._open - 1
    elseif self._open < self.size then
      self._open = self._open + 1
      local ok, conn = pcall(self._new_conn, self)
      if not ok then
        self._open = self._open - 1
        self:_wake(nil)
        error(conn, 0)
      end
      return conn
    else
      local f = core.future()
      self._wait_tail = self._wait_tail + 1
      self._waiters[self._wait_tail] = f
      local taken = false
      -- cancelled after a connection (or a free slot) was handed to us but
      -- before we ran: pass it on instead of losing it
      local guard <close> = setmetatable({}, { __close = function()
        if not taken and f:done() and f:status() == "ok" then
          local handed = f:await()
          if handed then
            self:_hand_over(handed)
          else
            self:_wake(nil)
          end
        end
      end })
      local c2 = f:await()
      taken = true
      if c2 then
        return c2
      end -- nil: a slot was freed, try again
    end
  end
end

--- wh:try_acquire() -> conn or nil: a connection only when one is free right
--- now (idle, or a slot to open one) and no task is waiting; never waits, so a
--- task that already holds a connection can ask for more without deadlocking
--- a full pool. Give it back with wh:release(conn).
function Warehouse:try_acquire()
  while not self._closed and self._wait_head > self._wait_tail do
    local c = table.remove(self._idle)
    if c then
      if usable(c) then
        return c
      end
      c:close()
      self._open = self._open - 1
    elseif self._open < self.size then
      self._open = self._open + 1
      local ok, conn = pcall(self._new_conn, self)
      if not ok then
        self._open = self._open - 1
        self:_wake(nil)
        error(conn, 0)
      end
      return conn
    else
      return nil
    end
  end
  return nil
end

-- Hand `c` (or a free slot, when c is nil) to the first task still waiting.
function Warehouse:_wake(c)
  while self._wait_head <= self._wait_tail do
    local f = self._waiters[self._wait_head]
    self._waiters[self._wait_head] = nil
    self._wait_head = self._wait_head + 1
    if f:waited() then
      f:set(c)
      return true
    end
  end
  self._wait_head, self._wait_tail = 1, 0
  return false
end

-- An idle connection: to a waiting task, else into the pool.
function Warehouse:_hand_over(c)
  if self._closed then
    self:_discard(c)
  elseif not self:_wake(c) then
    self._idle[#self._idle + 1] = c
  end
end

-- Close c and free its slot for a new connection.
function Warehouse:_discard(c)
  c:close()
  self._open = self._open - 1
  self:_wake(nil)
end

-- Bring c back to idle in a task of its own (the releasing task may be
-- unwinding from an error or a cancel, where nothing can wait): let a
-- cancelled statement finish, roll back an open transaction, then hand it
-- over; when any of that fails the connection is closed instead.
function Warehouse:_settle(c)
  local handled = false
  local function settle()
    local guard <close> = setmetatable({}, { __close = function()
      if not handled then -- failed or cancelled half-way
        handled = true
        self:_discard(c)
      end
    end })
    if c:status() == "busy" then
      pcall(c.query, c, "") -- queued behind what still runs; its outcome is not ours
    end
    local st = c:status() == "ready" and c:transaction_status()
    if st == "intrans" or st == "inerror" then
      local ok = pcall(c.query, c, "ROLLBACK")
      st = ok and c:status() == "ready" and c:transaction_status()
    end
    if st == "idle" and dirty[c] then
      -- back to the session the server started (Redshift has no DISCARD: a new one)
      local ok = self.dialect ~= "redshift" and pcall(c.query, c, "DISCARD ALL")
      if ok and core.dry_run() then
        ok = pcall(c.query, c, "SET default_transaction_read_only = on") -- as _new_conn set it
      end
      st = ok and c:status() == "ready" and c:transaction_status()
      dirty[c] = nil
    end
    handled = true
    if st == "idle" then
      self:_hand_over(c)
    else
      self:_discard(c)
    end
  end
  if not pcall(core.spawn, settle) then -- the runtime is shutting down
    handled = true
    self:_discard(c)
  end
end

--- wh:release(conn): return a pinned connection. An idle one goes back to
--- the pool; one inside a transaction or still running a statement is
--- rolled back first, and one whose session state a statement changed is
--- reset (by a task of its own); a broken one is closed.
--- Never waits (it also runs from __close when a task is cancelled).
function Warehouse:release(c)
  if self._closed or not usable(c) then
    dirty[c] = nil
    self:_discard(c)
  elseif c:status() == "busy" or c:transaction_status() ~= "idle" or dirty[c] then
    self:_settle(c)
  else
    self:_hand_over(c)
  end
end

--- wh:with_conn(fn) -> fn(conn)'s results, with a pinned connection.
function Warehouse:with_conn(fn, ...)
  local c = self:acquire()
  local guard <close> = setmetatable({}, { __close = function() self:release(c) end })
  return fn(c, ...)
end

--- wh:close(): close idle connections; later use raises.
function Warehouse:close()
  self._closed = true
  for _, c in ipairs(self._idle) do
    c:close()
    self._open = self._open - 1
  end
  self._idle = {}
  while self:_wake(nil) do -- waiting tasks raise "closed"
  end
end

--- wh:get_dialect() -> "postgres" | "redshift" (connects once to detect it
--- from version() when neither the URL nor the options said).
function Warehouse:get_dialect()
  if self.dialect == nil then
    self:with_conn(function() end)
  end
  return self.dialect
end

-- Dry runs ----------------------------------------------------------------------

local READ_ONLY = { select = true, with = true, show = true, values = true, table = true, explain = true }

local function first_word(q)
  local s = q:gsub("^%s+", "")
  while true do -- skip comments
    local n
    s, n = s:gsub("^%-%-[^\n]*\n?%s*", "")
    local m
    s, m = s:gsub("^/%*.-%*/%s*", "")
    if n + m == 0 then
      break
    end
  end
  return (s:match("^(%a+)") or ""):lower()
end

--- Whether `lode plan` may run q (a read); writes are printed instead.
function M.is_read(q)
  local w = first_word(q)
  if w == "explain" and q:lower():find("analyze", 1, true) then
    return false
  end
  return READ_ONLY[w] == true
end

-- Plan state ----------------------------------------------------------------------
--
-- Under `lode plan` writes are printed, not run, so the warehouse never holds
-- what they would have created. The plan state remembers it: every printed
-- statement passes through plan:record (schemas, tables with their columns,
-- temp/staging tables, drops), and engines add what only they know
-- (plan:set/get: the Spectrum registry rows and partitions a run would write).
-- Look-up helpers consult it where the catalog has nothing yet: a table the
-- plan creates answers with its declared columns, a read of it returns no
-- rows (run_on), a table the plan re-creates (no IF NOT EXISTS) hides the real
-- one. Real state (existing tables, the ledger, S3) is still read. One state
-- per process, as `lode plan` is process-wide (see docs/architecture.md).

local Plan = {}
Plan.__index = Plan

local function new_plan()
  return setmetatable({ relations = {}, schemas = {}, facts = {}, offline = {} }, Plan)
end

-- one key per relation however it is spelt: "schema.table" folded as the server does
local function rel_key(name)
  local ok, parts = pcall(sql.split_name, name)
  if not ok or #parts == 0 then
    return nil
  end
  local out = {}
  for i, p in ipairs(parts) do
    out[i] = p
  end
  return table.concat(out, ".")
end

-- the text of a (possibly qualified, possibly quoted) name at the start of s
local function take_name(s)
  local parts, rest = {}, s
  while true do
    local p, r = rest:match('^%s*("[^"]*")(.*)$')
    if not p then
      p, r = rest:match("^%s*([%w_$#]+)(.*)$")
    end
    if not p then
      break
    end
    parts[#parts + 1] = p
    local r2 = r:match("^%s*%.(.*)$")
    if not r2 then
      rest = r
      break
    end
    rest = r2
  end
  if #parts == 0 then
    return nil, s
  end
  return table.concat(parts, "."), rest
end

-- the text inside the parentheses opening s (balanced, quotes respected), and after them
local function take_parens(s)
  local i = s:find("%S")
  if not i or s:sub(i, i) ~= "(" then
    return nil, s
  end
  local depth, j, n = 0, i, #s
  while j <= n do
    local c = s:sub(j, j)
    if c == "'" or c == '"' then
      local k = s:find(c, j + 1, true)
      j = k or n
    elseif c == "(" then
      depth = depth + 1
    elseif c == ")" then
      depth = depth - 1
      if depth == 0 then
        return s:sub(i + 1, j - 1), s:sub(j + 1)
      end
    end
    j = j + 1
  end
  return nil, s
end

local function split_top(s)
  local out, depth, start, i, n = {}, 0, 1, 1, #s
  while i <= n do
    local c = s:sub(i, i)
    if c == "'" or c == '"' then
      i = s:find(c, i + 1, true) or n
    elseif c == "(" then
      depth = depth + 1
    elseif c == ")" then
      depth = depth - 1
    elseif c == "," and depth == 0 then
      out[#out + 1] = s:sub(start, i - 1)
      start = i + 1
    end
    i = i + 1
  end
  out[#out + 1] = s:sub(start)
  return out
end

-- words that end a column's type in a column definition
local TYPE_END = { primary = true, ["not"] = true, null = true, default = true, references = true, unique = true,
  check = true, generated = true, identity = true, encode = true, distkey = true, sortkey = true, collate = true,
  constraint = true }

local function name_list(s)
  local out = {}
  for _, item in ipairs(split_top(s or "")) do
    local n = take_name(item)
    if n then
      out[#out + 1] = rel_key(n)
    end
  end
  return out
end

-- {columns = {{name=, type=, identity=}}, key = {names}, like = name} of a column list
local function parse_columns(body)
  local cols, key, like = {}, {}, nil
  for _, item in ipairs(split_top(body)) do
    local lead = (item:match("^%s*(%a+)") or ""):lower()
    if lead == "like" then
      like = take_name(item:gsub("^%s*%a+", "", 1))
    elseif lead == "primary" then
      key = name_list((take_parens(item:gsub("^%s*[Pp][Rr][Ii][Mm][Aa][Rr][Yy]%s+[Kk][Ee][Yy]", "", 1))))
    elseif lead == "constraint" then
      local inner = item:match("[Pp][Rr][Ii][Mm][Aa][Rr][Yy]%s+[Kk][Ee][Yy]%s*(%b())")
      if inner then
        key = name_list(inner:sub(2, -2))
      end
    elseif lead ~= "unique" and lead ~= "foreign" and lead ~= "check" and lead ~= "exclude" then
      local name, rest = take_name(item)
      if name then
        local words, ty, stop = {}, {}, false
        for w in rest:gmatch("%S+") do
          words[#words + 1] = w
        end
        local identity = false
        local j = 1
        while j <= #words do
          local lw = words[j]:lower():match("^([%a_]+)")
          if lw and TYPE_END[lw] then
            stop = true
          end
          if lw == "identity" or lw == "generated" then
            identity = true
          end
          if lw == "primary" then
            key = { rel_key(name) }
          end
          if not stop then
            ty[#ty + 1] = words[j]
          end
          j = j + 1
        end
        cols[#cols + 1] = { name = rel_key(name), type = table.concat(ty, " "), identity = identity }
      end
    end
  end
  return { columns = cols, key = key, like = like }
end

--- plan:record(q): note what a printed statement would create or drop.
function Plan:record(q)
  local s = q:gsub("^%s+", "")
  while true do -- leading comments
    local n, m
    s, n = s:gsub("^%-%-[^\n]*\n?%s*", "")
    s, m = s:gsub("^/%*.-%*/%s*", "")
    if n + m == 0 then
      break
    end
  end
  local low = s:lower()
  local rest = low:match("^create%s+external%s+schema%s+(.*)$") or low:match("^create%s+schema%s+(.*)$")
  if rest then
    rest = s:sub(#s - #rest + 1):gsub("^[Ii][Ff]%s+[Nn][Oo][Tt]%s+[Ee][Xx][Ii][Ss][Tt][Ss]%s+", "")
    local name = take_name(rest)
    if name then
      self.schemas[rel_key(name) or name] = true
    end
    return
  end
  local temp, kind
  local m = { low:match("^create%s+(.-)%s*table%s+(.*)$") }
  if m[1] then
    local mods = " " .. m[1] .. " "
    if mods:find(" view ", 1, true) or mods:find(" index ", 1, true) then
      return
    end
    temp = mods:find(" temp ", 1, true) or mods:find(" temporary ", 1, true)
    kind = mods:find(" external ", 1, true) and "external" or mods:find(" foreign ", 1, true) and "foreign" or "table"
    rest = s:sub(#s - #m[2] + 1)
    local if_not = rest:lower():match("^if%s+not%s+exists%s+") ~= nil
    rest = rest:gsub("^[Ii][Ff]%s+[Nn][Oo][Tt]%s+[Ee][Xx][Ii][Ss][Tt][Ss]%s+", "")
    local name
    name, rest = take_name(rest)
    local key = name and rel_key(name)
    if not key then
      return
    end
    -- CREATE … IF NOT EXISTS after the plan's own DROP creates it anew
    local prev = self.relations[key]
    local anew = prev and prev.dropped
    local entry = { name = key, temp = temp and true or false, kind = kind, replaces = not if_not or anew or false,
                    columns = {}, key = {} }
    local body = take_parens(rest)
    if body then
      local parsed = parse_columns(body)
      entry.columns, entry.key, entry.like = parsed.columns, parsed.key, parsed.like
    elseif (rest:lower():match("^%s*partition%s+of%s")) then
      entry.partition_of = take_name(rest:gsub("^%s*%a+%s+%a+", "", 1))
    elseif rest:lower():match("^%s*as%s") then
      entry.query = rest:gsub("^%s*%a+", "", 1)
    end
    if prev and if_not and not anew then
      return -- already created by the plan
    end
    self.relations[key] = entry
    return
  end
  rest = low:match("^drop%s+[%a%s]-table%s+(.*)$")
  if rest then
    rest = s:sub(#s - #rest + 1):gsub("^[Ii][Ff]%s+[Ee][Xx][Ii][Ss][Tt][Ss]%s+", "")
    for _, item in ipairs(split_top((rest:gsub("%s+[Cc][Aa][Ss][Cc][Aa][Dd][Ee]%s*$", "")))) do
      local key = rel_key((take_name(item)))
      if key then
        self.relations[key] = { name = key, dropped = true, replaces = true, columns = {}, key = {} }
      end
    end
  end
end

--- plan:relation(name) -> what the plan created under that name ({name=,
--- columns=, key=, like=, temp=, replaces=, dropped=}), or nil.
function Plan:relation(name)
  local key = rel_key(name)
  if not key then
    return nil
  end
  local e = self.relations[key]
  if not e and not key:find(".", 1, true) then
    e = self.relations["public." .. key]
  elseif not e and key:match("^public%.") then
    e = self.relations[key:sub(8)]
  end
  return e
end

--- plan:has_schema(name) -> whether the plan creates that schema
function Plan:has_schema(name)
  return self.schemas[rel_key(name) or name] == true
end

--- plan:set(kind, key, value) / plan:get(kind, key): facts an engine records
--- for later look-ups (the Spectrum registry's rows, its partitions, ...).
function Plan:set(kind, key, value)
  self.facts[kind] = self.facts[kind] or {}
  self.facts[kind][key] = value
end

function Plan:get(kind, key)
  return self.facts[kind] and self.facts[kind][key]
end

--- lode.warehouse.plan() -> the plan state of this `lode plan` (nil outside one).
local plan_state
function M.plan()
  if not core.dry_run() then
    return nil
  end
  plan_state = plan_state or new_plan()
  return plan_state
end

--- lode.warehouse.planned_relation(name, exists) -> the plan's entry for a
--- relation a look-up should take from the plan instead of the catalog: one
--- the plan creates that does not exist yet (exists() says whether it does),
--- or one the plan drops or re-creates; nil outside `lode plan`.
function M.planned_relation(name, exists)
  local plan = M.plan()
  local e = plan and plan:relation(name)
  if not e or (not e.replaces and exists()) then
    return nil
  end
  return e
end

--- lode.warehouse._plan_reset(): forget what the plan created (tests).
function M._plan_reset()
  plan_state = nil
end

local plan_task -- the task whose statements were printed last
local function plan_print(q, params)
  local h = core.current()
  local task = h and h:name() or "main"
  local out = {}
  if task ~= plan_task then
    plan_task = task
    out[1] = ("-- task %s: statements shown, not run (lode plan)\n"):format(task)
  end
  local text = sql.redact(q):gsub("%s+$", "")
  out[#out + 1] = text
  -- a line comment at the end would swallow the ";"
  out[#out + 1] = text:match("[^\n]*$"):find("--", 1, true) and "\n;\n" or ";\n"
  if params and params.n and params.n > 0 then
    local shown = {}
    for i = 1, params.n do
      shown[#shown + 1] = ("$%d = %s"):format(i, sql.show_param(params[i]))
    end
    out[#out + 1] = "--   " .. table.concat(shown, ", ") .. "\n"
  end
  io.stdout:write(table.concat(out))
  io.stdout:flush()
  M.plan():record(q)
end
M._plan_print = plan_print


-- Statements ------------------------------------------------------------------------

-- Under `lode plan`, a read of a relation or schema only the plan creates
-- answers no rows (a run would read the rows its own statements wrote).
local MISSING = { ["42P01"] = 'relation "([^"]+)" does not exist', ["3F000"] = 'schema "([^"]+)" does not exist' }
local function planned_read(q, e)
  local st = type(e) == "table" and e.sqlstate
  local pat = st and MISSING[st]
  local name = pat and tostring(e.message):match(pat)
  local plan = M.plan()
  if not name or not plan then
    return nil
  end
  local created = (st == "3F000" and plan:has_schema(name)) or (st == "42P01" and plan:relation(name))
  if not created then
    return nil
  end
  io.stdout:write(("-- lode plan: reads %s, which this plan creates; no rows:\n"):format(name),
    sql.redact(q):gsub("%s+$", ""), ";\n")
  return empty_result()
end

local function run_on(c, q, params)
  if core.dry_run() and not M.is_read(q) then
    plan_print(q, params)
    return empty_result()
  end
  if not dirty[c] and leaves_session_state(q) then
    dirty[c] = true
  end
  if core.dry_run() then
    local ok, r = pcall(c.query, c, q, params)
    if ok then
      return r
    end
    return planned_read(q, r) or error(r, 0)
  end
  return c:query(q, params)
end

local function check_sql(q, what)
  if type(q) ~= "string" then
    wh_error("usage", ("%s: the SQL must be a string, got %s"):format(what, type(q)), false, 4)
  end
end

--- wh:query(sql, ...) -> rows {row, ..., rowcount=, columns=, command=}; $1.. are the arguments.
-- Redshift-only statements given to a postgres warehouse (COPY … FROM
-- 's3://…', external DDL, #temp, DISTKEY, …) are carried out by lode.sqlrun,
-- so code written for Redshift runs unchanged; the result is the last
-- statement's. Such a text is Redshift SQL throughout: its string literals
-- are read as Redshift reads them ('a\\b' is a\b). A text without them is
-- PostgreSQL's, unless the warehouse was opened with emulate = "redshift":
-- then every text is Redshift SQL, so a literal means the same bytes
-- whatever else the text holds. Statements with parameters are sent as they
-- are (with emulate = "redshift", their literals read as Redshift's).

-- Whether q is read as Redshift SQL on this (PostgreSQL) warehouse.
local function redshift_text(wh, q)
  return wh.emulate == "redshift" or require("lode.redshift").needs_emulation(q)
end

-- emulate = "redshift" and parameters: the one statement, its '…' literals
-- holding backslashes sent as the E'…' that means the same bytes.
local function redshift_literals(wh, q, params)
  if params.n == 0 or wh.emulate ~= "redshift" or not q:find("\\", 1, true) or core.dry_run() then
    return q
  end
  local stmts = require("lode.redshift").statements(q)
  if #stmts ~= 1 then
    return q
  end
  if stmts[1].refused then
    error(stmts[1].refused, 0)
  end
  return stmts[1].rewritten or q
end

local function emulated(wh, s, q, params, own_session)
  -- under `lode plan` the statement is printed as written, like any write
  if params.n > 0 or core.dry_run() or wh.dialect == "redshift" or not redshift_text(wh, q) then
    return nil
  end
  if wh:get_dialect() ~= "postgres" then
    return nil
  end
  local results = require("lode.sqlrun").run_on(s, q, { own_session = own_session })
  local last = results[#results]
  local r = last and last.result
  if type(r) ~= "table" or r.rowcount == nil then
    r = { rowcount = type(r) == "table" and (r.rows or 0) or 0, columns = {}, command = last and last.kind:upper() or "" }
  end
  return r
end

function Warehouse:query(q, ...)
  check_sql(q, "wh:query")
  local params = table.pack(...)
  if params.n == 0 and not core.dry_run() and redshift_text(self, q)
      and self:get_dialect() == "postgres" then
    -- a session of its own: its #temp tables end with this call
    return self:session(function(s) return emulated(self, s, q, params, true) end)
  end
  if core.dry_run() and not M.is_read(q) then
    plan_print(q, params)
    return empty_result()
  end
  return self:with_conn(run_on, redshift_literals(self, q, params), params)
end

--- wh:query_raw(sql, ...) -> sent to the server as written (no emulation):
--- lode's own statements (its ledger and cursor tables) are PostgreSQL's
--- even on a warehouse opened with emulate = "redshift", whose dialect would
--- drop their PRIMARY KEYs as informational.
function Warehouse:query_raw(q, ...)
  check_sql(q, "wh:query_raw")
  local params = table.pack(...)
  if core.dry_run() and not M.is_read(q) then
    plan_print(q, params)
    return empty_result()
  end
  return self:with_conn(run_on, q, params)
end

--- wh:exec(sql, ...) -> rows affected
function Warehouse:exec(q, ...)
  check_sql(q, "wh:exec")
  return self:query(q, ...).rowcount
end

--- wh:rows(sql, ...) -> iterator over rows that never holds the whole result.
function Warehouse:rows(q, ...)
  check_sql(q, "wh:rows")
  local params = table.pack(...)
  if core.dry_run() and not M.is_read(q) then
    plan_print(q, params)
    return function() return nil end
  end
  local c = self:acquire()
  if leaves_session_state(q) then
    dirty[c] = true
  end
  local ok, next_row, cur = pcall(c.rows, c, q, params)
  if not ok then
    self:release(c)
    error(next_row, 0)
  end
  local done = false
  local function finish()
    if not done then
      done = true
      cur:close()
      self:release(c)
    end
  end
  -- closed by a for loop's end or break; collected with the iterator when it
  -- is dropped unfinished (in a task of its own: a finalizer must not wait)
  local closer = setmetatable({}, { __close = finish, __gc = function()
    if not done then
      pcall(core.spawn, finish)
    end
  end })
  return function()
    local _ = closer -- the iterator keeps its closer alive
    if done then
      return nil
    end
    local row = next_row(cur)
    if row == nil then
      finish()
    end
    return row
  end, nil, nil, closer
end

-- Transactions ----------------------------------------------------------------------

local Tx = { __name = "lode.warehouse.tx" }
Tx.__index = Tx

local function run_tx(wh, c, fn, depth)
  local sp = ("lode_sp_%d"):format(depth)
  local begin = depth == 0 and "BEGIN" or ("SAVEPOINT " .. sp)
  local commit = depth == 0 and "COMMIT" or ("RELEASE SAVEPOINT " .. sp)
  local rollback = depth == 0 and "ROLLBACK" or ("ROLLBACK TO SAVEPOINT " .. sp)
  local dry = core.dry_run()
  local function stmt(s)
    if dry then
      plan_print(s)
    else
      c:query(s)
    end
  end
  stmt(begin)
  local settled = false
  -- A cancelled task never returns here: undo on the connection before the
  -- pool hands it to anyone else (queued, so nothing waits).
  local guard <close> = setmetatable({}, { __close = function()
    if not settled and not dry and usable(c) then
      c:queue(rollback)
      if depth > 0 then
        c:queue("ROLLBACK") -- the outer transaction is abandoned as well
      end
    end
  end })
  local tx = setmetatable({ wh = wh, conn = c, depth = depth, dialect = wh.dialect }, Tx)
  local r = table.pack(pcall(fn, tx))
  settled = true
  tx.ended = true
  if r[1] then
    stmt(commit)
    return table.unpack(r, 2, r.n)
  end
  if not dry and usable(c) then
    pcall(c.query, c, rollback)
    if depth > 0 then
      pcall(c.query, c, "RELEASE SAVEPOINT " .. sp)
    end
  end
  error(r[2], 0)
end

--- wh:transaction(fn) -> fn(tx)'s results: commits when fn returns, rolls
--- back (and re-raises) when it raises; tx:transaction nests with savepoints.
function Warehouse:transaction(fn)
  if type(fn) ~= "function" then
    wh_error("usage", "wh:transaction(fn): fn must be a function", false)
  end
  return self:with_conn(function(c)
    return run_tx(self, c, fn, 0)
  end)
end

-- A transaction or session belongs to the task running its function: once
-- that returns, the connection may carry another task's transaction.
local function conn_of(tx)
  if tx.ended then
    wh_error("ended", "this transaction or session has ended (its connection went back to the pool): "
      .. "use it only inside its function", false, 4)
  end
  return tx.conn
end

function Tx:query(q, ...)
  check_sql(q, "tx:query")
  conn_of(self)
  local params = table.pack(...)
  local r = emulated(self.wh, self, q, params)
  if r then
    return r
  end
  return run_on(conn_of(self), redshift_literals(self.wh, q, params), params)
end

--- tx:query_raw(sql, ...) -> sent to the server as written (no emulation)
function Tx:query_raw(q, ...)
  return run_on(conn_of(self), q, table.pack(...))
end

function Tx:exec(q, ...)
  return self:query(q, ...).rowcount
end

function Tx:transaction(fn)
  local c = conn_of(self)
  local depth = self.depth + 1
  if self.session then -- BEGIN, or a savepoint inside the script's own BEGIN
    local st = c:transaction_status()
    depth = (st == "intrans" or st == "inerror") and 1 or 0
  end
  return run_tx(self.wh, c, fn, depth)
end

--- tx:get_dialect() -> the warehouse's dialect (so engines take a tx or a wh)
function Tx:get_dialect()
  return self.wh:get_dialect()
end

function Tx:copy_out(q, fn)
  local r <close> = conn_of(self):copy_out(q)
  while true do
    local chunk = r:read()
    if chunk == nil then
      break
    end
    fn(chunk)
  end
  return r:rows()
end

--- wh:session(fn) -> fn(s)'s results: one pinned connection for a sequence of
--- statements (a SQL script run by `lode sql`); s has query, exec, rows,
--- copy_in, copy_out, and s:transaction(fn) opens BEGIN — or a savepoint
--- when the script's own BEGIN is open.
function Warehouse:session(fn)
  return self:with_conn(function(c)
    local s = setmetatable({ wh = self, conn = c, depth = 0, dialect = self.dialect, session = true }, Tx)
    local guard <close> = setmetatable({}, { __close = function() s.ended = true end })
    return fn(s)
  end)
end

--- wh:session_on(conn) -> s: a session (as in wh:session) on a connection
--- pinned with wh:acquire or wh:try_acquire; the caller still releases conn.
function Warehouse:session_on(c)
  return setmetatable({ wh = self, conn = c, depth = 0, dialect = self.dialect, session = true }, Tx)
end

function Tx:rows(q, ...)
  local c = conn_of(self)
  if leaves_session_state(q) then
    dirty[c] = true
  end
  local next_row, cur, _, closer = c:rows(q, table.pack(...))
  return next_row, cur, nil, closer
end

function Tx:copy_in(q, format)
  return M._copy_in(nil, conn_of(self), q, format)
end

-- COPY ---------------------------------------------------------------------------------

local Writer = { __name = "lode.warehouse.copy_in" }
Writer.__index = Writer

function M._copy_in(wh, c, q, format)
  if core.dry_run() then
    plan_print(q)
    return setmetatable({ dry = true, bytes_dropped = 0, wh = wh, conn = c }, Writer)
  end
  local w = c:copy_in(q, format)
  return setmetatable({ w = w, wh = wh, conn = c }, Writer)
end

function Writer:_release()
  if self.wh and self.conn then
    local wh, c = self.wh, self.conn
    self.conn = nil
    wh:release(c)
  end
end

--- w:write(s): stream bytes (waits only when the server is behind).
function Writer:write(s)
  if self.dry then
    self.bytes_dropped = self.bytes_dropped + #s
    return
  end
  local ok, err = pcall(self.w.write, self.w, s)
  if not ok then
    self:_release()
    error(err, 0)
  end
end

--- w:finish() -> rows loaded (raises the server's error, naming the line).
function Writer:finish()
  if self.dry then
    io.stdout:write(("-- (%d bytes of COPY data not sent)\n"):format(self.bytes_dropped))
    self:_release()
    return 0
  end
  local ok, n = pcall(self.w.finish, self.w)
  self:_release()
  if not ok then
    error(n, 0)
  end
  return n
end

--- w:abort([reason]): discard what was written.
function Writer:abort(reason)
  if not self.dry then
    self.w:abort(reason)
  end
  self:_release()
end

function Writer:__close()
  if self.conn then
    if not self.dry then
      self.w:close()
    end
    self:_release()
  end
end
Writer.__gc = Writer.__close

--- wh:copy_in(sql [, format]) -> writer (:write, :finish, :abort) on a pinned
--- connection; format "text" (default), "csv" or "binary".
function Warehouse:copy_in(q, format)
  check_sql(q, "wh:copy_in")
  local c = core.dry_run() and nil or self:acquire()
  local ok, w = pcall(M._copy_in, self, c, q, format)
  if not ok then
    if c then
      self:release(c)
    end
    error(w, 0)
  end
  return w
end

--- wh:copy_out(sql, fn): run a COPY ... TO STDOUT, calling fn(chunk) for each
--- chunk of whole rows; returns the row count.
function Warehouse:copy_out(q, fn)
  check_sql(q, "wh:copy_out")
  return self:with_conn(function(c)
    local r <close> = c:copy_out(q)
    while true do
      local chunk = r:read()
      if chunk == nil then
        break
      end
      fn(chunk)
    end
    return r:rows()
  end)
end

function Warehouse:__tostring()
  return ("lode.warehouse %s (%s, pool %d)"):format(self.url, self.dialect or "dialect not yet known", self.size)
end

-- Every warehouse this process opens: its password becomes a known secret
-- (redacted wherever it appears), and the first one is where `lode run`
-- records the run in lode.runs when the pipeline names none.
local connect = M.connect
function M.connect(target)
  local url = type(target) == "table" and target.url or target or os.getenv("LODE_WAREHOUSE") or ""
  local password = tostring(url):match("^%a[%w+.-]*://[^:/@%s]*:([^@%s]*)@")
  if password and password ~= "" then
    sql.register_secret(password)
    local decoded = password:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    sql.register_secret(decoded)
  end
  local wh = connect(target)
  M.first = M.first or wh
  return wh
end

return setmetatable(M, {
  __call = function(_, target)
    return M.connect(target)
  end,
})

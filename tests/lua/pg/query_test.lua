-- Queries through lode.warehouse against the throwaway PostgreSQL.
local t = require "lode.test"
local lode = require "lode"

local function proc_run(argv, url)
  local proc = require "lode.proc"
  return proc.run(argv, { env = { LODE_WAREHOUSE = url } })
end

local function wh(opts)
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  opts = opts or {}
  opts.url = url
  return lode.warehouse(opts)
end

t.test("natural Lua types: integers, floats, booleans, numeric as string, NULL", function()
  local w = wh()
  local r = w:query([[select 1 as i, 9007199254740993::bigint as big, 2.5::float8 as f,
    true as b, 12345678901234567890.123456789::numeric as n, null::text as z,
    'héllo'::text as s, 'NaN'::float8 as nan, 'Infinity'::float8 as inf, 3::smallint as sm]])
  t.eq(#r, 1)
  local row = r[1]
  t.eq(math.type(row.i), "integer")
  t.eq(row.i, 1)
  t.eq(row.big, 9007199254740993)
  t.eq(math.type(row.f), "float")
  t.eq(row.f, 2.5)
  t.eq(row.b, true)
  t.eq(row.n, "12345678901234567890.123456789")
  t.ok(row.z == lode.null, "NULL is lode.null")
  t.eq(row.s, "héllo")
  t.ok(row.nan ~= row.nan, "NaN")
  t.eq(row.inf, math.huge)
  t.eq(row.sm, 3)
  t.eq(r.rowcount, 1)
  t.eq(r.columns[1].name, "i")
  t.eq(r.columns[1].type, "integer")
  t.eq(r.columns[5].type, "numeric")
  w:close()
end)

t.test("parameters $1.. take Lua values; nil and lode.null are NULL", function()
  local w = wh()
  local r = w:query("select $1::int + 1 as a, $2::text as b, $3::bool as c, $4::text is null as d, $5::text is null as e, $6::float8 as f",
    41, "x'; drop table y; --", false, nil, lode.null, 0.1)
  t.eq(r[1].a, 42)
  t.eq(r[1].b, "x'; drop table y; --")
  t.eq(r[1].c, false)
  t.eq(r[1].d, true)
  t.eq(r[1].e, true)
  t.eq(r[1].f, 0.1)
  w:close()
end)

t.test("exec returns affected rows; errors carry SQLSTATE and are structured", function()
  local w = wh()
  w:exec("drop table if exists q_exec")
  w:exec("create table q_exec (id int primary key)")
  t.eq(w:exec("insert into q_exec select generate_series(1, 7)"), 7)
  t.eq(w:exec("delete from q_exec where id > $1", 5), 2)
  local err = t.raises(function() w:exec("insert into q_exec values (1)") end, "duplicate key")
  t.eq(err.sqlstate, "23505")
  t.eq(err.code, "23505")
  t.eq(err.retryable, false)
  t.eq(err.constraint, "q_exec_pkey")
  err = t.raises(function() w:query("select * from no_such_table_here") end, "does not exist")
  t.eq(err.sqlstate, "42P01")
  -- the connection is still good after errors
  t.eq(w:query("select count(*)::int as n from q_exec")[1].n, 5)
  w:exec("drop table q_exec")
  w:close()
end)

t.test("50 tasks share a pool of 5 connections", function()
  local w = wh({ pool = 5 })
  local fns = {}
  for i = 1, 50 do
    fns[i] = function()
      local r = w:query("select $1::int * 2 as v, pg_backend_pid() as pid, pg_sleep(0.01)", i)
      return { v = r[1].v, pid = r[1].pid }
    end
  end
  local results = lode.all(fns)
  local pids = {}
  for i, r in ipairs(results) do
    t.eq(r.v, i * 2)
    pids[r.pid] = true
  end
  local n = 0
  for _ in pairs(pids) do n = n + 1 end
  t.ok(n <= 5, ("at most 5 connections were used, saw %d"):format(n))
  t.ok(n >= 2, "queries ran on several connections concurrently")
  t.ok(w._open <= 5)
  w:close()
end)

t.test("rows() iterates a large result without loading it whole", function()
  local w = wh()
  local n, sum = 0, 0
  for row in w:rows("select g from generate_series(1, 20000) g") do
    n = n + 1
    sum = sum + row.g
  end
  t.eq(n, 20000)
  t.eq(sum, 20000 * 20001 // 2)
  -- leaving early cancels the rest and frees the connection
  for row in w:rows("select g from generate_series(1, 10000000) g") do
    if row.g == 10 then break end
  end
  t.eq(w:query("select 1 as one")[1].one, 1)
  w:close()
end)

t.test("connection failures are clear, retryable errors", function()
  local w = lode.warehouse("postgresql://nobody:sekrit@127.0.0.1:1/x")
  local err = t.raises(function() w:query("select 1") end)
  t.eq(err.retryable, true)
  t.ok(not tostring(err):find("sekrit", 1, true), "no password in the error")
end)

t.test("dialect: redshift:// means libpq + redshift; detection from version()", function()
  local url = t.env("LODE_TEST_PG_URL")
  -- redshift:// defaults to sslmode=verify-full; the local server has no TLS
  local rs = lode.warehouse((url:gsub("^postgresql://", "redshift://")) .. (url:find("?", 1, true) and "&" or "?")
    .. "sslmode=disable")
  t.eq(rs.dialect, "redshift")
  t.eq(rs:query("select 1 as x")[1].x, 1)
  local w = wh()
  t.eq(w.dialect, nil)
  t.eq(w:get_dialect(), "postgres")
  t.eq(lode.warehouse.connect({ url = url, dialect = "redshift" }).dialect, "redshift")
  rs:close()
  w:close()
end)

t.test("a server that never answers: connect gives up after its timeout", function()
  t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local proc = require "lode.proc"
  local fs = require "lode.fs"
  local portfile = t.tmpdir() .. "/port"
  -- listens (the kernel completes the handshake) but never speaks
  local server = lode.spawn(proc.run, { "python3", "-c", [[
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(5)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(30)
]], portfile }, { timeout = 30000 })
  for _ = 1, 500 do
    if fs.stat(portfile) then break end
    lode.sleep(10)
  end
  local f = assert(io.open(portfile))
  local port = f:read("a")
  f:close()
  local w = lode.warehouse({ url = ("postgresql://x@127.0.0.1:%s/x"):format(port), connect_timeout = 300 })
  local err = t.raises(function() w:query("select 1") end, "could not connect within 300 ms")
  t.eq(err.code, "timeout")
  t.eq(err.retryable, true)
  server:cancel()
end)

t.test("a connection handed to a waiter that is cancelled before it runs goes back to the pool", function()
  local w = wh({ pool = 1 })
  local c = w:acquire()
  local b = lode.spawn(function() return w:query("select 1 as x") end)
  lode.yield() -- b runs until it waits for the pool
  t.eq(#w._waiters - w._wait_head + 1, 1, "b waits for a connection")
  w:release(c) -- handed to b ...
  b:cancel()   -- ... which is cancelled before it could run
  local r = lode.timeout(10000, function() return w:query("select 2 as x") end)
  t.eq(r[1].x, 2)
  t.eq(w._open, 1)
  w:close()
end)

t.test("connections still open when the run ends are closed cleanly", function()
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local bin = t.env("LODE_BIN", "tests/run.sh sets it")
  local path = t.tmpdir() .. "/open_at_exit.lua"
  local f = assert(io.open(path, "w"))
  f:write([[
local lode = require "lode"
KEEP = lode.warehouse(os.getenv("LODE_WAREHOUSE"))
KEEP_CONN = require("lode.pg").connect(os.getenv("LODE_WAREHOUSE"))
lode.spawn(function() KEEP:query("select pg_sleep(30)") end)   -- still running at exit
print(KEEP:query("select 7 as x")[1].x)
]])
  f:close()
  local r = proc_run({ bin, "run", path }, url)
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "7\n")
  t.ok(not r.stderr:find("Sanitizer", 1, true), r.stderr)
end)

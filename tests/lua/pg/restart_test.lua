-- A server restart in the middle of a run: the in-flight query fails with a
-- retryable error; later queries succeed on new connections. Runs against a
-- private cluster (lode.dev) so the shared one is never restarted.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local fs = require "lode.fs"

t.test("pg_ctl restart fails the in-flight query (retryable), later queries reconnect", { timeout = 120000 }, function()
  t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local dev = require "lode.dev"
  local dir = fs.mkdtemp("lode-pg-restart")
  proc.run({ "chmod", "755", dir })
  local env = dev.up({ dir = dir .. "/stack", s3 = false, database = "restart" })
  local ok, err = pcall(function()
    local w = lode.warehouse({ url = env.LODE_WAREHOUSE, pool = 3 })
    -- warm the pool: three connections, then idle
    lode.all({
      function() return w:query("select pg_sleep(0.05)") end,
      function() return w:query("select pg_sleep(0.05)") end,
      function() return w:query("select pg_sleep(0.05)") end,
    })
    local old = {}
    for _, c in ipairs(w._idle) do old[c:info().backend_pid] = true end
    local inflight = lode.spawn(function() return w:query("select pg_sleep(30)") end)
    -- wait until the server runs it
    local seen = false
    for _ = 1, 500 do
      local r = w:query("select count(*)::int as n from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'")
      if r[1].n == 1 then seen = true break end
      lode.sleep(10)
    end
    t.ok(seen, "the long query is running")
    local pg_ctl = "/usr/lib/postgresql/15/bin/pg_ctl"
    local argv = { pg_ctl, "-D", env.LODE_DEV_PGDATA, "-l", dir .. "/stack/pg/pg.log", "-m", "fast", "-w", "-t", "60", "restart" }
    if proc.run({ "id", "-u" }).stdout == "0\n" then
      table.insert(argv, 1, "--")
      table.insert(argv, 1, "postgres")
      table.insert(argv, 1, "-u")
      table.insert(argv, 1, "runuser")
    end
    local r = proc.run(argv)
    t.eq(r.status, 0, r.stderr)
    local qerr = t.raises(function() inflight:await() end)
    t.eq(qerr.retryable, true, tostring(qerr))
    t.diag("in-flight query failed with: " .. tostring(qerr))
    -- later queries succeed, on new connections
    for i = 1, 5 do
      local row = w:query("select $1::int as i, pg_backend_pid() as p", i)[1]
      t.eq(row.i, i)
      t.ok(not old[row.p], "a new connection")
    end
    w:close()
  end)
  dev.down({ dir = dir .. "/stack" })
  fs.rmtree(dir)
  if not ok then error(err, 0) end
end)

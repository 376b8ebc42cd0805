-- lode.dev — a throwaway local stack for laptops and CI: a PostgreSQL cluster
-- in a folder (the system's binaries, a free loopback port), local S3 (a
-- file:// endpoint, or s3rver) and a local AWS (moto_server: STS, IAM, Glue,
-- Redshift's API and S3 on one port). `lode dev up|down|env`, `make demo`
-- and the test harness all start their services through here.

local proc = require "lode.proc"
local fs = require "lode.fs"
local core = require "lode.core"

local M = {}

local function fail(msg, code)
  error(core.error({ op = "dev", code = code or "dev", message = msg, exit_code = 2 }), 0)
end

local function is_root()
  local r = proc.run({ "id", "-u" })
  return r.stdout:match("^0%s*$") ~= nil
end

local function run(argv, opts, what)
  local r = proc.run(argv, opts)
  if r.status ~= 0 then
    fail(("%s failed (exit %d): %s"):format(what or argv[1], r.status, (r.stderr .. r.stdout):sub(1, 2000)))
  end
  return r
end

local function pg_bindir()
  local env = os.getenv("PG_BIN")
  if env and fs.stat(env .. "/initdb") then
    return env
  end
  local r = proc.run({ "pg_config", "--bindir" })
  if r.status == 0 then
    local d = r.stdout:gsub("%s+$", "")
    if fs.stat(d .. "/initdb") then
      return d
    end
  end
  for _, v in ipairs { "17", "16", "15", "14" } do
    local d = "/usr/lib/postgresql/" .. v .. "/bin"
    if fs.stat(d .. "/initdb") then
      return d
    end
  end
  fail("PostgreSQL server binaries not found: install them (Debian: apt-get install postgresql-15) or set PG_BIN", "no_postgres")
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function abspath(p)
  if p:sub(1, 1) == "/" then
    return p
  end
  local cwd = os.getenv("PWD") or proc.run({ "pwd" }).stdout:gsub("%s+$", "")
  return cwd .. "/" .. p
end

local function read_env(dir)
  local f = io.open(dir .. "/env", "r")
  if not f then
    return nil
  end
  local env, order = {}, {}
  for line in f:lines() do
    local k, v = line:match("^([%w_]+)=(.*)$")
    if k then
      env[k] = v
      order[#order + 1] = k
    end
  end
  f:close()
  return env, order
end

local function write_env(dir, env, order)
  local f = assert(io.open(dir .. "/env", "w"))
  for _, k in ipairs(order) do
    f:write(k, "=", env[k], "\n")
  end
  f:close()
end

local function pg_running(dir)
  local f = io.open(dir .. "/pg/data/postmaster.pid", "r")
  if not f then
    return false
  end
  local pid = tonumber(f:read("l"))
  f:close()
  return pid and proc.kill(pid, 0)
end

local function start_pg(dir, env, order, opts)
  local bin = pg_bindir()
  local pgdir = dir .. "/pg"
  local root = is_root()
  local as_owner = function(argv)
    if root then
      local a = { "runuser", "-u", "postgres", "--" }
      for _, x in ipairs(argv) do
        a[#a + 1] = x
      end
      return a
    end
    return argv
  end
  fs.mkdir(pgdir, true)
  if root and proc.run({ "runuser", "-u", "postgres", "--", "test", "-x", dir }).status ~= 0 then
    fail(("as root, lode runs PostgreSQL as user postgres, which cannot reach %s: choose a --dir whose "
      .. "parent folders others can enter (for example under /tmp)"):format(dir), "permission")
  end
  if root then
    run({ "chown", "postgres:postgres", pgdir }, nil, "chown")
    run({ "chmod", "700", pgdir }, nil, "chmod")
  end
  local port = opts.port or proc.free_port()
  run(as_owner { bin .. "/initdb", "-D", pgdir .. "/data", "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--locale=C.UTF-8" }, nil, "initdb")
  local conf = assert(io.open(pgdir .. "/data/postgresql.conf", "a"))
  conf:write(("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"):format(port, pgdir))
  conf:write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")
  conf:close()
  run(as_owner { bin .. "/pg_ctl", "-D", pgdir .. "/data", "-l", pgdir .. "/pg.log", "-w", "-t", "60", "start" },
    nil, "pg_ctl start")
  local db = opts.database or "lode"
  run(as_owner { bin .. "/createdb", "-h", "127.0.0.1", "-p", tostring(port), "-U", "postgres", db }, nil, "createdb")
  local url = ("postgresql://postgres@127.0.0.1:%d/%s"):format(port, db)
  local function set(k, v)
    env[k] = v
    order[#order + 1] = k
  end
  set("LODE_WAREHOUSE", url)
  set("PGHOST", "127.0.0.1")
  set("PGPORT", tostring(port))
  set("PGUSER", "postgres")
  set("PGDATABASE", db)
  set("LODE_DEV_PGDATA", pgdir .. "/data")
  set("LODE_DEV_PG_BIN", bin)
end

-- The s3rver version the dev stack runs (tests/package.json pins the same).
M.S3RVER_VERSION = "3.7.1"

-- <prefix>/share/lode of an installed lode (its Lua library is share/lode/lua)
local function share_dir()
  local lib = LODE_STDLIB and LODE_STDLIB:gsub("/+$", "")
  return lib and lib:match("^(.*)/lua$")
end

-- Install s3rver with npm under dir (an installed lode's per-user cache),
-- once; a clear error when npm is missing or the install fails.
local function npm_install_s3rver(dir)
  if proc.run({ "sh", "-c", "command -v npm" }).status ~= 0 then
    fail(("s3rver (the local S3 of `lode dev up --s3 s3rver`) is not installed, and npm is not on PATH to "
      .. "install it: install Node.js and npm, then run `lode dev up` again (it runs npm install s3rver@%s "
      .. "into %s), or set LODE_S3RVER to an s3rver's bin/s3rver.js"):format(M.S3RVER_VERSION, dir), "no_npm")
  end
  fs.mkdir(dir, true)
  core.log("info", ("lode dev: installing s3rver@%s with npm into %s (once)"):format(M.S3RVER_VERSION, dir))
  local r = proc.run({ "npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", dir,
    "s3rver@" .. M.S3RVER_VERSION }, { timeout = 600000 })
  if r.status ~= 0 then
    fail(("npm install s3rver@%s into %s failed (exit %d): %s"):format(M.S3RVER_VERSION, dir, r.status,
      (r.stderr .. r.stdout):sub(1, 1500)), "no_s3rver")
  end
end

-- s3rver's argv prefix: LODE_S3RVER; the source tree's (tests/node_modules,
-- from `make deps`, through tests/tools/s3rver.js); an installed lode's
-- (share/lode/dev: the same wrapper, with the node packages `make install`
-- copied, or else installed with npm on first use into the user's cache).
local function find_s3rver()
  local env = os.getenv("LODE_S3RVER")
  if env and fs.stat(env) then
    return { env }
  end
  local root = os.getenv("LODE_ROOT") or (LODE_STDLIB and LODE_STDLIB:gsub("/stdlib$", ""))
  -- tests/tools/s3rver.js is s3rver answering suffix ranges (bytes=-N) as S3 does
  if root and fs.stat(root .. "/tests/node_modules/s3rver/bin/s3rver.js") then
    local wrapped = root .. "/tests/tools/s3rver.js"
    return { fs.stat(wrapped) and wrapped or (root .. "/tests/node_modules/s3rver/bin/s3rver.js") }
  end
  local share = share_dir()
  local wrapper = share and share .. "/dev/s3rver.js"
  if wrapper and fs.stat(wrapper) then
    local base = share .. "/dev/node_modules/s3rver"
    if not fs.stat(base .. "/bin/s3rver.js") then
      local cache = (os.getenv("XDG_CACHE_HOME") or ((os.getenv("HOME") or "/tmp") .. "/.cache"))
        .. "/lode/s3rver-" .. M.S3RVER_VERSION
      base = cache .. "/node_modules/s3rver"
      if not fs.stat(base .. "/bin/s3rver.js") then
        npm_install_s3rver(cache)
      end
    end
    return { "env", "LODE_S3RVER_BASE=" .. base, "node", wrapper }
  end
  fail("s3rver not found: run `make deps` (it installs it under tests/node_modules) or set LODE_S3RVER", "no_s3rver")
end

-- moto_server's argv: LODE_MOTO_SERVER, moto_server on PATH, python3 -m moto.server, or
-- the venv `make deps` makes
local function find_moto()
  local env = os.getenv("LODE_MOTO_SERVER")
  if env and env ~= "" then
    return { env }
  end
  local r = proc.run({ "sh", "-c", "command -v moto_server" })
  if r.status == 0 and r.stdout:match("%S") then
    return { (r.stdout:gsub("%s+$", "")) }
  end
  if proc.run({ "python3", "-c", "import moto.server" }).status == 0 then
    return { "python3", "-m", "moto.server" }
  end
  local root = os.getenv("LODE_ROOT") or (LODE_STDLIB and LODE_STDLIB:gsub("/stdlib$", ""))
  if root and fs.stat(root .. "/tests/.venv-moto/bin/moto_server") then   -- where `make deps` puts it
    return { root .. "/tests/.venv-moto/bin/moto_server" }
  end
  fail("moto not found: run `make deps` (it runs pip install 'moto[server]') or set LODE_MOTO_SERVER", "no_moto")
end

local function alive(pid)
  if not proc.kill(pid, 0) then
    return false
  end
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  local stat = f and f:read("a") or ""
  if f then
    f:close()
  end
  return not stat:match("^%d+ %b() Z")   -- a zombie has exited
end

-- Readiness: wait until the server at url answers (curl with `flags`) or
-- its process exits. No fixed budget, so a loaded machine only waits
-- longer; the 10-minute guard is only against a server that neither
-- listens nor exits.
local READY_GUARD_MS = 600000
local function wait_ready(pid, url, flags, what, log)
  local guard = core.now() + READY_GUARD_MS
  while true do
    local argv = { "curl", "-s", "-o", "/dev/null", "--max-time", "60" }
    for _, a in ipairs(flags) do
      argv[#argv + 1] = a
    end
    argv[#argv + 1] = url
    if proc.run(argv).status == 0 then
      return
    end
    if not alive(pid) then
      fail(what .. " exited before it answered; see " .. log)
    end
    if core.now() > guard then
      fail(what .. " neither answered nor exited in 10 minutes; see " .. log)
    end
    core.sleep(100)   -- no readiness event from another process: poll it (and its exit)
  end
end

-- moto_server on a free loopback port. With auth = N, moto checks IAM
-- (SigV4 signatures and policies) after its first N requests
-- (INITIAL_NO_AUTH_ACTION_COUNT), which a test spends creating a user and key.
local function start_moto(dir, env, order, opts)
  local function set(k, v)
    env[k] = v
    order[#order + 1] = k
  end
  local port = proc.free_port()
  local argv = { "env" }
  if opts.aws_auth then
    argv[#argv + 1] = "INITIAL_NO_AUTH_ACTION_COUNT=" .. math.tointeger(opts.aws_auth)
  end
  for _, a in ipairs(find_moto()) do
    argv[#argv + 1] = a
  end
  for _, a in ipairs({ "-H", "127.0.0.1", "-p", tostring(port) }) do
    argv[#argv + 1] = a
  end
  local pid = proc.daemon(argv, { log = dir .. "/moto.log" })
  local pf = assert(io.open(dir .. "/moto.pid", "w"))
  pf:write(pid, "\n")
  pf:close()
  -- readiness: moto's own API answers without counting as an AWS request
  local url = ("http://127.0.0.1:%d"):format(port)
  wait_ready(pid, url .. "/moto-api/", { "-f" }, "moto_server", dir .. "/moto.log")
  set("AWS_ENDPOINT_URL", url)
  set("LODE_DEV_MOTO_PID", tostring(pid))
end

local function start_s3(dir, env, order, opts)
  local function set(k, v)
    env[k] = v
    order[#order + 1] = k
  end
  local s3dir = dir .. "/s3"
  fs.mkdir(s3dir, true)
  -- with moto as the local AWS, another local S3 is S3's own endpoint
  local s3_endpoint = opts.aws == "moto" and "AWS_ENDPOINT_URL_S3" or "AWS_ENDPOINT_URL"
  if opts.s3 == "moto" then
    -- moto serves S3 at AWS_ENDPOINT_URL
  elseif opts.s3 == "file" then
    set(s3_endpoint, "file://" .. s3dir)
  else
    local port = proc.free_port()
    local argv = find_s3rver()
    if argv[1] ~= "env" then
      table.insert(argv, 1, "node")
    end
    -- --openssl-legacy-provider: s3rver makes ListObjectsV2 continuation tokens with DES (OpenSSL 3 legacy)
    table.insert(argv, #argv, "--openssl-legacy-provider")
    for _, a in ipairs({ "-d", s3dir, "-a", "127.0.0.1", "-p", tostring(port), "--silent" }) do
      argv[#argv + 1] = a
    end
    local pid = proc.daemon(argv, { log = dir .. "/s3rver.log" })
    local pf = assert(io.open(dir .. "/s3rver.pid", "w"))
    pf:write(pid, "\n")
    pf:close()
    wait_ready(pid, ("http://127.0.0.1:%d/"):format(port), {}, "s3rver", dir .. "/s3rver.log")
    set(s3_endpoint, ("http://127.0.0.1:%d"):format(port))
    set("LODE_DEV_S3RVER_PID", tostring(pid))
  end
  local key = opts.aws == "moto" and "testing" or "S3RVER"
  set("AWS_ACCESS_KEY_ID", key)
  set("AWS_SECRET_ACCESS_KEY", key)
  set("AWS_REGION", "us-east-1")
  set("AWS_DEFAULT_REGION", "us-east-1")
  local cfg = assert(io.open(dir .. "/aws-config", "w"))
  cfg:write("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n")
  cfg:close()
  assert(io.open(dir .. "/aws-credentials", "w")):close()
  set("AWS_CONFIG_FILE", dir .. "/aws-config")
  set("AWS_SHARED_CREDENTIALS_FILE", dir .. "/aws-credentials")
  set("AWS_PAGER", "")
end

--- dev.up{dir=, pg=true, s3="file"|"s3rver"|false, aws="moto"|nil, aws_auth=N, database=} -> env, order
--- Starts what is asked in dir (created), records the environment in dir/env.
--- With aws = "moto", AWS_ENDPOINT_URL is moto's, and S3 is moto's too unless
--- s3 is given (then AWS_ENDPOINT_URL_S3 points at that S3).
function M.up(opts)
  opts = opts or {}
  local dir = abspath(opts.dir or ".lode/dev")
  local env, order = read_env(dir)
  if env and (not env.PGPORT or pg_running(dir)) then
    return env, order, dir, true
  end
  if env then
    M.down({ dir = dir })
  end
  fs.mkdir(dir, true)
  proc.run({ "chmod", "755", dir })
  env, order = {}, {}
  local ok, err = pcall(function()
    if opts.pg ~= false then
      start_pg(dir, env, order, opts)
    end
    if opts.aws == "moto" then
      start_moto(dir, env, order, opts)
    elseif opts.aws ~= nil and opts.aws ~= false and opts.aws ~= "none" then
      fail(("unknown local AWS '%s' (use moto)"):format(tostring(opts.aws)), "usage")
    end
    if opts.s3 ~= false or opts.aws == "moto" then
      local s3 = opts.s3 or (opts.aws == "moto" and "moto" or "file")
      start_s3(dir, env, order, { s3 = s3 ~= false and s3 or "moto", aws = opts.aws })
    end
  end)
  write_env(dir, env, order)
  if not ok then
    M.down({ dir = dir })
    error(err, 0)
  end
  return env, order, dir, false
end

--- dev.env{dir=} -> env, order of a running stack, or nil
function M.env(opts)
  return read_env(abspath((opts or {}).dir or ".lode/dev"))
end

--- Stop a process: SIGTERM, wait up to 5 s for it to exit, then SIGKILL and
--- wait for that exit too.
function M.stop_process(pid)
  proc.kill(pid, 15)
  local deadline = core.now() + 5000
  while alive(pid) and core.now() < deadline do
    core.sleep(20)   -- no pidfd in libuv: poll the exit, bounded
  end
  if alive(pid) then
    proc.kill(pid, 9)
    -- SIGKILL is delivered at once but the exit is not: wait for it, so
    -- `lode dev down` returns with the process gone (bounded: a process in
    -- uninterruptible sleep may outlive it)
    deadline = core.now() + 5000
    while alive(pid) and core.now() < deadline do
      core.sleep(20)
    end
  end
end

--- dev.down{dir=, keep=false}: stop what up started and remove dir
function M.down(opts)
  opts = opts or {}
  local dir = abspath(opts.dir or ".lode/dev")
  local env = read_env(dir) or {}
  for _, name in ipairs({ "s3rver.pid", "moto.pid" }) do
    local pidf = io.open(dir .. "/" .. name, "r")
    if pidf then
      local pid = tonumber(pidf:read("l"))
      pidf:close()
      if pid then
        M.stop_process(pid)
      end
    end
  end
  if pg_running(dir) then
    local bin = env.LODE_DEV_PG_BIN or pg_bindir()
    local argv = { bin .. "/pg_ctl", "-D", dir .. "/pg/data", "-m", "immediate", "-w", "stop" }
    if is_root() then
      table.insert(argv, 1, "--")
      table.insert(argv, 1, "postgres")
      table.insert(argv, 1, "-u")
      table.insert(argv, 1, "runuser")
    end
    proc.run(argv)
  end
  if not opts.keep then
    fs.rmtree(dir)
  end
end

--- Shell lines that export the environment.
function M.exports(env, order)
  local out = {}
  for _, k in ipairs(order) do
    out[#out + 1] = ("export %s=%s"):format(k, shell_quote(env[k]))
  end
  return table.concat(out, "\n") .. "\n"
end

return M

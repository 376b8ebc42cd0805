-- No AWS secret reaches PostgreSQL's server log (issue #14 item 4): with
-- log_statement = 'all', a Spectrum query run through `lode sql` leaves none
-- of the secret key's or session token's bytes in the log, and the env file
-- the scan programs read is mode 0600, owned by the server's user.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local s3 = require "lode.s3"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
local root = os.getenv("LODE_ROOT") or "."
local bin = os.getenv("LODE_BIN") or (root .. "/build/lode")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

t.test("log_statement = 'all': a Spectrum query's server log holds no secret; the env file is 0600", { timeout = 120000 }, function()
  local wh = lode.warehouse({ url = url, pool = 1 })
  if not wh:query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[1].rolsuper then
    t.skip("needs a superuser to turn on log_statement")
  end
  -- (s3rver checks the access key id, never the signature: any secret works)
  -- the server's log: the collector's file, else pg_ctl's -l file next to the data dir
  local logfile = wh:query("SELECT pg_current_logfile() AS f")[1].f
  local datadir = wh:query("SELECT current_setting('data_directory') AS d")[1].d
  if logfile == lode.null then
    logfile = datadir .. "/../pg.log"
  elseif logfile:sub(1, 1) ~= "/" then
    logfile = datadir .. "/" .. logfile
  end
  t.ok(io.open(logfile, "rb"), "the server log is readable: " .. logfile)

  local bucket = "secretlog-" .. math.random(1, 1e9)
  t.eq(proc.run({ "aws", "s3", "mb", "s3://" .. bucket }).status, 0)
  local dir = t.tmpdir()
  local r = proc.run({ "node", root .. "/tests/tools/duckdb.js", ("COPY (SELECT i AS id FROM range(1, 101) t(i)) TO '%s' "
    .. "(FORMAT parquet)"):format(dir .. "/p.parquet") }, { timeout = 60000 })
  t.eq(r.status, 0, r.stdout .. r.stderr)
  s3.upload(dir .. "/p.parquet", ("s3://%s/ids/part-0.parquet"):format(bucket))

  local secret = ("SeCrEt%09dKey/+x"):format(math.random(1, 1e9))
  local token = ("ToKeN%09dSession"):format(math.random(1, 1e9))
  local marker = ("secret_marker_%d"):format(math.random(1, 1e9))
  local script = dir .. "/spectrum.sql"
  local f = assert(io.open(script, "wb"))
  f:write(([[
CREATE EXTERNAL SCHEMA IF NOT EXISTS secretlog FROM DATA CATALOG DATABASE 'secretlog'
IAM_ROLE 'arn:aws:iam::123456789012:role/R' CREATE EXTERNAL DATABASE IF NOT EXISTS;
DROP TABLE IF EXISTS secretlog.ids;
CREATE EXTERNAL TABLE secretlog.ids (id BIGINT) STORED AS PARQUET LOCATION 's3://%s/ids/';
DROP TABLE IF EXISTS %s;
CREATE TABLE %s AS SELECT count(*) AS n, sum(id) AS s FROM secretlog.ids;
]]):format(bucket, marker, marker))
  f:close()

  wh:exec("ALTER SYSTEM SET log_statement = 'all'")
  wh:query("SELECT pg_reload_conf()")
  local restore <close> = setmetatable({}, { __close = function()
    pcall(wh.exec, wh, "ALTER SYSTEM RESET log_statement")
    pcall(wh.query, wh, "SELECT pg_reload_conf()")
  end })
  local before = #read(logfile)
  r = proc.run({ bin, "--log-level", "warn", "sql", "--quiet", script }, { env = {
    LODE_WAREHOUSE = url, AWS_SECRET_ACCESS_KEY = secret,
    AWS_SESSION_TOKEN = token } , timeout = 100000 })
  t.eq(r.status, 0, r.stderr)
  local row = wh:query("SELECT n, s FROM " .. marker)[1]
  t.eq(row.n, 100)
  t.eq(tostring(row.s), "5050")
  local log = read(logfile):sub(before + 1)
  -- the run's statements were logged (log_statement was in effect) ...
  t.contains(log, "CREATE TABLE " .. marker, "the script's statements are in the server log")
  -- ... and no secret is among them
  t.ok(not log:find(secret, 1, true), "the secret access key is not in the server log")
  t.ok(not log:find(token, 1, true), "the session token is not in the server log")
  t.ok(not log:find(secret:sub(1, 16), 1, true), "no prefix of the secret either")

  local env_file = datadir .. "/lode_spectrum_aws.env"
  local st = proc.run({ "stat", "-c", "%a %U", env_file, datadir })
  t.eq(st.status, 0, st.stderr)
  local mode, owner, _, dir_owner = st.stdout:match("^(%d+) (%S+)\n(%d+) (%S+)")
  t.eq(mode, "600", "the env file's mode")
  t.eq(owner, dir_owner, "the env file belongs to the server's user")
  wh:exec("DROP TABLE " .. marker)
end)

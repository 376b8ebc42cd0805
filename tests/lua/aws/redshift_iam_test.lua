-- Redshift IAM login without a user (GetClusterCredentialsWithIAM) and on
-- Serverless (redshift-serverless GetCredentials), the two APIs moto lacks:
-- tests/lua/aws/redshift_fake.py speaks them on loopback (Query and JSON
-- 1.1), the local PostgreSQL (trust on loopback) has the user it hands out.
-- Checked: the request lode sends (operation, parameters, signing scope),
-- that lode connects as the returned user, one fetch per new connection,
-- and that the password never reaches stdout, stderr or errors.
local t = require "lode.test"
local proc = require "lode.proc"
local json = require "lode.json"
local sql = require "lode.sql"
local lode = require "lode"

local root = t.env("LODE_ROOT", "tests/run.sh sets it")
local lode_bin = t.env("LODE_BIN", "tests/run.sh sets it")
local pgurl = t.env("LODE_TEST_PG_URL")
local ROLE = "IAMR:lode_iam_" .. math.random(1, 1e6)

local r = proc.run({ "/usr/bin/python3", root .. "/tests/lua/aws/redshift_fake.py", ROLE, "300" })
assert(r.status == 0, r.stderr)
local port, pid = r.stdout:match("(%d+) (%d+)")
local base = "http://127.0.0.1:" .. port

local admin = lode.warehouse(pgurl)
admin:exec(("CREATE ROLE %s LOGIN"):format(sql.quoted(ROLE)))
local host, pgport, db = pgurl:match("^postgresql://[^@]*@([^:/]+):(%d+)/([^?]+)")

local function run(url)
  local path = t.tmpdir() .. "/iam.lua"
  local f = assert(io.open(path, "w"))
  f:write(([==[
    local lode, json = require "lode", require "lode.json"
    local wh = lode.warehouse { url = %q, dialect = "postgres", pool = 2 }
    local users, gate = {}, lode.future()
    lode.all({
      function() wh:with_conn(function(c) users[1] = c:query("select current_user as u")[1].u; gate:await() end) end,
      function() wh:with_conn(function(c) users[2] = c:query("select current_user as u")[1].u; gate:set(true) end) end,
    })
    local ok, e = pcall(wh.query, wh, "select * from no_such_table")
    print(json.encode({ users = users, err = tostring(e), url = wh.url }))
    wh:close()
  ]==]):format(url))
  f:close()
  local res = proc.run({ lode_bin, "run", path }, { timeout = 60000, env = {
    AWS_ENDPOINT_URL = base, AWS_ACCESS_KEY_ID = "AKIDIAMTEST", AWS_SECRET_ACCESS_KEY = "iam-test-secret",
    AWS_SESSION_TOKEN = false, AWS_PROFILE = false, AWS_DEFAULT_PROFILE = false, AWS_REGION = false,
    AWS_EC2_METADATA_DISABLED = "true" } })
  return res
end

local function stats()
  return json.decode(proc.run({ "/usr/bin/python3", "-c",
    "import urllib.request, sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())", base .. "/stats" }).stdout).calls
end

local function no_password(res, out, calls)
  for _, c in ipairs(calls) do
    t.eq((res.stdout .. res.stderr):find(c.password, 1, true), nil, "the password leaked")
  end
  t.contains(out.err, "no_such_table")
end

t.test("redshift:// without a user: GetClusterCredentialsWithIAM per new connection, connects as its DbUser", function()
  local res = run(("redshift://%s:%s/%s?iam=true&cluster_identifier=analytics&region=eu-west-1&sslmode=disable&duration_seconds=900")
    :format(host, pgport, db))
  t.eq(res.status, 0, res.stderr)
  local out = json.decode(res.stdout)
  t.eq(out.users, { ROLE, ROLE })
  local calls = stats()
  t.eq(#calls, 2)
  for _, c in ipairs(calls) do
    t.eq(c.op, "GetClusterCredentialsWithIAM")
    t.eq(c.scope_service, "redshift")
    t.eq(c.params.ClusterIdentifier, "analytics")
    t.eq(c.params.DbName, db)
    t.eq(c.params.DurationSeconds, "900")
    t.eq(c.params.DbUser, nil)
  end
  no_password(res, out, calls)
end)

t.test("redshift-serverless://: GetCredentials for the workgroup per new connection", function()
  local before = #stats()
  local res = run(("redshift-serverless://%s:%s/%s?iam=true&workgroup=etl&region=eu-west-1&sslmode=disable")
    :format(host, pgport, db))
  t.eq(res.status, 0, res.stderr)
  local out = json.decode(res.stdout)
  t.eq(out.users, { ROLE, ROLE })
  local calls = table.move(stats(), before + 1, before + 2, 1, {})
  t.eq(#stats() - before, 2)
  for _, c in ipairs(calls) do
    t.eq(c.op, "GetCredentials")
    t.eq(c.scope_service, "redshift-serverless")
    t.eq(c.params.workgroupName, "etl")
    t.eq(c.params.dbName, db)
  end
  no_password(res, out, calls)
end)

t.test("a cluster host names the cluster and region; redshift:// defaults to sslmode=verify-full", function()
  local iam = require "lode.warehouse_iam"
  local u = iam.parse("redshift://loader@analytics.abc123xyz.eu-west-1.redshift.amazonaws.com:5439/dev?iam=true&db_groups=a,b")
  t.eq(u.user, "loader")
  t.eq(u.params.db_groups, "a,b")
  local ci = iam.conninfo(u, "IAM:loader", "pw'x")
  t.contains(ci, "sslmode='verify-full'")
  t.contains(ci, [[password='pw\'x']])
  t.eq(ci:find("iam=", 1, true), nil)
  t.eq(ci:find("db_groups", 1, true), nil)
  local plain = iam.plain_url("redshift://u@h:5439/dev", iam.parse("redshift://u@h:5439/dev"))
  t.eq(plain, "postgresql://u@h:5439/dev?sslmode=verify-full")
  t.eq(iam.plain_url("redshift://u@h/dev?sslmode=require", iam.parse("redshift://u@h/dev?sslmode=require")),
       "postgresql://u@h/dev?sslmode=require")
end)

t.test("cleanup", function()
  admin:exec(("DROP ROLE %s"):format(sql.quoted(ROLE)))
  admin:close()
  t.ok(proc.kill(tonumber(pid)), "the fake was still running")
end)

-- lode.aws and lode.s3 against moto with IAM auth on: every request after
-- the bootstrap must carry a valid SigV4 signature of the access key created
-- in it, so a request lode signs wrongly fails. Expectations come from
-- botocore (the oracle) talking to the same moto.
local t = require "lode.test"
local proc = require "lode.proc"
local M = dofile((os.getenv("LODE_ROOT") or ".") .. "/tests/lua/aws/moto.lua")

local m = M.start_with_auth()

t.test("STS GetCallerIdentity is signed with the bootstrapped key (Query protocol)", M.HANG, function()
  local r = M.run_json(m, [==[
    local aws, json = require "lode.aws", require "lode.json"
    local id = aws.client("sts"):call("GetCallerIdentity")
    print(json.encode({ arn = id.Arn, rid = id.ResponseMetadata.RequestId, status = id.ResponseMetadata.HTTPStatusCode }))
  ]==])
  t.eq(r.arn, m.arn)
  t.eq(r.status, 200)
  t.ok(#r.rid > 0, "a request id")
end)

t.test("Glue CreateDatabase, GetDatabase, GetTables paginated (JSON 1.1) agree with botocore", M.HANG, function()
  local r = M.run_json(m, [==[
    local aws, json = require "lode.aws", require "lode.json"
    local glue = aws.client("glue")
    glue:call("CreateDatabase", { DatabaseInput = { Name = "lake", Description = "from lode" } })
    for i = 1, 5 do
      glue:call("CreateTable", { DatabaseName = "lake", TableInput = { Name = ("t%d"):format(i),
        StorageDescriptor = { Columns = { { Name = "id", Type = "bigint" } }, Location = "s3://b/t" .. i .. "/" } } })
    end
    local db = glue:call("GetDatabase", { Name = "lake" }).Database
    local names, token = {}, nil
    repeat     -- moto answers GetTables in one page; ListJobs below really pages
      local page = glue:call("GetTables", { DatabaseName = "lake", MaxResults = 2, NextToken = token })
      for _, tb in ipairs(page.TableList) do names[#names + 1] = tb.Name end
      token = page.NextToken
    until not token
    for i = 1, 5 do
      glue:call("CreateJob", { Name = "job" .. i, Role = "arn:aws:iam::123456789012:role/glue",
                               Command = { Name = "glueetl", ScriptLocation = "s3://b/job.py" } })
    end
    local jobs, pages = {}, 0
    repeat
      local page = glue:call("ListJobs", { MaxResults = 2, NextToken = token })
      pages = pages + 1
      for _, j in ipairs(page.JobNames) do jobs[#jobs + 1] = j end
      token = page.NextToken
    until not token
    print(json.encode({ db = db.Name, description = db.Description, names = names, jobs = jobs, pages = pages }))
  ]==])
  local oracle = M.botocore(m, [==[
glue = client("glue")
db = glue.get_database(Name="lake")["Database"]
names = [t["Name"] for p in glue.get_paginator("get_tables").paginate(DatabaseName="lake") for t in p["TableList"]]
jobs = [j for p in glue.get_paginator("list_jobs").paginate() for j in p["JobNames"]]
print(json.dumps({"db": db["Name"], "description": db["Description"], "names": names, "jobs": jobs}))
]==])
  t.eq(r.db, oracle.db)
  t.eq(r.description, "from lode")
  t.eq(r.description, oracle.description)
  table.sort(r.names)
  table.sort(oracle.names)
  t.eq(r.names, oracle.names)
  t.eq(#r.names, 5)
  t.eq(r.jobs, oracle.jobs)
  t.eq(#r.jobs, 5)
  t.eq(r.pages, 3)
end)

t.test("IAM (Query, global endpoint) creates what botocore lists, and lists what botocore created", M.HANG, function()
  M.botocore(m, [==[
client("iam").create_user(UserName="from-botocore", Path="/x/")
print("{}")
]==])
  local r = M.run_json(m, [==[
    local aws, json = require "lode.aws", require "lode.json"
    local iam = aws.client("iam")
    iam:call("CreateUser", { UserName = "from-lode", Tags = { { Key = "team", Value = "data" } } })
    local users = {}
    for _, u in ipairs(iam:call("ListUsers", { PathPrefix = "/x/" }).Users) do users[#users + 1] = u.UserName end
    local tags = iam:call("ListUserTags", { UserName = "from-lode" }).Tags
    print(json.encode({ users = users, tag = tags[1].Key .. "=" .. tags[1].Value, n = #tags }))
  ]==])
  t.eq(r.users, { "from-botocore" })
  t.eq(r.tag, "team=data")
  t.eq(r.n, 1)
  local oracle = M.botocore(m, [==[
u = client("iam").get_user(UserName="from-lode")["User"]
print(json.dumps({"name": u["UserName"], "tags": u.get("Tags", [])}))
]==])
  t.eq(oracle.name, "from-lode")
  t.eq(oracle.tags[1].Key, "team")
end)

local S3_SCRIPT = [==[
  local s3, json = require "lode.s3", require "lode.json"
  local B = "s3://lode-auth/"
  s3.create_bucket("lode-auth")
  local out = {}
  s3.put(B .. "small.txt", "hello moto")
  out.get = s3.get(B .. "small.txt")
  out.range = s3.get(B .. "small.txt", { range = { 6, 9 } })
  out.size = s3.head(B .. "small.txt").size
  -- multipart: 12 MiB in 5 MiB parts
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  for i = 0, 12 * 1024 - 1 do f:write(("%08d"):format(i), ("x"):rep(1015), "\n") end
  f:close()
  out.parts = s3.upload(path, B .. "big.bin", { part_size = 5 * 1048576 }).parts
  os.remove(path)
  s3.copy(B .. "small.txt", B .. "copy.txt")
  out.copy = s3.get(B .. "copy.txt")
  for i = 1, 3 do s3.put(B .. "del/" .. i, "x") end
  s3.delete({ B .. "del/1", B .. "del/2", B .. "del/3" })
  local keys = {}
  for _, o in ipairs(s3.list(B)) do keys[#keys + 1] = o.key .. "=" .. o.size end
  out.keys = keys
  print(json.encode(out))
]==]

t.test("every S3 call lode makes (flat keys) is accepted: put, get, ranged get, head, multipart, copy, batch delete, list", M.HANG, function()
  local r = M.run_json(m, S3_SCRIPT)
  t.eq(r.get, "hello moto")
  t.eq(r.range, "moto")
  t.eq(r.size, 10)
  t.eq(r.parts, 3)
  t.eq(r.copy, "hello moto")
  local oracle = M.botocore(m, [==[
s3 = client("s3")
objs = s3.list_objects_v2(Bucket="lode-auth")["Contents"]
body = s3.get_object(Bucket="lode-auth", Key="big.bin")["Body"].read()
print(json.dumps({"keys": [o["Key"] + "=" + str(o["Size"]) for o in objs], "big": len(body),
                  "line": body[1024 * 7000:1024 * 7001].decode()}))
]==])
  t.eq(r.keys, oracle.keys)
  t.eq(r.keys, { "big.bin=12582912", "copy.txt=10", "small.txt=10" })
  t.eq(oracle.big, 12582912)
  t.eq(oracle.line, ("%08d"):format(7000) .. ("x"):rep(1015) .. "\n")
end)

t.test("a wrong secret fails with SignatureDoesNotMatch, as a structured error, for Query, JSON and S3", M.HANG, function()
  local status, out, err = M.run(m, [==[
    local aws, s3, json = require "lode.aws", require "lode.s3", require "lode.json"
    local res = {}
    for _, c in ipairs({ { "sts", "GetCallerIdentity" }, { "glue", "GetDatabases" } }) do
      local ok, e = pcall(function() return aws.client(c[1]):call(c[2]) end)
      res[#res + 1] = { ok = ok, op = e.op, code = e.code, status = e.status, retryable = e.retryable, attempts = e.attempts }
    end
    local ok, e = pcall(s3.get, "s3://lode-auth/small.txt")
    res[#res + 1] = { ok = ok, op = e.op, code = e.code, status = e.status, retryable = e.retryable }
    print(json.encode(res))
  ]==], { AWS_SECRET_ACCESS_KEY = m.secret .. "x" })
  t.eq(status, 0, err)
  local r = require("lode.json").decode(out)
  t.eq(r[1].ok, false)
  t.eq(r[1].op, "sts.GetCallerIdentity")
  t.eq(r[1].code, "SignatureDoesNotMatch")
  t.eq(r[1].status, 403)
  t.eq(r[1].retryable, false)
  t.eq(r[1].attempts, 1)
  t.eq(r[2].op, "glue.GetDatabases")
  t.eq(r[2].code, "SignatureDoesNotMatch")
  t.eq(r[3].code, "SignatureDoesNotMatch")
  t.eq(r[3].status, 403)
end)

t.test("an unknown access key fails with InvalidClientTokenId; the secret never reaches the output", M.HANG, function()
  local status, out, err = M.run(m, [==[
    local aws = require "lode.aws"
    aws.client("sts"):call("GetCallerIdentity")
  ]==], { AWS_ACCESS_KEY_ID = "AKIAEXAMPLEUNKNOWN00", AWS_SECRET_ACCESS_KEY = "secret-that-must-not-leak" })
  t.ne(status, 0)
  t.contains(err, "InvalidClientTokenId")
  t.contains(err, "sts.GetCallerIdentity")
  t.eq((out .. err):find("secret-that-must-not-leak", 1, true), nil)
end)

-- The chain inside lode.aws: a role profile whose source_profile holds the
-- bootstrapped user's keys (the chain's own AssumeRole is signed and checked
-- by moto), and a credential_process handing out 3-second credentials.
local fs = require "lode.fs"
local role = M.botocore(m, [==[
r = client("iam").create_role(RoleName="loader", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))["Role"]
client("iam").put_role_policy(RoleName="loader", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
print(json.dumps({"arn": r["Arn"]}))
]==])

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function role_files(secret)
  local dir = m.dir .. "/role-" .. math.random(1, 1e9)
  fs.mkdir(dir)
  write(dir .. "/config", ("[profile loader]\nrole_arn = %s\nrole_session_name = lode-iam-test\n"
    .. "source_profile = base\nregion = us-east-1\n"):format(role.arn))
  write(dir .. "/credentials", ("[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n"):format(m.key, secret))
  return { AWS_CONFIG_FILE = dir .. "/config", AWS_SHARED_CREDENTIALS_FILE = dir .. "/credentials",
           AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false, AWS_PROFILE = "loader",
           AWS_EC2_METADATA_DISABLED = "true" }
end

t.test("lode.aws signs with the chain: a role profile (AssumeRole signed by the chain) is the caller, as botocore says", M.HANG, function()
  local env = role_files(m.secret)
  local r = M.run_json(m, [==[
    local aws, json = require "lode.aws", require "lode.json"
    local id = aws.client("sts"):call("GetCallerIdentity")
    local c = aws.credentials()
    print(json.encode({ arn = id.Arn, provider = c.provider, key = c.access_key_id }))
  ]==], env)
  local pr = proc.run({ "python3", "-c", [==[
import json, botocore.session
s = botocore.session.Session(profile="loader")
c = s.get_credentials()
sts = s.create_client("sts")
print(json.dumps({"arn": sts.get_caller_identity()["Arn"], "provider": c.method}))
]==] }, { env = { AWS_CONFIG_FILE = env.AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE = env.AWS_SHARED_CREDENTIALS_FILE,
                 AWS_ENDPOINT_URL = m.endpoint, AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false,
                 AWS_SESSION_TOKEN = false, AWS_PROFILE = false, AWS_DEFAULT_PROFILE = false,
                 AWS_EC2_METADATA_DISABLED = "true" } })
  t.eq(pr.status, 0, pr.stderr)
  local oracle = require("lode.json").decode(pr.stdout)
  t.eq(oracle.provider, "assume-role")
  t.eq(r.provider, oracle.provider)
  t.eq(r.arn, oracle.arn)
  t.contains(r.arn, ":assumed-role/loader/lode-iam-test")
  t.ne(r.key, m.key)
end)

t.test("the chain's own AssumeRole with a wrong source secret fails with SignatureDoesNotMatch", M.HANG, function()
  local status, out, err = M.run(m, [==[
    local aws, json = require "lode.aws", require "lode.json"
    local ok, e = pcall(function() return aws.client("sts"):call("GetCallerIdentity") end)
    print(json.encode({ ok = ok, op = e.op, code = e.code, message = e.message }))
  ]==], role_files(m.secret .. "x"))
  t.eq(status, 0, err)
  local r = require("lode.json").decode(out)
  t.eq(r.ok, false)
  t.eq(r.op, "sts.GetCallerIdentity")
  t.eq(r.code, "credentials")
  t.contains(r.message, "SignatureDoesNotMatch")
  t.contains(r.message, "assume-role")
  t.eq((out .. err):find(m.secret, 1, true), nil, "the secret leaked")
end)

-- credential_process credentials whose expiry is set against the refresh
-- windows, not against the machine's speed: a /bin/sh process that counts
-- its runs and answers keys expiring `lifetime` seconds after it ran.
local function process_profile(lifetime)
  local dir = m.dir .. "/proc-" .. math.random(1, 1e9)
  fs.mkdir(dir)
  write(dir .. "/creds.sh", ([==[
printf x >> '%s'
exp=$(date -u -d "@$(( $(date +%%s) + %d ))" +%%Y-%%m-%%dT%%H:%%M:%%SZ)
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "Expiration": "%%s"}\n' "$exp"
]==]):format(dir .. "/count", lifetime, m.key, m.secret))
  write(dir .. "/config", ("[profile proc]\ncredential_process = sh %s\n"):format(dir .. "/creds.sh"))
  local env = { AWS_CONFIG_FILE = dir .. "/config", AWS_SHARED_CREDENTIALS_FILE = dir .. "/none",
                AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false, AWS_PROFILE = "proc",
                AWS_EC2_METADATA_DISABLED = "true", LODE_TEST_COUNT = dir .. "/count" }
  local function fetched()
    local f = io.open(dir .. "/count")
    local n = f and #f:read("a") or 0
    if f then f:close() end
    return n
  end
  return env, fetched
end

-- Calls GetCallerIdentity until the process ran `until_fetches` times (or
-- `calls` times), then reads aws.credentials() (its own chain: one fetch more).
local CALLS_SCRIPT = [==[
  local aws, s3, json = require "lode.aws", require "lode.s3", require "lode.json"
  -- the S3 client and lode.aws share the default chain: these windows are its
  s3.configure { credential_refresh = { advisory = 3600, mandatory = 60 } }
  local sts = aws.client("sts")
  local function fetched()
    local f = io.open(os.getenv("LODE_TEST_COUNT"))
    local n = f and #f:read("a") or 0
    if f then f:close() end
    return n
  end
  local calls, failures = 0, {}
  while (UNTIL_FETCHES and fetched() < UNTIL_FETCHES) or (CALLS and calls < CALLS) do
    local ok, e = pcall(sts.call, sts, "GetCallerIdentity")
    calls = calls + 1
    if not ok then failures[#failures + 1] = tostring(e.message) end
  end
  print(json.encode({ calls = calls, failures = failures, provider = aws.credentials().provider }))
]==]

t.test("lode.aws refreshes credential_process keys inside the advisory window in the background, one fetch at a time", M.HANG, function()
  -- 30-minute keys with a 60-minute advisory and a 1-minute mandatory window:
  -- every key is due for a refresh on arrival but still usable, however slow
  -- the process is, so each call may start a refresh and none waits for one
  local env, fetched = process_profile(1800)
  local r = M.run_json(m, "local UNTIL_FETCHES, CALLS = 4, nil\n" .. CALLS_SCRIPT, env)
  t.eq(r.failures, {})
  t.eq(r.provider, "custom-process")
  -- the loop ran until the fourth fetch: refreshes happen, at most one per
  -- call (+1 for aws.credentials' own chain), never a storm
  t.ok(fetched() >= 4 and fetched() <= r.calls + 1, ("fetches: %d for %d calls"):format(fetched(), r.calls))
end)

t.test("lode.aws fetches credential_process keys inside the mandatory window before each call, once", M.HANG, function()
  -- 30-second keys with a 1-minute mandatory window: every key must be
  -- replaced before its next use, however fast or slow the machine
  local env, fetched = process_profile(30)
  local r = M.run_json(m, "local UNTIL_FETCHES, CALLS = nil, 5\n" .. CALLS_SCRIPT, env)
  t.eq(r.failures, {})
  t.eq(r.provider, "custom-process")
  t.eq(r.calls, 5)
  -- one fetch per call (+1 for aws.credentials' own chain): never a key in
  -- its mandatory window, never two fetches for one call
  t.eq(fetched(), r.calls + 1)
end)

-- Redshift IAM login: moto's Redshift API hands out DbUser/DbPassword
-- (GetClusterCredentials, signed with the chain's keys and verified by
-- moto); the local PostgreSQL trusts every user on loopback, so the test
-- creates the role moto names and checks lode connects as it.
t.test("redshift://...?iam=true connects as the fetched user; each new pool connection fetches; the password never shows", M.HANG, function()
  local pgurl = t.env("LODE_TEST_PG_URL")
  local cl = M.botocore(m, [==[
rs = client("redshift")
rs.create_cluster(ClusterIdentifier="lodecluster", NodeType="dc2.large", MasterUsername="admin",
                  MasterUserPassword="Password123", DBName="dev")
c = rs.get_cluster_credentials(DbUser="loader", ClusterIdentifier="lodecluster", DbName="dev", AutoCreate=True)
print(json.dumps({"user": c["DbUser"]}))
]==])
  local lode = require "lode"
  local admin = lode.warehouse(pgurl)
  local role = cl.user
  admin:exec(("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) THEN CREATE ROLE %s LOGIN; END IF; END $$")
    :format(require("lode.sql").literal(role), require("lode.sql").quoted(role)))
  admin:close()
  local host, port, db = pgurl:match("^postgresql://[^@]*@([^:/]+):(%d+)/([^?]+)")
  local url = ("redshift://loader@%s:%s/%s?iam=true&cluster_identifier=lodecluster&region=us-east-1"
    .. "&db_groups=loaders,readers&auto_create=true&sslmode=disable"):format(host, port, db)
  local status, out, err = M.run(m, ([==[
    local lode, json, sql = require "lode", require "lode.json", require "lode.sql"
    local iam = require "lode.warehouse_iam"
    local fetches, passwords, fetch = 0, {}, iam.fetch
    iam.fetch = function(u)           -- count the fetches (the test's own wrapper)
      local user, password = fetch(u)
      fetches = fetches + 1
      passwords[#passwords + 1] = password
      return user, password
    end
    local wh = lode.warehouse { url = %q, dialect = "postgres", pool = 2 }
    local users = {}
    local gate = lode.future()
    lode.all({
      function() wh:with_conn(function(c) users[1] = c:query("select current_user as u")[1].u; gate:await() end) end,
      function() wh:with_conn(function(c) users[2] = c:query("select current_user as u")[1].u; gate:set(true) end) end,
    })
    local ok, e = pcall(wh.query, wh, "select * from no_such_table")
    lode.log.info("connected", { url = wh.url, users = users })
    print(json.encode({ users = users, fetches = fetches, url = wh.url, err = tostring(e), passwords = passwords }))
    wh:close()
  ]==]):format(url))
  t.eq(status, 0, err)
  local r = require("lode.json").decode(out)
  t.eq(r.users, { role, role })
  t.eq(r.fetches, 2)
  t.contains(r.err, "no_such_table")
  for _, pw in ipairs(r.passwords) do
    t.ok(#pw >= 6, "a password was fetched")
    t.eq(err:find(pw, 1, true), nil, "password in stderr")
    t.eq(r.err:find(pw, 1, true), nil, "password in the error")
    t.eq(r.url:find(pw, 1, true), nil, "password in wh.url")
  end
end)

-- tests run in the order registered: this one last
t.test("moto stops with lode dev down", M.HANG, function()
  local pid = M.stop(m)
  -- gone, or a zombie waiting for this process to reap it
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  local stat = f and f:read("a") or ""
  if f then f:close() end
  t.ok(stat == "" or stat:match("^%d+ %b() Z") ~= nil, "moto_server still running: " .. stat)
end)

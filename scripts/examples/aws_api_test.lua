-- aws_api.lua against moto (started here with IAM auth on, so every call is
-- checked for a valid signature); the database it creates is read back with
-- botocore.
local t = require "lode.test"
-- from this file's folder, so the test runs from any folder
local here = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$") or "."
local M = dofile((os.getenv("LODE_ROOT") or (here .. "/../..")) .. "/tests/lua/aws/moto.lua")

local m
t.test("aws_api.lua calls STS and Glue; a second run finds the database it made", M.HANG, function()
  m = M.start_with_auth()
  local src = ("return dofile(%q)"):format(M.root .. "/scripts/examples/aws_api.lua")
  for run = 1, 2 do
    local status, _, err = M.run(m, src)
    t.eq(status, 0, err)
    t.contains(err, "running as " .. m.arn)
    t.contains(err, "glue databases: lake")
    t.contains(err, run == 1 and "created=true" or "created=false")
  end
  local oracle = M.botocore(m, [==[
db = client("glue").get_database(Name="lake")["Database"]
print(json.dumps({"name": db["Name"], "description": db["Description"]}))
]==])
  t.eq(oracle, { name = "lake", description = "created by lode's aws_api example" })
end)

-- `lode plan` changes nothing in AWS: a database the plan would create is
-- not created (botocore lists the catalog before and after each plan).
t.test("lode plan aws_api.lua: exit 0, and Glue is unchanged (a new database and the existing one)", M.HANG, function()
  m = m or M.start_with_auth()
  local proc = require "lode.proc"
  local function catalog()
    return M.botocore(m, [==[
print(json.dumps(sorted(d["Name"] for d in client("glue").get_databases()["DatabaseList"])))
]==])
  end
  local function plan(database)
    local before = catalog()
    local r = proc.run({ os.getenv("LODE_BIN") or require("lode.core").exepath() or "lode", "plan",
      M.root .. "/scripts/examples/aws_api.lua", "--param", "database=" .. database }, { env = {
      AWS_ENDPOINT_URL = m.endpoint, AWS_ENDPOINT_URL_S3 = false, AWS_ACCESS_KEY_ID = m.key,
      AWS_SECRET_ACCESS_KEY = m.secret, AWS_SESSION_TOKEN = false, AWS_REGION = "us-east-1", AWS_PROFILE = false,
      AWS_DEFAULT_PROFILE = false, AWS_CONFIG_FILE = m.dir .. "/stack/aws-config",
      AWS_SHARED_CREDENTIALS_FILE = m.dir .. "/stack/aws-credentials" } })
    t.eq(r.status, 0, r.stderr)
    t.contains(r.stderr, "CreateDatabase")
    t.eq(catalog(), before, "lode plan created nothing in Glue")
    return before
  end
  t.ok(not require("lode.json").encode(plan("planned_only")):find("planned_only", 1, true))
  plan("lake")
end)

t.test("moto stops", M.HANG, function()
  if m then
    local pid = M.stop(m)
    local f = io.open("/proc/" .. pid .. "/stat", "r")
    local stat = f and f:read("a") or ""
    if f then f:close() end
    t.ok(stat == "" or stat:match("^%d+ %b() Z") ~= nil, stat)
  end
end)

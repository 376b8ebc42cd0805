-- Region and endpoint resolution of lode.aws clients, compared with
-- botocore given the same environment and config file (the aws CLI's rules:
-- AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's [services]
-- section, the profile's endpoint_url, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS,
-- regional STS, partition-global IAM).
local t = require "lode.test"
local proc = require "lode.proc"
local json = require "lode.json"

local root = os.getenv("LODE_ROOT") or "."
local lode_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local dir = t.tmpdir()
-- every wait below is for a process's exit (botocore, lode): the per-test
-- timeout only guards against a hang, so a loaded machine is only slower
local HANG = { timeout = 1800000 }

-- Run argv with exactly this environment (plus PATH and HOME).
local function run_clean(argv, env)
  local a = { "env", "-i", "PATH=" .. os.getenv("PATH"), "HOME=" .. dir .. "/home" }
  for k, v in pairs(env) do a[#a + 1] = k .. "=" .. v end
  for _, x in ipairs(argv) do a[#a + 1] = x end
  local r = proc.run(a)
  assert(r.status == 0, table.concat(argv, " ") .. ": " .. r.stderr)
  return json.decode(r.stdout)
end

local function lode_endpoints(names, env)
  local path = dir .. "/endpoints.lua"
  local f = assert(io.open(path, "w"))
  f:write([==[
    local aws, json = require "lode.aws", require "lode.json"
    local out = {}
    for n in os.getenv("NAMES"):gmatch("[^,]+") do
      local ok, c = pcall(aws.client, n)
      out[n] = ok and (c:endpoint():gsub("/$", "")) or ("error:" .. c.code)
    end
    print(json.encode(out))
  ]==])
  f:close()
  local e = { NAMES = table.concat(names, ",") }
  for k, v in pairs(env) do e[k] = v end
  return run_clean({ lode_bin, "run", path }, e)
end

local function botocore_endpoints(names, env)
  local src = [==[
import json, sys, botocore.session, botocore.exceptions
out = {}
for n in sys.argv[1:]:
    try:
        c = botocore.session.get_session().create_client(n, aws_access_key_id="a", aws_secret_access_key="b")
        out[n] = c._endpoint.host.rstrip("/")
    except botocore.exceptions.NoRegionError:
        out[n] = "error:config"
print(json.dumps(out))
]==]
  local argv = { "python3", "-c", src }
  for _, n in ipairs(names) do argv[#argv + 1] = n end
  return run_clean(argv, env)
end

local function config(text)
  local p = dir .. "/config-" .. math.random(1, 1e9)
  local f = assert(io.open(p, "w"))
  f:write(text)
  f:close()
  return p
end

local ALL = { "glue", "sts", "iam", "redshift", "redshift-data", "redshift-serverless", "athena", "logs",
              "cloudwatch", "sqs", "sns" }
local SERVICES_CONF = [==[
[default]
region = us-west-2
services = dev
endpoint_url = http://profile.local:1

[services dev]
glue =
  endpoint_url = http://svc-glue.local:2
logs =
  endpoint_url = http://svc-logs.local:3
]==]

local cases = {
  { "AWS's endpoints by region (regional STS, global IAM)", ALL, { AWS_DEFAULT_REGION = "eu-west-1" } },
  { "the China partition", { "glue", "iam", "sts" }, { AWS_DEFAULT_REGION = "cn-north-1" } },
  { "GovCloud", { "glue", "iam", "sts" }, { AWS_DEFAULT_REGION = "us-gov-west-1" } },
  { "AWS_ENDPOINT_URL_<SERVICE> before AWS_ENDPOINT_URL", { "glue", "redshift-data", "sts", "logs" },
    { AWS_DEFAULT_REGION = "eu-west-1", AWS_ENDPOINT_URL = "http://127.0.0.1:9/global",
      AWS_ENDPOINT_URL_GLUE = "http://glue.local:1", AWS_ENDPOINT_URL_REDSHIFT_DATA = "http://rd.local:2",
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS = "http://logs.local:3" } },
  { "the profile's services section, then its endpoint_url", { "glue", "logs", "sts", "iam" },
    { AWS_CONFIG_FILE = config(SERVICES_CONF) } },
  { "AWS_ENDPOINT_URL before the config file", { "glue", "logs", "sts" },
    { AWS_CONFIG_FILE = config(SERVICES_CONF), AWS_ENDPOINT_URL = "http://env.local:4" } },
  { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", { "glue", "logs", "sts" },
    { AWS_CONFIG_FILE = config(SERVICES_CONF), AWS_ENDPOINT_URL = "http://env.local:4",
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" } },
  { "AWS_PROFILE selects the profile's region", { "glue", "athena" },
    { AWS_CONFIG_FILE = config("[default]\nregion = us-west-2\n[profile p2]\nregion = ap-south-1\n"), AWS_PROFILE = "p2" } },
  { "AWS_DEFAULT_PROFILE before AWS_PROFILE (botocore's profile setting)", { "glue", "athena", "sts" },
    { AWS_CONFIG_FILE = config("[default]\nregion = us-west-2\n[profile p2]\nregion = ap-south-1\n"
                               .. "[profile p3]\nregion = eu-north-1\n"),
      AWS_DEFAULT_PROFILE = "p3", AWS_PROFILE = "p2" } },
  { "no region: regional services refuse, IAM does not", { "glue", "sts", "iam" }, {} },
}

for _, c in ipairs(cases) do
  t.test(c[1] .. " (as botocore)", HANG, function()
    t.eq(lode_endpoints(c[2], c[3]), botocore_endpoints(c[2], c[3]))
  end)
end

t.test("AWS_REGION wins over AWS_DEFAULT_REGION (aws CLI v2); IAM signs for the partition's region", HANG, function()
  local path = dir .. "/regions.lua"
  local f = assert(io.open(path, "w"))
  f:write([==[
    local aws, json = require "lode.aws", require "lode.json"
    print(json.encode({ glue = aws.client("glue"):region(), iam = aws.client("iam"):region(),
                        opt = aws.client("glue", { region = "sa-east-1" }):endpoint() }))
  ]==])
  f:close()
  local r = run_clean({ lode_bin, "run", path }, { AWS_REGION = "eu-central-1", AWS_DEFAULT_REGION = "eu-west-1" })
  t.eq(r, { glue = "eu-central-1", iam = "us-east-1", opt = "https://glue.sa-east-1.amazonaws.com" })
end)

t.test("a profile naming a missing services section is refused, as botocore does", HANG, function()
  local r = lode_endpoints({ "glue" }, { AWS_CONFIG_FILE = config("[default]\nregion = us-west-2\nservices = nope\n") })
  t.eq(r.glue, "error:config")
end)

t.test("unknown and REST services are refused with a structured error", HANG, function()
  local aws = require "lode.aws"
  local e = t.raises(function() aws.client("lambda") end)
  t.eq(e.code, "config")
  t.contains(e.message, "REST-JSON")
  e = t.raises(function() aws.client("nosuchservice") end)
  t.eq(e.code, "config")
  e = t.raises(function() aws.client("glue", { region = "eu-west-1/../x" }) end)
  t.eq(e.code, "config")
  e = t.raises(function() aws.client("glue", { regoin = "eu-west-1" }) end, "unknown option")
end)

t.test("no credentials: a structured error naming the profile, before any request", HANG, function()
  local path = dir .. "/nocreds.lua"
  local f = assert(io.open(path, "w"))
  f:write([==[
    local aws, json = require "lode.aws", require "lode.json"
    local ok, e = pcall(function()
      return aws.client("glue", { region = "eu-west-1", endpoint_url = "http://127.0.0.1:1" }):call("GetDatabases")
    end)
    print(json.encode({ ok = ok, op = e.op, code = e.code, message = e.message, attempts = e.attempts or 0 }))
  ]==])
  f:close()
  local r = run_clean({ lode_bin, "run", path }, { AWS_PROFILE = "nightly" })
  t.eq(r.ok, false)
  t.eq(r.op, "glue.GetDatabases")
  t.eq(r.code, "credentials")
  t.contains(r.message, "profile 'nightly'")
  t.eq(r.attempts, 0)
end)

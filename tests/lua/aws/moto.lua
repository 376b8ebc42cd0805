-- Helpers for the tests against moto_server as the local AWS: start one with
-- IAM auth on (every request after the bootstrap must carry a valid SigV4
-- signature of the key created in it), run lode scripts against it in a
-- child process (credentials come from the environment), ask botocore.
local dev = require "lode.dev"
local proc = require "lode.proc"
local json = require "lode.json"
local fs = require "lode.fs"

local M = {}
-- the source tree this file is in (tests/lua/aws/), so its users run from any folder
local function source_root()
  local dir = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$") or "."
  if dir:sub(1, 1) ~= "/" then
    dir = (os.getenv("PWD") or ".") .. "/" .. dir
  end
  return dir .. "/../../.."
end
local root = os.getenv("LODE_ROOT") or source_root()
M.root = root

--- Start moto with auth on; returns {endpoint=, key=, secret=, arn=, dir=}.
function M.start_with_auth()
  local dir = fs.mkdtemp("lode-moto")
  proc.run({ "chmod", "755", dir })
  local env = dev.up({ dir = dir .. "/stack", pg = false, aws = "moto", aws_auth = 3 })
  local r = proc.run({ "python3", root .. "/tests/lua/aws/moto_bootstrap.py", env.AWS_ENDPOINT_URL })
  if r.status ~= 0 then
    dev.down({ dir = dir .. "/stack" })
    error("moto bootstrap failed: " .. r.stderr)
  end
  local k = json.decode(r.stdout)
  return { endpoint = env.AWS_ENDPOINT_URL, key = k.key, secret = k.secret, arn = k.arn, dir = dir,
           pid = tonumber(env.LODE_DEV_MOTO_PID) }
end

--- Stop moto (lode dev down) and remove its folder; returns moto's pid.
function M.stop(m)
  dev.down({ dir = m.dir .. "/stack" })
  fs.rmtree(m.dir)
  return m.pid
end

--- The per-test timeout of the tests using moto: only a guard against a
--- hang. Every wait in them is for a process's exit (lode, botocore, moto
--- answering), so a loaded machine only makes them slower.
M.HANG = { timeout = 1800000 }

--- Run `lode run` on the Lua source `src` with the AWS environment for m
--- (overrides in `env`); returns status, stdout, stderr.
function M.run(m, src, env)
  local path = m.dir .. "/script-" .. math.random(1, 1e9) .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(src)
  f:close()
  local e = {
    AWS_ENDPOINT_URL = m.endpoint, AWS_ENDPOINT_URL_S3 = false, AWS_ACCESS_KEY_ID = m.key,
    AWS_SECRET_ACCESS_KEY = m.secret, AWS_SESSION_TOKEN = false, AWS_REGION = "us-east-1", AWS_PROFILE = false, AWS_DEFAULT_PROFILE = false,
    AWS_CONFIG_FILE = m.dir .. "/stack/aws-config", AWS_SHARED_CREDENTIALS_FILE = m.dir .. "/stack/aws-credentials",
  }
  for k, v in pairs(env or {}) do e[k] = v end
  -- waits for the exit, however long a loaded machine takes (the test's timeout guards against a hang)
  local r = proc.run({ os.getenv("LODE_BIN") or require("lode.core").exepath() or "lode", "run", path }, { env = e })
  return r.status, r.stdout, r.stderr
end

--- Run `lode run` on src, which prints one JSON document; return it decoded.
function M.run_json(m, src, env)
  local status, out, err = M.run(m, src, env)
  assert(status == 0, ("lode run failed (%d): %s"):format(status, err))
  return json.decode(out)
end

--- Run the Python source `src` (botocore, the oracle) with `ep`, `key`,
--- `secret` defined; it prints one JSON document; return it decoded.
function M.botocore(m, src)
  local prelude = ([[
import json, botocore.session
ep, key, secret = %q, %q, %q
def client(name):
    return botocore.session.get_session().create_client(name, endpoint_url=ep, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret)
]]):format(m.endpoint, m.key, m.secret)
  local r = proc.run({ "python3", "-c", prelude .. src })
  assert(r.status == 0, "botocore: " .. r.stderr)
  return json.decode(r.stdout)
end

return M

-- The set-up the Spectrum tests over s3rver share (pseudo_test,
-- pseudo_drop_test, handling_test): their bucket, a PostgreSQL warehouse
-- with their external schema dropped, objects written through lode.s3, and
-- the aws CLI's listing as the oracle of what is there. Loaded with
-- dofile(...)(bucket, schema) -> { setup, write, listing }.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local json = require "lode.json"

return function(bucket, schema)
  local S3 = "s3://" .. bucket .. "/"
  local M = {}
  local env

  --- setup() -> { dir =, wh = }, once per test file
  function M.setup()
    if env then
      return env
    end
    t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
    local endpoint = t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
    local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", endpoint .. "/" .. bucket })
    t.ok(r.stdout == "200" or r.stdout == "409", "create bucket: " .. r.stdout)
    local wh = lode.warehouse({ url = os.getenv("LODE_TEST_PG_URL"), dialect = "postgres" })
    wh:exec("DROP SCHEMA IF EXISTS " .. schema .. " CASCADE")
    env = { dir = t.tmpdir(), wh = wh }
    return env
  end

  --- write(rel, bytes): the object s3://bucket/rel
  function M.write(rel, bytes)
    local path = env.dir .. "/" .. rel:gsub("/", "_")
    local f = assert(io.open(path, "wb"))
    f:write(bytes)
    f:close()
    require("lode.s3").upload(path, S3 .. rel)
  end

  --- listing(prefix) -> the aws CLI's listing: { ["s3://bucket/key"] = size }
  function M.listing(prefix)
    local r = proc.run({ "aws", "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", prefix, "--output", "json" })
    t.eq(r.status, 0, r.stderr)
    local out = {}
    for _, o in ipairs(json.decode(r.stdout).Contents or {}) do
      out[S3 .. o.Key] = math.tointeger(o.Size)
    end
    return out
  end

  return M
end

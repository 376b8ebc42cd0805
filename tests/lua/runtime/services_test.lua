-- The test harness's services start, answer and are reachable from lode.
local t = require "lode.test"
local proc = require "lode.proc"

t.test("PostgreSQL answers on loopback", function()
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local r = proc.run({ "psql", url, "-Atc", "select current_setting('server_version_num')::int / 10000" })
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "15\n")
end)

t.test("s3rver answers S3 requests (through the aws CLI)", function()
  t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
  local bucket = "services-test-" .. math.random(1, 1e9)
  local r = proc.run({ "aws", "s3", "mb", "s3://" .. bucket })
  t.eq(r.status, 0, r.stderr)
  r = proc.run({ "aws", "s3", "cp", "-", "s3://" .. bucket .. "/hello.txt" }, { stdin = "hi" })
  t.eq(r.status, 0, r.stderr)
  r = proc.run({ "aws", "s3", "cp", "s3://" .. bucket .. "/hello.txt", "-" })
  t.eq(r.stdout, "hi")
end)

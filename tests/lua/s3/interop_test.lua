-- Interop with the aws CLI (uploads and downloads both ways, listings agree),
-- S3 objects as random-access sources, and presigned URLs / header
-- signatures compared with botocore computing the same request at the same instant.
local t = require "lode.test"
local s3 = require "lode.s3"
local proc = require "lode.proc"

t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local bucket = "lode-interop-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)

local function sha(path) return proc.run({ "sha256sum", path }).stdout:match("^(%x+)") end
local function mkfile(path, mib)
  local r = proc.run({ "sh", "-c", ("head -c %d /dev/urandom > '%s'"):format(mib * 1048576, path) })
  assert(r.status == 0, r.stderr)
end

t.test("files lode uploads (single and multipart) download identical with aws s3 cp", { timeout = 120000 }, function()
  local dir = t.tmpdir()
  mkfile(dir .. "/small.bin", 1)
  mkfile(dir .. "/multi.bin", 20)
  t.eq(s3.upload(dir .. "/small.bin", B .. "lode/small.bin").parts, 1)
  t.eq(s3.upload(dir .. "/multi.bin", B .. "lode/multi part.bin", { part_size = 5 * 1048576 }).parts, 4)
  for _, n in ipairs({ "small.bin", "multi part.bin" }) do
    local r = proc.run({ "aws", "s3", "cp", B .. "lode/" .. n, dir .. "/cli-" .. n })
    t.eq(r.status, 0, r.stderr)
  end
  t.eq(sha(dir .. "/cli-small.bin"), sha(dir .. "/small.bin"))
  t.eq(sha(dir .. "/cli-multi part.bin"), sha(dir .. "/multi.bin"))
end)

t.test("files the aws CLI uploads read back identical through lode; listings agree", { timeout = 120000 }, function()
  local dir = t.tmpdir()
  mkfile(dir .. "/a.bin", 1)
  mkfile(dir .. "/b.bin", 12)        -- the CLI uploads this one in parts
  local r = proc.run({ "aws", "s3", "cp", dir .. "/a.bin", B .. "cli/x y+z=1.bin" })
  t.eq(r.status, 0, r.stderr)
  r = proc.run({ "aws", "s3", "cp", dir .. "/b.bin", B .. "cli/sub/ü.bin" })
  t.eq(r.status, 0, r.stderr)
  s3.download(B .. "cli/x y+z=1.bin", dir .. "/a.back")
  s3.download(B .. "cli/sub/ü.bin", dir .. "/b.back", { part_size = 5 * 1048576 })
  t.eq(sha(dir .. "/a.back"), sha(dir .. "/a.bin"))
  t.eq(sha(dir .. "/b.back"), sha(dir .. "/b.bin"))
  r = proc.run({ "aws", "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "cli/",
                 "--query", "Contents[].[Key,Size]", "--output", "text" })
  t.eq(r.status, 0, r.stderr)
  local cli = {}
  for k, size in r.stdout:gmatch("([^\t\n]+)\t(%d+)") do cli[#cli + 1] = k .. "=" .. size end
  local mine = {}
  for _, o in ipairs(s3.list(B .. "cli/")) do mine[#mine + 1] = o.key .. "=" .. o.size end
  t.eq(mine, cli)
end)

t.test("an S3 object is a random-access source (ranged GETs)", function()
  local data = {}
  for i = 0, 9999 do data[#data + 1] = ("%05d"):format(i) end
  data = table.concat(data)
  s3.put(B .. "src/data.txt", data)
  local r <close> = s3.open(B .. "src/data.txt")
  t.eq(r.size, #data)
  t.ok(#r.etag > 2)
  t.eq(r:read(0, 5), "00000")
  t.eq(r:read(5 * 1234, 10), "0123401235")
  t.eq(r:read(#data - 3, 100), "999", "short read at the end")
  t.eq(r:read(#data + 10, 5), "")
  t.eq(r.reads, 4)
  local err = t.raises(function() s3.open(B .. "src/missing") end)
  t.eq(err.status, 404)
  t.eq(err.code, "NoSuchKey")
end)

t.test("presigned URLs and header signatures match botocore for awkward keys", function()
  local py = [[
import sys, json, datetime
from unittest import mock
import botocore.session, botocore.auth, botocore.awsrequest
from botocore.credentials import Credentials
req = json.loads(sys.stdin.read())
creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", req.get("token"))
out = []
fixed = datetime.datetime(2024, 5, 17, 12, 34, 56)
with mock.patch("botocore.auth.datetime") as dt:
    dt.datetime.utcnow.return_value = fixed
    dt.datetime.now.return_value = fixed
    for key in req["keys"]:
        url = req["endpoint"] + "/" + req["bucket"] + "/" + botocore.auth.quote(key.encode(), safe="/~")
        r = botocore.awsrequest.AWSRequest(method="GET", url=url)
        botocore.auth.S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=900).add_auth(r)
        out.append(r.prepare().url)
        r = botocore.awsrequest.AWSRequest(method="GET", url=url, headers={})
        botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1").add_auth(r)
        out.append(r.headers["Authorization"])
print(json.dumps(out))
]]
  local keys = { "plain.txt", "with space.txt", "plus+sign", "equals=sign/k=v", "tilde~x", "ünï/cødé ✓",
                 "a//double/slash", "semi;colon:at@dollar$" }
  local endpoint = "http://127.0.0.1:9000"
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = ("%q"):format(k):gsub("\\\n", "\\n") end
  local input = ('{"endpoint":"%s","bucket":"bkt","keys":[%s]}'):format(endpoint,
    table.concat((function() local q = {} for i, k in ipairs(keys) do q[i] = '"' .. k:gsub('"', '\\"') .. '"' end return q end)(), ","))
  local r = proc.run({ "/usr/bin/python3", "-c", py }, { stdin = input })
  if r.status ~= 0 then t.skip("botocore unavailable: " .. r.stderr:sub(1, 200)) end
  local boto = {}
  for v in r.stdout:gmatch('"(.-)"[,%]]') do boto[#boto + 1] = v end
  t.eq(#boto, 2 * #keys)
  local now = 1715949296   -- 2024-05-17T12:34:56Z
  local ok, err = pcall(function()
    for i, k in ipairs(keys) do
      local mine = s3._sign_for_test("s3://bkt/" .. k, { endpoint = endpoint, now = now, expires = 900,
        access_key = "AKIDEXAMPLE", secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" })
      t.eq(mine.url, boto[2 * i - 1], "presigned URL for " .. k)
      t.eq(mine.authorization, boto[2 * i], "Authorization for " .. k)
    end
  end)
  if not ok then error(err, 0) end
end)

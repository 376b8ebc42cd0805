-- Helper run by refresh_test.lua under `env -i`: S3 requests against the fake
-- (tests/lua/aws/metadata_server.py) that rejects expired keys, with
-- container credentials that live LIFETIME seconds. Prints JSON results.
local lode = require "lode"
local s3 = require "lode.s3"
local http = require "lode.http"
local json = require "lode.json"

local base = lode.param("base")
local function stats()
  return json.decode(http.request { url = base .. "/stats" }.body)
end

s3.configure { max_attempts = 1, credential_refresh = { advisory = 2, mandatory = 1 } }

local function burst(n, tag)
  local fns, failures = {}, {}
  for i = 1, n do
    fns[i] = function()
      local ok, err = pcall(s3.put, ("s3://bucket/%s-%d"):format(tag, i), "x")
      if not ok then failures[#failures + 1] = tostring(err) end
    end
  end
  lode.all(fns)
  return failures
end

local out = {}
-- 1: 50 concurrent requests before any credentials: one fetch for all
out.first = burst(50, "first")
out.after_first = stats()
-- 2: wait until the credentials are inside the mandatory window (< 1 s
-- left of at most 4), then 50 concurrent requests: one refresh for all of them
lode.sleep(3100)
out.before_second = stats()
out.second = burst(50, "second")
out.after_second = stats()
-- 3: a load that outlives two more lifetimes, 10 requests at a time
local t0 = lode.now()
out.load = {}
local rounds = 0
while lode.now() - t0 < 7000 do
  for _, f in ipairs(burst(10, "load" .. rounds)) do out.load[#out.load + 1] = f end
  rounds = rounds + 1
  lode.sleep(100)
end
out.rounds = rounds
out.after_load = stats()
print(json.encode(out))

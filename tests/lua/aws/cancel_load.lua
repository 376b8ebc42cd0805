-- Helper run by cancel_test.lua under `env -i`: requests cancelled while they
-- wait for credentials (a container endpoint that answers after 1.5 s).
local lode = require "lode"
local s3 = require "lode.s3"
local http = require "lode.http"
local json = require "lode.json"
local awscreds = require "lode.awscreds"

local base = lode.param("base")
local function stats()
  return json.decode(http.request { url = base .. "/stats" }.body)
end
local out = {}
-- a lookup of its own chain, abandoned mid-fetch: its provider is freed then
local ok, err = pcall(lode.timeout, 200, awscreds.credentials)
out.lookup_timed_out = not ok and err.code == "timeout"
-- an S3 request abandoned while it waits: it is never called back; the
-- shared fetch goes on and the next request uses its result
ok, err = pcall(lode.timeout, 200, s3.put, "s3://bucket/cancelled", "x")
out.put_timed_out = not ok and err.code == "timeout"
out.after_cancel = stats()
out.put = s3.put("s3://bucket/after", "y") ~= nil
out.after_put = stats()
print(json.encode(out))

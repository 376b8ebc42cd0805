-- aws_api.lua against moto (started here with IAM auth on, so every call is
-- checked for a valid signature); the database it creates is read back with
-- botocore.
local t = require "lode.test"
local M = dofile((os.getenv("LODE_ROOT") or ".") .. "/tests/lua/aws/moto.lua")

local m
t.test("aws_api.lua calls STS and Glue; a second run finds the database it made", function()
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

t.test("moto stops", function()
  if m then
    local pid = M.stop(m)
    local f = io.open("/proc/" .. pid .. "/stat", "r")
    local stat = f and f:read("a") or ""
    if f then f:close() end
    t.ok(stat == "" or stat:match("^%d+ %b() Z") ~= nil, stat)
  end
end)

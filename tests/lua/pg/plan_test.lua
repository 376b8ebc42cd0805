-- `lode plan`: warehouse writes are printed (parameters shown, secrets
-- redacted) and not run; reads run.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"

local SCRIPT = [==[
local lode = require "lode"
local wh = lode.warehouse()
return lode.pipeline "plan_demo" {
  warehouse = wh,
  lode.task "t" { function()
    local r = wh:query("select 41 + 1 as answer")
    wh:exec("create table plan_demo_t (id int, note text)")
    wh:exec("insert into plan_demo_t values ($1, $2)", r[1].answer, "password=hunter2")
    wh:exec("COPY plan_demo_t FROM 's3://bucket/x' CREDENTIALS 'aws_access_key_id=AKIAX;aws_secret_access_key=SuperSecret' CSV")
    wh:transaction(function(tx) tx:exec("delete from plan_demo_t where id = $1", 7) end)
    local w = wh:copy_in("COPY plan_demo_t FROM STDIN")
    w:write("1\tx\n")
    w:finish()
  end },
}
]==]

t.test("lode plan prints statements with parameters, redacts secrets, writes nothing", function()
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local bin = t.env("LODE_BIN", "tests/run.sh sets it")
  local wh = lode.warehouse(url)
  wh:exec("drop table if exists plan_demo_t")
  local path = t.tmpdir() .. "/plan_demo.lua"
  local f = assert(io.open(path, "w"))
  f:write(SCRIPT)
  f:close()
  local pw = url:gsub("^postgresql://postgres@", "postgresql://postgres:TopSecretPw@")
  local r = proc.run({ bin, "plan", path }, { env = { LODE_WAREHOUSE = pw } })
  t.eq(r.status, 0, r.stderr)
  local out = r.stdout
  t.diag(out)
  t.contains(out, "-- task t: statements shown, not run (lode plan)\ncreate table plan_demo_t (id int, note text);")
  t.contains(out, "insert into plan_demo_t values ($1, $2);")
  t.contains(out, "$1 = 42, $2 = 'password=***'")
  t.contains(out, "CREDENTIALS '***'")
  t.contains(out, "BEGIN;")
  t.contains(out, "delete from plan_demo_t where id = $1;")
  t.contains(out, "$1 = 7")
  t.contains(out, "COMMIT;")
  t.contains(out, "COPY plan_demo_t FROM STDIN;")
  t.contains(out, "(4 bytes of COPY data not sent)")
  for _, secret in ipairs({ "hunter2", "SuperSecret", "TopSecretPw" }) do
    t.ok(not out:find(secret, 1, true), secret .. " is not in the plan output")
    t.ok(not r.stderr:find(secret, 1, true), secret .. " is not in the logs")
  end
  t.ok(not out:find("select 41", 1, true), "reads run instead of being printed")
  t.eq(wh:query("select to_regclass('plan_demo_t') is null as absent")[1].absent, true, "nothing was created")
  wh:close()
end)

t.test("is_read tells reads from writes", function()
  local is_read = lode.warehouse.is_read
  t.eq(is_read("select 1"), true)
  t.eq(is_read("  -- c\n/* x */ WITH a AS (select 1) select * from a"), true)
  t.eq(is_read("explain analyze delete from t"), false)
  t.eq(is_read("insert into t values (1)"), false)
  t.eq(is_read("COPY t FROM STDIN"), false)
end)

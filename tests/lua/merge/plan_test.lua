-- `lode plan` prints the exact statements of a merge, for both strategies,
-- and changes nothing.
local t = require "lode.test"
local lode = require "lode"
local merge = require "lode.merge"
local proc = require "lode.proc"

for _, strategy in ipairs { "delete_insert", "merge" } do
  t.test(("lode plan prints every statement of the merge and writes nothing (%s)"):format(strategy), function()
    local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
    local wh = lode.warehouse({ url = url })
    wh:exec("DROP TABLE IF EXISTS m_plan, m_plan_src")
    wh:exec("CREATE TABLE m_plan (id int PRIMARY KEY, amount int, ts int)")
    wh:exec("CREATE TABLE m_plan_src (id int, amount int, ts int, op text)")
    wh:exec("INSERT INTO m_plan VALUES (1, 1, 1)")
    wh:exec("INSERT INTO m_plan_src VALUES (1, 5, 2, 'U'), (2, 6, 2, 'U')")
    local dir = t.tmpdir()
    local f = assert(io.open(dir .. "/p.lua", "w"))
    f:write(([[
local lode = require "lode"
local merge = require "lode.merge"
local wh = lode.warehouse()
return lode.pipeline "p" {
  lode.task "upsert" { function()
    merge.upsert(wh, { target = "m_plan", query = "SELECT * FROM m_plan_src", strategy = %q,
                       dedupe = "latest", order_by = "ts", delete_when = "op = 'D'", source_only = { "op" } })
  end },
}
]]):format(strategy))
    f:close()
    local r = proc.run({ os.getenv("LODE_BIN") or "build/lode", "plan", dir .. "/p.lua" }, { env = { LODE_WAREHOUSE = url } })
    t.eq(r.status, 0, r.stderr)
    local oid = math.tointeger(tonumber(wh:query("SELECT 'm_plan'::regclass::oid::bigint AS oid")[1].oid))
    local expected = merge.statements({
      dialect = "postgres", unique_key = true, target_oid = oid, target = "m_plan", stage = merge.stage_name("m_plan"), columns = { "id", "amount", "ts" },
      source_columns = { "id", "amount", "ts" }, key = { "id" }, strategy = strategy, dedupe = "latest", order_by = "ts",
      delete_when = "op = 'D'", query = "SELECT * FROM m_plan_src",
    })
    local pos = r.stdout:find("BEGIN;", 1, true)
    t.ok(pos, "BEGIN is printed:\n" .. r.stdout)
    for _, step in ipairs(expected) do
      local at = r.stdout:find(step.sql .. ";\n", pos, true)
      t.ok(at, ("printed in order: %s\n--- plan output:\n%s"):format(step.sql, r.stdout))
      pos = at
    end
    t.ok(r.stdout:find("COMMIT;", pos, true), "COMMIT last")
    local rows = wh:query("SELECT id, amount, ts FROM m_plan ORDER BY id")
    t.eq({ #rows, rows[1].id, rows[1].amount, rows[1].ts }, { 1, 1, 1, 1 }, "the target is unchanged")
    wh:exec("DROP TABLE m_plan, m_plan_src")
    wh:close()
  end)
end

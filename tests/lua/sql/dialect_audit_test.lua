-- The audit of #19's dialect proof (tests/conformance/AUDIT.md): the examples
-- AWS's SQL reference prints that tests/lua/sql/dialect_test.lua did not yet
-- run, each against the inputs and results printed on its page (named above
-- each check), and the silent differences the audit found, each fixed here
-- with its regression check.
local t = require "lode.test"
local lode = require "lode"
local sqlrun = require "lode.sqlrun"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
-- a PostgreSQL warehouse standing in for Redshift: every wh:query text is Redshift SQL
local wh = lode.warehouse({ url = url, pool = 2, emulate = "redshift" })

local function value(q)
  local r = wh:query(q)
  return r[1] and r[1].v
end

-- the results of each statement of a Redshift script, in one session
local function results(script)
  local out = {}
  sqlrun.run(wh, script, { file = "audit.sql", on_result = function(_, res) out[#out + 1] = res end })
  return out
end

t.test("GETDATE is the start of the statement, SYSDATE of the transaction (r_GETDATE, r_SYSDATE)", function()
  -- r_GETDATE: "It returns the start date or time of the current statement, even when it is within a
  -- transaction block"; its example prints whole seconds (2008-12-04 16:10:43). r_SYSDATE: "SYSDATE
  -- returns the start date and time for the current transaction, not for the start of the current statement".
  -- The pause makes the second statement start in a later second than the transaction.
  local r = results([[
begin;
select getdate() as g0, sysdate as s0;
select pg_sleep(1.1);
select getdate() as g1, sysdate as s1, getdate() > sysdate as later, sysdate = transaction_timestamp()::timestamp as tx,
  getdate() = date_trunc('second', getdate()) as whole, pg_typeof(getdate())::text as gt, pg_typeof(sysdate)::text as st;
commit;
]])
  local a, b = r[2][1], r[4][1]
  t.eq(b.s1, a.s0, "SYSDATE stays the transaction's start")
  t.eq(b.later, true, "GETDATE() moved on with the statement: " .. tostring(a.g0) .. " / " .. tostring(b.g1))
  t.eq(b.tx, true)
  t.eq(b.whole, true)
  t.eq(b.gt, "timestamp without time zone")
  t.eq(b.st, "timestamp without time zone")
  -- the pages' TRUNC examples: the date without the time
  t.eq(value("select trunc(getdate()) = current_date as v"), true)
  t.eq(value("select pg_typeof(trunc(sysdate))::text as v"), "date")
  t.eq(value("select cast((trunc(sysdate)) as timestamp) = current_date::timestamp as v"), true)
end)

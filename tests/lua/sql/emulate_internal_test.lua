-- lode's own tables (the load ledger, cursors) keep their keys on a
-- warehouse opened with emulate = "redshift": the dialect treats a user's
-- PRIMARY KEY as Redshift does (informational, dropped), but lode's
-- statements are its own, not Redshift SQL. Oracle: PostgreSQL's catalog.
local t = require "lode.test"
local lode = require "lode"
local s3 = require "lode.s3"
local proc = require "lode.proc"

local pg_url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")

local function primary_key(w, rel)
  local r = w:query("SELECT string_agg(a.attname, ',' ORDER BY k.i) AS cols FROM pg_index x "
    .. "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, i) "
    .. "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
    .. "WHERE x.indrelid = $1::regclass AND x.indisprimary", rel)
  local cols = r[1].cols
  return cols ~= lode.null and cols or nil
end

t.test("emulate = 'redshift': the ledger and lode.cursors keep their primary keys; cursors store and update",
    { timeout = 180000 }, function()
  local db = ("emulate_internal_%d"):format(math.random(1, 1e9))
  local admin = lode.warehouse({ url = pg_url, dialect = "postgres", pool = 1 })
  admin:exec("CREATE DATABASE " .. db)
  local url = pg_url:gsub("/[^/]*$", "/" .. db)
  local ok, err = pcall(function()
    local rs = lode.warehouse({ url = url, dialect = "postgres", emulate = "redshift", pool = 2 })
    proc.run({ "aws", "s3", "mb", "s3://emulate-internal" })
    s3.put("s3://emulate-internal/in/a.csv", "1,one\n2,two\n")
    rs:exec("CREATE TABLE ei_target (id INT, name VARCHAR(20))")
    local r = lode.copy.into(rs, { table = "ei_target", from = "s3://emulate-internal/in/", format = "csv" })
    t.eq(r.rows, 2)
    -- a user's key is informational, as on Redshift …
    rs:exec("CREATE TABLE ei_user (id INT PRIMARY KEY)")
    t.eq(primary_key(rs, "ei_user"), nil, "a user's PRIMARY KEY is dropped (informational)")
    -- … lode's own are not
    t.eq(primary_key(rs, "lode.load_history"), "table_name,key,etag")
    local c = lode.cursor(rs, "ei", 0, { pipeline = "emulate_internal" })
    c:set(5)
    c:set(7)   -- the upsert needs the key: ON CONFLICT (pipeline, name)
    t.eq(primary_key(rs, "lode.cursors"), "pipeline,name")
    t.eq(c:get(), 7)
    t.eq(rs:query("SELECT count(*) AS n FROM lode.cursors")[1].n, 1)
    rs:close()
  end)
  admin:exec("DROP DATABASE IF EXISTS " .. db .. " WITH (FORCE)")
  admin:close()
  assert(ok, err)
end)

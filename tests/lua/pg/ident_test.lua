-- Hostile identifiers and values round-trip through create / insert / select
-- using lode.sql quoting.
local t = require "lode.test"
local lode = require "lode"
local sql = require "lode.sql"

local NAMES = {
  'a"b',
  "x; DROP TABLE t; --",
  "Mixed Case",
  "we.ird",
  "back\\slash",
  "café_日本語_😀",
  "select",
  ("n"):rep(63),
  ("long_"):rep(20),                -- 100 bytes: the server keeps 63
  ("é"):rep(40),                    -- 80 bytes: cut on a character boundary
  "'; drop table x; --",
}

t.test("hostile identifiers round-trip through create/insert/select", function()
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local wh = lode.warehouse(url)
  wh:exec("drop schema if exists " .. sql.ident("hostile schema\"") .. " cascade")
  wh:exec("create schema " .. sql.ident("hostile schema\""))
  for i, name in ipairs(NAMES) do
    local tbl = sql.qualified("hostile schema\"", name)
    local col = sql.ident(name)
    local value = name .. " ' \\ \" " .. i
    wh:exec(("create table %s (%s text, n int)"):format(tbl, col))
    wh:exec(("insert into %s (%s, n) values (%s, 1)"):format(tbl, col, sql.literal(value)))
    wh:exec(("insert into %s (%s, n) values ($1, 2)"):format(tbl, col), value)
    local r = wh:query(("select %s as v, n from %s order by n"):format(col, tbl))
    t.eq(#r, 2, name)
    t.eq(r[1].v, value, name)
    t.eq(r[2].v, value, name)
    local cat = wh:query([[select c.relname as rel, a.attname as att from pg_class c
      join pg_namespace s on s.oid = c.relnamespace join pg_attribute a on a.attrelid = c.oid and a.attnum = 1
      where s.nspname = $1 and c.relname = $2]], "hostile schema\"", sql.truncated_ident(name))
    t.eq(#cat, 1, "catalog has " .. name)
    t.eq(cat[1].att, sql.truncated_ident(name))
  end
  -- nothing was dropped by the injection attempts
  t.eq(wh:query([[select count(*)::int as n from pg_tables where schemaname = 'hostile schema"']])[1].n, #NAMES)
  wh:exec("drop schema " .. sql.ident("hostile schema\"") .. " cascade")
  wh:close()
end)

-- Materialized views: exact statements for both dialects, and the
-- create / refresh / drop cycle on PostgreSQL.
local t = require "lode.test"
local lode = require "lode"
local mv = require "lode.mv"

t.test("redshift: AUTO REFRESH and BACKUP, refused auto refresh over external tables", function()
  t.eq(mv.create_sql({ name = "marts.by_customer", query = "SELECT customer_id, SUM(amount) AS total FROM sales GROUP BY 1;",
    auto_refresh = true, backup = false }), {
    "CREATE MATERIALIZED VIEW marts.by_customer BACKUP NO AUTO REFRESH YES\nAS\n"
      .. "SELECT customer_id, SUM(amount) AS total FROM sales GROUP BY 1" })
  t.eq(mv.create_sql({ name = "marts.ext", query = "SELECT * FROM spectrum_schema.sales", auto_refresh = true,
    external = true, replace = true }), {
    "DROP MATERIALIZED VIEW IF EXISTS marts.ext",
    "CREATE MATERIALIZED VIEW marts.ext AUTO REFRESH NO\nAS\nSELECT * FROM spectrum_schema.sales" })
  t.eq(mv.refresh_sql('m."Weird ""v"'), 'REFRESH MATERIALIZED VIEW m."Weird ""v"')
  t.eq(mv.drop_sql("m.v"), "DROP MATERIALIZED VIEW IF EXISTS m.v")
  t.eq(mv.references("select * from spectrum_schema.sales s join public.\"X\" x on s.a = x.a"), {
    { schema = "spectrum_schema", name = "sales" }, { schema = "public", name = "X" },
    { schema = "s", name = "a" }, { schema = "x", name = "a" } })
  t.raises(function() mv.create_sql({ name = "v", query = "select 1; drop table x" }) end, "one statement")
end)

t.test("postgres: no Redshift options; IF NOT EXISTS unless replace", function()
  t.eq(mv.create_sql({ name = "v", query = "select 1", auto_refresh = true, backup = true }, "postgres"),
    { "CREATE MATERIALIZED VIEW IF NOT EXISTS v AS\nselect 1" })
end)

t.test("postgres: create, refresh shows new rows, drop", function()
  local wh = lode.warehouse({ url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL"), dialect = "postgres" })
  wh:exec("DROP SCHEMA IF EXISTS mv_t CASCADE")
  wh:exec("CREATE SCHEMA mv_t")
  wh:exec("CREATE TABLE mv_t.sales (customer_id int, amount numeric)")
  wh:exec("INSERT INTO mv_t.sales VALUES (1, 10), (1, 5), (2, 7)")
  local r = mv.create(wh, { name = "mv_t.by_customer", auto_refresh = true,
    query = "SELECT customer_id, SUM(amount) AS total FROM mv_t.sales GROUP BY 1" })
  t.eq(r.created, true)
  t.eq(mv.exists(wh, "mv_t.by_customer"), true)
  t.eq(mv.create(wh, { name = "mv_t.by_customer", query = "SELECT 1" }).created, true) -- IF NOT EXISTS: unchanged
  wh:exec("INSERT INTO mv_t.sales VALUES (2, 3)")
  t.eq(wh:query("SELECT total FROM mv_t.by_customer WHERE customer_id = 2")[1].total, "7")
  mv.refresh(wh, "mv_t.by_customer")
  t.eq(wh:query("SELECT total FROM mv_t.by_customer WHERE customer_id = 2")[1].total, "10")
  mv.drop(wh, "mv_t.by_customer")
  t.eq(mv.exists(wh, "mv_t.by_customer"), false)
  mv.drop(wh, "mv_t.by_customer")
  wh:exec("DROP SCHEMA mv_t CASCADE")
end)

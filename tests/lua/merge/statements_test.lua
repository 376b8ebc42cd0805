-- Exact SQL of every merge strategy and option (pure builders, no server).
local t = require "lode.test"
local merge = require "lode.merge"

local COLS = { "sale_id", "amount", "note", "updated_at" }

local function spec(over)
  local s = {
    dialect = "redshift",
    target = "sales",
    stage = "lode_stage_sales",
    columns = COLS,
    source_columns = COLS,
    key = { "sale_id" },
    query = "SELECT * FROM raw_sales",
  }
  for k, v in pairs(over or {}) do
    s[k] = v
  end
  return s
end

local function sqls(s)
  local out = {}
  for i, step in ipairs(merge.statements(s)) do
    out[i] = step.sql or ("<" .. step.kind .. ">")
  end
  return out
end

local STAGE_Q = "INSERT INTO lode_stage_sales (sale_id, amount, note, updated_at) SELECT sale_id, amount, note, updated_at FROM (SELECT * FROM raw_sales) AS lode_src"
local DUPS = "SELECT count(*) AS keys, COALESCE(sum(n), 0) AS n FROM (SELECT count(*) AS n FROM lode_stage_sales GROUP BY sale_id HAVING count(*) > 1) AS lode_dups"
local NULLS = "SELECT count(*) AS n FROM lode_stage_sales WHERE sale_id IS NULL"

t.test("redshift delete_insert: lock, staged LIKE with defaults, checks, DELETE USING WHERE, explicit INSERT", function()
  t.eq(sqls(spec()), {
    "LOCK TABLE sales",
    "CREATE TEMP TABLE lode_stage_sales (LIKE sales INCLUDING DEFAULTS)",
    STAGE_Q,
    NULLS,
    DUPS,
    "DELETE FROM sales USING lode_stage_sales WHERE sales.sale_id = lode_stage_sales.sale_id",
    "INSERT INTO sales (sale_id, amount, note, updated_at) SELECT sale_id, amount, note, updated_at FROM lode_stage_sales",
    "DROP TABLE lode_stage_sales",
  })
end)

t.test("redshift merge: only the source aliased, both WHEN clauses, explicit insert list", function()
  t.eq(sqls(spec({ strategy = "merge" })), {
    "LOCK TABLE sales",
    "CREATE TEMP TABLE lode_stage_sales (LIKE sales INCLUDING DEFAULTS)",
    STAGE_Q,
    NULLS,
    DUPS,
    "SELECT count(*) AS n FROM sales",
    "MERGE INTO sales USING lode_stage_sales AS lode_s ON sales.sale_id = lode_s.sale_id"
      .. " WHEN MATCHED THEN UPDATE SET amount = lode_s.amount, note = lode_s.note, updated_at = lode_s.updated_at"
      .. " WHEN NOT MATCHED THEN INSERT (sale_id, amount, note, updated_at)"
      .. " VALUES (lode_s.sale_id, lode_s.amount, lode_s.note, lode_s.updated_at)",
    "SELECT count(*) AS n FROM sales",
    "DROP TABLE lode_stage_sales",
  })
end)

t.test("composite keys and a schema-qualified, mixed-case target", function()
  local s = spec({ target = "lake.\"Sales\"", key = { "region", "sale_id" },
                   columns = { "region", "sale_id", "amount" }, source_columns = { "region", "sale_id", "amount" } })
  local got = sqls(s)
  t.eq(got[1], 'LOCK TABLE lake."Sales"')
  t.eq(got[2], 'CREATE TEMP TABLE lode_stage_sales (LIKE lake."Sales" INCLUDING DEFAULTS)')
  t.eq(got[4], "SELECT count(*) AS n FROM lode_stage_sales WHERE region IS NULL OR sale_id IS NULL")
  t.eq(got[5], "SELECT count(*) AS keys, COALESCE(sum(n), 0) AS n FROM (SELECT count(*) AS n FROM lode_stage_sales GROUP BY region, sale_id HAVING count(*) > 1) AS lode_dups")
  t.eq(got[6], 'DELETE FROM lake."Sales" USING lode_stage_sales WHERE lake."Sales".region = lode_stage_sales.region AND lake."Sales".sale_id = lode_stage_sales.sale_id')
  t.eq(got[7], 'INSERT INTO lake."Sales" (region, sale_id, amount) SELECT region, sale_id, amount FROM lode_stage_sales')
  s.strategy = "merge"
  got = sqls(s)
  t.eq(got[7], 'MERGE INTO lake."Sales" USING lode_stage_sales AS lode_s ON lake."Sales".region = lode_s.region AND lake."Sales".sale_id = lode_s.sale_id'
    .. " WHEN MATCHED THEN UPDATE SET amount = lode_s.amount"
    .. " WHEN NOT MATCHED THEN INSERT (region, sale_id, amount) VALUES (lode_s.region, lode_s.sale_id, lode_s.amount)")
end)

t.test("dedupe latest: ROW_NUMBER per key by order_by, into a second temp table", function()
  for _, strategy in ipairs { "delete_insert", "merge" } do
    local got = sqls(spec({ dedupe = "latest", order_by = "updated_at", strategy = strategy }))
    t.eq(got[5], "CREATE TEMP TABLE lode_stage_sales_latest AS SELECT sale_id, amount, note, updated_at FROM"
      .. " (SELECT sale_id, amount, note, updated_at, ROW_NUMBER() OVER (PARTITION BY sale_id ORDER BY updated_at DESC NULLS LAST) AS lode_rn"
      .. " FROM lode_stage_sales) AS lode_ranked WHERE lode_rn = 1")
    for _, q in ipairs(got) do
      t.ok(q ~= DUPS, "no duplicate check when deduplicating")
    end
    t.eq(got[#got - 1], "DROP TABLE lode_stage_sales_latest")
    t.eq(got[#got], "DROP TABLE lode_stage_sales")
    if strategy == "merge" then
      t.contains(got[7], "MERGE INTO sales USING lode_stage_sales_latest AS lode_s ON sales.sale_id = lode_s.sale_id")
    else
      t.eq(got[6], "DELETE FROM sales USING lode_stage_sales_latest WHERE sales.sale_id = lode_stage_sales_latest.sale_id")
      t.eq(got[7], "INSERT INTO sales (sale_id, amount, note, updated_at) SELECT sale_id, amount, note, updated_at FROM lode_stage_sales_latest")
    end
  end
  local got = sqls(spec({ dedupe = "latest", order_by = { "updated_at", "amount" } }))
  t.contains(got[5], "ORDER BY updated_at DESC NULLS LAST, amount DESC NULLS LAST")
end)

t.test("delete_when: a marker column in the stage, target rows deleted first, markers dropped", function()
  local got = sqls(spec({ delete_when = "op = 'D'" }))
  t.eq(got, {
    "LOCK TABLE sales",
    "CREATE TEMP TABLE lode_stage_sales (LIKE sales INCLUDING DEFAULTS)",
    "ALTER TABLE lode_stage_sales ADD COLUMN lode_delete BOOLEAN",
    "INSERT INTO lode_stage_sales (sale_id, amount, note, updated_at, lode_delete) SELECT sale_id, amount, note, updated_at,"
      .. " COALESCE((op = 'D'), FALSE) FROM (SELECT * FROM raw_sales) AS lode_src",
    NULLS,
    DUPS,
    "DELETE FROM sales USING lode_stage_sales WHERE sales.sale_id = lode_stage_sales.sale_id AND lode_stage_sales.lode_delete",
    "DELETE FROM lode_stage_sales WHERE lode_delete",
    "DELETE FROM sales USING lode_stage_sales WHERE sales.sale_id = lode_stage_sales.sale_id",
    "INSERT INTO sales (sale_id, amount, note, updated_at) SELECT sale_id, amount, note, updated_at FROM lode_stage_sales",
    "DROP TABLE lode_stage_sales",
  })
  -- a bare column name is quoted; with merge the MERGE follows the deletes
  got = sqls(spec({ delete_when = "Deleted", strategy = "merge", dedupe = "latest", order_by = "updated_at" }))
  t.contains(got[4], 'COALESCE("Deleted", FALSE)')
  t.eq(got[6], "CREATE TEMP TABLE lode_stage_sales_latest AS SELECT sale_id, amount, note, updated_at, lode_delete FROM"
    .. " (SELECT sale_id, amount, note, updated_at, lode_delete, ROW_NUMBER() OVER (PARTITION BY sale_id ORDER BY updated_at DESC NULLS LAST) AS lode_rn"
    .. " FROM lode_stage_sales) AS lode_ranked WHERE lode_rn = 1")
  t.eq(got[7], "DELETE FROM sales USING lode_stage_sales_latest WHERE sales.sale_id = lode_stage_sales_latest.sale_id AND lode_stage_sales_latest.lode_delete")
  t.eq(got[8], "DELETE FROM lode_stage_sales_latest WHERE lode_delete")
  t.contains(got[10], "MERGE INTO sales USING lode_stage_sales_latest AS lode_s")
  t.ok(not got[10]:find("lode_delete", 1, true), "the marker never reaches the target")
end)

t.test("update_columns: merge updates only those; delete_insert carries the others over from the target", function()
  local got = sqls(spec({ strategy = "merge", update_columns = { "amount" } }))
  t.contains(got[7], "WHEN MATCHED THEN UPDATE SET amount = lode_s.amount WHEN NOT MATCHED")
  got = sqls(spec({ update_columns = { "amount" } }))
  t.eq(got[6], "UPDATE lode_stage_sales SET note = sales.note, updated_at = sales.updated_at FROM sales WHERE lode_stage_sales.sale_id = sales.sale_id")
  t.eq(got[7], "DELETE FROM sales USING lode_stage_sales WHERE sales.sale_id = lode_stage_sales.sale_id")
end)

t.test("columns absent from the source: staged with their defaults, never updated", function()
  local s = spec({ source_columns = { "sale_id", "amount" } })
  local got = sqls(s)
  t.eq(got[3], "INSERT INTO lode_stage_sales (sale_id, amount) SELECT sale_id, amount FROM (SELECT * FROM raw_sales) AS lode_src")
  t.eq(got[6], "UPDATE lode_stage_sales SET note = sales.note, updated_at = sales.updated_at FROM sales WHERE lode_stage_sales.sale_id = sales.sale_id")
  t.eq(got[8], "INSERT INTO sales (sale_id, amount, note, updated_at) SELECT sale_id, amount, note, updated_at FROM lode_stage_sales")
  s.strategy = "merge"
  got = sqls(s)
  t.contains(got[7], "UPDATE SET amount = lode_s.amount WHEN NOT MATCHED THEN INSERT (sale_id, amount, note, updated_at)")
end)

t.test("every column a key: MERGE still has both WHEN clauses", function()
  local got = sqls(spec({ strategy = "merge", columns = { "a", "b" }, source_columns = { "a", "b" }, key = { "a", "b" } }))
  t.contains(got[7], "WHEN MATCHED THEN UPDATE SET a = lode_s.a, b = lode_s.b WHEN NOT MATCHED THEN INSERT (a, b) VALUES (lode_s.a, lode_s.b)")
end)

t.test("schema_evolution add_columns: ALTER TABLE ADD COLUMN before staging, one per column", function()
  local got = sqls(spec({ columns = { "sale_id", "amount", "note", "updated_at", "Channel", "qty" },
                          source_columns = { "sale_id", "amount", "note", "updated_at", "Channel", "qty" },
                          add_columns = { { name = "Channel", type = "character varying(20)" }, { name = "qty", type = "integer" } } }))
  t.eq(got[1], "LOCK TABLE sales")
  t.eq(got[2], 'ALTER TABLE sales ADD COLUMN "Channel" character varying(20)')
  t.eq(got[3], "ALTER TABLE sales ADD COLUMN qty integer")
  t.eq(got[4], "CREATE TEMP TABLE lode_stage_sales (LIKE sales INCLUDING DEFAULTS)")
end)

t.test("S3 sources: a copy step where the query would be; delete_when marks after COPY", function()
  local got = sqls(spec({ query = false, delete_when = "op = 'D'" }))
  t.eq(got[4], "<copy>")
  t.eq(got[5], "UPDATE lode_stage_sales SET lode_delete = COALESCE((op = 'D'), FALSE)")
  t.eq(got[6], NULLS)
end)

t.test("postgres dialect: lock mode that lets readers in, stage keys nullable so NULL keys are counted", function()
  local got = sqls(spec({ dialect = "postgres", key = { "sale_id", "updated_at" } }))
  t.eq(got[1], "LOCK TABLE sales IN SHARE ROW EXCLUSIVE MODE")
  t.eq(got[3], "ALTER TABLE lode_stage_sales ALTER COLUMN sale_id DROP NOT NULL, ALTER COLUMN updated_at DROP NOT NULL")
  t.eq(got[5], "ANALYZE lode_stage_sales")
end)

t.test("postgres, key covered by a unique index: no duplicate check up front, the DML in a savepoint", function()
  for _, strategy in ipairs { "delete_insert", "merge" } do
    local got = sqls(spec({ dialect = "postgres", unique_key = true, strategy = strategy }))
    local sp, rel
    for i, q in ipairs(got) do
      t.ok(q ~= DUPS, "no up-front duplicate check: " .. q)
      if q == "SAVEPOINT lode_merge" then sp = i end
      if q == "RELEASE SAVEPOINT lode_merge" then rel = i end
    end
    t.ok(sp and rel, "savepoint and release: " .. table.concat(got, "\n"))
    t.eq(got[sp - 1], NULLS, "the savepoint follows the NULL-key check")
    local dml = strategy == "merge" and { "MERGE INTO" } or { "DELETE FROM sales USING", "INSERT INTO sales" }
    for _, head in ipairs(dml) do
      local at
      for i, q in ipairs(got) do
        if q:sub(1, #head) == head then at = i end
      end
      t.ok(at and at > sp and at < rel, head .. " inside the savepoint")
    end
    local step
    for _, st in ipairs(merge.statements(spec({ dialect = "postgres", unique_key = true, strategy = strategy }))) do
      if st.kind == "savepoint" then step = st end
    end
    t.eq(step.duplicates_sql, DUPS, "the savepoint carries the duplicate check for a unique violation")
  end
  -- Redshift enforces no unique constraint; delete_when and dedupe have their own paths
  for _, over in ipairs { { dialect = "redshift" }, { dialect = "postgres", delete_when = "op = 'D'" } } do
    over.unique_key = true
    local got = sqls(spec(over))
    t.contains(table.concat(got, "\n"), DUPS, "duplicate check kept for " .. (over.delete_when and "delete_when" or over.dialect))
    t.ok(not table.concat(got, "\n"):find("SAVEPOINT", 1, true), "no savepoint")
  end
end)

t.test("postgres merge with target_oid: inserted/updated from the transaction's tuple counters, no count(*)", function()
  local got = sqls(spec({ dialect = "postgres", strategy = "merge", target_oid = 16384 }))
  local STATS = "SELECT pg_catalog.pg_stat_get_xact_tuples_inserted(16384) AS ins, pg_catalog.pg_stat_get_xact_tuples_updated(16384) AS upd"
  local n = 0
  for i, q in ipairs(got) do
    t.ok(not q:find("count(*) AS n FROM sales", 1, true), q)
    if q == STATS then
      n = n + 1
      t.ok(got[i + (n == 1 and 1 or -1)]:find("^MERGE INTO"), "around the MERGE")
    end
  end
  t.eq(n, 2, "counters read before and after the MERGE")
end)

t.test("no TRUNCATE, no SELECT *, no USING … ON, in any strategy and option", function()
  local variants = {
    {}, { strategy = "merge" }, { dedupe = "latest", order_by = "updated_at" },
    { delete_when = "op = 'D'" }, { update_columns = { "amount" } }, { query = false },
    { strategy = "merge", delete_when = "gone", dedupe = "latest", order_by = "updated_at" },
  }
  for _, dialect in ipairs { "redshift", "postgres" } do
    for _, v in ipairs(variants) do
      v.dialect = dialect
      for _, step in ipairs(merge.statements(spec(v))) do
        local q = (step.sql or ""):upper()
        t.ok(not q:find("TRUNCATE", 1, true), q)
        t.ok(not q:find("SELECT *", 1, true) or q:find("FROM (SELECT * FROM RAW_SALES)", 1, true), q)
        t.ok(not q:match("^DELETE FROM [^ ]+ USING [^ ]+ ON "), q)
        t.ok(not q:find("MERGE INTO [^ ]+ AS "), q)
      end
    end
  end
end)

t.test("hostile names are quoted everywhere", function()
  local cols = { 'id"; DROP TABLE x; --', "select" }
  local got = sqls(spec({ target = 'we"ird', columns = cols, source_columns = cols, key = { cols[1] }, strategy = "merge" }))
  t.eq(got[1], 'LOCK TABLE "we""ird"')
  t.contains(got[7], 'ON "we""ird"."id""; DROP TABLE x; --" = lode_s."id""; DROP TABLE x; --"')
  t.contains(got[7], 'UPDATE SET "select" = lode_s."select"')
  t.eq(merge.stage_name('we"ird'), "lode_stage_we_ird")
  t.eq(merge.stage_name("lake.\"Sales\""), "lode_stage_sales")
end)

t.test("validation names the problem", function()
  local function v(over)
    return function() merge.validate(spec(over)) end
  end
  t.raises(v({ strategy = "upsert" }), "unknown strategy 'upsert'")
  t.raises(v({ dedupe = "first" }), "unknown dedupe 'first'")
  t.raises(v({ dedupe = "latest" }), "needs order_by")
  t.raises(v({ key = {} }), "no key")
  t.raises(v({ key = { "nope" } }), "key column nope is not a column of sales")
  t.raises(v({ source_columns = { "amount" } }), "key column sale_id is missing from the source")
  t.raises(v({ update_columns = { "sale_id" } }), "update column sale_id is part of the key")
  t.raises(v({ update_columns = { "zzz" } }), "update column zzz is not a column")
  t.raises(v({ dedupe = "latest", order_by = "zzz" }), "order_by column zzz")
  t.raises(v({ delete_when = "" }), "delete_when must be")
  merge.validate(spec({ dedupe = "latest", order_by = "updated_at", strategy = "merge" }))
end)

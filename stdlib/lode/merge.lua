-- lode.merge — staging + upsert into a warehouse table, in one transaction:
-- atomic, deduplicating, idempotent, and serialised against concurrent merges.
--
--   local merge = require "lode.merge"
--   merge.upsert(wh, { target = "sales_fact", query = "select * from raw.sales_today",
--                      key = { "sale_id" }, dedupe = "latest", order_by = "updated_at" })
--   merge.upsert(wh, { target = "sales_fact", from = "s3://staging/sales/", format = "parquet",
--                      iam_role = role, strategy = "merge", delete_when = "op = 'D'" })
--   --> { staged =, deduplicated =, deleted =, inserted =, updated = }
--
-- The transaction, for strategy "delete_insert" (valid on every Redshift):
--
--   LOCK TABLE t                                    -- concurrent merges queue here
--   [ALTER TABLE t ADD COLUMN c type]               -- schema_evolution = "add_columns"
--   CREATE TEMP TABLE s (LIKE t INCLUDING DEFAULTS) -- keeps defaults for absent columns
--   INSERT INTO s (cols) SELECT cols FROM (query)   -- or COPY s FROM 's3://…'
--   SELECT count(*) … WHERE k IS NULL               -- NULL keys never match: refused
--   duplicate check, or ROW_NUMBER() dedupe (latest row per key wins)
--   DELETE FROM t USING s WHERE t.k = s.k AND s.lode_delete   -- delete_when
--   UPDATE s SET c = t.c FROM t WHERE s.k = t.k     -- columns not updated keep their value
--   DELETE FROM t USING s WHERE t.k = s.k
--   INSERT INTO t (cols) SELECT cols FROM s
--   DROP TABLE s
--
-- and for strategy "merge" the same staging followed by the MERGE subset that
-- Redshift and PostgreSQL 15 both accept. Nothing in it commits implicitly
-- (no TRUNCATE). The statement builders are pure functions (M.statements) so
-- `lode plan` and the tests see exactly what runs.
--
-- On PostgreSQL two checks cost nothing when nothing is wrong. When a unique
-- index on the target covers the key, a duplicate key in the batch is bound
-- to fail the DELETE/INSERT or MERGE; those run inside a savepoint, and only
-- when they fail that way is the duplicate check run, to say which rows. And
-- MERGE's inserted/updated split is read from the transaction's own tuple
-- counters (pg_stat_get_xact_tuples_*), not from two counts of the target.

local core = require "lode.core"
local sql = require "lode.sql"

local M = {}

-- the stage-only column that carries the delete_when verdict
M.DELETE_COLUMN = "lode_delete"

local function merge_error(code, message, level)
  error(core.error({ op = "merge", code = code, message = message, retryable = false }), level or 3)
end

local function usage(message)
  merge_error("usage", "merge: " .. message, 4)
end

local function as_list(v)
  if v == nil then
    return nil
  end
  if type(v) == "string" then
    return { v }
  end
  return v
end

-- Statement builders (pure) -----------------------------------------------------

--- lock_sql(dialect, target) -> the statement that serialises merges into target.
--- PostgreSQL's SHARE ROW EXCLUSIVE conflicts with itself and with writers but
--- lets readers go on; Redshift's LOCK has no modes.
function M.lock_sql(dialect, target)
  if dialect == "redshift" then
    return "LOCK TABLE " .. sql.qname(target)
  end
  return "LOCK TABLE " .. sql.qname(target) .. " IN SHARE ROW EXCLUSIVE MODE"
end

-- "t.k1 = s.k1 AND t.k2 = s.k2"
local function key_match(key, left, right)
  local out = {}
  for i, k in ipairs(key) do
    local c = sql.ident(k)
    out[i] = ("%s.%s = %s.%s"):format(left, c, right, c)
  end
  return table.concat(out, " AND ")
end

-- "p.a, p.b" (or "a, b" without a prefix)
local function idents(cols, prefix)
  local out = {}
  for i, c in ipairs(cols) do
    out[i] = (prefix and (prefix .. ".") or "") .. sql.ident(c)
  end
  return table.concat(out, ", ")
end

-- A bare column name is quoted and qualified by whoever uses it; anything
-- else is the script author's SQL expression, used as written.
local function delete_expr(delete_when)
  if delete_when:match("^[%a_][%w_]*$") then
    return sql.ident(delete_when)
  end
  return "(" .. delete_when .. ")"
end

local function contains(list, x)
  for _, v in ipairs(list) do
    if v == x then
      return true
    end
  end
  return false
end

local function minus(list, removed)
  local out = {}
  for _, v in ipairs(list) do
    if not contains(removed, v) then
      out[#out + 1] = v
    end
  end
  return out
end

--- stage_name(target) -> the temp table name lode stages target's rows in.
function M.stage_name(target)
  local parts = sql.split_name(target)
  local base = parts[#parts]:lower():gsub("[^%w_]", "_"):sub(1, 40)
  return "lode_stage_" .. base
end

--- statements(spec) -> { {kind=, sql=}, ... }: every statement of one merge,
--- in order. spec: dialect, target, stage, columns (target columns after
--- evolution, in order), source_columns (those the source provides), key,
--- strategy, dedupe ("fail" | "latest"), order_by, delete_when,
--- update_columns, add_columns ({ {name=, type=} }), and query (SQL staged
--- by INSERT … SELECT) or copy = true (a {kind="copy"} step the caller fills).
--- PostgreSQL only: unique_key (a unique index covers the key: duplicates are
--- caught by the DML inside a savepoint, not checked up front) and target_oid
--- (MERGE's inserted/updated split read from the transaction's counters).
function M.statements(spec)
  local d = spec.dialect or "postgres"
  local T = sql.qname(spec.target)
  local S = sql.ident(spec.stage)
  local key = spec.key
  local cols = spec.columns
  local src_cols = spec.source_columns or cols
  local strategy = spec.strategy or "delete_insert"
  local marked = spec.delete_when ~= nil
  local DEL = sql.ident(M.DELETE_COLUMN)
  local steps = {}
  local function add(kind, text)
    steps[#steps + 1] = { kind = kind, sql = text }
  end

  add("lock", M.lock_sql(d, spec.target))
  for _, c in ipairs(spec.add_columns or {}) do
    add("add_column", ("ALTER TABLE %s ADD COLUMN %s %s"):format(T, sql.ident(c.name), c.type))
  end
  add("create_stage", ("CREATE TEMP TABLE %s (LIKE %s INCLUDING DEFAULTS)"):format(S, T))
  if d ~= "redshift" then
    -- LIKE copies NOT NULL: let NULL keys reach the check below, which counts them
    local alters = {}
    for i, k in ipairs(key) do
      alters[i] = ("ALTER COLUMN %s DROP NOT NULL"):format(sql.ident(k))
    end
    add("stage_nullable_keys", ("ALTER TABLE %s %s"):format(S, table.concat(alters, ", ")))
  end
  if marked then
    add("stage_marker", ("ALTER TABLE %s ADD COLUMN %s BOOLEAN"):format(S, DEL))
  end

  if spec.query then
    local list = idents(src_cols)
    if marked then
      add("stage", ("INSERT INTO %s (%s, %s) SELECT %s, COALESCE(%s, FALSE) FROM (%s) AS lode_src")
        :format(S, list, DEL, list, delete_expr(spec.delete_when), spec.query))
    else
      add("stage", ("INSERT INTO %s (%s) SELECT %s FROM (%s) AS lode_src"):format(S, list, list, spec.query))
    end
  else
    add("copy", nil)
    if marked then
      add("mark_deletes", ("UPDATE %s SET %s = COALESCE(%s, FALSE)"):format(S, DEL, delete_expr(spec.delete_when)))
    end
  end

  if d ~= "redshift" then
    -- temp tables are never auto-analyzed: without statistics the planner
    -- joins a million staged rows as if they were a handful
    add("analyze_stage", "ANALYZE " .. S)
  end

  local nulls = {}
  for i, k in ipairs(key) do
    nulls[i] = sql.ident(k) .. " IS NULL"
  end
  add("check_null_keys", ("SELECT count(*) AS n FROM %s WHERE %s"):format(S, table.concat(nulls, " OR ")))

  local keylist = idents(key)
  local src = S
  local dups_sql = ("SELECT count(*) AS keys, COALESCE(sum(n), 0) AS n FROM (SELECT count(*) AS n FROM %s GROUP BY %s HAVING count(*) > 1) AS lode_dups")
    :format(S, keylist)
  -- a unique index over the key makes the DML itself refuse duplicates
  local guarded = spec.unique_key and d ~= "redshift" and not marked and spec.dedupe ~= "latest"
  if spec.dedupe == "latest" then
    local order = {}
    for i, c in ipairs(as_list(spec.order_by)) do
      order[i] = sql.ident(c) .. " DESC NULLS LAST"
    end
    -- every staged column is carried, so absent ones keep their defaults
    local all = idents(cols)
    if marked then
      all = all .. ", " .. DEL
    end
    src = sql.ident(spec.stage .. "_latest")
    add("dedupe", ("CREATE TEMP TABLE %s AS SELECT %s FROM (SELECT %s, ROW_NUMBER() OVER (PARTITION BY %s ORDER BY %s) AS lode_rn FROM %s) AS lode_ranked WHERE lode_rn = 1")
      :format(src, all, all, keylist, table.concat(order, ", "), S))
  elseif not guarded then
    add("check_duplicates", dups_sql)
  end

  if marked then
    add("delete_marked", ("DELETE FROM %s USING %s WHERE %s AND %s.%s"):format(T, src, key_match(key, T, src), src, DEL))
    add("drop_marked", ("DELETE FROM %s WHERE %s"):format(src, DEL))
  end

  local updated = spec.update_columns or minus(src_cols, key)
  local all_cols = idents(cols)
  if guarded then
    add("savepoint", "SAVEPOINT lode_merge")
    steps[#steps].duplicates_sql = dups_sql
  end
  -- the transaction's own insert/update counters of the target, when they count it
  local stats = spec.target_oid and ("SELECT pg_catalog.pg_stat_get_xact_tuples_inserted(%d) AS ins, pg_catalog.pg_stat_get_xact_tuples_updated(%d) AS upd")
    :format(spec.target_oid, spec.target_oid)
  if strategy == "merge" then
    add("count_before", stats or ("SELECT count(*) AS n FROM %s"):format(T))
    local set = {}
    for i, c in ipairs(#updated > 0 and updated or key) do
      set[i] = ("%s = lode_s.%s"):format(sql.ident(c), sql.ident(c))
    end
    add("merge", ("MERGE INTO %s USING %s AS lode_s ON %s WHEN MATCHED THEN UPDATE SET %s WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)")
      :format(T, src, key_match(key, T, "lode_s"), table.concat(set, ", "), all_cols, idents(cols, "lode_s")))
    add("count_after", stats or ("SELECT count(*) AS n FROM %s"):format(T))
  else
    local kept = minus(minus(cols, key), updated)
    if #kept > 0 then
      local set = {}
      for i, c in ipairs(kept) do
        set[i] = ("%s = %s.%s"):format(sql.ident(c), T, sql.ident(c))
      end
      add("keep_columns", ("UPDATE %s SET %s FROM %s WHERE %s"):format(src, table.concat(set, ", "), T, key_match(key, src, T)))
    end
    add("delete_matched", ("DELETE FROM %s USING %s WHERE %s"):format(T, src, key_match(key, T, src)))
    add("insert", ("INSERT INTO %s (%s) SELECT %s FROM %s"):format(T, all_cols, all_cols, src))
  end
  if guarded then
    add("release", "RELEASE SAVEPOINT lode_merge")
  end

  if src ~= S then
    add("drop_stage", "DROP TABLE " .. src)
  end
  add("drop_stage", "DROP TABLE " .. S)
  return steps
end

--- sql_text(steps) -> the statements as one script (the copy step as a comment).
function M.sql_text(steps)
  local out = {}
  for _, s in ipairs(steps) do
    out[#out + 1] = (s.sql or ("-- " .. s.kind)) .. ";"
  end
  return table.concat(out, "\n")
end

--- validate(spec): raises a clear error for options that cannot work.
function M.validate(spec)
  local strategy = spec.strategy or "delete_insert"
  if strategy ~= "delete_insert" and strategy ~= "merge" then
    usage(("unknown strategy '%s' (delete_insert or merge)"):format(tostring(strategy)))
  end
  if spec.dedupe ~= nil and spec.dedupe ~= "fail" and spec.dedupe ~= "latest" then
    usage(("unknown dedupe '%s' (fail or latest)"):format(tostring(spec.dedupe)))
  end
  if spec.dedupe == "latest" and (spec.order_by == nil or #as_list(spec.order_by) == 0) then
    usage("dedupe = 'latest' needs order_by (the column whose greatest value wins)")
  end
  if type(spec.key) ~= "table" or #spec.key == 0 then
    usage("no key: give key = { 'col', ... } or put a primary key on the target")
  end
  for _, k in ipairs(spec.key) do
    if not contains(spec.columns, k) then
      usage(("key column %s is not a column of %s"):format(k, spec.target))
    end
    if spec.source_columns and not contains(spec.source_columns, k) then
      usage(("key column %s is missing from the source"):format(k))
    end
  end
  for _, c in ipairs(spec.update_columns or {}) do
    if not contains(spec.columns, c) then
      usage(("update column %s is not a column of %s"):format(c, spec.target))
    end
    if contains(spec.key, c) then
      usage(("update column %s is part of the key"):format(c))
    end
  end
  for _, c in ipairs(as_list(spec.order_by) or {}) do
    if not contains(spec.columns, c) then
      usage(("order_by column %s is not a column of %s"):format(c, spec.target))
    end
  end
  if spec.delete_when ~= nil and (type(spec.delete_when) ~= "string" or spec.delete_when == "") then
    usage("delete_when must be a column name or a SQL expression")
  end
  if contains(spec.columns, M.DELETE_COLUMN) and spec.delete_when ~= nil then
    usage(("the target has a column named %s, which delete_when needs for itself"):format(M.DELETE_COLUMN))
  end
end

-- Running a merge ------------------------------------------------------------------

local function plan_note(q)
  io.stdout:write("-- lode plan: not run\n", q, ";\n")
  io.stdout:flush()
end

local function count_of(r, field)
  local v = r[1] and r[1][field or "n"]
  return math.tointeger(tonumber(v)) or 0
end

-- {schema, table} of a target name as the server stores it
local function name_parts(target)
  local parts = sql.split_name(target)
  return parts[#parts - 1], parts[#parts]
end

--- columns_of(tx, name, dialect) -> { {name=, type=}, ... } in table order,
--- the primary key's column names (empty when there is none), and on
--- PostgreSQL a table {oid=, relkind=, track_counts=, unique={ {cols}, ... }}
--- (the column sets of its immediate, total, plain unique indexes); nil when
--- the table does not exist. Reads the catalog both engines have.
function M.columns_of(tx, name, dialect)
  local schema, rel = name_parts(name)
  local where = schema and ("n.nspname = " .. sql.literal(schema, dialect))
    or "pg_catalog.pg_table_is_visible(c.oid)"
  local cols = tx:query(([[SELECT a.attnum AS num, a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = %s AND %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum]]):format(sql.literal(rel, dialect), where))
  local planned = core.dry_run() and require("lode.warehouse").planned_relation(name, function() return #cols > 0 end)
  if planned then
    return M._planned_columns(tx, planned, dialect)
  end
  if #cols == 0 then
    return nil
  end
  local by_num, out = {}, {}
  for i, row in ipairs(cols) do
    out[i] = { name = row.name, type = row.type }
    by_num[math.tointeger(tonumber(row.num))] = row.name
  end
  local pk = tx:query(([[SELECT con.conkey AS k
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype = 'p' AND c.relname = %s AND %s]]):format(sql.literal(rel, dialect), where))
  local key = {}
  if pk[1] then
    local k = pk[1].k
    if type(k) == "table" then
      for _, num in ipairs(k) do
        key[#key + 1] = by_num[math.tointeger(num)]
      end
    else
      for num in tostring(k):gmatch("%d+") do
        key[#key + 1] = by_num[math.tointeger(tonumber(num))]
      end
    end
  end
  if #key == 0 and dialect ~= "redshift" then
    -- a primary key Redshift DDL declared on PostgreSQL: informational, kept by
    -- lode.redshift.dialect (no constraint, so duplicates load as on Redshift)
    local has = tx:query("SELECT pg_catalog.to_regclass('lode_redshift.primary_keys') IS NOT NULL AS ok")[1]
    if has and has.ok == true then
      for _, row in ipairs(tx:query(([[SELECT u.name
FROM lode_redshift.primary_keys k
JOIN pg_catalog.pg_class c ON c.oid = k.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL pg_catalog.unnest(k.columns) WITH ORDINALITY AS u(name, i)
WHERE c.relname = %s AND %s ORDER BY u.i]]):format(sql.literal(rel, dialect), where))) do
        key[#key + 1] = row.name
      end
    end
  end
  local info = { unique = {} }
  if dialect ~= "redshift" then
    local r = tx:query(([[SELECT c.oid::bigint AS oid, c.relkind::text AS relkind,
  pg_catalog.current_setting('track_counts') AS track_counts,
  (SELECT pg_catalog.string_agg(i.indkey::text, ';') FROM pg_catalog.pg_index i
   WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indisvalid
     AND i.indpred IS NULL AND i.indexprs IS NULL) AS uniq
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = %s AND %s]]):format(sql.literal(rel, dialect), where))[1]
    if r then
      info.oid = math.tointeger(tonumber(r.oid))
      info.relkind = r.relkind
      info.track_counts = r.track_counts == "on"
      for set in tostring(r.uniq ~= core.null and r.uniq or ""):gmatch("[^;]+") do
        local names = {}
        for num in set:gmatch("%d+") do
          names[#names + 1] = by_num[math.tointeger(tonumber(num))]
        end
        info.unique[#info.unique + 1] = names
      end
    end
  end
  return out, key, info
end

-- columns_of for a table that `lode plan` creates (or drops): its declared
-- columns and primary key, from the statement the plan printed.
function M._planned_columns(tx, planned, dialect)
  if planned.dropped then
    return nil
  end
  if planned.like then
    return M.columns_of(tx, planned.like, dialect)
  end
  local out = {}
  for i, c in ipairs(planned.columns) do
    out[i] = { name = c.name, type = c.type:lower() }
  end
  if #out == 0 then
    return nil
  end
  return out, planned.key, { unique = #planned.key > 0 and { planned.key } or {}, relkind = "r" }
end

-- true when some unique index's columns all belong to key: then two staged
-- rows with one key can never both land in the target
local function key_is_unique(info, key)
  for _, set in ipairs(info.unique) do
    local inside = #set > 0
    for _, c in ipairs(set) do
      inside = inside and contains(key, c)
    end
    if inside then
      return true
    end
  end
  return false
end

-- The columns (and, when asked, their types) a query produces.
local function describe_query(tx, query, dialect, want_types)
  local r = tx:query(("SELECT * FROM (%s) AS lode_src LIMIT 0"):format(query))
  local out = {}
  for i, c in ipairs(r.columns) do
    out[i] = { name = c.name, type = c.type }
  end
  if want_types and not core.dry_run() then
    -- the server's own spelling of each type, modifiers included (varchar(20), numeric(12,2))
    tx:exec(("CREATE TEMP TABLE lode_probe AS SELECT * FROM (%s) AS lode_src LIMIT 0"):format(query))
    local typed = M.columns_of(tx, "lode_probe", dialect)
    tx:exec("DROP TABLE lode_probe")
    return typed
  end
  for _, c in ipairs(out) do
    if not c.type or c.type:match("^oid:") then
      c.type = "text"
    end
  end
  return out
end

local function names(cols)
  local out = {}
  for i, c in ipairs(cols) do
    out[i] = c.name
  end
  return out
end

local function check_duplicates(tx, q, target, level)
  local r = tx:query(q)
  local keys, n = count_of(r, "keys"), count_of(r, "n")
  if keys > 0 then
    merge_error("duplicate_key", ("merge into %s: %d staged rows share %d key%s (use dedupe = 'latest' with order_by to keep the latest row per key); nothing was changed")
      :format(target, n, keys, keys == 1 and "" or "s"), level + 1)
  end
end

local function check_counts(tx, step, target, dialect, dry)
  if dry then
    plan_note(step.sql)
    return
  end
  if step.kind == "check_null_keys" then
    local n = count_of(tx:query(step.sql))
    if n > 0 then
      merge_error("null_key", ("merge into %s: %d staged row%s with a NULL key, which can never match; nothing was changed")
        :format(target, n, n == 1 and "" or "s"), 5)
    end
  else
    check_duplicates(tx, step.sql, target, 5)
  end
end

-- A DML step inside the savepoint that stands in for the duplicate check: a
-- unique violation (23505) or a row merged twice (21000) is looked into,
-- and reported as duplicates when that is what it was.
local function guarded_exec(tx, q, guard, target)
  local ok, n = pcall(tx.exec, tx, q)
  if ok then
    return n
  end
  local st = type(n) == "table" and n.sqlstate
  if st == "23505" or st == "21000" then
    tx:exec("ROLLBACK TO SAVEPOINT lode_merge")
    check_duplicates(tx, guard.duplicates_sql, target, 4)
  end
  error(n, 0)
end

--- upsert(wh, opts) -> {staged=, deduplicated=, deleted=, inserted=, updated=}.
--- opts: target; query (SQL whose rows are staged) or from (S3, with COPY
--- options, staged through lode.copy); key, strategy, dedupe, order_by,
--- delete_when, update_columns, schema_evolution ("fail" | "add_columns"),
--- source_only (source columns never merged, e.g. the one delete_when reads),
--- before_commit (fn(tx, result) run inside the transaction, last),
--- PostgreSQL only, for the statements that join stage and target: work_mem
--- (the least they run with, e.g. "256MB"; by default the session's) and join
--- ("auto": probe the target's unique key index per staged row when the
--- batch is at most a quarter of the target; "index"; "hash": the planner's).
--- wh may be a warehouse or an open transaction (the merge nests in it).
function M.upsert(wh, opts)
  if type(opts) ~= "table" or type(opts.target) ~= "string" and type(opts.target) ~= "table" then
    usage("merge.upsert(wh, opts): opts.target (the table to merge into) is required")
  end
  if (opts.query == nil) == (opts.from == nil) then
    usage("give exactly one source: query = 'SELECT …' or from = 's3://…'")
  end
  if opts.query ~= nil and (type(opts.query) ~= "string" or opts.query:match("^%s*$")) then
    usage("query must be a SQL SELECT")
  end
  local evolution = opts.schema_evolution or "fail"
  if evolution ~= "fail" and evolution ~= "add_columns" then
    usage(("unknown schema_evolution '%s' (fail or add_columns)"):format(tostring(evolution)))
  end
  if opts.cursor ~= nil then
    require("lode.cursor").check_option(opts.cursor, "merge.upsert", 2)
  end
  if opts.join ~= nil and opts.join ~= "auto" and opts.join ~= "index" and opts.join ~= "hash" then
    usage(("unknown join '%s' (auto, index or hash)"):format(tostring(opts.join)))
  end
  if opts.work_mem ~= nil and opts.work_mem ~= false and type(opts.work_mem) ~= "string" then
    usage("work_mem must be a size such as '256MB'")
  end
  local dialect = (wh.get_dialect and wh:get_dialect()) or wh.dialect or "postgres"
  local dry = core.dry_run()
  local target = opts.target
  local label = type(target) == "table" and table.concat(target, ".") or target
  local started = core.now()
  local query = opts.query and opts.query:gsub("[%s;]+$", "")

  local result = wh:transaction(function(tx)
    -- the lock comes first: the columns read below cannot change under us
    tx:exec(M.lock_sql(dialect, target))
    local cols, pk, info = M.columns_of(tx, target, dialect)
    if not cols then
      merge_error("no_table", ("merge: the target table %s does not exist"):format(label), 4)
    end
    local tcols = names(cols)
    local source_cols, add = nil, {}
    if query then
      local described = describe_query(tx, query, dialect, false)
      -- source columns that only feed delete_when (a CDC "op" column, say)
      local ignored = as_list(opts.source_only) or {}
      if opts.delete_when then
        ignored[#ignored + 1] = opts.delete_when
      end
      local extra = {}
      for _, c in ipairs(described) do
        if not contains(tcols, c.name) and not contains(ignored, c.name) then
          extra[#extra + 1] = c.name
        end
      end
      if #extra > 0 then
        if evolution ~= "add_columns" then
          merge_error("schema", ("merge into %s: the source has column%s not in the target: %s (schema_evolution = 'add_columns' adds them)")
            :format(label, #extra == 1 and "" or "s", table.concat(extra, ", ")), 4)
        end
        local typed = describe_query(tx, query, dialect, true)
        for _, c in ipairs(typed) do
          if contains(extra, c.name) then
            add[#add + 1] = { name = c.name, type = c.type }
            tcols[#tcols + 1] = c.name
          end
        end
      end
      source_cols = {}
      for _, c in ipairs(described) do
        if contains(tcols, c.name) then
          source_cols[#source_cols + 1] = c.name
        end
      end
    else
      source_cols = opts.columns or tcols
    end
    local spec = {
      dialect = dialect, target = target, stage = M.stage_name(target),
      columns = tcols, source_columns = source_cols,
      key = as_list(opts.key) or (#pk > 0 and pk or nil),
      strategy = opts.strategy or "delete_insert",
      dedupe = opts.dedupe or (opts.order_by and "latest" or "fail"), order_by = opts.order_by,
      delete_when = opts.delete_when, update_columns = as_list(opts.update_columns),
      add_columns = add, query = query,
    }
    spec.key = spec.key or {}
    M.validate(spec)
    if dialect ~= "redshift" then
      spec.unique_key = key_is_unique(info, spec.key)
      if info.relkind == "r" and info.track_counts then
        spec.target_oid = info.oid
      end
    end
    local res = { staged = 0, deduplicated = 0, deleted = 0, inserted = 0, updated = 0 }
    local matched, before, before_upd = 0, 0, 0
    -- PostgreSQL: settings for the statements that join stage and target
    -- only, put back after each (the staging query is the user's)
    local join_settings = {}
    if dialect ~= "redshift" and not dry then
      if opts.work_mem then
        local r = tx:query("SELECT pg_catalog.pg_size_bytes(pg_catalog.current_setting('work_mem')) < "
          .. "pg_catalog.pg_size_bytes($1) AS raise", opts.work_mem)[1]
        if r.raise == true then
          join_settings[#join_settings + 1] = { "work_mem", opts.work_mem }
        end
      end
    end
    local JOINS = { merge = true, delete_matched = true, keep_columns = true, delete_marked = true }
    local join_decided = false
    -- A batch much smaller than the target is joined by probing the target's
    -- unique key index once per staged row, in the stage's order: the
    -- planner's default, a hash join, reads the whole target and inserts the
    -- new rows in hash order (a million staged rows into ten million: half
    -- the backend CPU, tests/bench/merge.sh)
    local function decide_join()
      join_decided = true
      local how = opts.join or "auto"
      if dialect == "redshift" or dry or how == "hash" or not spec.unique_key then
        return
      end
      if how == "auto" then
        local r = info.oid and tx:query("SELECT reltuples::bigint AS n FROM pg_catalog.pg_class WHERE oid = $1",
          info.oid)[1]
        local n = r and math.tointeger(tonumber(r.n)) or -1
        if n < 0 or res.staged * 4 > n then
          return
        end
      end
      join_settings[#join_settings + 1] = { "enable_hashjoin", "off" }
      join_settings[#join_settings + 1] = { "enable_mergejoin", "off" }
    end
    local function with_join_settings(k, fn)
      if JOINS[k] and not join_decided then
        decide_join()
      end
      if not JOINS[k] or #join_settings == 0 then
        return fn()
      end
      local was = {}
      for i, kv in ipairs(join_settings) do
        was[i] = tx:query("SELECT pg_catalog.current_setting($1) AS v", kv[1])[1].v
        tx:query("SELECT pg_catalog.set_config($1, $2, true)", kv[1], kv[2])
      end
      local n = fn()
      for i, kv in ipairs(join_settings) do
        tx:query("SELECT pg_catalog.set_config($1, $2, true)", kv[1], was[i])
      end
      return n
    end
    local guard
    local step_t0 = core.now()
    for _, step in ipairs(M.statements(spec)) do
      local k = step.kind
      local step_done <close> = setmetatable({}, { __close = function()
        local now = core.now()
        core.log("debug", "merge step", { target = label, step = k, ms = now - step_t0 })
        step_t0 = now
      end })
      if k == "lock" then
        -- taken above
      elseif k == "check_null_keys" or k == "check_duplicates" then
        check_counts(tx, step, label, dialect, dry)
      elseif k == "copy" then
        res.staged = M._stage_from_s3(tx, spec, opts)
        res.staging_seconds = (core.now() - started) / 1000
      elseif k == "count_before" or k == "count_after" then
        if dry then
          plan_note(step.sql)
        else
          local row = tx:query(step.sql)[1] or {}
          local n = math.tointeger(tonumber(row.ins or row.n)) or 0
          local upd = math.tointeger(tonumber(row.upd)) or 0
          if k == "count_before" then
            before, before_upd = n, upd
          else
            res.inserted = n - before
            res.updated = row.upd and (upd - before_upd) or (matched - res.inserted)
            if res.inserted + res.updated ~= matched then
              core.log("warn", "merge: the target's tuple counters disagree with MERGE's row count", {
                target = label, merged = matched, inserted = res.inserted, updated = res.updated })
            end
          end
        end
      elseif k == "savepoint" or k == "release" then
        tx:exec(step.sql)
        guard = k == "savepoint" and step or nil
      else
        local n = with_join_settings(k, function()
          return (guard and not dry) and guarded_exec(tx, step.sql, guard, label) or tx:exec(step.sql)
        end)
        if k == "stage" then
          res.staged = n
          res.staging_seconds = (core.now() - started) / 1000
        elseif k == "dedupe" then
          res.deduplicated = res.staged - n
        elseif k == "delete_marked" then
          res.deleted = n
        elseif k == "delete_matched" then
          matched = n
        elseif k == "insert" then
          res.updated = matched
          res.inserted = n - matched
        elseif k == "merge" then
          matched = n
        end
      end
    end
    if opts.cursor then
      opts.cursor[1]:set(opts.cursor[2], tx) -- the cursor commits with the merged rows
    end
    if opts.before_commit then
      opts.before_commit(tx, res) -- inside the transaction: commits or rolls back with the merge
    end
    return res
  end)
  result.seconds = (core.now() - started) / 1000
  core.log("info", "merge", { target = label, strategy = opts.strategy or "delete_insert", staged = result.staged,
    deduplicated = result.deduplicated, deleted = result.deleted, inserted = result.inserted,
    updated = result.updated, seconds = result.seconds, dry_run = dry or nil })
  return result
end

-- S3 sources ----------------------------------------------------------------------

-- merge's own options; everything else goes to lode.copy as COPY options
local MERGE_OPTIONS = {
  target = true, query = true, key = true, strategy = true, dedupe = true, order_by = true,
  delete_when = true, update_columns = true, schema_evolution = true, source_only = true,
  before_commit = true, run = true, cursor = true, work_mem = true, join = true,
}

-- Stage the S3 objects of opts.from with lode.copy, inside the merge's
-- transaction, keeping lode.load_history under the target's name
-- (ledger_table): files already merged into the target are skipped (unless
-- reload = true), and the files staged now are recorded for the target in
-- the merge's transaction, so they count as merged only if it commits. On
-- Redshift the same ledger surrounds the native COPY into the stage.
function M._stage_from_s3(tx, spec, opts)
  local ok, copy = pcall(require, "lode.copy")
  if not ok or type(copy.into) ~= "function" then
    merge_error("unsupported", "merge: S3 sources (from =) need lode.copy, which this lode does not have", 4)
  end
  local copts = {}
  for k, v in pairs(opts) do
    if not MERGE_OPTIONS[k] then
      copts[k] = v
    end
  end
  copts.table = spec.stage
  copts.columns = spec.source_columns
  copts.run = opts.run
  if copts.ledger ~= false then
    copts.ledger_table = spec.target
  end
  return copy.into(tx, copts).rows
end

return M

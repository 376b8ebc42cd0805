-- merge.upsert against the throwaway PostgreSQL, for both strategies: each
-- test compares the target afterwards with rows computed in Lua by a small
-- model of upsert semantics (no SQL involved in the expectation).
local t = require "lode.test"
local lode = require "lode"
local sql = require "lode.sql"
local merge = require "lode.merge"

local STRATEGIES = { "delete_insert", "merge" }

local function connect()
  return lode.warehouse({ url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL"), pool = 4 })
end

-- rows: list of {col = value}; cols: column order for the VALUES list
local function fill(wh, tbl, cols, rows)
  if #rows == 0 then
    return
  end
  local values = {}
  for i, r in ipairs(rows) do
    local v = {}
    for j, c in ipairs(cols) do
      v[j] = sql.literal(r[c])
    end
    values[i] = "(" .. table.concat(v, ", ") .. ")"
  end
  wh:exec(("INSERT INTO %s (%s) VALUES %s"):format(tbl, sql.idents(cols), table.concat(values, ", ")))
end

local function fetch(wh, tbl, order)
  local r = wh:query(("SELECT * FROM %s ORDER BY %s"):format(tbl, order))
  local out = {}
  for i, row in ipairs(r) do
    local copy = {}
    for k, v in pairs(row) do
      if v ~= lode.null then
        copy[k] = v
      end
    end
    out[i] = copy
  end
  return out
end

-- The model: upsert `source` into `target` (lists of rows) by `key`.
-- o.order_by: latest row per key wins; o.deleted(row): a delete marker;
-- o.defaults: values of target columns a new row lacks; o.update: columns
-- updated on a match (default: the non-key columns the source row has).
local function model(target, source, o)
  local function id(r)
    local parts = {}
    for i, k in ipairs(o.key) do
      parts[i] = tostring(r[k])
    end
    return table.concat(parts, "\0")
  end
  -- the source table has every column some row names; the others are NULL
  local cols = {}
  for _, r in ipairs(source) do
    for c in pairs(r) do
      cols[c] = true
    end
  end
  local function value(v)
    if v == lode.null then
      return nil
    end
    return v
  end
  local latest, order = {}, {}
  for _, r in ipairs(source) do
    local k = id(r)
    if not latest[k] then
      order[#order + 1] = k
      latest[k] = r
    elseif o.order_by and r[o.order_by] > latest[k][o.order_by] then
      latest[k] = r
    end
  end
  local by_key, out = {}, {}
  for _, r in ipairs(target) do
    local copy = {}
    for c, v in pairs(r) do
      copy[c] = v
    end
    by_key[id(r)] = copy
  end
  for _, k in ipairs(order) do
    local r = latest[k]
    if o.deleted and o.deleted(r) then
      by_key[k] = nil
    elseif by_key[k] then
      for c in pairs(cols) do
        local is_key = false
        for _, kc in ipairs(o.key) do
          is_key = is_key or kc == c
        end
        if not is_key and (not o.update or o.update[c]) and not (o.source_only or {})[c] then
          by_key[k][c] = value(r[c])
        end
      end
    else
      local new = {}
      for c, v in pairs(o.defaults or {}) do
        new[c] = v
      end
      for c in pairs(cols) do
        if not (o.source_only or {})[c] then
          new[c] = value(r[c])
        end
      end
      by_key[k] = new
    end
  end
  for _, r in pairs(by_key) do
    out[#out + 1] = r
  end
  table.sort(out, function(a, b)
    for _, k in ipairs(o.key) do
      if a[k] ~= b[k] then
        return a[k] < b[k]
      end
    end
    return false
  end)
  return out
end

local function fresh(wh, ddl_target, ddl_source)
  wh:exec("DROP TABLE IF EXISTS m_target, m_source")
  wh:exec(ddl_target)
  wh:exec(ddl_source)
end

local BASE = {}
for i = 1, 10 do
  BASE[i] = { id = i, amount = i * 10, note = "old" .. i, ts = 1 }
end
local COLS = { "id", "amount", "note", "ts" }
local T_DDL = "CREATE TABLE m_target (id int PRIMARY KEY, amount int NOT NULL, note text, ts int)"
local S_DDL = "CREATE TABLE m_source (id int, amount int, note text, ts int)"

local function scenario(name, source, extra)
  for _, strategy in ipairs(STRATEGIES) do
    t.test(("%s (%s)"):format(name, strategy), function()
      local wh = connect()
      fresh(wh, T_DDL, S_DDL)
      fill(wh, "m_target", COLS, BASE)
      fill(wh, "m_source", COLS, source)
      local res = merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source", strategy = strategy })
      t.eq(fetch(wh, "m_target", "id"), model(BASE, source, { key = { "id" } }))
      t.eq(res.staged, #source)
      t.eq(res.deduplicated, 0)
      t.eq(res.deleted, 0)
      t.eq(res.inserted, extra.inserted)
      t.eq(res.updated, extra.updated)
      -- the temp tables went with the transaction
      t.eq(#wh:query("SELECT 1 FROM pg_class WHERE relname LIKE 'lode_stage%' AND pg_table_is_visible(oid)"), 0)
      wh:close()
    end)
  end
end

scenario("inserts only", { { id = 11, amount = 1, note = "n11", ts = 2 }, { id = 12, amount = 2, note = "n12", ts = 2 } },
  { inserted = 2, updated = 0 })
scenario("updates only", { { id = 3, amount = 333, note = "u3", ts = 2 }, { id = 7, amount = 777, note = lode.null, ts = 2 } },
  { inserted = 0, updated = 2 })
scenario("mixed inserts and updates", {
  { id = 1, amount = 100, note = "u1", ts = 2 }, { id = 10, amount = 1000, note = "u10", ts = 2 },
  { id = 20, amount = 2, note = "n20", ts = 2 }, { id = 21, amount = 3, note = "n21", ts = 2 },
  { id = 22, amount = 4, note = "n22", ts = 2 } }, { inserted = 3, updated = 2 })
scenario("an empty batch changes nothing", {}, { inserted = 0, updated = 0 })

for _, strategy in ipairs(STRATEGIES) do
  t.test(("composite keys, key taken from the primary key (%s)"):format(strategy), function()
    local wh = connect()
    fresh(wh, "CREATE TABLE m_target (region text, id int, amount int, PRIMARY KEY (region, id))",
      "CREATE TABLE m_source (region text, id int, amount int)")
    local cols = { "region", "id", "amount" }
    local target = { { region = "eu", id = 1, amount = 1 }, { region = "us", id = 1, amount = 2 }, { region = "eu", id = 2, amount = 3 } }
    local source = { { region = "us", id = 1, amount = 20 }, { region = "us", id = 2, amount = 30 }, { region = "ap", id = 1, amount = 40 } }
    fill(wh, "m_target", cols, target)
    fill(wh, "m_source", cols, source)
    local res = merge.upsert(wh, { target = "m_target", query = "SELECT region, id, amount FROM m_source", strategy = strategy })
    t.eq(fetch(wh, "m_target", "region, id"), model(target, source, { key = { "region", "id" } }))
    t.eq({ res.inserted, res.updated }, { 2, 1 })
    wh:close()
  end)

  t.test(("duplicate keys in one batch: the latest wins with dedupe = latest (%s)"):format(strategy), function()
    local wh = connect()
    fresh(wh, T_DDL, S_DDL)
    fill(wh, "m_target", COLS, BASE)
    local source = {
      { id = 2, amount = 21, note = "first", ts = 5 }, { id = 2, amount = 23, note = "third", ts = 9 },
      { id = 2, amount = 22, note = "second", ts = 7 }, { id = 30, amount = 1, note = "a", ts = 3 },
      { id = 30, amount = 2, note = "b", ts = 4 }, { id = 31, amount = 5, note = "c", ts = 1 },
    }
    fill(wh, "m_source", COLS, source)
    local res = merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source", strategy = strategy,
                                   dedupe = "latest", order_by = "ts" })
    t.eq(fetch(wh, "m_target", "id"), model(BASE, source, { key = { "id" }, order_by = "ts" }))
    t.eq(res, { staged = 6, deduplicated = 3, deleted = 0, inserted = 2, updated = 1, seconds = res.seconds,
                 staging_seconds = res.staging_seconds })
    wh:close()
  end)

  t.test(("duplicate keys without dedupe: refused with counts, target unchanged (%s)"):format(strategy), function()
    local wh = connect()
    fresh(wh, T_DDL, S_DDL)
    fill(wh, "m_target", COLS, BASE)
    fill(wh, "m_source", COLS, { { id = 2, amount = 1, ts = 1 }, { id = 2, amount = 2, ts = 2 }, { id = 2, amount = 3, ts = 3 },
                                 { id = 40, amount = 1, ts = 1 }, { id = 40, amount = 1, ts = 1 }, { id = 41, amount = 1, ts = 1 } })
    local err = t.raises(function()
      merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source", strategy = strategy })
    end, "5 staged rows share 2 keys")
    t.eq(err.code, "duplicate_key")
    t.eq(fetch(wh, "m_target", "id"), BASE)
    wh:close()
  end)

  t.test(("NULL keys are refused with the offending row count (%s)"):format(strategy), function()
    local wh = connect()
    fresh(wh, T_DDL, S_DDL)
    fill(wh, "m_target", COLS, BASE)
    fill(wh, "m_source", COLS, { { id = lode.null, amount = 1 }, { id = 3, amount = 1 }, { id = lode.null, amount = 2 } })
    local err = t.raises(function()
      merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source", strategy = strategy })
    end, "2 staged rows with a NULL key")
    t.eq(err.code, "null_key")
    t.eq(fetch(wh, "m_target", "id"), BASE)
    wh:close()
  end)

  t.test(("delete_when: marked rows are deleted, the rest upserted, latest marker wins (%s)"):format(strategy), function()
    local wh = connect()
    fresh(wh, T_DDL, "CREATE TABLE m_source (id int, amount int, note text, ts int, op char(1))")
    fill(wh, "m_target", COLS, BASE)
    local source = {
      { id = 1, amount = 0, ts = 2, op = "D" },                      -- delete
      { id = 2, amount = 222, note = "u2", ts = 2, op = "U" },       -- update
      { id = 3, amount = 333, ts = 2, op = "U" }, { id = 3, amount = 0, ts = 3, op = "D" }, -- later delete wins
      { id = 4, amount = 0, ts = 2, op = "D" }, { id = 4, amount = 444, note = "back", ts = 3, op = "I" }, -- later upsert wins
      { id = 50, amount = 5, note = "n50", ts = 2, op = "I" },       -- insert
      { id = 51, amount = 0, ts = 2, op = "D" },                     -- delete of an absent row
    }
    fill(wh, "m_source", { "id", "amount", "note", "ts", "op" }, source)
    local res = merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source", strategy = strategy,
                                   dedupe = "latest", order_by = "ts", delete_when = "op = 'D'", source_only = { "op" } })
    local expected = model(BASE, source, { key = { "id" }, order_by = "ts", source_only = { op = true },
                                           deleted = function(r) return r.op == "D" end })
    t.eq(fetch(wh, "m_target", "id"), expected)
    t.eq({ res.staged, res.deduplicated, res.deleted, res.inserted, res.updated }, { 8, 2, 2, 1, 2 })
    wh:close()
  end)

  t.test(("a new source column: add_columns adds it, fail refuses (%s)"):format(strategy), function()
    local wh = connect()
    fresh(wh, T_DDL, "CREATE TABLE m_source (id int, amount int, note text, ts int, channel varchar(12), qty numeric(10,2))")
    fill(wh, "m_target", COLS, BASE)
    local source = { { id = 1, amount = 5, note = "u", ts = 2, channel = "web", qty = 1 }, { id = 60, amount = 6, ts = 2, channel = "shop", qty = 2 } }
    fill(wh, "m_source", { "id", "amount", "note", "ts", "channel", "qty" }, source)
    local err = t.raises(function()
      merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source", strategy = strategy })
    end, "the source has columns not in the target: channel, qty")
    t.eq(err.code, "schema")
    merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source", strategy = strategy, schema_evolution = "add_columns" })
    local types = wh:query([[SELECT column_name AS c, data_type AS t, character_maximum_length AS len, numeric_scale AS scale
      FROM information_schema.columns WHERE table_name = 'm_target' AND column_name IN ('channel', 'qty') ORDER BY column_name]])
    t.eq({ types[1].c, types[1].t, types[1].len }, { "channel", "character varying", 12 })
    t.eq({ types[2].c, types[2].t, types[2].scale }, { "qty", "numeric", 2 })
    local got = fetch(wh, "m_target", "id")
    for _, r in ipairs(got) do
      r.qty = r.qty and math.tointeger(tonumber(r.qty)) -- numeric arrives as a string
    end
    t.eq(got, model(BASE, source, { key = { "id" } }))
    wh:close()
  end)

  t.test(("a NOT NULL column with a default, absent from the source (%s)"):format(strategy), function()
    local wh = connect()
    fresh(wh, "CREATE TABLE m_target (id int PRIMARY KEY, amount int, status text NOT NULL DEFAULT 'new', ts int)",
      "CREATE TABLE m_source (id int, amount int, ts int)")
    local target = { { id = 1, amount = 1, status = "shipped", ts = 1 }, { id = 2, amount = 2, status = "open", ts = 1 } }
    fill(wh, "m_target", { "id", "amount", "status", "ts" }, target)
    local source = { { id = 2, amount = 20, ts = 2 }, { id = 3, amount = 30, ts = 2 } }
    fill(wh, "m_source", { "id", "amount", "ts" }, source)
    local res = merge.upsert(wh, { target = "m_target", query = "SELECT id, amount, ts FROM m_source", strategy = strategy })
    -- the existing row keeps its status, the new one takes the default
    t.eq(fetch(wh, "m_target", "id"), model(target, source, { key = { "id" }, defaults = { status = "new" } }))
    t.eq({ res.inserted, res.updated }, { 1, 1 })
    wh:close()
  end)

  t.test(("update_columns: only those change on a match (%s)"):format(strategy), function()
    local wh = connect()
    fresh(wh, T_DDL, S_DDL)
    fill(wh, "m_target", COLS, BASE)
    local source = { { id = 5, amount = 555, note = "ignored", ts = 9 }, { id = 70, amount = 7, note = "n70", ts = 9 } }
    fill(wh, "m_source", COLS, source)
    merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source", strategy = strategy, update_columns = { "amount" } })
    t.eq(fetch(wh, "m_target", "id"), model(BASE, source, { key = { "id" }, update = { amount = true } }))
    wh:close()
  end)

  t.test(("a re-run of the same batch changes nothing more (%s)"):format(strategy), function()
    local wh = connect()
    fresh(wh, T_DDL, S_DDL)
    fill(wh, "m_target", COLS, BASE)
    local source = { { id = 1, amount = 9, note = "x", ts = 2 }, { id = 99, amount = 9, note = "y", ts = 2 } }
    fill(wh, "m_source", COLS, source)
    local opts = { target = "m_target", query = "SELECT * FROM m_source", strategy = strategy }
    merge.upsert(wh, opts)
    local res = merge.upsert(wh, opts)
    t.eq({ res.inserted, res.updated }, { 0, 2 })
    t.eq(fetch(wh, "m_target", "id"), model(BASE, source, { key = { "id" } }))
    wh:close()
  end)
end

t.test("a key no unique index covers: duplicates are refused up front, with counts", function()
  for _, strategy in ipairs(STRATEGIES) do
    local wh = connect()
    fresh(wh, "CREATE TABLE m_target (id int, amount int)", "CREATE TABLE m_source (id int, amount int)")
    fill(wh, "m_target", { "id", "amount" }, { { id = 1, amount = 1 } })
    fill(wh, "m_source", { "id", "amount" }, { { id = 5, amount = 1 }, { id = 5, amount = 2 }, { id = 6, amount = 1 } })
    local err = t.raises(function()
      merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source", key = "id", strategy = strategy })
    end, "2 staged rows share 1 key")
    t.eq(err.code, "duplicate_key")
    t.eq(fetch(wh, "m_target", "id"), { { id = 1, amount = 1 } })
    wh:close()
  end
end)

t.test("a unique violation on another column is reported as itself, not as duplicate keys", function()
  for _, strategy in ipairs(STRATEGIES) do
    local wh = connect()
    fresh(wh, "CREATE TABLE m_target (id int PRIMARY KEY, amount int, note text UNIQUE, ts int)", S_DDL)
    fill(wh, "m_target", COLS, BASE)
    fill(wh, "m_source", COLS, { { id = 50, amount = 1, note = "old3", ts = 2 } })
    local err = t.raises(function()
      merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source", strategy = strategy })
    end, "m_target_note_key")
    t.eq(err.sqlstate, "23505")
    t.eq(fetch(wh, "m_target", "id"), BASE)
    wh:close()
  end
end)

t.test("a target without a primary key needs key =; bad options are named", function()
  local wh = connect()
  fresh(wh, "CREATE TABLE m_target (id int, amount int)", "CREATE TABLE m_source (id int, amount int)")
  t.raises(function() merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source" }) end, "no key")
  t.raises(function() merge.upsert(wh, { target = "m_nope", query = "SELECT 1 AS id" }) end, "m_nope")
  t.raises(function() merge.upsert(wh, { target = "m_target" }) end, "exactly one source")
  t.raises(function() merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source", key = "id", strategy = "x" }) end,
    "unknown strategy")
  fill(wh, "m_source", { "id", "amount" }, { { id = 1, amount = 2 } })
  local res = merge.upsert(wh, { target = "m_target", query = "SELECT * FROM m_source;", key = "id" })
  t.eq(res.inserted, 1)
  wh:close()
end)

-- The join of stage and target (join = auto | index | hash) changes the plan,
-- never the result: each strategy and join against PostgreSQL's own MERGE of
-- the same batch into a copy of the target (the oracle), on a target large
-- enough (and analyzed) for auto to probe the key index.
t.test("join = auto, index and hash give PostgreSQL's own MERGE result", function()
  local wh = connect()
  wh:exec("DROP TABLE IF EXISTS mj_src, mj_oracle")
  wh:exec("CREATE TABLE mj_src AS SELECT g AS id, g * 3 AS amount, 'new ' || g AS note FROM generate_series(4901, 5200) g")
  wh:exec([[CREATE TABLE mj_oracle AS SELECT g AS id, g AS amount, 'old ' || g AS note FROM generate_series(1, 5000) g]])
  wh:exec("ALTER TABLE mj_oracle ADD PRIMARY KEY (id)")
  wh:exec([[MERGE INTO mj_oracle t USING mj_src s ON t.id = s.id WHEN MATCHED THEN UPDATE SET amount = s.amount,
    note = s.note WHEN NOT MATCHED THEN INSERT (id, amount, note) VALUES (s.id, s.amount, s.note)]])
  for _, strategy in ipairs(STRATEGIES) do
    for _, join in ipairs { "auto", "index", "hash" } do
      wh:exec("DROP TABLE IF EXISTS mj_t")
      wh:exec("CREATE TABLE mj_t AS SELECT g AS id, g AS amount, 'old ' || g AS note FROM generate_series(1, 5000) g")
      wh:exec("ALTER TABLE mj_t ADD PRIMARY KEY (id)")
      wh:exec("ANALYZE mj_t")
      local r = merge.upsert(wh, { target = "mj_t", query = "SELECT * FROM mj_src", strategy = strategy, join = join })
      t.eq({ r.inserted, r.updated }, { 200, 100 }, strategy .. "/" .. join .. ": counts")
      t.eq(wh:query([[SELECT count(*)::int AS n FROM ((SELECT * FROM mj_t EXCEPT SELECT * FROM mj_oracle) UNION ALL
        (SELECT * FROM mj_oracle EXCEPT SELECT * FROM mj_t)) d]])[1].n, 0, strategy .. "/" .. join .. ": the oracle's rows")
      t.eq(wh:query("SELECT current_setting('enable_hashjoin') AS h")[1].h, "on", "the session's settings are left alone")
    end
  end
  t.raises(function() merge.upsert(wh, { target = "mj_t", query = "SELECT * FROM mj_src", join = "nested" }) end,
    "unknown join")
  wh:exec("DROP TABLE mj_src, mj_oracle, mj_t")
end)

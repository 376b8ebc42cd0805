-- lode.spectrum.pseudo — the pseudocolumns "$path" and "$size" of external
-- tables on the PostgreSQL emulation: each row's S3 object URL and that
-- object's size in bytes, selectable and usable anywhere a column is, but
-- not part of SELECT * (AWS: "Pseudocolumns" in the Spectrum guide).
--
-- PostgreSQL has no hidden columns, so a statement naming "$path" or "$size"
-- reads its external tables from a sibling relation in the schema
-- lode_spectrum_pseudo: the same partitions (same bounds and CHECKs, so the
-- same pruning), whose leaves run `lode spectrum scan --pseudo`. It is built
-- from the emulation's registry when first needed and rebuilt when the
-- table's definition or partitions changed (a checksum of its statements is
-- its comment), and dropped with the table (DROP TABLE, a replacing CREATE,
-- a Glue refresh dropping it; after DROP SCHEMA … CASCADE or any drop lode
-- did not see, before the next statement naming a pseudocolumn). In the statement, each such table is replaced by its
-- sibling under the table's name, and a SELECT * over it is written out as
-- the table's own columns. SET spectrum_enable_pseudo_columns TO false turns
-- it off for the session, as on Redshift (the columns are then unknown).

local core = require "lode.core"
local sql = require "lode.sql"
local tok = require "lode.sqltok"
local common = require "lode.spectrum.common"
local catalog = require "lode.spectrum.catalog"
local emulate = require "lode.spectrum.emulate"

local fail = common.fail

local M = {}

M.SCHEMA = "lode_spectrum_pseudo"
M.SETTING = "lode.spectrum_enable_pseudo_columns"

-- the pseudocolumns Redshift has; the ones lode emulates
local PSEUDO = { ["$path"] = true, ["$size"] = true, ["$spectrum_oid"] = false }

--- mentions(toks) -> whether the statement names a pseudocolumn ("$path" quoted)
function M.mentions(toks)
  for _, t in ipairs(toks) do
    if t.type == "ident" and PSEUDO[t.value] ~= nil then
      return true
    end
  end
  return false
end

local function fnv1a(s)
  local h = -3750763034362895579
  for i = 1, #s do
    h = (h ~ s:byte(i)) * 1099511628211
  end
  return ("%016x"):format(h)
end

-- The sibling's name: the table's (cut to fit) and a hash of schema and table.
local function relname(schema, tbl)
  local base = tbl
  if #base > 40 then
    base = base:sub(1, 40)
    while #base > 0 and not utf8.len(base) do
      base = base:sub(1, -2)
    end
  end
  return base .. "_" .. fnv1a(schema .. "\0" .. tbl):sub(1, 12)
end

-- Drop one relation of the sibling schema (a foreign table, or the
-- partitioned table its partitions go with).
local function drop_relation(tx, qname, kind)
  tx:query_raw((kind == "f" and "DROP FOREIGN TABLE IF EXISTS " or "DROP TABLE IF EXISTS ") .. qname .. " CASCADE")
end

--- drop_sibling(tx, schema, table): the table's sibling dropped, if it has
--- one (in tx, a transaction: it goes with the table's own drop).
function M.drop_sibling(tx, schema, tbl)
  if core.dry_run() then
    return
  end
  local qname = sql.qualified(M.SCHEMA, relname(schema, tbl))
  local have = tx:query_raw("SELECT c.relkind AS k FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)",
    qname)[1]
  if have then
    drop_relation(tx, qname, have.k)
  end
end

--- drop_orphans(tx) -> how many siblings were dropped: those whose table is
--- gone or no longer an external table (DROP SCHEMA … CASCADE, a drop run
--- straight on the server).
function M.drop_orphans(tx)
  if core.dry_run() or not tx:query_raw("SELECT pg_catalog.to_regnamespace($1) IS NOT NULL AS e", M.SCHEMA)[1].e then
    return 0
  end
  -- one builder or cleaner at a time (ensure takes the same lock), and the
  -- lists read after it: read before, a table registered and its sibling
  -- built by another session in between looked like an orphan
  tx:query_raw("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('lode.spectrum.pseudo'))")
  local keep = {}
  if tx:query_raw("SELECT pg_catalog.to_regclass('lode.spectrum_tables') IS NOT NULL AS e")[1].e then
    for _, r in ipairs(tx:query_raw("SELECT t.schema_name AS s, t.table_name AS t FROM lode.spectrum_tables t "
        .. "JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name "
        .. "JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name")) do
      keep[relname(r.s, r.t)] = true
    end
  end
  local orphans = {}
  for _, r in ipairs(tx:query_raw("SELECT c.relname AS r, c.relkind AS k FROM pg_catalog.pg_class c "
      .. "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
      .. "AND c.relkind IN ('r', 'p', 'f') AND NOT c.relispartition", M.SCHEMA)) do
    if not keep[r.r] then
      orphans[#orphans + 1] = r
    end
  end
  for _, r in ipairs(orphans) do
    drop_relation(tx, sql.qualified(M.SCHEMA, r.r), r.k)
  end
  return #orphans
end

--- ensure(s, schema, table) -> the sibling relation's qualified name, built
--- or rebuilt when the registry says the table changed.
function M.ensure(s, schema, tbl)
  local def = catalog._read_table(s, "postgres", { schema, tbl })
  local pname = relname(schema, tbl)
  local pdef = {}
  for k, v in pairs(def) do
    pdef[k] = v
  end
  pdef.schema, pdef.table, pdef.pseudo, pdef.replace = M.SCHEMA, pname, true, nil
  pdef.qname = sql.qualified(M.SCHEMA, pname)
  pdef.qname_text = nil
  local dir = s:query("SELECT pg_catalog.current_setting('data_directory') AS d")[1].d
  pdef.env_file = dir .. "/" .. emulate.env_file_name
  local stmts = {}
  for _, st in ipairs(emulate._pg_table_sql(pdef)) do
    stmts[#stmts + 1] = st
  end
  for _, p in ipairs(catalog._registered(s, "postgres", def)) do
    for _, st in ipairs((emulate.pg_partition_sql(pdef, p))) do
      stmts[#stmts + 1] = st
    end
  end
  local version = "lode pseudo " .. fnv1a(table.concat(stmts, ";\n"))
  local have_sql = "SELECT c.relkind AS k, pg_catalog.obj_description(c.oid, 'pg_class') AS v FROM pg_catalog.pg_class c "
    .. "WHERE c.oid = pg_catalog.to_regclass($1)"
  local have = s:query(have_sql, pdef.qname)[1]
  if have and have.v == version then
    return pdef.qname
  end
  s:transaction(function(tx)
    -- concurrent first queries take turns; the later ones find it built
    tx:query("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('lode.spectrum.pseudo'))")
    have = tx:query(have_sql, pdef.qname)[1]
    if have and have.v == version then
      return
    end
    -- lode's own PostgreSQL statements, sent as written (read as Redshift SQL,
    -- the '\\N' in a text table's scan options would lose its backslash)
    tx:query_raw("CREATE SCHEMA IF NOT EXISTS " .. sql.ident(M.SCHEMA))
    if have then
      drop_relation(tx, pdef.qname, have.k)
    end
    for _, st in ipairs(stmts) do
      tx:query_raw(st)
    end
    tx:query_raw(("COMMENT ON %s %s IS %s"):format(#def.partitions == 0 and "FOREIGN TABLE" or "TABLE", pdef.qname,
      sql.literal(version)))
  end)
  return pdef.qname
end

-- Statement rewriting ---------------------------------------------------------------

local is_op, is_word = tok.is_op, tok.is_word

local function is_name(t)
  return t ~= nil and (t.type == "word" or t.type == "ident")
end

-- Words that end a FROM item (an alias is none of them).
local NOT_AN_ALIAS = {
  where = true, group = true, order = true, limit = true, offset = true, having = true, union = true,
  intersect = true, except = true, join = true, inner = true, left = true, right = true, full = true,
  cross = true, natural = true, on = true, using = true, window = true, ["for"] = true, qualify = true,
  lateral = true, tablesample = true, fetch = true, returning = true, set = true, values = true, select = true,
}

-- Each token's paren depth and the index of the '(' enclosing it (0: none).
local function nesting(toks)
  local depth, group, stack = {}, {}, {}
  for k, t in ipairs(toks) do
    if is_op(t, ")") then
      stack[#stack] = nil
    end
    depth[k], group[k] = #stack, stack[#stack] or 0
    if is_op(t, "(") then
      stack[#stack + 1] = k
    end
  end
  return depth, group
end

local function close_of(toks, k)
  return tok.close_of(toks, k) or #toks
end

-- The FROM items of the statement: {first=, last=, parts=, alias=, from=}
-- (parts: the name's parts for a table; from: the FROM or JOIN's index).
local function from_items(toks, group)
  local items = {}
  local function item_at(k, from)
    local it = { first = k, from = from }
    if is_op(toks[k], "(") then
      it.last = close_of(toks, k)
    elseif is_word(toks[k], "lateral") or is_word(toks[k], "only") then
      return item_at(k + 1, from)
    elseif is_name(toks[k]) then
      local parts, j = { toks[k] }, k
      while is_op(toks[j + 1], ".") and is_name(toks[j + 2]) do
        j = j + 2
        parts[#parts + 1] = toks[j]
      end
      it.last = j
      if is_op(toks[j + 1], "(") then
        it.last = close_of(toks, j + 1)    -- a function in FROM
        it.fn = true
      end
      it.parts = parts
    else
      return nil
    end
    local a = it.last + 1
    if is_word(toks[a], "as") then
      a = a + 1
    end
    if is_name(toks[a]) and not (toks[a].type == "word" and NOT_AN_ALIAS[toks[a].value]) then
      it.alias, it.alias_at = toks[a], a
      it.stop = a
      if is_op(toks[a + 1], "(") then
        it.stop = close_of(toks, a + 1)     -- column aliases
      end
    else
      it.stop = it.last
    end
    return it
  end
  for k, t in ipairs(toks) do
    if is_word(t, "from") or is_word(t, "join") then
      local it = item_at(k + 1, k)
      while it do
        items[#items + 1] = it
        if is_word(t, "from") and is_op(toks[it.stop + 1], ",") and group[it.stop + 1] == group[k] then
          it = item_at(it.stop + 2, k)
        else
          it = nil
        end
      end
    end
  end
  return items
end

local function name_text(parts, first, n)
  local q = {}
  for i = first, n do
    q[#q + 1] = sql.ident(parts[i].value)
  end
  return table.concat(q, ".")
end

--- rewrite(s, text, line) -> the statement with its external tables read
--- from their pseudocolumns' siblings (text unchanged when it names no
--- pseudocolumn, or spectrum_enable_pseudo_columns is false).
function M.rewrite(s, text, line)
  local toks = tok.tokenize(text)
  if not M.mentions(toks) or core.dry_run() then
    return text
  end
  for _, t in ipairs(toks) do
    if t.type == "ident" and PSEUDO[t.value] == false then
      error(core.error({ op = "sql", code = "unsupported", line = line, feature = '"' .. t.value .. '"',
        message = ('line %d: the pseudocolumn "%s" (correlated subqueries over external tables) is not emulated by '
          .. 'lode on PostgreSQL; "$path" and "$size" are'):format(line + t.line - 1, t.value) }), 0)
    end
  end
  local on = s:query("SELECT pg_catalog.current_setting($1, true) AS v", M.SETTING)[1].v
  if type(on) == "string" and (on:lower() == "false" or on:lower() == "off" or on == "0" or on:lower() == "no") then
    return text
  end
  if not s:query("SELECT pg_catalog.to_regclass('lode.spectrum_tables') IS NOT NULL AS e")[1].e then
    return text
  end
  -- siblings of tables dropped without lode seeing it (DROP SCHEMA … CASCADE) go first
  s:transaction(M.drop_orphans)
  local depth, group = nesting(toks)
  local items = from_items(toks, group)
  local edits = {}
  local external = {}      -- by item: its columns
  local cache = {}
  for _, it in ipairs(items) do
    if it.parts and not it.fn and #it.parts <= 3 then
      local n = #it.parts
      local key = name_text(it.parts, math.max(1, n - 1), n)
      if cache[key] == nil then
        local r = s:query("SELECT t.schema_name AS s, t.table_name AS t FROM lode.spectrum_tables t "
          .. "JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name "
          .. "JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name "
          .. "WHERE c.oid = pg_catalog.to_regclass($1)", key)[1]
        cache[key] = r and { schema = r.s, table = r.t } or false
        if r then
          local def = catalog._read_table(s, "postgres", { r.s, r.t })
          local cols = {}
          for _, c in ipairs(def.columns) do
            cols[#cols + 1] = c.name
          end
          for _, c in ipairs(def.partitions) do
            cols[#cols + 1] = c.name
          end
          cache[key].columns = cols
          cache[key].sibling = M.ensure(s, r.s, r.t)
        end
      end
      local ext = cache[key]
      if ext then
        it.refname = it.alias and it.alias.value or it.parts[n].value
        external[it] = ext.columns
        local ins = ext.sibling
        if not it.alias then
          ins = ins .. " AS " .. sql.ident(it.parts[n].value)
        end
        if not it.alias and n >= 2 then
          -- schema.table.column elsewhere in the statement: the table's name alone
          local schema_part, table_part = it.parts[n - 1].value, it.parts[n].value
          for k = 1, #toks - 3 do
            if (k < it.first or k > it.last) and is_name(toks[k]) and toks[k].value == schema_part
                and is_op(toks[k + 1], ".") and is_name(toks[k + 2]) and toks[k + 2].value == table_part
                and is_op(toks[k + 3], ".") and not is_op(toks[k - 1], ".") then
              if is_op(toks[k + 4], "*") then
                -- schema.table.*: the table's own columns
                local q = {}
                for i, c in ipairs(ext.columns) do
                  q[i] = sql.ident(table_part) .. "." .. sql.ident(c)
                end
                edits[#edits + 1] = { first = k, last = k + 4, text = table.concat(q, ", ") }
              else
                edits[#edits + 1] = { first = k, last = k + 2, text = sql.ident(table_part) }
              end
            end
          end
        end
        edits[#edits + 1] = { first = it.first, last = it.last, text = ins }
      end
    end
  end
  if next(external) == nil then
    return text
  end
  -- SELECT * and t.* over an external table: its own columns, not the pseudocolumns
  local function cols_of(refname, cols)
    local q = {}
    for i, c in ipairs(cols) do
      q[i] = sql.ident(refname) .. "." .. sql.ident(c)
    end
    return table.concat(q, ", ")
  end
  for k, t in ipairs(toks) do
    if is_op(t, "*") and (is_op(toks[k + 1], ",") or is_word(toks[k + 1], "from")) then
      local prev = toks[k - 1]
      if is_op(prev, ".") and is_name(toks[k - 2]) then
        for it, cols in pairs(external) do
          if toks[k - 2].value == it.refname and not is_op(toks[k - 3], ".") then
            edits[#edits + 1] = { first = k - 2, last = k, text = cols_of(it.refname, cols) }
          end
        end
      elseif is_word(prev, "select") or is_word(prev, "distinct") or is_word(prev, "all") or is_op(prev, ",") then
        -- the FROM of this SELECT: the next FROM in the same parentheses
        local from
        for j = k + 1, #toks do
          if group[j] == group[k] and depth[j] == depth[k] and is_word(toks[j], "from") then
            from = j
            break
          elseif depth[j] < depth[k] then
            break
          end
        end
        local mine, any = {}, false
        for _, it in ipairs(items) do
          -- this FROM's items: after it, in the same parentheses, before the next FROM there
          local owner
          for j = it.first - 1, 1, -1 do
            if group[j] == group[it.first] and (is_word(toks[j], "from")) then
              owner = j
              break
            end
          end
          if from and owner == from then
            mine[#mine + 1] = it
            any = any or external[it] ~= nil
          end
        end
        if any then
          for j = from, #toks do
            if depth[j] < depth[k] then
              break
            elseif group[j] == group[k] and (is_word(toks[j], "using") or is_word(toks[j], "natural")) then
              error(core.error({ op = "sql", code = "unsupported", line = line, feature = "SELECT * with a pseudocolumn",
                message = ("line %d: SELECT * over a JOIN … USING or NATURAL JOIN in a statement naming \"$path\" or "
                  .. "\"$size\" is not emulated by lode on PostgreSQL: list the columns"):format(line + t.line - 1) }), 0)
            end
          end
          local list = {}
          for _, it in ipairs(mine) do
            if external[it] then
              list[#list + 1] = cols_of(it.refname, external[it])
            else
              local ref = it.alias and it.alias.text or (it.parts and it.parts[#it.parts].text)
              if not ref then
                error(core.error({ op = "sql", code = "unsupported", line = line, feature = "SELECT * with a pseudocolumn",
                  message = ("line %d: SELECT * over a FROM item without a name in a statement naming \"$path\" or "
                    .. "\"$size\" is not emulated by lode on PostgreSQL: list the columns"):format(line + t.line - 1) }), 0)
              end
              list[#list + 1] = ref .. ".*"
            end
          end
          edits[#edits + 1] = { first = k, last = k, text = table.concat(list, ", ") }
        end
      end
    end
  end
  table.sort(edits, function(a, b) return a.first < b.first end)
  local out, last = {}, 1
  for i, e in ipairs(edits) do
    if i > 1 and e.first <= edits[i - 1].last then
      fail("unsupported", ("line %d: lode could not rewrite this statement's external tables for \"$path\" / \"$size\"")
        :format(line))
    end
    out[#out + 1] = text:sub(last, toks[e.first].pos - 1)
    out[#out + 1] = e.text
    last = toks[e.last].pos + #toks[e.last].text
  end
  out[#out + 1] = text:sub(last)
  return table.concat(out)
end

return M

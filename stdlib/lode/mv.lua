-- lode.mv — materialized views over loaded and external tables, on both
-- dialects: create (AUTO REFRESH where Redshift allows it), refresh, drop.
--
--   local mv = require "lode.mv"
--   mv.create(wh, { name = "marts.sales_by_customer", query = "SELECT ...", auto_refresh = true })
--   mv.refresh(wh, "marts.sales_by_customer")
--   mv.drop(wh, "marts.sales_by_customer")
--
-- Redshift cannot auto refresh a view that reads external (Spectrum) tables;
-- asked to, lode creates it with AUTO REFRESH NO and says so in the result
-- and the log. PostgreSQL has no BACKUP / AUTO REFRESH options.

local core = require "lode.core"
local sql = require "lode.sql"
local tok = require "lode.sqltok"

local M = {}

local function usage(message)
  error(core.error({ op = "mv", code = "usage", message = "lode.mv: " .. message }), 3)
end

local function check(opts)
  if type(opts) ~= "table" then
    usage("create needs { name = \"schema.view\", query = \"SELECT ...\" }")
  end
  if type(opts.name) ~= "string" and type(opts.name) ~= "table" then
    usage("create needs name")
  end
  if type(opts.query) ~= "string" or not opts.query:find("%S") then
    usage("create needs query = \"SELECT ...\"")
  end
  local stmts = tok.split(opts.query)
  if #stmts ~= 1 then
    usage(("query must be one statement, got %d"):format(#stmts))
  end
  return stmts[1].text:gsub("%s*;%s*$", "")
end

--- references(query) -> {"schema.table", ...}: the qualified names a query
--- mentions (schema-qualified words followed by '.'), lowercased.
function M.references(query)
  local out, seen = {}, {}
  local toks = tok.tokenize(query)
  local sig = {}
  for _, t in ipairs(toks) do
    if t.type ~= "space" and t.type ~= "comment" then
      sig[#sig + 1] = t
    end
  end
  for i = 1, #sig - 2 do
    local a, dot, b = sig[i], sig[i + 1], sig[i + 2]
    if (a.type == "word" or a.type == "ident") and dot.type == "op" and dot.text == "."
        and (b.type == "word" or b.type == "ident") then
      local k = a.value .. "." .. b.value
      if not seen[k] then
        seen[k] = true
        out[#out + 1] = { schema = a.value, name = b.value }
      end
    end
  end
  return out
end

--- create_sql({name, query, auto_refresh, backup, replace, external} [, dialect]) -> {statement, ...}
--- external = true says the query reads external tables (no AUTO REFRESH on Redshift).
function M.create_sql(opts, dialect)
  dialect = dialect or "redshift"
  local query = check(opts)
  local name = sql.qname(opts.name)
  local out = {}
  if opts.replace then
    out[#out + 1] = "DROP MATERIALIZED VIEW IF EXISTS " .. name
  end
  if dialect == "postgres" then
    out[#out + 1] = "CREATE MATERIALIZED VIEW " .. (opts.replace and "" or "IF NOT EXISTS ") .. name .. " AS\n" .. query
    return out
  end
  local head = { "CREATE MATERIALIZED VIEW " .. name }
  if opts.backup ~= nil then
    head[#head + 1] = "BACKUP " .. (opts.backup and "YES" or "NO")
  end
  if opts.auto_refresh ~= nil then
    head[#head + 1] = "AUTO REFRESH " .. ((opts.auto_refresh and not opts.external) and "YES" or "NO")
  end
  out[#out + 1] = table.concat(head, " ") .. "\nAS\n" .. query
  return out
end

--- refresh_sql(name) -> "REFRESH MATERIALIZED VIEW name"
function M.refresh_sql(name)
  return "REFRESH MATERIALIZED VIEW " .. sql.qname(name)
end

--- drop_sql(name) -> "DROP MATERIALIZED VIEW IF EXISTS name"
function M.drop_sql(name)
  return "DROP MATERIALIZED VIEW IF EXISTS " .. sql.qname(name)
end

local function split(name)
  local parts = sql.split_name(name)
  if #parts == 1 then
    return nil, parts[1]
  end
  return parts[#parts - 1], parts[#parts]
end

--- exists(wh, name) -> whether the materialized view exists
function M.exists(wh, name)
  local schema, view = split(name)
  local r
  if wh:get_dialect() == "redshift" then
    r = wh:query("SELECT 1 AS x FROM stv_mv_info WHERE name = $1 AND ($2::varchar IS NULL OR schema = $2)", view, schema)
  else
    r = wh:query("SELECT 1 AS x FROM pg_matviews WHERE matviewname = $1 AND schemaname = COALESCE($2, current_schema())",
      view, schema)
  end
  return r[1] ~= nil
end

-- Whether the query reads a table of an external schema (Redshift).
local function reads_external(wh, query)
  local refs = M.references(query)
  if #refs == 0 then
    return false
  end
  local r = wh:query("SELECT schemaname FROM svv_external_schemas")
  local ext = {}
  for _, row in ipairs(r) do
    ext[tostring(row.schemaname):lower()] = true
  end
  for _, ref in ipairs(refs) do
    if ext[ref.schema:lower()] then
      return true
    end
  end
  return false
end

--- create(wh, {name, query, auto_refresh, backup, replace}) -> {created=,
--- auto_refresh=, statements=}: creates the view unless it exists (replace
--- drops it first). AUTO REFRESH is asked of Redshift only when the query
--- reads no external table.
function M.create(wh, opts)
  check(opts)
  local dialect = wh:get_dialect()
  local o = {}
  for k, v in pairs(opts) do
    o[k] = v
  end
  local note
  if dialect == "redshift" and o.auto_refresh and o.external == nil then
    o.external = reads_external(wh, o.query)
  end
  if dialect == "redshift" and o.auto_refresh and o.external then
    note = "reads an external table: Redshift cannot auto refresh it, created with AUTO REFRESH NO"
    require("lode").log.warn(("mv %s: %s"):format(sql.qname(o.name), note))
  end
  if not o.replace and dialect == "redshift" and M.exists(wh, o.name) then
    return { created = false, statements = {} }
  end
  local stmts = M.create_sql(o, dialect)
  for _, s in ipairs(stmts) do
    wh:exec(s)
  end
  return { created = true, statements = stmts, note = note,
           auto_refresh = dialect == "redshift" and (o.auto_refresh and not o.external) or false }
end

--- refresh(wh, name): REFRESH MATERIALIZED VIEW
function M.refresh(wh, name)
  wh:exec(M.refresh_sql(name))
end

--- drop(wh, name): DROP MATERIALIZED VIEW IF EXISTS
function M.drop(wh, name)
  wh:exec(M.drop_sql(name))
end

return M

-- lode.spectrum.emulate — external tables on PostgreSQL: partitioned
-- tables over file_fdw leaves that run `lode spectrum scan`, their registry
-- rows, and the AWS env file the scan programs read.

local core = require "lode.core"
local sql = require "lode.sql"
local common = require "lode.spectrum.common"
local catalog = require "lode.spectrum.catalog"
local textfmt = require "lode.spectrum.textfmt"

local fail = common.fail

local M = {}

-- PostgreSQL emulation --------------------------------------------------------------------
--
-- An external table is a table PARTITIONED BY LIST on its first partition
-- column, with one sub-table per value PARTITIONED BY LIST on the next, down
-- to leaves that are file_fdw foreign tables running
--   . <data dir>/lode_spectrum_aws.env && exec <lode> spectrum scan <folder> --column … --value …
-- so every query lists and reads S3 live and PostgreSQL prunes partitions
-- on the partition columns. The AWS settings (endpoint, region, keys) reach
-- the server's child process through that env file, written by the server
-- itself (COPY … FROM STDIN, then TO PROGRAM: mode 0600, owned by the
-- server's user), so no secret is ever part of a statement, a bind
-- parameter, a catalog row or an error message.

M.pg_server = "lode_spectrum"
M.env_file_name = "lode_spectrum_aws.env"

local PG_TYPES = { string = "text", ["varchar(max)"] = "varchar", super = "jsonb", float = "real",
  double = "double precision", tinyint = "smallint", ["varbyte"] = "bytea" }

local function pg_type(t)
  local l = t:lower()
  return PG_TYPES[l] or t
end
M._pg_type = pg_type

-- 64-bit FNV-1a of a string, as 16 hex digits: short stable partition names.
local function fnv1a(s)
  local h = -3750763034362895579 -- 0xcbf29ce484222325
  for i = 1, #s do
    h = h ~ s:byte(i)
    h = h * 1099511628211
  end
  return ("%016x"):format(h)
end

local function sub_name(def, level, values)
  local key = { tostring(level) }
  for i = 1, level do
    key[#key + 1] = values[i]
  end
  local base = def.table
  local limit = 40
  if #base > limit then
    base = sql.truncated_ident(base:sub(1, limit + 4), "postgres"):sub(1, limit)
    while #base > 0 and not utf8.len(base) do
      base = base:sub(1, -2)
    end
  end
  return ("%s_p%s"):format(base, fnv1a(common.partition_key(key)):sub(1, 12))
end

local function sqlstate(e)
  return type(e) == "table" and (e.sqlstate or e.code) or nil
end

-- String partition keys (`year string`, as crawlers make them) -------------------------
--
-- Redshift compares a character value with a number by casting it to the
-- number's type (`year = 2024` is `year::integer = 2024`, and a value that is
-- no number fails the query, "Invalid digit"); `year = '2024'` compares the
-- strings. PostgreSQL has no text = integer operator, and adding one changes
-- `varchar = int` for every user of the database, so lode adds none: its
-- Redshift SQL path (lode.spectrum.keycast) writes the cast into the
-- statement, as lode.rs_key_<type>(year), an inlinable SQL function that is
-- the cast for text and the identity for a number. String keys are text
-- columns (text = '2024' stays PostgreSQL's own operator, so LIST partition
-- pruning applies), and each partition of a numeric-looking value carries
-- CHECK constraints of the casts' form, so constraint exclusion prunes
-- `year = 2024` too.

local function string_key(t)
  local l = t:lower():gsub("%s+", " ")
  return l == "string" or l == "text" or l:match("^varchar") ~= nil or l:match("^character varying") ~= nil
    or l:match("^nvarchar") ~= nil
end
M._string_key = string_key

-- The cast functions, by the type of the number compared with.
M.KEY_CAST = { int4 = "integer", int8 = "bigint", numeric = "numeric" }
local NUMBER_TYPES = { "smallint", "integer", "bigint", "numeric", "real", "double precision" }

--- key_cast_sql() -> statements creating lode.rs_key_int4/_int8/_numeric:
--- for text the cast to that type, for a number the number itself.
function M.key_cast_sql()
  local out = {}
  for name, ty in pairs(M.KEY_CAST) do
    local f = "lode.rs_key_" .. name
    out[#out + 1] = ("CREATE OR REPLACE FUNCTION %s(text) RETURNS %s LANGUAGE sql IMMUTABLE PARALLEL SAFE "
      .. "AS 'SELECT $1::%s'"):format(f, ty, ty)
    for _, nt in ipairs(NUMBER_TYPES) do
      out[#out + 1] = ("CREATE OR REPLACE FUNCTION %s(%s) RETURNS %s LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        .. "AS 'SELECT $1'"):format(f, nt, nt)
    end
  end
  return out
end

-- The text/number operators an earlier lode created in schema public
-- (functions lode.rs_cmp_*): their names and argument types.
local OLD_OPERATORS_SQL = "SELECT o.oprname AS op, format_type(o.oprleft, NULL) AS l, format_type(o.oprright, NULL) AS r "
  .. "FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace JOIN pg_proc p ON p.oid = o.oprcode "
  .. "JOIN pg_namespace pn ON pn.oid = p.pronamespace "
  .. "WHERE n.nspname = 'public' AND pn.nspname = 'lode' AND left(p.proname, 7) = 'rs_cmp_'"

--- drop_public_operators(wh): the text/number operators an earlier lode
--- created in schema public are dropped (one catalog query when there are
--- none). One a view depends on is moved to schema lode instead, where no
--- search_path finds it and the view keeps working.
function M.drop_public_operators(wh)
  local rows = wh:query(OLD_OPERATORS_SQL)
  for _, r in ipairs(rows) do
    local sig = ("%s (%s, %s)"):format(r.op, r.l, r.r)
    local ok, e = pcall(wh.exec, wh, "DROP OPERATOR IF EXISTS public." .. sig)
    if not ok and sqlstate(e) == "2BP01" then -- depended on
      ok, e = pcall(wh.exec, wh, "ALTER OPERATOR public." .. sig .. " SET SCHEMA lode")
    end
    if not ok then
      core.log("warn", ("spectrum: cannot remove the operator public.%s an earlier lode created (it changes "
        .. "text/number comparisons for every user of the database): drop it as its owner"):format(sig),
        { error = type(e) == "table" and e.message or tostring(e) })
    end
  end
  return #rows
end

-- The cast functions, created when missing (under an advisory lock: parallel
-- first setups take turns), and the old operators in public removed.
local function key_casts(wh)
  local have_sql = "SELECT to_regprocedure('lode.rs_key_numeric(double precision)') IS NOT NULL AS ok"
  if not wh:query(have_sql)[1].ok then
    local ok, e = pcall(wh.transaction, wh, function(tx)
      tx:query("SELECT pg_advisory_xact_lock(hashtext('lode.spectrum.setup'))")
      if tx:query(have_sql)[1].ok then
        return
      end
      for _, st in ipairs(M.key_cast_sql()) do
        tx:exec(st)
      end
    end)
    if not ok then
      core.log("warn", "spectrum: the cast functions for string partition keys could not be created; "
        .. "compare string keys with strings ('2024')", { error = type(e) == "table" and e.message or tostring(e) })
    end
  end
  M.drop_public_operators(wh)
end
M._key_casts = key_casts

-- CHECK constraints of a string key's numeric-looking value, in the form the
-- inlined comparison functions take, for constraint exclusion.
local INT_RANGE = { smallint = 32767, integer = 2147483647 }
local function string_key_checks(col, v)
  local out = {}
  local id = sql.ident(col)
  local digits = v:match("^[+-]?(%d+)$")
  if digits then
    local n = math.tointeger(tonumber(v))
    for _, ty in ipairs({ "smallint", "integer", "bigint" }) do
      local max = INT_RANGE[ty]
      if n and #digits <= 18 and (not max or (n <= max and n >= -max - 1)) then
        out[#out + 1] = ("CHECK ((%s)::%s = %d::%s)"):format(id, ty, n, ty)
      end
    end
  end
  if v:match("^[+-]?%d+%.?%d*$") or v:match("^[+-]?%.%d+$") then
    out[#out + 1] = ("CHECK ((%s)::numeric = %s::numeric)"):format(id, sql.literal(v))
  end
  return out
end

function M._pg_table_sql(def)
  local out = {}
  if def.replace then
    out[#out + 1] = "DROP TABLE IF EXISTS " .. def.qname .. " CASCADE"
  end
  local cols = {}
  for i, c in ipairs(def.columns) do
    cols[i] = "  " .. sql.ident(c.name) .. " " .. pg_type(c.type)
  end
  if def.pseudo then
    -- the pseudocolumns' relation (lode.spectrum.pseudo): the scan prints them after the columns
    cols[#cols + 1] = '  "$path" varchar'
    cols[#cols + 1] = '  "$size" bigint'
  end
  for _, p in ipairs(def.partitions) do
    cols[#cols + 1] = "  " .. sql.ident(p.name) .. " " .. (string_key(p.type) and "text" or pg_type(p.type))
  end
  local head = "CREATE TABLE IF NOT EXISTS " .. def.qname .. " (\n" .. table.concat(cols, ",\n") .. "\n)"
  if #def.partitions > 0 then
    out[#out + 1] = head .. "\nPARTITION BY LIST (" .. sql.ident(def.partitions[1].name) .. ")"
  else
    -- no partitions: the table itself reads the whole location
    out[#out + 1] = "CREATE FOREIGN TABLE IF NOT EXISTS " .. def.qname .. " (\n" .. table.concat(cols, ",\n")
      .. "\n) SERVER " .. M.pg_server .. " OPTIONS (" .. M._program_options(def, def.location, {}) .. ")"
  end
  return out
end

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end
M._shell_quote = shell_quote

-- The lode executable the server runs: an absolute path.
function M.lode_binary()
  -- spectrum.lode_bin (set on the public module) overrides where the binary is
  local bin = package.loaded["lode.spectrum"] and package.loaded["lode.spectrum"].lode_bin or os.getenv("LODE_BIN") or core.exepath()
  if not bin then
    bin = arg and arg[0] or "lode"
    if not bin:find("/", 1, true) then
      for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
        local f = io.open(dir .. "/" .. bin, "r")
        if f then
          f:close()
          bin = dir .. "/" .. bin
          break
        end
      end
    end
  end
  if bin:sub(1, 1) ~= "/" then
    bin = (os.getenv("PWD") or ".") .. "/" .. bin
  end
  return bin
end

function M._program(def, location, values)
  local argv = { M.lode_binary(), "spectrum", "scan", common.dir_url(location) }
  for _, c in ipairs(def.columns) do
    argv[#argv + 1] = "--column"
    argv[#argv + 1] = c.name
  end
  for _, v in ipairs(values) do
    argv[#argv + 1] = "--value"
    argv[#argv + 1] = v
  end
  if def.pseudo then
    argv[#argv + 1] = "--pseudo"
  end
  local text = textfmt.scan_options(def)
  if text then
    argv[#argv + 1] = "--text"
    argv[#argv + 1] = require("lode.json").encode(text)
  end
  for i, a in ipairs(argv) do
    argv[i] = shell_quote(a)
  end
  local env = def.env_file and (". " .. shell_quote(def.env_file) .. " && ") or ""
  return env .. "exec " .. table.concat(argv, " ")
end

function M._program_options(def, location, values)
  return "program " .. sql.literal(M._program(def, location, values)) .. ", format 'text'"
end

--- pg_partition_sql(def, part) -> statements creating the partition's
--- sub-tables (IF NOT EXISTS) and its file_fdw leaf.
function M.pg_partition_sql(def, part)
  local out = {}
  local parent = def.qname
  local n = #def.partitions
  for level = 1, n do
    local name = sql.qualified(def.schema, sub_name(def, level, part.values))
    local bound = " PARTITION OF " .. parent
    local key = def.partitions[level]
    if string_key(key.type) then
      local checks = string_key_checks(key.name, part.values[level])
      if #checks > 0 then
        bound = bound .. " (" .. table.concat(checks, ", ") .. ")"
      end
    end
    bound = bound .. " FOR VALUES IN (" .. sql.literal(part.values[level]) .. ")"
    if level < n then
      out[#out + 1] = "CREATE TABLE IF NOT EXISTS " .. name .. bound
        .. " PARTITION BY LIST (" .. sql.ident(def.partitions[level + 1].name) .. ")"
    else
      out[#out + 1] = "CREATE FOREIGN TABLE " .. name .. bound .. " SERVER " .. M.pg_server
        .. " OPTIONS (" .. M._program_options(def, part.location, part.values) .. ")"
    end
    parent = name
  end
  return out, sub_name(def, n, part.values)
end

-- The AWS settings of this process, for the scan programs the server runs.
local AWS_VARS = { "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
  "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN", "AWS_S3_ADDRESSING_STYLE" }

function M._env_lines()
  local lines = {}
  for _, k in ipairs(AWS_VARS) do
    local v = os.getenv(k)
    if v and v ~= "" then
      if v:find("[%c\\]") then
        fail("usage", ("%s contains a control character or a backslash; it cannot be passed to the emulation"):format(k))
      end
      lines[#lines + 1] = "export " .. k .. "=" .. shell_quote(v)
    end
  end
  return lines
end

local function privilege_error(e, what)
  local st = sqlstate(e)
  local msg = type(e) == "table" and tostring(e.message) or tostring(e)
  if st == "42501" then
    fail("privilege", ("the local Spectrum emulation needs %s: %s. Run as a superuser, or GRANT pg_execute_server_program, "
      .. "pg_write_server_files and pg_read_all_settings to this user (and have file_fdw installed by a superuser)")
      :format(what, msg), { sqlstate = st }, 4)
  elseif st == "58P01" or st == "0A000" or msg:find("file_fdw", 1, true) then
    fail("file_fdw_missing", ("the local Spectrum emulation needs the file_fdw extension (PostgreSQL contrib, e.g. Debian "
      .. "postgresql-15 ships it): %s"):format(msg), { sqlstate = st }, 4)
  end
  error(e, 0)
end

-- file_fdw, the server, the catalog and the env file: everything the
-- emulated tables need, created when missing.
function M._pg_setup(wh)
  local stmts = { "CREATE EXTENSION IF NOT EXISTS file_fdw",
    "CREATE SERVER IF NOT EXISTS " .. M.pg_server .. " FOREIGN DATA WRAPPER file_fdw" }
  local ok, e = pcall(function()
    if core.dry_run() then
      for _, s in ipairs(stmts) do
        wh:exec(s)
      end
      return
    end
    -- concurrent first setups take turns (IF NOT EXISTS alone races on the catalog's unique indexes)
    wh:transaction(function(tx)
      tx:query("SELECT pg_advisory_xact_lock(hashtext('lode.spectrum.registry'))")
      for _, s in ipairs(stmts) do
        tx:exec(s)
      end
    end)
  end)
  if not ok then
    privilege_error(e, "the file_fdw extension and a server for it")
  end
  catalog.create_registry(wh)
  key_casts(wh)
  catalog.pg_views(wh)
  local env_file
  local ok, e = pcall(function()
    local dir = wh:query("SELECT current_setting('data_directory') AS d")[1].d
    env_file = dir .. "/" .. M.env_file_name
    local lines = M._env_lines()
    if core.dry_run() then
      return
    end
    -- The lines reach the server as COPY data, which no log_statement
    -- setting logs (bind parameters are logged), and the server writes the
    -- file through a shell with umask 077: mode 0600, owned by its user
    -- (COPY … TO 'file' would make it 0644). A new file replaces the old
    -- one whole, so a scan never reads half of it.
    local program = ("umask 077 && t=$(mktemp %s) && cat > \"$t\" && mv -f \"$t\" %s")
      :format(shell_quote(dir .. "/.lode_spectrum_aws.XXXXXX"), shell_quote(env_file))
    wh:transaction(function(tx)
      tx:exec("CREATE TEMP TABLE lode_spectrum_env (n int, line text) ON COMMIT DROP")
      local w = tx:copy_in("COPY lode_spectrum_env (n, line) FROM STDIN", "text")
      for i, l in ipairs(lines) do
        w:write(("%d\t%s\n"):format(i, (l:gsub("[\\\t\n\r]", { ["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r" }))))
      end
      w:finish()
      tx:exec("COPY (SELECT line FROM lode_spectrum_env ORDER BY n) TO PROGRAM " .. sql.literal(program))
    end)
  end)
  if not ok then
    privilege_error(e, "to write the AWS settings for the scan program into the data directory")
  end
  return env_file
end

--- register_table(wh, def): the table's row in lode.spectrum_tables.
function M.register_table(wh, def)
  local names, types, pnames, ptypes = {}, {}, {}, {}
  for i, c in ipairs(def.columns) do
    names[i], types[i] = c.name, c.type
  end
  for i, c in ipairs(def.partitions) do
    pnames[i], ptypes[i] = c.name, c.type
  end
  local fo = nil
  if def.row_format or (def.properties and next(def.properties)) then
    fo = require("lode.json").encode({ row_format = def.row_format or {}, properties = def.properties or {} })
  end
  wh:exec("INSERT INTO lode.spectrum_tables (schema_name, table_name, location, format, column_names, column_types, "
    .. "partition_names, partition_types, format_options) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    .. "ON CONFLICT (schema_name, table_name) DO UPDATE SET location = EXCLUDED.location, format = EXCLUDED.format, "
    .. "column_names = EXCLUDED.column_names, column_types = EXCLUDED.column_types, "
    .. "partition_names = EXCLUDED.partition_names, partition_types = EXCLUDED.partition_types, "
    .. "format_options = EXCLUDED.format_options",
    def.schema, def.table, def.location, def.format, common.values_json(names), common.values_json(types),
    common.values_json(pnames), common.values_json(ptypes), fo)
end


--- drop_partition(wh, def, part): its file_fdw leaf, sub-tables left empty and registry row.
function M.drop_partition(wh, def, part)
  wh:exec("DROP FOREIGN TABLE IF EXISTS " .. sql.qualified(def.schema, part.relname or sub_name(def, #def.partitions, part.values)))
  wh:exec('DELETE FROM lode.spectrum_partitions WHERE schema_name = $1 AND table_name = $2 AND "values" = $3',
    def.schema, def.table, common.values_json(part.values))
  -- sub-tables left without partitions go too
  for level = #def.partitions - 1, 1, -1 do
    local name = sub_name(def, level, part.values)
    local r = wh:query("SELECT count(*) AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent "
      .. "JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relname = $2", def.schema, name)
    if tonumber(r[1] and r[1].n or 1) == 0 then
      wh:exec("DROP TABLE IF EXISTS " .. sql.qualified(def.schema, name))
    else
      break
    end
  end
end

-- Register one partition in the emulation: its file_fdw leaf and catalog row.
function M.add_partition(wh, def, p)
  local stmts, relname = M.pg_partition_sql(def, p)
  wh:transaction(function(tx)
    for _, st in ipairs(stmts) do
      tx:exec(st)
    end
    tx:exec('INSERT INTO lode.spectrum_partitions VALUES ($1, $2, $3, $4, $5)', def.schema, def.table,
      common.values_json(p.values), p.location, relname)
  end)
end

return M

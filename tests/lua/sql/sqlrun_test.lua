-- Redshift SQL scripts run unchanged against PostgreSQL through lode.sqlrun.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local sqlrun = require "lode.sqlrun"

local root = os.getenv("LODE_ROOT") or "."

local function warehouse()
  t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  return lode.warehouse({ url = os.getenv("LODE_TEST_PG_URL"), pool = 2 })
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

t.test("a staging-and-upsert block with #temp tables and Redshift table attributes", function()
  local wh = warehouse()
  wh:exec("drop table if exists sales_fact")
  sqlrun.run(wh, read(root .. "/tests/sql/corpus/staging_upsert.sql"), { file = "staging_upsert.sql" })
  local r = wh:query("select sale_id, customer_id, amount, note from sales_fact order by customer_id")
  t.eq(#r, 2)
  t.eq(r[1].customer_id, 1)
  t.eq(r[1].amount, "10.50")
  t.eq(r[2].note, "it's")
  t.ok(math.type(r[1].sale_id) == "integer", "IDENTITY became a generated identity column")
  -- re-running the same upsert replaces the rows instead of doubling them
  sqlrun.run(wh, read(root .. "/tests/sql/corpus/staging_upsert.sql"), { file = "staging_upsert.sql" })
  t.eq(wh:query("select count(*) as n from sales_fact")[1].n, 2)
end)

t.test("TRUNCATE inside BEGIN commits the open transaction, as on Redshift", function()
  local wh = warehouse()
  sqlrun.run(wh, [[
    drop table if exists tr_a; drop table if exists tr_b;
    create table tr_a (x int); create table tr_b (x int);
    insert into tr_b values (1);
    begin;
    insert into tr_a values (42);
    truncate tr_b;
    rollback;]], { file = "truncate.sql" })
  t.eq(wh:query("select count(*) as n from tr_a")[1].n, 1, "the insert before TRUNCATE was committed")
  t.eq(wh:query("select count(*) as n from tr_b")[1].n, 0)
end)

t.test("external-table DDL inside a transaction block fails the way Redshift does", function()
  local wh = warehouse()
  local err = t.raises(function()
    sqlrun.run(wh, [[
begin;
create external table spectrum.t (a int) stored as parquet location 's3://b/t/';
commit;]], { file = "ext.sql" })
  end, "ext.sql:2: CREATE EXTERNAL TABLE cannot run inside a transaction block")
  t.eq(err.sqlstate, "25001")
end)

t.test("a failing statement names the script and its line; earlier statements stay done", function()
  local wh = warehouse()
  wh:exec("drop table if exists fail_at")
  local err = t.raises(function()
    sqlrun.run(wh, "create table fail_at (x int);\n\ninsert into fail_at values ('not a number');",
      { file = "bad.sql" })
  end, "bad.sql:3:")
  t.contains(tostring(err), "invalid input syntax for type integer")
  t.eq(wh:query("select count(*) as n from fail_at")[1].n, 0)
end)

t.test("a syntax error stops the script before anything runs", function()
  local wh = warehouse()
  wh:exec("drop table if exists never_made")
  t.raises(function()
    sqlrun.run(wh, "create table never_made (x int); select 'unterminated", { file = "syntax.sql" })
  end, "syntax.sql: line 1: unterminated string literal")
  t.eq(wh:query("select to_regclass('never_made') as r")[1].r, lode.null)
end)

t.test("a statement lode cannot read fails at its line once the statements before it ran (#15)", function()
  local wh = warehouse()
  wh:exec("drop table if exists before_ssh")
  local err = t.raises(function()
    sqlrun.run(wh, "create table before_ssh (x int);\ninsert into before_ssh values (1);\n"
      .. "copy before_ssh from 's3://b/ssh_manifest'\niam_role 'arn:aws:iam::0:role/r'\nssh;\n"
      .. "insert into before_ssh values (2);", { file = "ssh.sql" })
  end, "ssh.sql:3: COPY … SSH is not emulated")
  t.eq(err.code, "unsupported")
  t.eq(err.line, 3)
  t.eq(wh:query("select string_agg(x::text, ',') as xs from before_ssh")[1].xs, "1")
  -- an option lode's parser does not know: Redshift's syntax error, at its statement
  wh:exec("drop table if exists before_bad")
  err = t.raises(function()
    sqlrun.run(wh, "create table before_bad (x int);\ncopy before_bad from 's3://b/k' iam_role 'r'\nfrobnicate;",
      { file = "bad_option.sql" })
  end, "bad_option.sql:3: unknown or misplaced COPY option near 'frobnicate'")
  t.eq(err.code, "syntax_error")
  t.eq(wh:query("select to_regclass('before_bad')::text as r")[1].r, "before_bad")
end)

t.test("on Redshift a statement lode cannot read is sent as written, with the rest (#15)", function()
  local bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
  local dir = t.tmpdir()
  local path = dir .. "/native.sql"
  local stmts = {
    "create table native (x int)",
    "copy native from 's3://b/ssh_manifest' iam_role 'arn:aws:iam::0:role/r' ssh",
    "copy native from 's3://b/p/' iam_role 'arn:aws:iam::0:role/r' format as parquet maxerror 10",
    "copy native from 's3://b/k' iam_role 'arn:aws:iam::0:role/r' some_future_option 3",
    "insert into native values (1)",
  }
  local f = assert(io.open(path, "w"))
  f:write(table.concat(stmts, ";\n") .. ";\n")
  f:close()
  local r = proc.run({ bin, "sql", "--plan", "--dialect", "redshift", "--warehouse", "redshift://nobody@127.0.0.1:1/dev",
    path })
  t.eq(r.status, 0, r.stderr)
  for _, stmt in ipairs(stmts) do
    t.contains(r.stdout, stmt .. ";")
  end
end)

t.test("lode plan on the Redshift dialect prints the statements unchanged", function()
  local bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
  local r = proc.run({ bin, "sql", "--plan", "--dialect", "redshift", "--warehouse", "redshift://nobody@127.0.0.1:1/dev",
    root .. "/tests/sql/corpus/staging_upsert.sql" })
  t.eq(r.status, 0, r.stderr)
  local script = read(root .. "/tests/sql/corpus/staging_upsert.sql")
  for line in script:gmatch("[^\n]+") do
    if not line:match("^%-%-") and not line:match("^SELECT") then
      t.contains(r.stdout, line)
    end
  end
end)

-- copy.into with format = "json" on PostgreSQL, emulated from s3rver:
-- newline-delimited and concatenated (pretty-printed) objects, 'auto' and
-- 'auto ignorecase', a jsonpaths file, MAXERROR into lode.load_errors,
-- invalid JSON, gzip. Rows are compared with DuckDB reading the same file.
local t = require "lode.test"
local lode = require "lode"
local copy = require "lode.copy"
local proc = require "lode.proc"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local s3 = require "lode.s3"
local root = os.getenv("LODE_ROOT") or "."

local bucket = "lode-json-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)
local wh = lode.warehouse { url = url }
local tmp = os.tmpname()
os.remove(tmp)
assert(proc.run({ "mkdir", "-p", tmp }).status == 0)

local function fresh(name, ddl)
  wh:exec(("DROP TABLE IF EXISTS %s"):format(name))
  wh:exec(("CREATE TABLE %s (%s)"):format(name, ddl))
  wh:exec("CREATE SCHEMA IF NOT EXISTS lode")
  pcall(wh.exec, wh, ("DELETE FROM lode.load_history WHERE table_name = '%s'"):format(name))
  pcall(wh.exec, wh, ("DELETE FROM lode.load_errors WHERE table_name = '%s'"):format(name))
end

local function count(name)
  return wh:query(("SELECT count(*) AS n FROM %s"):format(name))[1].n
end

local NDJSON = table.concat({
  '{"id": 1, "name": "alice", "amount": 12.5, "day": "2024-01-02", "ok": true, "big": 9007199254740993, "meta": {"a": [1, 2]}}',
  '{"amount": -3.25, "id": 2, "name": "b\\u00f6b \\"the\\" \\ud83d\\ude00\\ttab", "day": "2024-02-29", "ok": false, "big": -1, "meta": null}',
  '{"id": 3, "name": "", "ok": null, "extra": {"ignored": true}}',
  '   ',
  '{"id": 4, "name": "line\\nbreak", "amount": 0, "day": "2023-12-31", "ok": true, "big": 0, "meta": [true, "x"]}',
}, "\n") .. "\n"

local COLS = "id int, name varchar(40), amount numeric(10,2), day date, ok boolean, big bigint, meta jsonb"

t.test("newline-delimited objects with 'auto': the table equals DuckDB's reading", function()
  fresh("copy_json", COLS)
  local path = tmp .. "/rows.json"
  local f = assert(io.open(path, "wb"))
  f:write(NDJSON)
  f:close()
  s3.put(B .. "nd/rows.json", NDJSON)
  local r = copy.into(wh, { table = "copy_json", from = B .. "nd/", format = "json", json = "auto" })
  t.eq({ r.files, r.rows, r.errors }, { 1, 4, 0 })
  local q = function(tool, text)
    if tool == "pg" then
      return wh:query(text)[1].s
    end
    local res = proc.run({ "node", root .. "/tests/tools/duckdb.js", text })
    t.eq(res.status, 0, res.stdout)
    return (res.stdout:match('"s":"(.*)"}%]'):gsub('\\(.)', { n = "\n", ['"'] = '"', ["\\"] = "\\", t = "\t" }))
  end
  local want = q("duck", ([[SELECT string_agg(concat_ws('|', id, coalesce(name, '<null>'), coalesce(amount::VARCHAR, '<null>'),
      coalesce(day::VARCHAR, '<null>'), coalesce(ok::VARCHAR, '<null>'), coalesce(big::VARCHAR, '<null>')), ';' ORDER BY id) AS s
    FROM read_json('%s', format = 'newline_delimited', columns = {'id': 'INT', 'name': 'VARCHAR', 'amount': 'DECIMAL(10,2)',
      'day': 'DATE', 'ok': 'BOOLEAN', 'big': 'BIGINT'})]]):format(path))
  local got = q("pg", [[SELECT string_agg(concat_ws('|', id, coalesce(name, '<null>'), coalesce(amount::text, '<null>'),
      coalesce(day::text, '<null>'), coalesce(ok::text, '<null>'), coalesce(big::text, '<null>')), ';' ORDER BY id) AS s FROM copy_json]])
  t.eq(got, want)
  t.eq(wh:query("SELECT big FROM copy_json WHERE id = 1")[1].big, 9007199254740993, "numbers keep their digits")
  t.eq(wh:query("SELECT meta->'a'->>1 AS x FROM copy_json WHERE id = 1")[1].x, "2", "a nested object loads as JSON")
  t.eq(wh:query("SELECT name FROM copy_json WHERE id = 2")[1].name, 'böb "the" 😀\ttab')
end)

t.test("concatenated pretty-printed objects; 'auto' matches keys exactly, 'auto ignorecase' ignores case", function()
  local text = '{\n  "ID": 1,\n  "Name": "x {not a brace}"\n}{"ID":2,"Name":"y"}\n\n{\n"ID": 3, "name": "z"}'
  s3.put(B .. "cc/a.json", text)
  fresh("copy_json_cc", "id int, name text")
  local r = copy.into(wh, { table = "copy_json_cc", from = B .. "cc/", format = "json" })
  t.eq(r.rows, 3)
  t.eq(wh:query("SELECT count(*) AS n FROM copy_json_cc WHERE id IS NULL")[1].n, 3, "ID is not id under 'auto'")
  t.eq(wh:query("SELECT name FROM copy_json_cc WHERE name IS NOT NULL")[1].name, "z")
  fresh("copy_json_cc", "id int, name text")
  r = copy.into(wh, { table = "copy_json_cc", from = B .. "cc/", format = "json", json = "auto ignorecase" })
  t.eq(r.rows, 3)
  local rows = wh:query("SELECT id, name FROM copy_json_cc ORDER BY id")
  t.eq({ rows[1].id, rows[1].name, rows[2].name, rows[3].name }, { 1, "x {not a brace}", "y", "z" })
end)

t.test("a jsonpaths file picks nested fields and array elements", function()
  s3.put(B .. "jp/paths.json", [[{"jsonpaths": ["$.id", "$['user']['name']", "$.tags[1]", "$[\"user\"].age"]}]])
  s3.put(B .. "jp/data/1.json", '{"id": 7, "user": {"name": "ann", "age": 41}, "tags": ["a", "b"]}\n'
    .. '{"id": 8, "user": {"age": 5}, "tags": ["only"]}\n')
  fresh("copy_json_jp", "id int, uname text, tag text, age smallint")
  local r = copy.into(wh, { table = "copy_json_jp", from = B .. "jp/data/", format = "json", json = B .. "jp/paths.json" })
  t.eq(r.rows, 2)
  local rows = wh:query("SELECT id, uname, tag, age FROM copy_json_jp ORDER BY id")
  t.eq({ rows[1].uname, rows[1].tag, rows[1].age }, { "ann", "b", 41 })
  t.eq(rows[2].uname, lode.null)
  t.eq(rows[2].tag, lode.null)
  s3.put(B .. "jp/short.json", [[{"jsonpaths": ["$.id"]}]])
  t.raises(function()
    copy.into(wh, { table = "copy_json_jp", from = B .. "jp/data/", format = "json", json = B .. "jp/short.json", reload = true })
  end, "1 expressions for 4 columns")
  s3.put(B .. "jp/bad.json", [[{"jsonpaths": ["id", "$.a", "$.b", "$.c"]}]])
  t.raises(function()
    copy.into(wh, { table = "copy_json_jp", from = B .. "jp/data/", format = "json", json = B .. "jp/bad.json", reload = true })
  end, "invalid JSONPath expression 'id'")
  t.eq(count("copy_json_jp"), 2)
end)

t.test("MAXERROR: bad values are skipped and recorded with their lines; past the limit nothing loads", function()
  local text = '{"id": 1, "n": 1}\n{"id": 2, "n": "two"}\n{"id": 3,\n "n": 3}\n{"id": 4, "n": 99999999999}\n{"id": 5, "n": 5}\n'
  s3.put(B .. "bad/x.json", text)
  fresh("copy_json_bad", "id int, n int")
  local r = copy.into(wh, { table = "copy_json_bad", from = B .. "bad/", format = "json", maxerror = 5 })
  t.eq({ r.rows, r.errors }, { 3, 2 })
  local errs = wh:query("SELECT line_number, colname, raw_field_value FROM lode.load_errors WHERE table_name = 'copy_json_bad' ORDER BY line_number")
  t.eq(#errs, 2)
  t.eq({ errs[1].line_number, errs[1].colname, errs[1].raw_field_value }, { 2, "n", "two" })
  t.eq(errs[2].line_number, 5, "the object starting on line 5")
  fresh("copy_json_bad", "id int, n int")
  t.raises(function()
    copy.into(wh, { table = "copy_json_bad", from = B .. "bad/", format = "json", maxerror = 1 })
  end, "exceed MAXERROR 1")
  t.eq(count("copy_json_bad"), 0)
end)

t.test("invalid JSON is a clear error naming file and line; gzip is read by magic bytes", function()
  s3.put(B .. "inv/x.json", '{"id": 1}\n{"id": 2,, }\n')
  fresh("copy_json_inv", "id int")
  local e = t.raises(function()
    copy.into(wh, { table = "copy_json_inv", from = B .. "inv/", format = "json" })
  end, "invalid JSON")
  t.contains(tostring(e), "inv/x.json, line 2")
  s3.put(B .. "inv2/x.json", '[1, 2]')
  t.raises(function()
    copy.into(wh, { table = "copy_json_inv", from = B .. "inv2/", format = "json" })
  end, "an array ('[') needs a JSONPaths file")
  s3.put(B .. "inv3/x.json", '{"id": 1')
  t.raises(function()
    copy.into(wh, { table = "copy_json_inv", from = B .. "inv3/", format = "json" })
  end, "ends inside an object")
  t.eq(count("copy_json_inv"), 0)
  local path = tmp .. "/g.json"
  local f = assert(io.open(path, "wb"))
  f:write(NDJSON)
  f:close()
  t.eq(proc.run({ "gzip", "-f", path }).status, 0)
  f = assert(io.open(path .. ".gz", "rb"))
  s3.put(B .. "gz/g.json.gz", f:read("a"))
  f:close()
  fresh("copy_json", COLS)
  local r = copy.into(wh, { table = "copy_json", from = B .. "gz/", format = "json" })
  t.eq(r.rows, 4)
end)

t.test("cleanup", function()
  proc.run({ "rm", "-rf", tmp })
  proc.run({ "aws", "s3", "rb", B, "--force" })
end)

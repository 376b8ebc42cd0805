-- The ledger around Redshift's native COPY: every statement lode issues, exactly.
--
-- There is no Redshift here, so the warehouse is a TEST DOUBLE for the SQL
-- text contract: a Lua object with the warehouse's methods (query, exec,
-- transaction, session) that records each statement with its parameters and
-- answers with canned rows (the ledger's rows, pg_last_copy_count(), the
-- error views). It does not interpret SQL, so these tests prove what is
-- sent and in which order, not what Redshift would do with it. S3 is real:
-- the objects are listed from s3rver and the manifests lode generates are
-- read back from it (as Redshift would read them) when the COPY arrives.
local t = require "lode.test"
local copy = require "lode.copy"
local json = require "lode.json"
local proc = require "lode.proc"

t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local s3 = require "lode.s3"

local ROLE = "arn:aws:iam::123456789012:role/RedshiftRole"
local bucket = "lode-rs-ledger-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)

local DDL = {
  "CREATE SCHEMA IF NOT EXISTS lode",
  "CREATE TABLE IF NOT EXISTS lode.load_history (table_name VARCHAR(512) NOT NULL, key VARCHAR(2048) NOT NULL, "
    .. "etag VARCHAR(256) NOT NULL, size BIGINT NOT NULL, rows BIGINT NOT NULL, run VARCHAR(256), "
    .. "loaded_at TIMESTAMP DEFAULT GETDATE(), PRIMARY KEY (table_name, key, etag))",
  "CREATE TABLE IF NOT EXISTS lode.load_errors (table_name VARCHAR(512) NOT NULL, run VARCHAR(256), "
    .. "filename VARCHAR(2048), line_number BIGINT, colname VARCHAR(512), colnum INTEGER, raw_line VARCHAR(4096), "
    .. "raw_field_value VARCHAR(4096), err_code INTEGER, err_reason VARCHAR(1024), starttime TIMESTAMP DEFAULT GETDATE())",
}
local SELECT_LEDGER = "SELECT key, etag FROM lode.load_history WHERE table_name = $1"
local STL, SYS = table.unpack(copy._REDSHIFT_ERROR_QUERIES)

-- The double. opts: history = {{key=, etag=}}, count = n, fail = message,
-- stl = rows | false (the view is missing, as on Serverless), sys = rows.
local function fake(opts)
  local W = { dialect = "redshift", log = {}, manifests = {} }
  local function answer(q, params)
    W.log[#W.log + 1] = #params > 0 and { q, params } or q
    if q:match("^COPY ") then
      local m = q:match("^COPY %S+ FROM '([^']+)' MANIFEST")
      if m then
        W.manifests[#W.manifests + 1] = { url = m, body = json.decode(s3.get(m)) }
      end
      if opts.fail then
        error({ message = opts.fail, sqlstate = "XX000", retryable = false }, 0)
      end
      return { rowcount = 0 }
    end
    if q == SELECT_LEDGER then
      local rows = { rowcount = 0 }
      for _, h in ipairs(opts.history or {}) do
        if h.table == params[1] then
          rows[#rows + 1] = { key = h.key, etag = h.etag }
        end
      end
      rows.rowcount = #rows
      return rows
    end
    if q == "SELECT pg_last_copy_count() AS n" then
      return { { n = opts.count or 0 }, rowcount = 1 }
    end
    if q == STL then
      if opts.stl == false then
        error({ message = 'relation "stl_load_errors" does not exist', sqlstate = "42P01" }, 0)
      end
      return opts.stl or { rowcount = 0 }
    end
    if q == SYS then
      return opts.sys or { rowcount = 0 }
    end
    return { rowcount = 0 }
  end
  local function handle(extra)
    local h = extra
    function h:query(q, ...)
      return answer(q, table.pack(...))
    end
    function h:exec(q, ...)
      return self:query(q, ...).rowcount
    end
    function h:transaction(fn)
      W.log[#W.log + 1] = "BEGIN"
      local ok, err = pcall(fn, self)
      W.log[#W.log + 1] = ok and "COMMIT" or "ROLLBACK"
      if not ok then
        error(err, 0)
      end
    end
    return h
  end
  handle(W)
  function W:session(fn)
    W.log[#W.log + 1] = "-- session"
    return fn(handle({ session = true, depth = 0, dialect = "redshift", wh = W }))
  end
  W.tx = handle({ depth = 0, dialect = "redshift", wh = W }) -- the caller's open transaction
  return W
end

local function put(key, body)
  s3.put(B .. key, body)
  return s3.head(B .. key).etag
end

local etags = {}

t.test("setup: three CSV objects under a prefix", function()
  for i = 1, 3 do
    etags[i] = put(("sales/part-%d.csv"):format(i), ("id,amount\n%d,1.5\n"):format(i))
  end
end)

local function opts(extra)
  local o = { table = "sales", from = B .. "sales/", format = "csv", ignoreheader = 1, iam_role = ROLE }
  for k, v in pairs(extra or {}) do
    o[k] = v
  end
  return o
end

-- The statements between BEGIN and COMMIT for a load of `files` through manifest m.
local function record_sql(files, tbl)
  local match, rows = {}, {}
  local del, ins = { tbl or "sales" }, { tbl or "sales", "run-1" }
  for i, f in ipairs(files) do
    match[i] = ("(key = $%d AND etag = $%d)"):format(2 * i, 2 * i + 1)
    del[#del + 1], del[#del + 2] = f.url, f.etag   -- the ledger names a file by its URL
    rows[i] = ("($1, $%d, $%d, $%d, $%d, $2)"):format(4 * i - 1, 4 * i, 4 * i + 1, 4 * i + 2)
    ins[#ins + 1], ins[#ins + 2], ins[#ins + 3], ins[#ins + 4] = f.url, f.etag, f.size, f.rows
  end
  del.n, ins.n = #del, #ins
  return {
    { "DELETE FROM lode.load_history WHERE table_name = $1 AND (" .. table.concat(match, " OR ") .. ")", del },
    { "INSERT INTO lode.load_history (table_name, key, etag, size, rows, run) VALUES " .. table.concat(rows, ", "), ins },
  }
end

local function file(i, rows)
  return { key = ("sales/part-%d.csv"):format(i), url = B .. ("sales/part-%d.csv"):format(i), etag = etags[i], size = #("id,amount\n%d,1.5\n"):format(i), rows = rows }
end

local function manifest_urls(body)
  local out = {}
  for i, e in ipairs(body.entries) do
    t.eq(e.mandatory, true)
    out[i] = e.url .. " " .. e.meta.content_length
  end
  return out
end

local function params(...)
  return table.pack(...)
end

t.test("first load of a prefix: COPY from a manifest of exactly the listed files, ledger in the same transaction", function()
  local W = fake({ count = 3 })
  local r = copy.into(W, opts { run = "run-1" })
  t.eq({ r.files, r.rows, r.skipped_files, r.errors }, { 3, 3, 0, 0 })
  t.eq(#W.manifests, 1)
  local m = W.manifests[1].url
  t.match(m, "^" .. B:gsub("%p", "%%%0") .. "_lode/manifests/sales/[%d-]+%.manifest$")
  t.eq(manifest_urls(W.manifests[1].body), { B .. "sales/part-1.csv 16", B .. "sales/part-2.csv 16", B .. "sales/part-3.csv 16" })
  local want = { DDL[1], DDL[2], DDL[3], "-- session", "BEGIN", "LOCK lode.load_history",
    { SELECT_LEDGER, params("sales") },
    "COPY sales FROM '" .. m .. "' MANIFEST IAM_ROLE '" .. ROLE .. "' FORMAT AS CSV IGNOREHEADER AS 1",
    "SELECT pg_last_copy_count() AS n" }
  for _, s in ipairs(record_sql({ file(1, -1), file(2, -1), file(3, -1) })) do
    want[#want + 1] = s
  end
  want[#want + 1] = "COMMIT"
  t.eq(W.log, want)
  t.eq(s3.exists(m), false, "the generated manifest is removed after the load")
end)

t.test("everything loaded already: no COPY, nothing written", function()
  local history = {}
  for i = 1, 3 do
    history[i] = { table = "sales", key = ("sales/part-%d.csv"):format(i), etag = etags[i] }
  end
  local W = fake({ history = history })
  local r = copy.into(W, opts())
  t.eq({ r.files, r.rows, r.skipped_files }, { 0, 0, 3 })
  t.eq(W.log, { DDL[1], DDL[2], DDL[3], "-- session", "BEGIN", "LOCK lode.load_history",
    { SELECT_LEDGER, params("sales") }, "COMMIT" })
  t.eq(#W.manifests, 0)
end)

t.test("some files new (one added, one rewritten with a new ETag): the manifest names only those", function()
  etags[4] = put("sales/part-4.csv", "id,amount\n4,1.5\n")
  local old2 = etags[2]
  etags[2] = put("sales/part-2.csv", "id,amount\n2,2.5\n")
  t.ne(old2, etags[2])
  local history = {
    { table = "sales", key = "sales/part-1.csv", etag = etags[1] },
    { table = "sales", key = "sales/part-2.csv", etag = old2 },
    { table = "sales", key = "sales/part-3.csv", etag = etags[3] },
    { table = "other", key = "sales/part-4.csv", etag = etags[4] }, -- another table's ledger
  }
  local W = fake({ history = history, count = 2 })
  local r = copy.into(W, opts { run = "run-1", maxerror = 10 })
  t.eq({ r.files, r.rows, r.skipped_files, r.errors }, { 2, 2, 2, 0 })
  local m = W.manifests[1].url
  t.eq(manifest_urls(W.manifests[1].body), { B .. "sales/part-2.csv 16", B .. "sales/part-4.csv 16" })
  local want = { DDL[1], DDL[2], DDL[3], "-- session", "BEGIN", "LOCK lode.load_history",
    { SELECT_LEDGER, params("sales") },
    "COPY sales FROM '" .. m .. "' MANIFEST IAM_ROLE '" .. ROLE .. "' FORMAT AS CSV IGNOREHEADER AS 1 MAXERROR AS 10",
    "SELECT pg_last_copy_count() AS n" }
  for _, s in ipairs(record_sql({ file(2, -1), file(4, -1) })) do
    want[#want + 1] = s
  end
  -- rows skipped under MAXERROR are counted after the COMMIT, on the same session
  for _, s in ipairs({ "COMMIT", STL, SYS }) do
    want[#want + 1] = s
  end
  t.eq(W.log, want)
end)

t.test("a manifest of only new files is used as written; one with loaded entries is narrowed", function()
  local body = ('{"entries": [{"url": "%ssales/part-1.csv", "mandatory": true}, {"url": "%ssales/part-3.csv", "mandatory": false}]}')
    :format(B, B)
  s3.put(B .. "in/load.manifest", body)
  local W = fake({ count = 2 })
  local r = copy.into(W, { table = "sales", manifest = B .. "in/load.manifest", format = "csv", ignoreheader = 1,
                           iam_role = ROLE, ledger_table = "sales_target", run = "run-1" })
  t.eq({ r.files, r.rows }, { 2, 2 })
  local want = { DDL[1], DDL[2], DDL[3], "-- session", "BEGIN", "LOCK lode.load_history",
    { SELECT_LEDGER, params("sales_target") },
    "COPY sales FROM '" .. B .. "in/load.manifest' MANIFEST IAM_ROLE '" .. ROLE .. "' FORMAT AS CSV IGNOREHEADER AS 1",
    "SELECT pg_last_copy_count() AS n" }
  for _, s in ipairs(record_sql({ file(1, -1), file(3, -1) }, "sales_target")) do
    want[#want + 1] = s
  end
  want[#want + 1] = "COMMIT"
  t.eq(W.log, want)
  t.eq(s3.exists(B .. "in/load.manifest"), true, "the caller's manifest is left alone")

  W = fake({ count = 7, history = { { table = "sales", key = "sales/part-1.csv", etag = etags[1] } } })
  r = copy.into(W, { table = "sales", manifest = B .. "in/load.manifest", format = "csv", iam_role = ROLE, run = "run-1" })
  t.eq({ r.files, r.rows, r.skipped_files }, { 1, 7, 1 })
  t.eq(manifest_urls(W.manifests[1].body), { B .. "sales/part-3.csv 16" })
  t.eq(W.log[8], "COPY sales FROM '" .. W.manifests[1].url .. "' MANIFEST IAM_ROLE '" .. ROLE .. "' FORMAT AS CSV")
  -- one file: its rows are the statement's count
  t.eq(W.log[10], record_sql({ file(3, 7) })[1])
  t.eq(W.log[11], record_sql({ file(3, 7) })[2])
end)

t.test("a failed COPY rolls back, then STL_LOAD_ERRORS and SYS_LOAD_ERROR_DETAIL are read on the same session", function()
  local stl = { { file = B .. "sales/part-2.csv", line = 2, colname = "amount", raw_value = "x", code = 1207,
                  reason = "Invalid digit, Value 'x', Pos 0, Type: Decimal" }, rowcount = 1 }
  local sys = { { file = B .. "sales/part-2.csv", line = 2, colname = "amount", code = 1207,
                  reason = "Invalid digit, Value 'x', Pos 0, Type: Decimal" },
                { file = B .. "sales/part-4.csv", line = 3, colname = "id", code = 1207, reason = "Invalid digit" },
                rowcount = 2 }
  local W = fake({ fail = "Load into table 'sales' failed. Check 'stl_load_errors' system table for details.",
                   stl = stl, sys = sys })
  local ok, e = pcall(copy.into, W, opts { run = "run-1" })
  t.eq(ok, false)
  t.eq(e.code, "load_failed")
  t.eq(e.sqlstate, "XX000")
  t.eq(e.message, "copy: Load into table 'sales' failed. Check 'stl_load_errors' system table for details. ("
    .. B .. "sales/part-2.csv, line 2, column amount: Invalid digit, Value 'x', Pos 0, Type: Decimal; value 'x')")
  t.eq(#e.load_errors, 2)
  t.eq({ e.load_errors[1].source, e.load_errors[1].raw_value, e.load_errors[2].source, e.load_errors[2].line },
       { "stl_load_errors", "x", "sys_load_error_detail", 3 })
  local m = W.manifests[1].url
  t.eq(W.log, { DDL[1], DDL[2], DDL[3], "-- session", "BEGIN", "LOCK lode.load_history",
    { SELECT_LEDGER, params("sales") },
    "COPY sales FROM '" .. m .. "' MANIFEST IAM_ROLE '" .. ROLE .. "' FORMAT AS CSV IGNOREHEADER AS 1",
    "ROLLBACK", STL, SYS })
  t.eq(s3.exists(m), false)

  -- Redshift Serverless has no STL views: the SYS view alone
  W = fake({ fail = "Load into table 'sales' failed.", stl = false, sys = sys })
  ok, e = pcall(copy.into, W, opts())
  t.eq(ok, false)
  t.eq(#e.load_errors, 2)
  t.eq(e.load_errors[1].source, "sys_load_error_detail")
  t.match(e.message, "line 2, column amount: Invalid digit")
end)

t.test("inside the caller's transaction: no BEGIN/COMMIT of its own; ledger = false: the statement as written", function()
  local W = fake({ count = 4 })
  local r = copy.into(W.tx, opts { run = "run-1" })
  t.eq(r.files, 4)
  t.eq(W.log[4], "LOCK lode.load_history")
  t.eq(W.log[#W.log][1]:sub(1, 12), "INSERT INTO ", "the caller commits")
  for _, s in ipairs(W.log) do
    t.ok(s ~= "BEGIN" and s ~= "COMMIT", "no transaction of its own")
  end

  W = fake({ count = 9 })
  r = copy.into(W, opts { ledger = false })
  t.eq(r.rows, 9)
  t.eq(W.log, { "COPY sales FROM '" .. B .. "sales/' IAM_ROLE '" .. ROLE .. "' FORMAT AS CSV IGNOREHEADER AS 1",
                "SELECT pg_last_copy_count() AS n" })
  t.raises(function() copy.into(W, opts { ledger = false, reload = true }) end, "needs the ledger")
end)

t.test("cleanup", function()
  proc.run({ "aws", "s3", "rb", B, "--force" })
end)

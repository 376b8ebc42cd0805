-- The load ledger names a file by its whole URL: the same key with the same
-- bytes (so the same ETag) in another bucket is another file and loads; rows
-- recorded before the ledger kept buckets (a bare key) still count for that
-- key, so an upgrade never loads a file twice.
local t = require "lode.test"
local lode = require "lode"
local copy = require "lode.copy"
local proc = require "lode.proc"
local sql = require "lode.sql"
local s3 = require "lode.s3"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local n = math.random(1, 1e9)
local A, B = "s3://lode-lb-a-" .. n .. "/", "s3://lode-lb-b-" .. n .. "/"
assert(proc.run({ "aws", "s3", "mb", A }).status == 0)
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)
local wh = lode.warehouse { url = url }
local tbl = "ledger_bucket_" .. n

local function fresh()
  wh:exec(("DROP TABLE IF EXISTS %s"):format(tbl))
  wh:exec(("CREATE TABLE %s (id int, name text)"):format(tbl))
end

local function count()
  return wh:query(("SELECT count(*) AS n FROM %s"):format(tbl))[1].n
end

t.test("the same key and bytes in two buckets are two files", function()
  fresh()
  local body = "1,one\n2,two\n3,three\n"
  s3.put(A .. "in/data.csv", body)
  s3.put(B .. "in/data.csv", body)
  local ha, hb = s3.head(A .. "in/data.csv"), s3.head(B .. "in/data.csv")
  t.eq(ha.etag, hb.etag, "same bytes, same ETag (the case that used to be skipped)")
  local r1 = copy.into(wh, { table = tbl, from = A .. "in/", format = "csv" })
  t.eq({ r1.files, r1.rows }, { 1, 3 })
  local r2 = copy.into(wh, { table = tbl, from = B .. "in/", format = "csv" })
  t.eq({ r2.files, r2.rows, r2.skipped_files }, { 1, 3, 0 }, "bucket B's file loads")
  t.eq(count(), 6)
  local keys = wh:query("SELECT key FROM lode.load_history WHERE table_name = $1 ORDER BY key", sql.qname(tbl))
  t.eq({ keys[1].key, keys[2].key }, { A .. "in/data.csv", B .. "in/data.csv" })
  -- and each again is skipped
  local r3 = copy.into(wh, { table = tbl, from = B .. "in/", format = "csv" })
  t.eq({ r3.files, r3.skipped_files }, { 0, 1 })
  t.eq(count(), 6)
end)

t.test("a ledger row from before buckets (a bare key) still marks that key loaded", function()
  fresh()
  s3.put(A .. "old/data.csv", "7,seven\n")
  local h = s3.head(A .. "old/data.csv")
  wh:exec("DELETE FROM lode.load_history WHERE table_name = $1", sql.qname(tbl))
  wh:exec("INSERT INTO lode.load_history (table_name, key, etag, size, rows) VALUES ($1, $2, $3, $4, 1)",
    sql.qname(tbl), "old/data.csv", h.etag, h.size)
  local r = copy.into(wh, { table = tbl, from = A .. "old/", format = "csv" })
  t.eq({ r.files, r.skipped_files }, { 0, 1 })
  t.eq(count(), 0)
end)

t.test("cleanup", function()
  wh:exec(("DROP TABLE IF EXISTS %s"):format(tbl))
  wh:exec("DELETE FROM lode.load_history WHERE table_name = $1", sql.qname(tbl))
end)

-- Generate a small lake of sales data in S3 for the examples and the demo:
--   s3://<bucket>/silver/sales/year=YYYY/month=MM/part-0.parquet   (partitioned history)
--   s3://<bucket>/staging/sales/batch-1.parquet                    (an incremental batch:
--                                                                    29 updated sales + 20 new ones)
--   s3://<bucket>/raw/orders/orders-2024-12-DD.csv.gz               (two days of orders, CSV with a header)
-- DuckDB (installed by `make deps` under tests/node_modules) writes the
-- Parquet files; lode uploads them. Run: lode run scripts/examples/make_lake.lua --param bucket=lake
local lode = require "lode"
local proc = require "lode.proc"
local fs = require "lode.fs"
local s3 = require "lode.s3"

local bucket = lode.param("bucket", "lake")
local years = tonumber(lode.param("years", "2"))
local rows = tonumber(lode.param("rows_per_month", "50"))
-- the source tree this script belongs to (DuckDB's runner is in its tests/tools/)
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local root = os.getenv("LODE_ROOT") or (here .. "/../..")

local function duckdb(statements)
  local argv = { "node", root .. "/tests/tools/duckdb.js" }
  for _, s in ipairs(statements) do
    argv[#argv + 1] = s
  end
  local r = proc.run(argv, { timeout = 120000 })
  if r.status ~= 0 and (r.stderr .. r.stdout):find("Cannot find module '@duckdb/node-api'", 1, true) then
    lode.error { op = "make_lake", code = "missing_dependency", message = ("make_lake.lua writes Parquet with DuckDB for Node, "
      .. "which is not installed: run `make deps` in %s (it installs it under tests/node_modules)"):format(root) }
  end
  if r.status ~= 0 then
    lode.error { op = "make_lake", message = "DuckDB failed: " .. r.stdout .. r.stderr }
  end
end

-- the bucket: created when missing (a local S3 server or a file:// endpoint,
-- where it is a folder); an existing one, or one made meanwhile, is used as it is
local ok, err = pcall(s3.list_page, ("s3://%s/"):format(bucket), { max_keys = 1 })
if not ok then
  if type(err) == "table" and err.code == "NoSuchBucket" then
    s3.create_bucket(bucket)
  else
    error(err, 0)
  end
end

local dir = fs.mkdtemp("lode-lake")
local stmts, first_year = {}, 2025 - years
local per_year = rows * 12
for y = first_year, 2024 do
  for m = 1, 12 do
    local d = ("%s/silver/sales/year=%d/month=%02d"):format(dir, y, m)
    fs.mkdir(d, true)
    -- sale_id is unique across the lake: (year offset, month, row)
    local base = (y - first_year) * per_year + (m - 1) * rows
    stmts[#stmts + 1] = ([[COPY (SELECT %d + i AS sale_id, CAST(1 + ((i * 7 + %d) %% 25) AS INTEGER) AS customer_id,
        CAST(((i * 37 + %d * 11) %% 10000) / 100.0 + 5 AS DECIMAL(10,2)) AS amount,
        TIMESTAMP '%d-%02d-01 09:00:00' + INTERVAL (i * 13) MINUTE AS sold_at
      FROM range(1, %d) t(i)) TO '%s/part-0.parquet' (FORMAT parquet, COMPRESSION zstd)]])
      :format(base, m, y, y, m, rows + 1, d)
  end
end
-- the batch: 29 sales of the latest month change amount, 20 new sales arrive
local last = (2024 - first_year) * per_year + 11 * rows + rows
fs.mkdir(dir .. "/staging/sales", true)
stmts[#stmts + 1] = ([[COPY (
    SELECT %d + i AS sale_id, CAST(1 + ((i + 50) %% 25) AS INTEGER) AS customer_id,
           CAST(100 + i AS DECIMAL(10,2)) AS amount, TIMESTAMP '2024-12-31 18:00:00' AS sold_at
    FROM range(-29, 21) t(i) WHERE i <> 0
  ) TO '%s/staging/sales/batch-1.parquet' (FORMAT parquet)]]):format(last, dir)
-- raw orders as gzipped CSV, for the plain-SQL example (load_orders.sql)
fs.mkdir(dir .. "/raw/orders", true)
for day = 30, 31 do
  stmts[#stmts + 1] = ([[COPY (
      SELECT %d * 1000 + i AS order_id, 'customer-' || (i %% 17) AS customer,
             CAST((i * 7919 %% 100000) / 100.0 AS DECIMAL(10,2)) AS amount,
             DATE '2024-12-%d' AS ordered_on
      FROM range(1, 201) t(i)
    ) TO '%s/raw/orders/orders-2024-12-%d.csv.gz' (FORMAT csv, HEADER, COMPRESSION gzip)]]):format(day, day, dir, day)
end
duckdb(stmts)

local n = 0
local function upload_tree(local_dir, prefix)
  for _, e in ipairs(fs.scandir(local_dir) or {}) do
    local p, key = local_dir .. "/" .. e.name, prefix .. e.name
    if e.type == "directory" then
      upload_tree(p, key .. "/")
    else
      s3.upload(p, ("s3://%s/%s"):format(bucket, key))
      n = n + 1
    end
  end
end
upload_tree(dir, "")
fs.rmtree(dir)
lode.log.info(("lake ready: %d Parquet files in s3://%s/"):format(n, bucket))

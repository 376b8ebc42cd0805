-- The three S3 → warehouse strategies in one pipeline, over the lake that
-- make_lake.lua writes (s3://<lake>/silver/sales/year=YYYY/month=MM/*.parquet
-- and an incremental batch under s3://<lake>/staging/sales/):
--
--   external  Spectrum: external schema and table (columns read from the
--             Parquet footers), partitions discovered from S3, a query that
--             reads one partition, and what it would cost on Redshift
--   bulk      COPY every Parquet file of the lake into sales_fact (a re-run
--             loads nothing twice: the ledger remembers each file)
--   upsert    merge the staged batch into sales_fact by sale_id, in one transaction
--
-- Against PostgreSQL (LODE_WAREHOUSE=postgresql://…) lode emulates Spectrum
-- and COPY; against redshift://… the same script issues native SQL.
local lode = require "lode"
local copy = require "lode.copy"
local spectrum = require "lode.spectrum"
local merge = require "lode.merge"

local wh = lode.warehouse()
local lake = "s3://" .. lode.param("lake", "lake")
local role = lode.param("iam_role", "arn:aws:iam::123456789012:role/RedshiftRole")

local report = {}   -- what happened, printed at the end

return lode.pipeline "sales_daily" {
  lode.task "external" { retries = 2, function()
    spectrum.schema(wh, { name = "spectrum_schema", database = "lake_db", iam_role = role })
    local t = spectrum.table(wh, { name = "spectrum_schema.sales", location = lake .. "/silver/sales/",
                                   format = "parquet", partitions = { year = "int", month = "int" } })
    local p = spectrum.sync_partitions(wh, "spectrum_schema.sales")
    report.columns, report.partitions_added = #t.columns, #p.added
    local where = { year = 2024, month = 1 }
    report.estimate = spectrum.estimate(wh, "spectrum_schema.sales", { columns = { "customer_id", "amount" }, where = where })
    report.top = wh:query([[
      SELECT customer_id, SUM(amount) AS total FROM spectrum_schema.sales
      WHERE year = 2024 AND month = 1 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3]])
    if wh:get_dialect() == "postgres" then
      local scanned = 0
      for _, row in ipairs(wh:query([[EXPLAIN SELECT customer_id, SUM(amount) FROM spectrum_schema.sales
                                      WHERE year = 2024 AND month = 1 GROUP BY 1]])) do
        if (row["QUERY PLAN"] or ""):find("Foreign Scan", 1, true) then
          scanned = scanned + 1
        end
      end
      report.partitions_scanned = scanned
    end
  end },

  lode.task "bulk" { retries = 2, function()
    wh:exec([[CREATE TABLE IF NOT EXISTS sales_fact (
      sale_id BIGINT PRIMARY KEY, customer_id INTEGER, amount NUMERIC(10,2), sold_at TIMESTAMP)]])
    report.bulk = copy.into(wh, { table = "sales_fact", from = lake .. "/silver/sales/", format = "parquet",
                                  iam_role = role, compupdate = false, statupdate = false })
  end },

  lode.task "upsert" { after = { "bulk" }, retries = 2, function()
    report.upsert = merge.upsert(wh, { target = "sales_fact", from = lake .. "/staging/sales/", format = "parquet",
                                       key = { "sale_id" }, iam_role = role })
  end },

  on_success = function()
    if lode.dry_run() then
      return   -- a plan shows statements; there are no results to report
    end
    local out = {}
    local function say(fmt, ...) out[#out + 1] = fmt:format(...) end
    say("")
    if report.columns then
      say("Spectrum  external table spectrum_schema.sales: %d columns from the Parquet footers, %d partitions discovered",
        report.columns, report.partitions_added)
      say("          SELECT customer_id, SUM(amount) … WHERE year = 2024 AND month = 1 would scan %d bytes ($%.8f on Redshift)",
        report.estimate.bytes, report.estimate.dollars)
      if report.partitions_scanned then
        say("          its plan reads %d of the table's partitions; top customers:", report.partitions_scanned)
      end
      for _, r in ipairs(report.top or {}) do
        say("            customer %-4s %10s", tostring(r.customer_id), tostring(r.total))
      end
    end
    if report.bulk then
      local b = report.bulk
      say("COPY      %d files, %d rows loaded into sales_fact (%d files already loaded were skipped)",
        b.files, b.rows, b.skipped_files)
    end
    if report.upsert then
      local u = report.upsert
      say("upsert    staged %d rows: %d updated, %d inserted (%d duplicates dropped)",
        u.staged, u.updated, u.inserted, u.deduplicated)
    end
    if report.bulk or report.upsert then
      local total = wh:query("SELECT count(*) AS n, sum(amount) AS amount FROM sales_fact")[1]
      say("          sales_fact now holds %s rows, %s in total", tostring(total.n), tostring(total.amount))
    end
    io.stdout:write(table.concat(out, "\n"), "\n\n")
  end,
}

-- Pull a paginated JSON API into S3, then load it: the pattern for SaaS
-- sources. `extract` follows the API's cursor page by page (sources/orders_api.lua,
-- a reusable module beside this script) and writes each page to S3 as
-- newline-delimited JSON; `load` COPYs the day's objects with JSON 'auto'.
-- Re-running loads nothing twice: the ledger remembers every object.
--
--   lode run scripts/examples/orders_api.lua --param api=http://127.0.0.1:8080 --param day=2024-02-01
local lode = require "lode"
local s3 = require "lode.s3"
local copy = require "lode.copy"
local orders = require "sources.orders_api"

local wh = lode.warehouse()
local api = lode.param("api")
local lake = "s3://" .. lode.param("lake", "lake")
local day = lode.param("day", "2024-02-01")
local prefix = ("%s/raw/api_orders/day=%s/"):format(lake, day)

return lode.pipeline "orders_api" {
  lode.task "extract" {
    retries = 3, backoff = 500,
    retry_on = function(err) return lode.is_error(err) and err.retryable end,
    function()
      local pages, rows = 0, 0
      for page, items in orders.pages(api) do
        s3.put(("%spage-%04d.json"):format(prefix, page), orders.ndjson(items), { content_type = "application/x-ndjson" })
        pages, rows = pages + 1, rows + #items
      end
      lode.log.info("extracted", { pages = pages, rows = rows, prefix = prefix })
    end,
  },
  lode.task "load" { after = { "extract" }, function()
    wh:exec([[CREATE TABLE IF NOT EXISTS api_orders (
      id BIGINT PRIMARY KEY, customer TEXT, amount NUMERIC(10,2), ordered_at TIMESTAMP)]])
    local r = copy.into(wh, { table = "api_orders", from = prefix, format = "json", json = "auto",
                              timeformat = "auto" })
    lode.log.info("loaded", { files = r.files, rows = r.rows, skipped_files = r.skipped_files })
  end },
}

-- Pull a paginated JSON API into the warehouse incrementally: the pattern
-- for SaaS sources. The source module sources/orders_api.lua (beside this
-- script) names the resource, its columns, key and cursor; lode.source
-- fetches only the orders updated since the last committed run, stages them
-- as Parquet in S3 and upserts them with merge.upsert, advancing the cursor
-- in the same transaction as the rows — a crash never skips nor duplicates.
--
--   lode run scripts/examples/orders_api.lua --param api=http://127.0.0.1:8080
local lode = require "lode"
local source = require "lode.source"
local orders = require "sources.orders_api"

local wh = lode.warehouse()
local lake = "s3://" .. lode.param("lake", "lake")

return lode.pipeline "orders_api" {
  lode.task "load" {
    retries = 3, backoff = 500,
    retry_on = function(err) return lode.is_error(err) and err.retryable end,
    function()
      local r = source.load(wh, orders, { stage = lake .. "/staging/", pipeline = "orders_api" })
      local o = r.api_orders
      lode.log.info("loaded", { rows = o.rows, cursor = o.cursor, merged = o.merged })
    end,
  },
}

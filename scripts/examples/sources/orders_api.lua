-- A source module (the convention of lode.source, see the README): the
-- orders of a paginated JSON API, loaded incrementally by `updated_at`.
--
--   local orders = require "sources.orders_api"
--   require("lode.source").load(wh, orders, { stage = "s3://lake/staging/" })
--
-- Each run asks the API only for the orders updated after the committed
-- cursor (`?since=`), follows its `next` cursor page by page (lode.rest:
-- 429 and 5xx retried), stages them as Parquet in S3 and merges them by id;
-- the cursor advances in the merge's transaction. The API's base URL is the
-- `api` parameter (lode run … --param api=http://…).
local lode = require "lode"
local rest = require "lode.rest"

-- amount arrives as a JSON number with two decimals: written as exact text
local function cents(v)
  return v ~= nil and v ~= lode.null and ("%.2f"):format(v) or lode.null
end

return {
  name = "orders_api",
  resources = {
    { name = "api_orders",
      columns = {
        { name = "id", type = "bigint" }, { name = "customer", type = "varchar(64)" },
        { name = "amount", type = "numeric(10,2)" }, { name = "ordered_at", type = "timestamp" },
        { name = "updated_at", type = "timestamp" },
      },
      primary_key = { "id" },
      cursor = { column = "updated_at", initial = "1970-01-01 00:00:00" },
      rows = function(since)
        local items = rest.items(lode.param("api") .. "/orders", {
          paginator = "cursor", cursor_param = "cursor", cursor_path = "next", items = "orders",
          since = since, since_param = "since" })
        return function()
          local o = items()
          if o then
            o.amount = cents(o.amount)
          end
          return o
        end
      end },
  },
}

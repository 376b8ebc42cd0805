-- A reusable source module: the orders of a paginated JSON API.
--
--   local orders = require "sources.orders_api"
--   for page, items in orders.pages("http://api.example.com") do ... end
--
-- Pages are fetched one after another following the API's `next` cursor;
-- failed requests are retried by the pipeline task that calls this.
local http = require "lode.http"
local json = require "lode.json"
local lode = require "lode"

local M = {}

--- pages(base_url) -> iterator of (page_number, orders)
function M.pages(base_url)
  local cursor, n = "0", 0
  return function()
    if not cursor then
      return nil
    end
    local r = http.get(("%s/orders?cursor=%s"):format(base_url, cursor))
    if r.status ~= 200 then
      lode.error { op = "orders_api", code = "http_" .. r.status,
                   message = ("GET /orders?cursor=%s returned %d"):format(cursor, r.status),
                   retryable = r.status >= 500 or r.status == 429 }
    end
    local body = r.json
    cursor = body.next ~= lode.null and body.next or nil
    n = n + 1
    return n, body.orders
  end
end

--- ndjson(orders) -> one JSON object per line (what COPY … FORMAT JSON 'auto' reads)
function M.ndjson(orders)
  local lines = {}
  for i, o in ipairs(orders) do
    lines[i] = json.encode(o)
  end
  return table.concat(lines, "\n") .. "\n"
end

return M

-- One copy.into for tests/bench/copy.sh; prints "<ms> <rows> <peak_rss_kib> <cpu_ms>"
-- (cpu_ms: lode's CPU time for the load, all threads, from os.clock).
local lode = require "lode"
local core = require "lode.core"
local copy = require "lode.copy"

local wh = lode.warehouse()
wh:with_conn(function() end) -- connect first, then time the load itself
local opts = { table = lode.param("table"), from = lode.param("from"), format = lode.param("format"), reload = true }
if lode.param("streams", "") ~= "" then
  opts.streams = math.tointeger(tonumber(lode.param("streams")))
end
if opts.format == "csv" then
  opts.concurrency = 4
end
local c0 = os.clock()
local t0 = core.hrtime()
local r = copy.into(wh, opts)
local ms = (core.hrtime() - t0) / 1e6
local cpu = (os.clock() - c0) * 1000
print(("%.1f %d %d %.1f"):format(ms, r.rows, core.maxrss(), cpu))

-- One copy.into for tests/bench/copy.sh; prints "<ms> <rows> <peak_rss_kib>".
local lode = require "lode"
local core = require "lode.core"
local copy = require "lode.copy"

local wh = lode.warehouse()
wh:with_conn(function() end) -- connect first, then time the load itself
local opts = { table = lode.param("table"), from = lode.param("from"), format = lode.param("format"), reload = true }
if opts.format == "csv" then
  opts.concurrency = 4
end
local t0 = core.hrtime()
local r = copy.into(wh, opts)
local ms = (core.hrtime() - t0) / 1e6
print(("%.1f %d %d"):format(ms, r.rows, core.maxrss()))

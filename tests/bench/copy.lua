-- One copy.into for tests/bench/copy.sh; prints "<ms> <rows> <peak_rss_kib> <cpu_ms> <server_cpu_ms>"
-- (cpu_ms: lode's CPU time for the load, all threads, from os.clock;
-- server_cpu_ms: the CPU time of this server's processes during the load,
-- from /proc: the backends doing the COPY, mostly).
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
-- the text path to measure: "" (binary COPY from C), "ctext" (text COPY from C),
-- "lua" (the chunks through Lua, text COPY: the path before #21's item 3)
local path = lode.param("path", "")
copy._text_copy_text = path == "ctext" or nil
copy._lua_text_path = path == "lua" or nil
local proc = require "lode.proc"
-- this server's postmaster: the parent of a backend (other PostgreSQL servers may run on the machine)
local backend = wh:query("SELECT pg_backend_pid() AS p")[1].p
local pm = proc.run({ "sh", "-c", "cut -d' ' -f4 /proc/" .. backend .. "/stat" }).stdout:match("%d+")
local function server_cpu_ms()
  local r = proc.run({ "sh", "-c", "cat /proc/[0-9]*/stat 2>/dev/null | "
    .. "awk '$4 == " .. pm .. " { s += $14 + $15 } END { print s + 0 }'" })
  return (tonumber(r.stdout) or 0) * 1000 / 100   -- clock ticks (USER_HZ 100)
end
local s0 = server_cpu_ms()
local c0 = os.clock()
local t0 = core.hrtime()
local r = copy.into(wh, opts)
local ms = (core.hrtime() - t0) / 1e6
local cpu = (os.clock() - c0) * 1000
print(("%.1f %d %d %.1f %.0f"):format(ms, r.rows, core.maxrss(), cpu, server_cpu_ms() - s0))

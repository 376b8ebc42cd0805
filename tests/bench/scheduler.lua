-- 100,000 tasks (BENCH_TASKS) that each sleep 1 ms and return, spawned and
-- awaited. Prints: tasks, wall ns, peak RSS growth in bytes, CPU ns, minor
-- page faults (first touches of fresh memory: /proc/self/stat field 10).
local lode = require "lode"
local core = require "lode.core"
local N = tonumber(os.getenv("BENCH_TASKS") or "100000")

local function minflt()
  local f = io.open("/proc/self/stat")
  if not f then return 0 end
  local line = f:read("l")
  f:close()
  -- the fields after "(comm)": state is field 3, minflt field 10
  local rest = line:match("%) (.*)$")
  local n = 2
  for v in rest:gmatch("%S+") do
    n = n + 1
    if n == 10 then return tonumber(v) end
  end
  return 0
end

local rss0 = core.maxrss()
local flt0 = minflt()
local c0 = os.clock()
local t0 = core.hrtime()
local hs = {}
for i = 1, N do
  hs[i] = lode.spawn(function() lode.sleep(1); return i end)
end
local sum = 0
for i = 1, N do
  sum = sum + hs[i]:await()
end
local wall_ns = core.hrtime() - t0
local cpu_ns = math.floor((os.clock() - c0) * 1e9)   -- user + system CPU of the process
assert(sum == N * (N + 1) // 2)
local rss1 = core.maxrss()
io.stdout:write(("%d %d %d %d %d\n"):format(N, wall_ns, (rss1 - rss0) * 1024, cpu_ns, minflt() - flt0))

-- The lower bound: plain Lua 5.4 coroutines, each "sleeping" 1 ms, driven by
-- a trivial loop that resumes them once started and once their time is up.
-- Like an event loop (and lode's own sleep), the driver reads the clock once
-- per pass and the coroutines use that cached time: a clock read per
-- coroutine would be a system call each (os.clock is CLOCK_PROCESS_CPUTIME_ID)
-- and would measure the kernel, not coroutines.
local N = tonumber(os.getenv("BENCH_TASKS") or "100000")
local clock = os.clock
local function rss_kib()
  for line in io.lines("/proc/self/status") do
    local v = line:match("^VmHWM:%s+(%d+)")
    if v then return tonumber(v) end
  end
end
local rss0 = rss_kib()
local t0 = clock()
local cos, wake = {}, {}
local now = clock()
for i = 1, N do
  cos[i] = coroutine.create(function() coroutine.yield(now + 0.001); return i end)
end
for i = 1, N do
  local _, w = coroutine.resume(cos[i])
  wake[i] = w
end
local sum, remaining = 0, N
while remaining > 0 do
  now = clock()
  for i = 1, N do
    local co = cos[i]
    if co and wake[i] <= now then
      local _, v = coroutine.resume(co)
      sum = sum + v
      cos[i] = false
      remaining = remaining - 1
    end
  end
end
local wall_ns = math.floor((clock() - t0) * 1e9)
assert(sum == N * (N + 1) // 2)
io.stdout:write(("%d %d %d\n"):format(N, wall_ns, (rss_kib() - rss0) * 1024))

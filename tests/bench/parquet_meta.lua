-- Bench helper: read the footers of every file in a directory with
-- lode.parquet, as a real caller would (Lua tables out), and print
-- "<milliseconds> <files> <columns chunks seen> <peak RSS KiB>".
local lode = require "lode"
local parquet = require "lode.parquet"
local dir = lode.param("dir")
local files = parquet.files(dir)
local t0 = lode.now()
local chunks = 0
parquet.each(files, function(_, m)
  for _, rg in ipairs(m.row_groups) do
    chunks = chunks + #rg.columns
  end
end, { concurrency = 32 })
local ms = lode.now() - t0
local rss = 0
for line in io.lines("/proc/self/status") do
  local kb = line:match("^VmHWM:%s+(%d+)")
  if kb then rss = tonumber(kb) end
end
print(ms, #files, chunks, rss)

-- Hostile Parquet files (the fuzzers' seeds, including inputs they once
-- crashed on) through `lode parquet cat`: every one ends with exit status 0
-- or 1 and, when it fails, one error line naming the file. Never a signal,
-- never a hang, never a runaway allocation.
local t = require "lode.test"
local fs = require "lode.fs"
local proc = require "lode.proc"

local root = os.getenv("LODE_ROOT") or "."
local LODE = os.getenv("LODE_BIN") or "build/lode"

local function seeds()
  local out = {}
  for _, dir in ipairs { "parquet_page", "parquet_footer" } do
    for _, e in ipairs(assert(fs.scandir(root .. "/tests/fuzz/seeds/" .. dir))) do
      out[#out + 1] = root .. "/tests/fuzz/seeds/" .. dir .. "/" .. e.name
    end
  end
  table.sort(out)
  return out
end

t.test("every fuzz seed ends cleanly: rows, or one error naming the file", function()
  local files = seeds()
  t.ok(#files >= 10, "seeds found: " .. #files)
  for _, f in ipairs(files) do
    local r = proc.run({ LODE, "parquet", "cat", f }, { timeout = 30000 })
    t.ok(r.status == 0 or r.status == 1, ("%s: exit status %s (signal %s)\n%s"):format(f, r.status, r.signal, r.stderr))
    if r.status ~= 0 then
      t.contains(r.stderr, f, "the error names the file")
    end
  end
end)

t.test("a dictionary page claiming 939 million values in 18 bytes is refused before anything is sized", function()
  local f = root .. "/tests/fuzz/seeds/parquet_page/dict_count_oom"
  local r = proc.run({ LODE, "parquet", "cat", f }, { timeout = 30000 })
  t.eq(r.status, 1)
  t.contains(r.stderr, "row group 0, column 's', page 0 (offset 189): dictionary page claims 939524094 values in 18 bytes")
end)

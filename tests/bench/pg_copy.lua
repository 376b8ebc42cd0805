-- Load a file into a table through lode's COPY sink (wh:copy_in), reading it
-- in 1 MiB chunks; prints "<ms> <rows> <peak_rss_kib>".
local lode = require "lode"
local core = require "lode.core"

local file = lode.param("file")
local format = lode.param("format", "csv")
local tbl = lode.param("table")
local wh = lode.warehouse()
wh:with_conn(function() end) -- connect first, then time the COPY itself
local stmt = format == "binary" and ("COPY %s FROM STDIN (FORMAT binary)")
  or ("COPY %s FROM STDIN (FORMAT csv)")
local pg = require "lode.pg"
local f = assert(io.open(file, "rb"))
local t0 = core.hrtime()
local writer
if format == "binary" then
  -- psql's binary file has the 19-byte header and the 2-byte trailer that
  -- lode's binary writer adds itself: stream only the tuples between them
  local w = wh:copy_in(stmt:format(tbl), "binary")
  local head = f:read(19)
  assert(head == pg.BINARY_HEADER, "unexpected binary COPY header")
  local carry = ""
  while true do
    local chunk = f:read(1 << 20)
    if not chunk then break end
    chunk = carry .. chunk
    carry = chunk:sub(-2)
    w:write(chunk:sub(1, -3))
  end
  assert(carry == pg.BINARY_TRAILER, "unexpected binary COPY trailer")
  writer = w
else
  local w = wh:copy_in(stmt:format(tbl), "csv")
  while true do
    local chunk = f:read(1 << 20)
    if not chunk then break end
    w:write(chunk)
  end
  writer = w
end
local w = writer
local rows = w:finish()
local ms = (core.hrtime() - t0) / 1e6
f:close()
print(("%.1f %d %d"):format(ms, rows, core.maxrss()))

-- A 1 GB text table (gzip'd) scanned with bounded memory: the program the
-- emulated partitions run (`lode spectrum scan --text …`) streams the object
-- through the COPY decoder in ranged chunks; its peak RSS is reported here
-- and must stay far below the data's size. The row count and a checksum of
-- one column come from awk over the uncompressed data (the oracle).
local t = require "lode.test"
local proc = require "lode.proc"

local root = os.getenv("LODE_ROOT") or "."
local lode_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local BUCKET = "spectrum-text-big"

-- Every wait is for a process's exit: the 2 hours only guard against a hang
-- (an ASan build at load 12 ran past the 15 minutes this test had).
t.test("1 GB of '|' text in one gzip object: every row out, peak RSS bounded", { timeout = 7200000 }, function()
  local endpoint = t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
  local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", endpoint .. "/" .. BUCKET })
  t.ok(r.stdout == "200" or r.stdout == "409", "create bucket: " .. r.stdout)
  local dir = t.tmpdir()
  local gz = dir .. "/big.txt.gz"
  -- 24 M rows of about 44 bytes: just over 10^9 bytes uncompressed
  local rows = 24000000
  r = proc.run({ "sh", "-c", ("awk 'BEGIN { for (i = 1; i <= %d; i++) printf \"%%d|customer name %%08d|%%d.%%02d|x\\n\", "
    .. "i, i %% 99991, i %% 100000, i %% 100 }' | gzip -1 > %s && gzip -l %s"):format(rows, gz, gz) })
  t.eq(r.status, 0, r.stderr)
  -- gzip -l: compressed, uncompressed (exact below 4 GiB), ratio, name
  local bytes = tonumber(r.stdout:match("\n%s*%d+%s+(%d+)"))
  t.ok(bytes > 1e9, "uncompressed bytes: " .. tostring(bytes))
  require("lode.s3").upload(gz, "s3://" .. BUCKET .. "/big/part-0.txt.gz")
  local text = '{"format":"text","delimiter":"|","escape":false,"null_as":"\\\\N","ignoreheader":0,'
    .. '"compression":"auto","bad":"fail","types":["bigint","varchar(40)","decimal(12,2)","varchar(4)"]}'
  -- the scan's rows: counted, and the first column summed, by awk
  -- pipefail: the scan's own exit status, not awk's (a scan that fails
  -- halfway must fail the test with its error, not as a short count)
  local cmd = ("set -o pipefail; /usr/bin/time -f 'maxrss_kb=%%M' -o %s/time %s spectrum scan s3://%s/big/ --column id --column name "
    .. "--column amount --column tag --value p1 --text %s | awk -F '\\t' '{ n++; s += $1; if ($5 != \"p1\") bad++ } "
    .. "END { printf \"%%d %%.0f %%d\\n\", n, s, bad }'"):format(dir, lode_bin, BUCKET, "'" .. text .. "'")
  r = proc.run({ "bash", "-c", cmd })
  t.eq(r.status, 0, r.stderr)
  local n, sum, bad = r.stdout:match("^(%d+) (%d+) (%d+)")
  t.eq(tonumber(n), rows, r.stdout)
  t.eq(sum, ("%.0f"):format(rows * (rows + 1) / 2), r.stdout)
  t.eq(tonumber(bad), 0, r.stdout)
  f = assert(io.open(dir .. "/time"))
  local rss = tonumber(f:read("a"):match("maxrss_kb=(%d+)"))
  f:close()
  t.diag(("spectrum scan of %d bytes (%d gzip'd): peak RSS %d KiB"):format(bytes,
    require("lode.fs").stat(gz).size, rss))
  -- sanitizer builds inflate RSS with shadow memory and ASan's quarantine of
  -- freed blocks (425 MiB here): the bound is checked by the normal build
  if os.getenv("ASAN_OPTIONS") == nil then
    t.ok(rss < 200 * 1024, "peak RSS " .. rss .. " KiB")
  end
  require("lode.s3").delete("s3://" .. BUCKET .. "/big/part-0.txt.gz")
end)

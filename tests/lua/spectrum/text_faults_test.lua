-- A text external table's scan (`lode spectrum scan --text …`, the program
-- the emulated partitions run) under S3 faults from tests/lua/s3/fault_proxy.py:
-- it either prints exactly the object's rows and exits 0, or exits non-zero
-- naming the object. Never a short or mixed scan with exit 0: PostgreSQL
-- (file_fdw) takes the rows of a program that exits 0 as the whole table.
-- The oracle is the generator's own row count and id sum.
local t = require "lode.test"
local proc = require "lode.proc"

local root = os.getenv("LODE_ROOT") or "."
local lode_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local BUCKET = "spectrum-text-faults"
local ROWS = 300000 -- about 13 MB: four 4 MiB ranged reads
local TEXT = '{"format":"text","delimiter":"|","escape":false,"null_as":"\\\\N","ignoreheader":0,'
  .. '"compression":"auto","bad":"fail","types":["bigint","varchar(40)","decimal(12,2)"]}'

-- rows "id|name|amount"; `base` changes every value but not one byte's
-- position, so the other version has the same size (a swap only the ETag shows)
local function write_data(path, base)
  local f = assert(io.open(path, "wb"))
  local buf = {}
  for i = 1, ROWS do
    buf[#buf + 1] = ("%09d|customer name %08d|%05d.%02d\n"):format(base + i, (base + i) % 99991, i % 100000, i % 100)
    if #buf == 10000 then
      f:write(table.concat(buf))
      buf = {}
    end
  end
  f:write(table.concat(buf))
  f:close()
end

local function sum_ids(base)
  return ROWS * base + ROWS * (ROWS + 1) // 2
end

local endpoint, upstream
local function setup()
  if upstream then
    return
  end
  endpoint = t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
  upstream = endpoint:match(":(%d+)/?$")
  local s3 = require "lode.s3"
  local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", endpoint .. "/" .. BUCKET })
  t.ok(r.stdout == "200" or r.stdout == "409", "create bucket: " .. r.stdout)
  local dir = t.tmpdir()
  write_data(dir .. "/v1.txt", 0)
  write_data(dir .. "/v2.txt", 500000000)
  t.eq(require("lode.fs").stat(dir .. "/v1.txt").size, require("lode.fs").stat(dir .. "/v2.txt").size, "same size")
  s3.upload(dir .. "/v1.txt", "s3://" .. BUCKET .. "/big/part-0.txt")
  s3.upload(dir .. "/v2.txt", "s3://" .. BUCKET .. "/alt/part-0.txt")
end

-- the scan through a proxy started with `args`: status, rows, id sum, stderr
local function scan_through(args)
  local dir = t.tmpdir()
  local log = dir .. "/proxy.log"
  local cmd = { "python3", root .. "/tests/lua/s3/fault_proxy.py", upstream }
  for _, a in ipairs(args) do
    cmd[#cmd + 1] = a
  end
  table.insert(cmd, 6, log)
  local r = proc.run(cmd)
  t.eq(r.status, 0, r.stderr)
  local port = r.stdout:match("^(%d+)")
  local pf = assert(io.open(log .. ".pid"))
  local pid = pf:read("a"):match("%d+")
  pf:close()
  local url = "http://127.0.0.1:" .. port
  r = proc.run({ "env", "AWS_ENDPOINT_URL=" .. url, "AWS_ENDPOINT_URL_S3=" .. url, lode_bin, "spectrum", "scan",
    "s3://" .. BUCKET .. "/big/", "--column", "id", "--column", "name", "--column", "amount", "--value", "p1",
    "--text", TEXT }, { timeout = 240000 })
  proc.run({ "kill", pid })
  local n, sum = 0, 0
  for id in r.stdout:gmatch("(%d+)\t[^\n]*\n") do
    n = n + 1
    sum = sum + tonumber(id)
  end
  local lf = io.open(log, "rb")
  local requests = lf and lf:read("a") or ""
  if lf then
    lf:close()
  end
  return r.status, n, sum, r.stderr, requests
end

-- mode, count, match, every, arg; what a good outcome is
local CASES = {
  { "503 SlowDown twice: retried, every row", { "503", "2", "60", "part-0.txt" }, "rows" },
  { "a reset halfway through the second range: retried, every row", { "reset", "1", "60", "part-0.txt", "2" }, "rows" },
  { "a 206 with half its body: retried or refused, never short", { "short206", "1", "60", "part-0.txt", "2" }, "either" },
  { "Range ignored (200 and the whole object): never the whole object as a chunk", { "norange", "1", "60",
    "part-0.txt", "2" }, "either" },
  { "the object replaced by another of the same size after the first read: fails naming it",
    { "swap", "1", "60", "/big/part-0.txt", "1", "/alt/part-0.txt" }, "fail" },
}

for _, c in ipairs(CASES) do
  t.test("text scan under faults: " .. c[1], { timeout = 300000 }, function()
    setup()
    local status, n, sum, stderr, requests = scan_through(c[2])
    t.diag(("status %d, %d rows; %s"):format(status, n, (stderr:gsub("\n", " | ")):sub(1, 300)))
    t.ok(requests:find("fault", 1, true) or requests:find("swap", 1, true) or c[3] == "fail",
      "the fault was injected: " .. requests:sub(1, 400))
    if c[3] == "rows" or (c[3] == "either" and status == 0) then
      t.eq(status, 0, stderr)
      t.eq({ n, sum }, { ROWS, sum_ids(0) }, "every row of the object, once")
    else
      t.ok(status ~= 0, ("exit status %d after %d rows"):format(status, n))
      t.contains(stderr, "s3://" .. BUCKET .. "/big/part-0.txt", "the error names the object")
      t.ok(n < ROWS or sum ~= sum_ids(0), "rows before the failure are a prefix")
    end
  end)
end

-- The file:// endpoint (AWS_ENDPOINT_URL=file:///dir): buckets are folders,
-- with S3's list order, prefixes, ranges and MD5 ETags; driven through the
-- `lode s3` CLI and a child script so the endpoint comes from the environment.
local t = require "lode.test"
local proc = require "lode.proc"

local root = os.getenv("LODE_ROOT") or "."
local lode_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")

local function run(dir, argv, stdin)
  local full = { lode_bin }
  for _, a in ipairs(argv) do full[#full + 1] = a end
  return proc.run(full, { env = { AWS_ENDPOINT_URL = "file://" .. dir, AWS_ACCESS_KEY_ID = "", AWS_SECRET_ACCESS_KEY = "" },
                          stdin = stdin, timeout = 30000 })
end

t.test("objects, listings, ranges and ETags on a folder", function()
  local dir = t.tmpdir()
  assert(proc.run({ "mkdir", "-p", dir .. "/bkt" }).status == 0)
  local script = dir .. "/s.lua"
  local f = assert(io.open(script, "w"))
  f:write([[
    local s3 = require "lode.s3"
    local out = {}
    local function p(...) out[#out + 1] = table.concat({ ... }, " ") end
    p(s3.put("s3://bkt/a/x y.txt", "hello").etag)
    s3.put("s3://bkt/a/b/c.txt", "c")
    s3.put("s3://bkt/a/b/d.txt", "d")
    s3.put("s3://bkt/a+b=c", "e")
    for i = 1, 25 do s3.put(("s3://bkt/many/%03d"):format(i), tostring(i)) end
    local objs, pre = s3.list("s3://bkt/a", { delimiter = "/" })
    p("delim", #objs, table.concat(pre, ","))
    objs, pre = s3.list("s3://bkt/a/", { delimiter = "/" })
    p("inner", objs[1].key, table.concat(pre, ","))
    objs = s3.list("s3://bkt/many/", { max_keys = 10 })
    p("paged", #objs, objs[1].key, objs[25].key)
    p("range", s3.get("s3://bkt/a/x y.txt", { range = { 1, 3 } }))
    local h = s3.head("s3://bkt/a/x y.txt")
    p("head", h.size, h.etag)
    local r = s3.open("s3://bkt/a/b/c.txt")
    p("open", r.size, r:read(0, 10))
    r:close()
    s3.copy("s3://bkt/a/b/c.txt", "s3://bkt/copy.txt")
    p("copy", s3.get("s3://bkt/copy.txt"))
    p("deleted", s3.delete({ "s3://bkt/a/b/c.txt", "s3://bkt/a/b/d.txt" }))
    p("exists", tostring(s3.exists("s3://bkt/a/b/c.txt")))
    local ok, e = pcall(s3.get, "s3://bkt/nope")
    p("err", e.code, e.status)
    ok, e = pcall(s3.get, "s3://nobucket/k")
    p("err", e.code)
    ok, e = pcall(s3.put, "s3://bkt/../escape", "x")
    p("err", e.code)
    io.write(table.concat(out, "\n"), "\n")
  ]])
  f:close()
  local r = run(dir, { "run", script })
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, table.concat({
    '"5d41402abc4b2a76b9719d911017c592"',
    "delim 1 a/",
    "inner a/x y.txt a/b/",
    "paged 25 many/001 many/025",
    "range ell",
    'head 5 "5d41402abc4b2a76b9719d911017c592"',
    "open 1 c",
    "copy c",
    "deleted 2",
    "exists false",
    "err NoSuchKey 404",
    "err NoSuchBucket",
    "err InvalidKey",
  }, "\n") .. "\n")
end)

t.test("lode s3 ls|cat|cp|rm|presign on the file endpoint", function()
  local dir = t.tmpdir()
  assert(proc.run({ "mkdir", "-p", dir .. "/bkt" }).status == 0)
  local src = dir .. "/local.txt"
  local f = assert(io.open(src, "w"))
  f:write("local file\n")
  f:close()
  local r = run(dir, { "s3", "cp", src, "s3://bkt/up/" })
  t.eq(r.status, 0, r.stderr)
  r = run(dir, { "s3", "cat", "s3://bkt/up/local.txt" })
  t.eq(r.stdout, "local file\n")
  r = run(dir, { "s3", "ls", "s3://bkt/" })
  t.contains(r.stdout, "PRE up/")
  r = run(dir, { "s3", "ls", "--recursive", "s3://bkt/" })
  t.contains(r.stdout, "s3://bkt/up/local.txt")
  r = run(dir, { "s3", "cp", "s3://bkt/up/local.txt", dir .. "/back.txt" })
  t.eq(r.status, 0, r.stderr)
  t.eq(io.open(dir .. "/back.txt"):read("a"), "local file\n")
  r = run(dir, { "s3", "presign", "s3://bkt/up/local.txt" })
  t.eq(r.stdout, "file://" .. dir .. "/bkt/up/local.txt\n")
  r = run(dir, { "s3", "rm", "--recursive", "s3://bkt/up/" })
  t.eq(r.status, 0, r.stderr)
  r = run(dir, { "s3", "ls", "--recursive", "s3://bkt/" })
  t.eq(r.stdout, "")
  r = run(dir, { "s3", "frobnicate" })
  t.eq(r.status, 2)
end)

t.test("create_bucket makes the bucket's folder; an existing one is success", function()
  local dir = t.tmpdir() .. "/root"      -- not there yet: created with the bucket
  local script = t.tmpdir() .. "/mb.lua"
  local f = assert(io.open(script, "w"))
  f:write([[
    local s3 = require "lode.s3"
    io.write(tostring(s3.create_bucket("lake-1")), " ", tostring(s3.create_bucket("s3://lake-1/")), " ")
    s3.put("s3://lake-1/a/b.txt", "x")
    io.write(#s3.list("s3://lake-1/"), " ")
    local ok, e = pcall(s3.create_bucket, "..")
    io.write(tostring(ok), " ", tostring(e):match("not a valid bucket name") or tostring(e))
  ]])
  f:close()
  local r = run(dir, { "run", script })
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "true false 1 false not a valid bucket name")
  local fh = io.open(dir .. "/lake-1/a/b.txt", "rb")
  t.ok(fh, "the object is a file in the bucket's folder")
  if fh then fh:close() end
end)

-- lode.s3 against s3rver on loopback: every operation, awkward keys,
-- pagination, batched delete, multipart, and structured errors.
local t = require "lode.test"
local lode = require "lode"
local s3 = require "lode.s3"
local http = require "lode.http"
local proc = require "lode.proc"

t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local bucket = "lode-s3-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)

local function sha256_file(path)
  local r = proc.run({ "sha256sum", path })
  return r.stdout:match("^(%x+)")
end

t.test("put, get, head and delete a small object", function()
  local put = s3.put(B .. "hello.txt", "hello, world", { content_type = "text/plain" })
  t.eq(put.etag, '"e4d7f1b4ed2e42d15898f4b27b019da4"')
  t.eq(s3.get(B .. "hello.txt"), "hello, world")
  local h = s3.head(B .. "hello.txt")
  t.eq(h.size, 12)
  t.eq(h.etag, put.etag)
  t.eq(h.content_type, "text/plain")
  t.ok(s3.exists(B .. "hello.txt"))
  s3.delete(B .. "hello.txt")
  t.eq(s3.exists(B .. "hello.txt"), false)
end)

t.test("range reads", function()
  s3.put(B .. "range.bin", "0123456789abcdef")
  t.eq(s3.get(B .. "range.bin", { range = { 0, 3 } }), "0123")
  t.eq(s3.get(B .. "range.bin", { range = { 10, 15 } }), "abcdef")
  t.eq(s3.get(B .. "range.bin", { range = "bytes=14-" }), "ef")
end)

t.test("keys with spaces, unicode, + and = round-trip and list back", function()
  local keys = { "with space/a b.txt", "unicodé/ключ/日本.txt", "plus+sign/a+b.txt", "equals/k=v/x=1.csv",
                 "tilde~and-dots/.a..b", "mixed/ +=~!$&'()*,;:@.txt" }
  for i, k in ipairs(keys) do s3.put(B .. "awk/" .. k, "v" .. i) end
  for i, k in ipairs(keys) do t.eq(s3.get(B .. "awk/" .. k), "v" .. i, k) end
  local objs = s3.list(B .. "awk/")
  local got = {}
  for _, o in ipairs(objs) do got[#got + 1] = o.key end
  local want = {}
  for _, k in ipairs(keys) do want[#want + 1] = bucket and ("awk/" .. k) end
  table.sort(want)
  t.eq(got, want)
end)

t.test("a missing key raises a structured, non-retryable error", function()
  local err = t.raises(function() s3.get(B .. "no/such/key") end)
  t.eq(err.code, "NoSuchKey")
  t.eq(err.status, 404)
  t.eq(err.key, B .. "no/such/key")
  t.eq(err.retryable, false)
  t.eq(err.op, "s3.get")
  t.contains(tostring(err), "NoSuchKey")
  err = t.raises(function() s3.head(B .. "missing") end)
  t.eq(err.status, 404)
  err = t.raises(function() s3.list("s3://no-such-bucket-lode/") end)
  t.eq(err.code, "NoSuchBucket")
end)

t.test("misuse raises argument errors", function()
  t.raises(function() s3.get("http://x/y") end, "s3://bucket/key")
  t.raises(function() s3.get("s3://" .. bucket) end, "names no key")
  t.raises(function() s3.presign(B .. "k", { expires = 604801 }) end, "604800")
end)

t.test("listing 2,500 keys across pages, with and without a delimiter", function()
  local fns = {}
  for w = 1, 10 do
    fns[w] = function()
      for i = w, 2500, 10 do
        s3.put(("%smany/d%d/k%04d"):format(B, i % 5, i), tostring(i))
      end
    end
  end
  lode.all(fns)
  local objs, prefixes = s3.list(B .. "many/")
  t.eq(#objs, 2500)
  t.eq(#prefixes, 0)
  for i = 2, #objs do t.ok(objs[i - 1].key < objs[i].key, "sorted") end
  t.eq(objs[1].size, #tostring(5))
  local objs2, prefixes2 = s3.list(B .. "many/", { delimiter = "/" })
  t.eq(#objs2, 0)
  t.eq(prefixes2, { "many/d0/", "many/d1/", "many/d2/", "many/d3/", "many/d4/" })
  local small = s3.list(B .. "many/d1/", { max_keys = 100 })
  t.eq(#small, 500)
  -- the lazy iterator pages as it goes
  local n, pages_seen = 0, {}
  for o in s3.each(B .. "many/d2/", { max_keys = 200 }) do
    n = n + 1
    pages_seen[o.key:sub(1, 10)] = true
  end
  t.eq(n, 500)
end)

t.test("batched delete removes 2,500 keys in 1,000-key requests", function()
  local objs = s3.list(B .. "many/")
  local urls = {}
  for i, o in ipairs(objs) do urls[i] = B .. o.key end
  t.eq(s3.delete(urls), 2500)
  t.eq(#s3.list(B .. "many/"), 0)
end)

t.test("server-side copy", function()
  s3.put(B .. "copy/src é.txt", "copied bytes")
  local r = s3.copy(B .. "copy/src é.txt", B .. "copy/dst.txt")
  t.ok(r.etag ~= "")
  t.eq(s3.get(B .. "copy/dst.txt"), "copied bytes")
end)

t.test("presigned URLs fetch the object with plain HTTP", function()
  s3.put(B .. "presign/a b.txt", "presigned")
  local url = s3.presign(B .. "presign/a b.txt", { expires = 600 })
  t.match(url, "X%-Amz%-Signature=%x+")
  t.contains(url, "/presign/a%20b.txt?")
  local r = http.get(url)
  t.eq(r.status, 200)
  t.eq(r.body, "presigned")
end)

t.test("100 MiB multipart upload with parallel parts, then a parallel download", { timeout = 120000 }, function()
  local dir = t.tmpdir()
  local src = dir .. "/big.bin"
  local r = proc.run({ "sh", "-c", "head -c 104857600 /dev/urandom > " .. src })
  t.eq(r.status, 0, r.stderr)
  local up = s3.upload(src, B .. "big/obj.bin", { part_size = 8 * 1024 * 1024, concurrency = 6 })
  t.eq(up.parts, 13)
  t.ok(#up.etag > 2, "an ETag")
  t.eq(s3.head(B .. "big/obj.bin").size, 104857600)
  local dl = s3.download(B .. "big/obj.bin", dir .. "/back.bin", { concurrency = 6 })
  t.eq(dl.size, 104857600)
  t.eq(sha256_file(dir .. "/back.bin"), sha256_file(src))
  local rss_kib = require("lode.core").maxrss()
  -- sanitizer builds inflate RSS with shadow memory and quarantine
  t.ok(os.getenv("ASAN_OPTIONS") or rss_kib < 64 * 1024, ("peak RSS stays under 64 MiB while moving 200 MiB: %d KiB"):format(rss_kib))

end)

t.test("small files upload with one PUT and download identical", function()
  local dir = t.tmpdir()
  local f = assert(io.open(dir .. "/small.txt", "wb"))
  f:write(("line\n"):rep(1000))
  f:close()
  local up = s3.upload(dir .. "/small.txt", B .. "small/one.txt")
  t.eq(up.parts, 1)
  t.eq(s3.get(B .. "small/one.txt"), ("line\n"):rep(1000))
  local empty = assert(io.open(dir .. "/empty", "wb"))
  empty:close()
  s3.upload(dir .. "/empty", B .. "small/empty")
  t.eq(s3.download(B .. "small/empty", dir .. "/empty.back").size, 0)
end)

t.test("a local file that does not exist raises a clear error", function()
  local err = t.raises(function() s3.upload("/nonexistent/file", B .. "x") end)
  t.eq(err.code, "read")
  t.contains(err.message, "/nonexistent/file")
end)

t.test("create_bucket: a signed PUT on the bucket; an existing bucket of one's own is success", function()
  local name = "lode-mb-" .. math.random(1, 1e9)
  t.eq(s3.create_bucket(name), true, "created")
  t.eq(s3.create_bucket("s3://" .. name .. "/"), false, "already there: success, nothing created")
  -- the aws CLI sees it, and objects go in
  t.ok(proc.run({ "aws", "s3", "ls" }).stdout:find(name, 1, true), "listed by aws s3 ls")
  s3.put("s3://" .. name .. "/k", "v")
  t.eq(s3.get("s3://" .. name .. "/k"), "v")
  -- a LocationConstraint body outside us-east-1 is signed with the rest
  local other = "lode-mb-eu-" .. math.random(1, 1e9)
  t.eq(s3.create_bucket("s3://" .. other, { region = "eu-west-1" }), true)
  t.eq(proc.run({ "aws", "s3api", "head-bucket", "--bucket", other }).status, 0)
  -- misuse fails before any request, naming the problem
  local err = t.raises(function() s3.create_bucket("Not_A_Bucket") end)
  t.contains(tostring(err), "not a valid bucket name: 'Not_A_Bucket'")
  err = t.raises(function() s3.create_bucket("s3://" .. name .. "/key") end)
  t.contains(tostring(err), "not a key")
end)

-- `lode s3 ls|cat|cp|rm|presign` — S3 helpers on lode.s3 (same configuration
-- as the aws CLI: env, profiles, AWS_ENDPOINT_URL, or a file:// endpoint).
local args = require "lode.args"

local M = {}

M.summary = "S3 helpers: ls, cat, cp, rm, presign"

M.spec = {
  command = "s3",
  usage = "lode s3 ls|cat|cp|rm|presign ARGS [options]",
  summary = "Work with S3 objects through lode.s3.",
  description = "  ls s3://bucket/prefix       list keys (--recursive: no delimiter)\n"
    .. "  cat s3://bucket/key         write an object to stdout\n"
    .. "  cp SRC DST                  upload (local -> s3://), download (s3:// -> local) or copy (s3:// -> s3://)\n"
    .. "  rm s3://bucket/key...       delete keys (--recursive: everything under a prefix)\n"
    .. "  presign s3://bucket/key     print a presigned GET URL (--expires SECONDS)",
  options = {
    { "--recursive", short = "-r", help = "ls: list every key; rm: delete every key under the prefix" },
    { "--expires", arg = "SECONDS", integer = true, help = "presign: validity in seconds (default 3600)" },
    { "--help", short = "-h", help = "show this help" },
  },
  examples = { "lode s3 ls s3://bucket/data/", "lode s3 cp big.csv s3://bucket/in/big.csv", "lode s3 presign s3://bucket/report.pdf --expires 600" },
}

local function is_s3(p) return type(p) == "string" and p:sub(1, 5) == "s3://" end

local function need(pos, n, usage)
  if #pos < n then args.usage_error("s3", usage) end
end

function M.main(opts, pos)
  local s3 = require "lode.s3"
  local cmd = table.remove(pos, 1)
  if cmd == "ls" then
    need(pos, 1, "lode s3 ls s3://bucket/prefix")
    local bucket = pos[1]:match("^s3://([^/]+)")
    for o in s3.each(pos[1], { delimiter = not opts.recursive and "/" or nil }) do
      if o.prefix then
        io.stdout:write(("%30s PRE %s\n"):format("", o.prefix))
      else
        io.stdout:write(("%s %12d s3://%s/%s\n"):format(o.last_modified, o.size, bucket, o.key))
      end
    end
  elseif cmd == "cat" then
    need(pos, 1, "lode s3 cat s3://bucket/key")
    local r <close> = s3.open(pos[1])
    local off, chunk = 0, 8 * 1024 * 1024
    while off < r.size do
      io.stdout:write(r:read(off, chunk))
      off = off + chunk
    end
  elseif cmd == "cp" then
    need(pos, 2, "lode s3 cp SRC DST")
    local src, dst = pos[1], pos[2]
    if is_s3(src) and is_s3(dst) then
      s3.copy(src, dst)
    elseif is_s3(dst) then
      if dst:sub(-1) == "/" then dst = dst .. src:match("([^/]+)$") end
      s3.upload(src, dst)
    elseif is_s3(src) then
      s3.download(src, dst)
    else
      args.usage_error("s3", "lode s3 cp needs an s3:// URL on at least one side")
    end
    io.stderr:write(("copied %s -> %s\n"):format(src, dst))
  elseif cmd == "rm" then
    need(pos, 1, "lode s3 rm s3://bucket/key...")
    local urls = {}
    for _, u in ipairs(pos) do
      if opts.recursive then
        local bucket = u:match("^s3://([^/]+)")
        for _, o in ipairs(s3.list(u)) do urls[#urls + 1] = ("s3://%s/%s"):format(bucket, o.key) end
      else
        urls[#urls + 1] = u
      end
    end
    local n = #urls > 0 and s3.delete(urls) or 0
    io.stderr:write(("deleted %d object(s)\n"):format(n))
  elseif cmd == "presign" then
    need(pos, 1, "lode s3 presign s3://bucket/key")
    io.stdout:write(s3.presign(pos[1], { expires = opts.expires or 3600 }), "\n")
  else
    args.usage_error("s3", ("unknown s3 command '%s' (ls, cat, cp, rm, presign)"):format(tostring(cmd)))
  end
  return 0
end

return M

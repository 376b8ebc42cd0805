-- lode.s3 — S3 object operations on s3://bucket/key URLs: the C operations
-- of lode.s3core (bindings/s3.c: list_page, head, get, put, copy, download,
-- upload, open, presign, configure...) and, here, the Lua-side conveniences
-- over them: the full listing, the lazy iterator, exists, create_bucket's
-- tolerance of BucketAlreadyExists, deletes batched 1,000 keys per request;
-- s3.open from lode.s3reader (bindings/s3reader.c).
--
--  local s3 = require "lode.s3"
--  s3.list(url, {delimiter=, recursive=}) -> objects, prefixes   (follows continuation tokens)
--  for obj in s3.each(url, opts) do ... end                        (pages lazily)
--  s3.list_page(url, {delimiter=, max_keys=, token=}) -> {objects=, prefixes=, next=}
--  s3.head(url) -> {size=, etag=, last_modified=, content_type=};  s3.exists(url) -> bool
--  s3.get(url, {range = {first, last}, if_match = etag}) -> string
--  s3.download(url, path) -> {size=, etag=}          (parallel ranged GETs, streamed to disk)
--  s3.put(url, data, {content_type=}) -> {etag=}
--  s3.upload(path, url, {part_size=, concurrency=}) -> {etag=, parts=}   (multipart above the threshold)
--  s3.create_upload(url) -> id; s3.upload_part(url, id, n, data) -> etag; s3.complete_upload(url, id, etags)
--  s3.abort_upload(url, id)                          (a multipart upload driven part by part)
--  s3.delete(url) / s3.delete({url, ...})            (DeleteObjects, 1,000 per request)
--  s3.copy(src_url, dst_url) -> {etag=}
--  s3.presign(url, {expires=, method=}) -> string
--  s3.create_bucket(name_or_url, {region=}) -> created (false: it was already yours)
--  s3.configure{max_attempts=, part_size=, concurrency=, low_speed_time=, connect_timeout=, deadline=, min_rate=,
--               credential_refresh = {advisory=, mandatory=}}
--  s3.open(url) -> reader {size, etag, reads, :read(offset, len), :close()}
--
-- Every failure raises a structured error {op, code, message, retryable,
-- status, key, request_id}. In a dry run (`lode plan`) writes are logged,
-- not done.

local M = require "lode.s3core"
M.open = require("lode.s3reader").open

local function opts_of(o)
  o = o or {}
  local d = o.delimiter
  if d == nil and o.recursive == false then d = '/' end
  return d, o.max_keys
end
function M.each(url, o)
  local d, mk = opts_of(o)
  local page, i, token, done = nil, 0, nil, false
  return function()
    while true do
      if page and i < #page.objects then i = i + 1; return page.objects[i] end
      if page and page.prefixes and #page.prefixes > 0 then
        local p = table.remove(page.prefixes, 1); return { prefix = p }
      end
      if done then return nil end
      page = M.list_page(url, { delimiter = d, max_keys = mk, token = token })
      i = 0; token = page.next; done = token == nil
    end
  end
end
function M.list(url, o)
  local d, mk = opts_of(o)
  local objects, prefixes, token = {}, {}, nil
  repeat
    local page = M.list_page(url, { delimiter = d, max_keys = mk, token = token })
    for _, x in ipairs(page.objects) do objects[#objects + 1] = x end
    for _, p in ipairs(page.prefixes) do prefixes[#prefixes + 1] = p end
    token = page.next
  until not token
  return objects, prefixes
end
function M.exists(url)
  local ok, err = pcall(M.head, url)
  if ok then return true end
  if type(err) == 'table' and err.status == 404 then return false end
  error(err, 0)
end
function M.create_bucket(name, o)
  local ok, r = pcall(M._create_bucket, name, o)
  if ok then return r end
  if type(r) == 'table' and r.code == 'BucketAlreadyExists' and M._head_bucket(name) then return false end
  error(r, 0)
end
function M.delete(what)
  if type(what) == 'string' then return M._delete_one(what) end
  local by_bucket, order = {}, {}
  for _, u in ipairs(what) do
    local b, k = u:match('^s3://([^/]+)/(.+)$')
    if not b then error(('s3.delete: not an s3://bucket/key URL: %s'):format(u), 2) end
    if not by_bucket[b] then by_bucket[b] = {}; order[#order + 1] = b end
    local t = by_bucket[b]; t[#t + 1] = k
  end
  local n = 0
  for _, b in ipairs(order) do
    local keys = by_bucket[b]
    for i = 1, #keys, 1000 do
      n = n + M._delete_batch(b, table.move(keys, i, math.min(i + 999, #keys), 1, {}))
    end
  end
  return n
end
return M

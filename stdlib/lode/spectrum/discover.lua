-- lode.spectrum.discover — what S3 holds under a table's location:
-- partition folders discovered level by level, data files, and the columns
-- their Parquet footers declare.

local core = require "lode.core"
local common = require "lode.spectrum.common"

local fail, usage, check_dialect = common.fail, common.usage, common.check_dialect

local M = {}

-- Partition folders -------------------------------------------------------------------

local function hexval(h)
  return string.char(tonumber(h, 16))
end

--- unescape_path(s) -> s with %XX escapes decoded (how Hive and Spark write
--- special characters in partition folder names); anything else kept as is.
function M.unescape_path(s)
  return (s:gsub("%%(%x%x)", hexval))
end

-- A template segment like "{year}" or "y={year}" as a Lua pattern with one
-- capture per placeholder.
local function segment_matcher(seg, where)
  local names, pat, i = {}, { "^" }, 1
  while i <= #seg do
    local a, b, name = seg:find("{([%w_]+)}", i)
    if not a then
      pat[#pat + 1] = (seg:sub(i):gsub("%p", "%%%0"))
      break
    end
    pat[#pat + 1] = (seg:sub(i, a - 1):gsub("%p", "%%%0"))
    pat[#pat + 1] = "(.-)"
    names[#names + 1] = name
    i = b + 1
  end
  if #names == 0 then
    usage(("%s: segment %q has no {column} placeholder"):format(where, seg))
  end
  pat[#pat + 1] = "$"
  return { pattern = table.concat(pat), names = names }
end

--- layout(partitions, opts) -> the folder layout: one matcher per level.
--- opts.pattern ("{year}/{month}", "y{year}/m{month}") gives a value_only
--- layout; the default is Hive's key=value folders in partition order.
function M.layout(partitions, opts)
  opts = opts or {}
  local levels = {}
  if opts.pattern then
    local known = {}
    for i, p in ipairs(partitions) do
      known[p.name:lower()] = i
    end
    local seen = {}
    for seg in opts.pattern:gsub("^/+", ""):gsub("/+$", ""):gmatch("[^/]+") do
      local m = segment_matcher(seg, "pattern")
      m.index = {}
      for k, n in ipairs(m.names) do
        local idx = known[n:lower()]
        if not idx then
          usage(("pattern: {%s} is not a partition column"):format(n))
        end
        if seen[idx] then
          usage(("pattern: {%s} appears twice"):format(n))
        end
        seen[idx] = true
        m.index[k] = idx
      end
      levels[#levels + 1] = m
    end
    for i, p in ipairs(partitions) do
      if not seen[i] then
        usage(("pattern does not place partition column %s"):format(p.name))
      end
    end
  else
    for i, p in ipairs(partitions) do
      levels[i] = { hive = p.name:lower(), index = { i } }
    end
  end
  return levels
end

-- Values captured from one folder name at one level, or nil when the folder
-- does not belong to the layout (Spark's _temporary, .hive-staging, other keys).
local function match_level(level, folder)
  if level.hive then
    local k, v = folder:match("^([^=]+)=(.*)$")
    if not k or M.unescape_path(k):lower() ~= level.hive then
      return nil
    end
    return { M.unescape_path(v) }
  end
  local caps = { folder:match(level.pattern) }
  if #caps == 0 then
    return nil
  end
  for i, c in ipairs(caps) do
    if c == "" then
      return nil
    end
    caps[i] = M.unescape_path(c)
  end
  return caps
end


-- Partition values compare as Redshift compares the keys: numbers (both
-- sides numeric) by value, anything else (dates like 2024-06-01) as strings.
local function compare_value(a, b)
  local na = a:match("^%s*[+-]?%d+%.?%d*%s*$") and tonumber(a)
  local nb = b:match("^%s*[+-]?%d+%.?%d*%s*$") and tonumber(b)
  if na and nb then
    return na < nb and -1 or (na > nb and 1 or 0)
  end
  return a < b and -1 or (a > b and 1 or 0)
end

--- since_values(partitions, since) -> the watermark as a list of values in
--- partition order: since is "2024/06" (values by level), {"2024", "06"} or
--- {year = 2024, month = 6} (leading keys only).
function M.since_values(partitions, since)
  if since == nil then
    return nil
  end
  local out = {}
  if type(since) == "string" then
    for v in since:gmatch("[^/]+") do
      out[#out + 1] = v
    end
  elseif type(since) == "table" and #since > 0 then
    for i, v in ipairs(since) do
      out[i] = tostring(v)
    end
  elseif type(since) == "table" then
    local lower = {}
    for k, v in pairs(since) do
      lower[tostring(k):lower()] = tostring(v)
    end
    for _, p in ipairs(partitions) do
      local v = lower[p.name:lower()]
      if v == nil then
        break
      end
      out[#out + 1] = v
      lower[p.name:lower()] = nil
    end
    if next(lower) then
      usage(("since: %s is not a leading partition column"):format((next(lower))))
    end
  else
    usage("since must be \"2024/06\", a list of values or {key = value}")
  end
  if #out == 0 or #out > #partitions then
    usage(("since needs 1 to %d partition values"):format(#partitions))
  end
  return out
end

--- before_since(values, since) -> whether a partition lies before the watermark
function M.before_since(values, since)
  for i, w in ipairs(since) do
    local c = compare_value(values[i], w)
    if c ~= 0 then
      return c < 0
    end
  end
  return false
end

--- discover(location, partitions, list, opts) -> partitions found, sorted:
--- {{values = {"2024", "01"}, location = "s3://…/year=2024/month=01/"}, ...}.
--- list(url) returns the child folder URLs of a folder URL (S3 common
--- prefixes with delimiter "/"); it is called level by level, concurrently
--- (at most opts.concurrency, default 8). Values are kept exactly as written
--- apart from %XX escapes, which are decoded; folders that do not fit the
--- layout are skipped and reported in the second result. With opts.since
--- (values from since_values) only folders at or after the watermark are
--- listed: a folder before it is neither listed nor returned.
function M.discover(location, partitions, list, opts)
  opts = opts or {}
  partitions = common.columns(partitions, "partitions")
  if #partitions == 0 then
    return {}, {}
  end
  local levels = M.layout(partitions, opts)
  local root = common.dir_url(location)
  local since = opts.since
  local frontier = { { url = root, values = {}, bound = since ~= nil } }
  local skipped = {}
  local width = opts.concurrency or 8
  for depth, level in ipairs(levels) do
    local children = {}
    local function visit(node)
      local got = {}
      for _, child in ipairs(list(node.url)) do
        local name = child:sub(#node.url + 1):gsub("/$", "")
        if child:sub(1, #node.url) ~= node.url or name == "" or name:find("/", 1, true) then
          fail("bad_listing", ("listing %s returned %s, which is not a folder directly under it"):format(node.url, child))
        end
        local caps = match_level(level, name)
        if caps then
          local values = table.move(node.values, 1, #partitions, 1, {})
          local bound, before = node.bound, false
          for k, idx in ipairs(level.index) do
            values[idx] = caps[k]
            if bound and since[idx] then
              local c = compare_value(caps[k], since[idx])
              before = c < 0
              bound = c == 0
              if c ~= 0 then
                bound = false
                break
              end
            elseif bound then
              bound = false
            end
          end
          for k, idx in ipairs(level.index) do
            values[idx] = caps[k]
          end
          if not before then
            got[#got + 1] = { url = node.url .. name .. "/", values = values, bound = bound }
          end
        else
          skipped[#skipped + 1] = node.url .. name .. "/"
        end
      end
      return got
    end
    local results = {}
    if #frontier > 1 and core.in_task and core.in_task() then
      local sem_n = math.min(width, #frontier)
      local next_i = 0
      local workers = {}
      for w = 1, sem_n do
        workers[w] = core.spawn(function()
          while true do
            next_i = next_i + 1
            local i = next_i
            if i > #frontier then
              return
            end
            results[i] = visit(frontier[i])
          end
        end)
      end
      local failed = core.wait_all(workers)
      if failed then
        for _, h in ipairs(workers) do
          if not h:done() then
            h:cancel()
          end
        end
        workers[failed]:await()
      end
    else
      for i, node in ipairs(frontier) do
        results[i] = visit(node)
      end
    end
    for _, got in ipairs(results) do
      for _, c in ipairs(got) do
        children[#children + 1] = c
      end
    end
    frontier = children
    if depth == #levels then
      break
    end
  end
  local out = {}
  for _, node in ipairs(frontier) do
    out[#out + 1] = { values = node.values, location = node.url }
  end
  table.sort(out, function(a, b) return a.location < b.location end)
  table.sort(skipped)
  return out, skipped
end

--- diff(found, registered) -> added, dropped: partitions in found but not
--- registered, and registered ones whose folders are gone (by values).
function M.diff(found, registered)
  local have, seen = {}, {}
  for _, p in ipairs(registered) do
    have[common.partition_key(p.values)] = p
  end
  local added, dropped = {}, {}
  for _, p in ipairs(found) do
    local k = common.partition_key(p.values)
    seen[k] = true
    if not have[k] then
      added[#added + 1] = p
    end
  end
  for _, p in ipairs(registered) do
    if not seen[common.partition_key(p.values)] then
      dropped[#dropped + 1] = p
    end
  end
  return added, dropped
end


-- S3 ---------------------------------------------------------------------------------

local function s3mod()
  local ok, s3 = pcall(require, "lode.s3")
  if not ok or type(s3) ~= "table" or not s3.list then
    fail("unsupported", "lode.spectrum needs lode.s3 to list S3, and it is not available")
  end
  return s3
end

local function as_url(bucket, p)
  return p:match("^s3://") and p or ("s3://" .. bucket .. "/" .. p)
end

--- list_folders(url) -> the child folder URLs of an S3 folder (delimiter "/")
function M.list_folders(url)
  core.log("debug", "spectrum: list folders", { url = url })
  local bucket = common.split_url(url)
  local _, prefixes = s3mod().list(url, { delimiter = "/" })
  local out = {}
  for i, p in ipairs(prefixes or {}) do
    out[i] = as_url(bucket, p)
  end
  if #out == 0 then
    -- Some S3 servers (s3rver) leave out common prefixes that hold only
    -- deeper folders; a recursive listing finds the children then.
    local _, prefix = common.split_url(common.dir_url(url))
    local seen = {}
    for _, o in ipairs(s3mod().list(common.dir_url(url)) or {}) do
      local key = o.key or select(2, common.split_url(o.url))
      local child = key:sub(#prefix + 1):match("^([^/]+/)")
      if key:sub(1, #prefix) == prefix and child and not seen[child] then
        seen[child] = true
        out[#out + 1] = as_url(bucket, prefix .. child)
      end
    end
    table.sort(out)
  end
  return out
end

-- Spark, Hive and friends leave _SUCCESS, _temporary/, .crc files beside data.
local function is_data_key(rest)
  for part in rest:gmatch("[^/]+") do
    if part:match("^[_.]") then
      return false
    end
  end
  return true
end

--- list_files(url) -> sorted {{url=, key=, size=, etag=}} of the data files under an
--- S3 folder, recursively (names starting with _ or . are not data).
function M.list_files(url)
  url = common.dir_url(url)
  local bucket, prefix = common.split_url(url)
  local objects = s3mod().list(url)
  local out = {}
  for _, o in ipairs(objects or {}) do
    local key = o.key or select(2, common.split_url(o.url))
    local rest = key:sub(#prefix + 1)
    if key:sub(1, #prefix) == prefix and rest ~= "" and rest:sub(-1) ~= "/" and is_data_key(rest)
        and (o.size or 1) > 0 then
      out[#out + 1] = { url = o.url or as_url(bucket, key), key = key, size = o.size, etag = o.etag }
    end
  end
  table.sort(out, function(a, b) return a.url < b.url end)
  return out
end

-- Column inference from Parquet footers ----------------------------------------------

local function short_schema(cols)
  local out = {}
  for i, c in ipairs(cols) do
    out[i] = c.name .. " " .. c.type
  end
  return table.concat(out, ", ")
end

--- infer_columns(files, {dialect=, schema="first"|"union", sample=n, exclude={names}})
--- -> columns {{name=, type=}}, report: the top-level columns of Parquet
--- files (footers only, read concurrently), mapped with lode.types. Files
--- whose schemas disagree are named in the error unless schema resolves it.
function M.infer_columns(files, opts)
  opts = opts or {}
  local parquet = require "lode.parquet"
  local types = require "lode.types"
  local dialect = check_dialect(opts.dialect)
  if #files == 0 then
    fail("no_files", ("no data files to infer columns from%s"):format(opts.location and (" under " .. opts.location) or ""))
  end
  local urls = {}
  local n = opts.sample and math.min(opts.sample, #files) or #files
  for i = 1, n do
    urls[i] = type(files[i]) == "table" and files[i].url or files[i]
  end
  local exclude = {}
  for _, e in ipairs(opts.exclude or {}) do
    exclude[e:lower()] = true
  end
  local per_file = {}
  parquet.each(urls, function(i, m)
    local cols = {}
    for _, c in ipairs(types.columns(m.schema, dialect, opts.types)) do
      if not exclude[c.name:lower()] then
        cols[#cols + 1] = c
      end
    end
    per_file[i] = cols
  end, { concurrency = opts.concurrency })
  local groups, by_sig = {}, {}
  for i = 1, n do
    local sig = short_schema(per_file[i])
    local g = by_sig[sig]
    if not g then
      g = { columns = per_file[i], files = {} }
      by_sig[sig] = g
      groups[#groups + 1] = g
    end
    g.files[#g.files + 1] = urls[i]
  end
  local report = { files = n, schemas = groups }
  if #groups == 1 or opts.schema == "first" then
    return groups[1].columns, report
  end
  if opts.schema == "union" then
    local out, where = {}, {}
    for _, g in ipairs(groups) do
      for _, c in ipairs(g.columns) do
        local k = c.name:lower()
        local prev = where[k]
        if not prev then
          out[#out + 1] = { name = c.name, type = c.type }
          where[k] = { col = out[#out], file = g.files[1] }
        elseif prev.col.type ~= c.type then
          fail("schema_mismatch", ("column %s is %s in %s but %s in %s: schema = 'union' cannot merge different types")
            :format(c.name, prev.col.type, prev.file, c.type, g.files[1]))
        end
      end
    end
    return out, report
  end
  local lines = {}
  for _, g in ipairs(groups) do
    local shown = {}
    for k = 1, math.min(3, #g.files) do
      shown[k] = g.files[k]
    end
    lines[#lines + 1] = ("  (%s) in %s%s"):format(short_schema(g.columns), table.concat(shown, ", "),
      #g.files > 3 and (" and %d more"):format(#g.files - 3) or "")
  end
  fail("schema_mismatch", ("the files%s disagree on their columns (%d schemas); choose schema = 'first' or 'union':\n%s")
    :format(opts.location and (" under " .. opts.location) or "", #groups, table.concat(lines, "\n")),
    { files = groups })
end

return M

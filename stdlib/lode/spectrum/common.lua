-- lode.spectrum.common — what every part of lode.spectrum shares: its
-- structured errors, S3 folder URLs, column lists, partition keys and the
-- JSON text of partition values (the format SVV_EXTERNAL_PARTITIONS uses).

local core = require "lode.core"
local sql = require "lode.sql"

local M = {}

local function fail(code, message, fields, level)
  local e = { op = "spectrum", code = code, message = message }
  for k, v in pairs(fields or {}) do
    e[k] = v
  end
  error(core.error(e), level or 3)
end

local function usage(message)
  fail("usage", "lode.spectrum: " .. message, nil, 4)
end

local function check_dialect(dialect)
  dialect = dialect or "redshift"
  if dialect ~= "redshift" and dialect ~= "postgres" then
    usage(("unknown dialect '%s' (redshift or postgres)"):format(tostring(dialect)))
  end
  return dialect
end

M.fail, M.usage, M.check_dialect = fail, usage, check_dialect

-- S3 locations --------------------------------------------------------------------

--- split_url("s3://bucket/key") -> bucket, key
function M.split_url(url)
  if type(url) ~= "string" then
    usage("a location must be an s3:// URL string")
  end
  local bucket, key = url:match("^s3://([^/]+)/?(.*)$")
  if not bucket then
    usage(("not an s3:// URL: %s"):format(url))
  end
  return bucket, key
end

--- dir_url(url) -> the URL ending with exactly one "/" (a folder)
function M.dir_url(url)
  M.split_url(url)
  return (url:gsub("/*$", "/"))
end

-- Columns and types ----------------------------------------------------------------

-- Column types are SQL text we emit verbatim, so only the characters types
-- are made of are allowed: no quotes, semicolons or comments can ride along.
local function check_type(t, what)
  if type(t) ~= "string" or t == "" then
    usage(("%s: a column type must be a non-empty string"):format(what))
  end
  if not t:match("^[%w_ ,()<>:]+$") or t:find("--", 1, true) then
    usage(("%s: invalid column type %q"):format(what, t))
  end
  local depth = 0
  for c in t:gmatch("[()<>]") do
    depth = depth + ((c == "(" or c == "<") and 1 or -1)
    if depth < 0 then
      usage(("%s: unbalanced column type %q"):format(what, t))
    end
  end
  if depth ~= 0 then
    usage(("%s: unbalanced column type %q"):format(what, t))
  end
  return t
end

--- columns(spec, what) -> list of {name=, type=}: spec is a list of
--- {name=, type=} or {"name", "type"}, or a map {name = type} with one entry
--- (a map has no order, so several entries need the list form).
function M.columns(spec, what)
  what = what or "columns"
  if spec == nil then
    return {}
  end
  if type(spec) ~= "table" then
    usage(("%s must be a list of {name, type}"):format(what))
  end
  local out = {}
  if #spec == 0 and next(spec) ~= nil then
    for name, ty in pairs(spec) do
      out[#out + 1] = { name = name, type = ty }
    end
    if #out > 1 then
      usage(("%s given as a map have no order: give them as a list, e.g. { {\"year\", \"int\"}, {\"month\", \"int\"} }")
        :format(what))
    end
  else
    for i, c in ipairs(spec) do
      if type(c) == "string" then
        local n, ty = c:match("^%s*(%S+)%s+(.-)%s*$")
        if not n then
          usage(("%s[%d]: expected \"name type\", got %q"):format(what, i, c))
        end
        out[i] = { name = n, type = ty }
      elseif type(c) == "table" then
        out[i] = { name = c.name or c[1], type = c.type or c[2] }
      else
        usage(("%s[%d] must be a {name, type} pair"):format(what, i))
      end
    end
  end
  local seen = {}
  for i, c in ipairs(out) do
    if type(c.name) ~= "string" or c.name == "" then
      usage(("%s[%d] has no name"):format(what, i))
    end
    check_type(c.type, ("%s %s"):format(what, c.name))
    local lower = c.name:lower()
    if seen[lower] then
      usage(("%s: column %q appears twice"):format(what, c.name))
    end
    seen[lower] = true
  end
  return out
end

--- partition_key(values) -> a string identifying a partition by its values
function M.partition_key(values)
  local parts = {}
  for i, v in ipairs(values) do
    parts[i] = #v .. ":" .. v
  end
  return table.concat(parts, "|")
end

--- parse_values('["2024","01"]') -> {"2024", "01"}: the values column of
--- SVV_EXTERNAL_PARTITIONS (a JSON array of strings).
function M.parse_values(s)
  local out, i, n = {}, 1, #s
  local function bad()
    fail("bad_catalog", ("cannot read partition values %q from SVV_EXTERNAL_PARTITIONS"):format(s))
  end
  i = s:find("%S", i) or bad()
  if s:sub(i, i) ~= "[" then
    bad()
  end
  i = s:find("%S", i + 1) or bad()
  if s:sub(i, i) == "]" then
    return out
  end
  while true do
    if s:sub(i, i) ~= '"' then
      bad()
    end
    local buf, j = {}, i + 1
    while true do
      local c = s:sub(j, j)
      if c == "" then
        bad()
      elseif c == '"' then
        break
      elseif c == "\\" then
        local e = s:sub(j + 1, j + 1)
        local simple = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
        if simple[e] then
          buf[#buf + 1] = simple[e]
          j = j + 2
        elseif e == "u" and s:sub(j + 2, j + 5):match("^%x%x%x%x$") then
          buf[#buf + 1] = utf8.char(tonumber(s:sub(j + 2, j + 5), 16))
          j = j + 6
        else
          bad()
        end
      else
        buf[#buf + 1] = c
        j = j + 1
      end
    end
    out[#out + 1] = table.concat(buf)
    i = s:find("%S", j + 1) or bad()
    local c = s:sub(i, i)
    if c == "]" then
      return out
    elseif c ~= "," then
      bad()
    end
    i = s:find("%S", i + 1) or bad()
  end
end

-- JSON text for the catalog (the format SVV_EXTERNAL_PARTITIONS uses) ------------------

local function json_string(v)
  return '"' .. v:gsub('[%c"\\]', function(c)
    local simple = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return simple[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

--- values_json({"2024", "01"}) -> '["2024","01"]' (read back by parse_values)
function M.values_json(values)
  local out = {}
  for i, v in ipairs(values) do
    out[i] = json_string(v)
  end
  return "[" .. table.concat(out, ",") .. "]"
end

return M

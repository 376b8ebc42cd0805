-- `lode parquet SUBCOMMAND` — look inside Parquet files.
--
-- Subcommands live in M.subcommands: { summary=, usage=, options=, main=(opts, args) }.
-- Another module adds one by shipping stdlib/lode/cli/parquet_<name>.lua that
-- returns the same shape (e.g. parquet_cat.lua for `lode parquet cat`).

local args = require "lode.args"

local M = {}

M.summary = "inspect Parquet files: footers, schemas, summaries"

-- ---- output helpers ----

local function json_string(s)
  local ok = utf8.len(s)
  local out = s:gsub('[%c"\\]', function(ch)
    local map = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return map[ch] or ("\\u%04x"):format(ch:byte())
  end)
  if not ok then -- not UTF-8: keep the bytes visible as \u00XX escapes
    out = out:gsub("[\128-\255]", function(ch) return ("\\u%04x"):format(ch:byte()) end)
  end
  return '"' .. out .. '"'
end

--- encode(v) -> JSON text; object keys sorted, arrays for sequences.
local function encode(v, buf)
  buf = buf or {}
  local t = type(v)
  if t == "table" then
    if next(v) == nil then
      buf[#buf + 1] = (getmetatable(v) == nil and rawlen(v) == 0) and "[]" or "{}"
    elseif rawlen(v) > 0 then
      buf[#buf + 1] = "["
      for i = 1, #v do
        if i > 1 then buf[#buf + 1] = "," end
        encode(v[i], buf)
      end
      buf[#buf + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      buf[#buf + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then buf[#buf + 1] = "," end
        buf[#buf + 1] = json_string(k)
        buf[#buf + 1] = ":"
        encode(v[k], buf)
      end
      buf[#buf + 1] = "}"
    end
  elseif t == "string" then
    buf[#buf + 1] = json_string(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      buf[#buf + 1] = json_string(tostring(v))
    elseif math.type(v) == "integer" then
      buf[#buf + 1] = tostring(v)
    else
      buf[#buf + 1] = ("%.17g"):format(v)
    end
  elseif t == "boolean" then
    buf[#buf + 1] = tostring(v)
  else
    buf[#buf + 1] = "null"
  end
  return buf
end
M.encode_json = function(v) return table.concat(encode(v)) end

local function printable(v)
  if type(v) == "string" then
    if not utf8.len(v) or v:find("%c") then
      return "0x" .. v:gsub(".", function(c) return ("%02x"):format(c:byte()) end)
    end
    if #v > 40 then
      return v:sub(1, 37) .. "..."
    end
  end
  return tostring(v)
end

local function bytes(n)
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local i = 1
  local x = n
  while x >= 1024 and i < #units do
    x = x / 1024
    i = i + 1
  end
  return i == 1 and ("%d B"):format(n) or ("%.1f %s"):format(x, units[i])
end

local function type_text(c)
  local parquet = require "lode.parquet"
  local l = parquet.logical_name(c)
  local t = c.type or "group"
  if c.type_length then
    t = ("%s(%d)"):format(t, c.type_length)
  end
  return l ~= "" and (t .. " " .. l) or t
end

local function print_tree(out, node, indent)
  for _, ch in ipairs(node.children or {}) do
    out[#out + 1] = ("%s%s %s%s"):format(indent, (ch.repetition or ""):lower(), ch.name,
      ch.children and "" or (": " .. type_text(ch)))
    if ch.children then
      print_tree(out, ch, indent .. "  ")
    end
  end
end

local function human_meta(m)
  local out = {}
  out[#out + 1] = ("file:       %s (%s, footer %s, %d request%s)"):format(m.path, bytes(m.size),
    bytes(m.footer_length), m.requests, m.requests == 1 and "" or "s")
  if m.created_by then
    out[#out + 1] = "created by: " .. m.created_by
  end
  out[#out + 1] = ("rows:       %d in %d row group%s; %d column%s; format version %d"):format(m.num_rows,
    #m.row_groups, #m.row_groups == 1 and "" or "s", #m.columns, #m.columns == 1 and "" or "s", m.version)
  out[#out + 1] = ""
  out[#out + 1] = "schema:"
  print_tree(out, m.schema, "  ")
  out[#out + 1] = ""
  -- per column across row groups
  local agg = {}
  for j, c in ipairs(m.columns) do
    agg[j] = { c = c, comp = 0, uncomp = 0, codecs = {}, encs = {}, nulls = 0 }
  end
  for _, rg in ipairs(m.row_groups) do
    for j, cc in ipairs(rg.columns) do
      local a = agg[j]
      a.comp = a.comp + (cc.total_compressed_size or 0)
      a.uncomp = a.uncomp + (cc.total_uncompressed_size or 0)
      if cc.codec then a.codecs[cc.codec] = true end
      for _, e in ipairs(cc.encodings or {}) do a.encs[e] = true end
      local st = cc.statistics
      if st and st.null_count and a.nulls then
        a.nulls = a.nulls + st.null_count
      else
        a.nulls = nil
      end
      if st and st.min ~= nil and type(st.min) ~= "boolean" then
        if a.min == nil or (type(st.min) == type(a.min) and st.min < a.min) then a.min = st.min end
        if a.max == nil or (type(st.max) == type(a.max) and st.max > a.max) then a.max = st.max end
      end
    end
  end
  local function keys(t)
    local l = {}
    for k in pairs(t) do l[#l + 1] = k end
    table.sort(l)
    return table.concat(l, ",")
  end
  out[#out + 1] = ("%-3s %-28s %-28s %-8s %10s %10s %8s  %s"):format("#", "column", "type", "codec",
    "compressed", "raw", "nulls", "min .. max")
  for j, a in ipairs(agg) do
    local range = a.min ~= nil and (printable(a.min) .. " .. " .. printable(a.max)) or ""
    out[#out + 1] = ("%-3d %-28s %-28s %-8s %10s %10s %8s  %s"):format(j, a.c.path, type_text(a.c),
      keys(a.codecs), bytes(a.comp), bytes(a.uncomp), a.nulls and tostring(a.nulls) or "?", range)
    out[#out + 1] = ("    %-28s encodings %s"):format("", keys(a.encs))
  end
  if #m.row_groups > 1 then
    out[#out + 1] = ""
    out[#out + 1] = "row groups:"
    for g, rg in ipairs(m.row_groups) do
      out[#out + 1] = ("  %d: %d rows, %s"):format(g, rg.num_rows, bytes(rg.total_byte_size))
    end
  end
  if #m.key_value_metadata > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "key-value metadata:"
    for _, kv in ipairs(m.key_value_metadata) do
      out[#out + 1] = ("  %s (%s)"):format(kv.key, bytes(#(kv.value or "")))
    end
  end
  return table.concat(out, "\n") .. "\n"
end

local function human_summary(s)
  local out = {}
  out[#out + 1] = ("files: %d (%s); rows: %d; column data: %s"):format(s.files, bytes(s.file_bytes),
    s.total_rows, bytes(s.total_bytes))
  out[#out + 1] = ("%-32s %-24s %12s %12s %10s"):format("column", "type", "compressed", "raw", "nulls")
  for _, c in ipairs(s.columns) do
    out[#out + 1] = ("%-32s %-24s %12s %12s %10s"):format(c.path, c.type .. (c.logical ~= "" and (" " .. c.logical) or ""),
      bytes(c.compressed), bytes(c.uncompressed), c.nulls and tostring(c.nulls) or "?")
  end
  if #s.errors > 0 then
    out[#out + 1] = ""
    out[#out + 1] = ("unreadable files (%d):"):format(#s.errors)
    for _, e in ipairs(s.errors) do
      out[#out + 1] = ("  %s: %s"):format(e.file, e.message)
    end
  end
  if not s.schemas_agree then
    out[#out + 1] = ""
    out[#out + 1] = ("schemas disagree (%d variants):"):format(#s.schemas)
    for i, g in ipairs(s.schemas) do
      local cols = {}
      for j, c in ipairs(g.columns) do cols[j] = c.path .. " " .. c.type .. (c.logical ~= "" and ("/" .. c.logical) or "") end
      out[#out + 1] = ("  %d. %s"):format(i, table.concat(cols, ", "))
      for _, f in ipairs(g.files) do out[#out + 1] = "     " .. f end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

-- ---- subcommands ----

M.subcommands = {
  meta = {
    summary = "print a file's footer: schema, row groups, column chunks, statistics",
    usage = "lode parquet meta FILE|URL [--json]",
    main = function(opts, rest)
      if #rest ~= 1 then
        args.usage_error("parquet", "lode parquet meta needs exactly one FILE or s3:// URL")
      end
      local parquet = require "lode.parquet"
      local m = parquet.metadata(rest[1], opts.speculative and { speculative = tonumber(opts.speculative) } or nil)
      io.stdout:write(opts.json and (M.encode_json(m) .. "\n") or human_meta(m))
      return 0
    end,
  },
  schema = {
    summary = "print a file's schema tree and leaf columns with warehouse types",
    usage = "lode parquet schema FILE|URL [--json]",
    main = function(opts, rest)
      if #rest ~= 1 then
        args.usage_error("parquet", "lode parquet schema needs exactly one FILE or s3:// URL")
      end
      local parquet = require "lode.parquet"
      local types = require "lode.types"
      local m = parquet.schema(rest[1])
      if opts.json then
        io.stdout:write(M.encode_json(m) .. "\n")
        return 0
      end
      local out = {}
      print_tree(out, m.schema, "")
      out[#out + 1] = ""
      out[#out + 1] = ("%-32s %-24s %-20s %s"):format("top-level column", "redshift", "postgres", "")
      for _, ch in ipairs(m.schema.children or {}) do
        out[#out + 1] = ("%-32s %-24s %-20s"):format(ch.name, types.redshift(ch), types.postgres(ch))
      end
      io.stdout:write(table.concat(out, "\n") .. "\n")
      return 0
    end,
  },
  summary = {
    summary = "totals across every file under a directory or s3:// prefix; schemas that disagree",
    usage = "lode parquet summary DIR|PREFIX [--json] [--concurrency N]",
    main = function(opts, rest)
      if #rest ~= 1 then
        args.usage_error("parquet", "lode parquet summary needs one directory or s3:// prefix")
      end
      local parquet = require "lode.parquet"
      local s = parquet.summary(rest[1], { concurrency = tonumber(opts.concurrency) or 32, on_error = "collect" })
      io.stdout:write(opts.json and (M.encode_json(s) .. "\n") or human_summary(s))
      return (s.schemas_agree and #s.errors == 0) and 0 or 1
    end,
  },
}

M.spec = {
  command = "parquet",
  usage = "lode parquet SUBCOMMAND FILE|URL [options]",
  summary = "Look inside Parquet files, local or on S3, reading only their footers.",
  description = "",
  options = {
    { "--json", help = "print JSON instead of text" },
    { "--speculative", arg = "BYTES", help = "bytes read from the end of a file first (default 65536)" },
    { "--concurrency", arg = "N", help = "footers read at once by summary (default 32)" },
    { "--help", short = "-h", help = "show this help" },
  },
  examples = {
    "lode parquet meta data/part-0.parquet",
    "lode parquet meta s3://bucket/sales/part-0.parquet --json",
    "lode parquet schema data/part-0.parquet",
    "lode parquet summary s3://bucket/sales/",
  },
}

-- Subcommands shipped by other modules: stdlib/lode/cli/parquet_<name>.lua.
for _, name in ipairs({ "cat" }) do
  local ok, sub = pcall(require, "lode.cli.parquet_" .. name)
  if ok and type(sub) == "table" and sub.main then
    M.subcommands[name] = sub
    for _, o in ipairs(sub.options or {}) do
      table.insert(M.spec.options, #M.spec.options, o)
    end
    if sub.usage then
      table.insert(M.spec.examples, sub.usage)
    end
  elseif not ok and not tostring(sub):find("module 'lode.cli.parquet_" .. name .. "' not found", 1, true) then
    error(sub, 0)
  end
end

do
  local names = {}
  for n in pairs(M.subcommands) do names[#names + 1] = n end
  table.sort(names)
  local lines = { "subcommands:" }
  for _, n in ipairs(names) do
    lines[#lines + 1] = ("  %-8s %s"):format(n, M.subcommands[n].summary or "")
  end
  M.spec.description = table.concat(lines, "\n")
end

function M.main(opts, positional)
  local name = positional[1]
  local sub = name and M.subcommands[name]
  if not sub then
    args.usage_error("parquet", name and ("unknown subcommand '%s'"):format(name)
      or "lode parquet needs a subcommand (meta, schema, summary)")
  end
  local rest = {}
  for i = 2, #positional do
    rest[#rest + 1] = positional[i]
  end
  local ok, code = pcall(sub.main, opts, rest)
  if not ok then
    -- a structured error (unreadable or corrupt file) is one clear line, not a traceback
    if type(code) == "table" and code.op and not code.exit_code then
      code.exit_code = 1
      if code.file and tostring(code.message):sub(1, #code.file) ~= code.file then
        code.message = code.file .. ": " .. tostring(code.message)
      end
    end
    error(code, 0)
  end
  return code
end

return M

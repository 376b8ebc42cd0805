-- lode.args — command-line parsing for `lode` subcommands, with help text
-- generated from the same table that drives parsing.
--
--   local spec = { command = "run", usage = "lode run FILE [options]",
--     summary = "...", description = "...",
--     options = { { "--task", arg = "NAME", multi = true, help = "..." },
--                 { "--dry-run", help = "..." } } }
--   local opts, positional = args.parse(spec, argv)

local core = require "lode.core"

local M = {}

function M.usage_error(command, msg)
  local hint = command and ("run `lode help %s` for usage"):format(command) or "run `lode help` for usage"
  error(core.error({ op = "usage", code = "usage", exit_code = 2,
                     message = msg .. "\n" .. hint }), 0)
end

local function key_of(opt)
  return opt[1]:gsub("^%-%-", ""):gsub("%-", "_")
end

function M.parse(spec, argv)
  local by_flag = {}
  for _, o in ipairs(spec.options or {}) do
    by_flag[o[1]] = o
    if o.short then
      by_flag[o.short] = o
    end
  end
  local opts, positional = {}, {}
  for _, o in ipairs(spec.options or {}) do
    if o.multi then
      opts[key_of(o)] = {}
    elseif o.default ~= nil then
      opts[key_of(o)] = o.default
    end
  end
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, #argv do
        positional[#positional + 1] = argv[j]
      end
      break
    elseif a:sub(1, 1) == "-" and #a > 1 then
      local flag, inline = a:match("^(%-%-[^=]+)=(.*)$")
      flag = flag or a
      local o = by_flag[flag]
      if not o then
        M.usage_error(spec.command, ("unknown option '%s' for `lode %s`"):format(flag, spec.command or ""))
      end
      local v
      if o.arg then
        if inline then
          v = inline
        else
          i = i + 1
          v = argv[i]
          if v == nil then
            M.usage_error(spec.command, ("option %s needs a value (%s)"):format(flag, o.arg))
          end
        end
        if o.choices then
          local okv = false
          for _, c in ipairs(o.choices) do
            if c == v then
              okv = true
            end
          end
          if not okv then
            M.usage_error(spec.command, ("option %s must be one of: %s (got '%s')")
              :format(flag, table.concat(o.choices, ", "), v))
          end
        end
        if o.integer then
          local n = math.tointeger(tonumber(v))
          if not n then
            M.usage_error(spec.command, ("option %s needs an integer (got '%s')"):format(flag, v))
          end
          v = n
        end
      else
        if inline then
          M.usage_error(spec.command, ("option %s takes no value"):format(flag))
        end
        v = true
      end
      local k = key_of(o)
      if o.multi then
        table.insert(opts[k], v)
      else
        opts[k] = v
      end
    else
      positional[#positional + 1] = a
    end
    i = i + 1
  end
  return opts, positional
end

function M.help(spec)
  local out = {}
  out[#out + 1] = "usage: " .. spec.usage
  if spec.summary then
    out[#out + 1] = ""
    out[#out + 1] = spec.summary
  end
  if spec.description then
    out[#out + 1] = ""
    out[#out + 1] = spec.description
  end
  if spec.options and #spec.options > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "options:"
    for _, o in ipairs(spec.options) do
      local flag = o[1] .. (o.arg and (" " .. o.arg) or "")
      if o.short then
        flag = o.short .. ", " .. flag
      end
      out[#out + 1] = ("  %-26s %s"):format(flag, o.help or "")
    end
  end
  if spec.examples then
    out[#out + 1] = ""
    out[#out + 1] = "examples:"
    for _, e in ipairs(spec.examples) do
      out[#out + 1] = "  " .. e
    end
  end
  return table.concat(out, "\n") .. "\n"
end

return M

-- `lode cursor list|show|reset` — the incremental-load cursors lode keeps in
-- the warehouse (lode.cursors: one row per pipeline and name, see lode.cursor).

local args = require "lode.args"
local cursor = require "lode.cursor"

local spec = {
  command = "cursor",
  usage = "lode cursor list [--pipeline P] | lode cursor show NAME [--pipeline P] | "
    .. "lode cursor reset NAME [--pipeline P] [--to VALUE]  [--warehouse URL]",
  summary = "list, show or reset the incremental-load cursors kept in the warehouse",
  options = {
    { "--pipeline", arg = "P", help = "the pipeline the cursor belongs to (needed when two have the name)" },
    { "--to", arg = "VALUE", help = "reset: set this value (of the cursor's type) instead of forgetting it" },
    { "--warehouse", arg = "URL", help = "postgresql://… or redshift://… (default $LODE_WAREHOUSE)" },
    { "--help", short = "-h", help = "show this help" },
  },
  examples = {
    "lode cursor list",
    "lode cursor show orders.updated_at",
    "lode cursor reset orders.updated_at               # the next run starts from the initial value",
    "lode cursor reset orders.updated_at --to 2024-01-01T00:00:00Z",
  },
}

local COLUMNS = "pipeline, name, value, kind, run, updated_at"

-- the rows of NAME (in PIPELINE when given)
local function find(wh, name, pipeline)
  if pipeline then
    return wh:query("SELECT " .. COLUMNS .. " FROM lode.cursors WHERE name = $1 AND pipeline = $2", name, pipeline)
  end
  return wh:query("SELECT " .. COLUMNS .. " FROM lode.cursors WHERE name = $1 ORDER BY pipeline", name)
end

local function one(wh, name, pipeline)
  local rows = find(wh, name, pipeline)
  if #rows == 0 then
    io.stderr:write(("lode: no cursor '%s'%s in lode.cursors\n"):format(name,
      pipeline and (" in pipeline '" .. pipeline .. "'") or ""))
    return nil
  end
  if #rows > 1 then
    local ps = {}
    for i, r in ipairs(rows) do
      ps[i] = r.pipeline
    end
    io.stderr:write(("lode: cursor '%s' exists in pipelines %s: give --pipeline\n"):format(name,
      table.concat(ps, ", ")))
    return nil
  end
  return rows[1]
end

return {
  summary = spec.summary,
  spec = spec,
  main = function(opts, positional)
    local print_result = require("lode.cli.sql").print_result
    local verb, name = positional[1] or "list", positional[2]
    if verb == "list" then
      if name then
        args.usage_error("cursor", "usage: lode cursor list [--pipeline P]")
      end
    elseif verb == "show" or verb == "reset" then
      if not name or positional[3] then
        args.usage_error("cursor", ("usage: lode cursor %s NAME [--pipeline P]"):format(verb))
      end
    else
      args.usage_error("cursor", "usage: " .. spec.usage)
    end
    if opts.to and verb ~= "reset" then
      args.usage_error("cursor", "--to goes with reset")
    end
    local wh = require("lode.warehouse")({ url = opts.warehouse })
    if tonumber(wh:query(cursor.EXISTS)[1].n) == 0 then
      if verb == "list" then
        io.stdout:write("no cursors in this warehouse yet (lode.cursors does not exist)\n")
        return 0
      end
      io.stderr:write(("lode: no cursor '%s' (lode.cursors does not exist)\n"):format(name))
      return 1
    end
    if verb == "list" then
      if opts.pipeline then
        print_result(wh:query("SELECT " .. COLUMNS .. " FROM lode.cursors WHERE pipeline = $1 ORDER BY name",
          opts.pipeline))
      else
        print_result(wh:query("SELECT " .. COLUMNS .. " FROM lode.cursors ORDER BY pipeline, name"))
      end
      return 0
    end
    local row = one(wh, name, opts.pipeline)
    if not row then
      return 1
    end
    if verb == "show" then
      print_result(find(wh, name, row.pipeline))
      return 0
    end
    local c = cursor.new(wh, name, nil, { pipeline = row.pipeline })
    if opts.to then
      local v = cursor.decode(opts.to, row.kind)
      if v == nil then
        args.usage_error("cursor", ("--to '%s' is not a value of this cursor's type (%s)"):format(opts.to, row.kind))
      end
      c:set(v)
      io.stdout:write(("cursor %s (pipeline %s): %s -> %s\n"):format(name, row.pipeline, row.value, opts.to))
    else
      c:reset()
      io.stdout:write(("cursor %s (pipeline %s): %s forgotten; the next run starts from its initial value\n")
        :format(name, row.pipeline, row.value))
    end
    return 0
  end,
}

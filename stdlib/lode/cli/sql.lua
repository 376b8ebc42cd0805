-- `lode sql FILE.sql` — run a Redshift SQL script against Redshift, or
-- unchanged against PostgreSQL with the Redshift-only statements emulated.

local args = require "lode.args"
local core = require "lode.core"

local M = {}

M.summary = "run a Redshift SQL script (emulated on PostgreSQL)"

local function emulated_list()
  local ok, sqlrun = pcall(require, "lode.sqlrun")
  if not ok then
    return ""
  end
  local out = { "On PostgreSQL, lode carries out:" }
  for _, e in ipairs(sqlrun.EMULATED) do
    out[#out + 1] = ("  %-58s %s"):format(e[1], e[2])
  end
  out[#out + 1] = ""
  out[#out + 1] = "Not emulated: these fail at their statement, naming its line and the feature "
    .. "(lode plan prints them with a note, -- lode: would fail: …, and goes on):"
  for _, e in ipairs(sqlrun.REFUSED or {}) do
    out[#out + 1] = ("  %-58s %s"):format(e[1], e[2])
  end
  return table.concat(out, "\n")
end

M.spec = {
  command = "sql",
  usage = "lode sql FILE.sql [--warehouse URL] [--dialect postgres|redshift] [--plan]",
  summary = "Run the statements of FILE.sql in order on one connection. Against Redshift they are sent\n"
    .. "as written; against PostgreSQL the Redshift-only ones are carried out by lode.",
  description = emulated_list(),
  options = {
    { "--warehouse", arg = "URL", help = "postgresql://… or redshift://… (default $LODE_WAREHOUSE)" },
    { "--dialect", arg = "NAME", choices = { "postgres", "redshift" }, help = "override the detected dialect" },
    { "--plan", help = "print the statements instead of running them (same as `lode plan FILE.sql`)" },
    { "--ledger", help = "COPY skips files the load ledger saw loaded into that table (default: appends, as Redshift)" },
    { "--quiet", short = "-q", help = "do not print query results" },
    { "--log-format", arg = "FMT", choices = { "text", "json" }, help = "text (default) or json" },
    { "--log-level", arg = "LEVEL", choices = { "debug", "info", "warn", "error", "off" }, help = "minimum level logged" },
    { "--help", short = "-h", help = "show this help" },
  },
  examples = {
    "lode sql load.sql                                  # against $LODE_WAREHOUSE",
    "lode sql load.sql --warehouse redshift://user@cluster:5439/dev --plan",
  },
}

local function print_result(r)
  if type(r) ~= "table" or not r.columns or #r.columns == 0 then
    return
  end
  local names, widths = {}, {}
  for i, c in ipairs(r.columns) do
    names[i] = type(c) == "table" and c.name or tostring(c)
    widths[i] = #names[i]
  end
  local cells = {}
  for ri, row in ipairs(r) do
    cells[ri] = {}
    for i, n in ipairs(names) do
      local v = row[n]
      v = (v == nil or v == core.null) and "" or tostring(v)
      cells[ri][i] = v
      widths[i] = math.max(widths[i], #v)
    end
  end
  local function line(vals)
    local parts = {}
    for i, v in ipairs(vals) do
      parts[i] = v .. (" "):rep(widths[i] - #v)
    end
    return " " .. table.concat(parts, " | ")
  end
  local out = { line(names) }
  local sep = {}
  for i = 1, #names do
    sep[i] = ("-"):rep(widths[i] + 2)
  end
  out[#out + 1] = table.concat(sep, "+")
  for _, c in ipairs(cells) do
    out[#out + 1] = line(c)
  end
  out[#out + 1] = ("(%d row%s)"):format(#cells, #cells == 1 and "" or "s")
  io.stdout:write(table.concat(out, "\n"), "\n\n")
end

M.print_result = print_result

function M.execute(file, opts)
  local f, err = io.open(file, "rb")
  if not f then
    args.usage_error("sql", ("cannot read %s"):format(err))
  end
  local text = f:read("a")
  f:close()
  if opts.plan then
    core.set_dry_run(true)
  end
  local lode = require "lode"
  local wh = lode.warehouse({ url = opts.warehouse, dialect = opts.dialect })
  require("lode.sqlrun").run(wh, text, {
    file = file,
    dialect = opts.dialect,
    ledger = opts.ledger,
    on_result = function(st, r)
      core.log("debug", ("%s:%d: %s done"):format(file, st.line, st.kind))
      if not opts.quiet and not core.dry_run() and st.kind == "sql" then
        print_result(r)
      end
    end,
  })
  return 0
end

function M.main(opts, positional)
  local file = positional[1]
  if not file then
    args.usage_error("sql", "lode sql needs a script: lode sql FILE.sql")
  end
  return M.execute(file, opts)
end

return M

-- `lode runs [PIPELINE]` and `lode runs show RUN_ID` — the run history lode
-- keeps in the warehouse (lode.runs: one row per run and one per task;
-- lode.load_history: the files each run loaded).

local args = require "lode.args"
local core = require "lode.core"

local spec = {
  command = "runs",
  usage = "lode runs [PIPELINE] [--limit N] [--warehouse URL] | lode runs show RUN_ID [--warehouse URL]",
  summary = "list recent pipeline runs, or show one run's tasks and loaded files",
  options = {
    { "--limit", arg = "N", help = "how many runs to list (default 20)" },
    { "--warehouse", arg = "URL", help = "postgresql://… or redshift://… (default $LODE_WAREHOUSE)" },
    { "--help", short = "-h", help = "show this help" },
  },
  examples = {
    "lode runs",
    "lode runs sales_daily --limit 5",
    "lode runs show 20240131T020000Z-1a2b",
  },
}

local function has_state(c)
  local r = c:query("SELECT to_regclass('lode.runs') IS NOT NULL AS present")
  return r[1] and r[1].present
end

local function list(c, pipeline, limit)
  local where, params = "task = ''", { n = 1, limit }
  if pipeline then
    where = where .. " AND pipeline = $2"
    params = { n = 2, limit, pipeline }
  end
  return c:query(([[SELECT run_id, pipeline, status,
      to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS started_utc,
      round(seconds::numeric, 3) AS seconds,
      (SELECT count(*) FROM lode.runs t WHERE t.run_id = r.run_id AND t.pipeline = r.pipeline AND t.task <> '') AS tasks,
      split_part(coalesce(error, ''), E'\n', 1) AS error
    FROM lode.runs r WHERE %s ORDER BY started_at DESC NULLS LAST LIMIT $1]]):format(where), params)
end

local function show(c, run_id)
  local tasks = c:query([[SELECT pipeline, CASE WHEN task = '' THEN '(run)' ELSE task END AS task, status, attempts,
      round(seconds::numeric, 3) AS seconds, rows_loaded, split_part(coalesce(error, ''), E'\n', 1) AS error
    FROM lode.runs WHERE run_id = $1 ORDER BY task = '' DESC, started_at NULLS LAST, task]], { n = 1, run_id })
  local loads = {}
  if c:query("SELECT to_regclass('lode.load_history') IS NOT NULL AS present")[1].present then
    loads = c:query([[SELECT table_name, key, etag, rows FROM lode.load_history WHERE run = $1
      ORDER BY table_name, key]], { n = 1, run_id })
  end
  return tasks, loads
end

return {
  summary = spec.summary,
  spec = spec,
  main = function(opts, positional)
    local print_result = require("lode.cli.sql").print_result
    local limit = 20
    if opts.limit then
      limit = math.tointeger(tonumber(opts.limit))
      if not limit or limit < 1 then
        args.usage_error("runs", "--limit needs a positive integer")
      end
    end
    local wh = require("lode.warehouse")({ url = opts.warehouse })
    return wh:with_conn(function(c)
      if not has_state(c) then
        io.stdout:write("no runs recorded in this warehouse yet (lode.runs does not exist)\n")
        return 0
      end
      if positional[1] == "show" then
        if not positional[2] or positional[3] then
          args.usage_error("runs", "usage: lode runs show RUN_ID")
        end
        local tasks, loads = show(c, positional[2])
        if #tasks == 0 then
          io.stderr:write(("lode: no run '%s' in lode.runs\n"):format(positional[2]))
          return 1
        end
        print_result(tasks)
        if #loads > 0 then
          print_result(loads)
        end
        return 0
      end
      if positional[2] then
        args.usage_error("runs", "usage: " .. spec.usage)
      end
      print_result(list(c, positional[1], limit))
      return 0
    end)
  end,
}

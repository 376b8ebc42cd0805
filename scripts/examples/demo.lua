-- The demo pipeline: fetch three "sources" concurrently, load them into
-- PostgreSQL, then report — run by `make demo` on a throwaway cluster.
local lode = require "lode"
local proc = require "lode.proc"

local url = lode.param("warehouse", os.getenv("LODE_WAREHOUSE"))

local function psql(sql)
  local r = proc.run({ "psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql })
  if r.status ~= 0 then
    lode.error { op = "psql", message = r.stderr }
  end
  return r.stdout
end

local regions = { "north", "south", "west" }

return lode.pipeline "demo" {
  lode.task "setup" { function()
    psql("create table if not exists demo_sales (region text, day int, amount numeric(12,2))")
    psql("truncate demo_sales")
  end },
  lode.task "extract" { after = { "setup" }, function()
    -- three sources fetched concurrently: each takes ~100 ms
    local rows = lode.all((function()
      local fns = {}
      for i, region in ipairs(regions) do
        fns[i] = function()
          lode.sleep(100)
          local values = {}
          for day = 1, 7 do
            values[#values + 1] = ("('%s', %d, %d.%02d)"):format(region, day, 100 * i + day, day)
          end
          psql("insert into demo_sales values " .. table.concat(values, ","))
          return #values
        end
      end
      return fns
    end)())
    lode.log.info("loaded sources concurrently", { north = rows[1], south = rows[2], west = rows[3] })
  end },
  lode.task "report" { after = { "extract" }, function()
    local out = psql("select region, count(*), sum(amount) from demo_sales group by 1 order by 1")
    io.stdout:write("\nregion | days | total\n")
    for line in out:gmatch("[^\n]+") do
      io.stdout:write(line:gsub("|", " | "), "\n")
    end
    io.stdout:write("\n")
  end },
}

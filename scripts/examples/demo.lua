-- A small warehouse pipeline: three "sources" fetched concurrently and
-- loaded into PostgreSQL, then a report. (The full S3 → warehouse example is
-- sales_daily.lua.)
local lode = require "lode"

local wh = lode.warehouse()
local regions = { "north", "south", "west" }

return lode.pipeline "demo" {
  lode.task "setup" { function()
    wh:exec("CREATE TABLE IF NOT EXISTS demo_sales (region text, day int, amount numeric(12,2))")
    wh:exec("TRUNCATE demo_sales")
  end },
  lode.task "extract" { after = { "setup" }, function()
    -- three sources fetched concurrently: each takes ~100 ms
    local fns = {}
    for i, region in ipairs(regions) do
      fns[i] = function()
        lode.sleep(100)
        wh:transaction(function(tx)
          for day = 1, 7 do
            tx:exec("INSERT INTO demo_sales VALUES ($1, $2, $3)", region, day, ("%d.%02d"):format(100 * i + day, day))
          end
        end)
        return 7
      end
    end
    local rows = lode.all(fns)
    lode.log.info("loaded sources concurrently", { north = rows[1], south = rows[2], west = rows[3] })
  end },
  lode.task "report" { after = { "extract" }, function()
    io.stdout:write("\nregion | days | total\n")
    for _, r in ipairs(wh:query("SELECT region, count(*) AS days, sum(amount) AS total FROM demo_sales GROUP BY 1 ORDER BY 1")) do
      io.stdout:write(("%s | %d | %s\n"):format(r.region, r.days, r.total))
    end
    io.stdout:write("\n")
  end },
}

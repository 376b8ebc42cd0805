-- A first pipeline: three tasks, two of them in parallel, one after both.
local lode = require "lode"

local greeting = lode.param("greeting", "hello")

return lode.pipeline "hello" {
  lode.task "left" { function()
    lode.sleep(50)
    lode.log.info(greeting .. " from the left")
  end },
  lode.task "right" { function()
    lode.sleep(50)
    lode.log.info(greeting .. " from the right")
  end },
  lode.task "join" { after = { "left", "right" }, function(ctx)
    lode.log.info("both done", { pipeline = ctx.pipeline })
  end },
}

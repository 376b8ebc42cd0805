local lode = require "lode"
return lode.pipeline "failing" {
  lode.task "extract" { function() error("source is down") end },
  lode.task "load" { after = { "extract" }, function() end },
  lode.task "side" { function() lode.log.info("side work", { rows = 3 }) end },
}

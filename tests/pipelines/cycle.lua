local lode = require "lode"
return lode.pipeline "cycle" {
  lode.task "a" { after = { "b" }, function() end },
  lode.task "b" { after = { "a" }, function() end },
}

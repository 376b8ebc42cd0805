local lode = require "lode"
local sources = require "helpers.greeting"   -- from the script's own folder
io.stdout:write(sources.greet(lode.param("who")), " dry_run=", tostring(lode.dry_run()), "\n")

local lode = require "lode"
lode.spawn(function() error("lost failure") end)
lode.sleep(10)
collectgarbage()
lode.sleep(10)

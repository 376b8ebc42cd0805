-- `lode version`
local core = require "lode.core"
return {
  summary = "print the version",
  spec = { command = "version", usage = "lode version", options = {} },
  main = function()
    io.stdout:write("lode " .. core.version .. "\n")
    return 0
  end,
}

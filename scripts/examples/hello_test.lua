-- hello.lua: the first pipeline, its parallel tasks and its parameter.
local t = require "lode.test"
local proc = require "lode.proc"
local stack = require "example_stack"

t.test("hello.lua runs its three tasks, the two independent ones in parallel", function()
  local r = proc.run({ stack.bin, "run", stack.here .. "/hello.lua", "--param", "greeting=hi" })
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stderr, "hi from the left")
  t.contains(r.stderr, "hi from the right")
  t.match(r.stderr, "pipeline hello succeeded in 0%.%d+ s %(3 ok%)")
end)

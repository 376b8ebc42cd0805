local t = require "lode.test"
local json = require "lode.json"
local lode = require "lode"

t.test("encode and decode round-trip", function()
  local v = { id = 1, name = "caf\u{e9} \"q\"", tags = { "a", "b" }, ratio = 0.25, ok = true, note = lode.null }
  local back = json.decode(json.encode(v))
  t.eq(back, v)
  t.eq(json.encode({ 1, 2, 3 }), "[1,2,3]")
  t.eq(json.null, lode.null)
end)

t.test("invalid JSON is a clear error with the offset", function()
  local err = t.raises(function() json.decode('{"a": 1,, "b": 2}') end, "invalid JSON at byte")
  t.eq(err.code, "invalid_json")
  t.raises(function() json.decode('{"a": 1} trailing') end, "unexpected text after the JSON value")
  t.raises(function() json.encode({ f = function() end }) end, "cannot encode a function")
  local cyclic = {}
  cyclic.self = cyclic
  t.raises(function() json.encode(cyclic) end, "nested too deeply")
end)

t.test("objects are written with sorted keys: the same table gives the same bytes", function()
  t.eq(json.encode({ b = 1, a = { d = 2, c = 3 }, [10] = "x", z = false }), '{"10":"x","a":{"c":3,"d":2},"b":1,"z":false}')
end)

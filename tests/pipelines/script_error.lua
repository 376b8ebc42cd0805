local function helper(x)
  return x.field.missing   -- line 2: indexes nil
end
helper({})

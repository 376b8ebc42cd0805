-- lode.test — tests for pipelines and for lode itself, run by `lode test`
-- inside the real runtime (every test is a task, so S3, SQL and timers work).
--
--   local t = require "lode.test"
--   t.test("loads the orders", function()
--     t.eq(load_orders(), 42)
--   end)
--   t.test("slow one", { timeout = 120000 }, function() ... end)
--
-- Assertions raise with the caller's file:line; `lode test` prints TAP.

local core = require "lode.core"

local M = {}

local registry = {}     -- tests of the file being loaded
local SKIP = {}         -- marker for t.skip()

local function fmt(v)
  if type(v) == "string" then
    return ("%q"):format(v):gsub("\\\n", "\\n")
  end
  return tostring(v)
end

local function fail(msg, level)
  error(msg, (level or 2) + 1)
end

--- t.test(name, [opts,] fn): register a test; opts.timeout (ms, default 60000), opts.skip (reason)
function M.test(name, opts, fn)
  if fn == nil then
    fn, opts = opts, {}
  end
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("t.test(name, [opts,] fn) needs a name and a function", 2)
  end
  registry[#registry + 1] = { name = name, fn = fn, opts = opts }
end

--- t.skip(reason): end the running test as skipped
function M.skip(reason)
  error(setmetatable({ reason = reason or "skipped" }, SKIP), 0)
end

--- t.skip_all(reason): mark every test in this file as skipped (call at file level)
function M.skip_all(reason)
  M._skip_all = reason or "skipped"
end

local function deep_diff(a, b, path, seen)
  if a == b then
    return nil
  end
  if type(a) ~= type(b) then
    return ("%s: expected %s (%s), got %s (%s)"):format(path, fmt(b), type(b), fmt(a), type(a))
  end
  if type(a) == "number" then
    if a ~= a and b ~= b then
      return nil
    end
    if math.type(a) ~= math.type(b) and a == b then
      return nil
    end
    return ("%s: expected %s, got %s"):format(path, fmt(b), fmt(a))
  end
  if type(a) ~= "table" then
    return ("%s: expected %s, got %s"):format(path, fmt(b), fmt(a))
  end
  seen = seen or {}
  if seen[a] == b then
    return nil
  end
  seen[a] = b
  for k, v in pairs(b) do
    local d = deep_diff(a[k], v, ("%s[%s]"):format(path, fmt(k)), seen)
    if d then
      return d
    end
  end
  for k, v in pairs(a) do
    if b[k] == nil then
      return ("%s[%s]: unexpected %s"):format(path, fmt(k), fmt(v))
    end
  end
  return nil
end

--- t.eq(actual, expected [, msg]): deep equality (tables compared by content)
function M.eq(actual, expected, msg)
  local d = deep_diff(actual, expected, "value")
  if d then
    fail((msg and (msg .. ": ") or "") .. d)
  end
end

--- t.ne(a, b [, msg])
function M.ne(a, b, msg)
  if not deep_diff(a, b, "value") then
    fail((msg and (msg .. ": ") or "") .. "expected values to differ, both are " .. fmt(a))
  end
end

--- t.ok(v [, msg]): v is truthy
function M.ok(v, msg)
  if not v then
    fail(msg or ("expected a true value, got " .. fmt(v)))
  end
  return v
end

--- t.is_nil(v [, msg])
function M.is_nil(v, msg)
  if v ~= nil then
    fail((msg and (msg .. ": ") or "") .. "expected nil, got " .. fmt(v))
  end
end

--- t.near(a, b, eps [, msg])
function M.near(a, b, eps, msg)
  if type(a) ~= "number" or math.abs(a - b) > (eps or 1e-9) then
    fail((msg and (msg .. ": ") or "") .. ("expected %s within %s of %s"):format(fmt(a), fmt(eps), fmt(b)))
  end
end

--- t.match(s, pattern [, msg]): s contains the Lua pattern
function M.match(s, pattern, msg)
  if type(s) ~= "string" or not s:find(pattern) then
    fail((msg and (msg .. ": ") or "") .. ("expected %s to match %s"):format(fmt(s), fmt(pattern)))
  end
end

--- t.contains(s, plain [, msg]): s contains the plain substring
function M.contains(s, plain, msg)
  if type(s) ~= "string" or not s:find(plain, 1, true) then
    fail((msg and (msg .. ": ") or "") .. ("expected %s to contain %s"):format(fmt(s), fmt(plain)))
  end
end

--- t.raises(fn [, pattern]) -> the error: fn must raise; its message must contain pattern (plain)
function M.raises(fn, pattern, msg)
  local ok, err = pcall(fn)
  if ok then
    fail((msg and (msg .. ": ") or "") .. "expected an error, none was raised")
  end
  if pattern and not tostring(err):find(pattern, 1, true) then
    fail((msg and (msg .. ": ") or "") .. ("expected an error containing %s, got %s"):format(fmt(pattern), fmt(tostring(err))))
  end
  return err
end

--- t.diag(msg): a diagnostic line in the TAP output
function M.diag(msg)
  for line in (tostring(msg) .. "\n"):gmatch("(.-)\n") do
    io.stdout:write("# ", line, "\n")
  end
end

--- t.tmpdir() -> a new private directory (removed when the test run ends)
local tmpdirs = {}
function M.tmpdir()
  local fs = require "lode.fs"
  local d = fs.mkdtemp("lode-test")
  tmpdirs[#tmpdirs + 1] = d
  return d
end

--- t.env(name) -> the variable, or skips the test with a message when unset
function M.env(name, why)
  local v = os.getenv(name)
  if v == nil or v == "" then
    M.skip(("%s is not set%s"):format(name, why and (" (" .. why .. ")") or ""))
  end
  return v
end

-- Runner -------------------------------------------------------------------

local function find_tests(path, out)
  local fs = require "lode.fs"
  if #path > 1 then
    path = path:gsub("/+$", "")
  end
  local st = fs.stat(path)
  if not st then
    return nil, ("no such file or directory: %s"):format(path)
  end
  if st.type == "file" then
    out[#out + 1] = path
    return out
  end
  local entries = fs.scandir(path) or {}
  table.sort(entries, function(a, b) return a.name < b.name end)
  for _, e in ipairs(entries) do
    local p = path .. "/" .. e.name
    if e.type == "directory" and e.name ~= "node_modules" and e.name:sub(1, 1) ~= "." then
      find_tests(p, out)
    elseif e.type == "file" and e.name:match("_test%.lua$") then
      out[#out + 1] = p
    end
  end
  return out
end
M.find_tests = find_tests

--- Run test files; prints TAP on stdout; returns passed, failed, skipped.
function M.run_files(files, opts)
  opts = opts or {}
  local n, passed, failed, skipped = 0, 0, 0, 0
  local out = io.stdout
  local function report(ok, name, directive, diag)
    n = n + 1
    out:write(("%s %d - %s%s\n"):format(ok and "ok" or "not ok", n, name:gsub("\n", " "),
      directive and (" # " .. directive) or ""))
    if diag then
      M.diag(diag)
      if not ok then   -- as Test::More does: failures are diagnosed on stderr too, so prove shows them
        io.stderr:write(("# %s\n"):format(name), (tostring(diag):gsub("([^\n]*)\n?", "#   %1\n")))
      end
    end
    out:flush()
  end
  for _, file in ipairs(files) do
    registry = {}
    M._skip_all = nil
    local label = file:gsub("^%./", "")
    -- the test file's folder is on package.path, as a script's is under `lode run`
    local saved_path = package.path
    local dir = file:match("^(.*)/[^/]*$") or "."
    package.path = dir .. "/?.lua;" .. dir .. "/?/init.lua;" .. saved_path
    local chunk, err = loadfile(file)
    local tb
    local ok = chunk and xpcall(chunk, function(e)
      tb = debug.traceback(tostring(e), 2)
      return e
    end)
    if not chunk or not ok then
      failed = failed + 1
      report(false, label .. ": loads", nil, tb or err)
    else
      for _, test in ipairs(registry) do
        local name = label .. ": " .. test.name
        if opts.filter and not name:find(opts.filter, 1, true) then
          goto continue
        end
        if M._skip_all or test.opts.skip then
          skipped = skipped + 1
          report(true, name, "SKIP " .. (M._skip_all or test.opts.skip))
          goto continue
        end
        do
          local ttb
          local timeout = math.max(test.opts.timeout or opts.timeout or 60000, opts.min_timeout or 0)
          local lode = require "lode"
          local started = core.now()
          local tok, terr = xpcall(function()
            return lode.timeout(timeout, function()
              local inner_ok, inner_err = xpcall(test.fn, function(e)
                if getmetatable(e) ~= SKIP then
                  ttb = debug.traceback(tostring(e), 2)
                end
                return e
              end)
              if not inner_ok then
                error(inner_err, 0)
              end
            end)
          end, function(e) return e end)
          local ms = core.now() - started
          if tok then
            passed = passed + 1
            report(true, name .. (opts.verbose and (" (%d ms)"):format(ms) or ""))
          elseif getmetatable(terr) == SKIP then
            skipped = skipped + 1
            report(true, name, "SKIP " .. terr.reason)
          else
            failed = failed + 1
            report(false, name, nil, ttb or tostring(terr))
          end
        end
        ::continue::
      end
    end
    package.path = saved_path
  end
  out:write(("1..%d\n"):format(n))
  local fs = require "lode.fs"
  for _, d in ipairs(tmpdirs) do
    fs.rmtree(d)
  end
  tmpdirs = {}
  return passed, failed, skipped
end

return M

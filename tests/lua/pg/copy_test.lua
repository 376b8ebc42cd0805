-- COPY streaming through lode.warehouse: text, CSV and binary in, COPY out,
-- server errors naming the line, bounded memory on 10 million rows.
local t = require "lode.test"
local lode = require "lode"
local core = require "lode.core"
local pg = require "lode.pg"

local function wh(opts)
  opts = opts or {}
  opts.url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  return lode.warehouse(opts)
end

local function fresh(w, name, cols)
  w:exec(("drop table if exists %s"):format(name))
  w:exec(("create table %s (%s)"):format(name, cols))
end

t.test("text COPY FROM STDIN loads what is written, in any chunking", function()
  local w = wh()
  fresh(w, "copy_text", "id int, name text, score numeric")
  local c = w:copy_in("COPY copy_text FROM STDIN")
  c:write("1\tal")
  c:write("ice\t1.5\n2\t\\N\t2\n3\ttab\\there\t")
  c:write("3.25\n")
  t.eq(c:finish(), 3)
  local r = w:query("select * from copy_text order by id")
  t.eq(#r, 3)
  t.eq(r[1].name, "alice")
  t.ok(r[2].name == lode.null)
  t.eq(r[3].name, "tab\there")
  t.eq(r[3].score, "3.25")
  w:exec("drop table copy_text")
  w:close()
end)

t.test("CSV COPY with quoting", function()
  local w = wh()
  fresh(w, "copy_csv", "id int, note text")
  local c = w:copy_in("COPY copy_csv FROM STDIN (FORMAT csv)", "csv")
  c:write('1,"hello, ""world"""\n2,\n3,"multi\nline"\n')
  t.eq(c:finish(), 3)
  local r = w:query("select * from copy_csv order by id")
  t.eq(r[1].note, 'hello, "world"')
  t.ok(r[2].note == lode.null)
  t.eq(r[3].note, "multi\nline")
  w:exec("drop table copy_csv")
  w:close()
end)

t.test("binary COPY: lode sends header and trailer, tuples are field count + int32 length + bytes", function()
  local w = wh()
  fresh(w, "copy_bin", "id int4, big int8, name text, f float8, ok bool")
  local c = w:copy_in("COPY copy_bin FROM STDIN (FORMAT binary)", "binary")
  for i = 1, 1000 do
    local name = (i % 10 == 0) and string.pack(">i4", -1) or string.pack(">s4", "name " .. i)
    c:write(string.pack(">i2 i4i4 i4i8", 5, 4, i, 8, i * 1000000000) .. name
      .. string.pack(">i4d i4B", 8, i / 4, 1, i % 2))
  end
  t.eq(c:finish(), 1000)
  local r = w:query("select count(*)::int as n, sum(id)::int as s, sum(big)::text as b, count(name)::int as names, sum(f) as f, count(*) filter (where ok)::int as oks from copy_bin")[1]
  t.eq(r.n, 1000)
  t.eq(r.s, 500500)
  t.eq(r.b, "500500000000000")
  t.eq(r.names, 900)
  t.eq(r.f, 500500 / 4)
  t.eq(r.oks, 500)
  t.eq(#pg.BINARY_HEADER, 19)
  w:exec("drop table copy_bin")
  w:close()
end)

t.test("an invalid row fails the COPY with the server's message and line; the table is unchanged", function()
  local w = wh()
  fresh(w, "copy_bad", "id int, name text")
  w:exec("insert into copy_bad values (100, 'kept')")
  local c = w:copy_in("COPY copy_bad FROM STDIN")
  c:write("1\ta\n2\tb\nthree\tc\n4\td\n")
  local err = t.raises(function() c:finish() end, "invalid input syntax for type integer")
  t.eq(err.sqlstate, "22P02")
  t.eq(err.line, 3)
  t.contains(tostring(err), "line 3")
  t.eq(w:query("select count(*)::int as n from copy_bad")[1].n, 1)
  -- binary: a tuple with the wrong field count
  local b = w:copy_in("COPY copy_bad FROM STDIN (FORMAT binary)", "binary")
  b:write(string.pack(">i2 i4i4 i4", 2, 4, 7, -1))
  b:write(string.pack(">i2 i4i4", 1, 4, 8))
  err = t.raises(function() b:finish() end, "row field count")
  t.eq(err.line, 2)
  t.eq(w:query("select count(*)::int as n from copy_bad")[1].n, 1)
  w:exec("drop table copy_bad")
  w:close()
end)

t.test("abort discards the COPY; COPY inside a rolled-back transaction leaves nothing", function()
  local w = wh()
  fresh(w, "copy_abort", "id int")
  local c = w:copy_in("COPY copy_abort FROM STDIN")
  c:write("1\n2\n")
  c:abort("changed my mind")
  t.eq(w:query("select count(*)::int as n from copy_abort")[1].n, 0)
  t.raises(function()
    w:transaction(function(tx)
      local x = tx:copy_in("COPY copy_abort FROM STDIN")
      x:write("1\n2\n3\n")
      t.eq(x:finish(), 3)
      error("undo")
    end)
  end, "undo")
  t.eq(w:query("select count(*)::int as n from copy_abort")[1].n, 0)
  w:exec("drop table copy_abort")
  w:close()
end)

t.test("COPY TO STDOUT is a source, read in chunks of whole rows", function()
  local w = wh()
  local parts, n = {}, 0
  local rows = w:copy_out("COPY (select g, 'row ' || g from generate_series(1, 100000) g) TO STDOUT", function(chunk)
    n = n + 1
    parts[#parts + 1] = chunk
    t.eq(chunk:sub(-1), "\n")
  end)
  t.eq(rows, 100000)
  local all = table.concat(parts)
  local lines = 0
  for _ in all:gmatch("\n") do lines = lines + 1 end
  t.eq(lines, 100000)
  t.eq(all:sub(1, 8), "1\trow 1\n")
  t.ok(n > 1, "several chunks")
  t.raises(function() w:copy_out("COPY no_such_table TO STDOUT", function() end) end, "does not exist")
  w:close()
end)

t.test("10 million rows stream through COPY with bounded memory", { timeout = 300000 }, function()
  local w = wh()
  local sanitized = os.getenv("ASAN_OPTIONS") ~= nil
  local repeats = sanitized and 100 or 1000          -- x 10000 rows per block
  fresh(w, "copy_big", "id int, name text")
  w:exec("alter table copy_big set unlogged")
  local block = {}
  for i = 1, 10000 do
    block[i] = ("%d\tname-%d\n"):format(i, i)
  end
  block = table.concat(block)
  local before = core.maxrss()
  local c = w:copy_in("COPY copy_big FROM STDIN")
  for _ = 1, repeats do
    c:write(block)
  end
  local n = c:finish()
  local peak = core.maxrss()
  t.eq(n, repeats * 10000)
  local r = w:query("select count(*)::bigint as n, sum(id)::bigint as s from copy_big")[1]
  t.eq(r.n, repeats * 10000)
  t.eq(r.s, repeats * (10000 * 10001 // 2))
  t.diag(("%d rows, %d bytes; peak RSS %d KiB (before the COPY: %d KiB)%s")
    :format(n, #block * repeats, peak, before, sanitized and " [sanitizer build: 1 M rows, RSS not checked]" or ""))
  if not sanitized then
    t.ok(peak < 64 * 1024, ("peak RSS %d KiB must stay under 64 MiB"):format(peak))
  end
  w:exec("drop table copy_big")
  w:close()
end)

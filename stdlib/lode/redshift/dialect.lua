-- lode.redshift.dialect — Redshift's query dialect on PostgreSQL: the token
-- rewrites (SELECT TOP n, subqueries in FROM without an alias, NVL, NVL2,
-- DECODE, LISTAGG … WITHIN GROUP, EXTRACT, CONVERT, APPROXIMATE,
-- informational constraints, COLLATE case_insensitive) and the schema
-- lode_redshift of functions with Redshift's results (DATEADD, DATEDIFF,
-- DATE_TRUNC, MEDIAN, STRTOL, …),
-- called by their qualified names: PostgreSQL searches pg_catalog first, and
-- a qualified call survives in a view whatever its search_path.
--
--   local dialect = require "lode.redshift.dialect"
--   local sql, uses_schema, info = dialect.rewrite(text, first_line, { ddl = true })
--   dialect.ensure(session)     -- creates lode_redshift once per database
--
-- A Redshift function lode does not emulate fails at its statement, naming
-- it, instead of PostgreSQL's "function does not exist".

local tok = require "lode.sqltok"
local core = require "lode.core"

local M = {}

M.SCHEMA = "lode_redshift"

-- Functions with Redshift's results in lode_redshift, by the name a script
-- calls them (PGDATE_PART and TEXTLEN are Redshift's synonyms).
local QUALIFIED = {
  len = "len", textlen = "len", charindex = "charindex", dateadd = "dateadd", datediff = "datediff",
  date_trunc = "date_trunc", date_part = "date_part", pgdate_part = "date_part", trunc = "trunc",
  add_months = "add_months", last_day = "last_day", months_between = "months_between",
  convert_timezone = "convert_timezone", strtol = "strtol", json_extract_path_text = "json_extract_path_text",
  split_part = "split_part", regexp_count = "regexp_count", regexp_instr = "regexp_instr",
  regexp_substr = "regexp_substr", regexp_replace = "regexp_replace", median = "median",
  json_array_length = "json_array_length", json_extract_array_element_text = "json_extract_array_element_text",
  is_valid_json = "is_valid_json", is_valid_json_array = "is_valid_json_array", replicate = "replicate",
}

-- Functions PostgreSQL has too, under the same name, with other results in
-- some cases: rewritten in Redshift SQL, but no sign by themselves that a
-- text is Redshift SQL (needs_emulation: a PostgreSQL user's wh:query of
-- regexp_replace or EXTRACT keeps PostgreSQL's meaning).
local SHARED = {
  extract = true, date_trunc = true, date_part = true, trunc = true, split_part = true,
  regexp_count = true, regexp_instr = true, regexp_substr = true, regexp_replace = true,
  json_extract_path_text = true, json_array_length = true, concat = true,
}

-- The first argument is a date part, written as a word (DATEADD(day, …)) or a string.
local DATEPART_FIRST = { dateadd = true, datediff = true, date_part = true, pgdate_part = true, date_trunc = true }

-- Arguments that are a bare string literal are read as TIMESTAMP, as Redshift
-- reads them (PostgreSQL would pick TIMESTAMPTZ for an untyped literal).
local TIMESTAMP_ARGS = {
  dateadd = { [3] = true }, datediff = { [2] = true, [3] = true }, date_trunc = { [2] = true },
  date_part = { [2] = true }, pgdate_part = { [2] = true }, add_months = { [1] = true },
  last_day = { [1] = true }, months_between = { [1] = true, [2] = true },
}

-- Redshift's date part names and abbreviations (r_Dateparts_for_datetime_functions)
-- and the part PostgreSQL's EXTRACT calls it.
local DATEPARTS = {}
for canonical, names in pairs {
  millennium = "millennium millennia mil mils", century = "century centuries c cent cents",
  decade = "decade decades dec decs", epoch = "epoch", year = "year years y yr yrs",
  quarter = "quarter quarters qtr qtrs", month = "month months mon mons", week = "week weeks w",
  dow = "dayofweek dow dw weekday", doy = "dayofyear doy dy yearday", day = "day days d",
  hour = "hour hours h hr hrs", minute = "minute minutes m min mins", second = "second seconds s sec secs",
  millisecond = "millisecond milliseconds ms msec msecs msecond mseconds millisec millisecs millisecon",
  microsecond = "microsecond microseconds microsec microsecs usecond useconds us usec usecs",
  timezone = "timezone", timezone_hour = "timezone_hour", timezone_minute = "timezone_minute",
} do
  for name in names:gmatch("%S+") do
    DATEPARTS[name] = canonical
  end
end

-- Redshift functions lode does not emulate on PostgreSQL, which has no
-- function of that name (DATE_CMP, DEXP, BPCHARCMP … it has, alike).
local NOT_EMULATED = {}
for name in ([[
  hll hll_cardinality hll_combine hll_combine_sketches hll_create_sketch
  json_serialize json_serialize_to_varbyte json_parse_array can_json_parse json_size
  crc32 fnv_hash func_sha1 sha1 sha2 murmur3_32_hash octetindex texttoint texttonumericalt
  to_varbyte from_varbyte varbyte array_flatten get_array_length split_to_array subarray
  is_array is_object is_scalar is_varchar is_char is_boolean is_integer is_bigint is_smallint
  is_float is_decimal is_number is_fp is_int2 object_transform
  pg_last_copy_count pg_last_copy_id pg_last_query_id pg_last_unload_count pg_last_unload_id
  pg_get_cols pg_get_late_binding_view_cols current_user_id
]]):gmatch("%S+") do
  NOT_EMULATED[name] = true
end

-- Redshift's catalog views of external tables, served from lode_redshift
-- (lode.spectrum.catalog creates them over its registry), never from a
-- user's schema public.
local CATALOG_VIEWS = {
  svv_external_schemas = true, svv_external_databases = true, svv_external_tables = true, svv_external_columns = true,
  svv_external_partitions = true,
}

-- Words after which a name followed by '(' is not a call (a table, a
-- function being created, …).
local NOT_A_CALL_AFTER = {
  into = true, table = true, update = true, join = true, ["function"] = true, procedure = true,
  aggregate = true, view = true, index = true, references = true, trigger = true, exists = true,
}

-- The window functions that take IGNORE NULLS on Redshift: FIRST_VALUE and
-- LAST_VALUE inside their parentheses, NTH_VALUE, LAG and LEAD after them.
local NULLS_WINDOW = { first_value = true, last_value = true, nth_value = true, lag = true, lead = true }

-- Words that end a FROM item: a subquery followed by one of them has no alias.
local NOT_AN_ALIAS = {
  where = true, group = true, order = true, limit = true, offset = true, having = true, union = true,
  intersect = true, except = true, join = true, inner = true, left = true, right = true, full = true,
  cross = true, natural = true, on = true, using = true, window = true, ["for"] = true, qualify = true,
}

local function unsupported(line, feature, message, as_is)
  error(core.error({ op = "sql", code = "unsupported", line = line, feature = feature,
    message = as_is and message or ("line %d: %s is not emulated by lode on PostgreSQL: %s"):format(line, feature, message) }), 0)
end

local is_op, is_word = tok.is_op, tok.is_word

-- The index of the ')' closing the '(' at k.
local function close_of(toks, k)
  return tok.close_of(toks, k) or unsupported(toks[k].line, "parentheses", "unbalanced parentheses")
end

local SET_OPS = { union = true, intersect = true, except = true, minus = true }

-- r_SELECT_list: "The behavior with the TOP clause is the same as the
-- behavior with the LIMIT clause"; r_UNION: "The LIMIT and OFFSET clauses
-- aren't supported as a means of restricting the number of rows returned by
-- an intermediate result of a set operation".
local function top_in_set_operation(t, op)
  unsupported(t.line, "SELECT TOP in an operand of " .. op:upper(), ("TOP is Redshift's LIMIT, and Redshift refuses a "
    .. "LIMIT within input to set operations; limit the whole result instead: SELECT TOP n * FROM (… %s …)")
    :format(op:upper()))
end

-- LIMIT or OFFSET at the top level of a parenthesized operand of a set
-- operation: ( SELECT … LIMIT n ) UNION …, which PostgreSQL runs and Redshift
-- refuses (r_UNION: "The LIMIT and OFFSET clauses aren't supported as a means
-- of restricting the number of rows returned by an intermediate result of a
-- set operation"; its example: "LIMIT may not be used within input to set
-- operations"). A LIMIT after the last operand limits the whole result and a
-- LIMIT in a subquery in FROM limits that subquery: both stay.
local function limit_in_set_operand(toks, k)
  local t = toks[k]
  local d, open = 0, k - 1
  while open >= 1 do
    if is_op(toks[open], ")") then
      d = d + 1
    elseif is_op(toks[open], "(") then
      if d == 0 then
        break
      end
      d = d - 1
    end
    open = open - 1
  end
  if open < 1 then
    return
  end
  local close = tok.close_of(toks, open)
  local before, after = toks[open - 1], close and toks[close + 1]
  local op = (after and after.type == "word" and SET_OPS[after.value] and after.value)
    or (before and before.type == "word" and SET_OPS[before.value] and before.value)
  if op then
    unsupported(t.line, t.value:upper() .. " in an operand of " .. op:upper(), ("Redshift refuses a LIMIT or OFFSET "
      .. "within input to set operations; limit the whole result instead: SELECT * FROM (… %s …) LIMIT n")
      :format(op:upper()))
  end
end

-- Pass 1: SELECT TOP n and subqueries in FROM without an alias, as edits of
-- the text (positions), so that pass 2 sees ordinary SQL.
local function rewrite_select(text, toks, lines)
  local edits = {}
  local alias_n = 0
  for k, t in ipairs(toks) do
    if t.type == "word" and (t.value == "limit" or t.value == "offset") then
      limit_in_set_operand(toks, k)
    end
    if is_word(t, "top") and toks[k + 1] and toks[k + 1].type == "number"
        and (is_word(toks[k - 1], "select") or ((is_word(toks[k - 1], "distinct") or is_word(toks[k - 1], "all"))
          and is_word(toks[k - 2], "select"))) then
      local n = toks[k + 1]
      if not math.tointeger(tonumber(n.text)) then
        unsupported(t.line, "TOP", "TOP takes a whole number of rows, got " .. n.text)
      end
      -- the end of this SELECT's query: the ')' closing its level, or the statement's end
      local depth, stop = 0, #toks + 1
      for j = k + 2, #toks do
        local u = toks[j]
        if is_op(u, "(") then
          depth = depth + 1
        elseif is_op(u, ")") then
          if depth == 0 then
            stop = j
            break
          end
          depth = depth - 1
        elseif depth == 0 and u.type == "word" and SET_OPS[u.value] then
          top_in_set_operation(t, u.value)
        elseif depth == 0 and u.type == "word" and (u.value == "limit" or u.value == "fetch") then
          unsupported(t.line, "SELECT TOP with LIMIT", "one of the two limits the query")
        end
      end
      -- a parenthesized operand of a set operation: ( SELECT TOP n … ) UNION …
      local open = k - 1
      local d = 0
      while open >= 1 do
        if is_op(toks[open], ")") then
          d = d + 1
        elseif is_op(toks[open], "(") then
          if d == 0 then
            break
          end
          d = d - 1
        end
        open = open - 1
      end
      local before, after = toks[open - 1], stop <= #toks and toks[stop + 1] or nil
      if open >= 1 and ((before and before.type == "word" and SET_OPS[before.value])
          or (after and after.type == "word" and SET_OPS[after.value])) then
        top_in_set_operation(t, (after and after.type == "word" and SET_OPS[after.value]) and after.value or before.value)
      end
      edits[#edits + 1] = { pos = t.pos, len = n.pos + #n.text - t.pos, ins = "", prio = 0 }
      -- (after the last token, not the text: a trailing -- comment would swallow it)
      local at = stop <= #toks and toks[stop].pos or toks[#toks].pos + #toks[#toks].text
      edits[#edits + 1] = { pos = at, len = 0, ins = " LIMIT " .. n.text, prio = 2 }
    elseif is_op(t, "(") and (is_word(toks[k + 1], "select") or is_word(toks[k + 1], "with"))
        and (is_word(toks[k - 1], "from") or is_word(toks[k - 1], "join") or is_op(toks[k - 1], ",")) then
      local e = close_of(toks, k)
      local after = toks[e + 1]
      local from_item = not is_op(toks[k - 1], ",")
      if not from_item then
        -- after ',' only inside a FROM list: the nearest FROM/SELECT/… at this level
        local depth = 0
        for j = k - 1, 1, -1 do
          local u = toks[j]
          if is_op(u, ")") then
            depth = depth + 1
          elseif is_op(u, "(") then
            if depth == 0 then
              break
            end
            depth = depth - 1
          elseif depth == 0 and u.type == "word" and (u.value == "from" or u.value == "select"
              or u.value == "where" or u.value == "by" or u.value == "values" or u.value == "set") then
            from_item = u.value == "from"
            break
          end
        end
      end
      if from_item and (after == nil or is_op(after, ")") or is_op(after, ",")
          or (after.type == "word" and NOT_AN_ALIAS[after.value])) then
        alias_n = alias_n + 1
        edits[#edits + 1] = { pos = toks[e].pos + 1, len = 0, ins = (" AS lode_subquery_%d"):format(alias_n), prio = 1 }
      end
    end
  end
  if #edits == 0 then
    return text
  end
  table.sort(edits, function(a, b)
    if a.pos ~= b.pos then
      return a.pos < b.pos
    end
    return a.prio < b.prio
  end)
  local out, last = {}, 1
  for _, e in ipairs(edits) do
    out[#out + 1] = text:sub(last, e.pos - 1)
    out[#out + 1] = e.ins
    last = e.pos + e.len
  end
  out[#out + 1] = text:sub(last)
  return table.concat(out)
end

-- Pass 2: functions, DECODE/NVL2/LISTAGG, APPROXIMATE, pg_table_def, COLLATE,
-- and (in CREATE TABLE) the informational constraints.
local function rewrite_calls(text, toks, opts)
  local uses_schema = false
  local info = {}
  local render

  -- the argument token ranges of the call whose '(' is at p and ')' at e
  local function args_of(p, e)
    local args, depth, start = {}, 0, p + 1
    for j = p + 1, e - 1 do
      if is_op(toks[j], "(") then
        depth = depth + 1
      elseif is_op(toks[j], ")") then
        depth = depth - 1
      elseif depth == 0 and is_op(toks[j], ",") then
        args[#args + 1] = { start, j - 1 }
        start = j + 1
      end
    end
    if start <= e - 1 then
      args[#args + 1] = { start, e - 1 }
    end
    return args
  end

  local function arg_text(a)
    return render(a[1], a[2])
  end

  -- the index past a constraint's trailing `(cols)` at k, if any
  local function skip_parens(k)
    if is_op(toks[k], "(") then
      return close_of(toks, k) + 1
    end
    return k
  end

  -- the end of a column-level REFERENCES t [(c)] [ON DELETE|UPDATE action]… at k
  local function references_end(k)
    local j = k + 1
    while toks[j] and (toks[j].type == "word" or toks[j].type == "ident") and not (toks[j].type == "word"
        and (toks[j].value == "not" or toks[j].value == "null" or toks[j].value == "default"
          or toks[j].value == "primary" or toks[j].value == "unique" or toks[j].value == "encode"
          or toks[j].value == "distkey" or toks[j].value == "sortkey" or toks[j].value == "collate"
          or toks[j].value == "on" or toks[j].value == "identity" or toks[j].value == "generated")) do
      j = j + 1
      if is_op(toks[j], ".") then
        j = j + 1
      end
    end
    return skip_parens(j) - 1
  end

  -- the columns of the PRIMARY KEY at j: its (list), or the column it is written on
  local function primary_key_columns(j)
    local cols = {}
    if is_op(toks[j + 2], "(") then
      for q = j + 3, close_of(toks, j + 2) - 1 do
        if toks[q].type == "word" or toks[q].type == "ident" then
          cols[#cols + 1] = toks[q].value
        end
      end
      return cols
    end
    local depth = 0
    for q = j - 1, 1, -1 do
      if is_op(toks[q], ")") then
        depth = depth + 1
      elseif is_op(toks[q], "(") and depth > 0 then
        depth = depth - 1
      elseif depth == 0 and (is_op(toks[q], ",") or is_op(toks[q], "(")) then
        return { toks[q + 1].value }
      end
    end
    return cols
  end

  -- the last token of a key constraint whose body starts at j: PRIMARY KEY
  -- [(…)], UNIQUE [(…)], FOREIGN KEY (…) REFERENCES t [(…)], REFERENCES t [(…)]
  local function constraint_end(j)
    if is_word(toks[j], "primary") and is_word(toks[j + 1], "key") then
      info.primary_key = primary_key_columns(j)
      return skip_parens(j + 2) - 1
    elseif is_word(toks[j], "unique") then
      return skip_parens(j + 1) - 1
    elseif is_word(toks[j], "foreign") and is_word(toks[j + 1], "key") then
      local r = skip_parens(j + 2)
      if is_word(toks[r], "references") then
        return references_end(r)
      end
    elseif is_word(toks[j], "references") then
      return references_end(j)
    end
    return nil
  end

  -- a key constraint (with its CONSTRAINT name) at k, in CREATE TABLE: its
  -- last token; a table constraint takes a comma with it
  local function drop_constraint(k)
    local j = is_word(toks[k], "constraint") and k + 2 or k
    local e = constraint_end(j)
    if not e then
      return nil
    end
    if is_op(toks[k - 1], "(") and is_op(toks[e + 1], ",") then
      e = e + 1     -- the table's first element: the comma after it goes
    end
    return e
  end

  -- handle(k) -> replacement, last token index consumed; or nil
  local function handle(k)
    local t = toks[k]
    if opts.ddl and is_op(t, ",") then
      -- , [CONSTRAINT name] PRIMARY KEY (…) | UNIQUE (…) | FOREIGN KEY (…) REFERENCES t [(…)]
      local j = is_word(toks[k + 1], "constraint") and k + 3 or k + 1
      local e = constraint_end(j)
      if e and not is_word(toks[j], "references") then
        return "", e
      end
    end
    if opts.ddl and t.type == "word" then
      -- informational on Redshift: no index, duplicates load (NOT NULL stays)
      local e = drop_constraint(k)
      if e then
        return "", e
      end
    end
    if t.type ~= "word" then
      return nil
    end
    local v, prev, nxt = t.value, toks[k - 1], toks[k + 1]
    local qualified = is_op(prev, ".")
    if v == "minus" and (is_word(nxt, "select") or is_op(nxt, "(")) and prev
        and (prev.type == "word" or prev.type == "ident" or prev.type == "number" or prev.type == "string"
          or is_op(prev, ")")) then
      return "EXCEPT", k     -- r_UNION: "MINUS and EXCEPT are exact synonyms"
    end
    if NULLS_WINDOW[v] and is_op(nxt, "(") and not qualified then
      local repl, last = M._ignore_nulls(k, close_of(toks, k + 1), args_of, render, toks, t)
      if repl then
        uses_schema = uses_schema or repl:find(M.SCHEMA, 1, true) ~= nil
        return repl, last
      end
    end
    if v == "respect" and is_word(nxt, "nulls") then
      return "", k + 1     -- the default
    elseif v == "ignore" and is_word(nxt, "nulls") then
      unsupported(t.line, "IGNORE NULLS", "PostgreSQL's window functions have no IGNORE NULLS")
    elseif v == "approximate" and (is_word(nxt, "count") or is_word(nxt, "percentile_disc")) then
      -- exact here: the same answer Redshift's estimate approximates
      return "", k
    elseif v == "pg_table_def" and not qualified then
      uses_schema = true
      return M.SCHEMA .. ".pg_table_def", k
    elseif CATALOG_VIEWS[v] and not qualified and not is_word(prev, "as") then
      -- Redshift's catalog views of external tables (lode.spectrum.catalog makes them)
      info.catalog_views = true
      return M.SCHEMA .. "." .. v, k
    elseif v == "collate" and nxt and nxt.type == "word" and nxt.value == "case_insensitive" then
      uses_schema = true
      return "COLLATE " .. M.SCHEMA .. ".case_insensitive", k + 1
    elseif v == "collate" and nxt and nxt.type == "word" and nxt.value == "case_sensitive" then
      return "", k + 1   -- the default: byte-wise comparison
    end
    if (v == "pivot" or v == "unpivot") and not qualified and prev and (is_op(prev, ")") or prev.type == "word"
        or prev.type == "ident") then
      -- r_FROM_clause30: table_reference PIVOT ( agg FOR col IN ( … ) ), UNPIVOT [INCLUDE|EXCLUDE NULLS] ( … )
      local p = k + 1
      if v == "unpivot" and (is_word(toks[p], "include") or is_word(toks[p], "exclude")) and is_word(toks[p + 1], "nulls") then
        p = p + 2
      end
      if is_op(toks[p], "(") then
        local c, depth = close_of(toks, p), 0
        for j = p + 1, c - 1 do
          if is_op(toks[j], "(") then
            depth = depth + 1
          elseif is_op(toks[j], ")") then
            depth = depth - 1
          elseif depth == 0 and is_word(toks[j], "for") then
            unsupported(t.line, v:upper(), "PostgreSQL has no " .. v:upper() .. "; write it with GROUP BY and "
              .. "aggregates FILTER (WHERE col = value), or a UNION ALL of the columns")
          end
        end
      end
    end
    if not is_op(nxt, "(") or qualified or (prev and prev.type == "word" and NOT_A_CALL_AFTER[prev.value]) then
      return nil
    end
    local e = close_of(toks, k + 1)
    if opts.detect and SHARED[v] and not (DATEPART_FIRST[v] and toks[k + 2] and toks[k + 2].type == "word"
        and is_op(toks[k + 3], ",")) then
      return nil   -- PostgreSQL's own function: its call alone is no sign of Redshift SQL
    end
    if NOT_EMULATED[v] then   -- (ST_* spatial functions are PostGIS's where it is installed)
      unsupported(t.line, v:upper(), ("lode: Redshift function %s is not emulated on PostgreSQL (line %d)")
        :format(v:upper(), t.line), true)
    end
    if v == "extract" then
      return M._extract(k, e, render, toks, t)
    elseif (v == "percentile_cont" or v == "percentile_disc") and is_word(toks[e + 1], "within")
        and is_op(toks[e + 3], "(") and is_word(toks[close_of(toks, e + 3) + 1], "over") then
      unsupported(t.line, v:upper() .. " … WITHIN GROUP … OVER", "PostgreSQL has no ordered-set window functions")
    end
    local args = args_of(k + 1, e)
    if v == "ratio_to_report" then
      return M._ratio_to_report(k, e, args, render, toks, t)
    elseif v == "concat" and #args == 2 and not opts.detect then
      -- r_CONCAT: NULL when either is NULL (PostgreSQL's concat() skips NULLs)
      return ("((%s) || (%s))"):format(arg_text(args[1]), arg_text(args[2])), e
    end
    if v == "nvl" then
      return "COALESCE", k
    elseif v == "convert" and #args == 2 and toks[args[1][1]].type == "word" then
      -- Redshift's CONVERT(type, expression); PostgreSQL's convert() takes 3 arguments
      return ("CAST(%s AS %s)"):format(arg_text(args[2]), arg_text(args[1])), e
    elseif v == "nvl2" then
      if #args ~= 3 then
        unsupported(t.line, "NVL2", "NVL2 takes 3 arguments")
      end
      -- r_NVL2: the result has not_null_return_value's type, the other value cast to it; a string
      -- literal there makes it a VARCHAR (nvl2(column1, '2345', 1234) is '1234', where PostgreSQL's
      -- CASE would resolve both to INTEGER)
      local a2 = args[2][1] == args[2][2] and toks[args[2][1]]
      return ("CASE WHEN (%s) IS NOT NULL THEN (%s) ELSE (%s)%s END")
        :format(arg_text(args[1]), arg_text(args[2]), arg_text(args[3]),
          a2 and a2.type == "string" and "::text" or ""), e
    elseif v == "decode" and #args >= 3 then
      -- DECODE(expr, search, result, …, default): NULL matches NULL
      local expr = arg_text(args[1])
      local out = { "CASE" }
      local i = 2
      while i + 1 <= #args do
        out[#out + 1] = (" WHEN (%s) IS NOT DISTINCT FROM (%s) THEN (%s)"):format(expr, arg_text(args[i]), arg_text(args[i + 1]))
        i = i + 2
      end
      if args[i] then
        out[#out + 1] = (" ELSE (%s)"):format(arg_text(args[i]))
      end
      out[#out + 1] = " END"
      return table.concat(out), e
    elseif v == "listagg" then
      return M._listagg(k, e, args, render, toks, t)
    elseif QUALIFIED[v] then
      uses_schema = true
      local parts = {}
      for i, a in ipairs(args) do
        local s = arg_text(a)
        local single = a[1] == a[2] and toks[a[1]]
        if i == 1 and DATEPART_FIRST[v] and single and single.type == "word" then
          s = "'" .. single.value .. "'"
        elseif TIMESTAMP_ARGS[v] and TIMESTAMP_ARGS[v][i] and single and single.type == "string" then
          s = s .. "::timestamp"
        end
        parts[i] = s
      end
      return ("%s.%s(%s)"):format(M.SCHEMA, QUALIFIED[v], table.concat(parts, ", ")), e
    end
    return nil
  end

  -- the text of tokens a..b, rewritten (the text between them kept)
  render = function(a, b)
    local out = {}
    local last = toks[a].pos
    local k = a
    while k <= b do
      local repl, e = handle(k)
      if repl then
        out[#out + 1] = text:sub(last, toks[k].pos - 1)
        out[#out + 1] = repl
        last = toks[e].pos + #toks[e].text
        k = e + 1
      else
        k = k + 1
      end
    end
    out[#out + 1] = text:sub(last, toks[b].pos + #toks[b].text - 1)
    return table.concat(out)
  end

  if #toks == 0 then
    return text, false, info
  end
  local body = render(1, #toks)
  return text:sub(1, toks[1].pos - 1) .. body .. text:sub(toks[#toks].pos + #toks[#toks].text), uses_schema, info
end

-- EXTRACT(part FROM x) with Redshift's parts: SECOND, MILLISECOND and
-- MICROSECOND are that unit alone (12:08:43.101 has 101 milliseconds, not
-- 43101), DECADE counts from year 1 (2000 is in decade 201).
function M._extract(k, e, render, toks, t)
  local part, from = toks[k + 2], toks[k + 3]
  if not (part and (part.type == "word" or part.type == "string") and is_word(from, "from") and k + 4 <= e - 1) then
    return nil
  end
  local canonical = DATEPARTS[part.value:lower()]
  if not canonical then
    return nil
  end
  -- an INTEGER, as Redshift returns for TIMESTAMP and TIME (EPOCH keeps its fraction)
  local src = render(k + 4, e - 1)
  if canonical == "second" then
    return ("floor(EXTRACT(second FROM %s))::integer"):format(src), e
  elseif canonical == "millisecond" then
    return ("(floor(EXTRACT(microseconds FROM %s) / 1000)::integer %% 1000)"):format(src), e
  elseif canonical == "microsecond" then
    return ("(EXTRACT(microseconds FROM %s)::integer %% 1000)"):format(src), e
  elseif canonical == "decade" then
    return ("(floor(EXTRACT(year FROM %s) / 10) + 1)::integer"):format(src), e
  elseif canonical == "epoch" then
    return ("EXTRACT(epoch FROM %s)"):format(src), e
  end
  return ("EXTRACT(%s FROM %s)::integer"):format(canonical, src), e
end

-- f(x [IGNORE NULLS]) [IGNORE NULLS] OVER (…) with IGNORE NULLS: the non-NULL
-- values of the frame gathered in window order (array_agg … FILTER … OVER)
-- and the one asked for taken from them; LAG and LEAD's frame is the rows
-- before or after the current one. nil when there is no IGNORE NULLS.
function M._ignore_nulls(k, e, args_of, render, toks, t)
  local v = t.value
  local inside = is_word(toks[e - 2], "ignore") and is_word(toks[e - 1], "nulls")
  local after = is_word(toks[e + 1], "ignore") and is_word(toks[e + 2], "nulls")
  if not inside and not after then
    return nil
  end
  local name = v:upper() .. " … IGNORE NULLS"
  local args = args_of(k + 1, inside and e - 2 or e)
  local o = after and e + 3 or e + 1
  if not (is_word(toks[o], "over") and is_op(toks[o + 1], "(")) then
    unsupported(t.line, name, "lode emulates it with a window: write OVER ( … )")
  end
  local c = close_of(toks, o + 1)
  local over = c > o + 2 and render(o + 2, c - 1) or ""
  local x = render(args[1][1], args[1][2])
  local function agg(frame)
    return ("array_agg(%s) FILTER (WHERE (%s) IS NOT NULL) OVER (%s%s)"):format(x, x, over, frame or "")
  end
  if v == "first_value" then
    return ("(%s)[1]"):format(agg()), c
  elseif v == "last_value" then
    return ("%s.array_last(%s)"):format(M.SCHEMA, agg()), c
  elseif v == "nth_value" then
    if not args[2] then
      unsupported(t.line, name, "NTH_VALUE takes an expression and an offset")
    end
    return ("(%s)[(%s)::integer]"):format(agg(), render(args[2][1], args[2][2])), c
  end
  -- LAG / LEAD: "The OVER clause cannot contain a window frame specification"
  for j = o + 2, c - 1 do
    if toks[j].type == "word" and (toks[j].value == "rows" or toks[j].value == "range" or toks[j].value == "groups") then
      unsupported(t.line, name, "the OVER clause of LAG and LEAD takes no frame")
    end
  end
  if #args > 2 then
    unsupported(t.line, name, v:upper() .. " takes an expression and an offset")
  end
  local off = args[2] and render(args[2][1], args[2][2]) or "1"
  if v == "lag" then
    return ("%s.array_nth_last(%s, (%s)::integer)"):format(M.SCHEMA,
      agg(" ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"), off), c
  end
  return ("%s.array_nth_first(%s, (%s)::integer)"):format(M.SCHEMA,
    agg(" ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING"), off), c
end

-- RATIO_TO_REPORT(x) OVER ([PARTITION BY …]): x / the sum of x over the
-- partition, as FLOAT8 (r_WF_RATIO_TO_REPORT); NULL for a NULL x.
function M._ratio_to_report(k, e, args, render, toks, t)
  if #args ~= 1 then
    unsupported(t.line, "RATIO_TO_REPORT", "RATIO_TO_REPORT takes one expression")
  end
  if not (is_word(toks[e + 1], "over") and is_op(toks[e + 2], "(")) then
    unsupported(t.line, "RATIO_TO_REPORT", "RATIO_TO_REPORT needs OVER ( [PARTITION BY …] )")
  end
  local c = close_of(toks, e + 2)
  for j = e + 3, c - 1 do
    if toks[j].type == "word" and (toks[j].value == "order" or toks[j].value == "rows" or toks[j].value == "range") then
      unsupported(t.line, "RATIO_TO_REPORT", "its OVER clause cannot contain a window ordering or frame (as on Redshift)")
    end
  end
  local x = render(args[1][1], args[1][2])
  local over = c > e + 3 and render(e + 3, c - 1) or ""
  return ("((%s)::float8 / sum((%s)::float8) OVER (%s))"):format(x, x, over), c
end

-- LISTAGG([DISTINCT] x [, delim]) [WITHIN GROUP (ORDER BY …)] [OVER (…)]:
-- NULLs and empty strings are left out; no values is NULL.
function M._listagg(k, e, args, render, toks, t)
  if #args < 1 or #args > 2 then
    unsupported(t.line, "LISTAGG", "LISTAGG takes an expression and an optional delimiter")
  end
  local distinct = ""
  local first = { args[1][1], args[1][2] }
  if is_word(toks[first[1]], "distinct") then
    distinct = "DISTINCT "
    first[1] = first[1] + 1
  end
  local x = render(first[1], first[2])
  local delim = args[2] and render(args[2][1], args[2][2]) or "''"
  local order, last = "", e
  if is_word(toks[e + 1], "within") and is_word(toks[e + 2], "group") and is_op(toks[e + 3], "(") then
    local c = close_of(toks, e + 3)
    order = " " .. render(e + 4, c - 1)
    last = c
  end
  local over = ""
  if is_word(toks[last + 1], "over") and is_op(toks[last + 2], "(") then
    if order ~= "" then
      unsupported(t.line, "LISTAGG … WITHIN GROUP … OVER",
        "PostgreSQL orders no window aggregate's input")
    end
    local c = close_of(toks, last + 2)
    over = " OVER " .. render(last + 2, c)
    last = c
  end
  return ("array_to_string(array_agg(%s%s%s) FILTER (WHERE (%s) IS NOT NULL AND (%s)::text <> '')%s, %s)")
    :format(distinct, x, order, x, x, over, delim), last
end

--- rewrite(text [, line [, opts]]) -> PostgreSQL text, uses_schema, info: one
--- statement of Redshift SQL (its literals already PostgreSQL's) in
--- PostgreSQL's dialect; uses_schema says it calls lode_redshift (see
--- ensure). opts.ddl: a CREATE TABLE, whose PRIMARY KEY, UNIQUE and FOREIGN
--- KEY / REFERENCES constraints are dropped (informational on Redshift, so
--- duplicate keys load); info.primary_key lists the primary key's columns
--- (see record_primary_key); info.catalog_views that it reads
--- SVV_EXTERNAL_* (lode.spectrum.catalog.ensure_views). Raises (code "unsupported", naming the
--- construct and its line) for what lode does not emulate.
function M.rewrite(text, line, opts)
  opts = opts or {}
  local function tokens(s)
    local toks = tok.tokenize(s)
    for _, t in ipairs(toks) do
      t.line = t.line + (line or 1) - 1
    end
    return toks
  end
  text = rewrite_select(text, tokens(text))
  return rewrite_calls(text, tokens(text), opts)
end

--- informational_constraint(toks) -> whether the statement is ALTER TABLE …
--- ADD [CONSTRAINT n] PRIMARY KEY | UNIQUE | FOREIGN KEY …, which Redshift
--- records without enforcing (lode records a primary key, see
--- record_primary_key, and enforces nothing); and a primary key's columns.
function M.informational_constraint(toks)
  if not (is_word(toks[1], "alter") and is_word(toks[2], "table")) then
    return false
  end
  for k = 3, #toks do
    if is_word(toks[k], "add") then
      local j = k + 1
      if is_word(toks[j], "constraint") then
        j = j + 2
      end
      if is_word(toks[j], "primary") and is_word(toks[j + 1], "key") and is_op(toks[j + 2], "(") then
        local cols = {}
        for q = j + 3, #toks do
          if is_op(toks[q], ")") then
            break
          elseif toks[q].type == "word" or toks[q].type == "ident" then
            cols[#cols + 1] = toks[q].value
          end
        end
        return true, cols
      end
      return is_word(toks[j], "unique") or (is_word(toks[j], "foreign") and is_word(toks[j + 1], "key"))
    end
  end
  return false
end

-- Words whose presence makes a text worth tokenizing (needs_emulation).
M.TRIGGERS = { "top", "nvl", "decode", "listagg", "approximate", "pg_table_def", "svv_external_", "pivot", "case_insensitive",
  "case_sensitive", "replicate", "convert", "nulls", "extract", "percentile_", "ratio_to_report", "minus", "concat" }
for name in pairs(QUALIFIED) do
  M.TRIGGERS[#M.TRIGGERS + 1] = name
end
for name in pairs(NOT_EMULATED) do
  M.TRIGGERS[#M.TRIGGERS + 1] = name
end

--- mentions(lower) -> whether the lowercased text names a construct of this module (cheap)
function M.mentions(lower)
  if lower:find("%(%s*select") or lower:find("%(%s*with") then
    return true
  end
  for _, w in ipairs(M.TRIGGERS) do
    if lower:find(w, 1, true) then
      return true
    end
  end
  return false
end

-- The schema lode_redshift: Redshift's functions with Redshift's results
-- (each checked against the examples in AWS's SQL reference, see
-- tests/lua/sql/dialect_test.lua).
M.SETUP = [==[
CREATE SCHEMA IF NOT EXISTS lode_redshift;
CREATE OR REPLACE FUNCTION lode_redshift.datepart(p text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
BEGIN
  CASE lower(btrim(p))
  WHEN 'millennium', 'millennia', 'mil', 'mils' THEN RETURN 'millennium';
  WHEN 'century', 'centuries', 'c', 'cent', 'cents' THEN RETURN 'century';
  WHEN 'decade', 'decades', 'dec', 'decs' THEN RETURN 'decade';
  WHEN 'epoch' THEN RETURN 'epoch';
  WHEN 'year', 'years', 'y', 'yr', 'yrs' THEN RETURN 'year';
  WHEN 'quarter', 'quarters', 'qtr', 'qtrs' THEN RETURN 'quarter';
  WHEN 'month', 'months', 'mon', 'mons' THEN RETURN 'month';
  WHEN 'week', 'weeks', 'w' THEN RETURN 'week';
  WHEN 'dayofweek', 'dow', 'dw', 'weekday' THEN RETURN 'dow';
  WHEN 'dayofyear', 'doy', 'dy', 'yearday' THEN RETURN 'doy';
  WHEN 'day', 'days', 'd' THEN RETURN 'day';
  WHEN 'hour', 'hours', 'h', 'hr', 'hrs' THEN RETURN 'hour';
  WHEN 'minute', 'minutes', 'm', 'min', 'mins' THEN RETURN 'minute';
  WHEN 'second', 'seconds', 's', 'sec', 'secs' THEN RETURN 'second';
  WHEN 'millisecond', 'milliseconds', 'ms', 'msec', 'msecs', 'msecond', 'mseconds', 'millisec', 'millisecs', 'millisecon'
    THEN RETURN 'millisecond';
  WHEN 'microsecond', 'microseconds', 'microsec', 'microsecs', 'usecond', 'useconds', 'us', 'usec', 'usecs'
    THEN RETURN 'microsecond';
  WHEN 'timezone', 'timezone_hour', 'timezone_minute' THEN RETURN lower(btrim(p));
  ELSE RAISE EXCEPTION 'lode: % is not a Redshift date part', p USING ERRCODE = '22023';
  END CASE;
END $f$;

-- DATEADD
CREATE OR REPLACE FUNCTION lode_redshift.dateadd(p text, n bigint, t timestamp) RETURNS timestamp
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
DECLARE part text := lode_redshift.datepart(p);
BEGIN
  CASE part
  -- a year is added to the month and the day kept as an offset: Feb 29 + 1 year is Mar 1 (AWS's example)
  WHEN 'year', 'decade', 'century', 'millennium' THEN
    RETURN date_trunc('month', t) + make_interval(years => (n * CASE part WHEN 'year' THEN 1 WHEN 'decade' THEN 10
      WHEN 'century' THEN 100 ELSE 1000 END)::int) + (t - date_trunc('month', t));
  WHEN 'quarter' THEN RETURN t + make_interval(months => (n * 3)::int);
  WHEN 'month' THEN RETURN t + make_interval(months => n::int);
  WHEN 'week' THEN RETURN t + n * interval '7 days';
  WHEN 'day' THEN RETURN t + n * interval '1 day';
  WHEN 'hour' THEN RETURN t + n * interval '1 hour';
  WHEN 'minute' THEN RETURN t + n * interval '1 minute';
  WHEN 'second' THEN RETURN t + n * interval '1 second';
  WHEN 'millisecond' THEN RETURN t + n * interval '1 millisecond';
  WHEN 'microsecond' THEN RETURN t + n * interval '1 microsecond';
  ELSE RAISE EXCEPTION 'lode: DATEADD does not take the date part %', p USING ERRCODE = '22023';
  END CASE;
END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.dateadd(p text, n bigint, t date) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT lode_redshift.dateadd(p, n, t::timestamp) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.dateadd(p text, n bigint, t timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE STRICT AS $f$ SELECT lode_redshift.dateadd(p, n, t::timestamp)::timestamptz $f$;
CREATE OR REPLACE FUNCTION lode_redshift.dateadd(p text, n bigint, t time) RETURNS time
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
BEGIN
  IF lode_redshift.datepart(p) NOT IN ('hour', 'minute', 'second', 'millisecond', 'microsecond') THEN
    RAISE EXCEPTION 'lode: DATEADD on a TIME takes hour, minute, second, millisecond or microsecond, not %', p
      USING ERRCODE = '22023';
  END IF;
  RETURN lode_redshift.dateadd(p, n, date '2000-01-01' + t)::time;
END $f$;
-- TIMETZ: the time in the session's zone (UTC by default, as the page's examples print it)
CREATE OR REPLACE FUNCTION lode_redshift.dateadd(p text, n bigint, t timetz) RETURNS timetz
LANGUAGE sql STABLE STRICT AS $f$
  SELECT lode_redshift.dateadd(p, n, (t AT TIME ZONE current_setting('TimeZone'))::time)::timetz $f$;

-- DATEDIFF: date part boundaries crossed between a and b
CREATE OR REPLACE FUNCTION lode_redshift.datediff(p text, a timestamp, b timestamp) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
DECLARE part text := lode_redshift.datepart(p);
BEGIN
  CASE part
  WHEN 'millennium' THEN RETURN extract(millennium FROM b) - extract(millennium FROM a);
  WHEN 'century' THEN RETURN extract(century FROM b) - extract(century FROM a);
  WHEN 'decade' THEN RETURN floor(extract(year FROM b) / 10) - floor(extract(year FROM a) / 10);
  WHEN 'year' THEN RETURN extract(year FROM b) - extract(year FROM a);
  WHEN 'quarter' THEN RETURN (extract(year FROM b) * 4 + extract(quarter FROM b))
    - (extract(year FROM a) * 4 + extract(quarter FROM a));
  WHEN 'month' THEN RETURN (extract(year FROM b) * 12 + extract(month FROM b))
    - (extract(year FROM a) * 12 + extract(month FROM a));
  WHEN 'week' THEN RETURN (date_trunc('week', b)::date - date_trunc('week', a)::date) / 7;
  WHEN 'day' THEN RETURN b::date - a::date;
  WHEN 'hour', 'minute', 'second', 'millisecond', 'microsecond' THEN
    RETURN (extract(epoch FROM date_trunc(part, b)) - extract(epoch FROM date_trunc(part, a)))
      * CASE part WHEN 'hour' THEN 1 / 3600.0 WHEN 'minute' THEN 1 / 60.0 WHEN 'second' THEN 1
        WHEN 'millisecond' THEN 1000 ELSE 1000000 END;
  ELSE RAISE EXCEPTION 'lode: DATEDIFF does not take the date part %', p USING ERRCODE = '22023';
  END CASE;
END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.datediff(p text, a timestamptz, b timestamptz) RETURNS bigint
LANGUAGE sql STABLE STRICT AS $f$ SELECT lode_redshift.datediff(p, a::timestamp, b::timestamp) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.datediff(p text, a time, b time) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
BEGIN
  IF lode_redshift.datepart(p) NOT IN ('hour', 'minute', 'second', 'millisecond', 'microsecond') THEN
    RAISE EXCEPTION 'lode: DATEDIFF on a TIME takes hour, minute, second, millisecond or microsecond, not %', p
      USING ERRCODE = '22023';
  END IF;
  RETURN lode_redshift.datediff(p, date '2000-01-01' + a, date '2000-01-01' + b);
END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.datediff(p text, a timetz, b timetz) RETURNS bigint
LANGUAGE sql STABLE STRICT AS $f$
  SELECT lode_redshift.datediff(p, (a AT TIME ZONE 'UTC')::time, (b AT TIME ZONE 'UTC')::time) $f$;

-- DATE_TRUNC: TIMESTAMP for a DATE or TIMESTAMP (PostgreSQL would make a DATE a TIMESTAMPTZ)
CREATE OR REPLACE FUNCTION lode_redshift.date_trunc(p text, t timestamp) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.date_trunc(lode_redshift.datepart(p), t) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.date_trunc(p text, t date) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.date_trunc(lode_redshift.datepart(p), t::timestamp) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.date_trunc(p text, t timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE STRICT AS $f$ SELECT pg_catalog.date_trunc(lode_redshift.datepart(p), t) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.date_trunc(p text, t interval) RETURNS interval
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.date_trunc(lode_redshift.datepart(p), t) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.date_trunc(p text, t timestamptz, zone text) RETURNS timestamptz
LANGUAGE sql STABLE STRICT AS $f$ SELECT pg_catalog.date_trunc(p, t, zone) $f$;

-- DATE_PART (and PGDATE_PART): Redshift's decade counts from year 1 (2000 is in decade 201)
CREATE OR REPLACE FUNCTION lode_redshift.date_part(p text, t timestamp) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT AS $f$
  SELECT CASE lode_redshift.datepart(p) WHEN 'decade' THEN floor(extract(year FROM t) / 10) + 1
    ELSE pg_catalog.date_part(lode_redshift.datepart(p), t) END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.date_part(p text, t timestamptz) RETURNS double precision
LANGUAGE sql STABLE STRICT AS $f$
  SELECT CASE lode_redshift.datepart(p) WHEN 'decade' THEN floor(extract(year FROM t) / 10) + 1
    ELSE pg_catalog.date_part(lode_redshift.datepart(p), t) END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.date_part(p text, t date) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT lode_redshift.date_part(p, t::timestamp) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.date_part(p text, t time) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.date_part(lode_redshift.datepart(p), t) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.date_part(p text, t interval) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.date_part(lode_redshift.datepart(p), t) $f$;

-- TRUNC: a timestamp's date, or a number truncated
CREATE OR REPLACE FUNCTION lode_redshift.trunc(t timestamp) RETURNS date
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT t::date $f$;
CREATE OR REPLACE FUNCTION lode_redshift.trunc(t timestamptz) RETURNS date
LANGUAGE sql STABLE STRICT AS $f$ SELECT t::date $f$;
CREATE OR REPLACE FUNCTION lode_redshift.trunc(x numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.trunc(x) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.trunc(x numeric, d int) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.trunc(x, d) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.trunc(x double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.trunc(x) $f$;

-- ADD_MONTHS: the last day of a month stays the last day; LAST_DAY; MONTHS_BETWEEN
CREATE OR REPLACE FUNCTION lode_redshift.add_months(t timestamp, n bigint) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT AS $f$
  SELECT CASE WHEN t::date = (date_trunc('month', t) + interval '1 month - 1 day')::date
    THEN (date_trunc('month', t) + make_interval(months => n::int + 1) - interval '1 day') + (t - date_trunc('day', t))
    ELSE t + make_interval(months => n::int) END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.add_months(t date, n bigint) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT lode_redshift.add_months(t::timestamp, n) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.add_months(t timestamptz, n bigint) RETURNS timestamptz
LANGUAGE sql STABLE STRICT AS $f$ SELECT lode_redshift.add_months(t::timestamp, n)::timestamptz $f$;
CREATE OR REPLACE FUNCTION lode_redshift.last_day(t timestamp) RETURNS date
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT (date_trunc('month', t) + interval '1 month - 1 day')::date $f$;
CREATE OR REPLACE FUNCTION lode_redshift.last_day(t timestamptz) RETURNS date
LANGUAGE sql STABLE STRICT AS $f$ SELECT lode_redshift.last_day(t::timestamp) $f$;
-- MONTHS_BETWEEN: whole months from the years and months; the days and times
-- as a fraction of a 31-day month, unless both are the same day of a month or
-- both a month's last day
CREATE OR REPLACE FUNCTION lode_redshift.months_between(a timestamp, b timestamp) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT AS $f$
  SELECT ((extract(year FROM a) * 12 + extract(month FROM a)) - (extract(year FROM b) * 12 + extract(month FROM b)))::float8
    + CASE WHEN extract(day FROM a) = extract(day FROM b)
        OR (a::date = lode_redshift.last_day(a) AND b::date = lode_redshift.last_day(b)) THEN 0
      ELSE (extract(epoch FROM (a - date_trunc('month', a))) - extract(epoch FROM (b - date_trunc('month', b))))
        / 86400.0 / 31 END $f$;

-- CONVERT_TIMEZONE([source,] target, timestamp)
CREATE OR REPLACE FUNCTION lode_redshift.convert_timezone(src text, tgt text, t timestamp) RETURNS timestamp
LANGUAGE sql STABLE STRICT AS $f$ SELECT (t AT TIME ZONE src) AT TIME ZONE tgt $f$;
CREATE OR REPLACE FUNCTION lode_redshift.convert_timezone(tgt text, t timestamp) RETURNS timestamp
LANGUAGE sql STABLE STRICT AS $f$ SELECT (t AT TIME ZONE 'UTC') AT TIME ZONE tgt $f$;
CREATE OR REPLACE FUNCTION lode_redshift.convert_timezone(tgt text, t timestamptz) RETURNS timestamp
LANGUAGE sql STABLE STRICT AS $f$ SELECT t AT TIME ZONE tgt $f$;

-- strings
CREATE OR REPLACE FUNCTION lode_redshift.len(s text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.length(s) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.replicate(s anyelement, n integer) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.repeat(s::text, n) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.charindex(sub text, s text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.strpos(s, sub) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.split_part(s text, delim text, part integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
BEGIN
  IF part < 1 THEN
    RAISE EXCEPTION 'lode: SPLIT_PART position must be greater than 0 (got %), as on Redshift', part USING ERRCODE = '22023';
  END IF;
  RETURN pg_catalog.split_part(s, delim, part);
END $f$;
-- a number or a datetime given to a string function is read as its text, as Redshift converts it
-- implicitly (r_CHARINDEX's COMMISSION example, SPLIT_PART's LISTTIME examples)
CREATE OR REPLACE FUNCTION lode_redshift.charindex(sub text, s numeric) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.strpos(s::text, sub) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.charindex(sub text, s timestamp) RETURNS integer
LANGUAGE sql STABLE STRICT AS $f$ SELECT pg_catalog.strpos(s::text, sub) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.charindex(sub text, s date) RETURNS integer
LANGUAGE sql STABLE STRICT AS $f$ SELECT pg_catalog.strpos(s::text, sub) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.split_part(s numeric, delim text, part integer) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT lode_redshift.split_part(s::text, delim, part) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.split_part(s timestamp, delim text, part integer) RETURNS text
LANGUAGE sql STABLE STRICT AS $f$ SELECT lode_redshift.split_part(s::text, delim, part) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.split_part(s date, delim text, part integer) RETURNS text
LANGUAGE sql STABLE STRICT AS $f$ SELECT lode_redshift.split_part(s::text, delim, part) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.strtol(s text, base integer) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
DECLARE
  i int := 1; n int; neg boolean := false; v numeric := 0; d int; ch text;
BEGIN
  IF base < 2 OR base > 36 THEN
    RAISE EXCEPTION 'lode: STRTOL base must be between 2 and 36 (got %)', base USING ERRCODE = '22023';
  END IF;
  s := ltrim(s, E' \t\n\r\f\v');
  n := length(s);
  IF n = 0 OR substr(s, 1, 1) = E'\\' AND substr(s, 2, 1) = '0' THEN
    RETURN 0;
  END IF;
  ch := substr(s, 1, 1);
  IF ch IN ('+', '-') THEN
    neg := ch = '-';
    i := 2;
  END IF;
  IF base = 16 AND lower(substr(s, i, 2)) = '0x' THEN
    i := i + 2;
  END IF;
  IF i > n THEN
    RAISE EXCEPTION 'lode: STRTOL: "%" is not a number in base %', s, base USING ERRCODE = '22P02';
  END IF;
  WHILE i <= n LOOP
    ch := lower(substr(s, i, 1));
    d := CASE WHEN ch BETWEEN '0' AND '9' THEN ascii(ch) - 48 WHEN ch BETWEEN 'a' AND 'z' THEN ascii(ch) - 87 ELSE 99 END;
    IF d >= base THEN
      RAISE EXCEPTION 'lode: STRTOL: "%" is not a number in base %', s, base USING ERRCODE = '22P02';
    END IF;
    v := v * base + d;
    i := i + 1;
  END LOOP;
  RETURN (CASE WHEN neg THEN -v ELSE v END)::bigint;
END $f$;

-- JSON_EXTRACT_PATH_TEXT: NULL for a path that is not there; null_if_invalid
CREATE OR REPLACE FUNCTION lode_redshift.json_extract_path_text(j text, path text[], null_if_invalid boolean)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE doc json;
BEGIN
  IF j IS NULL THEN
    RETURN NULL;
  END IF;
  BEGIN
    doc := j::json;
  EXCEPTION WHEN invalid_text_representation THEN
    IF null_if_invalid THEN
      RETURN NULL;
    END IF;
    RAISE EXCEPTION 'lode: JSON_EXTRACT_PATH_TEXT: invalid JSON: %', left(j, 80) USING ERRCODE = '22P02';
  END;
  -- a path that is not there is NULL (the reference's current text; its older one said '')
  RETURN doc #>> path;
END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.json_extract_path_text(j text, VARIADIC path text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$ SELECT lode_redshift.json_extract_path_text(j, path, false) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.json_extract_path_text(j text, p1 text, b boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$ SELECT lode_redshift.json_extract_path_text(j, ARRAY[p1], b) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.json_extract_path_text(j text, p1 text, p2 text, b boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$ SELECT lode_redshift.json_extract_path_text(j, ARRAY[p1, p2], b) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.json_extract_path_text(j text, p1 text, p2 text, p3 text, b boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$ SELECT lode_redshift.json_extract_path_text(j, ARRAY[p1, p2, p3], b) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.json_extract_path_text(j text, p1 text, p2 text, p3 text, p4 text, b boolean)
RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT lode_redshift.json_extract_path_text(j, ARRAY[p1, p2, p3, p4], b) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.json_extract_path_text(j text, p1 text, p2 text, p3 text, p4 text, p5 text,
  b boolean) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT lode_redshift.json_extract_path_text(j, ARRAY[p1, p2, p3, p4, p5], b) $f$;

-- JSON_ARRAY_LENGTH, JSON_EXTRACT_ARRAY_ELEMENT_TEXT (zero-based; NULL out of
-- bounds), IS_VALID_JSON (an object), IS_VALID_JSON_ARRAY
CREATE OR REPLACE FUNCTION lode_redshift.json_or_null(j text, null_if_invalid boolean, fn text) RETURNS json
LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
  RETURN j::json;
EXCEPTION WHEN invalid_text_representation THEN
  IF null_if_invalid THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'lode: %: invalid JSON: %', fn, left(j, 80) USING ERRCODE = '22P02';
END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.json_array_length(j text, null_if_invalid boolean DEFAULT false) RETURNS integer
LANGUAGE sql IMMUTABLE AS $f$
  SELECT pg_catalog.json_array_length(lode_redshift.json_or_null(j, null_if_invalid, 'JSON_ARRAY_LENGTH')) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.json_extract_array_element_text(j text, pos integer,
  null_if_invalid boolean DEFAULT false) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE WHEN d IS NULL OR pos < 0 OR pos >= pg_catalog.json_array_length(d) THEN NULL ELSE d ->> pos END
  FROM (SELECT lode_redshift.json_or_null(j, null_if_invalid, 'JSON_EXTRACT_ARRAY_ELEMENT_TEXT') AS d) q $f$;
CREATE OR REPLACE FUNCTION lode_redshift.is_valid_json(j text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
BEGIN
  RETURN pg_catalog.json_typeof(j::json) = 'object';
EXCEPTION WHEN invalid_text_representation THEN
  RETURN false;
END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.is_valid_json_array(j text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
BEGIN
  RETURN pg_catalog.json_typeof(j::json) = 'array';
EXCEPTION WHEN invalid_text_representation THEN
  RETURN false;
END $f$;

-- REGEXP_*: Redshift's parameters (c, i, e, p) and positions below 1 read as 1
CREATE OR REPLACE FUNCTION lode_redshift.regexp_flags(params text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE f text := ''; ch text;
BEGIN
  FOR i IN 1 .. coalesce(length(params), 0) LOOP
    ch := substr(params, i, 1);
    CASE ch
    WHEN 'c' THEN f := f || 'c';
    WHEN 'i' THEN f := f || 'i';
    WHEN 'e', 'p' THEN NULL;  -- e: the caller's; p: PostgreSQL's advanced expressions read the PCRE used in practice
    ELSE RAISE EXCEPTION 'lode: unknown REGEXP parameter ''%'' (Redshift takes c, i, e, p)', ch USING ERRCODE = '22023';
    END CASE;
  END LOOP;
  RETURN f;
END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.regexp_count(s text, pat text, pos integer DEFAULT 1, params text DEFAULT '')
RETURNS integer LANGUAGE sql IMMUTABLE AS $f$
  SELECT pg_catalog.regexp_count(s, pat, greatest(pos, 1), lode_redshift.regexp_flags(params)) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.regexp_instr(s text, pat text, pos integer DEFAULT 1, occurrence integer DEFAULT 1,
  opt integer DEFAULT 0, params text DEFAULT '') RETURNS integer LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE WHEN occurrence < 1 THEN NULL ELSE pg_catalog.regexp_instr(s, pat, greatest(pos, 1), occurrence, opt,
    lode_redshift.regexp_flags(params), CASE WHEN strpos(coalesce(params, ''), 'e') > 0 THEN 1 ELSE 0 END) END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.regexp_substr(s text, pat text, pos integer DEFAULT 1, occurrence integer DEFAULT 1,
  params text DEFAULT '') RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE WHEN occurrence < 1 THEN NULL WHEN greatest(pos, 1) > length(s) THEN ''
    ELSE pg_catalog.regexp_substr(s, pat, greatest(pos, 1), occurrence, lode_redshift.regexp_flags(params),
      CASE WHEN strpos(coalesce(params, ''), 'e') > 0 AND pg_catalog.regexp_count(pat, '\(') > 0 THEN 1 ELSE 0 END) END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.regexp_replace(s text, pat text, repl text DEFAULT '', pos integer DEFAULT 1,
  params text DEFAULT '') RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT pg_catalog.regexp_replace(s, pat, repl, greatest(pos, 1), 0, lode_redshift.regexp_flags(params)) $f$;

-- PostgreSQL's own spellings of these functions, which Redshift's never take
-- (flags where Redshift has a position; a subexpression number; a json value)
CREATE OR REPLACE FUNCTION lode_redshift.regexp_replace(s text, pat text, repl text, flags text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.regexp_replace(s, pat, repl, flags) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.regexp_replace(s text, pat text, repl text, start integer, n integer)
RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.regexp_replace(s, pat, repl, start, n) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.regexp_replace(s text, pat text, repl text, start integer, n integer,
  flags text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $f$
  SELECT pg_catalog.regexp_replace(s, pat, repl, start, n, flags) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.regexp_substr(s text, pat text, start integer, n integer, flags text,
  subexpr integer) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $f$
  SELECT pg_catalog.regexp_substr(s, pat, start, n, flags, subexpr) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.regexp_instr(s text, pat text, start integer, n integer, endoption integer,
  flags text, subexpr integer) RETURNS integer LANGUAGE sql IMMUTABLE STRICT AS $f$
  SELECT pg_catalog.regexp_instr(s, pat, start, n, endoption, flags, subexpr) $f$;
CREATE OR REPLACE FUNCTION lode_redshift.json_extract_path_text(j json, VARIADIC path text[]) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT pg_catalog.json_extract_path_text(j, VARIADIC path) $f$;

-- IGNORE NULLS in window functions: the non-NULL values of the frame, in order
CREATE OR REPLACE FUNCTION lode_redshift.array_last(a anyarray) RETURNS anyelement
LANGUAGE sql IMMUTABLE AS $f$ SELECT a[pg_catalog.array_upper(a, 1)] $f$;
CREATE OR REPLACE FUNCTION lode_redshift.array_nth_last(a anyarray, n integer) RETURNS anyelement
LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
  IF n IS NULL OR n < 1 THEN
    RAISE EXCEPTION 'lode: LAG … IGNORE NULLS with offset % is not emulated (an offset of 1 or more is)', n
      USING ERRCODE = '0A000';
  END IF;
  RETURN a[pg_catalog.array_upper(a, 1) - n + 1];
END $f$;
CREATE OR REPLACE FUNCTION lode_redshift.array_nth_first(a anyarray, n integer) RETURNS anyelement
LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
  IF n IS NULL OR n < 1 THEN
    RAISE EXCEPTION 'lode: LEAD … IGNORE NULLS with offset % is not emulated (an offset of 1 or more is)', n
      USING ERRCODE = '0A000';
  END IF;
  RETURN a[pg_catalog.array_lower(a, 1) + n - 1];
END $f$;

-- MEDIAN: exact for DECIMAL (PostgreSQL's percentile_cont reads double precision)
CREATE OR REPLACE FUNCTION lode_redshift.median_final(v numeric[]) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE WHEN n = 0 THEN NULL WHEN n % 2 = 1 THEN s[n / 2 + 1] ELSE (s[n / 2] + s[n / 2 + 1]) / 2 END
  FROM (SELECT array_agg(x ORDER BY x) AS s, count(*) AS n FROM unnest(v) AS x WHERE x IS NOT NULL) q $f$;
CREATE OR REPLACE FUNCTION lode_redshift.median_final_float(v double precision[]) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE WHEN n = 0 THEN NULL WHEN n % 2 = 1 THEN s[n / 2 + 1] ELSE (s[n / 2] + s[n / 2 + 1]) / 2 END
  FROM (SELECT array_agg(x ORDER BY x) AS s, count(*) AS n FROM unnest(v) AS x WHERE x IS NOT NULL) q $f$;
CREATE OR REPLACE AGGREGATE lode_redshift.median(numeric) (SFUNC = array_append, STYPE = numeric[],
  FINALFUNC = lode_redshift.median_final, INITCOND = '{}');
CREATE OR REPLACE AGGREGATE lode_redshift.median(double precision) (SFUNC = array_append, STYPE = double precision[],
  FINALFUNC = lode_redshift.median_final_float, INITCOND = '{}');
-- INT2, INT4, INT8 give DECIMAL (r_MEDIAN's table), exact: not the double precision overload,
-- which PostgreSQL would otherwise pick for them (a BIGINT past 2^53 would come back rounded)
CREATE OR REPLACE FUNCTION lode_redshift.median_final_int(v anyarray) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $f$ SELECT lode_redshift.median_final(v::text::numeric[]) $f$;
CREATE OR REPLACE AGGREGATE lode_redshift.median(smallint) (SFUNC = array_append, STYPE = smallint[],
  FINALFUNC = lode_redshift.median_final_int, INITCOND = '{}');
CREATE OR REPLACE AGGREGATE lode_redshift.median(integer) (SFUNC = array_append, STYPE = integer[],
  FINALFUNC = lode_redshift.median_final_int, INITCOND = '{}');
CREATE OR REPLACE AGGREGATE lode_redshift.median(bigint) (SFUNC = array_append, STYPE = bigint[],
  FINALFUNC = lode_redshift.median_final_int, INITCOND = '{}');

-- the primary keys Redshift's DDL declared, informational (no index): what
-- lode.merge takes as the key, as it reads Redshift's catalog
CREATE TABLE IF NOT EXISTS lode_redshift.primary_keys (relid oid PRIMARY KEY, columns text[] NOT NULL);

-- PG_TABLE_DEF: the columns of the tables on the search path, with Redshift's columns
CREATE OR REPLACE VIEW lode_redshift.pg_table_def AS
SELECT n.nspname AS schemaname, c.relname AS tablename, a.attname AS "column",
  pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, 'none'::character(32) AS encoding,
  false AS distkey, 0::integer AS sortkey, a.attnotnull AS notnull
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND pg_catalog.pg_table_is_visible(c.oid);

-- COLLATE case_insensitive
CREATE COLLATION IF NOT EXISTS lode_redshift.case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
]==]

-- The schema's comment: a checksum (FNV-1a) of SETUP, so a lode whose
-- functions changed replaces them in a database an older lode set up.
local function fnv1a(str)
  local h = 2166136261
  for i = 1, #str do
    h = ((h ~ str:byte(i)) * 16777619) & 0xffffffff
  end
  return h
end
M.VERSION = ("lode_redshift %08x"):format(fnv1a(M.SETUP))

local ready = setmetatable({}, { __mode = "k" })

--- record_primary_key(s, table_sql, columns): remember the informational
--- primary key of the table named by table_sql (as the statement wrote it)
--- in lode_redshift.primary_keys, replacing any earlier one and forgetting
--- the keys of tables that no longer exist.
function M.record_primary_key(s, table_sql, columns)
  if core.dry_run() then
    return
  end
  M.ensure(s)
  s:query_raw("DELETE FROM lode_redshift.primary_keys k WHERE NOT EXISTS "
    .. "(SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = k.relid) OR k.relid = $1::regclass", table_sql)
  s:query_raw("INSERT INTO lode_redshift.primary_keys (relid, columns) VALUES ($1::regclass, $2::text[])",
    table_sql, "{" .. table.concat((function()
      local q = {}
      for i, c in ipairs(columns) do
        q[i] = '"' .. c:gsub('[\\"]', "\\%0") .. '"'
      end
      return q
    end)(), ",") .. "}")
end

local VERSION_SQL = "SELECT pg_catalog.obj_description(oid, 'pg_namespace') AS v "
  .. "FROM pg_catalog.pg_namespace WHERE nspname = 'lode_redshift'"

--- ensure(s): create (or update) the schema lode_redshift in s's database,
--- once per connection; s is a session or transaction (inside the script's
--- own BEGIN it is a savepoint, and remembered only once committed).
function M.ensure(s)
  local c = s.conn
  if ready[c] or core.dry_run() then
    return        -- under `lode plan` the plan shows the script, not lode's set-up
  end
  local r = s:query_raw(VERSION_SQL)
  if not (r[1] and r[1].v == M.VERSION) then
    s:transaction(function(tx)
      -- one creator at a time; the others find it made
      tx:query_raw("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('lode_redshift'))")
      local again = tx:query_raw(VERSION_SQL)
      if again[1] and again[1].v == M.VERSION then
        return
      end
      for _, st in ipairs(tok.split(M.SETUP)) do
        if st.text:match("^CREATE COLLATION") then
          -- needs a PostgreSQL built with ICU: without it only COLLATE case_insensitive fails
          local ok, err = pcall(tx.transaction, tx, function(sp) sp:query_raw(st.text) end)
          if not ok then
            core.log("warn", "lode: COLLATE case_insensitive is not available on this PostgreSQL: "
              .. tostring(type(err) == "table" and err.message or err))
          end
        else
          tx:query_raw(st.text)
        end
      end
      tx:query_raw(("COMMENT ON SCHEMA lode_redshift IS '%s'"):format(M.VERSION))
    end)
  end
  local st = c:transaction_status()
  if st ~= "intrans" and st ~= "inerror" then
    ready[c] = true
  end
end

return M

-- lode.spectrum.keycast — Redshift's comparison of a string partition key
-- with a number, written into the statement as an explicit cast.
--
-- On Redshift `year = 2024` on a `year string` partition key casts the
-- string to the number's type. PostgreSQL has no text = integer operator,
-- and creating one would change `varchar = int` for every user of the
-- database; so the Redshift SQL lode runs on PostgreSQL (lode sql, lode run,
-- a warehouse with emulate = "redshift") has each such comparison's column
-- wrapped in lode.rs_key_<type>(column) (emulate.key_cast_sql): the cast for
-- text, the number itself for a number — so a same-named number column of
-- another relation compares unchanged. After inlining the comparison is
-- `(year)::integer = 2024`, the form of the CHECK constraints each
-- partition carries, so it still prunes.
--
--   text = keycast.rewrite(session, text)   -- one statement

local tok = require "lode.sqltok"
local json = require "lode.json"

local M = {}

local COMPARE = { ["="] = true, ["<>"] = true, ["!="] = true, ["<"] = true, ["<="] = true, [">"] = true, [">="] = true }

-- Operators binding tighter than a comparison (or part of a name): a column
-- next to one is not a whole side of the comparison.
local BINDS = { ["."] = true, ["::"] = true, ["+"] = true, ["-"] = true, ["*"] = true, ["/"] = true, ["%"] = true,
  ["^"] = true, ["||"] = true, ["["] = true, ["|"] = true, ["&"] = true, ["#"] = true,
  ["~"] = true, ["@"] = true }

local is_op, is_word = tok.is_op, tok.is_word

local function binds(t)
  return t ~= nil and t.type == "op" and BINDS[t.text] == true
end

-- The type PostgreSQL gives a numeric literal (with its sign): int4, int8 or numeric.
local function number_type(text)
  if text:find("[%.eE]") then
    return "numeric"
  end
  local n = math.tointeger(tonumber(text))
  if n and n >= -2147483648 and n <= 2147483647 then
    return "int4"
  elseif n and #text:gsub("^[+-]", "") <= 18 then
    return "int8"
  end
  return "numeric"
end

local WIDER = { int4 = 1, int8 = 2, numeric = 3 }
local function wider(a, b)
  if not a then
    return b
  end
  return WIDER[b] > WIDER[a] and b or a
end

-- A signed number starting at toks[k]: its type and the index after it.
local function number_at(toks, k)
  local sign = ""
  if is_op(toks[k], "-") or is_op(toks[k], "+") then
    sign = toks[k].text
    k = k + 1
  end
  if toks[k] and toks[k].type == "number" then
    return number_type(sign .. toks[k].text), k + 1
  end
  return nil
end

-- The type of the numbers on the other side of a comparison starting after
-- the column (toks[k] is the token after it), or nil: `= 2024`, `IN (1, 2)`,
-- `BETWEEN 1 AND 3`, each with a NOT where SQL allows one.
local function compared_number(toks, k)
  if toks[k] and toks[k].type == "op" and COMPARE[toks[k].text] then
    local ty, after = number_at(toks, k + 1)
    if ty and not binds(toks[after]) then
      return ty
    end
    return nil
  end
  if is_word(toks[k], "not") then
    k = k + 1
  end
  if is_word(toks[k], "in") and is_op(toks[k + 1], "(") then
    local ty, j = nil, k + 2
    while true do
      local t1, after = number_at(toks, j)
      if not t1 then
        return nil
      end
      ty = wider(ty, t1)
      if is_op(toks[after], ")") then
        return ty
      elseif not is_op(toks[after], ",") then
        return nil
      end
      j = after + 1
    end
  end
  if is_word(toks[k], "between") then
    k = k + 1
    if is_word(toks[k], "symmetric") or is_word(toks[k], "asymmetric") then
      k = k + 1
    end
    local t1, after = number_at(toks, k)
    if not t1 or not is_word(toks[after], "and") then
      return nil
    end
    local t2, after2 = number_at(toks, after + 1)
    if not t2 or binds(toks[after2]) then
      return nil
    end
    return wider(t1, t2)
  end
  return nil
end

-- Keywords after which a - or + is a sign (a column name there makes it a subtraction).
local CLAUSE = { ["and"] = true, ["or"] = true, ["not"] = true, where = true, when = true, ["then"] = true,
  ["else"] = true, on = true, having = true, select = true }

local function is_compare(t)
  return t ~= nil and t.type == "op" and COMPARE[t.text] == true
end

-- The type of a number that is the whole left side of a comparison ending
-- at toks[k] (2024 = year, -1 < year), or nil.
local function number_before(toks, k)
  local t = toks[k]
  if not (t and t.type == "number") then
    return nil
  end
  local sign, before = "", toks[k - 1]
  if is_op(before, "-") or is_op(before, "+") then
    sign, before = before.text, toks[k - 2]
    -- a sign, not a subtraction: nothing that ends a value comes before it
    if before and not ((before.type == "word" and CLAUSE[before.value]) or is_op(before, "(") or is_op(before, ",")) then
      return nil
    end
  elseif binds(before) or is_compare(before) then
    return nil
  end
  return number_type(sign .. t.text)
end

-- The name a word or quoted identifier stands for.
local function name_of(t)
  if t and (t.type == "word" or t.type == "ident") then
    return t.value
  end
  return nil
end

--- comparisons(toks) -> { {first =, last =, name =, type =} }: the column
--- references (tokens first..last, last named `name`) compared with a number
--- of that type (int4, int8, numeric), in order.
function M.comparisons(toks)
  local out = {}
  local assigns = false
  for _, t in ipairs(toks) do
    assigns = assigns or is_word(t, "set")
  end
  for i, t in ipairs(toks) do
    local name = name_of(t)
    if name and not is_op(toks[i + 1], "(") and not is_op(toks[i + 1], ".") then
      local first = i
      while is_op(toks[first - 1], ".") and name_of(toks[first - 2]) do
        first = first - 2
      end
      local ty
      if not binds(toks[first - 1]) then
        -- column first: year = 2024, year IN (…), year BETWEEN … AND …
        ty = compared_number(toks, i + 1)
        if not ty and is_compare(toks[first - 1]) and not binds(toks[i + 1]) then
          ty = number_before(toks, first - 2)
        end
      end
      if ty and (is_word(toks[first - 1], "set") or (is_op(toks[first - 1], ",") and assigns)) then
        ty = nil -- UPDATE … SET year = 2024: an assignment
      end
      if ty then
        out[#out + 1] = { first = first, last = i, name = name, type = ty }
      end
    end
  end
  return out
end

-- The string partition keys, among the wanted names, of the partitioned
-- tables the statement names ({ [column name] = true }), and whether the
-- cast functions exist: one catalog query. An emulated external table is
-- the root of its partition tree; its string keys are text LIST keys there
-- and in its sub-tables.
local KEYS_SQL = [[
SELECT a.attname AS name, to_regprocedure('lode.rs_key_numeric(double precision)') IS NOT NULL AS fn
FROM pg_catalog.pg_partitioned_table p
JOIN pg_catalog.pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = ANY (p.partattrs::int2[])
JOIN pg_catalog.pg_class r ON r.oid = pg_catalog.pg_partition_root(p.partrelid)
WHERE a.atttypid = 'pg_catalog.text'::pg_catalog.regtype
  AND a.attname IN (SELECT pg_catalog.jsonb_array_elements_text($1::jsonb))
  AND r.relname IN (SELECT pg_catalog.jsonb_array_elements_text($2::jsonb))
UNION ALL
SELECT NULL, to_regprocedure('lode.rs_key_numeric(double precision)') IS NOT NULL]]

local function string_keys(s, toks, wanted)
  local named, names = {}, {}
  for _, t in ipairs(toks) do
    local n = name_of(t)
    if n and not named[n] then
      named[n] = true
      names[#names + 1] = n
    end
  end
  local want = {}
  for n in pairs(wanted) do
    want[#want + 1] = n
  end
  local keys, fn = {}, false
  for _, row in ipairs(s:query(KEYS_SQL, json.encode(want), json.encode(names))) do
    fn = row.fn
    if type(row.name) == "string" then
      keys[row.name] = true
    end
  end
  return keys, fn
end

--- rewrite(s, text) -> text: one statement of Redshift SQL with each string
--- partition key compared with a number wrapped in its cast (the text
--- unchanged when there is none; one catalog query when a column is
--- compared with a number at all). s is a session or connection (:query).
function M.rewrite(s, text)
  local ok, toks = pcall(tok.tokenize, text)
  if not ok then
    return text -- the server reports the syntax error
  end
  local found = M.comparisons(toks)
  if #found == 0 then
    return text
  end
  local wanted = {}
  for _, c in ipairs(found) do
    wanted[c.name] = true
  end
  local keys, have_functions = string_keys(s, toks, wanted)
  if not next(keys) then
    return text
  end
  if not have_functions then
    require("lode.spectrum.emulate")._key_casts(s)
  end
  local out, pos = {}, 1
  for _, c in ipairs(found) do
    if keys[c.name] then
      local a, z = toks[c.first], toks[c.last]
      out[#out + 1] = text:sub(pos, a.pos - 1)
      out[#out + 1] = ("lode.rs_key_%s(%s)"):format(c.type, text:sub(a.pos, z.pos + #z.text - 1))
      pos = z.pos + #z.text
    end
  end
  out[#out + 1] = text:sub(pos)
  return table.concat(out)
end

return M

-- lode.sqltok — a SQL tokenizer for PostgreSQL/Redshift text: quoted
-- identifiers, string literals (standard, E'' escapes, U&''), dollar quotes,
-- nested block comments, line comments, numbers, operators. Used to split
-- scripts into statements and to recognise the Redshift-only statements
-- lode emulates — never regular expressions over the raw text.
--
--   for _, st in ipairs(sqltok.split(text)) do print(st.line, st.text) end
--   local toks = sqltok.tokenize("select 'a;b'")   -- {type=, text=, value=, pos=, line=}
--
-- Token types: word (keyword or unquoted identifier, value lowercased),
-- ident ("quoted", value unescaped), string (value unescaped), number,
-- op (operators and punctuation), semicolon, param ($1), comment, space.

local core = require "lode.core"

local M = {}

local function syntax_error(msg, line)
  error(core.error({ op = "sql", code = "syntax_error", line = line,
                     message = ("line %d: %s"):format(line, msg) }), 0)
end

local function count_lines(s, i, j)
  local n = 0
  for _ in s:sub(i, j):gmatch("\n") do
    n = n + 1
  end
  return n
end

--- tokenize(sql [, keep_trivia [, backslash_escapes]]) -> tokens; comments and
--- whitespace are kept only when keep_trivia is true. With backslash_escapes
--- (Redshift's reading), a backslash in a plain '…' literal escapes the next
--- character, so 'it\'s' is one literal; its value keeps the backslash
--- sequences as written (lode.redshift decodes them) and the token is marked
--- backslash = true. Raises on an unterminated literal or comment.
function M.tokenize(sql, keep_trivia, backslash_escapes)
  local toks = {}
  local i, n, line = 1, #sql, 1
  local function push(type, j, value)
    local text = sql:sub(i, j)
    if keep_trivia or (type ~= "space" and type ~= "comment") then
      toks[#toks + 1] = { type = type, text = text, value = value or text, pos = i, line = line }
    end
    line = line + count_lines(sql, i, j)
    i = j + 1
  end
  while i <= n do
    local c = sql:sub(i, i)
    local c2 = sql:sub(i, i + 1)
    if c:match("%s") then
      local j = sql:find("[^%s]", i) or n + 1
      push("space", j - 1)
    elseif c2 == "--" then
      local j = sql:find("\n", i, true) or n + 1
      push("comment", j - 1)
    elseif c2 == "/*" then
      local depth, j = 1, i + 2
      while depth > 0 do
        local a = sql:find("/*", j, true)
        local b = sql:find("*/", j, true)
        if not b then
          syntax_error("unterminated /* comment", line)
        end
        if a and a < b then
          depth, j = depth + 1, a + 2
        else
          depth, j = depth - 1, b + 2
        end
      end
      push("comment", j - 1)
    elseif c == "'" or ((c == "e" or c == "E") and sql:sub(i + 1, i + 1) == "'")
        or ((c == "u" or c == "U") and sql:sub(i + 1, i + 2) == "&'") then
      local escapes = c == "e" or c == "E"
      local plain_escapes = backslash_escapes and c == "'"
      local saw_backslash = false
      local start = sql:find("'", i, true) + 1
      local j, buf = start, {}
      while true do
        local q = sql:find((escapes or plain_escapes) and "['\\]" or "'", j)
        if not q then
          syntax_error("unterminated string literal", line)
        end
        buf[#buf + 1] = sql:sub(j, q - 1)
        if plain_escapes and sql:sub(q, q) == "\\" then
          if q + 1 > n then
            syntax_error("unterminated string literal", line)
          end
          -- kept as written: the escape is Redshift's to read (lode.redshift)
          saw_backslash = true
          buf[#buf + 1] = sql:sub(q, q + 1)
          j = q + 2
        elseif sql:sub(q, q) == "\\" then
          local e = sql:sub(q + 1, q + 1)
          local map = { n = "\n", t = "\t", r = "\r", b = "\b", f = "\f" }
          buf[#buf + 1] = map[e] or e
          j = q + 2
        elseif sql:sub(q + 1, q + 1) == "'" then
          buf[#buf + 1] = "'"
          j = q + 2
        else
          j = q
          break
        end
      end
      push("string", j, table.concat(buf))
      if saw_backslash and toks[#toks] and toks[#toks].pos == start - 1 then
        toks[#toks].backslash = true
      end
    elseif c == '"' or ((c == "u" or c == "U") and sql:sub(i + 1, i + 2) == '&"') then
      local start = sql:find('"', i, true) + 1
      local j, buf = start, {}
      while true do
        local q = sql:find('"', j, true)
        if not q then
          syntax_error("unterminated quoted identifier", line)
        end
        buf[#buf + 1] = sql:sub(j, q - 1)
        if sql:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          j = q
          break
        end
      end
      push("ident", j, table.concat(buf))
    elseif c == "$" and sql:sub(i + 1, i + 1):match("%d") then
      local j = sql:find("[^%d]", i + 1) or n + 1
      push("param", j - 1)
    elseif c == "$" then
      local tag = sql:match("^%$[%a_][%w_]*%$", i) or sql:match("^%$%$", i)
      if not tag then
        push("op", i)
      else
        local close = sql:find(tag, i + #tag, true)
        if not close then
          syntax_error("unterminated dollar-quoted string " .. tag, line)
        end
        push("string", close + #tag - 1, sql:sub(i + #tag, close - 1))
      end
    elseif c:match("[%a_\128-\255#]") then
      -- words; '#' starts Redshift temp table names (#stage)
      local j = sql:find("[^%w_$\128-\255]", i + 1) or n + 1
      local text = sql:sub(i, j - 1)
      push("word", j - 1, text:lower())
    elseif c:match("%d") or (c == "." and sql:sub(i + 1, i + 1):match("%d")) then
      local j = i
      local m = sql:match("^%d*%.?%d*[eE][%+%-]?%d+", i) or sql:match("^%d*%.?%d*", i)
      j = i + #m - 1
      push("number", j)
    elseif c == ";" then
      push("semicolon", i)
    elseif c2 == "::" or c2 == "<=" or c2 == ">=" or c2 == "<>" or c2 == "!=" or c2 == "||" then
      push("op", i + 1)
    else
      push("op", i)
    end
  end
  return toks
end

--- split(sql) -> { {text=, line=, tokens=}, ... }: the statements of a script,
--- split on top-level semicolons (not those inside literals, quoted names,
--- dollar quotes or comments). Empty statements are dropped. backslash_escapes:
--- read plain literals as Redshift does (see tokenize).
function M.split(sql, backslash_escapes)
  local all = M.tokenize(sql, true, backslash_escapes)
  local out, cur, first = {}, {}, nil
  local function flush(last_pos)
    local sig = {}
    for _, t in ipairs(cur) do
      if t.type ~= "space" and t.type ~= "comment" then
        sig[#sig + 1] = t
      end
    end
    if #sig > 0 then
      local a, b = sig[1].pos, last_pos
      out[#out + 1] = { text = sql:sub(a, b):gsub("%s+$", ""), line = sig[1].line, tokens = sig }
    end
    cur, first = {}, nil
  end
  local last = 0
  for _, t in ipairs(all) do
    if t.type == "semicolon" then
      flush(t.pos - 1)
    else
      cur[#cur + 1] = t
      if t.type ~= "space" and t.type ~= "comment" then
        first = first or t
        last = t.pos + #t.text - 1
      end
    end
  end
  flush(last)
  return out
end

--- A cursor over a statement's tokens, for the statement parsers.
local Cursor = {}
Cursor.__index = Cursor

function M.cursor(tokens, statement)
  return setmetatable({ toks = tokens, i = 1, stmt = statement }, Cursor)
end

function Cursor:peek(k)
  return self.toks[self.i + (k or 0)]
end

function Cursor:eof()
  return self.i > #self.toks
end

function Cursor:line()
  local t = self:peek() or self.toks[#self.toks]
  return t and t.line or 1
end

function Cursor:fail(msg)
  local t = self:peek()
  local near = t and (" near '" .. t.text .. "'") or " at the end of the statement"
  syntax_error(msg .. near, self:line())
end

--- is_word("copy") — the next token is that keyword
function Cursor:is_word(w, k)
  local t = self:peek(k)
  return t and t.type == "word" and t.value == w
end

--- accept("with", "no", "schema") — consume the keyword sequence if present
function Cursor:accept(...)
  local words = { ... }
  for k, w in ipairs(words) do
    if not self:is_word(w, k - 1) then
      return false
    end
  end
  self.i = self.i + #words
  return true
end

function Cursor:expect(...)
  if not self:accept(...) then
    self:fail("expected " .. table.concat({ ... }, " "):upper())
  end
end

function Cursor:accept_op(op)
  local t = self:peek()
  if t and t.type == "op" and t.text == op then
    self.i = self.i + 1
    return true
  end
  return false
end

function Cursor:expect_op(op)
  if not self:accept_op(op) then
    self:fail("expected '" .. op .. "'")
  end
end

function Cursor:next()
  local t = self:peek()
  self.i = self.i + 1
  return t
end

--- a string literal's value
function Cursor:string(what)
  local t = self:peek()
  if not t or t.type ~= "string" then
    self:fail("expected a quoted string for " .. (what or "this option"))
  end
  self.i = self.i + 1
  return t.value
end

--- an integer literal
function Cursor:integer(what)
  local t = self:peek()
  local v = t and t.type == "number" and math.tointeger(tonumber(t.text))
  if not v then
    self:fail("expected an integer for " .. (what or "this option"))
  end
  self.i = self.i + 1
  return v
end

--- an identifier: its name (unquoted words lowercased, quoted kept as written)
function Cursor:name(what)
  local t = self:peek()
  if not t or (t.type ~= "word" and t.type ~= "ident") then
    self:fail("expected a name for " .. (what or "this"))
  end
  self.i = self.i + 1
  return t.value, t.type == "ident"
end

--- a possibly qualified name: returns the parts { "schema", "table" }
function Cursor:qualified_name(what)
  local parts = { (self:name(what)) }
  while self:accept_op(".") do
    parts[#parts + 1] = (self:name(what))
  end
  return parts
end

--- the source text from token index a to b (inclusive) of the statement
function Cursor:text(a, b)
  local ta, tb = self.toks[a], self.toks[b]
  if not ta or not tb then
    return ""
  end
  return self.stmt:sub(ta.pos - self.toks[1].pos + 1, tb.pos + #tb.text - self.toks[1].pos)
end

-- Token predicates and paren matching shared by the statement rewriters
-- (redshift/dialect.lua, spectrum/keycast.lua, spectrum/pseudo.lua).

--- is_op(t, text): t is the operator token `text` ("(", ",", "=", …).
function M.is_op(t, text)
  return t ~= nil and t.type == "op" and t.text == text
end

--- is_word(t, w): t is the unquoted word w (compared lower-cased).
function M.is_word(t, w)
  return t ~= nil and t.type == "word" and t.value == w
end

--- close_of(toks, k) -> the index of the ')' closing the '(' at toks[k],
--- or nil when it is never closed.
function M.close_of(toks, k)
  local depth = 0
  for j = k, #toks do
    if M.is_op(toks[j], "(") then
      depth = depth + 1
    elseif M.is_op(toks[j], ")") then
      depth = depth - 1
      if depth == 0 then
        return j
      end
    end
  end
  return nil
end

return M

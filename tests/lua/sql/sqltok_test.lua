local t = require "lode.test"
local tok = require "lode.sqltok"

local function texts(stmts)
  local out = {}
  for i, s in ipairs(stmts) do out[i] = s.text end
  return out
end

t.test("semicolons inside literals, quoted names and comments do not split", function()
  local sql = [[
select 'a;b', "weird;name" from t; -- trailing; comment
copy x from 's3://bucket/a;b/' iam_role 'arn:aws:iam::1:role/r'; /* a ; */
insert into "t;x" values ($$x; y$$)]]
  t.eq(texts(tok.split(sql)), {
    [[select 'a;b', "weird;name" from t]],
    [[copy x from 's3://bucket/a;b/' iam_role 'arn:aws:iam::1:role/r']],
    [[insert into "t;x" values ($$x; y$$)]],
  })
end)

t.test("nested block comments", function()
  local st = tok.split("/* outer /* inner; */ still comment; */ select 1; select 2")
  t.eq(texts(st), { "select 1", "select 2" })
end)

t.test("dollar quotes with tags hold anything", function()
  local toks = tok.tokenize([[create function f() returns int as $body$ select 1; 'x' $$ $body$ language sql]])
  local s
  for _, k in ipairs(toks) do if k.type == "string" then s = k.value end end
  t.eq(s, [[ select 1; 'x' $$ ]])
  t.eq(#tok.split([[do $$ begin perform 1; end $$; select 2]]), 2)
end)

t.test("quoted identifiers keep case and spaces, doubled quotes unescape", function()
  local toks = tok.tokenize([[select "My Col", "a""b", Plain from "S"."T"]])
  t.eq(toks[2].type, "ident")
  t.eq(toks[2].value, "My Col")
  t.eq(toks[4].value, 'a"b')
  t.eq(toks[6].value, "plain")
end)

t.test("string literals: doubled quotes and E'' escapes", function()
  local toks = tok.tokenize([[select 'it''s', E'tab\there\'q']])
  t.eq(toks[2].value, "it's")
  t.eq(toks[4].value, "tab\there'q")
end)

t.test("line numbers follow the statement", function()
  local st = tok.split("select 1;\n\n-- c\nselect\n 2;")
  t.eq(st[1].line, 1)
  t.eq(st[2].line, 4)
end)

t.test("unterminated literals and comments are clear errors", function()
  t.raises(function() tok.tokenize("select 'abc") end, "unterminated string literal")
  t.raises(function() tok.tokenize("select 1 /* x") end, "unterminated /* comment")
  t.raises(function() tok.tokenize('select "abc') end, "unterminated quoted identifier")
  t.raises(function() tok.tokenize("select $q$ abc") end, "unterminated dollar-quoted string $q$")
end)

t.test("temp table names, params, numbers and casts", function()
  local toks = tok.tokenize("select $1::int, 1.5e3, .5 from #stage")
  t.eq(toks[2].type, "param")
  t.eq(toks[3].text, "::")
  t.eq(toks[6].text, "1.5e3")
  t.eq(toks[8].text, ".5")
  t.eq(toks[10].value, "#stage")
end)

t.test("the cursor reads keywords, names and literals", function()
  local st = tok.split([[ALTER TABLE spectrum."Sales" ADD IF NOT EXISTS PARTITION (year='2024') LOCATION 's3://b/y=2024/']])[1]
  local c = tok.cursor(st.tokens, st.text)
  c:expect("alter", "table")
  t.eq(c:qualified_name("table"), { "spectrum", "Sales" })
  c:expect("add")
  t.eq(c:accept("if", "not", "exists"), true)
  c:expect("partition")
  c:expect_op("(")
  t.eq(c:name(), "year")
  c:expect_op("=")
  t.eq(c:string(), "2024")
  c:expect_op(")")
  c:expect("location")
  t.eq(c:string(), "s3://b/y=2024/")
  t.eq(c:eof(), true)
  local err = t.raises(function() c:expect("partition") end)
  t.contains(err.message, "expected PARTITION at the end of the statement")
end)

t.test("Redshift's reading of plain literals: a backslash escapes the next character", function()
  local sql = [[select 'it\'s;' from t; select 'a\\'; select 'c:\']]
  t.raises(function() tok.split(sql, true) end, "unterminated string literal")
  t.eq(#tok.split(sql .. "'", true), 3, "'c:\\'' is one literal on Redshift")
  local toks = tok.tokenize([[select 'a\'b', 'plain', e'x\ny']], false, true)
  t.eq(toks[2].value, [[a\'b]], "kept as written, for lode.redshift to decode")
  t.eq(toks[2].backslash, true)
  t.eq(toks[4].backslash, nil)
  t.eq(toks[6].value, "x\ny")
  t.eq(toks[6].backslash, nil)
  t.eq(#tok.split([[select 'c:\'; select 2]]), 2, "PostgreSQL's reading is unchanged")
end)

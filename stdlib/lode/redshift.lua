-- lode.redshift — recognise the Redshift-only statements in SQL text and turn
-- them into structured requests for lode's engines (COPY, Spectrum DDL,
-- partitions, UNLOAD), and rewrite Redshift table DDL into PostgreSQL.
--
--   local rs = require "lode.redshift"
--   for _, st in ipairs(rs.statements(text)) do
--     -- st.kind: "copy" | "create_external_schema" | "create_external_table" |
--     --   "add_partitions" | "drop_partitions" | "set_location" | "set_table_properties" |
--     --   "drop_table" | "create_table" |
--     --   "unload" | "begin" | "commit" | "rollback" | "truncate" | "sql" (anything else)
--     -- st.sql: the statement text; st.line: its first line; plus the parsed fields
--   end
--
-- Parsing is over lode.sqltok tokens, never regular expressions over text.

local tok = require "lode.sqltok"
local core = require "lode.core"
local dialect = require "lode.redshift.dialect"

local M = {}

local function parse_error(c, msg)
  c:fail(msg)
end

-- Option strings ----------------------------------------------------------------

local SIMPLE_ESCAPES = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ["\\"] = "\\", ["'"] = "'" }

--- decode_string(s) -> s with Redshift's backslash escapes decoded, or nil
--- and why: the value of a quoted option string (COPY's DELIMITER '\t',
--- NULL AS '\000', '\\', external-table TERMINATED BY …). Decoded: \t \n
--- \r \b \f \\ \' and octal \d, \dd, \ddd (a byte, at most \377). Other
--- escapes (\x…, \N, \u…) are refused: lode cannot vouch for Redshift's
--- reading of them.
function M.decode_string(s)
  if not s:find("\\", 1, true) then
    return s
  end
  local out, i = {}, 1
  while i <= #s do
    local b = s:find("\\", i, true)
    if not b then
      out[#out + 1] = s:sub(i)
      break
    end
    out[#out + 1] = s:sub(i, b - 1)
    local c = s:sub(b + 1, b + 1)
    local oct = s:match("^[0-7][0-7]?[0-7]?", b + 1)
    if oct then
      local v = tonumber(oct, 8)
      if v > 255 then
        return nil, ("the octal escape \\%s is more than one byte (at most \\377)"):format(oct)
      end
      out[#out + 1] = string.char(v)
      i = b + 1 + #oct
    elseif SIMPLE_ESCAPES[c] then
      out[#out + 1] = SIMPLE_ESCAPES[c]
      i = b + 2
    elseif c == "" then
      return nil, "the string ends with a lone backslash"
    else
      return nil, ("the escape \\%s is not decoded by lode exactly as Redshift does (\\t \\n \\r \\b \\f "
        .. "\\\\ \\' and octal \\ddd are; write \\\\%s for a backslash and %s)"):format(c, c, c)
    end
  end
  return table.concat(out)
end

local SECRET_OPTIONS = { CREDENTIALS = true, SECRET_ACCESS_KEY = true, SESSION_TOKEN = true, ACCESS_KEY_ID = true }

-- The next token, a quoted option string, decoded (plain '…' literals only:
-- E'' and dollar quotes are already what they say).
local function option_string(c, st, what)
  local t = c:peek()
  local v = c:string(what)
  if t.text:sub(1, 1) ~= "'" then
    return v
  end
  local d, why = M.decode_string(v)
  if not d then
    if SECRET_OPTIONS[what] then
      why = "a backslash escape lode does not decode exactly as Redshift does"   -- never a secret's bytes
    end
    error(core.error({ op = "sql", code = "unsupported", line = t.line,
      message = ("line %d: %s: %s"):format(t.line, what or "a string", why) }), 0)
  end
  return d
end

-- COPY ------------------------------------------------------------------------

local COPY_FLAGS = {
  emptyasnull = true, blanksasnull = true, truncatecolumns = true, fillrecord = true,
  removequotes = true, escape = true, ignoreallerrors = true, noload = true,
  gzip = true, bzip2 = true, zstd = true, lzop = true, manifest = true,
  ignoreblanklines = true, trimblanks = true, acceptanydate = true, explicit_ids = true,
  roundec = true, encrypted = true,
}

-- COPY options written `KEYWORD [AS] value`: the field each fills and how
-- its value is read.
local VALUED = {
  region = { "region", "string" }, quote = { "quote", "string" }, delimiter = { "delimiter", "string" },
  ignoreheader = { "ignoreheader", "integer" }, null = { "null_as", "string" },
  dateformat = { "dateformat", "string" }, timeformat = { "timeformat", "string" },
  maxerror = { "maxerror", "integer" }, comprows = { "comprows", "integer" },
}

local function accept_as(c)
  c:accept("as")
end

local function on_off(c, what)
  if c:accept("on") or c:accept("true") then
    return true
  elseif c:accept("off") or c:accept("false") then
    return false
  elseif c:accept("preset") then
    return "preset"
  end
  local t = c:peek()
  if t and t.type == "number" then
    c:next()
    return t.text ~= "0"
  end
  parse_error(c, "expected ON or OFF after " .. what)
end

-- COMPUPDATE / STATUPDATE take an optional ON|OFF|TRUE|FALSE|0|1 (|PRESET)
local function optional_on_off(c, what)
  local t = c:peek()
  if t and ((t.type == "word" and (t.value == "on" or t.value == "off" or t.value == "true"
      or t.value == "false" or t.value == "preset")) or t.type == "number") then
    return on_off(c, what)
  end
  return true
end

local function parse_columns(c)
  local cols = {}
  c:expect_op("(")
  repeat
    cols[#cols + 1] = (c:name("column"))
  until not c:accept_op(",")
  c:expect_op(")")
  return cols
end

local function parse_credentials(s, st)
  -- 'aws_access_key_id=…;aws_secret_access_key=…[;token=…]' or 'aws_iam_role=arn…'
  for part in s:gmatch("[^;]+") do
    local k, v = part:match("^%s*([%w_]+)%s*=%s*(.-)%s*$")
    if k then
      k = k:lower()
      if k == "aws_iam_role" then
        st.iam_role = v
      elseif k == "aws_access_key_id" then
        st.access_key_id = v
      elseif k == "aws_secret_access_key" then
        st.secret_access_key = v
      elseif k == "token" then
        st.session_token = v
      end
    end
  end
end

local function parse_copy(c, st)
  c:expect("copy")
  -- a #temp table keeps its name: the session temp table "#name" (never the
  -- permanent table name)
  st.table = c:qualified_name("the target table")
  if c:peek() and c:peek().type == "op" and c:peek().text == "(" then
    st.columns = parse_columns(c)
  end
  c:expect("from")
  st.from = option_string(c, st, "FROM")
  while not c:eof() do
    if c:accept("iam_role") then
      if c:accept("default") then
        st.iam_role = "default"
      else
        st.iam_role = option_string(c, st, "IAM_ROLE")
      end
    elseif c:accept("credentials") then
      accept_as(c)
      parse_credentials(option_string(c, st, "CREDENTIALS"), st)
    elseif c:accept("access_key_id") then
      st.access_key_id = option_string(c, st, "ACCESS_KEY_ID")
    elseif c:accept("secret_access_key") then
      st.secret_access_key = option_string(c, st, "SECRET_ACCESS_KEY")
    elseif c:accept("session_token") then
      st.session_token = option_string(c, st, "SESSION_TOKEN")
    elseif c:peek().type == "word" and VALUED[c:peek().value] then
      local word = c:next().value
      local field, kind = VALUED[word][1], VALUED[word][2]
      accept_as(c)
      st[field] = kind == "integer" and c:integer(word:upper()) or option_string(c, st, word == "null" and "NULL AS" or word:upper())
    elseif c:accept("format") then
      accept_as(c)
    elseif c:accept("parquet") then
      st.format = "parquet"
    elseif c:accept("orc") then
      st.format = "orc"
    elseif c:accept("avro") then
      st.format = "avro"
      if c:peek() and c:peek().type == "string" then
        st.avro = option_string(c, st, "AVRO")
      end
    elseif c:accept("csv") then
      st.format = "csv"
      if c:accept("quote") then
        accept_as(c)
        st.quote = option_string(c, st, "QUOTE")
      end
    elseif c:accept("json") then
      st.format = "json"
      accept_as(c)
      st.json = option_string(c, st, "JSON ('auto', 'auto ignorecase' or a jsonpaths s3:// URL)")
    elseif c:accept("fixedwidth") then
      st.format = "fixedwidth"
      st.fixedwidth = option_string(c, st, "FIXEDWIDTH")
    elseif c:accept("acceptinvchars") then
      accept_as(c)
      if c:peek() and c:peek().type == "string" then
        st.acceptinvchars = option_string(c, st, "ACCEPTINVCHARS")
      else
        st.acceptinvchars = true
      end
    elseif c:accept("compupdate") then
      st.compupdate = optional_on_off(c, "COMPUPDATE")
    elseif c:accept("statupdate") then
      st.statupdate = optional_on_off(c, "STATUPDATE")
    elseif c:accept("serializetojson") then
      st.serializetojson = true
    elseif c:accept("ssh") then
      -- COPY … SSH: the manifest names hosts whose command output is loaded
      error(core.error({ op = "copy", code = "unsupported", line = st.line, feature = "COPY … SSH",
        message = ("line %d: COPY … SSH is not emulated by lode on PostgreSQL: lode's COPY reads s3:// objects, "
          .. "not the output of commands on remote hosts"):format(st.line) }), 0)
    elseif c:accept("encoding") then
      accept_as(c)
      local t = c:next()
      if not t or (t.type ~= "word" and t.type ~= "string") then
        parse_error(c, "expected UTF8, UTF16, UTF16LE or UTF16BE after ENCODING")
      end
      st.encoding = t.value:upper()
    else
      local t = c:peek()
      if t.type == "word" and COPY_FLAGS[t.value] then
        c:next()
        st[t.value] = true
      else
        parse_error(c, "unknown or misplaced COPY option")
      end
    end
  end
  if st.manifest then
    st.manifest = st.from
    st.from = nil
  end
  st.format = st.format or "text"
  if st.maxerror == 0 and (st.format == "parquet" or st.format == "orc") then
    -- dlt's FORMAT AS PARQUET … MAXERROR 0: zero tolerated errors is what
    -- columnar COPY does anyway
  elseif st.maxerror and (st.format == "parquet" or st.format == "orc") then
    error(core.error({ op = "copy", code = "unsupported", line = st.line,
      message = ("line %d: MAXERROR is not supported with %s: columnar COPY fails on any error (as on Redshift)")
        :format(st.line, st.format:upper()) }), 0)
  end
  if st.maxerror and st.ignoreallerrors then
    error(core.error({ op = "copy", code = "invalid", line = st.line,
      message = ("line %d: MAXERROR and IGNOREALLERRORS cannot be combined"):format(st.line) }), 0)
  end
end

-- Spectrum DDL -------------------------------------------------------------------

local function parse_create_external_schema(c, st)
  c:expect("create", "external", "schema")
  st.if_not_exists = c:accept("if", "not", "exists")
  st.name = (c:name("the schema"))
  c:expect("from")
  if c:accept("data", "catalog") then
    st.catalog = true
  else
    -- r_CREATE_EXTERNAL_SCHEMA's other sources: the emulation's external schemas are DATA CATALOG ones
    for _, src in ipairs({ { "hive", "metastore" }, { "postgres" }, { "mysql" }, { "kinesis" }, { "msk" }, { "redshift" } }) do
      if c:accept(table.unpack(src)) then
        local feature = "CREATE EXTERNAL SCHEMA … FROM " .. table.concat(src, " "):upper()
        error(core.error({ op = "sql", code = "unsupported", line = st.line, feature = feature,
          message = ("%s is not emulated by lode on PostgreSQL: its external schemas are DATA CATALOG ones "
            .. "(S3 through the registry or Glue)"):format(feature) }), 0)
      end
    end
  end
  while not c:eof() do
    if c:accept("database") then
      st.database = c:string("DATABASE")
    elseif c:accept("region") then
      st.region = c:string("REGION")
    elseif c:accept("iam_role") then
      st.iam_role = c:accept("default") and "default" or c:string("IAM_ROLE")
    elseif c:accept("catalog_role") then
      st.catalog_role = c:string("CATALOG_ROLE")
    elseif c:accept("create", "external", "database", "if", "not", "exists") then
      st.create_database = true
    else
      parse_error(c, "unexpected word in CREATE EXTERNAL SCHEMA")
    end
  end
end

-- A column type as text: words, numbers and parenthesised arguments, up to a
-- top-level ',' or ')'; a nested type's <…> (struct<a:int, b:int>) is one type.
local function parse_type(c)
  local start, depth, angle = c.i, 0, 0
  while not c:eof() do
    local t = c:peek()
    if t.type == "op" and t.text == "(" then
      depth = depth + 1
    elseif t.type == "op" and t.text == ")" then
      if depth == 0 then
        break
      end
      depth = depth - 1
    elseif t.type == "op" and t.text:match("^[<>]+$") then
      -- array<struct<…>> may end in one '>>' token
      for ch in t.text:gmatch(".") do
        angle = angle + (ch == "<" and 1 or -1)
      end
    elseif t.type == "op" and t.text == "," and depth == 0 and angle <= 0 then
      break
    end
    c:next()
  end
  if c.i == start then
    parse_error(c, "expected a column type")
  end
  local parts = {}
  for k = start, c.i - 1 do
    parts[#parts + 1] = c.toks[k].text
  end
  return (table.concat(parts, " "):gsub(" %( ", "("):gsub(" %)", ")"):gsub(" , ", ","):gsub("%( ", "("):lower())
end

local function parse_column_defs(c, untyped_ok)
  local cols = {}
  c:expect_op("(")
  repeat
    local name = c:name("a column")
    local nt = c:peek()
    if untyped_ok and nt and nt.type == "op" and (nt.text == "," or nt.text == ")") then
      cols[#cols + 1] = { name = name } -- CREATE EXTERNAL TABLE … AS: PARTITIONED BY (names)
    else
      cols[#cols + 1] = { name = name, type = parse_type(c) }
    end
  until not c:accept_op(",")
  c:expect_op(")")
  return cols
end

local function parse_properties(c)
  local props, order = {}, {}
  c:expect_op("(")
  repeat
    local k = c:string("a table property name")
    c:expect_op("=")
    local v = c:string("a table property value")
    props[k] = v
    order[#order + 1] = k
  until not c:accept_op(",")
  c:expect_op(")")
  return props, order
end

-- Whether an ALTER TABLE's words include SET TABLE PROPERTIES.
local function set_table_properties_at(toks)
  for k = 3, #toks - 2 do
    if toks[k].type == "word" and toks[k].value == "set" and toks[k + 1].value == "table"
        and toks[k + 2].value == "properties" then
      return true
    end
  end
  return false
end

local function parse_create_external_table(c, st)
  c:expect("create", "external", "table")
  st.if_not_exists = c:accept("if", "not", "exists")
  st.name = c:qualified_name("the external table")
  local nt = c:peek()
  if nt and nt.type == "op" and nt.text == "(" then
    st.columns = parse_column_defs(c)
  end
  while not c:eof() do
    if c:accept("partitioned", "by") then
      st.partitions = parse_column_defs(c, not st.columns)
    elseif c:accept("row", "format", "delimited") then
      st.row_format = { delimited = true }
      while true do
        if c:accept("fields", "terminated", "by") or c:accept("lines", "terminated", "by") then
          local which = c.toks[c.i - 3].value
          local t = c:peek()
          if which == "lines" and t and t.type == "string" and t.text:find("\\l", 1, true) then
            -- AWS's soccer_league and CREATE EXTERNAL TABLE AS examples write '\n\l'
            error(core.error({ op = "sql", code = "unsupported", line = t.line, feature = "LINES TERMINATED BY " .. t.text,
              message = ("line %d: LINES TERMINATED BY %s is not emulated: AWS's CREATE EXTERNAL TABLE reference "
                .. "takes one ASCII character there (octal '\\ddd' for a non-printing one) and documents no '\\l' "
                .. "escape, so what Spectrum reads with it is not known; leave the clause out (lines end at '\\n', "
                .. "the default)"):format(t.line, t.text) }), 0)
          end
          st.row_format[which] = option_string(c, st, which:upper() .. " TERMINATED BY")
        elseif c:accept("escaped", "by") then
          st.row_format.escaped = option_string(c, st, "ESCAPED BY")
        else
          break
        end
      end
    elseif c:accept("row", "format", "serde") then
      st.row_format = { serde = c:string("SERDE") }
      if c:accept("with", "serdeproperties") then
        st.row_format.properties = parse_properties(c)
      end
    elseif c:accept("stored", "as") then
      if c:accept("inputformat") then
        st.inputformat = c:string()
        c:expect("outputformat")
        st.outputformat = c:string()
      else
        st.stored_as = (c:name("the file format")):lower()
      end
    elseif c:accept("location") then
      st.location = c:string("LOCATION")
    elseif c:accept("table", "properties") then
      st.properties, st.property_order = parse_properties(c)
    elseif not st.columns and c:accept("as") then
      -- CREATE EXTERNAL TABLE … AS SELECT …: the rest of the statement
      local t = c:peek() or parse_error(c, "CREATE EXTERNAL TABLE … AS needs a query")
      st.query = st.sql:sub(t.pos - c.toks[1].pos + 1):gsub("[%s;]+$", "")
      c.i = #c.toks + 1
      -- the query is Redshift SQL: TOP, NVL, DATEADD, …
      local ok, q, uses = pcall(dialect.rewrite, st.query, t.line)
      if ok then
        st.query, st.dialect = q, uses or nil
      elseif type(q) == "table" and q.code == "unsupported" then
        st.refused = q
      else
        error(q, 0)
      end
    else
      parse_error(c, "unexpected word in CREATE EXTERNAL TABLE")
    end
  end
  if not st.location then
    parse_error(c, "CREATE EXTERNAL TABLE needs LOCATION 's3://…'")
  end
  if not st.columns and not st.query then
    parse_error(c, "CREATE EXTERNAL TABLE needs a column list, or AS and a query")
  end
end

local function parse_partition_spec(c)
  local values, order = {}, {}
  c:expect_op("(")
  repeat
    local k = c:name("a partition column")
    c:expect_op("=")
    local t = c:next()
    if not t or (t.type ~= "string" and t.type ~= "number") then
      parse_error(c, "expected a partition value")
    end
    values[k] = t.value
    order[#order + 1] = k
  until not c:accept_op(",")
  c:expect_op(")")
  return values, order
end

local function parse_alter_partitions(c, st)
  c:expect("alter", "table")
  st.table = c:qualified_name("the table")
  if c:accept("partition") then
    -- ALTER TABLE t PARTITION (k='v', …) SET LOCATION 's3://…'
    local values, order = parse_partition_spec(c)
    c:expect("set", "location")
    st.kind = "set_location"
    st.partition = { values = values, order = order }
    st.location = c:string("LOCATION")
  elseif c:accept("add") then
    st.kind = "add_partitions"
    st.if_not_exists = c:accept("if", "not", "exists")
    st.partitions = {}
    while c:accept("partition") do
      local values, order = parse_partition_spec(c)
      c:expect("location")
      st.partitions[#st.partitions + 1] = { values = values, order = order, location = c:string("LOCATION") }
      c:accept_op(",")
    end
    if #st.partitions == 0 then
      parse_error(c, "expected PARTITION")
    end
    if #st.partitions > 100 then
      error(core.error({ op = "sql", code = "too_many_partitions", line = st.line,
        message = ("line %d: at most 100 partitions per ALTER TABLE … ADD PARTITION (got %d), as on Redshift")
          :format(st.line, #st.partitions) }), 0)
    end
  elseif c:accept("drop") then
    st.kind = "drop_partitions"
    st.partitions = {}
    while c:accept("partition") do
      local values, order = parse_partition_spec(c)
      st.partitions[#st.partitions + 1] = { values = values, order = order }
      c:accept_op(",")
    end
  end
  if not c:eof() then
    parse_error(c, "unexpected text after the partitions")
  end
end

-- CREATE TABLE with Redshift attributes ------------------------------------------

-- Redshift temp-table names: '#' then a name ('#' alone is an operator).
local function is_temp_name(v)
  return v:match("^#[%w_\128-\255]") ~= nil
end

-- A plain '…' literal holding backslashes (Redshift reads them as escapes):
-- raise unless every escape is one PostgreSQL's E'…' reads the same way.
local function check_escapes(t)
  local ok, why = M.decode_string(t.value)
  if not ok then
    error(core.error({ op = "sql", code = "unsupported", line = t.line, feature = "backslash escape in a string literal",
      message = ("a backslash escape in the string literal %s is not emulated exactly by lode: %s")
        :format(#t.text > 40 and (t.text:sub(1, 37) .. "...") or t.text, why) }), 0)
  end
end

-- Rewrite Redshift-only table syntax into PostgreSQL by dropping or replacing
-- token ranges; everything else is kept byte for byte.
local function rewrite_create_table(st, toks, text, hash_only)
  local base = toks[1].pos
  local out, last = {}, 1
  local i = 1
  local function keep_until(k)      -- copy text before token k
    out[#out + 1] = text:sub(last, toks[k].pos - base)
    last = toks[k].pos - base + 1
  end
  local function skip_through(k)    -- drop tokens up to k inclusive
    last = toks[k].pos - base + #toks[k].text + 1
  end
  local function balanced_end(k)    -- index of the ')' closing the '(' at k
    local depth = 0
    for j = k, #toks do
      if toks[j].type == "op" and toks[j].text == "(" then
        depth = depth + 1
      elseif toks[j].type == "op" and toks[j].text == ")" then
        depth = depth - 1
        if depth == 0 then
          return j
        end
      end
    end
    return #toks
  end
  st.dropped = {}
  while i <= #toks do
    local t = toks[i]
    local v = t.type == "word" and t.value
    local nxt = toks[i + 1]
    if hash_only and not (v and (is_temp_name(v) or v == "getdate" or v == "sysdate" or v == "json_parse")) then
      v = nil
    end
    if t.backslash then
      -- Redshift reads backslash escapes in '…' (PostgreSQL only in E'…'):
      -- the same literal with an E in front means the same bytes
      check_escapes(t)
      keep_until(i)
      local before = text:sub(t.pos - base, t.pos - base)
      out[#out + 1] = before:match("[%w_$]") and " E" or "E"
      i = i + 1
    elseif not v then
      i = i + 1
    elseif v == "getdate" and nxt and nxt.text == "(" and toks[i + 2] and toks[i + 2].text == ")" then
      -- Redshift's GETDATE(): the start of the current statement, to the second,
      -- "even when it is within a transaction block" (r_GETDATE; SYSDATE is the transaction's)
      keep_until(i)
      skip_through(i + 2)
      out[#out + 1] = "pg_catalog.date_trunc('second', pg_catalog.statement_timestamp()::timestamp)"
      i = i + 3
    elseif v == "json_parse" and nxt and nxt.text == "(" then
      -- Redshift's JSON_PARSE(text) -> SUPER; here (text)::jsonb
      local e = balanced_end(i + 1)
      keep_until(i)
      out[#out + 1] = text:sub(toks[i + 1].pos - base + 1, toks[e].pos - base + #toks[e].text) .. "::jsonb"
      skip_through(e)
      i = e + 1
    elseif v == "sysdate" and not (nxt and nxt.text == "(") then
      keep_until(i)
      skip_through(i)
      out[#out + 1] = "LOCALTIMESTAMP"
      i = i + 1
    elseif v == "diststyle" then
      keep_until(i)
      skip_through(i + 1)
      st.dropped[#st.dropped + 1] = "DISTSTYLE"
      i = i + 2
    elseif v == "distkey" or v == "sortkey" then
      keep_until(i)
      st.dropped[#st.dropped + 1] = v:upper()
      if nxt and nxt.type == "op" and nxt.text == "(" then
        local e = balanced_end(i + 1)
        skip_through(e)
        i = e + 1
      else
        skip_through(i)   -- column attribute form: `id int distkey`
        i = i + 1
      end
    elseif (v == "compound" or v == "interleaved") and toks[i + 1] and toks[i + 1].value == "sortkey" then
      keep_until(i)
      local e = balanced_end(i + 2)
      skip_through(e)
      st.dropped[#st.dropped + 1] = "SORTKEY"
      i = e + 1
    elseif v == "encode" and nxt and (nxt.type == "word") then
      keep_until(i)
      skip_through(i + 1)
      st.dropped[#st.dropped + 1] = "ENCODE"
      i = i + 2
    elseif v == "identity" and nxt and nxt.type == "op" and nxt.text == "(" then
      local e = balanced_end(i + 1)
      local args, sign = {}, ""
      for j = i + 2, e - 1 do
        if toks[j].type == "op" and (toks[j].text == "-" or toks[j].text == "+") then
          sign = toks[j].text == "-" and "-" or ""
        elseif toks[j].type == "number" then
          args[#args + 1] = math.tointeger(tonumber(sign .. toks[j].text)) or 1
          sign = ""
        end
      end
      local seed, step = args[1] or 1, args[2] or 1
      -- Redshift's GENERATED BY DEFAULT AS IDENTITY(seed, step) is the same column
      local g = i - 4
      if toks[g] and toks[g].value == "generated" and toks[g + 1].value == "by" and toks[g + 2].value == "default"
          and toks[g + 3].value == "as" then
        keep_until(g)
      else
        keep_until(i)
      end
      skip_through(e)
      -- PostgreSQL's sequences start at MINVALUE 1 (MAXVALUE -1 descending):
      -- IDENTITY(0, 1) and negative seeds need the bound set to the seed
      out[#out + 1] = ("GENERATED BY DEFAULT AS IDENTITY (START WITH %d INCREMENT BY %d %s %d)")
        :format(seed, step, step < 0 and "MAXVALUE" or "MINVALUE", seed)
      i = e + 1
    elseif v == "backup" and nxt and (nxt.value == "yes" or nxt.value == "no") then
      keep_until(i)
      skip_through(i + 1)
      st.dropped[#st.dropped + 1] = "BACKUP"
      i = i + 2
    elseif v == "including" and nxt and nxt.value == "defaults" then
      -- Redshift's LIKE … INCLUDING DEFAULTS keeps IDENTITY columns working;
      -- PostgreSQL needs INCLUDING IDENTITY for that
      keep_until(i)
      skip_through(i + 1)
      out[#out + 1] = "INCLUDING DEFAULTS INCLUDING IDENTITY"
      i = i + 2
    elseif v == "super" then
      keep_until(i)
      skip_through(i)
      out[#out + 1] = "jsonb"
      i = i + 1
    elseif (v == "varchar" or v == "nvarchar" or v == "character") and nxt and nxt.text == "("
        and toks[i + 2] and toks[i + 2].value == "max" then
      keep_until(i)
      skip_through(i + 3)
      out[#out + 1] = "varchar"
      i = i + 4
    elseif v and is_temp_name(v) then
      -- Redshift's #name is a session temp table distinct from name: the
      -- quoted identifier "#name" in pg_temp (created TEMP, see M.parse);
      -- SELECT … INTO #name creates one
      keep_until(i)
      skip_through(i)
      local prev, before = toks[i - 1], toks[i - 2]
      if prev and prev.value == "into" and not (before and (before.value == "insert" or before.value == "merge")) then
        out[#out + 1] = "TEMP "
      end
      out[#out + 1] = '"' .. v .. '"'
      i = i + 1
    else
      i = i + 1
    end
  end
  out[#out + 1] = text:sub(last)
  return table.concat(out)
end

-- UNLOAD --------------------------------------------------------------------------

-- A size written `n [MB | GB]` (MAXFILESIZE, ROWGROUPSIZE): bytes; MB when
-- no unit is given, and decimals allowed, as Redshift reads it.
local function parse_size(c, what)
  local t = c:peek()
  local n = t and t.type == "number" and tonumber(t.text)
  if not n then
    parse_error(c, "expected a size for " .. what)
  end
  c:next()
  local unit = 1024 * 1024
  if c:accept("gb") then
    unit = 1024 * 1024 * 1024
  else
    c:accept("mb")
  end
  return math.floor(n * unit)
end

-- Every option of Redshift's UNLOAD grammar is read here, so a script runs
-- unchanged on Redshift; which of them PostgreSQL emulates is lode.unload's
-- business (it refuses the others at the statement).
local function parse_unload(c, st)
  c:expect("unload")
  c:expect_op("(")
  st.query = option_string(c, st, "the UNLOAD query")
  c:expect_op(")")
  -- the query is Redshift SQL too: its own literals, #temp names, GETDATE()
  local inner = tok.split(st.query, true)
  if #inner == 1 then
    for _, t in ipairs(inner[1].tokens) do
      t.line = t.line + st.line - 1
    end
    local ok, q = pcall(rewrite_create_table, {}, inner[1].tokens, inner[1].text, true)
    if ok then
      st.query = q
    else
      st.refused = q
    end
    if ok then
      -- and its dialect: TOP, NVL, DATEADD, …
      local uses
      ok, q, uses = pcall(dialect.rewrite, st.query, st.line)
      if ok then
        st.query, st.dialect = q, uses
      else
        st.refused = q
      end
    end
  end
  c:expect("to")
  st.to = c:string("TO")
  st.format = "text"
  while not c:eof() do
    if c:accept("iam_role") then
      st.iam_role = c:accept("default") and "default" or c:string("IAM_ROLE")
    elseif c:accept("credentials") then
      accept_as(c)
      parse_credentials(c:string("CREDENTIALS"), st)
    elseif c:accept("access_key_id") then
      st.access_key_id = c:string("ACCESS_KEY_ID")
    elseif c:accept("secret_access_key") then
      st.secret_access_key = c:string("SECRET_ACCESS_KEY")
    elseif c:accept("session_token") then
      st.session_token = c:string("SESSION_TOKEN")
    elseif c:accept("format") then
      accept_as(c)
    elseif c:accept("csv") then
      st.format = "csv"
    elseif c:accept("parquet") then
      st.format = "parquet"
    elseif c:accept("json") then
      st.format = "json"
    elseif c:accept("partition", "by") then
      st.partition_by = parse_columns(c)
      st.partition_include = c:accept("include")
    elseif c:accept("header") then
      st.header = true
    elseif c:accept("delimiter") then
      accept_as(c)
      st.delimiter = option_string(c, st, "DELIMITER")
    elseif c:accept("fixedwidth") then
      accept_as(c)
      st.fixedwidth = c:string("FIXEDWIDTH")
    elseif c:accept("null") then
      accept_as(c)
      st.null_as = option_string(c, st, "NULL AS")
    elseif c:accept("encrypted") then
      st.encrypted = c:accept("auto") and "auto" or true
    elseif c:accept("kms_key_id") then
      st.kms_key_id = c:string("KMS_KEY_ID")
    elseif c:accept("master_symmetric_key") then
      st.master_symmetric_key = c:string("MASTER_SYMMETRIC_KEY")
    elseif c:accept("allowoverwrite") then
      st.allowoverwrite = true
    elseif c:accept("cleanpath") then
      st.cleanpath = true
    elseif c:accept("parallel") then
      st.parallel = optional_on_off(c, "PARALLEL")
    elseif c:accept("gzip") then
      st.gzip = true
    elseif c:accept("zstd") then
      st.zstd = true
    elseif c:accept("bzip2") then
      st.bzip2 = true
    elseif c:accept("maxfilesize") then
      accept_as(c)
      st.maxfilesize = parse_size(c, "MAXFILESIZE")
    elseif c:accept("rowgroupsize") then
      accept_as(c)
      st.rowgroupsize = parse_size(c, "ROWGROUPSIZE")
    elseif c:accept("region") then
      accept_as(c)
      st.region = c:string("REGION")
    elseif c:accept("extension") then
      st.extension = c:string("EXTENSION")
    elseif c:accept("manifest") then
      st.manifest = true
      st.manifest_verbose = c:accept("verbose")
    elseif c:accept("addquotes") then
      st.addquotes = true
    elseif c:accept("escape") then
      st.escape = true
    else
      parse_error(c, "unknown or misplaced UNLOAD option")
    end
  end
end

-- Dispatch ------------------------------------------------------------------------

-- Run fn(...); a refusal it raises (code "unsupported") is kept in st.refused
-- for the PostgreSQL emulation to raise at this statement — on Redshift the
-- statement is sent as written.
local function refusable(st, fn, ...)
  local ok, r = pcall(fn, ...)
  if ok then
    return r
  end
  if type(r) == "table" and r.code == "unsupported" then
    st.refused = r
    return nil
  end
  error(r, 0)
end

local function unsupported(st, feature, why)
  return core.error({ op = "sql", code = "unsupported", line = st.line, feature = feature,
    message = ("%s is not emulated by lode on PostgreSQL: %s"):format(feature, why) })
end

-- Redshift-only statements PostgreSQL would reject with a bare syntax error
-- (or read differently): the refusal naming the feature, or nil.
local function redshift_only(st, toks)
  local w = {}
  for k = 1, math.min(#toks, 4) do
    w[k] = toks[k].type == "word" and toks[k].value or ""
  end
  if w[1] == "merge" then
    for k = 1, #toks - 1 do
      if toks[k].type == "word" and toks[k].value == "remove" and toks[k + 1].value == "duplicates" then
        return unsupported(st, "MERGE … REMOVE DUPLICATES", "write the MERGE with WHEN MATCHED / WHEN NOT MATCHED clauses")
      end
    end
  elseif w[1] == "alter" and w[2] == "table" then
    for k = 3, #toks - 1 do
      if toks[k].type == "word" and toks[k].value == "append" and toks[k + 1].value == "from" then
        return unsupported(st, "ALTER TABLE … APPEND FROM", "it moves the rows of one table into another")
      end
      if toks[k].type == "word" and toks[k].value == "set" and toks[k + 1].value == "file"
          and toks[k + 2] and toks[k + 2].value == "format" then
        return unsupported(st, "ALTER TABLE … SET FILE FORMAT",
          "an external table's format is fixed when it is created (drop and create it in the new format)")
      end
    end
  elseif w[1] == "copy" then
    for k = 2, #toks do
      local v = toks[k].type == "string" and toks[k].value:lower() or ""
      if toks[k - 1].type == "word" and toks[k - 1].value == "from" and (v:match("^dynamodb://") or v:match("^emr://")) then
        return unsupported(st, ("COPY from %s"):format(v:match("^(%a+)://"):upper()), "lode's COPY reads s3:// only")
      end
    end
  end
  return nil
end

-- The table name at token k as SQL: its parts quoted as written.
local function name_sql(toks, k)
  local parts = {}
  while toks[k] and (toks[k].type == "word" or toks[k].type == "ident") do
    parts[#parts + 1] = '"' .. toks[k].value:gsub('"', '""') .. '"'
    if not (toks[k + 1] and toks[k + 1].type == "op" and toks[k + 1].text == ".") then
      break
    end
    k = k + 2
  end
  return #parts > 0 and table.concat(parts, ".") or nil
end

-- The pseudocolumns of external tables, written "$path" (lode.spectrum.pseudo).
local PSEUDO_COLUMNS = { ["$path"] = true, ["$size"] = true, ["$spectrum_oid"] = true }

-- Redshift's query dialect (lode.redshift.dialect): SELECT TOP, NVL, DATEADD,
-- LISTAGG, informational constraints, … in st.rewritten; st.dialect when the
-- statement calls the schema lode_redshift; st.primary_key and st.key_table
-- for an informational primary key sqlrun records.
local function rewrite_dialect(st, toks)
  if st.kind == "sql" then
    local informational, key = dialect.informational_constraint(toks)
    if informational then
      st.kind = "informational_constraint"
      if key and #key > 0 then
        st.primary_key, st.key_table = key, name_sql(toks, 3)
      end
      return
    end
  end
  local text = st.rewritten or st.sql
  local ok, q, uses, info = pcall(dialect.rewrite, text, st.line, { ddl = st.kind == "create_table" })
  if not ok then
    if type(q) == "table" and q.code == "unsupported" then
      st.refused = q
      return
    end
    error(q, 0)
  end
  if q ~= text then
    st.rewritten = q
  end
  st.dialect = uses or nil
  st.catalog_views = info and info.catalog_views or nil
  if info and info.primary_key and #info.primary_key > 0 then
    -- create [local] [temp] table [if not exists] name
    local k = 2
    while toks[k] and toks[k].type == "word" and (toks[k].value == "local" or toks[k].value == "temp"
        or toks[k].value == "temporary") do
      k = k + 1
    end
    k = k + 1
    if toks[k] and toks[k].value == "if" then
      k = k + 3
    end
    st.primary_key, st.key_table = info.primary_key, name_sql(toks, k)
  end
end

--- parse(statement) -> st: classify one statement ({text=, line=, tokens=} from
--- lode.sqltok.split) and parse the Redshift-only ones.
function M.parse(stmt)
  local toks = stmt.tokens
  local st = { sql = stmt.text, line = stmt.line, kind = "sql" }
  local c = tok.cursor(toks, stmt.text)
  local w1, w2, w3 = toks[1] and toks[1].value, toks[2] and toks[2].value, toks[3] and toks[3].value
  if w1 == "copy" then
    -- COPY … FROM 's3://…' is Redshift's; COPY … FROM STDIN / a file is PostgreSQL's
    local from_s3 = false
    for k = 1, #toks - 1 do
      if toks[k].value == "from" and toks[k + 1].type == "string" and toks[k + 1].value:match("^s3://") then
        from_s3 = true
      end
    end
    if from_s3 then
      st.kind = "copy"
      parse_copy(c, st)
    end
  elseif w1 == "create" and w2 == "external" and w3 == "schema" then
    st.kind = "create_external_schema"
    parse_create_external_schema(c, st)
  elseif w1 == "create" and w2 == "external" and w3 == "table" then
    st.kind = "create_external_table"
    parse_create_external_table(c, st)
  elseif w1 == "alter" and w2 == "table" then
    local has_partition = false
    for k = 1, #toks do
      if toks[k].value == "partition" then
        has_partition = true
      end
    end
    if has_partition then
      parse_alter_partitions(c, st)
    elseif set_table_properties_at(toks) then
      -- ALTER TABLE t SET TABLE PROPERTIES ('k'='v', …) (an external table's)
      c:expect("alter", "table")
      st.kind = "set_table_properties"
      st.table = c:qualified_name("the table")
      c:expect("set", "table", "properties")
      st.properties = parse_properties(c)
    elseif toks[#toks - 2] and toks[#toks - 2].value == "set" and toks[#toks - 1].value == "location" then
      -- ALTER TABLE t SET LOCATION 's3://…' (an external table's)
      c:expect("alter", "table")
      st.kind = "set_location"
      st.table = c:qualified_name("the table")
      c:expect("set", "location")
      st.location = c:string("LOCATION")
    end
  elseif w1 == "drop" and (w2 == "external" or w2 == "table") then
    st.kind = "drop_table"
    c:expect("drop")
    st.external = c:accept("external")
    c:expect("table")
    st.if_exists = c:accept("if", "exists")
    st.names = { c:qualified_name("the table") }
    while c:accept_op(",") do
      st.names[#st.names + 1] = c:qualified_name("the table")
    end
    st.cascade = c:accept("cascade")
  elseif w1 == "create" and (w2 == "table" or w2 == "temp" or w2 == "temporary"
      or (w2 == "local" and (w3 == "temp" or w3 == "temporary"))) then
    st.kind = "create_table"
    st.rewritten = refusable(st, rewrite_create_table, st, toks, stmt.text)
    -- CREATE TABLE #name: Redshift makes it a temp table whatever the keywords
    local n = (w3 == "if") and 6 or 3
    if st.rewritten and w2 == "table" and toks[n] and toks[n].type == "word" and is_temp_name(toks[n].value) then
      st.rewritten = st.rewritten:sub(1, #toks[1].text) .. " TEMP" .. st.rewritten:sub(#toks[1].text + 1)
    end
  elseif w1 == "unload" then
    st.kind = "unload"
    parse_unload(c, st)
  elseif w1 == "begin" or (w1 == "start" and w2 == "transaction") then
    st.kind = "begin"
  elseif w1 == "commit" or w1 == "end" then
    st.kind = "commit"
  elseif w1 == "rollback" or w1 == "abort" then
    st.kind = "rollback"
  elseif w1 == "truncate" then
    st.kind = "truncate"
  end
  if st.kind == "sql" or st.kind == "drop_table" or st.kind == "truncate" then
    -- #temp table names become the temp tables "#name"; GETDATE()/SYSDATE;
    -- '…' literals with backslash escapes become E'…'
    local rewrite = false
    for _, t in ipairs(toks) do
      if t.backslash or (t.type == "word" and (is_temp_name(t.value) or t.value == "getdate" or t.value == "sysdate"
          or t.value == "json_parse")) then
        rewrite = true
      end
    end
    if rewrite then
      st.rewritten = refusable(st, rewrite_create_table, {}, toks, stmt.text, true)
    end
  end
  if st.kind == "sql" and not st.refused then
    st.refused = redshift_only(st, toks)
  end
  if (st.kind == "sql" or st.kind == "create_table") and not st.refused then
    rewrite_dialect(st, toks)
    -- "$path" / "$size": read at run time from the external tables' siblings (lode.spectrum.pseudo)
    for _, t in ipairs(toks) do
      if t.type == "ident" and PSEUDO_COLUMNS[t.value] then
        st.pseudo = true
      end
    end
  end
  if st.kind == "sql" and (w1 == "set" or w1 == "reset" or w1 == "show") then
    -- Redshift's session setting, kept in a setting of lode's own
    for _, t in ipairs(toks) do
      if t.type == "word" and t.value == "spectrum_enable_pseudo_columns" then
        local text = st.rewritten or st.sql
        local at = text:find(t.text, 1, true)
        st.rewritten = text:sub(1, at - 1) .. "lode.spectrum_enable_pseudo_columns" .. text:sub(at + #t.text)
        break
      end
    end
  end
  return st
end

-- Words that mark Redshift-only SQL when they appear as keywords.
local REDSHIFT_WORDS = {
  diststyle = true, distkey = true, sortkey = true, encode = true, getdate = true, sysdate = true,
  json_parse = true, super = true, unload = true, external = true,
}

--- needs_emulation(sql) -> whether the text holds Redshift-only statements
--- that PostgreSQL would refuse (COPY from s3://, external DDL, partitions
--- with LOCATION, UNLOAD, #temp names, Redshift table attributes and
--- functions). Cheap on ordinary SQL: most texts are rejected before
--- tokenizing.
function M.needs_emulation(text)
  local lower = text:lower()
  if not (lower:find("s3://", 1, true) or lower:find("#", 1, true) or lower:find("external", 1, true)
      or lower:find("unload", 1, true) or lower:find("dist", 1, true) or lower:find("sortkey", 1, true)
      or lower:find("encode", 1, true) or lower:find("identity", 1, true) or lower:find("getdate", 1, true)
      or lower:find("sysdate", 1, true) or lower:find("json_parse", 1, true) or lower:find("super", 1, true)
      or lower:find("max", 1, true) or lower:find("partition", 1, true) or dialect.mentions(lower)
      or lower:find('"$', 1, true) or lower:find("spectrum_enable_pseudo_columns", 1, true)) then
    return false
  end
  local ok, stmts = pcall(tok.split, text)
  if not ok then
    return false           -- let the server report the syntax error
  end
  for _, st in ipairs(stmts) do
    local toks = st.tokens
    local w1 = toks[1] and toks[1].value
    -- Redshift's query dialect (not the informational constraints alone:
    -- lode's own tables keep their keys when created through wh:exec)
    local ok, q = pcall(dialect.rewrite, st.text, st.line, { detect = true })
    if not ok or q ~= st.text then
      return true
    end
    for k, t in ipairs(toks) do
      if (t.type == "ident" and PSEUDO_COLUMNS[t.value]) or (t.type == "word" and t.value == "spectrum_enable_pseudo_columns") then
        return true
      end
      if t.type == "word" and (t.value:sub(1, 1) == "#" or (REDSHIFT_WORDS[t.value] and (k > 1 or w1 == "unload"))) then
        if t.value ~= "encode" or (toks[k + 1] and toks[k + 1].type == "word") then   -- encode(x,'hex') is a function
          if t.value ~= "super" or w1 == "create" or w1 == "alter" then
            return true
          end
        end
      end
      if t.type == "string" and w1 == "copy" and t.value:match("^s3://") then
        return true
      end
      if w1 == "alter" and t.type == "word" and (t.value == "location" or (t.value == "partition"
          and toks[k - 1] and toks[k - 1].value == "drop")) then
        return true
      end
      if w1 == "create" and t.type == "word" and t.value == "identity" and toks[k + 1] and toks[k + 1].text == "(" then
        return true
      end
      if t.type == "word" and t.value == "max" and toks[k - 1] and toks[k - 1].text == "("
          and toks[k - 2] and (toks[k - 2].value == "varchar" or toks[k - 2].value == "nvarchar") then
        return true
      end
    end
  end
  return false
end

--- statements(text [, opts]) -> parsed statements of a script, in order.
--- A statement lode cannot parse raises, unless opts.per_statement: then it
--- comes back as {kind = "sql", sql =, line =, unparsed = true, refused =
--- the error}, so a script runs up to it (and on Redshift, where it is sent
--- as written, past it). Text that cannot be split into statements (an
--- unterminated quote) always raises.
function M.statements(text, opts)
  local out = {}
  for _, s in ipairs(tok.split(text, true)) do
    if opts and opts.per_statement then
      local ok, st = pcall(M.parse, s)
      if not ok then
        if type(st) ~= "table" then
          error(st, 0)
        end
        st = { kind = "sql", sql = s.text, line = s.line, unparsed = true, refused = st }
      end
      out[#out + 1] = st
    else
      out[#out + 1] = M.parse(s)
    end
  end
  return out
end

return M

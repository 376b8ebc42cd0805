-- Option validation: every mistake is an error naming the option.
local t = require "lode.test"
local copy = require "lode.copy"

local function opts(extra)
  local o = { table = "t", from = "s3://b/p/" }
  for k, v in pairs(extra) do
    o[k] = v
  end
  return o
end

local function refused(extra, msg)
  local e = t.raises(function() copy.options(opts(extra)) end, msg)
  t.eq(e.code, "invalid_option")
  t.eq(e.op, "copy")
end

t.test("unknown options are errors naming the option", function()
  refused({ delimeter = "," }, "unknown option 'delimeter'")
  refused({ IGNOREHEADER = 1 }, "unknown option 'IGNOREHEADER'")
  refused({ [1] = "x" }, "unknown option '1'")
end)

t.test("required options", function()
  t.raises(function() copy.options { from = "s3://b/p" } end, "option 'table' is required")
  t.raises(function() copy.options { table = "t" } end, "'from'")
  t.raises(function() copy.options "t" end, "must be a table")
  refused({ from = "/local/file.csv" }, "must be an s3:// URL")
  refused({ from = "s3://" }, "must be an s3:// URL")
  refused({ manifest = "s3://b/m" }, "not both")
  refused({ table = "a..b" }, "option 'table'")
end)

t.test("types of option values", function()
  refused({ delimiter = ",," }, "option 'delimiter' must be a single")
  refused({ delimiter = "" }, "option 'delimiter' must be a single")
  refused({ ignoreheader = -1 }, "option 'ignoreheader' must be a non-negative integer")
  refused({ ignoreheader = 1.5 }, "option 'ignoreheader'")
  refused({ maxerror = "5" }, "option 'maxerror'")
  refused({ maxerror = 100001 }, "at most 100000")
  refused({ gzip = "yes" }, "option 'gzip' must be true or false")
  refused({ compupdate = "auto" }, "option 'compupdate'")
  refused({ statupdate = "preset" }, "option 'statupdate'")
  refused({ columns = {} }, "option 'columns'")
  refused({ columns = { "a", 3 } }, "entry 2")
  refused({ acceptinvchars = "ab" }, "option 'acceptinvchars'")
  refused({ null_as = 5 }, "option 'null_as'")
  refused({ concurrency = 0 }, "option 'concurrency'")
end)

t.test("format rules follow Redshift", function()
  refused({ format = "xml" }, "unknown format 'xml'")
  refused({ format = "parquet", maxerror = 5 }, "option 'maxerror' is not supported with format 'parquet'")
  refused({ format = "orc", maxerror = 1 }, "columnar COPY fails on any error")
  -- MAXERROR 0 (dlt's FORMAT AS PARQUET … MAXERROR 0) changes nothing for columnar formats
  t.eq(copy.options({ table = "t", from = "s3://b/p/", format = "parquet", maxerror = 0 }).maxerror, 0)
  refused({ format = "parquet", delimiter = "," }, "option 'delimiter' is not supported with format 'parquet'")
  refused({ format = "parquet", gzip = true }, "option 'gzip'")
  refused({ format = "parquet", ignoreheader = 1 }, "option 'ignoreheader'")
  refused({ format = "json", delimiter = "," }, "option 'delimiter' is not supported with format 'json'")
  refused({ format = "json", ignoreheader = 1 }, "option 'ignoreheader'")
  refused({ format = "json", json = "paths.json" }, "option 'json' must be")
  refused({ format = "csv", json = "auto" }, "option 'json' needs format = 'json'")
  refused({ quote = "'" }, "option 'quote' needs format = 'csv'")
  refused({ format = "csv", escape = true }, "option 'escape' cannot be used with format 'csv'")
  refused({ format = "csv", serializetojson = true }, "serializetojson")
  refused({ gzip = true, zstd = true }, "at most one of")
  refused({ format = "csv", delimiter = '"', quote = '"' }, "cannot be the same")
  refused({ delimiter = "\n" }, "cannot be a newline")
end)

t.test("credentials: a role or keys", function()
  refused({ iam_role = "arn:r", access_key_id = "a", secret_access_key = "s" }, "not both")
  refused({ access_key_id = "a" }, "go together")
  refused({ secret_access_key = "s" }, "go together")
  refused({ iam_role = "arn:r", session_token = "x" }, "not both")
  refused({ session_token = "x" }, "needs 'access_key_id'")
end)

t.test("defaults and normalisation", function()
  local o = copy.options(opts {})
  t.eq(o.format, "text")
  t.eq(o.url, "s3://b/p/")
  t.eq(o.manifest, false)
  o = copy.options { table = "t", manifest = "s3://b/x.manifest", format = "JSON" }
  t.eq(o.format, "json")
  t.eq(o.json, "auto")
  t.eq(o.manifest, true)
  t.eq(o.url, "s3://b/x.manifest")
  -- the caller's table is not modified
  local given = opts { format = "CSV" }
  copy.options(given)
  t.eq(given.format, "CSV")
end)

t.test("errors never show credentials", function()
  local e = t.raises(function()
    copy.options(opts { iam_role = "arn:aws:iam::1:role/Secret", access_key_id = "AKIAXX", secret_access_key = "hush" })
  end)
  t.ok(not tostring(e):find("hush", 1, true))
  t.ok(not tostring(e):find("Secret", 1, true))
end)

t.test("FIXEDWIDTH and ENCODING follow Redshift's rules (#15)", function()
  local o = copy.options(opts({ fixedwidth = "id:3, name :25,2:12" }))
  t.eq(o.format, "fixedwidth")
  t.eq(table.concat(o.widths, ","), "3,25,12")
  refused({ fixedwidth = "id:3,name" }, "'name' is not label:width")
  refused({ fixedwidth = "id:0" }, "is not label:width")
  refused({ format = "fixedwidth" }, "go together")
  -- "FIXEDWIDTH can't be used with CSV or DELIMITER"; "You can't use the ESCAPE parameter for FIXEDWIDTH loads"
  refused({ fixedwidth = "a:3", delimiter = "|" }, "option 'delimiter' cannot be used with FIXEDWIDTH")
  refused({ fixedwidth = "a:3", escape = true }, "option 'escape' cannot be used with FIXEDWIDTH")
  refused({ fixedwidth = "a:3", format = "csv" }, "go together")
  -- "Fixed-width data files must use UTF-8 encoding"
  refused({ fixedwidth = "a:3", encoding = "UTF16" }, "fixed-width data files must use UTF-8")
  t.eq(copy.options(opts({ encoding = "iso-8859-1" })).encoding, "ISO88591")
  t.eq(copy.options(opts({ encoding = "utf16be" })).encoding, "UTF16BE")
  refused({ encoding = "latin1" }, "UTF16BE or ISO88591")
  refused({ format = "parquet", encoding = "UTF16" }, "not supported with format 'parquet'")
end)

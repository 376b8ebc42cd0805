-- The Redshift COPY text is the contract: every option, exactly.
local t = require "lode.test"
local copy = require "lode.copy"
local rs = require "lode.redshift"

local ROLE = "arn:aws:iam::123456789012:role/RedshiftRole"
local BASE = "COPY sales FROM 's3://lake/sales/' IAM_ROLE '<redacted>'"

local function base(extra)
  local o = { table = "sales", from = "s3://lake/sales/", iam_role = ROLE }
  for k, v in pairs(extra or {}) do
    o[k] = v
  end
  return o
end

t.test("minimal statement, role redacted unless asked", function()
  t.eq(copy.statement(base()), BASE)
  t.eq(copy.statement(base(), { credentials = true }),
    "COPY sales FROM 's3://lake/sales/' IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftRole'")
  t.eq(copy.statement(base { iam_role = "default" }), "COPY sales FROM 's3://lake/sales/' IAM_ROLE default")
  t.eq(copy.statement { table = "sales", from = "s3://lake/sales/" }, "COPY sales FROM 's3://lake/sales/'")
end)

t.test("key credentials, redacted and shown", function()
  local o = { table = "s.t", from = "s3://b/k.csv", format = "csv",
              access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalr/SECRET", session_token = "tok'en" }
  t.eq(copy.statement(o), "COPY s.t FROM 's3://b/k.csv' ACCESS_KEY_ID '<redacted>' SECRET_ACCESS_KEY '<redacted>' "
    .. "SESSION_TOKEN '<redacted>' FORMAT AS CSV")
  t.eq(copy.statement(o, { credentials = true }), "COPY s.t FROM 's3://b/k.csv' ACCESS_KEY_ID 'AKIDEXAMPLE' "
    .. "SECRET_ACCESS_KEY 'wJalr/SECRET' SESSION_TOKEN 'tok''en' FORMAT AS CSV")
  o.session_token = nil
  local s = copy.statement(o)
  t.eq(s, "COPY s.t FROM 's3://b/k.csv' ACCESS_KEY_ID '<redacted>' SECRET_ACCESS_KEY '<redacted>' FORMAT AS CSV")
  t.ok(not s:find("SECRET'", 1, true))
end)

-- one case per option: the exact clause appended to BASE
local SINGLE = {
  { { format = "csv" }, " FORMAT AS CSV" },
  { { format = "csv", quote = "'" }, " FORMAT AS CSV QUOTE AS ''''" },
  { { format = "csv", quote = "%" }, " FORMAT AS CSV QUOTE AS '%'" },
  { { format = "json" }, " FORMAT AS JSON 'auto'" },
  { { format = "json", json = "auto ignorecase" }, " FORMAT AS JSON 'auto ignorecase'" },
  { { format = "JSON", json = "s3://lake/paths.json" }, " FORMAT AS JSON 's3://lake/paths.json'" },
  { { format = "parquet" }, " FORMAT AS PARQUET" },
  { { format = "orc" }, " FORMAT AS ORC" },
  { { format = "text" }, "" },
  { { region = "eu-west-1" }, " REGION 'eu-west-1'" },
  { { delimiter = "|" }, " DELIMITER AS '|'" },
  { { delimiter = "\t" }, " DELIMITER AS '\t'" },
  { { delimiter = "\\" }, " DELIMITER AS '\\\\'" },
  { { ignoreheader = 1 }, " IGNOREHEADER AS 1" },
  { { ignoreheader = 0 }, " IGNOREHEADER AS 0" },
  { { null_as = "\\N" }, " NULL AS '\\\\N'" },
  { { null_as = "NULL" }, " NULL AS 'NULL'" },
  { { null_as = "it's" }, " NULL AS 'it''s'" },
  { { emptyasnull = true }, " EMPTYASNULL" },
  { { blanksasnull = true }, " BLANKSASNULL" },
  { { emptyasnull = false }, "" },
  { { dateformat = "auto" }, " DATEFORMAT AS 'auto'" },
  { { dateformat = "MM/DD/YYYY" }, " DATEFORMAT AS 'MM/DD/YYYY'" },
  { { timeformat = "auto" }, " TIMEFORMAT AS 'auto'" },
  { { timeformat = "epochsecs" }, " TIMEFORMAT AS 'epochsecs'" },
  { { timeformat = "epochmillisecs" }, " TIMEFORMAT AS 'epochmillisecs'" },
  { { timeformat = "YYYY-MM-DD HH:MI:SS" }, " TIMEFORMAT AS 'YYYY-MM-DD HH:MI:SS'" },
  { { gzip = true }, " GZIP" },
  { { bzip2 = true }, " BZIP2" },
  { { zstd = true }, " ZSTD" },
  { { acceptinvchars = true }, " ACCEPTINVCHARS" },
  { { acceptinvchars = "^" }, " ACCEPTINVCHARS AS '^'" },
  { { truncatecolumns = true }, " TRUNCATECOLUMNS" },
  { { fillrecord = true }, " FILLRECORD" },
  { { removequotes = true }, " REMOVEQUOTES" },
  { { escape = true }, " ESCAPE" },
  { { ignoreblanklines = true }, " IGNOREBLANKLINES" },
  { { maxerror = 0 }, " MAXERROR AS 0" },
  { { maxerror = 100 }, " MAXERROR AS 100" },
  { { compupdate = false }, " COMPUPDATE OFF" },
  { { compupdate = true }, " COMPUPDATE ON" },
  { { compupdate = "preset" }, " COMPUPDATE PRESET" },
  { { statupdate = false }, " STATUPDATE OFF" },
  { { statupdate = true }, " STATUPDATE ON" },
  { { format = "parquet", serializetojson = true }, " FORMAT AS PARQUET SERIALIZETOJSON" },
  { { reload = true, concurrency = 4, run = "r1" }, "" }, -- lode's own options never reach the SQL
}

t.test("every option alone, exactly", function()
  for i, c in ipairs(SINGLE) do
    t.eq(copy.statement(base(c[1])), BASE .. c[2], "case " .. i)
  end
end)

t.test("names are quoted, columns listed, manifest", function()
  t.eq(copy.statement { table = 'Sales."Q1"', columns = { "id", "Amount", 'we"ird; drop', "select" },
                        from = "s3://b/p/" },
    [[COPY sales."Q1" (id, "Amount", "we""ird; drop", "select") FROM 's3://b/p/']])
  t.eq(copy.statement { table = { "lake", "odd.name" }, from = "s3://b/p/" },
    [[COPY lake."odd.name" FROM 's3://b/p/']])
  t.eq(copy.statement { table = "t", manifest = "s3://b/load.manifest", format = "parquet", iam_role = ROLE },
    "COPY t FROM 's3://b/load.manifest' MANIFEST IAM_ROLE '<redacted>' FORMAT AS PARQUET")
  t.eq(copy.statement { table = "t", from = "s3://b/load.manifest", manifest = true },
    "COPY t FROM 's3://b/load.manifest' MANIFEST")
  t.eq(copy.statement { table = "t", from = "s3://b/it's/x\\y" }, [[COPY t FROM 's3://b/it''s/x\\y']])
end)

t.test("the typical loaders' statements", function()
  t.eq(copy.statement { table = "staging.sales", from = "s3://lake/silver/sales/", format = "parquet",
                        iam_role = ROLE, compupdate = false, statupdate = false },
    "COPY staging.sales FROM 's3://lake/silver/sales/' IAM_ROLE '<redacted>' FORMAT AS PARQUET "
    .. "COMPUPDATE OFF STATUPDATE OFF")
  t.eq(copy.statement { table = "events", from = "s3://raw/events/2024/", format = "json", iam_role = ROLE,
                        region = "us-east-1", gzip = true, timeformat = "epochmillisecs", maxerror = 0,
                        truncatecolumns = true, acceptinvchars = "?" },
    "COPY events FROM 's3://raw/events/2024/' IAM_ROLE '<redacted>' REGION 'us-east-1' FORMAT AS JSON 'auto' "
    .. "TIMEFORMAT AS 'epochmillisecs' GZIP ACCEPTINVCHARS AS '?' TRUNCATECOLUMNS MAXERROR AS 0")
  t.eq(copy.statement { table = "orders", columns = { "id", "day", "total" }, from = "s3://raw/orders.csv.zst",
                        format = "csv", quote = '"', delimiter = ";", ignoreheader = 1, null_as = "",
                        emptyasnull = true, blanksasnull = true, dateformat = "DD.MM.YYYY",
                        timeformat = "auto", zstd = true, fillrecord = true, maxerror = 5,
                        compupdate = "preset", statupdate = true, iam_role = ROLE },
    "COPY orders (id, day, total) FROM 's3://raw/orders.csv.zst' IAM_ROLE '<redacted>' FORMAT AS CSV "
    .. "QUOTE AS '\"' DELIMITER AS ';' IGNOREHEADER AS 1 NULL AS '' EMPTYASNULL BLANKSASNULL "
    .. "DATEFORMAT AS 'DD.MM.YYYY' TIMEFORMAT AS 'auto' ZSTD FILLRECORD MAXERROR AS 5 COMPUPDATE PRESET "
    .. "STATUPDATE ON")
  t.eq(copy.statement { table = "logs", from = "s3://raw/logs/", delimiter = "|", escape = true,
                        removequotes = true, ignoreblanklines = true, bzip2 = true, null_as = "\\N" },
    "COPY logs FROM 's3://raw/logs/' DELIMITER AS '|' NULL AS '\\\\N' BZIP2 REMOVEQUOTES ESCAPE IGNOREBLANKLINES")
end)

-- Every pair of compatible options for CSV: the statement parses back (with
-- lode.redshift) to exactly the options given, so no clause is lost or garbled.
local PAIRABLE = {
  quote = "~", delimiter = ";", ignoreheader = 2, null_as = "NA", emptyasnull = true, blanksasnull = true,
  dateformat = "YYYY-MM-DD", timeformat = "epochsecs", gzip = true, acceptinvchars = "?",
  truncatecolumns = true, fillrecord = true, maxerror = 7, compupdate = false, statupdate = true,
  region = "eu-north-1", columns = { "a", "B" },
}

t.test("every pair of CSV options round-trips through the Redshift parser", function()
  local keys = {}
  for k in pairs(PAIRABLE) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  local n = 0
  for i = 1, #keys do
    for j = i + 1, #keys do
      local o = base { format = "csv", [keys[i]] = PAIRABLE[keys[i]], [keys[j]] = PAIRABLE[keys[j]] }
      local text = copy.statement(o, { credentials = true })
      local st = rs.statements(text)[1]
      t.eq(st.kind, "copy", text)
      t.eq(st.format, "csv", text)
      t.eq(st.iam_role, ROLE, text)
      for _, k in ipairs { keys[i], keys[j] } do
        t.eq(st[k], PAIRABLE[k], text .. " / " .. k)
      end
      n = n + 1
    end
  end
  t.eq(n, #keys * (#keys - 1) // 2)
end)

t.test("FIXEDWIDTH and ENCODING in the statement, read back by lode.redshift (#15)", function()
  local spec = "venueid:3,venuename:25"
  local s = copy.statement(base { fixedwidth = spec, encoding = "UTF8" })
  t.eq(s, BASE .. " FIXEDWIDTH '" .. spec .. "' ENCODING AS UTF8")
  local st = rs.statements(copy.statement(base { fixedwidth = spec }, { credentials = true }))[1]
  t.eq(st.format, "fixedwidth")
  t.eq(st.fixedwidth, spec)
  t.eq(copy.statement(base { encoding = "UTF16LE", delimiter = "|" }), BASE .. " DELIMITER AS '|' ENCODING AS UTF16LE")
end)

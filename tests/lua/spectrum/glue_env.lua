-- Shared set-up of the Glue tests (glue_test.lua, glue_text_test.lua):
-- moto's Glue started for the file (auth off: partition folders hold '='),
-- the suite's PostgreSQL as the warehouse, and the oracles and child runs
-- both files use. Returns a table; stop it with dev.down({dir = e.stack}).
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local json = require "lode.json"
local dev = require "lode.dev"
local fs = require "lode.fs"

local root = os.getenv("LODE_ROOT") or "."
local lode_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")

local E = {}
E.pg_url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
E.s3_endpoint = t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
E.dir = t.tmpdir()
fs.mkdir(E.dir .. "/stack", true)
E.stack = E.dir .. "/stack/moto"
E.moto_env = dev.up({ dir = E.stack, pg = false, aws = "moto" })
E.glue_ep = E.moto_env.AWS_ENDPOINT_URL

function E.wh()
  return lode.warehouse({ url = E.pg_url, dialect = "postgres" })
end

-- DuckDB (tests/tools/duckdb.js) over the same files: the query oracle
function E.duckdb(...)
  local r = proc.run({ "node", root .. "/tests/tools/duckdb.js", ... }, { timeout = 60000 })
  t.eq(r.status, 0, "duckdb.js: " .. (r.stdout or "") .. (r.stderr or ""))
  return json.decode(r.stdout)
end

-- botocore against moto's Glue: `src` prints one JSON document
function E.botocore(src)
  local prelude = ([[
import json, botocore.session
glue = botocore.session.get_session().create_client("glue", endpoint_url=%q, region_name="us-east-1",
    aws_access_key_id="testing", aws_secret_access_key="testing")
def database(name):
    try:
        glue.create_database(DatabaseInput={"Name": name})
    except glue.exceptions.AlreadyExistsException:
        pass
]]):format(E.glue_ep)
  local r = proc.run({ "python3", "-c", prelude .. src })
  t.eq(r.status, 0, "botocore: " .. r.stderr)
  return json.decode(r.stdout)
end

-- a lode child process with the Glue endpoint configured
function E.run_lode(argv, env)
  local a = { lode_bin }
  for _, x in ipairs(argv) do a[#a + 1] = x end
  local e = { AWS_ENDPOINT_URL_GLUE = E.glue_ep }
  for k, v in pairs(env or {}) do e[k] = v end
  return proc.run(a, { env = e, timeout = 180000 })
end

function E.lode_sql(text)
  local path = E.dir .. "/script-" .. math.random(1, 1e9) .. ".sql"
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return E.run_lode({ "sql", path, "--warehouse", E.pg_url })
end

return E

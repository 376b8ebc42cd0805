-- lode.warehouse_iam — Redshift IAM login for warehouse URLs: temporary
-- database credentials fetched through lode.aws (the credential chain) for
-- every new pool connection, as the Redshift JDBC/ODBC drivers do.
--
--   redshift://user@cluster.abc123.eu-west-1.redshift.amazonaws.com:5439/dev?iam=true
--       &db_groups=loaders,readers&auto_create=true     -- GetClusterCredentials
--   redshift://cluster.abc123.eu-west-1.redshift.amazonaws.com/dev?iam=true
--                                                       -- no user: GetClusterCredentialsWithIAM
--   redshift-serverless://wg.123456789012.eu-west-1.redshift-serverless.amazonaws.com/dev?iam=true
--                                                       -- redshift-serverless GetCredentials
--   cluster_identifier=, workgroup=, region=, duration_seconds=, profile= override what the
--   host name says; every other query parameter (sslmode, connect_timeout, ...) goes to libpq.
--
-- TLS: redshift:// and redshift-serverless:// default to sslmode=verify-full
-- (system CAs); the URL's sslmode overrides. The fetched password is
-- registered with sql.register_secret the moment it arrives, so it is
-- redacted from logs, errors and run history.
local core = require "lode.core"
local sql = require "lode.sql"

local M = {}

local IAM_KEYS = { iam = true, cluster_identifier = true, db_groups = true, auto_create = true, region = true,
                   workgroup = true, duration_seconds = true, profile = true }

local function iam_error(code, message)
  error(core.error({ op = "warehouse.iam", code = code, message = message, retryable = false }), 3)
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function truthy(v)
  return v == "true" or v == "1" or v == "yes" or v == "on"
end

--- Split a redshift:// or redshift-serverless:// URL. Returns nil for any
--- other scheme; else {scheme, user, password, host, port, db, params =
--- {name = value} in URL order (names), iam = bool}.
function M.parse(url)
  local scheme, rest = url:match("^([%w+.-]+)://(.*)$")
  if scheme ~= "redshift" and scheme ~= "redshift-serverless" then return nil end
  local authority, path, query = rest:match("^([^/?]*)(/?[^?]*)%??(.*)$")
  local userinfo, hostport = authority:match("^(.*)@([^@]*)$")
  hostport = hostport or authority
  local user, password
  if userinfo then
    user, password = userinfo:match("^([^:]*):(.*)$")
    if not user then user = userinfo end
    user, password = unescape(user), password and unescape(password)
  end
  local host, port = hostport:match("^%[(.*)%]:?(%d*)$")
  if not host then host, port = hostport:match("^([^:]*):?(%d*)$") end
  local u = { scheme = scheme, user = user ~= "" and user or nil, password = password, host = host,
              port = port ~= "" and port or nil, db = path:gsub("^/", ""), params = {}, names = {} }
  u.db = unescape(u.db)
  for pair in query:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k, v = unescape(k), unescape(v)
    if u.params[k] == nil then u.names[#u.names + 1] = k end
    u.params[k] = v
  end
  u.iam = truthy(u.params.iam or "")
  if scheme == "redshift-serverless" and not u.iam then
    iam_error("usage", "redshift-serverless:// URLs log in with IAM: add ?iam=true")
  end
  return u
end

local function conninfo_value(v)
  return "'" .. tostring(v):gsub("\\", "\\\\"):gsub("'", "\\'") .. "'"
end

--- The libpq conninfo (key=value) for u with this user and password; sslmode
--- verify-full unless the URL names one.
function M.conninfo(u, user, password)
  local parts = {}
  local function add(k, v) if v ~= nil and v ~= "" then parts[#parts + 1] = k .. "=" .. conninfo_value(v) end end
  add("host", u.host)
  add("port", u.port or "5439")
  add("dbname", u.db ~= "" and u.db or "dev")
  add("user", user)
  add("password", password)
  if not u.params.sslmode then add("sslmode", "verify-full") end
  for _, k in ipairs(u.names) do
    if not IAM_KEYS[k] then add(k, u.params[k]) end
  end
  return table.concat(parts, " ")
end

--- For a URL without IAM: libpq's postgresql:// URL, sslmode=verify-full
--- added unless the URL names one.
function M.plain_url(url, u)
  local pg = "postgresql://" .. url:match("^[%w+.-]+://(.*)$")
  if u.params.sslmode then return pg end
  return pg .. (pg:find("?", 1, true) and "&" or "?") .. "sslmode=verify-full"
end

-- cluster.abc123.eu-west-1.redshift.amazonaws.com -> "cluster", "eu-west-1"
-- wg.123456789012.eu-west-1.redshift-serverless.amazonaws.com -> "wg", "eu-west-1"
local function from_host(host)
  local first, region = host:match("^([^.]+)%.[^.]+%.([^.]+)%.redshift%.amazonaws%.com$")
  if not first then first, region = host:match("^([^.]+)%.[^.]+%.([^.]+)%.redshift%-serverless%.amazonaws%.com$") end
  return first, region
end

--- Fetch temporary database credentials for u through lode.aws: returns
--- user, password (the password already registered as a secret).
function M.fetch(u)
  local aws = require "lode.aws"
  local first, host_region = from_host(u.host or "")
  local region = u.params.region or host_region
  local opts = { region = region, profile = u.params.profile }
  local duration = u.params.duration_seconds and math.tointeger(tonumber(u.params.duration_seconds))
  local db = u.db ~= "" and u.db or "dev"
  local user, password
  if u.scheme == "redshift-serverless" then
    local wg = u.params.workgroup or first
    if not wg then iam_error("usage", "redshift-serverless:// needs the workgroup: its endpoint host or ?workgroup=") end
    local r = aws.client("redshift-serverless", opts):call("GetCredentials",
      { workgroupName = wg, dbName = db, durationSeconds = duration })
    user, password = r.dbUser, r.dbPassword
  else
    local cluster = u.params.cluster_identifier or first
    if not cluster then
      iam_error("usage", "redshift:// with iam=true needs the cluster: its endpoint host or ?cluster_identifier=")
    end
    local p = { ClusterIdentifier = cluster, DbName = db, DurationSeconds = duration }
    local r
    if u.user then
      p.DbUser = u.user
      if u.params.auto_create then p.AutoCreate = truthy(u.params.auto_create) end
      local i = 0
      for g in (u.params.db_groups or ""):gmatch("[^,]+") do
        i = i + 1
        p["DbGroups.DbGroup." .. i] = g
      end
      r = aws.client("redshift", opts):call("GetClusterCredentials", p)
    else
      r = aws.client("redshift", opts):call("GetClusterCredentialsWithIAM", p)
    end
    user, password = r.DbUser, r.DbPassword
  end
  if type(password) ~= "string" or type(user) ~= "string" then
    iam_error("credentials", "the Redshift credentials answer has no user or password")
  end
  sql.register_secret(password)
  return user, password
end

return M

-- The AWS credential chain: for each configuration, lode and botocore (the
-- Debian python3-botocore, /usr/bin/python3) are given the same files and the
-- same environment (env -i: nothing else leaks in) and must pick the same
-- provider and the same access key, or both reject it. The IMDSv2 and
-- container endpoints are tests/lua/aws/metadata_server.py on loopback.
local t = require "lode.test"
local proc = require "lode.proc"
local json = require "lode.json"
local fs = require "lode.fs"

local root = t.env("LODE_ROOT", "tests/run.sh sets it")
local lode_bin = t.env("LODE_BIN", "tests/run.sh sets it")
local here = root .. "/tests/lua/aws"
local PY = "/usr/bin/python3"            -- the interpreter that has botocore (DESIGN.md)

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- Start a metadata server; returns its base URL.
local ECS_TOKEN = "ecs-token-" .. math.random(1, 1e9)
-- the loopback servers started here (pids; "-pgid" for a group), stopped by the last test
local SERVERS = {}

local function start_server(prefix, lifetime, mode)
  local r = proc.run({ PY, here .. "/metadata_server.py", prefix, tostring(lifetime), ECS_TOKEN, mode, "1200" })
  assert(r.status == 0, r.stderr)
  local port, pid = r.stdout:match("(%d+) (%d+)")
  SERVERS[#SERVERS + 1] = pid
  return "http://127.0.0.1:" .. port
end

local fixed = start_server("FIX", 3600, "fixed")

-- moto answers STS (AssumeRoleWithWebIdentity) for lode; botocore's
-- providers for roles are deferred (they call STS only when keys are read),
-- so the oracle tells which provider, moto's answer which keys
local moto
do
  local r = proc.run({ PY, here .. "/moto.py", "1200" })
  assert(r.status == 0, r.stderr)
  local port, pid = r.stdout:match("(%d+) (%d+)")
  SERVERS[#SERVERS + 1] = "-" .. pid -- moto's process group
  moto = "http://127.0.0.1:" .. port
end

-- botocore exception class -> lode error code
local codes = {
  PartialCredentialsError = "PartialCredentials", ProfileNotFound = "ProfileNotFound",
  CredentialRetrievalError = "CredentialRetrievalError", InvalidConfigError = "InvalidConfig",
  ValueError = "InvalidConfig", ConfigParseError = "InvalidConfig", JSONDecodeError = "CredentialRetrievalError",
  FileNotFoundError = "CredentialRetrievalError", InvalidIMDSEndpointError = "InvalidConfig",
  InfiniteLoopConfigError = "InvalidConfig", UnauthorizedSSOTokenError = "UnauthorizedSSOToken",
}
local sts = { ["assume-role"] = true, ["assume-role-with-web-identity"] = true }

-- Resolve one case with lode and with botocore; returns both decoded answers.
local function both(case)
  local dir = t.tmpdir()
  fs.mkdir(dir .. "/.aws")
  fs.mkdir(dir .. "/.aws/sso")
  fs.mkdir(dir .. "/.aws/sso/cache")
  for name, text in pairs(case.files or {}) do
    local path = dir .. "/" .. name
    write(path, (text:gsub("@DIR@", dir):gsub("@PY@", PY):gsub("@FIXED@", fixed):gsub("@MOTO@", moto)))
    if name:match("%.sh$") then proc.run({ "chmod", "+x", path }) end
  end
  local env = { "/usr/bin/env", "-i", "HOME=" .. dir, "PATH=/usr/bin:/bin" }
  -- no IMDS unless the case names one (a real 169.254.169.254 may answer here)
  local has_imds = false
  for _, kv in ipairs(case.env or {}) do
    kv = kv:gsub("@DIR@", dir):gsub("@FIXED@", fixed):gsub("@ECS_TOKEN@", ECS_TOKEN):gsub("@MOTO@", moto)
    env[#env + 1] = kv
    if kv:match("^AWS_EC2_METADATA_") then has_imds = true end
  end
  -- both clients wait up to 5 s for the loopback IMDS (botocore's 1 s default
  -- is too short for a loaded test machine)
  if has_imds then env[#env + 1] = "AWS_METADATA_SERVICE_TIMEOUT=5" end
  if not has_imds then env[#env + 1] = "AWS_EC2_METADATA_DISABLED=true" end
  for _, name in ipairs { "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS" } do   -- SANITIZE=1 runs
    if os.getenv(name) then env[#env + 1] = name .. "=" .. os.getenv(name) end
  end
  local function run(cmd)
    local argv = table.move(env, 1, #env, 1, {})
    table.move(cmd, 1, #cmd, #argv + 1, argv)
    local r = proc.run(argv, { timeout = 30000 })
    assert(r.status == 0, ("%s exited %s: %s"):format(cmd[1], r.status, r.stderr))
    local ok, v = pcall(json.decode, r.stdout)
    assert(ok and type(v) == "table", ("no JSON from %s: %s %s"):format(cmd[1], r.stdout, r.stderr))
    return v
  end
  local lode_cmd = { lode_bin, "run", here .. "/resolve.lua" }
  local boto_cmd = { PY, here .. "/creds_oracle.py" }
  if case.profile then
    lode_cmd[#lode_cmd + 1] = "--param"
    lode_cmd[#lode_cmd + 1] = "profile=" .. case.profile
    boto_cmd[#boto_cmd + 1] = case.profile
  end
  return run(lode_cmd), run(boto_cmd)
end

local function check(case)
  t.test(case.name, function()
    local l, b = both(case)
    local detail = ("lode %s / botocore %s"):format(json.encode(l), json.encode(b))
    -- the case says what it exercises; botocore must agree, or the case is wrong
    if case.method then t.eq(b.method, case.method, "botocore: " .. detail) end
    if case.error then t.eq(b.error or (b.none and "none"), case.error, "botocore: " .. detail) end
    if b.none then
      t.eq(l.error, "NoCredentials", detail)
    elseif b.error then
      t.eq(l.error, codes[b.error] or b.error, detail)
    elseif case.lode_error then
      t.eq(l.error, case.lode_error, detail)
    elseif sts[b.method] then
      -- botocore defers the STS call; lode made it, to moto
      t.eq(l.method, b.method, detail)
      t.match(l.access_key or "", "^ASIA", detail)
      t.ok(l.session_token and l.expiration, detail)
    elseif b.fetch_error then
      -- botocore chose this provider and its fetch failed: lode fails there too
      t.eq(l.provider, b.method, detail)
      t.eq(l.error, codes[b.fetch_error] or b.fetch_error, detail)
    else
      t.eq(l.method, b.method, detail)
      t.eq(l.access_key, b.access_key, detail)
    end
    if l.message then
      t.ok(not l.message:find("s3cr3t", 1, true) and not l.message:find("secret-ASIA", 1, true), "no secret in " .. l.message)
    end
  end)
end

local creds_default = "[default]\naws_access_key_id = AKIDCREDFILE\naws_secret_access_key = s3cr3tcred\n"
local config_default = "[default]\naws_access_key_id = AKIDCONFIGFILE\naws_secret_access_key = s3cr3tconf\n"
local process_ok = [[
#!/bin/sh
echo '{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "s3cr3tproc", "SessionToken": "tok",
       "Expiration": "2099-01-01T00:00:00Z"}'
]]

-- environment ------------------------------------------------------------
check { name = "env: keys in the environment", method = "env",
        env = { "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=s3cr3tenv", "AWS_SESSION_TOKEN=tok" } }
check { name = "env: a key without its secret is an error, not a fall-through", error = "PartialCredentialsError",
        files = { [".aws/credentials"] = creds_default }, env = { "AWS_ACCESS_KEY_ID=AKIDENV" } }
check { name = "env beats the credentials file, also with AWS_PROFILE set", method = "env",
        files = { [".aws/credentials"] = creds_default .. "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s\n" },
        env = { "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=s3cr3tenv", "AWS_PROFILE=dev" } }
check { name = "an explicit profile skips the environment keys", method = "shared-credentials-file", profile = "dev",
        files = { [".aws/credentials"] = "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s\n" },
        env = { "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=s3cr3tenv" } }
check { name = "AWS_DEFAULT_PROFILE wins over AWS_PROFILE", method = "shared-credentials-file",
        files = { [".aws/credentials"] = "[a]\naws_access_key_id = AKIDA\naws_secret_access_key = s\n" ..
                                          "[b]\naws_access_key_id = AKIDB\naws_secret_access_key = s\n" },
        env = { "AWS_DEFAULT_PROFILE=a", "AWS_PROFILE=b" } }

-- profiles -----------------------------------------------------------------
check { name = "credentials file beats the config file", method = "shared-credentials-file",
        files = { [".aws/credentials"] = creds_default, [".aws/config"] = config_default } }
check { name = "config file alone", method = "config-file", files = { [".aws/config"] = config_default } }
check { name = "config file named by AWS_CONFIG_FILE, [profile x] section", method = "config-file",
        files = { ["elsewhere.ini"] = "[profile x]\naws_access_key_id = AKIDX\naws_secret_access_key = s\n" },
        env = { "AWS_CONFIG_FILE=@DIR@/elsewhere.ini", "AWS_PROFILE=x" } }
check { name = "credentials file named by AWS_SHARED_CREDENTIALS_FILE, keys case-insensitive", method = "shared-credentials-file",
        files = { ["c.ini"] = "[default]\nAWS_ACCESS_KEY_ID : AKIDUPPER\naws_secret_access_key=s\n" },
        env = { "AWS_SHARED_CREDENTIALS_FILE=@DIR@/c.ini" } }
check { name = "a named profile that exists nowhere", error = "ProfileNotFound",
        files = { [".aws/credentials"] = creds_default }, env = { "AWS_PROFILE=nope" } }
check { name = "a named profile that exists nowhere, even with env keys", error = "ProfileNotFound",
        env = { "AWS_PROFILE=nope", "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=s" } }
check { name = "a profile with a key and no secret", error = "PartialCredentialsError",
        files = { [".aws/credentials"] = "[default]\naws_access_key_id = AKIDCREDFILE\n" } }
check { name = "nothing configured at all", error = "none" }
check { name = "a profile in the config file without [profile ] is not a profile", error = "ProfileNotFound",
        files = { [".aws/config"] = "[x]\naws_access_key_id = AKIDX\naws_secret_access_key = s\n" },
        env = { "AWS_PROFILE=x" } }
check { name = "a duplicate section is a parse error", error = "ConfigParseError",
        files = { [".aws/credentials"] = creds_default .. creds_default } }

-- credential_process --------------------------------------------------------
check { name = "credential_process beats the config file's keys", method = "custom-process",
        files = { ["proc.sh"] = process_ok,
                  [".aws/config"] = config_default .. "credential_process = @DIR@/proc.sh\n" } }
check { name = "the credentials file's keys beat credential_process", method = "shared-credentials-file",
        files = { ["proc.sh"] = process_ok, [".aws/credentials"] = creds_default,
                  [".aws/config"] = "[default]\ncredential_process = @DIR@/proc.sh\n" } }
check { name = "credential_process in the credentials file, argv split like shlex", method = "custom-process",
        files = { [".aws/credentials"] = [[
[default]
credential_process = "@PY@" -c "import json,sys; print(json.dumps({'Version': 1, 'AccessKeyId': sys.argv[1], 'SecretAccessKey': 'x'}))" 'AKID SPLIT'
]] } }
check { name = "credential_process that exits 1", error = "CredentialRetrievalError",
        files = { ["proc.sh"] = "#!/bin/sh\necho 'no session' >&2\nexit 1\n",
                  [".aws/config"] = "[default]\ncredential_process = @DIR@/proc.sh\n" } }
check { name = "credential_process with Version 2", error = "CredentialRetrievalError",
        files = { ["proc.sh"] = "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}'\n",
                  [".aws/config"] = "[default]\ncredential_process = @DIR@/proc.sh\n" } }
check { name = "credential_process without SecretAccessKey", error = "CredentialRetrievalError",
        files = { ["proc.sh"] = "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"A\"}'\n",
                  [".aws/config"] = "[default]\ncredential_process = @DIR@/proc.sh\n" } }

-- roles, web identity and SSO: botocore picks these before static keys -------
-- (tests/run.sh's environment is not passed: env -i)
local role = "role_arn = arn:aws:iam::123456789012:role/x\n"
check { name = "role_arn with source_profile wins over the profile's own keys", method = "assume-role",
        files = { [".aws/config"] = "[profile r]\n" .. role .. "source_profile = default\nexternal_id = ext-1\n" ..
                                      "duration_seconds = 900\nrole_session_name = lode\n" ..
                                      "aws_access_key_id = AKIDR\naws_secret_access_key = s\n",
                  [".aws/credentials"] = creds_default },
        env = { "AWS_PROFILE=r", "AWS_ENDPOINT_URL_STS=@MOTO@" } }
check { name = "a role chained through another role", method = "assume-role",
        files = { [".aws/config"] = "[profile a]\n" .. role .. "source_profile = b\n[profile b]\n" .. role ..
                                      "source_profile = default\n",
                  [".aws/credentials"] = creds_default },
        env = { "AWS_PROFILE=a", "AWS_ENDPOINT_URL_STS=@MOTO@" } }
check { name = "a role whose source_profile is itself, with static keys", method = "assume-role",
        files = { [".aws/credentials"] = "[r]\n" .. role .. "source_profile = r\naws_access_key_id = AKIDR\n" ..
                                          "aws_secret_access_key = s\n" },
        env = { "AWS_PROFILE=r", "AWS_ENDPOINT_URL_STS=@MOTO@" } }
check { name = "credential_source = Environment under an explicit profile", method = "assume-role", profile = "r",
        files = { [".aws/config"] = "[profile r]\n" .. role .. "credential_source = Environment\n" },
        env = { "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=s", "AWS_ENDPOINT_URL_STS=@MOTO@" } }
check { name = "credential_source = EcsContainer beats the container provider itself", method = "assume-role",
        files = { [".aws/config"] = "[default]\n" .. role .. "credential_source = EcsContainer\n" },
        env = { "AWS_CONTAINER_CREDENTIALS_FULL_URI=@FIXED@/ecs/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN=@ECS_TOKEN@",
                "AWS_ENDPOINT_URL_STS=@MOTO@" } }
check { name = "a role with both source_profile and credential_source", error = "InvalidConfigError",
        files = { [".aws/config"] = "[default]\n" .. role .. "credential_source = Environment\nsource_profile = x\n" ..
                                      "[profile x]\naws_access_key_id = A\naws_secret_access_key = s\n" } }
check { name = "a role with neither source_profile nor credential_source", error = "PartialCredentialsError",
        files = { [".aws/config"] = "[default]\n" .. role } }
check { name = "a role with an unknown credential_source", error = "InvalidConfigError",
        files = { [".aws/config"] = "[default]\n" .. role .. "credential_source = Laptop\n" } }
check { name = "a role whose source_profile does not exist", error = "InvalidConfigError",
        files = { [".aws/config"] = "[default]\n" .. role .. "source_profile = nope\n" } }
check { name = "a source_profile loop", error = "InfiniteLoopConfigError",
        files = { [".aws/config"] = "[profile a]\n" .. role .. "source_profile = b\n[profile b]\n" .. role ..
                                      "source_profile = a\n" },
        env = { "AWS_PROFILE=a" } }
check { name = "mfa_serial: botocore would prompt, lode refuses clearly", method = "assume-role", lode_error = "MfaRequired",
        files = { [".aws/config"] = "[default]\n" .. role .. "source_profile = x\nmfa_serial = arn:aws:iam::1:mfa/me\n" ..
                                      "[profile x]\naws_access_key_id = A\naws_secret_access_key = s\n" },
        env = { "AWS_ENDPOINT_URL_STS=@MOTO@" } }
check { name = "AWS_WEB_IDENTITY_TOKEN_FILE wins over the credentials file", method = "assume-role-with-web-identity",
        files = { ["token"] = "jwt", [".aws/credentials"] = creds_default },
        env = { "AWS_WEB_IDENTITY_TOKEN_FILE=@DIR@/token", "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/x",
                "AWS_ROLE_SESSION_NAME=ci", "AWS_ENDPOINT_URL_STS=@MOTO@" } }
check { name = "web identity from the profile, STS endpoint from the profile", method = "assume-role-with-web-identity",
        files = { ["token"] = "jwt", [".aws/config"] = "[profile w]\nweb_identity_token_file = @DIR@/token\n" ..
                                     "role_arn = arn:aws:iam::123456789012:role/x\nendpoint_url = @MOTO@\n" },
        env = { "AWS_PROFILE=w" } }
check { name = "web identity: the env token file with the profile's role_arn", method = "assume-role-with-web-identity",
        files = { ["token"] = "jwt", [".aws/config"] = "[default]\nrole_arn = arn:aws:iam::123456789012:role/x\n" ..
                                                       "web_identity_token_file = /nonexistent\n" },
        env = { "AWS_WEB_IDENTITY_TOKEN_FILE=@DIR@/token", "AWS_ENDPOINT_URL_STS=@MOTO@" } }
check { name = "web identity without a role ARN", error = "InvalidConfigError",
        files = { ["token"] = "jwt", [".aws/credentials"] = creds_default },
        env = { "AWS_WEB_IDENTITY_TOKEN_FILE=@DIR@/token" } }
check { name = "an explicit profile ignores AWS_WEB_IDENTITY_TOKEN_FILE", method = "shared-credentials-file", profile = "default",
        files = { ["token"] = "jwt", [".aws/credentials"] = creds_default },
        env = { "AWS_WEB_IDENTITY_TOKEN_FILE=@DIR@/token", "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/x",
                "AWS_ENDPOINT_URL_STS=@MOTO@" } }
check { name = "env keys still win over web identity", method = "env",
        files = { ["token"] = "jwt" },
        env = { "AWS_WEB_IDENTITY_TOKEN_FILE=@DIR@/token", "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/x",
                "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=s" } }
check { name = "an SSO profile wins over the credentials file", method = "sso",
        files = { [".aws/config"] = "[default]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n" ..
                                      "sso_account_id = 123456789012\nsso_role_name = r\n",
                  [".aws/credentials"] = creds_default } }

-- SSO: the token cache `aws sso login` writes (file named by the SHA-1 of the
-- session name or start URL, computed here by python3's hashlib), the portal
-- is metadata_server.py (AWS_ENDPOINT_URL_SSO; creds_oracle.py sends
-- botocore's own request there)
local function sha1(s)
  local r = proc.run({ PY, "-c", "import hashlib, sys; print(hashlib.sha1(sys.argv[1].encode()).hexdigest())", s })
  return (r.stdout:gsub("%s+$", ""))
end
local START = "https://my-corp.awsapps.com/start"
local function sso_token(tok, expires)
  return ('{"accessToken": "%s", "expiresAt": "%s", "region": "us-east-1", "startUrl": "%s"}'):format(tok, expires, START)
end
local legacy_cfg = "[default]\nsso_start_url = " .. START .. "\nsso_region = us-east-1\n" ..
                   "sso_account_id = 123456789012\nsso_role_name = reader\n"
local session_cfg = "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = writer\n" ..
                    "[sso-session corp]\nsso_start_url = " .. START .. "\nsso_region = us-east-1\n" ..
                    "sso_registration_scopes = sso:account:access\n"
local portal = { "AWS_ENDPOINT_URL_SSO=@FIXED@" }
check { name = "SSO, legacy sso_start_url profile: cached token, GetRoleCredentials", method = "sso", env = portal,
        files = { [".aws/config"] = legacy_cfg, [".aws/credentials"] = creds_default,
                  [".aws/sso/cache/" .. sha1(START) .. ".json"] = sso_token("SSO-GOOD-TOKEN", "2099-01-01T00:00:00Z") } }
check { name = "SSO, sso_session profile: token cached under the session name", method = "sso", env = portal,
        profile = "dev",
        files = { [".aws/config"] = session_cfg,
                  [".aws/sso/cache/" .. sha1("corp") .. ".json"] = sso_token("SSO-GOOD-TOKEN", "2099-01-01T00:00:00Z") } }
check { name = "SSO, sso_session via AWS_PROFILE", method = "sso", env = { "AWS_ENDPOINT_URL_SSO=@FIXED@", "AWS_PROFILE=dev" },
        files = { [".aws/config"] = session_cfg,
                  [".aws/sso/cache/" .. sha1("corp") .. ".json"] = sso_token("SSO-GOOD-TOKEN", "2099-01-01T00:00:00Z") } }
check { name = "SSO, sso_session with an expired token: refused (run aws sso login)", method = "sso", env = portal,
        profile = "dev",
        files = { [".aws/config"] = session_cfg,
                  [".aws/sso/cache/" .. sha1("corp") .. ".json"] = sso_token("SSO-GOOD-TOKEN", "2020-01-01T00:00:00Z") } }
check { name = "SSO, sso_session with no cached token", method = "sso", env = portal, profile = "dev",
        files = { [".aws/config"] = session_cfg } }
check { name = "SSO, the portal refuses the token: no fall-through to the credentials file", method = "sso", env = portal,
        files = { [".aws/config"] = legacy_cfg, [".aws/credentials"] = creds_default,
                  [".aws/sso/cache/" .. sha1(START) .. ".json"] = sso_token("SSO-REVOKED", "2099-01-01T00:00:00Z") } }
check { name = "SSO, the token cached under the start URL does not serve an sso_session profile", method = "sso",
        env = portal, profile = "dev",
        files = { [".aws/config"] = session_cfg,
                  [".aws/sso/cache/" .. sha1(START) .. ".json"] = sso_token("SSO-GOOD-TOKEN", "2099-01-01T00:00:00Z") } }
check { name = "SSO profile missing sso_region", error = "InvalidConfigError", env = portal,
        files = { [".aws/config"] = "[default]\nsso_start_url = " .. START .. "\nsso_account_id = 1\nsso_role_name = r\n" } }
check { name = "SSO profile naming a missing sso-session section", error = "InvalidConfigError", env = portal,
        files = { [".aws/config"] = "[default]\nsso_session = nope\nsso_account_id = 1\nsso_role_name = r\n" } }
check { name = "SSO profile and sso-session disagree on sso_region", error = "InvalidConfigError", env = portal,
        files = { [".aws/config"] = "[default]\nsso_session = corp\nsso_region = eu-west-1\nsso_account_id = 1\n" ..
                                      "sso_role_name = r\n[sso-session corp]\nsso_start_url = " .. START ..
                                      "\nsso_region = us-east-1\n" } }

-- container and IMDS ----------------------------------------------------------
check { name = "container endpoint (FULL_URI on loopback, authorization token)", method = "container-role",
        env = { "AWS_CONTAINER_CREDENTIALS_FULL_URI=@FIXED@/ecs/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN=@ECS_TOKEN@" } }
check { name = "container endpoint with a wrong token fails, no fall-through", error = "CredentialRetrievalError",
        env = { "AWS_CONTAINER_CREDENTIALS_FULL_URI=@FIXED@/ecs/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong",
                "AWS_EC2_METADATA_SERVICE_ENDPOINT=@FIXED@/" } }
check { name = "container FULL_URI to a host that is not allowed", error = "ValueError",
        env = { "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://192.0.2.1/creds" } }
check { name = "the credentials file beats the container endpoint", method = "shared-credentials-file",
        files = { [".aws/credentials"] = creds_default },
        env = { "AWS_CONTAINER_CREDENTIALS_FULL_URI=@FIXED@/ecs/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN=@ECS_TOKEN@" } }
check { name = "IMDSv2 (token, role name, credentials)", method = "iam-role",
        env = { "AWS_EC2_METADATA_SERVICE_ENDPOINT=@FIXED@/" } }
check { name = "the container endpoint beats IMDS", method = "container-role",
        env = { "AWS_EC2_METADATA_SERVICE_ENDPOINT=@FIXED@/", "AWS_CONTAINER_CREDENTIALS_FULL_URI=@FIXED@/ecs/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN=@ECS_TOKEN@" } }
check { name = "AWS_EC2_METADATA_DISABLED=true turns IMDS off", error = "none",
        env = { "AWS_EC2_METADATA_SERVICE_ENDPOINT=@FIXED@/", "AWS_EC2_METADATA_DISABLED=true" } }
check { name = "an IMDS endpoint that is not a URL", error = "InvalidIMDSEndpointError",
        env = { "AWS_EC2_METADATA_SERVICE_ENDPOINT=169.254.169.254" } }
check { name = "the profile's ec2_metadata_service_endpoint", method = "iam-role",
        files = { [".aws/config"] = "[default]\nec2_metadata_service_endpoint = @FIXED@/\n" },
        env = { "AWS_EC2_METADATA_DISABLED=false" } }

t.test("no IMDS answering: the chain fails fast and names every provider it tried", function()
  -- a closed loopback port: connection refused at once; a silent one must time out in ~1 s
  local dir = t.tmpdir()
  local r = proc.run({ PY, "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])" })
  local started = os.time()
  local argv = { "/usr/bin/env", "-i", "HOME=" .. dir, "PATH=/usr/bin:/bin",
                 "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:" .. r.stdout:match("%d+") .. "/",
                 lode_bin, "run", here .. "/resolve.lua" }
  local out = json.decode(proc.run(argv, { timeout = 30000 }).stdout)
  t.ok(os.time() - started <= 3, "took " .. (os.time() - started) .. " s")
  t.eq(out.error, "NoCredentials")
  for _, name in ipairs { "env", "assume-role", "assume-role-with-web-identity", "sso", "shared-credentials-file",
                          "custom-process", "config-file", "container-role", "iam-role" } do
    t.contains(out.message, name .. ": ", "names " .. name)
  end
end)

t.test("the loopback servers this file started stop with it", function()
  for _, pid in ipairs(SERVERS) do
    t.eq(proc.run({ "kill", "--", pid }).status, 0, "kill " .. pid)
  end
end)

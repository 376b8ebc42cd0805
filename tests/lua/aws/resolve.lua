-- Helper run by credentials_test.lua under `env -i`: prints which AWS
-- credentials lode resolves, as JSON (never the secret).
-- lode run resolve.lua [--param profile=NAME]
local awscreds = require "lode.awscreds"
local json = require "lode.json"
local profile = require("lode").param("profile", "")
local ok, r = pcall(awscreds.credentials, { profile = profile ~= "" and profile or nil })
if ok then
  print(json.encode({ access_key = r.access_key_id, method = r.provider, expiration = r.expiration,
                      session_token = r.session_token or false }))
else
  print(json.encode({ error = r.code, provider = r.provider or "", message = r.message }))
end

-- lode.rest — pages of a JSON REST API, as lists of items:
--
--   for items in rest.pages("https://api.example.com/orders", {
--       paginator = "cursor", cursor_param = "cursor", cursor_path = "next",
--       auth = { bearer = lode.params().token },
--       params = { status = "paid" }, items = "data.orders",
--       since = c:get(), since_param = "updated_since" }) do
--     for _, o in ipairs(items) do ... end
--   end
--
-- Paginators:
--   cursor       the next page's cursor is at cursor_path in the body ("next"),
--                sent as cursor_param ("cursor"); stops on null or ""
--   offset       offset_param ("offset") and limit_param ("limit") = limit (100);
--                stops on a page shorter than limit
--   page         page_param ("page") from start_page (1); page_size_param and
--                page_size when given; stops on an empty page
--   link_header  follows `Link: <url>; rel="next"` (RFC 8288)
--   next_url     the next page's URL is at next_path ("next") in the body
--   (none)       one request
-- Auth: { bearer = token } | { api_key = key, header = "X-API-Key" } (or
-- query = "api_key" to send it as a query parameter) |
-- { oauth_client_credentials = { token_url =, client_id =, client_secret =, scope = } }
-- (the token is fetched once and again when it expires). Every secret is
-- registered with lode.sql, so logs, errors and plans show it redacted.
-- 429 and 5xx are retried (max_attempts, 5) after Retry-After when the server
-- sends one, else after an exponential backoff (backoff_ms 500, capped at
-- 30 s); other statuses raise { op = "rest", code = "http", status =, url = }.

local core = require "lode.core"
local http = require "lode.http"
local json = require "lode.json"
local sql = require "lode.sql"

local M = {}

local function fail(code, message, extra)
  local e = { op = "rest", code = code, message = sql.redact(message), retryable = false }
  for k, v in pairs(extra or {}) do
    e[k] = v
  end
  error(core.error(e), 0)
end

local function urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- url with params (a table; keys sorted, so requests are reproducible) appended
function M.with_query(url, params)
  local keys = {}
  for k in pairs(params or {}) do
    keys[#keys + 1] = k
  end
  if #keys == 0 then
    return url
  end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(params[k])
  end
  return url .. (url:find("?", 1, true) and "&" or "?") .. table.concat(parts, "&")
end

--- rest.path(value, "data.orders") -> the value at a dotted path, or nil
function M.path(v, p)
  if p == nil or p == "" then
    return v
  end
  for part in p:gmatch("[^.]+") do
    if type(v) ~= "table" then
      return nil
    end
    v = v[tonumber(part) or part]
  end
  return v
end

--- rest.retry_after(value, now_s) -> milliseconds to wait, or nil (seconds or an HTTP date)
function M.retry_after(v, now)
  if not v then
    return nil
  end
  local secs = tonumber(v)
  if secs then
    return math.max(0, math.floor(secs * 1000))
  end
  local months = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10,
                   Nov = 11, Dec = 12 }
  local d, mon, y, hh, mi, ss = v:match("%a+, (%d+) (%a+) (%d+) (%d+):(%d+):(%d+) GMT")
  if not d or not months[mon] then
    return nil
  end
  -- days from civil (UTC), no dependence on the local time zone
  local Y, m = tonumber(y), months[mon]
  Y = m <= 2 and Y - 1 or Y
  local era = (Y >= 0 and Y or Y - 399) // 400
  local yoe = Y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + tonumber(d) - 1
  local days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
  local at = days * 86400 + tonumber(hh) * 3600 + tonumber(mi) * 60 + tonumber(ss)
  return math.max(0, (at - (now or os.time())) * 1000)
end

--- rest.next_link(link_header) -> the URL of rel="next", or nil
function M.next_link(h)
  if not h then
    return nil
  end
  for target, attrs in h:gmatch("<([^>]*)>([^,]*)") do
    for rel in attrs:gmatch('rel="?([^";]+)"?') do
      for r in rel:gmatch("%S+") do
        if r:lower() == "next" then
          return target
        end
      end
    end
  end
  return nil
end

-- an absolute URL for a possibly relative next link
local function resolve(base, ref)
  if ref:match("^%a[%w+.-]*://") then
    return ref
  end
  local origin = base:match("^(%a[%w+.-]*://[^/?#]+)")
  if ref:sub(1, 1) == "/" then
    return origin .. ref
  end
  local dir = base:gsub("[?#].*$", ""):match("^(.*/)") or (origin .. "/")
  return dir .. ref
end

-- The auth state: headers and query parameters for each request.
local function authenticator(auth, opts)
  if auth == nil then
    return function() return {}, {} end
  end
  if type(auth) ~= "table" then
    fail("usage", "auth must be a table: { bearer = } | { api_key =, header = } | { oauth_client_credentials = {…} }")
  end
  if auth.bearer then
    sql.register_secret(auth.bearer)
    return function() return { authorization = "Bearer " .. auth.bearer }, {} end
  elseif auth.api_key then
    sql.register_secret(auth.api_key)
    if auth.query then
      return function() return {}, { [auth.query] = auth.api_key } end
    end
    local header = (auth.header or "X-API-Key"):lower()
    return function() return { [header] = auth.api_key }, {} end
  elseif auth.oauth_client_credentials then
    local oc = auth.oauth_client_credentials
    if type(oc.token_url) ~= "string" or type(oc.client_id) ~= "string" or type(oc.client_secret) ~= "string" then
      fail("usage", "oauth_client_credentials needs token_url, client_id and client_secret")
    end
    sql.register_secret(oc.client_secret)
    local token, expires = nil, 0
    return function(force)
      if force or not token or core.now() >= expires then
        local body = "grant_type=client_credentials&client_id=" .. urlencode(oc.client_id) .. "&client_secret="
          .. urlencode(oc.client_secret) .. (oc.scope and ("&scope=" .. urlencode(oc.scope)) or "")
        local r = http.request({ method = "POST", url = oc.token_url, body = body, timeout = opts.timeout,
          headers = { ["content-type"] = "application/x-www-form-urlencoded", accept = "application/json" } })
        local doc = r.status == 200 and r.body and select(2, pcall(json.decode, r.body))
        if type(doc) ~= "table" or type(doc.access_token) ~= "string" then
          fail("auth", ("rest: the token endpoint %s answered %d without an access_token"):format(oc.token_url,
            r.status), { status = r.status, url = oc.token_url })
        end
        token = doc.access_token
        sql.register_secret(token)
        -- renewed a minute early (or halfway through a short lifetime)
        local life = (tonumber(doc.expires_in) or 3600) * 1000
        expires = core.now() + math.max(life - 60000, life // 2)
      end
      return { authorization = "Bearer " .. token }, {}
    end
  end
  fail("usage", "auth: give bearer, api_key or oauth_client_credentials")
end

local PAGINATORS = { cursor = true, offset = true, page = true, link_header = true, next_url = true }

--- rest.pages(url, opts) -> iterator of item lists (second value: the decoded body)
function M.pages(url, opts)
  opts = opts or {}
  if type(url) ~= "string" or not url:match("^https?://") then
    fail("usage", "rest.pages(url, opts): url must be http:// or https://")
  end
  local pg = opts.paginator
  if pg ~= nil and not PAGINATORS[pg] then
    fail("usage", ("unknown paginator '%s' (cursor, offset, page, link_header or next_url)"):format(tostring(pg)))
  end
  local auth = authenticator(opts.auth, opts)
  local max_attempts = opts.max_attempts or 5
  local backoff = opts.backoff_ms or 500
  local limit = opts.limit or 100
  local params = {}
  for k, v in pairs(opts.params or {}) do
    params[k] = v
  end
  if opts.since ~= nil then
    params[opts.since_param or "since"] = opts.since
  end
  local state = { url = url, cursor = nil, offset = 0, page = opts.start_page or 1, done = false }
  M.last_requests = 0

  local function request(u)
    local attempt, refreshed = 0, false
    while true do
      attempt = attempt + 1
      local headers, q = auth(false)
      local h = { accept = "application/json" }
      for k, v in pairs(opts.headers or {}) do
        h[k:lower()] = v
      end
      for k, v in pairs(headers) do
        h[k] = v
      end
      local full = M.with_query(u, q)
      M.last_requests = M.last_requests + 1
      local ok, r = pcall(http.request, { method = "GET", url = full, headers = h, timeout = opts.timeout })
      local status = ok and r.status or nil
      if ok and status >= 200 and status < 300 then
        return r
      end
      if ok and status == 401 and opts.auth and opts.auth.oauth_client_credentials and not refreshed then
        refreshed = true -- an expired token: fetch a new one once
        auth(true)
        attempt = attempt - 1
      else
        local retryable = not ok and type(r) == "table" and r.retryable or status == 429 or (status and status >= 500)
        if not retryable or attempt >= max_attempts then
          if not ok then
            error(r, 0)
          end
          fail("http", ("rest: GET %s answered %d%s"):format(u, status,
            attempt > 1 and (" after " .. attempt .. " attempts") or ""),
            { status = status, url = sql.redact(u), body = r.body and r.body:sub(1, 512), retryable = status == 429 })
        end
        local wait = ok and M.retry_after(r.headers and r.headers["retry-after"]) or nil
        if not wait then
          wait = math.min(backoff * (1 << (attempt - 1)), opts.backoff_cap_ms or 30000)
        end
        core.log("info", "rest: retrying", { url = u, status = status, attempt = attempt, wait_ms = wait })
        require("lode").sleep(wait)
      end
    end
  end

  return function()
    if state.done then
      return nil
    end
    local q = {}
    for k, v in pairs(params) do
      q[k] = v
    end
    local u = state.url
    if pg == "cursor" and state.cursor ~= nil then
      q[opts.cursor_param or "cursor"] = state.cursor
    elseif pg == "offset" then
      q[opts.offset_param or "offset"] = state.offset
      q[opts.limit_param or "limit"] = limit
    elseif pg == "page" then
      q[opts.page_param or "page"] = state.page
      if opts.page_size then
        q[opts.page_size_param or "per_page"] = opts.page_size
      end
    end
    if (pg == "link_header" or pg == "next_url") and state.followed then
      q = {} -- the next URL carries its own query
    end
    local r = request(M.with_query(u, q))
    local body = r.body or ""
    local ok, doc = pcall(json.decode, body)
    if not ok then
      fail("response", ("rest: GET %s: the body is not JSON"):format(u), { url = u })
    end
    local items = M.path(doc, opts.items)
    if items == nil or items == core.null then
      items = {}
    end
    if type(items) ~= "table" then
      fail("response", ("rest: GET %s: '%s' is not a list"):format(u, opts.items or "(body)"), { url = u })
    end
    if pg == "cursor" then
      local nxt = M.path(doc, opts.cursor_path or "next")
      if nxt == nil or nxt == core.null or nxt == "" or nxt == false then
        state.done = true
      else
        state.cursor = nxt
      end
    elseif pg == "offset" then
      state.offset = state.offset + #items
      state.done = #items < limit
    elseif pg == "page" then
      state.page = state.page + 1
      state.done = #items == 0
    elseif pg == "link_header" or pg == "next_url" then
      local nxt
      if pg == "link_header" then
        nxt = M.next_link(r.headers and r.headers.link)
      else
        nxt = M.path(doc, opts.next_path or "next")
      end
      if type(nxt) ~= "string" or nxt == "" then
        state.done = true
      else
        state.url, state.followed = resolve(u, nxt), true
      end
    else
      state.done = true
    end
    if #items == 0 and state.done and pg == "page" then
      return nil
    end
    return items, doc
  end
end

--- rest.items(url, opts) -> iterator of single items across pages
function M.items(url, opts)
  local pages = M.pages(url, opts)
  local list, i = {}, 0
  return function()
    while i >= #list do
      list, i = pages(), 0
      if list == nil then
        return nil
      end
    end
    i = i + 1
    return list[i]
  end
end

return M

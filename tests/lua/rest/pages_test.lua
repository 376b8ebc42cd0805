-- lode.rest against a loopback API (tests/tools/rest_api.py): every
-- paginator yields every item exactly once in the number of requests the
-- API counts; every auth style; 429 with Retry-After, 500 and 503 retried;
-- `since` sent as a query parameter; secrets redacted.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local dev = require "lode.dev"
local http = require "lode.http"
local rest = require "lode.rest"
local sql = require "lode.sql"

local root = os.getenv("LODE_ROOT") or "."
local api

-- A fresh API per test (its request counters start at zero), stopped when
-- the test ends, passed or failed: local guard <close> = serve()
local function serve()
  local port = proc.free_port()
  api = ("http://127.0.0.1:%d"):format(port)
  local pid = proc.daemon({ "python3", root .. "/tests/tools/rest_api.py", tostring(port) },
    { log = t.tmpdir() .. "/api.log" })
  local guard = setmetatable({}, { __close = function() dev.stop_process(pid) end })
  local ready = proc.run({ "curl", "-s", "-o", "/dev/null", "--retry", "40", "--retry-connrefused", "--retry-delay",
    "0", "--retry-max-time", "20", api .. "/_count" })
  if ready.status ~= 0 then
    dev.stop_process(pid)
    error("the loopback API did not start")
  end
  return guard
end

local function requests(path)
  return http.get(api .. "/_count?path=" .. path).json.n
end

local function collect(url, opts)
  local ids, pages = {}, 0
  for items in rest.pages(url, opts) do
    pages = pages + 1
    for _, it in ipairs(items) do
      ids[#ids + 1] = it.id
    end
  end
  return ids, pages
end

local function range(a, b)
  local r = {}
  for i = a, b do
    r[#r + 1] = i
  end
  return r
end

t.test("each paginator: every item once, requests counted by the API", function()
  local guard <close> = serve()
  local cases = {
    { "/cursor", { paginator = "cursor", items = "data.orders" }, 3 },
    { "/offset", { paginator = "offset", limit = 10 }, 3 },
    { "/page", { paginator = "page", items = "items" }, 4 }, -- the last, empty page ends it
    { "/link", { paginator = "link_header", items = "items" }, 3 },
    { "/next", { paginator = "next_url", items = "items" }, 3 },
  }
  for _, c in ipairs(cases) do
    local before = requests(c[1])
    t.eq(collect(api .. c[1], c[2]), range(1, 25), c[1])
    t.eq(requests(c[1]) - before, c[3], c[1] .. " requests")
  end
end)

t.test("since is sent as a query parameter: only newer items", function()
  local guard <close> = serve()
  local before = requests("/cursor")
  t.eq(collect(api .. "/cursor", { paginator = "cursor", items = "data.orders", since = "2024-01-20" }), range(21, 25))
  t.eq(requests("/cursor") - before, 1)
  t.eq(collect(api .. "/offset", { paginator = "offset", limit = 10, since = "2024-01-14", since_param = "since" }),
    range(15, 25))
end)

t.test("auth: bearer, api key header, api key query, OAuth client credentials", function()
  local guard <close> = serve()
  t.eq(collect(api .. "/bearer", { paginator = "cursor", items = "data.orders", auth = { bearer = "tok-123" } }),
    range(1, 25))
  t.eq(collect(api .. "/apikey", { paginator = "cursor", items = "data.orders",
    auth = { api_key = "key-456", header = "X-API-Key" } }), range(1, 25))
  t.eq(collect(api .. "/apikey_query", { paginator = "cursor", items = "data.orders",
    auth = { api_key = "key-789", query = "api_key" } }), range(1, 25))
  local tokens = requests("/token")
  t.eq(collect(api .. "/oauth", { paginator = "cursor", items = "data.orders", auth = { oauth_client_credentials = {
    token_url = api .. "/token", client_id = "app", client_secret = "s3cr3t-client" } } }), range(1, 25))
  t.eq(requests("/token") - tokens, 1, "one token for three pages")
  -- a wrong token: not retried, an error naming the status, the token redacted
  local before = requests("/bearer")
  local ok, err = pcall(collect, api .. "/bearer", { paginator = "cursor", auth = { bearer = "wrong-tok-999" } })
  t.ok(not ok)
  t.eq(err.code, "http")
  t.eq(err.status, 401)
  t.eq(requests("/bearer") - before, 1)
  t.ok(not sql.redact("Authorization: Bearer wrong-tok-999"):find("wrong-tok-999", 1, true), "the token is a secret")
  t.ok(not sql.redact("s3cr3t-client"):find("s3cr3t-client", 1, true), "the client secret is a secret")
end)

t.test("429 with Retry-After waits as told; 500 and 503 are retried; a dead API raises after max_attempts", function()
  local guard <close> = serve()
  local t0 = lode.now()
  t.eq(collect(api .. "/flaky429", { paginator = "cursor", items = "data.orders" }), range(1, 25))
  t.ok(lode.now() - t0 >= 1000, "waited the second Retry-After asked for")
  t.eq(requests("/flaky429"), 4) -- 429, then three pages
  t.eq(collect(api .. "/flaky500", { paginator = "cursor", items = "data.orders", backoff_ms = 10 }), range(1, 25))
  t.eq(requests("/flaky500"), 4)
  t.eq(collect(api .. "/flaky503", { paginator = "cursor", items = "data.orders", backoff_ms = 10 }), range(1, 25))
  t.eq(requests("/flaky503"), 5)
  local ok, err = pcall(collect, api .. "/always500", { backoff_ms = 1, max_attempts = 3 })
  t.ok(not ok)
  t.eq(err.status, 500)
  t.eq(requests("/always500"), 3)
end)

t.test("helpers: Retry-After as an HTTP date, Link headers, dotted paths", function()
  t.eq(rest.retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470), 10000)
  t.eq(rest.retry_after("2"), 2000)
  t.eq(rest.retry_after("soon"), nil)
  t.eq(rest.next_link('<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel="next"'), "https://a/x?page=3")
  t.eq(rest.next_link('<https://a/x?page=1>; rel="prev"'), nil)
  t.eq(rest.path({ data = { orders = { 1, 2 } } }, "data.orders"), { 1, 2 })
  t.eq(rest.with_query("http://h/p?a=1", { b = "x y", c = "é" }), "http://h/p?a=1&b=x%20y&c=%C3%A9")
end)

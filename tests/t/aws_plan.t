#!/usr/bin/env bash
# lode plan sends no AWS API call that may write: client:call of a
# Create/Put/Delete… operation is logged and answers {}; reads still go out.
set -u
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
dir=$(mktemp -d /tmp/lode-aws-plan.XXXXXX)
srv=
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$dir"' EXIT
# a loopback endpoint that answers {} to everything and logs each X-Amz-Target
python3 - "$dir" > "$dir/port" <<'PY' &
import http.server, sys, os
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(d + "/requests", "a") as f:
            f.write(self.headers.get("X-Amz-Target", "?") + "\n")
        self.send_response(200); self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
srv=$!
for _ in $(seq 1 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
port=$(cat "$dir/port")
cat > "$dir/p.lua" <<LUA
local aws = require "lode.aws"
local glue = aws.client("glue", { endpoint_url = "http://127.0.0.1:$port", region = "us-east-1" })
glue:call("GetDatabases")
local r = glue:call("CreateDatabase", { DatabaseInput = { Name = "plan_db" } })
print("create answered", next(r) == nil and "{}" or "data")
LUA
n=0; fails=0
check() { n=$((n+1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails+1)); echo "# $(cat $dir/out $dir/requests 2>/dev/null | tr '\n' '|')"; fi; }
AWS_ACCESS_KEY_ID=AKIDPLANTEST AWS_SECRET_ACCESS_KEY=plan-test-secret $L plan "$dir/p.lua" >"$dir/out" 2>&1; rc=$?
check "lode plan exits 0" "[ $rc -eq 0 ]"
check "the read (GetDatabases) was sent" "grep -qx 'AWSGlue.GetDatabases' $dir/requests"
check "the write (CreateDatabase) was not sent" "! grep -q 'CreateDatabase' $dir/requests"
check "the plan says what it did not send" "grep -q 'plan: glue.CreateDatabase (not sent in a dry run)' $dir/out && grep -Eq 'create answered.{1,2}[{][}]' $dir/out"
AWS_ACCESS_KEY_ID=AKIDPLANTEST AWS_SECRET_ACCESS_KEY=plan-test-secret $L run "$dir/p.lua" >"$dir/out" 2>&1; rc=$?
check "lode run sends the write" "[ $rc -eq 0 ] && grep -qx 'AWSGlue.CreateDatabase' $dir/requests"
echo "1..$n"
[ $fails -eq 0 ]

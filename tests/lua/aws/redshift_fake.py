#!/usr/bin/env python3
"""Loopback fake of the two Redshift credential APIs moto lacks (test-only),
from the API references:

  redshift GetClusterCredentialsWithIAM  Query POST (Action=..., DbName,
      ClusterIdentifier, DurationSeconds) -> XML <DbUser>, <DbPassword>, <Expiration>
  redshift-serverless GetCredentials     JSON 1.1 POST, X-Amz-Target
      RedshiftServerless.GetCredentials ({workgroupName, dbName}) -> {dbUser, dbPassword, expiration}

Requests must carry a SigV4 Authorization header for the service
(credential scope .../redshift/aws4_request or .../redshift-serverless/aws4_request;
the signature itself is checked by moto in the other tests). Each answer has
a fresh password. GET /stats -> {"calls": [{"op", "params", "scope_service"}]}.
Usage: redshift_fake.py <db user to hand out> [<seconds to live>]; prints the port and its pid, then detaches
(the test kills it when it ends; it stops by itself after <seconds to live>)."""
import http.server, json, os, re, secrets, socketserver, sys, threading, time, urllib.parse

USER = sys.argv[1]
LIVE = float(sys.argv[2]) if len(sys.argv) > 2 else 120.0
lock = threading.Lock()
calls = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, ctype):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            return self.reply(200, json.dumps({"calls": calls}), "application/json")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        m = re.search(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request", self.headers.get("Authorization", ""))
        scope = m.group(1) if m else None
        pw = "Pw" + secrets.token_hex(12)
        exp = time.time() + 900
        target = self.headers.get("X-Amz-Target")
        if target == "RedshiftServerless.GetCredentials":
            params = json.loads(body or "{}")
            with lock:
                calls.append({"op": "GetCredentials", "params": params, "scope_service": scope, "password": pw})
            if scope != "redshift-serverless":
                return self.reply(403, json.dumps({"__type": "AccessDeniedException", "message": "bad scope"}),
                                  "application/x-amz-json-1.1")
            return self.reply(200, json.dumps({"dbUser": USER, "dbPassword": pw, "expiration": exp}),
                              "application/x-amz-json-1.1")
        params = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
        with lock:
            calls.append({"op": params.get("Action"), "params": params, "scope_service": scope, "password": pw})
        if params.get("Action") != "GetClusterCredentialsWithIAM" or scope != "redshift":
            return self.reply(400, "<ErrorResponse><Error><Code>InvalidAction</Code><Message>no</Message></Error>"
                              "</ErrorResponse>", "text/xml")
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))
        return self.reply(200, "<GetClusterCredentialsWithIAMResponse><GetClusterCredentialsWithIAMResult>"
                          "<DbUser>%s</DbUser><DbPassword>%s</DbPassword><Expiration>%s</Expiration>"
                          "</GetClusterCredentialsWithIAMResult><ResponseMetadata><RequestId>r1</RequestId>"
                          "</ResponseMetadata></GetClusterCredentialsWithIAMResponse>" % (USER, pw, iso), "text/xml")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Handler)
pid = os.fork()
if pid > 0:
    print(srv.server_address[1], pid, flush=True)
    os._exit(0)
os.setsid()
fd = os.open(os.devnull, os.O_RDWR)
for i in (0, 1, 2):
    os.dup2(fd, i)
threading.Timer(LIVE, srv.shutdown).start()
srv.serve_forever()

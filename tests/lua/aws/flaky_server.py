#!/usr/bin/env python3
"""Loopback AWS-protocol server for the lode.aws retry tests (test-only).

Binds 127.0.0.1 on a free port, prints the port, then detaches so the
caller (lode.proc.run) returns once the socket listens; exits after
--lifetime seconds. The request path says what to do:

  POST /<id>/<n>/<kind>/   the first n requests on this path fail with <kind>,
                           later ones succeed (JSON {"ok": true}, or a Query
                           <ActionResponse> for form bodies)
  GET  /count/<id>/<n>/<kind>/   how many requests that path received

kinds: pattern (<n> is a string of f and s: attempt i fails with 503 when its
character is f), 503 (empty body), 500, json-throttle (400 ThrottlingException),
query-throttle (400 <Code>Throttling</Code>), json-validation (400, not
retryable), reset (the connection closes mid-answer), stall (no answer).
"""
import http.server, json, os, socketserver, sys, threading, time, urllib.parse

LIFETIME = float(sys.argv[1]) if len(sys.argv) > 1 else 120.0
counts = {}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, ctype, extra=None):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "req-%d" % status)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path[len("/count"):] if self.path.startswith("/count/") else self.path
        with lock:
            n = counts.get(path, 0)
        self.reply(200, json.dumps({"count": n}), "application/json")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        path = self.path
        with lock:
            counts[path] = counts.get(path, 0) + 1
            seen = counts[path]
        parts = [p for p in path.split("/") if p]
        kind = parts[2]
        fails = 0 if kind == "pattern" else int(parts[1])
        form = self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
        action = urllib.parse.parse_qs(body).get("Action", ["X"])[0] if form else None
        if kind == "pattern":
            pattern = parts[1]
            if seen <= len(pattern) and pattern[seen - 1] == "f":
                return self.reply(503, "", "text/plain")
        elif seen <= fails:
            if kind in ("503", "500"):
                return self.reply(int(kind), "", "text/plain")
            if kind == "json-throttle":
                return self.reply(400, json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}),
                                  "application/x-amz-json-1.1")
            if kind == "json-validation":
                return self.reply(400, json.dumps({"__type": "com.amazonaws#ValidationException",
                                                   "message": "bad input"}), "application/x-amz-json-1.1")
            if kind == "query-throttle":
                return self.reply(400, "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                                  "<Message>Rate exceeded</Message></Error><RequestId>q-1</RequestId></ErrorResponse>",
                                  "text/xml")
            if kind == "reset":
                # an answer cut short (curl would silently resend a request whose
                # reused connection closed before any byte of the answer)
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.write(b"{\"ok\"")
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if kind == "stall":
                time.sleep(LIFETIME)
                return
        if form:
            return self.reply(200, "<%sResponse><%sResult><Ok>yes</Ok><Seen>%d</Seen></%sResult>"
                              "<ResponseMetadata><RequestId>q-ok</RequestId></ResponseMetadata></%sResponse>"
                              % (action, action, seen, action, action), "text/xml")
        self.reply(200, json.dumps({"ok": True, "seen": seen, "target": self.headers.get("X-Amz-Target")}),
                   "application/x-amz-json-1.1")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
if os.fork() > 0:
    os._exit(0)
os.setsid()
fd = os.open(os.devnull, os.O_RDWR)
for i in (0, 1, 2):
    os.dup2(fd, i)
threading.Timer(LIFETIME, srv.shutdown).start()
srv.serve_forever()
os._exit(0)

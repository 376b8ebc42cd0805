#!/usr/bin/env python3
"""rest_api.py — a loopback JSON API for lode.rest's tests: one endpoint per
paginator and per auth style, plus failures that succeed on a retry.

Usage: rest_api.py PORT. Items: 25 orders {id, updated_at "2024-01-DD"};
?since=X keeps those updated after X. GET /_count?path=/cursor answers how
many requests that path received (the test's request counter)."""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ITEMS = [{"id": i, "updated_at": "2024-01-%02d" % i} for i in range(1, 26)]
PAGE = 10
counts = {}
tokens = set()
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        u = urlparse(self.path)
        n = int(self.headers.get("content-length") or 0)
        form = parse_qs(self.rfile.read(n).decode())
        with lock:
            counts[u.path] = counts.get(u.path, 0) + 1
        if u.path == "/token" and form.get("grant_type") == ["client_credentials"] and \
                form.get("client_id") == ["app"] and form.get("client_secret") == ["s3cr3t-client"]:
            with lock:
                tok = "at-%d" % (len(tokens) + 1)
                tokens.add(tok)
            return self.send(200, {"access_token": tok, "token_type": "bearer", "expires_in": 3600})
        return self.send(401, {"error": "invalid_client"})

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/_count":
            return self.send(200, {"n": counts.get(q.get("path"), 0)})
        with lock:
            counts[u.path] = counts.get(u.path, 0) + 1
            n = counts[u.path]
        items = [i for i in ITEMS if "since" not in q or i["updated_at"] > q["since"]]
        auth = self.headers.get("authorization")
        base = "http://127.0.0.1:%d" % self.server.server_address[1]
        p = u.path
        if p == "/bearer" and auth != "Bearer tok-123":
            return self.send(401, {"error": "bad token"})
        if p == "/apikey" and self.headers.get("x-api-key") != "key-456":
            return self.send(401, {"error": "bad key"})
        if p == "/apikey_query" and q.get("api_key") != "key-789":
            return self.send(401, {"error": "bad key"})
        if p == "/oauth" and (not auth or not auth.startswith("Bearer ") or auth[7:] not in tokens):
            return self.send(401, {"error": "bad token"})
        if p == "/flaky429" and n == 1:
            return self.send(429, {"error": "slow down"}, {"retry-after": "1"})
        if p == "/flaky500" and n == 1:
            return self.send(500, {"error": "boom"})
        if p == "/flaky503" and n <= 2:
            return self.send(503, {"error": "unavailable"})
        if p == "/always500":
            return self.send(500, {"error": "down"})
        if p in ("/cursor", "/bearer", "/apikey", "/apikey_query", "/oauth", "/flaky429", "/flaky500", "/flaky503"):
            start = int(q.get("cursor", "0"))
            page = items[start:start + PAGE]
            nxt = str(start + PAGE) if start + PAGE < len(items) else None
            return self.send(200, {"data": {"orders": page}, "next": nxt})
        if p == "/offset":
            off, lim = int(q["offset"]), int(q["limit"])
            return self.send(200, items[off:off + lim])
        if p == "/page":
            pg = int(q["page"])
            return self.send(200, {"items": items[(pg - 1) * PAGE:pg * PAGE]})
        if p in ("/link", "/next"):
            pg = int(q.get("page", "1"))
            page = items[(pg - 1) * PAGE:pg * PAGE]
            more = pg * PAGE < len(items)
            if p == "/link":
                h = {"link": '<%s/link?page=1>; rel="first", </link?page=%d>; rel="next"' % (base, pg + 1)} if more else {}
                return self.send(200, {"items": page}, h)
            return self.send(200, {"items": page, "next": ("%s/next?page=%d" % (base, pg + 1)) if more else None})
        return self.send(404, {"error": "not found"})


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

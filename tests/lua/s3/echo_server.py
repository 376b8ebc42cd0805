#!/usr/bin/env python3
"""Loopback HTTP server for lode.http tests (test-only).

Binds 127.0.0.1 on a free port, prints the port, then detaches so the caller
(lode.proc.run) returns once the socket is listening. It exits on GET /quit
or after --lifetime seconds, whichever comes first.

  /echo      -> JSON {method, path, headers, body, body_len}
  /bytes/N   -> N bytes of a repeating pattern (streamed)
  /status/N  -> empty body with status N
  /stall     -> headers, then silence (for low-speed timeouts)
"""
import http.server, json, os, socketserver, sys, threading, time

LIFETIME = float(sys.argv[1]) if len(sys.argv) > 1 else 120.0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, data, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        b = self.body()
        p = self.path
        if p == "/quit":
            self.reply(200, b"{}")
            threading.Thread(target=self.server.shutdown).start()
        elif p.startswith("/bytes/"):
            n = int(p.split("/")[2])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = bytes(range(256)) * 256
            left = n
            while left > 0:
                k = min(left, len(chunk))
                self.wfile.write(chunk[:k])
                left -= k
        elif p.startswith("/status/"):
            self.reply(int(p.split("/")[2]), b"")
        elif p == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.flush()
            time.sleep(30)
        else:
            out = {"method": self.command, "path": p,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": b.decode("utf-8", "replace"), "body_len": len(b)}
            self.reply(200, json.dumps(out).encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


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

#!/usr/bin/env python3
"""Fault-injecting HTTP proxy for the S3 tests (test-only, loopback only).

  fault_proxy.py UPSTREAM_PORT MODE COUNT LOG [LIFETIME [MATCH [EVERY [ARG]]]]

Listens on 127.0.0.1 (a free port, printed; the detached proxy's pid in LOG.pid), detaches, and forwards each
request to 127.0.0.1:UPSTREAM_PORT on its own upstream connection
("Connection: close"). MODE decides the fault, for the first COUNT
matching requests (COUNT -1: every one):
  503    answer 503 SlowDown without forwarding
  reset  forward, relay half of the response body, then reset the connection
  stall  forward, relay the headers and a few bytes, then go silent
  part500  answer 500 InternalError to every UploadPart (partNumber=) request
  hold   never forward nor answer (a request in flight for as long as the proxy lives)
  norange  forward without the Range header: the server answers 200 and the whole object
  short206 forward; a 206 answer is relayed with half its body (Content-Length
           says so, Content-Range still names the whole range)
  trickle  forward, relay the headers, then the body one byte a second
  swap     the object was replaced: after the first COUNT matching requests
           (COUNT here counts requests let through, not faults), MATCH in the
           target is replaced by ARG, so another object (another body and
           ETag) answers; If-Match is checked here the way S3 does (412 when
           the ETag differs), since s3rver ignores it
  swap_blind  as swap, for a server that ignores If-Match (the answer comes
           with the other object's ETag)
Only requests whose "METHOD TARGET" contains MATCH (default: any) are faulted, and of
those only every EVERY-th (default 1), so faults can land in the middle of a
long transfer rather than on its first requests.
Each request is logged as "METHOD TARGET -> STATUS|fault" to LOG.
With FAULT_PROXY_DELAY=TEXT:SECONDS in the environment, requests whose
"METHOD TARGET" contains TEXT wait SECONDS before they are forwarded, and are
dropped (logged "-> dropped", never forwarded) when the client has closed the
connection meanwhile: a slow request that a client giving up never delivers.
Exits after LIFETIME seconds (default 120).
"""
import os, select, socket, socketserver, struct, sys, threading, time

UP = int(sys.argv[1]); MODE = sys.argv[2]; COUNT = int(sys.argv[3]); LOG = sys.argv[4]
LIFETIME = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
MATCH = sys.argv[6] if len(sys.argv) > 6 else ""
EVERY = int(sys.argv[7]) if len(sys.argv) > 7 else 1
ARG = sys.argv[8] if len(sys.argv) > 8 else ""
SWAP = MODE in ("swap", "swap_blind")
DELAY_TEXT, _, DELAY_SECS = os.environ.get("FAULT_PROXY_DELAY", "").rpartition(":")
lock = threading.Lock()
faults = [0]
seen = [0]


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


def take_fault(method, target):
    if MODE == "part500":
        return "partNumber=" in target
    if MATCH not in method + " " + target:
        return False
    with lock:
        seen[0] += 1
        if seen[0] % EVERY != 0:
            return False
        if SWAP:
            if seen[0] <= COUNT:
                return False
            faults[0] += 1
            return True
        if COUNT < 0 or faults[0] < COUNT:
            faults[0] += 1
            return True
    return False


def read_head(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            return None, b""
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def header(lines, name):
    for l in lines:
        if l.lower().startswith(name + ":"):
            return l.split(":", 1)[1].strip()
    return None


def split_response(resp):
    cut = resp.find(b"\r\n\r\n")
    return resp[:cut].decode("latin-1").split("\r\n"), resp[cut + 4:]


def join_response(lines, body):
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def client_gone(sock):
    # readable with nothing to read: the client closed (a waiting client sends nothing)
    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        c.settimeout(60)
        while True:
            head, rest = read_head(c)
            if head is None:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target = lines[0].split(" ")[:2]
            hdrs = [l for l in lines[1:] if not l.lower().startswith("connection:")]
            n = 0
            for l in hdrs:
                if l.lower().startswith("content-length:"):
                    n = int(l.split(":", 1)[1])
            body = rest
            while len(body) < n:
                d = c.recv(min(1 << 20, n - len(body)))
                if not d:
                    return
                body += d
            fault = take_fault(method, target)
            if fault and MODE == "hold":
                log("%s %s -> fault hold" % (method, target))
                time.sleep(LIFETIME)
                return
            if fault and MODE in ("503", "part500"):
                code, word, s3code = (503, "Slow Down", "SlowDown") if MODE == "503" else (500, "Internal Server Error", "InternalError")
                x = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>injected</Message>"
                     "<RequestId>FAULT%d</RequestId></Error>" % (s3code, faults[0])).encode()
                log("%s %s -> fault %d" % (method, target, code))
                c.sendall(("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
                           "x-amz-request-id: FAULT\r\n\r\n" % (code, word, len(x))).encode() + x)
                continue
            if fault and MODE == "norange":
                hdrs = [l for l in hdrs if not l.lower().startswith("range:")]
            if fault and SWAP:
                lines[0] = lines[0].replace(MATCH, ARG, 1)
            if DELAY_TEXT and DELAY_TEXT in method + " " + target:
                time.sleep(float(DELAY_SECS))
                if client_gone(c):
                    log("%s %s -> dropped" % (method, target))
                    return
            u = socket.create_connection(("127.0.0.1", UP))
            u.sendall(("\r\n".join([lines[0]] + hdrs + ["Connection: close", "", ""])).encode("latin-1") + body)
            resp = b""
            while True:
                d = u.recv(1 << 20)
                if not d:
                    break
                resp += d
            u.close()
            status = resp[9:12].decode("latin-1", "replace")
            if fault and MODE == "reset":
                cut = resp.find(b"\r\n\r\n") + 4
                cut += (len(resp) - cut) // 2
                log("%s %s -> fault reset" % (method, target))
                c.sendall(resp[:cut])
                reset(c)
                return
            if fault and MODE == "short206" and status == "206":
                rl, rb = split_response(resp)
                rb = rb[:len(rb) // 2]
                rl = [l for l in rl if not l.lower().startswith("content-length:")] + ["Content-Length: %d" % len(rb)]
                log("%s %s -> fault short206" % (method, target))
                c.sendall(join_response(rl, rb))
                return
            if fault and MODE == "trickle":
                rl, rb = split_response(resp)
                log("%s %s -> fault trickle" % (method, target))
                c.sendall(join_response(rl, b""))
                for i in range(len(rb)):
                    c.sendall(rb[i:i + 1])
                    time.sleep(1)
                return
            if fault and MODE == "swap" and status.startswith("2"):
                want = header(hdrs, "if-match")
                rl, rb = split_response(resp)
                if want is not None and want != header(rl, "etag"):
                    x = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>PreconditionFailed</Code>"
                         b"<Message>At least one of the pre-conditions you specified did not hold</Message>"
                         b"<Condition>If-Match</Condition><RequestId>FAULT</RequestId></Error>")
                    log("%s %s -> fault swap 412" % (method, target))
                    c.sendall(("HTTP/1.1 412 Precondition Failed\r\nContent-Type: application/xml\r\n"
                               "Content-Length: %d\r\n\r\n" % len(x)).encode() + x)
                    return
            if fault and MODE == "stall":
                cut = resp.find(b"\r\n\r\n") + 4 + 10
                log("%s %s -> fault stall" % (method, target))
                c.sendall(resp[:cut])
                time.sleep(LIFETIME)
                return
            if fault:
                status += " fault " + MODE
            # log before relaying: a client that exits on the answer must
            # find the line already written; then close (the upstream
            # answered "Connection: close")
            log("%s %s -> %s" % (method, target, status))
            c.sendall(resp)
            return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
child = os.fork()
if child > 0:
    with open(LOG + ".pid", "w") as f:   # for a test that stops the proxy when it ends
        f.write(str(child))
    os._exit(0)
os.setsid()
fd = os.open(os.devnull, os.O_RDWR)
for i in (0, 1, 2):
    os.dup2(fd, i)
threading.Timer(LIFETIME, lambda: os._exit(0)).start()
srv.serve_forever()

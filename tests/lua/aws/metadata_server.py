#!/usr/bin/env python3
"""Loopback fake of the AWS credential endpoints, for the credential tests
(test-only). From the documented protocols:

  EC2 IMDSv2   PUT /latest/api/token (needs X-aws-ec2-metadata-token-ttl-seconds)
               GET /latest/meta-data/iam/security-credentials/        -> role name
               GET /latest/meta-data/iam/security-credentials/<role>  -> JSON
               GETs need X-aws-ec2-metadata-token (else 401).
  ECS/EKS      GET /ecs/creds, needs Authorization: <token given on the command line>
               GET /ecs/slow: the same after 1.5 s
  S3 checker   PUT/GET /<bucket>/<key>: 403 ExpiredToken unless the request's
               SigV4 Credential= access key was issued here and is unexpired,
               and X-Amz-Security-Token is that key's session token.
  SSO portal   GET /federation/credentials?account_id=&role_name= (GetRoleCredentials), needs
               x-amz-sso_bearer_token: SSO-GOOD-TOKEN (else 401 UnauthorizedException)
               -> {"roleCredentials": {accessKeyId, secretAccessKey, sessionToken, expiration (ms)}}
  Stats        GET /stats -> {"imds": n, "ecs": n, "s3_ok": n, "s3_expired": n}

Every credential answer is an access key ASIA<prefix><KIND>[<n>] valid for
`lifetime` seconds. In "fixed" mode the key is the same for every answer of a kind (so two
clients, lode and botocore, can be compared); in "rotate" mode each answer
is a new key. Usage: metadata_server.py <prefix> <lifetime_s> <ecs_token> fixed|rotate [<seconds to live>]
Prints the port, then detaches.
"""
import datetime, http.server, json, os, re, socketserver, sys, threading, time, urllib.parse

PREFIX = sys.argv[1]
LIFETIME = float(sys.argv[2])
ECS_TOKEN = sys.argv[3]
ROTATE = sys.argv[4] == "rotate"
LIVE = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
ROLE = "lode-test-role"
lock = threading.Lock()
SSO_TOKEN = "SSO-GOOD-TOKEN"
state = {"n": 0, "imds": 0, "ecs": 0, "sso": 0, "s3_ok": 0, "s3_expired": 0, "issued": {}, "tokens": set()}


def issue(kind):
    with lock:
        state["n"] += 1
        state[kind] += 1
        akid = "ASIA%s%s%s" % (PREFIX, kind.upper(), "%04d" % state["n"] if ROTATE else "")
        exp = time.time() + LIFETIME
        tok = "token-%s-%d" % (PREFIX, state["n"])
        state["issued"][akid] = (exp, tok)
    iso = datetime.datetime.fromtimestamp(int(exp), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": akid,
            "SecretAccessKey": "secret-" + akid, "Token": tok, "Expiration": iso,
            "LastUpdated": iso}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, data, ctype="application/json", extra=None):
        if isinstance(data, (dict, list)):
            data = json.dumps(data).encode()
        elif isinstance(data, str):
            data = data.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def imds_token_ok(self):
        return self.headers.get("X-aws-ec2-metadata-token") in state["tokens"]

    def do_PUT(self):
        b = self.body()
        if self.path == "/latest/api/token":
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit() or not (1 <= int(ttl) <= 21600):
                return self.reply(400, "")
            tok = "imds-session-%d" % len(state["tokens"])
            state["tokens"].add(tok)
            return self.reply(200, tok, "text/plain")
        return self.s3(b)

    def do_GET(self):
        p = self.path
        base = "/latest/meta-data/iam/security-credentials/"
        if p == "/stats":
            with lock:
                return self.reply(200, {k: state[k] for k in ("imds", "ecs", "s3_ok", "s3_expired")})
        if p.startswith(base):
            if not self.imds_token_ok():
                return self.reply(401, "")
            if p == base:
                return self.reply(200, ROLE, "text/plain")
            if p == base + ROLE:
                return self.reply(200, issue("imds"))
            return self.reply(404, "")
        if p.startswith("/federation/credentials?"):
            q = urllib.parse.parse_qs(p.split("?", 1)[1])
            if self.headers.get("x-amz-sso_bearer_token") != SSO_TOKEN:
                return self.reply(401, {"message": "Session token not found or invalid"},
                                  extra={"x-amzn-ErrorType": "UnauthorizedException"})
            if q.get("account_id") != ["123456789012"] or not q.get("role_name"):
                return self.reply(403, {"message": "No access"}, extra={"x-amzn-ErrorType": "ForbiddenException"})
            c = issue("sso")
            exp = int(time.time() + LIFETIME) * 1000
            return self.reply(200, {"roleCredentials": {"accessKeyId": c["AccessKeyId"] + q["role_name"][0].upper(),
                                    "secretAccessKey": c["SecretAccessKey"], "sessionToken": c["Token"],
                                    "expiration": exp}})
        if p == "/ecs/slow":           # answers after 1.5 s, for cancellation tests
            time.sleep(1.5)
            p = "/ecs/creds"
        if p == "/ecs/creds":
            if self.headers.get("Authorization") != ECS_TOKEN:
                return self.reply(403, {"message": "bad authorization"})
            return self.reply(200, issue("ecs"))
        return self.s3(b"")

    def s3(self, body):
        auth = self.headers.get("Authorization", "")
        m = re.search(r"Credential=([A-Z0-9]+)/", auth)
        akid = m.group(1) if m else None
        with lock:
            exp, tok = state["issued"].get(akid, (0, None))
            ok = akid is not None and time.time() < exp and self.headers.get("X-Amz-Security-Token") == tok
            state["s3_ok" if ok else "s3_expired"] += 1
        if not ok:
            return self.reply(403, "<Error><Code>ExpiredToken</Code><Message>expired or unknown %s</Message></Error>"
                              % akid, "application/xml")
        if self.command == "PUT":
            return self.reply(200, "", "application/xml", {"ETag": '"0"'})
        return self.reply(200, "hello", "application/octet-stream", {"ETag": '"0"'})

    do_HEAD = do_GET


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 128


srv = Server(("127.0.0.1", 0), Handler)
# "port pid": the detached server's pid, for a test to stop it before LIVE ends
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
os._exit(0)

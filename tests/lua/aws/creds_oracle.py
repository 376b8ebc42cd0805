#!/usr/bin/python3
"""botocore's answer for the credential tests (test-only): run with the same
environment and files as lode; prints {"access_key": ..., "method": ...},
{"none": true} when botocore finds nothing, or {"error": "<exception class>"}.
argv[1], when given, is an explicit profile (Session(profile=...)).
Role providers (assume-role...) are reported without fetching; sso is
fetched from the fake portal ({"method": "sso", "fetch_error": ...} on failure)."""
import json, os, sys, urllib.error, urllib.request
from urllib.parse import urlsplit
import botocore.session
from botocore.awsrequest import AWSResponse


class _Raw:
    def __init__(self, body):
        self.body = body

    def stream(self, **kw):
        yield self.body


def _to_fake_portal(request, **kw):
    """botocore's SSO client ignores AWS_ENDPOINT_URL_SSO; send its own
    request (path, query, bearer-token header) to the test's fake portal."""
    fake = os.environ.get("AWS_ENDPOINT_URL_SSO")
    if not fake:
        return None
    u = urlsplit(request.url)
    hdrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
    req = urllib.request.Request(fake.rstrip("/") + u.path + ("?" + u.query if u.query else ""),
                                 headers=hdrs, method=request.method)
    try:
        r = urllib.request.urlopen(req, timeout=10)
        status, body, rh = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, body, rh = e.code, e.read(), e.headers
    return AWSResponse(request.url, status, dict(rh.items()), _Raw(body))


try:
    s = botocore.session.Session(profile=sys.argv[1] if len(sys.argv) > 1 else None)
    s.register("before-send.sso", _to_fake_portal)
    c = s.get_credentials()
    if c is None:
        print(json.dumps({"none": True}))
    elif c.method == "sso":
        # botocore fetches from the SSO portal (AWS_ENDPOINT_URL_SSO: the test's fake)
        try:
            print(json.dumps({"access_key": c.get_frozen_credentials().access_key, "method": c.method}))
        except Exception as e:
            print(json.dumps({"method": c.method, "fetch_error": type(e).__name__, "message": str(e)}))
    elif c.method in ("assume-role", "assume-role-with-web-identity"):
        print(json.dumps({"method": c.method}))
    else:
        print(json.dumps({"access_key": c.access_key, "method": c.method}))
except Exception as e:
    print(json.dumps({"error": type(e).__name__, "message": str(e)}))

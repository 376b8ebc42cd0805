#!/usr/bin/python3
"""botocore's answer for the credential tests (test-only): run with the same
environment and files as lode; prints {"access_key": ..., "method": ...},
{"none": true} when botocore finds nothing, or {"error": "<exception class>"}.
argv[1], when given, is an explicit profile (Session(profile=...)).
Deferred providers (assume-role...) are reported without fetching."""
import json, sys
import botocore.session

try:
    s = botocore.session.Session(profile=sys.argv[1] if len(sys.argv) > 1 else None)
    c = s.get_credentials()
    if c is None:
        print(json.dumps({"none": True}))
    elif c.method in ("assume-role", "assume-role-with-web-identity", "sso"):
        print(json.dumps({"method": c.method}))
    else:
        print(json.dumps({"access_key": c.access_key, "method": c.method}))
except Exception as e:
    print(json.dumps({"error": type(e).__name__, "message": str(e)}))

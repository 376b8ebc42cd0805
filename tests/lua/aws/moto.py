#!/usr/bin/env python3
"""Start moto_server on a free loopback port for a test (test-only): prints
"port pid" once moto answers (pid: moto's, the leader of its own process
group, for a test to stop it), then detaches; moto is stopped after
<seconds> (default 300). Usage: moto.py [seconds]"""
import os, signal, socket, subprocess, sys, time, urllib.request

LIVE = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
child = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
# waits for moto to answer or exit; the 10 minutes only guard against a hang
deadline = time.time() + 600
while True:
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/moto-api/" % port, timeout=1).read()
        break
    except Exception:
        if child.poll() is not None or time.time() > deadline:
            sys.exit("moto_server did not start")
        time.sleep(0.1)
print(port, child.pid, flush=True)
if os.fork() > 0:
    os._exit(0)
os.setsid()
fd = os.open(os.devnull, os.O_RDWR)
for i in (0, 1, 2):
    os.dup2(fd, i)
end = time.time() + LIVE
while time.time() < end and child.poll() is None:
    time.sleep(1)
if child.poll() is None:
    os.killpg(child.pid, signal.SIGTERM)
os._exit(0)

# SPDX-License-Identifier: BSD-3-Clause
"""A plain-HTTP stand-in in front of the verifier that proves requests overlap.

Every request is passed to UPSTREAM and its answer back. The first request for HOLD_PATH
is held until UNTIL requests for that path have arrived (itself included) or MAX seconds
have passed, then passed on; the outcome is one line in LOG: "overlap K" when K requests
arrived while it was held (K >= UNTIL), "alone K" when the bound ran out first. A client
that serves one request at a time never sends the second while the first waits for its
answer, so it can only produce "alone". Later requests are not held. UNTIL 0: no hold.
DELAY_MS (optional): every request waits that long before it is passed on, as over a network
to a remote verifier (tests/bench/bench_agent_burst.sh).

usage: holdproxy.py UPSTREAM PORT_FILE LOG HOLD_PATH UNTIL MAX [DELAY_MS]
"""
import http.client
import http.server
import os
import sys
import threading
import time
import urllib.parse

UPSTREAM, PORT_FILE, LOG, HOLD_PATH = sys.argv[1:5]
UNTIL, MAX_S = int(sys.argv[5]), float(sys.argv[6])
DELAY_S = float(sys.argv[7]) / 1000 if len(sys.argv) > 7 else 0.0
up = urllib.parse.urlsplit(UPSTREAM)

cv = threading.Condition()
state = {"arrived": 0, "held": False}


def hold():
    """Called for each request to HOLD_PATH: the first one waits."""
    with cv:
        state["arrived"] += 1
        cv.notify_all()
        if state["held"]:
            return
        state["held"] = True
        cv.wait_for(lambda: state["arrived"] >= UNTIL, timeout=MAX_S)
        k = state["arrived"]
    with open(LOG, "a") as f:
        f.write(("overlap %d\n" if k >= UNTIL else "alone %d\n") % k)


class Handler(http.server.BaseHTTPRequestHandler):
    def forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if UNTIL > 0 and self.command == "POST" and self.path == HOLD_PATH:
            hold()
        if DELAY_S > 0:
            time.sleep(DELAY_S)
        c = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() in ("content-type", "accept")}
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in ("content-type",):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        c.close()

    do_GET = forward
    do_POST = forward

    def log_message(self, fmt, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
srv.serve_forever()

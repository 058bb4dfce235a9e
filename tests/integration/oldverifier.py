# SPDX-License-Identifier: BSD-3-Clause
"""A plain-HTTP stand-in for a verifier without the manifest store (before issue 14).

Every request is passed to UPSTREAM and its answer back, except those for /v1/manifests/...,
which are answered as such a verifier's router answered them: 405 for HEAD and PUT (no such
method), 404 for GET. Each request's method and path is a line of LOG.

usage: oldverifier.py UPSTREAM PORT_FILE LOG
"""
import http.client
import http.server
import sys
import urllib.parse

UPSTREAM, PORT_FILE, LOG = sys.argv[1:4]
up = urllib.parse.urlsplit(UPSTREAM)


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n) if n else None
        with open(LOG, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))
        if self.path.startswith("/v1/manifests/"):
            if self.command == "GET":
                self.answer(404, b'{"error":"not found"}')
            else:
                self.answer(405, b'{"error":"method not allowed"}')
            return
        c = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() in ("content-type",)}
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        self.answer(r.status, data, r.getheader("Content-Type", "application/json"))
        c.close()

    do_GET = do_POST = do_PUT = do_HEAD = handle_any

    def log_message(self, *a):
        pass


s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(PORT_FILE, "w") as f:
    f.write(str(s.server_address[1]))
s.serve_forever()

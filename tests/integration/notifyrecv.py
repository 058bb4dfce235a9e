#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# A stand-in for systemd's notification socket (sd_notify(3)): binds SOCKET (a path, or
# "@name" for an abstract socket), writes "bound" to OUT, then one line per datagram received:
# the message's lines joined by ",", and whether WATCH (the daemon's socket or port file)
# existed when it arrived. Ends after STOPPING=1 or LIMIT seconds (default 60).
import os
import socket
import sys
import time

sock_name, watch, out = sys.argv[1], sys.argv[2], sys.argv[3]
limit = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sock_name[1:] if sock_name.startswith("@") else sock_name)
end = time.monotonic() + limit
with open(out, "w", buffering=1) as f:
    f.write("bound\n")
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        f.write("%s exists=%d\n" % (",".join(msg.split("\n")), int(os.path.exists(watch))))
        if "STOPPING=1" in msg.split("\n"):
            break

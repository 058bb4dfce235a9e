#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Counts the commands sent to a swtpm host TPM, by command code, for tests.

Usage: tpmcount.py UPSTREAM_SOCK LISTEN_SOCK COUNTS_FILE

Listens on LISTEN_SOCK (TPM commands, counted) and LISTEN_SOCK.ctrl (swtpm control channel,
passed through unchanged), forwards to UPSTREAM_SOCK and UPSTREAM_SOCK.ctrl, and rewrites
COUNTS_FILE after every command: one line "<command code in hex> <count>" per code seen.
Use "swtpm:path=LISTEN_SOCK" as the TCTI. A command header is tag (2), commandSize (4),
commandCode (4), all big-endian (TPM 2.0 part 1); a response header has responseSize at the
same place. Anything else ends the connection.
"""
import os
import socket
import struct
import sys
import threading

HDR = 10
MAX_SIZE = 1 << 16

lock = threading.Lock()
counts = {}


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        part = s.recv(n - len(buf))
        if not part:
            return None
        buf += part
    return buf


def read_frame(s):
    hdr = recv_exact(s, HDR)
    if hdr is None:
        return None, None
    _tag, size, code = struct.unpack(">HII", hdr)
    if size < HDR or size > MAX_SIZE:
        return None, None
    rest = recv_exact(s, size - HDR)
    return (None, None) if rest is None else (hdr + rest, code)


def save(path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for code in sorted(counts):
            f.write("0x%x %d\n" % (code, counts[code]))
    os.replace(tmp, path)


def serve_data(client, upstream, counts_path):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(upstream)
        while True:
            cmd, code = read_frame(client)
            if cmd is None:
                return
            with lock:
                counts[code] = counts.get(code, 0) + 1
                save(counts_path)
            up.sendall(cmd)
            resp, _rc = read_frame(up)
            if resp is None:
                return
            client.sendall(resp)
    except OSError:
        return
    finally:
        up.close()
        client.close()


def pump(a, b):
    try:
        while True:
            data = a.recv(4096)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve_ctrl(client, upstream):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(upstream)
    except OSError:
        client.close()
        return
    t = threading.Thread(target=pump, args=(up, client), daemon=True)
    t.start()
    pump(client, up)
    t.join(10)
    up.close()
    client.close()


def listen(path):
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o600)
    s.listen(16)
    return s


def accept_loop(srv, handler, *args):
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handler, args=(c,) + args, daemon=True).start()


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: tpmcount.py UPSTREAM_SOCK LISTEN_SOCK COUNTS_FILE")
    upstream, path, counts_path = sys.argv[1:]
    with lock:
        save(counts_path)
    ctrl = listen(path + ".ctrl")
    data = listen(path)
    threading.Thread(target=accept_loop, args=(ctrl, serve_ctrl, upstream + ".ctrl"),
                     daemon=True).start()
    accept_loop(data, serve_data, upstream, counts_path)


if __name__ == "__main__":
    main()

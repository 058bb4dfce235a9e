# SPDX-License-Identifier: BSD-3-Clause
# A misbehaving client of a vTPM socket (tests only): sends one kind of bad input and reports
# what came back. Usage: badclient.py SOCKET garbage|truncated|huge|oversize-hdr|midclose|ctrl-garbage|ctl-huge
import socket, struct, sys

def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s

def read_reply(s):
    data = b''
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if len(data) >= 10 and len(data) >= struct.unpack('>I', data[2:6])[0]:
                break
    except (ConnectionResetError, BrokenPipeError):
        pass
    return data

def tpm_error_or_closed(data):
    if not data:
        return 'closed'
    if len(data) >= 10:
        tag, size, rc = struct.unpack('>HII', data[:10])
        if rc != 0:
            return 'tpm-error 0x%x' % rc
    raise SystemExit('unexpected success reply: %r' % data[:16])

def send_all(s, b):
    try:
        s.sendall(b)
    except (BrokenPipeError, ConnectionResetError):
        pass

path, kind = sys.argv[1], sys.argv[2]
s = conn(path)
if kind == 'garbage':
    send_all(s, b'\xde\xad\xbe\xef' * 8)
    print(tpm_error_or_closed(read_reply(s)))
elif kind == 'oversize-hdr':
    send_all(s, struct.pack('>HII', 0x8001, 1 << 20, 0x17b))
    print(tpm_error_or_closed(read_reply(s)))
elif kind == 'huge':
    send_all(s, struct.pack('>HII', 0x8001, 1 << 20, 0x17b) + b'\0' * ((1 << 20) - 10))
    print(tpm_error_or_closed(read_reply(s)))
elif kind == 'truncated':
    send_all(s, struct.pack('>HII', 0x8001, 100, 0x17b) + b'\0' * 40)
    s.shutdown(socket.SHUT_WR)
    print(tpm_error_or_closed(read_reply(s)))
elif kind == 'midclose':
    send_all(s, struct.pack('>HIIH', 0x8001, 12, 0x17b, 8))  # a whole GetRandom
    s.close()
    print('closed-before-reply')
elif kind == 'ctrl-garbage':
    send_all(s, b'\xff\xff\xff\xff' + b'\x01' * 64)
    r = read_reply(s)
    print('ctrl reply %r' % r[:8] if r else 'closed')
elif kind == 'ctl-huge':
    send_all(s, struct.pack('>I', 1 << 30) + b'\0' * 1024)
    r = read_reply(s)
    print('ctl reply %d bytes' % len(r))
else:
    raise SystemExit('unknown kind')

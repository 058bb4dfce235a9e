# SPDX-License-Identifier: BSD-3-Clause
# Slow clients of the verifier service (tests only): holds N connections that connect and then
# send nothing or trickle bytes, before the TLS handshake completes and after it, with and
# without a client certificate; a connection the server closes is opened again after a pause.
# Prints one JSON line of counts and, per kind, the longest time the server let one live.
# With STOP-FILE the attack lasts SECONDS at least and then until that file exists (60 s more at
# most), so that a slow machine's probes still run inside it.
# Usage: slowclients.py HOST PORT CA CERT KEY SECONDS N SRC[,SRC...] [READY-FILE [STOP-FILE]]
import asyncio, json, os, ssl, sys, time

HOST, PORT, CA, CERT, KEY = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
SECONDS, N, SRCS = float(sys.argv[6]), int(sys.argv[7]), sys.argv[8].split(',')
READY = sys.argv[9] if len(sys.argv) > 9 and sys.argv[9] else None
STOP = sys.argv[10] if len(sys.argv) > 10 else None
TRICKLE = 1.0   # seconds between two bytes: well inside any idle timeout
PAUSE = 0.2     # before connecting again

# The start of a TLS ClientHello record (declared 512 bytes long): the server waits for more.
HELLO = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]) + bytes(32)
KINDS = ['silent', 'hello', 'tls-nocert-line', 'tls-cert-headers', 'tls-cert-body']

def ctx(cert):
    c = ssl.create_default_context(cafile=CA)
    c.check_hostname = False
    if cert:
        c.load_cert_chain(CERT, KEY)
    return c

CTX = {False: ctx(False), True: ctx(True)}
stats = {k: {'connects': 0, 'longest': 0.0} for k in KINDS}
stats['failed_connects'] = 0

MIN_END = time.monotonic() + SECONDS
END = MIN_END + (60 if STOP else 0)

async def trickle(w, r, data):
    for i in range(len(data)):
        if time.monotonic() >= END:  # a cancellation the inner wait_for swallowed
            return
        w.write(data[i:i + 1])
        await w.drain()
        try:
            await asyncio.wait_for(r.read(4096), TRICKLE)
            return  # the server answered or closed
        except asyncio.TimeoutError:
            pass
    # Out of bytes (not expected within the test's time): wait for the server.
    await r.read(4096)

async def hold(kind, src):
    tls = kind.startswith('tls')
    r, w = await asyncio.wait_for(asyncio.open_connection(
        HOST, PORT, local_addr=(src, 0), ssl=CTX[kind == 'tls-cert-headers' or
                                                  kind == 'tls-cert-body'] if tls else None,
        server_hostname=HOST if tls else None), 5)
    t0 = time.monotonic()
    stats[kind]['connects'] += 1
    try:
        if kind == 'silent':
            await r.read(4096)
        elif kind == 'hello':
            await trickle(w, r, HELLO * 20)
        elif kind == 'tls-nocert-line':
            await trickle(w, r, b'GET /healthz HTTP/1.1\r\n' * 50)
        elif kind == 'tls-cert-headers':
            w.write(b'GET /healthz HTTP/1.1\r\nHost: v\r\n')
            await trickle(w, r, b'X-Slow: a\r\n' * 200)
        else:
            w.write(b'POST /v1/evidence HTTP/1.1\r\nHost: v\r\n'
                    b'Content-Type: application/cbor\r\nContent-Length: 100000\r\n\r\n')
            await trickle(w, r, b'\xa0' * 2000)
    except (ConnectionError, OSError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    finally:
        stats[kind]['longest'] = max(stats[kind]['longest'], time.monotonic() - t0)
        w.close()

async def client(i):
    kind, src = KINDS[i % len(KINDS)], SRCS[i % len(SRCS)]
    while time.monotonic() < END:
        try:
            await asyncio.wait_for(hold(kind, src), max(0.1, END - time.monotonic()))
        except asyncio.TimeoutError:
            pass
        except (ConnectionError, OSError, ssl.SSLError):
            stats['failed_connects'] += 1
        await asyncio.sleep(PAUSE)

async def stopper(tasks):
    global END
    while True:
        await asyncio.sleep(0.2)
        if time.monotonic() >= MIN_END and os.path.exists(STOP):
            END = time.monotonic()  # loops end at their next check, should a cancel be lost
            for t in tasks:
                t.cancel()
            return

async def main():
    tasks = [asyncio.create_task(client(i)) for i in range(N)]
    watch = asyncio.create_task(stopper(tasks)) if STOP else None
    if READY:
        await asyncio.sleep(2)
        open(READY, 'w').write('ready\n')
    await asyncio.gather(*tasks, return_exceptions=True)
    if watch:
        watch.cancel()

asyncio.run(main())
print(json.dumps(stats))

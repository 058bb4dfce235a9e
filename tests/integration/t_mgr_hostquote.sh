#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# vtpm-mgr's host-quote: a quote of the host AK over host PCRs with the caller's nonce,
# checked with tpm2_checkquote and against tpm2_pcrread of the host TPM; malformed requests
# and unprivileged callers refused; PCRs extended during quotes; no transient slot leaks.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "python3 missing"; exit 77; }
command -v setpriv >/dev/null 2>&1 || { echo "setpriv missing"; exit 77; }
start_host_tpm
cd "$T"
# Non-zero boot PCRs, so that a quote of zeros (or of the wrong PCRs) cannot pass.
for p in 0 4 7 13; do
    TPM2TOOLS_TCTI="$HOST_TCTI" tpm2_pcrextend "$p:sha256=$(printf 'boot %s' "$p" | sha256sum | cut -d' ' -f1)" ||
        fail "pcrextend $p"
done
start_mgr
"$BIN/vtpmctl" host-chain --out chain >/dev/null || fail "host-chain"
AKPEM=chain/host-ak.pub.pem
NONCE=$(openssl rand -hex 32)
DEFAULT_PCRS=0,1,2,3,4,5,6,7,13

# serialize DIR: DIR/pcrs.bin (values, PCR order) as tpm2-tools' "serialized" PCR file
# (TPML_PCR_SELECTION, count, TPML_DIGEST...), which tpm2_checkquote 5.4 reads for more than
# 7 PCRs (its "values" reader fails from 8 on).
serialize() {
    python3 - "$1" "$2" <<'EOF'
import struct, sys
d, pcrs = sys.argv[1], [int(x) for x in sys.argv[2].split(',')]
vals = open(d + '/pcrs.bin', 'rb').read()
assert len(vals) == 32 * len(pcrs)
mask = sum(1 << p for p in pcrs)
sel = struct.pack('<IHB4sx', 1, 0x000b, 3, mask.to_bytes(4, 'little')) + b'\0' * 8 * 15
groups = [vals[i:i + 8 * 32] for i in range(0, len(vals), 8 * 32)]
out = sel + struct.pack('<I', len(groups))
for g in groups:
    n = len(g) // 32
    out += struct.pack('<I', n)
    for k in range(8):
        v = g[32 * k:32 * k + 32] if k < n else b''
        out += struct.pack('<H', len(v)) + v.ljust(64, b'\0')
open(d + '/pcrs.tpm2', 'wb').write(out)
EOF
}
checkquote() { # DIR NONCE [extra options]
    _d=$1 _n=$2; shift 2
    tpm2_checkquote -u "$AKPEM" -m "$_d/quote.attest" -s "$_d/quote.sig" -g sha256 -q "$_n" "$@" \
        >"$_d/check.out" 2>&1
}

# attest_sel DIR NONCE PCRS: DIR/quote.attest is a TPM2_Quote of exactly PCRS (sha256) with
# extraData NONCE (TPMS_ATTEST read field by field; tpm2_checkquote only checks the digest).
attest_sel() {
    python3 - "$1/quote.attest" "$2" "$3" <<'EOF'
import struct, sys
a, nonce, pcrs = open(sys.argv[1], 'rb').read(), bytes.fromhex(sys.argv[2]), sys.argv[3]
magic, typ = struct.unpack('>IH', a[:6]); o = 6
n, = struct.unpack('>H', a[o:o + 2]); o += 2 + n            # qualifiedSigner
n, = struct.unpack('>H', a[o:o + 2]); extra = a[o + 2:o + 2 + n]; o += 2 + n
o += 17 + 8                                                  # clockInfo, firmwareVersion
count, = struct.unpack('>I', a[o:o + 4]); o += 4
assert (magic, typ, count) == (0xff544347, 0x8018, 1), (hex(magic), hex(typ), count)
alg, size = struct.unpack('>HB', a[o:o + 3]); sel = int.from_bytes(a[o + 3:o + 3 + size], 'little')
assert alg == 0x000b and extra == nonce
assert sel == sum(1 << int(p) for p in pcrs.split(',')), bin(sel)
EOF
}

"$BIN/vtpmctl" host-quote --nonce "$NONCE" --out q >/dev/null || fail "host-quote"
for f in quote.attest quote.sig pcrs.bin pcrs.json; do [ -s "q/$f" ] || fail "no q/$f"; done
[ "$(wc -c <q/pcrs.bin)" -eq $((9 * 32)) ] || fail "default selection is not 9 PCRs"
serialize q "$DEFAULT_PCRS"
checkquote q "$NONCE" -f q/pcrs.tpm2 || { cat q/check.out >&2; fail "tpm2_checkquote rejects the quote"; }
checkquote q "$(openssl rand -hex 32)" -f q/pcrs.tpm2 && fail "quote verifies with another nonce"
cp q/pcrs.bin pcrs.orig && flip_byte q/pcrs.bin 100
serialize q "$DEFAULT_PCRS"
checkquote q "$NONCE" -f q/pcrs.tpm2 && fail "quote verifies with a changed PCR value"
cp pcrs.orig q/pcrs.bin
ok "default host quote (PCRs 0-7, 13) verifies with tpm2_checkquote; other nonce or values do not"

# The values are the host TPM's (PCR 4 and 13 extended above, 1 never).
TPM2TOOLS_TCTI="$HOST_TCTI" timeout 30 tpm2_pcrread "sha256:$DEFAULT_PCRS" -o read.bin >/dev/null ||
    fail "tpm2_pcrread of the host TPM"
cmp -s read.bin q/pcrs.bin || fail "quoted values differ from tpm2_pcrread of the host TPM"
python3 -c 'import json,sys
j = json.load(open("q/pcrs.json"))["sha256"]
v = open("q/pcrs.bin", "rb").read()
assert sorted(j, key=int) == sys.argv[1].split(","), j.keys()
assert all(bytes.fromhex(j[k]) == v[32 * i:32 * i + 32] for i, k in enumerate(sorted(j, key=int)))
assert j["1"] == "00" * 32 and j["13"] != "00" * 32' "$DEFAULT_PCRS" || fail "pcrs.json"
ok "quoted values equal tpm2_pcrread of the host swtpm"

# A short selection in tpm2-tools' "values" format, and a 16-byte nonce (the minimum).
N16=$(openssl rand -hex 16)
"$BIN/vtpmctl" host-quote --nonce "$N16" --pcrs 13,4,0 --out q3 >/dev/null || fail "host-quote --pcrs 13,4,0"
checkquote q3 "$N16" -f q3/pcrs.bin -l sha256:0,4,13 || { cat q3/check.out >&2; fail "3-PCR quote"; }
attest_sel q3 "$N16" 0,4,13 || fail "3-PCR quote: selection or extraData"
attest_sel q "$NONCE" "$DEFAULT_PCRS" || fail "default quote: selection or extraData"
attest_sel q "$NONCE" 0,1,2,3,4,5,6,7 2>/dev/null && fail "attest_sel accepts another selection"
"$BIN/vtpmctl" host-quote --nonce "$(openssl rand -hex 64)" --pcrs 0-23 --out q24 >/dev/null ||
    fail "64-byte nonce, all 24 PCRs"
[ "$(wc -c <q24/pcrs.bin)" -eq $((24 * 32)) ] || fail "24 PCRs"
ok "selections of 3 and 24 PCRs, nonces of 16 and 64 bytes"

# Refused by vtpm-mgr itself (raw requests, past vtpmctl's own checks).
raw() { # python CBOR value of the request's extra keys; prints the reply's error
    python3 - "$RUN/vtpm-mgr.sock" "$1" <<'EOF'
import socket, struct, sys
def head(major, n):
    if n < 24: return bytes([major << 5 | n])
    if n < 256: return bytes([major << 5 | 24, n])
    return bytes([major << 5 | 25]) + struct.pack('>H', n)
def enc(v):
    if isinstance(v, bool): return b'\xf5' if v else b'\xf4'
    if isinstance(v, int): return head(0, v)
    if isinstance(v, bytes): return head(2, len(v)) + v
    if isinstance(v, str): return head(3, len(v.encode())) + v.encode()
    if isinstance(v, list): return head(4, len(v)) + b''.join(enc(x) for x in v)
    return head(5, len(v)) + b''.join(enc(k) + enc(x) for k, x in v.items())
req = {'v': 1, 'op': 'host-quote'}
req.update(eval(sys.argv[2]))
body = enc(req)
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(struct.pack('>I', len(body)) + body)
n = struct.unpack('>I', s.recv(4, socket.MSG_WAITALL))[0]
r = s.recv(n, socket.MSG_WAITALL)
print('ok' if b'\x62ok\xf5' in r else 'refused', r[r.find(b'error'):][6:].split(b'\x65errno')[0].decode(errors='replace'))
EOF
}
refused() { # DESCRIPTION REQUEST WORD
    out=$(raw "$2") || fail "$1: no answer"
    case "$out" in refused*"$3"*) ;; *) fail "$1: not refused ($out)" ;; esac
}
N="b'\x11'*32"
[ "$(raw "{'nonce': $N, 'pcrs': [0, 13]}" | cut -d' ' -f1)" = ok ] || fail "raw valid request refused"
refused "15-byte nonce" "{'nonce': b'\x11'*15, 'pcrs': [0]}" nonce
refused "65-byte nonce" "{'nonce': b'\x11'*65, 'pcrs': [0]}" nonce
refused "nonce as text" "{'nonce': 'x'*32, 'pcrs': [0]}" nonce
refused "no nonce" "{'pcrs': [0]}" nonce
refused "PCR 24" "{'nonce': $N, 'pcrs': [0, 24]}" pcrs
refused "PCR 1000" "{'nonce': $N, 'pcrs': [1000]}" pcrs
refused "duplicate PCR" "{'nonce': $N, 'pcrs': [7, 13, 7]}" pcrs
refused "empty list" "{'nonce': $N, 'pcrs': []}" pcrs
refused "25 entries" "{'nonce': $N, 'pcrs': list(range(24)) + [0]}" pcrs
refused "PCR as text" "{'nonce': $N, 'pcrs': ['7']}" pcrs
refused "no pcrs" "{'nonce': $N}" pcrs
"$BIN/vtpmctl" host-quote --nonce "$(openssl rand -hex 15)" --out x 2>err.txt && fail "vtpmctl: short nonce"
grep -q "nonce" err.txt || fail "vtpmctl: short nonce without a clear error"
for l in 24 0,0 '' 0-7,5 7-3 a 1,,2; do
    "$BIN/vtpmctl" host-quote --nonce "$NONCE" --pcrs "$l" --out x 2>/dev/null && fail "vtpmctl --pcrs '$l'"
done
ok "bad nonce sizes and types, PCR 24, duplicates, empty and long lists refused"

# Only peer_allowed() callers: with the socket opened up, a non-root caller gets EACCES from
# the daemon (not from the file system).
RUN_MODE=$(stat -c %a "$RUN")
chmod 0666 "$RUN/vtpm-mgr.sock"
chmod o+x "$RUN"
setpriv --reuid=65534 --regid=65534 --clear-groups timeout 10 "$BIN/vtpmctl" host-quote \
    --nonce "$NONCE" --out "$T/nobody" 2>nobody.err && fail "a non-root caller got a host quote"
grep -q "permission denied" nobody.err || { cat nobody.err >&2; fail "non-root caller: not the daemon's refusal"; }
[ ! -e "$T/nobody" ] || fail "files written for a non-root caller"
chmod 0600 "$RUN/vtpm-mgr.sock"
chmod "$RUN_MODE" "$RUN"
ok "a non-root caller is refused by vtpm-mgr"

# Many quotes in a row, with PCR 13 extended meanwhile (as kmod-vtpm does at every vTPM
# create): each verifies, and the host TPM still has room for transient objects afterwards.
( i=0; while [ $i -lt 40 ]; do
      TPM2TOOLS_TCTI="$HOST_TCTI" tpm2_pcrextend "13:sha256=$(openssl rand -hex 32)" >/dev/null 2>&1
      i=$((i + 1)); done ) &
EXT_PID=$!
at_exit "kill $EXT_PID 2>/dev/null"
mkdir many
i=0
while [ $i -lt 60 ]; do
    n=$(openssl rand -hex 20)
    d=many/$i
    "$BIN/vtpmctl" host-quote --nonce "$n" --out "$d" >/dev/null || fail "quote $i failed"
    serialize "$d" "$DEFAULT_PCRS"
    checkquote "$d" "$n" -f "$d/pcrs.tpm2" || { cat "$d/check.out" >&2; fail "quote $i does not verify"; }
    i=$((i + 1))
done
wait "$EXT_PID" || true
nvals=$(for d in many/*; do od -An -tx1 -v -j 256 -N 32 "$d/pcrs.bin" | tr -d ' \n'; echo; done | sort -u | wc -l)
[ "$nvals" -gt 1 ] || fail "PCR 13 did not change during the quotes (the extends did not run?)"
U=$(create_vtpm --name after-quotes) || fail "create after 60 quotes"
[ -n "$U" ] || fail "create after 60 quotes"
TPM2TOOLS_TCTI="$HOST_TCTI" timeout 30 tpm2_getcap handles-transient >transient.txt || fail "getcap"
[ ! -s transient.txt ] || { cat transient.txt >&2; fail "transient objects left in the host TPM"; }
TPM2TOOLS_TCTI="$HOST_TCTI" timeout 30 tpm2_getcap handles-loaded-session >sessions.txt || fail "getcap"
[ ! -s sessions.txt ] || { cat sessions.txt >&2; fail "sessions left in the host TPM"; }
ok "60 quotes in a row while PCR 13 changed ($nvals values): all verify, no transient slot left"
stop_mgr
echo "t_mgr_hostquote: all passed"

#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Integration test of vtpm-mgr-worker driven by tests/tools/worker_harness (playing the parent) and tpm2-tools.
set -u
ROOT=${VTPM_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${VTPM_BUILD:-$ROOT/build}
H=$B/tests/worker_harness
C=$B/tests/worker_client
FAILS=0 HPID= CATPID= SWPID=

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
die() { echo "FAIL: $*"; exit 1; }

for x in "$H" "$C" "$B/bin/vtpm-mgr-worker"; do [ -x "$x" ] || die "missing $x (build it first)"; done
for x in tpm2_getrandom tpm2_createek tpm2_nvread tpm2_readclock swtpm swtpm_ioctl openssl setpriv xxd; do
    command -v $x >/dev/null || die "missing tool $x"
done

D=$(mktemp -d /tmp/t_worker.XXXXXX)
chmod 755 "$D"
cleanup() {
    [ -n "$HPID" ] && kill "$HPID" 2>/dev/null
    [ -n "$SWPID" ] && kill "$SWPID" 2>/dev/null
    [ -n "$HPID" ] && wait "$HPID" 2>/dev/null
    [ -n "$CATPID" ] && wait "$CATPID" 2>/dev/null
    if [ "$FAILS" -ne 0 ] && [ -f "$D/worker.log" ]; then
        echo "--- harness/worker log (tail) ---"; tail -n 40 "$D/worker.log"
    fi
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The harness speaks line commands over fifos; its (and the worker's) stderr goes through a pipe
# because the sandboxed worker has RLIMIT_FSIZE 0 and cannot write to a regular file.
mkfifo "$D/in" "$D/out" "$D/err"
cat "$D/err" >"$D/worker.log" & CATPID=$!
"$H" "$D" <"$D/in" >"$D/out" 2>"$D/err" & HPID=$!
exec 7>"$D/in" 8<"$D/out"

# h CMD...: one harness command; succeeds on "OK", the answer is in $REPLY_LINE.
h() {
    echo "$*" >&7
    IFS= read -r REPLY_LINE <&8 || REPLY_LINE="ERR harness gone"
    echo "  harness: $* -> $REPLY_LINE"
    case $REPLY_LINE in OK*) return 0 ;; *) return 1 ;; esac
}
# tpm NAME tool args...: runs a tpm2 tool against instance NAME.
tpm() { n=$1; shift; TPM2TOOLS_TCTI="swtpm:path=$D/$n.sock" timeout 20 "$@"; }
pcr16() { tpm "$1" tpm2_pcrread sha256:16 2>/dev/null | awk '/16:/ {print $2}'; }
reset_count() { tpm "$1" tpm2_readclock 2>/dev/null | awk '/reset_count/ {print $2}'; }
# extend_hex OLD DIGEST: the SHA-256 PCR extend, computed independently of any TPM.
extend_hex() { echo "$1$2" | xxd -r -p | openssl dgst -sha256 -binary | xxd -p -c 64; }
digest() { printf '%s' "$1" | openssl dgst -sha256 -binary | xxd -p -c 64; }
upper() { echo "$1" | tr 'a-f' 'A-F'; }

# ---- sandbox ----
h spawn || die "spawn"
WPID=$(echo "$REPLY_LINE" | sed 's/.*pid=//')
h stats || die "worker did not answer"
ST=/proc/$WPID/status
grep -q '^Seccomp:[[:space:]]*2' "$ST" && ok "seccomp filter mode" || fail "seccomp not on"
grep -q '^NoNewPrivs:[[:space:]]*1' "$ST" && ok "no_new_privs" || fail "no_new_privs not set"
grep -q '^CapEff:[[:space:]]*0000000000000000' "$ST" && grep -q '^CapBnd:[[:space:]]*0000000000000000' "$ST" &&
    ok "no capabilities" || fail "capabilities left"
grep -q '^Uid:[[:space:]]*65534[[:space:]]*65534[[:space:]]*65534' "$ST" && ok "uid nobody" || fail "uid not dropped"

# ---- create, EK, EK certificate ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/k.pem" \
    -subj /CN=ek-test -days 1 -outform DER -out "$D/ek.der" 2>/dev/null || die "openssl"
h create a ecc && h ekcert a ecc "$D/ek.der" && h attach a || die "instance a"
h create r rsa && h attach r || die "instance r"
[ "$(tpm a tpm2_getrandom --hex 16 | wc -c)" -eq 32 ] && ok "getrandom" || fail "getrandom"
D1=$(digest one)
tpm a tpm2_pcrextend "16:sha256=$D1" && [ "$(pcr16 a)" = "0x$(upper "$(extend_hex "$(printf '%064d' 0)" "$D1")")" ] &&
    ok "pcrextend/pcrread" || fail "pcrextend/pcrread"
tpm a tpm2_createek -G ecc -c "$D/eka.ctx" -u "$D/eka.pub" >/dev/null && cmp -s "$D/eka.pub" "$D/a.ekpub" &&
    ok "tpm2_createek -G ecc reproduces the CREATE EK" || fail "ECC EK differs"
tpm r tpm2_createek -G rsa -c "$D/ekr.ctx" -u "$D/ekr.pub" >/dev/null && cmp -s "$D/ekr.pub" "$D/r.ekpub" &&
    ok "tpm2_createek -G rsa reproduces the CREATE EK" || fail "RSA EK differs"
tpm a tpm2_nvread 0x1c0000a -o "$D/nv.der" && cmp -s "$D/nv.der" "$D/ek.der" &&
    ok "EK cert readable at 0x1c0000a" || fail "EK cert NV content"
tpm a tpm2_nvundefine 0x1c0000a 2>/dev/null && fail "owner undefined the EK cert" || ok "owner cannot undefine EK cert"
tpm a tpm2_nvundefine -C p 0x1c0000a 2>/dev/null && fail "platform auth usable" || ok "platform hierarchy disabled"
tpm a tpm2_nvwrite -C p -i "$D/ek.der" 0x1c0000a 2>/dev/null && fail "EK cert rewritable" || ok "EK cert not writable"

# ---- 20 instances, interleaved ----
i=1; while [ $i -le 20 ]; do h create "p$i" ecc >/dev/null && h attach "p$i" >/dev/null || fail "create p$i"; i=$((i + 1)); done
for round in 1 2; do
    i=1; while [ $i -le 20 ]; do tpm "p$i" tpm2_pcrextend "16:sha256=$(digest "v$i")" || fail "extend p$i"; i=$((i + 1)); done
done
bad=0; i=1
while [ $i -le 20 ]; do
    d=$(digest "v$i"); want=$(extend_hex "$(extend_hex "$(printf '%064d' 0)" "$d")" "$d")
    [ "$(pcr16 "p$i")" = "0x$(upper "$want")" ] || bad=$((bad + 1))
    i=$((i + 1))
done
[ $bad -eq 0 ] && ok "20 instances keep their own PCRs" || fail "$bad instances with wrong PCR 16"

# ---- hostile clients, neighbour keeps answering ----
neighbour() { [ "$(tpm r tpm2_getrandom --hex 4 | wc -c)" -eq 8 ]; }
for m in garbage bigsize mb; do
    out=$("$C" "$D/a.sock" $m) && neighbour && ok "$m -> $out, neighbour fine" || fail "$m ($out)"
done
"$C" "$D/a.sock" bigsize | grep -q 'rc=0x142' && ok "oversize -> TPM_RC_COMMAND_SIZE" || fail "oversize rc"
for m in truncated noread; do "$C" "$D/a.sock" $m && neighbour && ok "$m, neighbour fine" || fail "$m"; done
"$C" "$D/a.sock" multi 5 >/dev/null && ok "several commands on one connection" || fail "multi"
"$C" "$D/a.sock" flood 12 | grep -q 'kept=8' && neighbour && ok "connection limit 8 per instance" || fail "flood"
[ "$(tpm a tpm2_getrandom --hex 4 | wc -c)" -eq 8 ] && ok "instance a still serves" || fail "instance a broken"
t0=$(date +%s); "$C" "$D/a.sock" stall >/dev/null & STALL=$!
sleep 1; neighbour && ok "a stalled client blocks nobody" || fail "stall blocks"
wait $STALL && [ $(( $(date +%s) - t0 )) -le 14 ] && ok "stalled connection dropped by timeout" || fail "stall timeout"

# ---- control channel ----
swtpm_ioctl --unix "$D/a.sock.ctrl" -c | grep -q 'ptm capability' && ok "ctrl GET_CAPABILITY" || fail "ctrl caps"
swtpm_ioctl --unix "$D/a.sock.ctrl" --save permanent "$D/stolen" 2>/dev/null && fail "state blob exported" ||
    ok "ctrl GET_STATEBLOB refused"
RC0=$(reset_count p2)
swtpm_ioctl --unix "$D/p2.sock.ctrl" -s && ! tpm p2 tpm2_getrandom 4 >/dev/null 2>&1 &&
    ok "ctrl SHUTDOWN powers off" || fail "ctrl shutdown"
swtpm_ioctl --unix "$D/p2.sock.ctrl" -i && tpm p2 tpm2_startup -c && [ "$(reset_count p2)" -eq $((RC0 + 1)) ] &&
    ok "ctrl INIT + Startup(CLEAR): resetCount+1" || fail "ctrl init/startup"
tpm p2 tpm2_nvundefine -C p 0x1c0000a 2>/dev/null && fail "platform open after client Startup" ||
    ok "platform hierarchy disabled after client Startup"

# ---- durability errors ----
h failstores 1
tpm p3 tpm2_nvdefine 0x1500016 -C o -s 8 2>"$D/nv.err" && fail "unstored change reported success" ||
    { grep -qi '0x923\|nv_unavailable\|NV access' "$D/nv.err" && ok "failed state store -> TPM_RC_NV_UNAVAILABLE" ||
      fail "unexpected error: $(cat "$D/nv.err")"; }

# ---- peer credentials ----
h create u ecc && h attach u 4242 || fail "instance u"
tpm u tpm2_getrandom 4 >/dev/null && ok "root may connect" || fail "root refused"
TPM2TOOLS_TCTI="swtpm:path=$D/u.sock" setpriv --reuid=4242 --regid=4242 --clear-groups timeout 10 tpm2_getrandom 4 \
    >/dev/null 2>&1 && ok "allowed uid may connect" || fail "allowed uid refused"
TPM2TOOLS_TCTI="swtpm:path=$D/u.sock" setpriv --reuid=4343 --regid=4343 --clear-groups timeout 10 tpm2_getrandom 4 \
    >/dev/null 2>&1 && fail "foreign uid served" || ok "foreign uid refused"
# The parent's verdict (IPC_PEER_CHECK) is final: a refused root peer gets no answer, and the
# worker keeps serving the next one.
h denypeers 1000
tpm u tpm2_getrandom 4 >/dev/null 2>&1 && fail "peer served against the parent's verdict" ||
    ok "peer refused by the parent's verdict"
h denypeers 0
tpm u tpm2_getrandom 4 >/dev/null && ok "next peer admitted" || fail "next peer refused"
# A remembered admission is for its own process only: a new process is asked about again.
h memopeers 600000
tpm u tpm2_getrandom 4 >/dev/null || fail "peer refused with memopeers"
h denypeers 1000
tpm u tpm2_getrandom 4 >/dev/null 2>&1 && fail "a remembered admission let another process in" ||
    ok "remembered admissions are per process"
h denypeers 0
h memopeers 0

# ---- suspend, resume in a new worker ----
PA=$(pcr16 a) RA=$(reset_count a) P4=$(pcr16 p4) R4=$(reset_count p4)
h suspend || fail "suspend"
h stop && [ "$REPLY_LINE" = "OK exit=0" ] && ok "EOF on IPC -> exit 0" || fail "exit after EOF: $REPLY_LINE"
h spawn || die "respawn"
h load a vol && h attach a || fail "load a with volatile state"
[ "$(pcr16 a)" = "$PA" ] && [ "$(reset_count a)" = "$RA" ] && ok "resume keeps PCRs and resetCount" ||
    fail "resume: pcr $(pcr16 a) vs $PA, resetCount $(reset_count a) vs $RA"
tpm a tpm2_nvread 0x1c0000a -o "$D/nv2.der" && cmp -s "$D/nv2.der" "$D/ek.der" && ok "EK cert survives" || fail "EK cert lost"
h load p4 novol && h attach p4 || fail "load p4 without volatile state"
[ "$(reset_count p4)" -eq $((R4 + 1)) ] && [ "$(pcr16 p4)" != "$P4" ] &&
    ok "cold load: resetCount+1, PCRs reset" || fail "cold load: resetCount $(reset_count p4) vs $R4"
tpm p4 tpm2_nvundefine -C p 0x1c0000a 2>/dev/null && fail "platform open after cold load" || ok "cold load closes platform"
h load p4 novol && fail "double load accepted" || ok "double load refused"
h remove p4 && ! tpm p4 tpm2_getrandom 4 >/dev/null 2>&1 && ok "remove" || fail "remove"

# ---- latency: GetRandom through the socket, vs swtpm's own ----
BENCH=$("$C" "$D/a.sock" bench 200) && ok "vtpm-mgr-worker: $BENCH" || fail "bench"
h stats && ok "stats: $REPLY_LINE"
mkdir "$D/sw"
swtpm socket --tpm2 --tpmstate dir="$D/sw" --server type=unixio,path="$D/sw/s" --ctrl type=unixio,path="$D/sw/s.ctrl" \
    --flags not-need-init,startup-clear >/dev/null 2>&1 & SWPID=$!
i=0; while [ ! -S "$D/sw/s" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
SW=$("$C" "$D/sw/s" bench 200) && ok "swtpm 0.7.1 (reference): $SW" || fail "swtpm bench"
kill "$SWPID"; SWPID=

# ---- protocol error on IPC -> non-zero exit ----
h raw 1 10 && h stop && [ "$REPLY_LINE" = "OK exit=1" ] && ok "IPC protocol error -> exit 1" ||
    fail "IPC protocol error -> $REPLY_LINE"
h quit; wait "$HPID"; HPID=

echo "$FAILS failure(s)"
[ "$FAILS" -eq 0 ]

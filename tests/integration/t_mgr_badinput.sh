#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Bad input never crashes anything and never affects a neighbour vTPM in the same worker:
# garbage, a 1 MB frame, a lying size header, a truncated command, a client gone mid-command,
# garbage on the control channels, a malformed control-socket frame.
. "$(dirname "$0")/lib.sh"
start_host_tpm
start_mgr
cd "$T"
U=$(create_vtpm --name victim)
S=$(json socket <create.json)
U2=$(create_vtpm --name neighbour)
S2=$(json socket <create.json)
[ "$("$BIN/vtpmctl" info "$U" | json worker_pid)" = "$("$BIN/vtpmctl" info "$U2" | json worker_pid)" ] ||
    fail "victim and neighbour should share a worker for this test"
WPID=$("$BIN/vtpmctl" info "$U" | json worker_pid)
BC="python3 $ROOT/tests/integration/badclient.py"
for kind in garbage oversize-hdr huge truncated midclose; do
    out=$(timeout 20 $BC "$S" $kind) || fail "$kind: client error: $out"
    vt "$S2" tpm2_getrandom 8 >/dev/null || fail "neighbour broken after $kind"
    vt "$S" tpm2_getrandom 8 >/dev/null || fail "victim unusable after its own $kind"
    ok "$kind -> $out; neighbour and victim fine"
done
out=$(timeout 20 $BC "$S.ctrl" ctrl-garbage) || fail "ctrl-garbage: $out"
vt "$S2" tpm2_getrandom 8 >/dev/null || fail "neighbour broken after ctrl garbage"
ok "control-channel garbage -> $out"
out=$(timeout 20 $BC "$RUN/vtpm-mgr.sock" ctl-huge) || fail "ctl-huge: $out"
"$BIN/vtpmctl" list >/dev/null || fail "daemon broken after a huge control frame"
ok "huge control frame -> $out"
# A client that stalls mid-command does not block the others in its worker.
python3 -c "
import socket,struct,time,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(struct.pack('>HII',0x8001,100,0x17b)); time.sleep(4)" "$S" &
STALL=$!
sleep 0.5
timeout 3 sh -c "TPM2TOOLS_TCTI=swtpm:path=$S2 tpm2_getrandom 8 >/dev/null" || fail "a stalled client blocks its worker"
kill $STALL 2>/dev/null || true; wait $STALL 2>/dev/null || true
ok "a stalled client does not block its neighbour"
[ "$("$BIN/vtpmctl" info "$U" | json worker_pid)" = "$WPID" ] || fail "the worker crashed and was replaced"
ok "the worker never crashed"
stop_mgr
echo "t_mgr_badinput: all passed"

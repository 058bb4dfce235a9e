#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# When the hook asks vtpm-mgr for a kmod-vtpm device (docs/attest-agent.md "The kernel
# device"), on a host without the module: --kernel-device on, or auto with the control device
# present, fails the start with the reason before anything is extended; auto without it, off,
# and the annotation's off do not ask (the start then fails later, at the unreachable
# verifier); a bad annotation fails the start; the agent service asks as the hook does.
# vtpm-mgr refuses a bad node and records nothing when the module is missing. The device
# itself is tested in the QEMU guest (tests/kernel/t_92_kdev_start.sh).
. "$(dirname "$0")/lib.sh"
start_host_tpm
start_mgr
cd "$T" || fail "cd $T"
mkdir -p b/rootfs/bin b/rootfs/dev
sleep 600 &
CPID=$!
at_exit "kill $CPID 2>/dev/null"
# bundle ANNOTATION: config.json with the kernel-device annotation (none when empty).
bundle() {
    ann=''
    [ -z "$1" ] || ann=', "annotations": {"org.vtpm-attest.kernel-device": "'"$1"'"}'
    cat >b/config.json <<EOF
{"ociVersion": "1.0.2", "root": {"path": "rootfs"},
 "process": {"args": ["/bin/sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
 "mounts": [{"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}]$ann}
EOF
}
# hook OUT [options]: the one-shot hook with the OCI state at createRuntime; the verifier is
# unreachable, so no start is allowed.
hook() {
    out=$1; shift
    printf '{"ociVersion": "1.0.2", "id": "kdev-%s", "status": "creating", "pid": %s, "bundle": "%s"}' \
        "$$" "$CPID" "$T/b" | "$BIN/attest-agent" hook --verifier http://127.0.0.1:1 \
        --run-dir "$RUN" --timeout 20 --cache-dir '' --agent-socket '' --bind-dir "$T/bind" \
        --no-host-evidence "$@" >"$out" 2>&1 && fail "$out: a start allowed with no verifier"
    [ "$("$BIN/vtpmctl" list)" = "[]" ] || fail "$out: the vTPM made for it left behind"
}
asked() { grep -q 'to the container as /dev/tpm0 (kmod-vtpm)' "$1"; }

bundle ''
hook on.log --kernel-device on
asked on.log || { cat on.log; fail "--kernel-device on did not ask for a device"; }
grep -q 'No such file or directory' on.log || { cat on.log; fail "no reason given"; }
touch fakectl
hook auto1.log --kmod-control "$T/fakectl"
asked auto1.log || { cat auto1.log; fail "auto with the control device did not ask"; }
ok "kernel device asked for with --kernel-device on and with auto when the control device exists; the start fails with the reason"
hook auto0.log --kmod-control "$T/none"
asked auto0.log && fail "auto without the control device asked for a device"
grep -q 'must not start' auto0.log || { cat auto0.log; fail "auto0: no failure line"; }
hook off.log --kernel-device off --kmod-control "$T/fakectl"
asked off.log && fail "--kernel-device off asked for a device"
bundle off
hook annoff.log --kernel-device on
asked annoff.log && fail "annotation off did not override --kernel-device on"
bundle bogus
hook bad.log
grep -q "org.vtpm-attest.kernel-device is 'bogus', not auto|on|off" bad.log ||
    { cat bad.log; fail "a bad annotation not refused"; }
ok "auto without the module, off, and the annotation's off ask for nothing; a bad annotation fails the start"

U=$(create_vtpm --name k1)
for n in /etc/tpm0 /dev/a/b /dev/.. dev/tpm0; do
    "$BIN/vtpmctl" attach-device k1 --bind-pid "$CPID" --node "$n" >an.out 2>&1 &&
        fail "attach-device --node $n accepted"
    grep -q 'bad node' an.out || { cat an.out; fail "--node $n: $(cat an.out)"; }
done
"$BIN/vtpmctl" attach-device k1 --bind-pid "$CPID" --node /dev/tpm0 --node-root rel >an.out 2>&1 &&
    fail "a relative --node-root accepted"
"$BIN/vtpmctl" attach-device k1 --bind-pid "$CPID" --node /dev/tpm0 >an.out 2>&1 &&
    fail "attach-device without the module succeeded"
[ -e "$STATE/devices" ] && fail "a device recorded that was never made"
"$BIN/vtpmctl" info "$U" | grep -q '"device"' && fail "k1 has a device"
ok "vtpm-mgr refuses bad nodes and records nothing when the module is missing"

# The service path: attest-agent-hook alone in a directory (no attest-agent beside it to fall
# back to), served by `attest-agent serve`, whose root parent asks under its seccomp filter.
mkdir -p svc fwd && cp "$BIN/attest-agent-hook" fwd/
"$BIN/attest-agent" serve --listen-socket "$T/svc/agent.sock" --verifier http://127.0.0.1:1 \
    --run-dir "$RUN" --bind-dir "$T/bind" --cache-dir '' --pool 0 --no-host-evidence \
    --reattest-interval 0 >svc.log 2>&1 &
SVC=$!
at_exit "kill $SVC 2>/dev/null"
i=0
until [ -S svc/agent.sock ]; do
    i=$((i + 1)); [ $i -lt 150 ] || { cat svc.log; fail "agent service did not start"; }
    sleep 0.1
done
bundle ''
printf '{"ociVersion": "1.0.2", "id": "kdev-s%s", "status": "creating", "pid": %s, "bundle": "%s"}' \
    "$$" "$CPID" "$T/b" | fwd/attest-agent-hook --agent-socket "$T/svc/agent.sock" \
    --verifier http://127.0.0.1:1 --run-dir "$RUN" --bind-dir "$T/bind" --timeout 20 \
    --cache-dir '' --no-host-evidence --kernel-device on >svc-hook.log 2>&1 &&
    fail "service allowed a start"
asked svc-hook.log || { cat svc-hook.log svc.log; fail "the service did not ask for a device"; }
[ "$("$BIN/vtpmctl" list | grep -c uuid)" = 1 ] || fail "the service's vTPM left behind"
ok "the service asks for the device too (attest-agent-hook, no fallback)"

#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# vtpm-mgr as a manager container (docs/manager-container.md): the bundle built by
# vtpm-mgr/container/mkbundle.sh runs under runc against the swtpm host TPM; vtpmctl on the
# host creates a vTPM through the control socket in the shared run dir; a second runc
# container reaches that vTPM through its socket (refused before `bind`, served after); the
# manager container sees nothing of the host beyond what its config gives it (its rootfs, the
# state and run dirs, the TPM socket, the EK CA), with the capabilities, seccomp filter,
# no_new_privs, network namespace and unprivileged workers it was given.
. "$(dirname "$0")/lib.sh"
need_runc
SP=$BUILD/tests/sockpeer-static
[ -x "$SP" ] || fail "$SP missing (make all)"
ID=vtpmmgr-$$
RROOT=$T/runc
MB=$T/mgr-bundle
stop_ctrs() {
    for c in "$ID-client" "$ID"; do
        timeout 10 runc --root "$RROOT" kill "$c" TERM >/dev/null 2>&1 || true
    done
    i=0
    while [ "$(runc --root "$RROOT" state "$ID" 2>/dev/null | json status 2>/dev/null)" = running ] &&
        [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    for c in "$ID-client" "$ID"; do
        timeout 10 runc --root "$RROOT" delete -f "$c" >/dev/null 2>&1 || true
    done
}
at_exit stop_ctrs
start_host_tpm
echo "not for the manager" >"$T/host-secret"

sh "$ROOT/vtpm-mgr/container/mkbundle.sh" --bin "$BIN" --out "$MB" --state "$STATE" \
    --run "$RUN" --swtpm-socket "$HOST/host-tpm.sock" --host-ek-ca "$HOST/ek-ca.pem" \
    --host-mnt-ns-of $$ -- --seal-pcrs sha256:16 >/dev/null || fail "mkbundle"
# The rootfs is the three binaries and the libraries they load, nothing else.
(cd "$MB/rootfs" && find . -type f -name '*.so*' | sort) >"$T/libs"
# (a sanitizer build, make asan, also loads the sanitizers' runtimes and what they need)
if ldd "$BIN/vtpm-mgr" | grep -q libasan; then
    grep -Ev '/lib(asan|ubsan|stdc\+\+|m)\.so' "$T/libs" >"$T/libs.own"
else
    cp "$T/libs" "$T/libs.own"
fi
[ "$(wc -l <"$T/libs.own")" -le 20 ] || { cat "$T/libs"; fail "more libraries than the binaries need"; }
for b in vtpm-mgr vtpm-mgr-worker vtpmctl; do
    LD_LIBRARY_PATH='' ldd "$MB/rootfs/usr/bin/$b" | awk '/=> \//{print $3}' | while read -r l; do
        [ -f "$MB/rootfs$l" ] || fail "$b needs $l, not in the rootfs"
    done
done
[ -z "$(find "$MB/rootfs" -type f ! -name '*.so*' ! -path '*/usr/bin/*' ! -path '*/etc/*' \
    ! -path '*/run/host-tpm/*')" ] || fail "unexpected files in the rootfs"
ok "bundle: $(wc -l <"$T/libs") libraries, 3 binaries"

# runc: the manager's stdout and stderr are the log.
runc --root "$RROOT" run -d -b "$MB" --pid-file "$T/mgr.pid" "$ID" </dev/null >"$T/mgr.log" 2>&1 ||
    { cat "$T/mgr.log"; fail "runc run of the manager"; }
P=$(cat "$T/mgr.pid")
i=0
until "$BIN/vtpmctl" --run-dir "$RUN" list >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 300 ] || { tail "$T/mgr.log"; fail "vtpm-mgr in its container not ready"; }
    sleep 0.1
done
[ "$(cat "/proc/$P/comm")" = vtpm-mgr ] || fail "pid $P is not vtpm-mgr"
"$BIN/vtpmctl" --run-dir "$RUN" create --name c1 >"$T/c1.json" || fail "create from the host"
U=$(json uuid <"$T/c1.json")
VS=$RUN/vtpm/$U/tpm.sock
vt "$VS" tpm2_getrandom --hex 8 >/dev/null || fail "host tpm2-tools on the vTPM socket"
ok "vtpm-mgr runs in its container; vtpmctl on the host created $U; host tpm2-tools use it"

# A second container with the vTPM's directory mounted read-only at /run/vtpm.
CB=$T/client
mkdir -p "$CB/rootfs/bin" "$CB/rootfs/run/vtpm" "$CB/rootfs/proc" "$CB/rootfs/dev"
cp "$SP" "$CB/rootfs/bin/sockpeer"
cat >"$CB/config.json" <<EOF
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "cwd": "/",
             "args": ["/bin/sockpeer", "tpm", "/run/vtpm/tpm.sock"], "env": ["PATH=/bin"],
             "capabilities": {"bounding": [], "effective": [], "permitted": [], "ambient": []},
             "noNewPrivileges": true},
 "root": {"path": "rootfs", "readonly": true},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
            {"destination": "/run/vtpm", "type": "bind", "source": "$RUN/vtpm/$U", "options": ["bind", "ro"]}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}]}}
EOF
# client BIND: runs the client container once (vTPM bound to it first when BIND=1); its
# sockpeer output in $T/client.out.
client() {
    runc --root "$RROOT" create -b "$CB" --pid-file "$T/client.pid" "$ID-client" </dev/null \
        >"$T/client.out" 2>&1 || { cat "$T/client.out"; fail "runc create of the client"; }
    if [ "$1" = 1 ]; then
        "$BIN/vtpmctl" --run-dir "$RUN" bind c1 --bind-pid "$(cat "$T/client.pid")" >/dev/null ||
            fail "bind c1 to the client"
    fi
    runc --root "$RROOT" start "$ID-client" || fail "runc start of the client"
    i=0
    while [ "$(runc --root "$RROOT" state "$ID-client" | json status)" != stopped ]; do
        i=$((i + 1)); [ $i -lt 150 ] || fail "client did not finish"
        sleep 0.1
    done
    runc --root "$RROOT" delete "$ID-client" >/dev/null 2>&1 || true
}
client 0
grep -q ': refused' "$T/client.out" || { cat "$T/client.out"; fail "unbound container not refused"; }
client 1
grep -q ': served' "$T/client.out" || { cat "$T/client.out"; tail "$T/mgr.log"; fail "bound container not served"; }
ok "a second runc container: refused before bind, TPM2_GetRandom served after"

# What the manager container has of the host: nothing but what it was given.
[ "$(ls "/proc/$P/root" | tr '\n' ' ')" = "dev etc lib lib64 proc run tmp usr var " ] ||
    fail "manager root: $(ls "/proc/$P/root" | tr '\n' ' ')"
[ -e "/proc/$P/root$T/host-secret" ] && fail "host file visible in the manager container"
[ -e "/proc/$P/root$HOST/ek-ca.pem" ] && fail "host TPM directory visible in the manager container"
awk '$5 !~ "^/proc/" {print $5}' "/proc/$P/mountinfo" | sort | tr '\n' ' ' >"$T/mnts"
[ "$(cat "$T/mnts")" = "/ /dev /etc/vtpm-mgr/host-ek-ca.pem /proc /run/host-tpm/tpm.sock /run/host-tpm/tpm.sock.ctrl /run/vtpm-mgr /tmp /var/lib/vtpm-mgr " ] ||
    fail "manager mounts: $(cat "$T/mnts")"
awk '$5 == "/" {print $6}' "/proc/$P/mountinfo" | grep -q '^ro' || fail "manager rootfs writable"
for d in "/proc/$P/root/dev/"*tpm*; do
    [ -e "$d" ] && fail "a TPM device in the manager container (it has the socket): $d"
done
grep -q '^CapEff:.*00000000000800cb$' "/proc/$P/status" || fail "manager capabilities: $(grep CapEff "/proc/$P/status")"
grep -q '^NoNewPrivs:.*1$' "/proc/$P/status" || fail "manager without no_new_privs"
grep -q '^Seccomp:.*2$' "/proc/$P/status" || fail "manager without a seccomp filter"
[ "$(readlink "/proc/$P/ns/net")" != "$(readlink /proc/self/ns/net)" ] || fail "manager in the host network"
[ "$(awk 'NR > 2 {print $1}' "/proc/$P/net/dev" | tr '\n' ' ')" = "lo: " ] || fail "manager has interfaces"
[ "$(readlink "/proc/$P/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "manager in the host mount ns"
W=$(pgrep -P "$P" vtpm-mgr-worker | head -n 1)
[ -n "$W" ] && [ "$(stat -c %u "/proc/$W")" = 65533 ] || fail "worker not running as vtpm-worker"
grep -q '^CapEff:.*0000000000000000$' "/proc/$W/status" || fail "worker keeps capabilities"
ok "manager: only its rootfs (read-only), state, run dir, TPM socket and EK CA; 6 capabilities, no_new_privs, seccomp, no network; workers uid 65533 without capabilities"

# A graceful stop through runc: vtpm-mgr saves its vTPMs.
runc --root "$RROOT" kill "$ID" TERM || fail "runc kill"
i=0
while [ "$(runc --root "$RROOT" state "$ID" | json status)" != stopped ]; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "manager did not stop"
    sleep 0.1
done
grep -q 'stopping' "$T/mgr.log" || fail "no graceful stop in the log"
ok "runc kill TERM stops the manager gracefully"

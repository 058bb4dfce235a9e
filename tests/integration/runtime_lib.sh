# SPDX-License-Identifier: BSD-3-Clause
# Shared pieces of the runtime-integrity tests and benchmark (sourced after attest_lib.sh, with
# ID set before the bundles are made): bundles on a tmpfs of their own, the webhook receiver,
# `attest-agent monitor` started and stopped, the hook that registers with it, and the waits.
# Sourcing registers the clean-up of the monitor (stop_mon, which a test may define again)
# and of the tmpfs mounts (MOUNTS).
MON_PID=
MOUNTS=""
stop_mon() { stop_pid "$MON_PID" 100 || true; MON_PID=; }
unmount_all() { for m in $MOUNTS; do umount "$m" 2>/dev/null || umount -l "$m" || true; done; }
at_exit unmount_all
at_exit stop_mon

# tmpfs_bundle NAME: base's busybox bundle on a tmpfs of its own (the container's own
# superblock, as an engine's overlay is).
tmpfs_bundle() {
    mkdir -p "$1/rootfs"
    mount -t tmpfs -o size=16m,mode=755 "$ID-$1" "$1/rootfs" || fail "mount tmpfs $1/rootfs"
    MOUNTS="$T/$1/rootfs $MOUNTS"
    base_bundle "$1"
}

# big_bundle NAME N: base's busybox bundle on a 64 MB tmpfs of its own whose rootfs also holds
# N empty files (no page per file) under usr/share/data, 256 a directory: a large image.
big_bundle() {
    mkdir -p "$1/rootfs"
    mount -t tmpfs -o size=64m,nr_inodes=$(($2 + 8192)),mode=755 "$ID-$1" "$1/rootfs" ||
        fail "mount tmpfs $1/rootfs"
    MOUNTS="$T/$1/rootfs $MOUNTS"
    base_bundle "$1"
    python3 - "$T/$1/rootfs" "$2" <<'PYEOF' || fail "the image's files in $1"
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "usr/share/data/package-%03d" % (i // 256))
    if i % 256 == 0:
        os.makedirs(d)
    open(os.path.join(d, "resource-file-%05d.dat" % i), "w").close()
PYEOF
}

# own_bundle NAME: tmpfs_bundle with a writable tmpfs /tmp.
own_bundle() {
    tmpfs_bundle "$1"
    edit "$1/config.json" "c['mounts'].append({'destination': '/tmp', 'type': 'tmpfs',
    'source': 'tmpfs', 'options': ['nosuid', 'nodev', 'mode=1777', 'size=8m']})"
}

# allow_rootfs POLICY BUNDLE...: each bundle's rootfs digest allowed in POLICY.
allow_rootfs() {
    _ar_pol=$1; shift
    for _ar_b in "$@"; do
        "$AGENT" measure --bundle "$_ar_b" >"m-$_ar_b.json" || fail "measure $_ar_b"
        "$VF" policy allow --policy "$_ar_pol" \
            --rootfs-digest "$(json rootfs_digest <"m-$_ar_b.json")" || fail "policy allow $_ar_b"
    done
}

# start_rx SECONDS: a webhook receiver on 127.0.0.1 (port in rx.port) writing each POST body as
# a line of rx.log for SECONDS at most (RX_PID; stopped at exit).
start_rx() {
    cat >rx.py <<PYEOF
import http.server, time
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open("rx.log", "a") as f:
            f.write(body.decode() + "\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open("rx.port", "w").write(str(s.server_address[1]))
s.timeout = 0.5
end = time.monotonic() + $1
while time.monotonic() < end:
    s.handle_request()
PYEOF
    python3 rx.py 2>rx.err &
    RX_PID=$!
    at_exit 'stop_pid "$RX_PID" 30 || true'
    _rx_i=0
    while [ ! -s rx.port ]; do
        _rx_i=$((_rx_i + 1))
        [ $_rx_i -lt 100 ] || { cat rx.err >&2; fail "webhook receiver did not start"; }
        sleep 0.1
    done
}

# start_mon [ARG...]: `attest-agent monitor` on MSOCK ($T/monitor.sock) with the cache $T/cache
# (made 0700 if missing) and the state dir STATE ($T/mstate), ARGs added, its log appended to
# mon.log (MON_PID); returns once it listens.
start_mon() {
    MSOCK=$T/monitor.sock
    STATE=${STATE:-$T/mstate}
    [ -d "$T/cache" ] || mkdir -m 700 "$T/cache" || fail "mkdir $T/cache"
    rm -f "$MSOCK"
    "$AGENT" monitor --verifier "$URL" --run-dir "$RUN" --monitor-socket "$MSOCK" \
        --cache-dir "$T/cache" --state-dir "$STATE" "$@" >>mon.log 2>&1 &
    MON_PID=$!
    wait_socket "$MSOCK" "$MON_PID" mon.log monitor
}

# term_mon: SIGTERM to the monitor, waited for 10 s at most; its exit status in mrc.
term_mon() {
    kill -TERM "$MON_PID"
    _tm_i=0
    while kill -0 "$MON_PID" 2>/dev/null; do
        _tm_i=$((_tm_i + 1)); [ $_tm_i -lt 100 ] || fail "the monitor did not stop within 10 s"
        sleep 0.1
    done
    mrc=0; wait "$MON_PID" || mrc=$?
    MON_PID=
}

# hook_monitor BUNDLE...: each bundle's createRuntime hook is `attest-agent hook` registering
# the container with the monitor on MSOCK.
hook_monitor() {
    for _hm_b in "$@"; do
        edit "$_hm_b/config.json" "c['hooks'] = {'createRuntime': [{'path': '$AGENT',
    'args': ['attest-agent', 'hook', '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '10',
             '--cache-dir', '$T/cache', '--monitor-socket', '$MSOCK']}]}"
    done
}

# run_ctr NAME: runc creates (through the hooks) and starts container ID-NAME from bundle NAME.
run_ctr() {
    CTRS="$CTRS $ID-$1"
    timeout 30 runc create --bundle "$1" "$ID-$1" </dev/null >"$1.out" 2>"$1.err" ||
        { cat "$1.err" mon.log >&2; fail "$1: not created"; }
    timeout 10 runc start "$ID-$1" || fail "$1: runc start"
}

# field CONTAINER FIELD: FIELD of the verifier's row for ID-CONTAINER (empty if none).
field() {
    curl -sS --max-time 5 "$URL/v1/containers/$ID-$1" 2>/dev/null | json "$2" 2>/dev/null || true
}
# x CONTAINER COMMAND...: runc exec, bounded
x() { _c=$1; shift; timeout 10 runc exec "$ID-$_c" "$@"; }
# drift_revoked CONTAINER: a copy of busybox run as /tmp/sh in ID-CONTAINER; its verdict must
# turn deny within 10 s, naming runtime-drift:/tmp/sh
drift_revoked() {
    x "$1" /bin/busybox cp /bin/busybox /tmp/sh || fail "$1: cp to /tmp"
    x "$1" /tmp/sh -c true || fail "$1: /tmp/sh did not run"
    _d_denied() { [ "$(field "$1" verdict)" = deny ]; }
    until_ok 10 "$1 not revoked after /tmp/sh ran" _d_denied "$1"
    field "$1" reasons | grep -q 'runtime-drift:/tmp/sh' ||
        fail "$1's deny does not name runtime-drift:/tmp/sh: $(field "$1" reasons)"
}
# count TEXT: lines of mon.log with TEXT
count() { grep -c "$1" mon.log || true; }
# until_ok SECONDS DESCRIPTION COMMAND...: COMMAND tried every 50 ms; fails with DESCRIPTION
# (and the logs' ends) when it has not succeeded within SECONDS.
until_ok() {
    _u_n=$(( $1 * 20 )) _u_what=$2; shift 2
    while ! "$@"; do
        _u_n=$((_u_n - 1))
        [ $_u_n -gt 0 ] || { tail -n 30 mon.log >&2; tail -n 10 vf.log >&2
                             cat rx.log >&2 2>/dev/null; fail "$_u_what"; }
        sleep 0.05
    done
}

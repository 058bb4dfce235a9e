#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Only a vTPM's owner (and root) reach its socket; only root (or the daemon's user/group)
# reaches the control socket; vTPM directories cannot be listed by others.
. "$(dirname "$0")/lib.sh"
start_host_tpm
start_mgr
cd "$T"
U=$(create_vtpm --name owned --owner 12345:12345)
S=$(json socket <create.json)
as() { uid=$1; shift; setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }
as 12345 env TPM2TOOLS_TCTI="swtpm:path=$S" timeout 30 tpm2_getrandom 8 >/dev/null ||
    fail "the owner cannot use its vTPM"
as 12346 env TPM2TOOLS_TCTI="swtpm:path=$S" timeout 30 tpm2_getrandom 8 >/dev/null 2>&1 &&
    fail "another user reached the vTPM"
as 65534 ls "$RUN/vtpm" >/dev/null 2>&1 && fail "another user can list the vTPM directories"
as 65534 "$BIN/vtpmctl" list >/dev/null 2>err.txt && fail "an unprivileged user used the control socket"
ok "owner yes, other users no"
WP=$("$BIN/vtpmctl" info "$U" | json worker_pid)
grep -q "^Seccomp:[[:space:]]*2" /proc/$WP/status || fail "worker not under seccomp"
grep -q "^NoNewPrivs:[[:space:]]*1" /proc/$WP/status || fail "worker may gain privileges"
grep -q "^CapEff:[[:space:]]*0000000000000000" /proc/$WP/status || fail "worker has capabilities"
awk '/^Uid:/ { exit ($2 == 0) }' /proc/$WP/status || fail "worker runs as root"
ls -l /proc/$WP/fd 2>/dev/null | grep -q "$STATE" && fail "worker holds state files open"
ok "worker sandboxed: seccomp filter, no_new_privs, no capabilities, not root"
stop_mgr
echo "t_mgr_access: all passed"

#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runtime integrity under rootful podman (runc, overlay storage; docs/runtime-integrity.md):
# the shipped hooks.d file with --monitor-socket registers podman's containers with
# `attest-agent monitor`, which marks the container's overlay superblock (its own: podman
# mounts it only at the container's rootfs) with permission events and leaves podman's bind
# mounts of its own files alone. A copy of busybox written into the overlay (/tmp/sh) is
# refused in enforcement mode, and in monitor mode revokes the container (runtime-drift).
. "$(dirname "$0")/lib.sh"
need_runc podman curl
. "$(dirname "$0")/attest_lib.sh"
. "$(dirname "$0")/engine_lib.sh"
. "$(dirname "$0")/runtime_lib.sh"

attest_setup rtpodman-$$
podman_setup runc "$T/hooks"
allow_rootfs policy.json img
start_verifier policy.json trust --reattest-interval 120
start_mon
hooks_dir "$T/hooks" "['--agent-socket', '$T/no-service.sock', '--engine-storage', '$PM/root',
    '--engine-storage', '$PM/run', '--cache-dir', '$T/cache', '--monitor-socket', '$MSOCK']"
verdict_of() { # NAME: the verifier's row for podman's container id
    _vc=$(podman_ inspect -f '{{.Id}}' "$ID-$1") || return 0
    curl -sS --max-time 5 "$URL/v1/containers/$_vc" 2>/dev/null || true
}
pexec() { _c=$1; shift; podman_ exec "$ID-$_c" "$@"; }

# enforcement: the image's busybox runs, a copy of it in the overlay does not
prun enf img --annotation org.vtpm-attest.runtime=enforce ||
    { cat enf.err mon.log >&2; fail "podman run (enforce) failed"; }
[ "$(state_of enf)" = running ] || fail "the enforced container is not running"
grep -q "merged (overlay, .*permission events, enforced)" mon.log ||
    { cat mon.log >&2; fail "the overlay root was not marked with permission events"; }
grep -q "is a bind mount from the host" mon.log || fail "podman's own file binds not skipped"
pexec enf /bin/busybox true || fail "enf: the image's busybox was refused"
pexec enf /bin/busybox cp /bin/busybox /tmp/sh || fail "enf: cp into the overlay"
if pexec enf /tmp/sh -c 'echo ran' >enf.exec 2>&1; then
    cat enf.exec >&2; fail "enf: /tmp/sh ran under enforcement"
fi
grep -q "exec of /tmp/sh (sha256:[0-9a-f]*) denied" mon.log || fail "enf: no denial logged"
verdict_of enf | grep -q '"allow"' || fail "enf: verdict not allow"
ok "podman, enforcement: overlay root watched, /tmp/sh refused, busybox runs, allow"

# monitor mode: the same exec runs and revokes the container
prun mon img || { cat mon.err >&2; fail "podman run (monitor) failed"; }
pexec mon /bin/busybox cp /bin/busybox /tmp/sh || fail "mon: cp into the overlay"
pexec mon /tmp/sh -c true || fail "mon: /tmp/sh did not run in monitor mode"
i=0
while ! verdict_of mon | grep -q 'runtime-drift:/tmp/sh'; do
    i=$((i + 1)); [ $i -lt 100 ] || { tail -n 20 mon.log >&2; fail "mon not revoked"; }
    sleep 0.1
done
verdict_of mon | grep -q '"deny"' || fail "mon: verdict not deny"
ok "podman, monitor mode: /tmp/sh in the overlay -> runtime-drift:/tmp/sh, revoked"

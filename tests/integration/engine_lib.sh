# SPDX-License-Identifier: BSD-3-Clause
# Shared pieces of the container-engine tests (sourced after attest_lib.sh): the busybox image
# root filesystem, the shipped hooks.d file made concrete for a test, and a rootful podman
# confined to the test dir.

# image_rootfs DIR: base's busybox plus what an image has and podman expects: /etc/passwd and
# /etc/group naming uid/gid 1000 (else podman binds a passwd file of its own), the
# directories engines mount on, /etc/mtab -> /proc/mounts and the root directory 0555 (podman
# makes both when the image has not), so that no engine changes what the tree digest covers
# and the digest of DIR is the one measured in the container.
image_rootfs() {
    mkdir -p "$1" || fail "mkdir $1"
    cp -a base/rootfs/. "$1/" || fail "copy of base's rootfs"
    mkdir -p "$1/etc" "$1/dev" "$1/proc" "$1/sys" "$1/run" "$1/tmp" || fail "image dirs"
    chmod 1777 "$1/tmp"
    printf 'root:x:0:0:root:/:/bin/sh\nu:x:1000:1000:u:/:/bin/sh\n' >"$1/etc/passwd"
    printf 'root:x:0:\nu:x:1000:\n' >"$1/etc/group"
    ln -s /proc/mounts "$1/etc/mtab" || fail "etc/mtab"
    chmod 555 "$1"
}

# hooks_dir DIR HOOK_ARGS_PYTHON: the shipped attest-agent/hooks.d/vtpm-attest.json in DIR with
# its placeholders filled in (this build's bin dir, $URL, $RUN) and the Python list expression
# HOOK_ARGS_PYTHON appended to the hook's arguments.
hooks_dir() {
    mkdir -p "$1" || fail "mkdir $1"
    sed -e "s|@BINDIR@|$BIN|g" -e "s|@VERIFIER_URL@|$URL|g" -e "s|@RUN_DIR@|$RUN|g" \
        "$ROOT/attest-agent/hooks.d/vtpm-attest.json" >"$1/vtpm-attest.json" ||
        fail "hooks.d file"
    ! grep -q @ "$1/vtpm-attest.json" || fail "hooks.d file: a placeholder left"
    edit "$1/vtpm-attest.json" "c['hook']['args'] += $2"
}

# podman_setup RUNTIME HOOKSDIR: podman with storage, run and tmp dirs under $T/podman (PM),
# no user or system containers.conf, cgroupfs, RUNTIME as the OCI runtime, HOOKSDIR (the
# variable HOOKS, changeable later) as its only hooks.d; every container and image removed and
# anything left mounted under PM unmounted at exit. Imports images from the bundles img (the
# image rootfs, made here with base's config.json) and bad (img with a file added) as
# localhost/vtpm-e2e-img:1 and -bad:1. Defines podman_, prun and state_of.
podman_setup() {
    PM=$T/podman PM_RUNTIME=$1 HOOKS=$2
    mkdir -p "$PM/root" "$PM/run" "$PM/tmp" "$PM/conf" || fail "podman dirs"
    : >"$PM/conf/containers.conf"
    export CONTAINERS_CONF="$PM/conf/containers.conf"
    at_exit remove_podman
    image_rootfs img/rootfs
    cp base/config.json img/config.json || fail "img/config.json"
    cp -a img bad && echo tampered >bad/rootfs/bin/extra || fail "bad image"
    for _pi in img bad; do
        tar -C $_pi/rootfs -cf $_pi.tar . || fail "tar $_pi"
        podman_ import -q $_pi.tar localhost/vtpm-e2e-$_pi:1 >/dev/null || fail "podman import $_pi"
    done
    # prun's seccomp profile: the dangerous set blocked (podman's default lets ptrace through)
    python3 -c "import json; json.dump({'defaultAction': 'SCMP_ACT_ALLOW',
        'syscalls': [{'names': $DANGEROUS_SYSCALLS, 'action': 'SCMP_ACT_ERRNO'}]},
        open('$T/seccomp.json', 'w'))" || fail "seccomp.json"
}
podman_() {
    timeout 60 podman --root "$PM/root" --runroot "$PM/run" --tmpdir "$PM/tmp" \
        --storage-driver overlay --cgroup-manager cgroupfs --events-backend file \
        --runtime "$PM_RUNTIME" --hooks-dir "$HOOKS" "$@"
}
remove_podman() {
    # twice: a container another one joined is removed only after it
    podman_ rm -af -t 0 >/dev/null 2>&1 || podman_ rm -af -t 0 >/dev/null 2>&1 || true
    podman_ rmi -af >/dev/null 2>&1 || true
    # anything podman left mounted under its dirs (overlay layers, shm), deepest first
    for _pm in $(findmnt -rn -o TARGET | grep "^$PM/" | sort -r); do umount -l "$_pm" || true; done
}
# prun NAME IMAGE [podman run options]: a detached container $ID-NAME of
# localhost/vtpm-e2e-IMAGE:1, annotated for attestation and hardened to pass the default
# policy: capabilities all dropped, no_new_privs, the seccomp profile above, /proc/asound
# masked (podman's masked paths lack it), memory, CPU shares and pids limits, uid 1000, no
# network (PNET, when set, is podman's --network instead), explicit rlimits (no
# CAP_SYS_RESOURCE here). podman's stderr in NAME.err.
prun() {
    _n=$1 _i=$2; shift 2
    podman_ run -d --name "$ID-$_n" --annotation org.vtpm-attest.attest=true --network "${PNET:-none}" \
        --user 1000:1000 --cap-drop all --security-opt no-new-privileges \
        --security-opt seccomp="$T/seccomp.json" --security-opt mask=/proc/asound \
        --memory 64m --cpu-shares 512 --pids-limit 64 \
        --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@" \
        "localhost/vtpm-e2e-$_i:1" /bin/busybox sleep 60 >"$_n.out" 2>"$_n.err"
}
state_of() { podman_ inspect -f '{{.State.Status}}' "$ID-$1" 2>/dev/null || true; }

# containerd_setup NS: containerd 1.6 started from the test with its own config, root, state
# (C=$T/ctrd) and socket, CRI disabled; ctr_ runs ctr on it in namespace NS; the tasks named
# in CTRDS are killed and removed and containerd is stopped by PID at exit (shims that
# outlived their task are killed by the PID each recorded in its bundle).
containerd_setup() {
    C=$T/ctrd NS=$1 CTRD_PID= CTRDS=""
    mkdir -p "$C/root" "$C/state" "$C/opt" || fail "containerd dirs"
    cat >"$C/config.toml" <<EOC
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$C/c.sock"
[ttrpc]
  address = "$C/c.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$C/opt"
EOC
    at_exit remove_ctrd
    containerd --config "$C/config.toml" >"$C/log" 2>&1 &
    CTRD_PID=$!
    _cs_i=0
    until ctr --address "$C/c.sock" version >/dev/null 2>&1; do
        _cs_i=$((_cs_i + 1))
        [ $_cs_i -lt 150 ] || { tail -20 "$C/log" >&2; fail "containerd not ready in 15 s"; }
        kill -0 "$CTRD_PID" 2>/dev/null || { tail -20 "$C/log" >&2; fail "containerd exited"; }
        sleep 0.1
    done
}
ctr_() { timeout 30 ctr --address "$C/c.sock" --namespace "$NS" "$@"; }
# ctr_run NAME: ctr run -d of the spec NAME.json as ID-NAME (removed at exit before the ones
# listed earlier); its output in NAME.out and NAME.err.
ctr_run() {
    CTRDS="$ID-$1 $CTRDS"
    ctr_ run -d --null-io --runc-root "$C/runc" --config "$1.json" "$ID-$1" </dev/null \
        >"$1.out" 2>"$1.err"
}
ctr_running() { ctr_ task ls 2>/dev/null | grep -q "^$ID-$1 .*RUNNING"; }
# ctr_denied NAME REASON...: ctr_run fails printing each reason; no task runs.
ctr_denied() {
    _dn=$1; shift
    if ctr_run "$_dn"; then fail "$_dn: ctr run succeeded"; fi
    for r in "$@"; do
        grep -qF "$r" "$_dn.err" || { cat "$_dn.err" >&2; fail "$_dn: reason '$r' not printed"; }
    done
    ! ctr_running "$_dn" || fail "$_dn: the task runs"
    ok "denied: $_dn ($*)"
}
remove_ctrd() {
    for _rc in $CTRDS; do
        ctr_ task kill -s KILL "$_rc" >/dev/null 2>&1 || true
        ctr_ task rm -f "$_rc" >/dev/null 2>&1 || true
        ctr_ container rm "$_rc" >/dev/null 2>&1 || true
    done
    stop_pid "$CTRD_PID" 100 || true
    for _rf in "$C"/state/io.containerd.runtime.v2.task/"$NS"/*/shim.pid; do
        [ -f "$_rf" ] || continue
        _rp=$(cat "$_rf")
        case $(cat "/proc/$_rp/comm" 2>/dev/null) in containerd-shim*) kill -KILL "$_rp" ;; esac
    done
}

# SPDX-License-Identifier: BSD-3-Clause
# open() from outside the bound container fails with EACCES, even for root.
. /tests/lib.sh
ensure_module
P1=$(start_container b1) P2=$(start_container b2)
I1=$(start_server b1 "$P1" 22222222-2222-4333-8444-555555555501)
D=/dev/vtpm$I1
in_ns "$P1" sh -c "exec 3<>$D" || die "open from the bound container"
in_ns "$P2" sh -c "exec 3<>$D" 2>/tmp/e && die "open from another container succeeded"
grep -qi "permission denied" /tmp/e || die "wrong error: $(cat /tmp/e)"
sh -c "exec 3<>$D" 2>/tmp/e && die "open from the init namespaces succeeded"
grep -qi "permission denied" /tmp/e || die "wrong error: $(cat /tmp/e)"
in_ns "$P2" tpm2_getrandom -T "device:$D" 8 >/dev/null 2>&1 && die "tpm2 from another container"
# Same pid namespace, different net namespace: not the container.
nsenter -t "$P1" -m -p -- unshare -n sh -c "exec 3<>$D" 2>/dev/null && die "open from a new net ns"
# A pid namespace nested in the container's is still the container.
in_ns "$P1" unshare -p -f sh -c "exec 3<>$D" || die "open from a nested pid ns"
[ "$(cat /sys/class/vtpm_attest/vtpm$I1/denied)" -ge 3 ] || die "denied counter"

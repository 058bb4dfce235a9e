# SPDX-License-Identifier: BSD-3-Clause
# Killing the server fails waiting clients promptly and removes the device.
. /tests/lib.sh
ensure_module
P=$(start_container s1)
I=$(start_server s1 "$P" 33333333-2222-4333-8444-555555555501)
SRV=$(cat /tmp/s1.srvpid)
in_ns "$P" tpm2_getrandom -T "device:/dev/vtpm$I" 8 >/dev/null || die "getrandom"
kill -STOP "$SRV"
in_ns "$P" tpm2_getrandom -T "device:/dev/vtpm$I" 8 >/tmp/c.out 2>&1 &
C=$!
sleep 1
kill -0 "$C" 2>/dev/null || die "client did not wait for the stopped server"
kill -9 "$SRV"
i=0
while kill -0 "$C" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$C" 2>/dev/null && die "client hangs after server death"
wait "$C" && die "client succeeded without a server"
cat /tmp/c.out
[ -e "/dev/vtpm$I" ] && die "device node still there"
[ -e "/sys/class/vtpm_attest/vtpm$I" ] && die "sysfs device still there"
grep -q "op=destroy index=$I uuid=33333333" "$LIST" || die "no destroy event"

# SPDX-License-Identifier: BSD-3-Clause
# tpm2-tools work through /dev/vtpm<N> from inside each device's own container.
. /tests/lib.sh
ensure_module
P1=$(start_container c1) P2=$(start_container c2)
U1=11111111-2222-4333-8444-555555555501 U2=11111111-2222-4333-8444-555555555502
I1=$(start_server c1 "$P1" "$U1") I2=$(start_server c2 "$P2" "$U2")
note "devices vtpm$I1 (pid $P1) vtpm$I2 (pid $P2)"
for x in "$P1:$I1" "$P2:$I2"; do
    p=${x%%:*} i=${x#*:}
    r=$(in_ns "$p" tpm2_getrandom -T "device:/dev/vtpm$i" --hex 16) || die "getrandom vtpm$i"
    [ ${#r} -eq 32 ] || die "getrandom vtpm$i: '$r'"
done
before=$(in_ns "$P1" tpm2_pcrread -T "device:/dev/vtpm$I1" sha256:23 | tpm_hex)
in_ns "$P1" tpm2_pcrextend -T "device:/dev/vtpm$I1" \
    23:sha256=b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c || die pcrextend
after=$(in_ns "$P1" tpm2_pcrread -T "device:/dev/vtpm$I1" sha256:23 | tpm_hex)
note "pcr23 $before -> $after"
[ -n "$after" ] && [ "$before" != "$after" ] || die "pcrextend had no effect"
S=/sys/class/vtpm_attest/vtpm$I1
[ "$(cat $S/uuid)" = "$U1" ] || die "sysfs uuid $(cat $S/uuid)"
[ "$(cat $S/label)" = c1 ] || die "sysfs label"
grep -q "^pidns=[0-9]* netns=[0-9]* userns=[0-9]*$" $S/container || die "sysfs container"
[ "$(cat $S/commands)" -ge 3 ] && [ "$(cat $S/commands)" = "$(cat $S/responses)" ] ||
    die "counters $(cat $S/commands)/$(cat $S/responses)"
grep -q "op=create index=$I1 uuid=$U1 ek=sha256:e5e5" "$LIST" || die "no create event"

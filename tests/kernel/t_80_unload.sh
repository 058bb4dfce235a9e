# SPDX-License-Identifier: BSD-3-Clause
# Unload is refused while a device exists, works after, and the module reloads.
. /tests/lib.sh
ensure_module
P=$(start_container u1)
I=$(start_server u1 "$P" 55555555-2222-4333-8444-555555555501)
rmmod vtpm_attest 2>/dev/null && die "unloaded with a live device"
[ -c /dev/vtpmx-attest ] || die "control device gone"
cleanup
sleep 0.5
rmmod vtpm_attest || die "rmmod"
[ -e /dev/vtpmx-attest ] && die "control device left after rmmod"
insmod "$KO" || die "reload"
[ "$(grep -c . "$LIST")" -eq 1 ] || die "fresh list expected"
P=$(start_container u2)
I=$(start_server u2 "$P" 55555555-2222-4333-8444-555555555502)
in_ns "$P" tpm2_getrandom -T "device:/dev/vtpm$I" 8 >/dev/null || die "getrandom after reload"
cleanup
sleep 0.5
want=$(host_pcr) got=$(replayed_pcr)
[ "$want" = "$got" ] || die "replay after reload: host $want list $got"

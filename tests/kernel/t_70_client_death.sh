# SPDX-License-Identifier: BSD-3-Clause
# A client killed mid-command (the server holds its command) leaves the device usable.
. /tests/lib.sh
ensure_module
P=$(start_container k1)
I=$(start_server k1 "$P" 44444444-2222-4333-8444-555555555501 --delay-ms 1500)
# TPM2_GetRandom(8) by hand: tpm2-tss's device TCTI gives up on a 1.5 s server.
GETRANDOM='\200\001\000\000\000\014\000\000\001\173\000\010'
raw_client() { # writes the host pid of the process that waits for the response
    in_ns "$P" sh -c "read -r p r </proc/self/stat; echo \$p >/tmp/k1.cpid;
        exec 3<>/dev/vtpm$I && printf '$GETRANDOM' >&3 && exec cat <&3"
}
raw_client >/dev/null 2>&1 &
sleep 1
C=$(cat /tmp/k1.cpid)
kill -9 "$C" || die "no client to kill"
n=$(raw_client | wc -c)
[ "$n" -eq 20 ] || die "next client got $n bytes, want 20"
[ "$(cat /sys/class/vtpm_attest/vtpm$I/cancelled)" -ge 1 ] || die "cancelled counter"
[ "$(cat /sys/class/vtpm_attest/vtpm$I/responses)" -eq 1 ] || die "responses counter"

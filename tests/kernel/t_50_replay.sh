# SPDX-License-Identifier: BSD-3-Clause
# The measurement list replays to the host TPM's PCR value.
. /tests/lib.sh
ensure_module
cat "$LIST"
want=$(host_pcr) got=$(replayed_pcr)
note "host $want replay $got"
[ -n "$want" ] && [ "$want" = "$got" ] || die "replay mismatch"
grep -c "op=destroy" "$LIST" | grep -qv '^0$' || die "no destroy events"

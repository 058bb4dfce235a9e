# SPDX-License-Identifier: BSD-3-Clause
# The module loads, creates its control device, and records a load event.
. /tests/lib.sh
[ -c /dev/tpmrm0 ] || die "guest has no /dev/tpmrm0"
ensure_module
grep -q "op=load pcr=$PCR base=" "$LIST" || die "no load event"
cat "$LIST"

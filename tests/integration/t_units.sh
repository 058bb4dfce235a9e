#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The shipped systemd units (systemd/*.service and the vtpm-mgr drop-in) load cleanly:
# `systemd-analyze verify` on copies whose binaries point into the build prints nothing (an
# unknown key, a bad value or a missing binary is a warning there, so any output fails), a
# unit with a typo is caught by the same check, each daemon's unit is Type=notify, and
# `systemd-analyze security --offline=true` rates each (printed; above 5.0 fails).
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (package systemd)"
U=$T/units
mkdir -p "$U"
cp -r "$ROOT/systemd/." "$U/"
for f in "$U"/*.service "$U"/*.d/*.conf; do
    sed -i "s#/usr/local/s\\{0,1\\}bin/#$BIN/#g" "$f"
done
cd "$U"
# clean UNIT: verify prints nothing and exits 0.
clean() {
    _rc=0
    timeout -k 5 60 systemd-analyze verify "./$1" >"$T/verify.out" 2>&1 || _rc=$?
    [ $_rc -eq 0 ] && [ ! -s "$T/verify.out" ]
}
n=0
for u in *.service; do
    clean "$u" || { cat "$T/verify.out" >&2; fail "systemd-analyze verify $u"; }
    grep -q '^Type=notify$' "$u" || fail "$u is not Type=notify"
    n=$((n + 1))
done
[ $n -ge 4 ] || fail "only $n units"
[ -f vtpm-mgr.service.d/kmod-vtpm.conf ] || fail "no kmod-vtpm drop-in"
ok "$n units and the kmod-vtpm drop-in verify without a warning"

cp vtpm-mgr.service typo.service
sed -i 's/^Type=notify$/Type=notfy/' typo.service
clean typo.service && fail "a unit with a bad Type= passed the check"
mkdir -p bad@.service.d && cp vtpm-cuse@.service bad@.service
printf '[Service]\nCapabilityBoundingSett=CAP_SYS_ADMIN\n' >bad@.service.d/x.conf
clean bad@.service && fail "a drop-in with an unknown key passed the check"
sed "s#$BIN/vtpm-mgr #$BIN/no-such-binary #" vtpm-mgr.service >nobin.service
clean nobin.service && fail "a unit with a missing binary passed the check"
rm -rf typo.service bad@.service bad@.service.d nobin.service
ok "a bad Type=, an unknown key in a drop-in and a missing binary are caught"

for u in *.service; do
    s=$(timeout -k 5 60 systemd-analyze security --offline=true "./$u" 2>/dev/null |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    [ -n "$s" ] || fail "no security rating for $u"
    echo "security: $u $s"
    awk -v s="$s" 'BEGIN { exit !(s <= 5.0) }' || fail "$u exposure $s above 5.0"
done
ok "systemd-analyze security ratings at most 5.0"

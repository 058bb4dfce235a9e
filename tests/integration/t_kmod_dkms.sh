#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# kmod-vtpm packaged with DKMS: dkms add/build/install of kmod-vtpm/dkms.conf for the
# Debian kernel the QEMU tests boot (private trees, the host's dkms state is untouched)
# yields updates/dkms/vtpm_attest.ko for that kernel, and modprobe resolves it by name.
. "$(dirname "$0")/lib.sh"
for tool in dkms depmod modprobe modinfo; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool missing (swtpm-ci/install-deps.sh)"
done
KC=$(sh "$ROOT/swtpm-ci/kernel-fetch.sh" "$BUILD") || fail "kernel-fetch"
KVER=$(basename "$KC")
grep -q '^AUTOINSTALL="yes"$' "$ROOT/kmod-vtpm/dkms.conf" || fail "dkms.conf: no AUTOINSTALL (no rebuild on kernel upgrades)"
host_state() { ls -d /var/lib/dkms/vtpm-attest /usr/src/vtpm-attest-* "/lib/modules/$KVER/updates/dkms/vtpm_attest.ko" 2>/dev/null || true; }
before=$(host_state)

M=$(timeout -k 5 240 sh "$ROOT/swtpm-ci/kmod-dkms.sh" "$ROOT" "$KVER" "$T/dkms") || fail "dkms build/install"
KO=$M/updates/dkms/vtpm_attest.ko
[ -f "$KO" ] || fail "no $KO"
[ "$(modinfo -F name "$KO")" = vtpm_attest ] || fail "module name"
modinfo -F vermagic "$KO" | grep -q "^$KVER " || fail "vermagic '$(modinfo -F vermagic "$KO")' is not for $KVER"
modinfo -F signer "$KO" | grep -q . || fail "dkms did not sign the module"
ok "dkms built and installed vtpm_attest.ko for $KVER"

grep -qx 'updates/dkms/vtpm_attest.ko:.*' "$M/modules.dep" || fail "modules.dep lacks the module"
got=$(modprobe -d "$T/dkms/root" -S "$KVER" --show-depends vtpm_attest) || fail "modprobe by name"
[ "$(echo "$got" | tr -s ' ' | sed 's/ $//')" = "insmod $KO" ] || fail "modprobe resolves to '$got'"
modprobe -d "$T/dkms/root" -S "$KVER" --show-depends vtpm_attest_nonexistent >/dev/null 2>&1 &&
    fail "modprobe resolved a module that does not exist"
ok "modprobe resolves vtpm_attest by name from modules.dep"

st=$(dkms status -m vtpm-attest --dkmstree "$T/dkms/tree" --sourcetree "$T/dkms/src" \
    --installtree "$T/dkms/root/lib/modules" -k "$KVER" 2>&1) || fail "dkms status"
echo "$st" | grep -q "vtpm-attest/[^,]*, $KVER, x86_64: installed" || fail "dkms status: $st"
[ "$(host_state)" = "$before" ] || fail "the host's dkms/module trees changed: $(host_state)"
ok "dkms status: $st; host trees untouched"

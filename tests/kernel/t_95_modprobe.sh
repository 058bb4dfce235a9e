# SPDX-License-Identifier: BSD-3-Clause
# The module as dkms installs it (updates/dkms/ + depmod's modules.dep, made on the host by
# swtpm-ci/kmod-dkms.sh) loads by name with modprobe, works, and unloads with modprobe -r.
. /tests/lib.sh
M=/lib/modules/$(uname -r)
[ -f "$M/updates/dkms/vtpm_attest.ko" ] || die "no dkms-installed module in $M"
grep -q '^updates/dkms/vtpm_attest.ko:' "$M/modules.dep" || die "modules.dep lacks the module"
# Earlier tests leave the insmod'ed build loaded; its devices go away with their servers.
i=0
while [ -d /sys/module/vtpm_attest ] && ! rmmod vtpm_attest 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 50 ] || die "cannot unload the module left by earlier tests"; sleep 0.2
done
[ -e /dev/vtpmx-attest ] && die "control device left after rmmod"
modprobe vtpm_attest_nonexistent 2>/dev/null && die "modprobe loaded a module that does not exist"
modprobe vtpm_attest || die "modprobe vtpm_attest"
[ -c /dev/vtpmx-attest ] || die "no /dev/vtpmx-attest after modprobe"
grep -q "op=load pcr=$PCR base=" "$LIST" || die "no load event"
note "modprobe vtpm_attest: /dev/vtpmx-attest"
P=$(start_container d1)
I=$(start_server d1 "$P" 66666666-2222-4333-8444-555555555501)
in_ns "$P" tpm2_getrandom -T "device:/dev/vtpm$I" 8 >/dev/null || die "getrandom via the dkms module"
modprobe -r vtpm_attest 2>/dev/null && die "modprobe -r unloaded the module with a live device"
cleanup
i=0
until modprobe -r vtpm_attest 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 50 ] || die "modprobe -r vtpm_attest"; sleep 0.2
done
[ -e /dev/vtpmx-attest ] && die "control device left after modprobe -r"
[ -d /sys/module/vtpm_attest ] && die "module still loaded after modprobe -r"
note "modprobe -r vtpm_attest: unloaded"

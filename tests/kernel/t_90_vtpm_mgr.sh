# SPDX-License-Identifier: BSD-3-Clause
# vtpm-mgr serves kmod-vtpm devices: the guest's /dev/tpmrm0 is its host TPM; two vTPMs
# bound to two containers work through /dev/vtpm<N> from inside their own container only;
# the module's measurement list names each vTPM's UUID and EK; a kill -9 of vtpm-mgr's
# parent leaves the device served by its worker, which the next parent adopts (PCRs kept);
# delete then destroys the device.
. /tests/lib.sh
ensure_module
MS=/tmp/mgr-state MR=/tmp/mgr-run
start_mgr() {
    vtpm-mgr --foreground --state-dir $MS --run-dir $MR --host-tcti device:/dev/tpmrm0 \
        --seal-pcrs none </dev/null >>/tmp/mgr.log 2>&1 &
    echo $! >/tmp/mgr.pid
    track $!
    i=0
    until vtpmctl --run-dir $MR list >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 300 ] || { tail /tmp/mgr.log; die "vtpm-mgr not ready"; }
        sleep 0.1
    done
}
field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p"; }
start_mgr
P1=$(start_container m1) P2=$(start_container m2)
vtpmctl --run-dir $MR create --name m1 --device --bind-pid "$P1" >/tmp/m1.json || die "create --device"
vtpmctl --run-dir $MR create --name m2 >/tmp/m2.json || die "create m2"
U2=$(field uuid </tmp/m2.json)
vtpmctl --run-dir $MR attach-device m2 --bind-pid "$P2" >/tmp/m2d.json || die "attach-device"
U1=$(field uuid </tmp/m1.json) D1=$(field device </tmp/m1.json) D2=$(field device </tmp/m2d.json)
note "m1 $U1 on $D1, m2 $U2 on $D2"
[ -c "$D1" ] && [ -c "$D2" ] && [ "$D1" != "$D2" ] || die "device nodes '$D1' '$D2'"
for x in "$P1:$D1" "$P2:$D2"; do
    p=${x%%:*} d=${x#*:}
    in_ns "$p" tpm2_getrandom -T "device:$d" --hex 16 >/dev/null || die "getrandom via $d"
done
# The full sequence through each device, from inside its own container.
tools_through() { # PID DEVICE TAG
    p=$1 t="device:$2" x=$3
    in_ns "$p" tpm2_pcrextend -T "$t" 16:sha256=b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c || die "pcrextend $2"
    in_ns "$p" tpm2_pcrread -T "$t" sha256:16 >/dev/null || die "pcrread $2"
    in_ns "$p" tpm2_createek -T "$t" -G ecc -c /tmp/ek$x.ctx >/dev/null || die "createek $2"
    in_ns "$p" tpm2_flushcontext -T "$t" -t
    in_ns "$p" tpm2_createak -T "$t" -C /tmp/ek$x.ctx -c /tmp/ak$x.ctx -G ecc -g sha256 -s ecdsa \
        -u /tmp/ak$x.pub -f pem >/dev/null || die "createak $2"
    in_ns "$p" tpm2_flushcontext -T "$t" -t
    in_ns "$p" tpm2_quote -T "$t" -c /tmp/ak$x.ctx -l sha256:16 -q 0badc0de -m /tmp/q$x.msg \
        -s /tmp/q$x.sig -o /tmp/q$x.pcrs -g sha256 >/dev/null || die "quote $2"
    tpm2_checkquote -u /tmp/ak$x.pub -m /tmp/q$x.msg -s /tmp/q$x.sig -f /tmp/q$x.pcrs -g sha256 \
        -q 0badc0de >/dev/null || die "checkquote $2"
}
tools_through "$P1" "$D1" 1
tools_through "$P2" "$D2" 2
note "getrandom, pcrextend, pcrread, createek, createak, quote, checkquote through $D1 and $D2"
in_ns "$P2" tpm2_getrandom -T "device:$D1" 8 >/dev/null 2>&1 && die "m2's container used m1's device"
tpm2_getrandom -T "device:$D1" 8 >/dev/null 2>&1 && die "the init namespace used m1's device"
for u in "$U1" "$U2"; do
    ek=$(tail -c +3 "$MS/vtpm/$u/ek.pub" | sha256sum | cut -d' ' -f1)
    grep -q "op=create .*uuid=$u ek=sha256:$ek" "$LIST" || die "no create event for $u with its EK"
done
[ "$(replayed_pcr)" = "$(host_pcr)" ] || die "measurement list does not replay to host PCR $PCR"
note "measurement list names both vTPMs with their EKs and replays to the host PCR"
# A crash of vtpm-mgr's parent: the worker keeps serving the device (it holds a copy of the
# server fd) and the next parent adopts it, device included.
in_ns "$P1" tpm2_pcrread -T "device:$D1" sha256:16 -o /tmp/pcr1.before >/dev/null || die "pcrread before the crash"
kill -9 "$(cat /tmp/mgr.pid)"
sleep 0.5
in_ns "$P1" timeout 20 tpm2_getrandom -T "device:$D1" 8 >/dev/null ||
    die "$D1 stopped answering when vtpm-mgr's parent died"
note "vtpm-mgr's parent killed: $D1 still served by its worker"
start_mgr
in_ns "$P1" tpm2_getrandom -T "device:$D1" 8 >/dev/null || die "getrandom after restart"
in_ns "$P1" tpm2_pcrread -T "device:$D1" sha256:16 -o /tmp/pcr1.after >/dev/null || die "pcrread after restart"
cmp -s /tmp/pcr1.before /tmp/pcr1.after || die "PCR 16 of m1 changed across the parent crash"
[ "$(vtpmctl --run-dir $MR info m1 | field device)" = "$D1" ] || die "the adopting parent does not know $D1"
vtpmctl --run-dir $MR attach-device m1 --bind-pid "$P1" >/dev/null 2>&1 && die "a second device for m1"
note "restart: the worker and $D1 adopted, PCRs kept"
vtpmctl --run-dir $MR delete m1 >/dev/null || die "delete"
[ -e "$D1" ] && sleep 1
[ -e "$D1" ] && die "$D1 left after delete"
grep -q "op=destroy .*uuid=$U1" "$LIST" || die "no destroy event"
[ "$(replayed_pcr)" = "$(host_pcr)" ] || die "list does not replay after destroy"
kill "$(cat /tmp/mgr.pid)"
note "delete after the adoption destroys $D1"

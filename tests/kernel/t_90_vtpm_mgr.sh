# SPDX-License-Identifier: BSD-3-Clause
# vtpm-mgr serves kmod-vtpm devices: the guest's /dev/tpmrm0 is its host TPM; two vTPMs
# bound to two containers work through /dev/vtpm<N> from inside their own container only;
# the module's measurement list names each vTPM's UUID and EK; killing vtpm-mgr gives the
# clients errors (no hang); after a restart attach-device serves the same vTPM again.
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
kill -9 "$(cat /tmp/mgr.pid)"
if in_ns "$P1" timeout 20 tpm2_getrandom -T "device:$D1" 8 >/dev/null 2>&1; then
    die "device still answered after vtpm-mgr died"
fi
[ -e "$D1" ] && sleep 1
[ -e "$D1" ] && die "$D1 not removed after vtpm-mgr died"
note "vtpm-mgr killed: client got an error, device gone"
start_mgr
vtpmctl --run-dir $MR attach-device m1 --bind-pid "$P1" >/tmp/m1b.json || die "attach-device after restart"
D1=$(field device </tmp/m1b.json)
in_ns "$P1" tpm2_getrandom -T "device:$D1" 8 >/dev/null || die "getrandom after restart"
vtpmctl --run-dir $MR delete m1 >/dev/null || die "delete"
[ -e "$D1" ] && sleep 1
[ -e "$D1" ] && die "$D1 left after delete"
grep -q "op=destroy .*uuid=$U1" "$LIST" || die "no destroy event"
[ "$(replayed_pcr)" = "$(host_pcr)" ] || die "list does not replay after destroy"
kill "$(cat /tmp/mgr.pid)"
note "restart + attach-device serves m1 again; delete destroys its device"

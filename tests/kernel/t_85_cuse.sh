# SPDX-License-Identifier: BSD-3-Clause
# The CUSE adapter (vtpm-cuse): a vtpm-mgr vTPM socket presented as /dev/vtpm-cuse0 serves
# stock tpm2-tools through the device TCTI (getrandom, pcrextend, createek/createak, quote,
# checkquote); a malformed command is refused; privileges are gone after setup; with
# vtpm-mgr stopped or frozen a client fails within the bound, never hangs; after a restart
# the same device works again without restarting vtpm-cuse.
. /tests/lib.sh
die() { echo "FAIL: $*"; echo "-- vtpm-cuse log:"; tail -n 8 /tmp/cuse.log; exit 1; }
# The same dirs as t_90: the host keys at their persistent handles belong to one state dir.
MS=/tmp/mgr-state MR=/tmp/mgr-run DEV=/dev/vtpm-cuse0 T=device:/dev/vtpm-cuse0
start_mgr() {
    vtpm-mgr --foreground --state-dir $MS --run-dir $MR --host-tcti device:/dev/tpmrm0 \
        --seal-pcrs none </dev/null >>/tmp/cuse-mgr.log 2>&1 &
    echo $! >/tmp/cuse-mgr.pid
    track $!
    i=0
    until vtpmctl --run-dir $MR list >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 300 ] || { tail /tmp/cuse-mgr.log; die "vtpm-mgr not ready"; }
        sleep 0.1
    done
}
stop_mgr() {
    m=$(cat /tmp/cuse-mgr.pid)
    kill "$m"
    i=0
    while kill -0 "$m" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$m" 2>/dev/null && die "vtpm-mgr did not stop"
    return 0
}
field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p"; }
# fails_within SECONDS CMD...: CMD must fail, and finish within SECONDS.
fails_within() {
    lim=$1; shift
    t0=$(date +%s)
    timeout -s KILL $((lim + 10)) "$@" >/tmp/cuse-fail.out 2>&1 && die "'$*' succeeded"
    dt=$(( $(date +%s) - t0 ))
    [ $dt -le "$lim" ] || die "'$*' took ${dt}s (bound ${lim}s)"
    note "'$1' failed after ${dt}s: $(grep -i -m1 'err' /tmp/cuse-fail.out)"
}

grep -q '^fuse ' /proc/modules || insmod /lib/modules/fuse.ko 2>/dev/null
grep -q '^cuse ' /proc/modules || insmod /lib/modules/cuse.ko || die "insmod cuse.ko"
[ -c /dev/cuse ] || die "no /dev/cuse"
start_mgr
vtpmctl --run-dir $MR create --name cuse1 >/tmp/cuse1.json || die "create"
S=$(field socket </tmp/cuse1.json)
[ -S "$S" ] || die "no vTPM socket '$S'"
vtpm-cuse --socket "$S" --name vtpm-cuse0 --timeout 5 --foreground </dev/null >/tmp/cuse.log 2>&1 &
CUSE=$!
track $CUSE
i=0
while [ ! -c $DEV ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -c $DEV ] || { cat /tmp/cuse.log; die "$DEV did not appear"; }
note "vtpm-cuse pid $CUSE serves $DEV from $S"

grep -q '^CapEff:[[:space:]]*0000000000000000$' /proc/$CUSE/status || die "vtpm-cuse kept capabilities"
grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/$CUSE/status || die "vtpm-cuse without no_new_privs"
grep -q '^Seccomp:[[:space:]]*2$' /proc/$CUSE/status || die "vtpm-cuse without its seccomp filter"

r=$(tpm2_getrandom -T $T --hex 16) || die "getrandom"
[ ${#r} -eq 32 ] || die "getrandom: '$r'"
# A command whose size field (0x0c) does not match the 11 bytes written: EINVAL, not sent.
printf '\200\001\000\000\000\014\000\000\001\173\000' >$DEV 2>/dev/null && die "bad header accepted"
printf 'not a TPM command' >$DEV 2>/dev/null && die "garbage accepted"
tpm2_getrandom -T $T 8 >/dev/null || die "getrandom after refused writes"
before=$(tpm2_pcrread -T $T sha256:16 | tpm_hex)
tpm2_pcrextend -T $T 16:sha256=b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c ||
    die pcrextend
after=$(tpm2_pcrread -T $T sha256:16 | tpm_hex)
[ -n "$after" ] && [ "$before" != "$after" ] || die "pcrextend had no effect ($before -> $after)"
tpm2_createek -T $T -G ecc -c /tmp/cuse-ek.ctx >/dev/null || die createek
tpm2_flushcontext -T $T -t
tpm2_createak -T $T -C /tmp/cuse-ek.ctx -c /tmp/cuse-ak.ctx -G ecc -g sha256 -s ecdsa \
    -u /tmp/cuse-ak.pub -f pem >/dev/null || die createak
tpm2_flushcontext -T $T -t
tpm2_quote -T $T -c /tmp/cuse-ak.ctx -l sha256:16 -q 0badc0de -m /tmp/cuse-q.msg \
    -s /tmp/cuse-q.sig -o /tmp/cuse-q.pcrs -g sha256 >/dev/null || die quote
tpm2_flushcontext -T $T -t
tpm2_checkquote -u /tmp/cuse-ak.pub -m /tmp/cuse-q.msg -s /tmp/cuse-q.sig -f /tmp/cuse-q.pcrs \
    -g sha256 -q 0badc0de >/dev/null || die checkquote
note "getrandom, pcrextend ($before -> $after), createek, createak, quote, checkquote via $DEV"
# Several clients at once, each with its own open file (and its own outstanding command).
clients=""
for c in 1 2 3 4; do
    (for i in 1 2 3 4 5; do tpm2_getrandom -T $T 8 >/dev/null || exit 1; done) &
    clients="$clients $!"
done
for p in $clients; do wait "$p" || die "parallel client $p failed"; done
kill -0 $CUSE 2>/dev/null || die "vtpm-cuse died"
note "4 parallel clients x 5 commands"

# A second adapter for the same vTPM is refused (the socket directory's lock, naming the
# first one's pid) and leaves the first one's device working.
vtpm-cuse --socket "$S" --name vtpm-cuse1 --timeout 5 --foreground </dev/null >/tmp/cuse2.log 2>&1 &
C2=$!
track $C2
i=0
while kill -0 $C2 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $C2 2>/dev/null && die "a second vtpm-cuse serves $S"
wait $C2 && die "a second vtpm-cuse on $S exited 0"
grep -q "pid $CUSE" /tmp/cuse2.log && grep -q "$S" /tmp/cuse2.log ||
    { cat /tmp/cuse2.log; die "the second vtpm-cuse does not name the socket and pid $CUSE"; }
[ -e /dev/vtpm-cuse1 ] && die "the refused vtpm-cuse made its device"
tpm2_getrandom -T $T 8 >/dev/null || die "$DEV after a refused second adapter"
note "a second vtpm-cuse on the same vTPM: $(head -n1 /tmp/cuse2.log)"

# Frozen workers: the connection is accepted but never answered; the 5 s bound ends it.
W=$(for c in /proc/[0-9]*/comm; do
    [ "$(cat "$c" 2>/dev/null)" = vtpm-mgr-worker ] && basename "${c%/comm}"; done)
[ -n "$W" ] || die "no worker"
kill -STOP $W
fails_within 20 tpm2_getrandom -T $T 8
kill -CONT $W
tpm2_getrandom -T $T 8 >/dev/null || die "getrandom after the workers resumed"

stop_mgr
fails_within 10 tpm2_getrandom -T $T 8
kill -0 $CUSE 2>/dev/null || die "vtpm-cuse exited with vtpm-mgr"
start_mgr
r=$(tpm2_getrandom -T $T --hex 8) || { tail /tmp/cuse.log; die "getrandom after vtpm-mgr restart"; }
[ "$(tpm2_pcrread -T $T sha256:16 | tpm_hex)" = "$after" ] || die "PCR 16 lost across a graceful restart"
note "vtpm-mgr restarted: $DEV works again, PCR 16 kept"

vtpmctl --run-dir $MR delete cuse1 >/dev/null || die "delete"
kill $CUSE || die "vtpm-cuse died before the end"
wait $CUSE || die "vtpm-cuse did not exit cleanly on SIGTERM (status $?)"
i=0
while [ -e $DEV ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e $DEV ] && die "$DEV left after vtpm-cuse stopped"
stop_mgr
cat /tmp/cuse.log

# SPDX-License-Identifier: BSD-3-Clause
# Guest benchmark (init.sh runs it instead of the tests when the kernel command line has
# vtpm_bench=1): TPM command round trips through /dev/vtpm<N> served by vtpm-mgr against
# Linux's tpm_vtpm_proxy served by `swtpm chardev --vtpm-proxy`, same client and commands,
# interleaved; prints "kvtpm-bench: TARGET OP N MEDIAN_US P10_US P90_US" on the console.
# Tunables on the kernel command line: vtpm_bench_iters=N, vtpm_bench_warmup=N.
. /tests/lib.sh
MS=/tmp/mgr-state MR=/tmp/mgr-run SW=/tmp/swtpm-proxy
out() { echo "kvtpm-bench: $*" >/dev/console; }
arg() { sed -n "s/.*$1=\\([0-9]*\\).*/\\1/p" /proc/cmdline; }
ITERS=$(arg vtpm_bench_iters) WARMUP=$(arg vtpm_bench_warmup)
ITERS=${ITERS:-300} WARMUP=${WARMUP:-30}

start_mgr() {
    vtpm-mgr --foreground --state-dir $MS --run-dir $MR --host-tcti device:/dev/tpmrm0 \
        --seal-pcrs none </dev/null >>/tmp/mgr.log 2>&1 &
    track $!
    i=0
    until vtpmctl --run-dir $MR list >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 300 ] || { tail /tmp/mgr.log; die "vtpm-mgr not ready"; }
        sleep 0.1
    done
}

# start_proxy: swtpm behind tpm_vtpm_proxy; prints the new chip's number (/dev/tpm<N>).
start_proxy() {
    [ -c /dev/vtpmx ] || insmod /lib/modules/tpm_vtpm_proxy.ko || die "insmod tpm_vtpm_proxy"
    mkdir -p $SW
    swtpm chardev --vtpm-proxy --tpm2 --tpmstate dir=$SW --flags startup-clear \
        </dev/null >/tmp/swtpm.out 2>&1 &
    track $!
    i=0
    while ! grep -q 'New TPM device' /tmp/swtpm.out && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    n=$(sed -n 's/.*New TPM device: \/dev\/tpm\([0-9]*\).*/\1/p' /tmp/swtpm.out)
    [ -n "$n" ] || { cat /tmp/swtpm.out; die "swtpm chardev --vtpm-proxy did not start"; }
    i=0
    while [ ! -c "/dev/tpmrm$n" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -c "/dev/tpm$n" ] && [ -c "/dev/tpmrm$n" ] || die "no /dev/tpm$n, /dev/tpmrm$n"
    echo "$n"
}

# stats: "n median p10 p90" of the numbers on stdin (nearest rank, as tests/bench/run.sh).
stats() {
    sort -n | awk '{ a[NR] = $1 }
        function q(p,  k) { k = int(p * NR + 0.999999); if (k < 1) k = 1; return a[k] }
        END { if (NR == 0) { print "0 - - -"; exit }
              m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
              printf "%d %.1f %.1f %.1f\n", NR, m, q(0.1), q(0.9) }'
}

ensure_module
start_mgr
P=$(start_container bench)
vtpmctl --run-dir $MR create --name bench --device --bind-pid "$P" >/tmp/bench.json ||
    die "vtpmctl create --device"
D=$(sed -n 's/.*"device": "\([^"]*\)".*/\1/p' /tmp/bench.json)
[ -c "$D" ] || die "no device node '$D'"
N=$(start_proxy)
out "info kernel=$(uname -r) iters=$ITERS warmup=$WARMUP kvtpm=$D proxy=/dev/tpm$N,/dev/tpmrm$N"
# One client process in the container (the only place /dev/vtpm<N> opens) for all targets.
in_ns "$P" timeout 400 bench_rtt "$ITERS" "$WARMUP" 10 "kvtpm=device:$D" \
    "proxy=device:/dev/tpm$N" "proxy-rm=device:/dev/tpmrm$N" >/tmp/bench.tsv ||
    die "bench_rtt failed"
for t in kvtpm proxy proxy-rm; do
    for op in getrandom pcr_extend quote; do
        out "$t $op $(awk -F'\t' -v t=$t -v o=$op '$1 == t && $2 == o { print $3 }' /tmp/bench.tsv | stats)"
    done
done
out "done"

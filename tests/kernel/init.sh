#!/bin/busybox sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest /init of the kernel test VM: mounts the pseudo filesystems, runs every
# /tests/t_*.sh under a time limit, prints one result line per test and
# "kernel-tests: N passed, N failed", then powers the VM off. With vtpm_bench=1 on the
# kernel command line it runs /tests/bench_kvtpm.sh instead (swtpm-ci/bench-kernel.sh).
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/sbin:/usr/sbin
mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t securityfs securityfs /sys/kernel/security
mount -t tmpfs tmpfs /tmp
echo "kernel-tests: start $(uname -r)"
pass=0 fail=0
tests="/tests/t_*.sh" limit=150
grep -qw 'vtpm_bench=1' /proc/cmdline && tests=/tests/bench_kvtpm.sh limit=500
for t in $tests; do
    name=$(basename "$t" .sh)
    timeout -s KILL $limit sh "$t" >"/tmp/$name.log" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        pass=$((pass + 1)); echo "PASS $name"
    else
        fail=$((fail + 1)); echo "FAIL $name (exit $rc)"
        tail -n 40 "/tmp/$name.log" | sed 's/^/    | /'
    fi
done
echo "kernel-tests: $pass passed, $fail failed"
sync
poweroff -f

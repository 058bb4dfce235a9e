#!/bin/busybox sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest /init of the measured-boot VM (swtpm-ci/check-boot.sh): mounts the pseudo file
# systems, loads the driver of the raw virtio disk /dev/vda (the host's inputs in, results
# out), runs /tests/guest.sh (which writes its results into /out) under a time limit,
# writes /out as one tar stream to the disk, prints the stream's size and SHA-256 so that
# the host takes exactly what was written, and powers the VM off.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/sbin:/usr/sbin
mkdir -p /proc /sys /dev /tmp /run /out
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t securityfs securityfs /sys/kernel/security
mount -t tmpfs tmpfs /tmp
echo "boot-guest: start $(uname -r)"

# The disk drivers are modules in Debian's kernel (order: swtpm-ci/boot-initramfs.sh).
load_disk() {
    for m in $(cat /boot-mods/order); do
        insmod "/boot-mods/$m" || { echo "boot-guest: insmod $m failed"; return 1; }
    done
    i=0
    while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -b /dev/vda ] || { echo "boot-guest: no /dev/vda"; return 1; }
}

# tar to a file first: its size and digest go to the console, then one fsync'ed write.
write_out() {
    tar -C /out -cf /tmp/out.tar . || return 1
    size=$(wc -c </tmp/out.tar)
    sum=$(sha256sum /tmp/out.tar | cut -d' ' -f1)
    dd if=/tmp/out.tar of=/dev/vda bs=64k conv=fsync 2>/dev/null || return 1
    sync
    echo "boot-out: $size $sum"
}

# guest.sh reads the host's inputs from the disk before the results overwrite them.
if load_disk; then
    timeout -s KILL 150 sh /tests/guest.sh >/out/guest.log 2>&1
    rc=$?
    echo "$rc" >/out/guest.rc
    dmesg >/out/dmesg.txt
    [ "$rc" -eq 0 ] || tail -n 40 /out/guest.log | sed 's/^/    | /'
    write_out && echo "boot-guest: guest.sh exit $rc" ||
        echo "boot-guest: could not write the results disk"
fi
sync
poweroff -f

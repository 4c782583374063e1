#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /init of the vm/ initramfs. Mounts the host's root (virtio-9p, read-only)
# under a tmpfs overlay so the guest sees the host's programs and the build
# tree, mounts the shared output directory at the same path as on the host,
# then switch_root's into it and runs the command file vm/run.sh wrote.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do insmod "/modules/$m" 2>/dev/null; done </modules/order

out=
for w in $(cat /proc/cmdline); do
    case $w in ud.out=*) out=${w#ud.out=} ;; esac
done

fail() {
    echo "vm init: $*" >&2
    echo 1 >/proc/sys/kernel/sysrq
    echo o >/proc/sysrq-trigger
    sleep 5
}

mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /mnt ||
    fail "cannot mount the host root"
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/upper /run/work
mount -t overlay overlay -o lowerdir=/mnt,upperdir=/run/upper,workdir=/run/work /newroot ||
    fail "cannot mount the overlay root"
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
# runc and crun need a cgroup hierarchy, as any systemd host has.
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
# Last, so that a path under /tmp is not hidden by the tmpfs above.
mkdir -p "/newroot$out"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out "/newroot$out" ||
    fail "cannot mount the output directory"
umount /proc /sys
exec switch_root /newroot /bin/sh "$out/guest.sh"

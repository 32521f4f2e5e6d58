#!/bin/busybox sh
# First stage, the initramfs's /init (busybox only): load virtio + 9p + overlay, mount this
# machine's root read-only over virtio-9p, put a tmpfs overlay on it (writes land in RAM; nothing
# such as node_modules is copied), mount the writable results share, and switch into the
# second stage (test/vm/guest-init.sh, run by the host's own bash).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "[vm] phase kernel-to-init $(cut -d' ' -f1 /proc/uptime)"

fail() {
  echo "[vm] stage1 failed: $*"
  echo o >/proc/sysrq-trigger
  sleep 10
}

# modules.order lists the .ko files dependencies first (built by the host from modules.dep).
for ko in $(cat /modules.order); do
  insmod "/mods/$ko" || fail "insmod $ko"
done

mkdir -p /host /t /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /host || fail "9p mount of hostroot"
mount -t tmpfs -o mode=0755 tmpfs /t
mkdir -p /t/upper /t/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/t/upper,workdir=/t/work /newroot || fail "overlay mount"
mkdir -p /newroot/vm-out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 vmout /newroot/vm-out || fail "9p mount of vmout"

stage2=$(sed -n 's/.*etcdlab\.stage2=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$stage2" ] || fail "no etcdlab.stage2= on the kernel command line"
echo "[vm] phase mount-root $(cut -d' ' -f1 /proc/uptime)"
umount /proc /sys /dev
exec switch_root /newroot /bin/bash "$stage2"

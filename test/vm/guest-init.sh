#!/bin/bash
# Second stage, PID 1 in the guest, run by this machine's own bash from the overlay root (see
# initramfs-init.sh): mounts, kernel modules, dockerd, the saved etcd images, the lab's doctor,
# then vitest on the chosen files. Results go to /vm-out (a writable 9p share the host reads
# after power-off); progress goes to the serial console, which the host prints as it comes.
# Every step ends in a power-off: QEMU then exits and the host reports.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
OUT=/vm-out
phase() { echo "[vm] phase $1 $(cut -d' ' -f1 /proc/uptime)"; }
power_off() {
  sync
  echo o >/proc/sysrq-trigger
  sleep 30
}
fail() {
  echo "[vm] failed: $*"
  echo "vm: $*" >"$OUT/failure"
  power_off
}

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
# /tmp stays the overlay's (writes land in its tmpfs): the host's /tmp/tsx-0 transform cache then
# spares the guest from compiling every TypeScript file of the CLI again under emulation.
mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
# overlay2 cannot use an overlay (the root) as its upper layer: Docker's state goes on a tmpfs.
mkdir -p /var/lib/docker
mount -t tmpfs -o mode=0711 tmpfs /var/lib/docker
hostname etcd-lab-vm
# shellcheck source=/dev/null
. "$OUT/run.env" || fail "no $OUT/run.env"

# The unpacked kernel package's modules, where modprobe (Docker's and the lab's too) looks.
mkdir -p "/lib/modules/$VM_KERNEL_VERSION"
mount --bind "$VM_KERNEL_ROOT/lib/modules/$VM_KERNEL_VERSION" "/lib/modules/$VM_KERNEL_VERSION"
# Four modprobes at a time: loading is mostly reading .ko files over 9p and relocating them,
# which overlaps. Two loading a shared dependency at once is fine (modprobe takes "already
# loaded" as success).
# shellcheck disable=SC2086 # VM_MODULES is a word list
printf '%s\n' $VM_MODULES | xargs -P 4 -n 4 modprobe -a || fail "modprobe of $VM_MODULES"
ip link set lo up
phase modules

dockerd --data-root /var/lib/docker >"$OUT/dockerd.log" 2>&1 &
for _ in $(seq 1 600); do
  docker info >/dev/null 2>&1 && break
  sleep 0.2
done
docker info --format 'dockerd {{.ServerVersion}}: cgroup v{{.CgroupVersion}} ({{.CgroupDriver}}), {{.Driver}}' ||
  fail "dockerd did not answer within 120 s (see $OUT/dockerd.log)"
phase dockerd-up

for archive in $VM_IMAGE_ARCHIVES; do
  docker load -q -i "$archive" || fail "docker load -i $archive"
done
phase image-load

cd "$VM_REPO_DIR" || fail "no $VM_REPO_DIR"
# With --as-user: everything from here runs as an unprivileged user in the docker group with
# passwordless sudo, as on GitHub's runners. The root is an overlay on tmpfs, so the user and its
# sudoers entry vanish with the VM; chown copies up only the directories named, not their contents.
as_lab=()
if [ "$VM_AS_USER" = 1 ]; then
  lab_user=etcdlab-vm
  id "$lab_user" >/dev/null 2>&1 || useradd -M -d /tmp/etcdlab-vm-home -G docker "$lab_user" || fail "useradd"
  mkdir -p /tmp/etcdlab-vm-home && chown "$lab_user" /tmp/etcdlab-vm-home
  echo "$lab_user ALL=(ALL) NOPASSWD: ALL" >/etc/sudoers.d/etcdlab-vm && chmod 0440 /etc/sudoers.d/etcdlab-vm
  mkdir -p .lab/run .lab/bin results node_modules/.vite-temp
  chown "$lab_user" .lab .lab/run .lab/bin results node_modules/.vite-temp || fail "chown for $lab_user"
  as_lab=(setpriv --reuid="$lab_user" --regid="$lab_user" --init-groups env HOME=/tmp/etcdlab-vm-home)
  echo "[vm] running as $("${as_lab[@]}" id)"
fi
doctor_flags=(--no-cluster)
[ "$VM_DOCTOR_CLUSTER" = 1 ] && doctor_flags=()
"${as_lab[@]}" node bin/etcd-lab.js doctor "${doctor_flags[@]}" 2>&1 | tee "$OUT/doctor.txt"
phase doctor

# Experiments first, each into the results share, as `etcd-lab run` writes them on a host.
# shellcheck disable=SC2086 # VM_EXPERIMENTS is a word list
mkdir -p "$OUT/experiments"
for experiment in $VM_EXPERIMENTS; do
  name=$(basename "$experiment" .yaml)
  "${as_lab[@]}" node bin/etcd-lab.js run "$experiment" --out "$OUT/experiments/$name" 2>&1 | cat
  echo "${PIPESTATUS[0]}" >"$OUT/experiments/$name.status"
  phase "experiment-$name"
done

if [ -z "$VM_TEST_FILES" ]; then
  phase tests
  power_off
fi

# The console is a terminal: through a pipe vitest prints plain lines instead of redrawing its
# summary. Reporters on the command line replace the config's names but the json reporter keeps
# the config's outputFile, which ETCD_LAB_VITEST_JSON points into the results share.
# shellcheck disable=SC2086 # VM_TEST_FILES is a word list
ETCD_LAB_VITEST_JSON="$OUT/vitest.json" ETCD_LAB_VM_TIMEOUT_FACTOR="$VM_TIMEOUT_FACTOR" \
  "${as_lab[@]}" node_modules/.bin/vitest run --config test/vm/vitest.vm.config.ts \
  --reporter=verbose --reporter=json $VM_TEST_FILES 2>&1 | cat
echo "${PIPESTATUS[0]}" >"$OUT/vitest.status"
phase tests
power_off

#!/usr/bin/env bash
# Builds (once per machine) a kernel and initramfs for the test VM: Debian's own kernel, which has
# CAN, vcan and can-isotp, and veth, the bridge and sch_netem (namespace devnet) as modules, and a
# busybox initramfs whose /init mounts the
# host's root read-only over 9p, mounts the test's work folder writable at the same path, chroots
# into the host and runs the work folder's run.sh, then powers off.
# Needs (Debian): qemu-system-x86 busybox-static cpio kmod, and apt access to linux-image-*.
# Prints the cache folder on its last line.
set -euo pipefail

CACHE_ROOT="${QOOD_VM_CACHE:-/var/tmp/qood-vm}"
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [[ -z "$pkg" ]]; then
  apt-get update -qq >/dev/null
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[[ -n "$pkg" ]] || { echo "prepare.sh: cannot find the linux-image package behind linux-image-amd64" >&2; exit 1; }
kver=${pkg#linux-image-}
# The suffix names the version of the init script below; change it when the script changes.
cache="$CACHE_ROOT/$kver-init4"
if [[ -s "$cache/vmlinuz" && -s "$cache/initrd.gz" ]]; then
  echo "$cache"
  exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$CACHE_ROOT/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq "$pkg" >/dev/null)
dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/kernel"
cp "$tmp/kernel/boot/vmlinuz-$kver" "$tmp/vmlinuz"

root="$tmp/initramfs"
mkdir -p "$root"/{bin,lib/modules,proc,sys,dev,host,tmp}
cp /bin/busybox "$root/bin/busybox"
moddir="$tmp/kernel/lib/modules/$kver/kernel"
# Load order matters: each module after the ones it depends on.
# llc and stp are what bridge depends on (modinfo -F depends); veth and sch_netem depend on nothing.
mods=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p can can-raw can-dev vcan can-bcm can-isotp llc stp bridge veth sch_netem)
for m in "${mods[@]}"; do
  f=$(find "$moddir" -name "$m.ko*" | head -1)
  if [[ -z "$f" ]]; then echo "prepare.sh: module $m not in $pkg (built in?)" >&2; continue; fi
  case "$f" in
    *.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
    *.zst) zstd -qdc "$f" > "$root/lib/modules/$m.ko" ;;
    *) cp "$f" "$root/lib/modules/$m.ko" ;;
  esac
done
printf '%s\n' "${mods[@]}" > "$root/lib/modules/order"

# The host root and the checkout are mounted read-only with cache=loose: the guest keeps what it
# read in its page cache, so a second node process starts in about 2 s instead of 15 (without it,
# every page of node and node_modules crosses 9p again). Nothing changes them during a run.
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do
  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null
done
work=$(sed -n 's/.*qood\.work=\([^ ]*\).*/\1/p' /proc/cmdline)
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /host
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 work "/host$work"
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mount -t tmpfs tmp /host/tmp
mount -t tmpfs run /host/run
# The checkout, at its own path: the host root above does not show it when it lives under /tmp or
# /run, which the VM's own tmpfs mounts hide.
project=$(sed -n 's/.*qood\.project=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$project" ]; then
  mkdir -p "/host$project" 2>/dev/null
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose project "/host$project"
fi
ip link set lo up
chroot /host /bin/sh -c "cd '$work' && HOME=/tmp sh ./run.sh > ./out.log 2>&1; echo \$? > ./rc"
sync
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1 > "$tmp/initrd.gz")
mv "$tmp/vmlinuz" "$tmp/initrd.gz" "$cache/"
echo "$cache"

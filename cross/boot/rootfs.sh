#!/usr/bin/env bash
# Builds the bootable Debian 13 (trixie) system that cross/boot-test.sh runs qis-edge on:
#
#   cross/boot/rootfs.sh arm64|armv7    -> cross/.cache/boot/ARCH/{rootfs.img,vmlinuz,initrd.img}
#
# Debian's own packages only, from deb.debian.org (mmdebstrap, run as root, foreign architecture
# through binfmt + qemu-user-static): systemd, udev, sudo, the architecture's kernel
# (linux-image-arm64 / linux-image-armmp-lpae), and trixie's nodejs (20.19), as a device on a
# current OS gets them. libzmq5 is NOT installed: INSTALL's `apt-get install libzmq5` does that in
# the guest (armv7), from the .debs (with its Recommends, as apt installs them on a device) and the
# package lists left in the image (no network in the guest).
# The kernel and initrd are copied out for qemu's -kernel/-initrd; the root file system becomes a
# sparse ext4 image with mke2fs -d (no loop mount). One boot-time helper unit is added,
# qis-boot-test.service: at boot it unpacks the tar written raw on the disk whose serial is
# "qispayload" and runs its guest.sh (cross/boot/guest.sh), with output to the serial console.
# Rebuilt only when this script changes (its hash is stored beside the image); ~4-6 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ARCH=${1:-}
CACHE=${CROSS_CACHE:-$ROOT/cross/.cache}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
say() { echo "cross/boot/rootfs.sh: $*" >&2; }
die() { say "FAIL: $*"; exit 1; }
case "$ARCH" in
  arm64) DEB_ARCH=arm64; KERNEL=linux-image-arm64; BINFMT=aarch64 ;;
  armv7) DEB_ARCH=armhf; KERNEL=linux-image-armmp-lpae; BINFMT=arm ;;
  *) echo "usage: cross/boot/rootfs.sh arm64|armv7" >&2; exit 2 ;;
esac
OUT=$CACHE/boot/$ARCH
STAMP=$(cat "$0" cross/boot/binfmt.sh | sha256sum | cut -c1-16)
if [ -f "$OUT/rootfs.img" ] && [ "$(cat "$OUT/stamp" 2>/dev/null)" = "$STAMP" ]; then
  say "$ARCH: cached ($OUT)"; exit 0
fi
[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap in root mode, binfmt registration)"

missing=()
for p in mmdebstrap arch-test qemu-user-static e2fsprogs debian-archive-keyring; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi
# shellcheck source=binfmt.sh
. cross/boot/binfmt.sh
WORK=$OUT.work
trap 'binfmt_release; rm -rf "$WORK"' EXIT
binfmt_need "$BINFMT"

rm -rf "$WORK" && mkdir -p "$WORK"
T0=$SECONDS
say "$ARCH: mmdebstrap trixie $DEB_ARCH from $MIRROR"
# initramfs: only what mounts the root disk (smaller image, faster boot under TCG).
# Lists and the apt cache stay: the guest's `apt-get install libzmq5` runs offline from them.
mmdebstrap --mode=root --variant=minbase --arch="$DEB_ARCH" \
  --include="systemd-sysv,udev,kmod,sudo,initramfs-tools,zstd,$KERNEL,nodejs" \
  --skip=cleanup/apt \
  --setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"' \
  --setup-hook='printf "MODULES=list\nCOMPRESS=zstd\n" > "$1/etc/initramfs-tools/conf.d/qis-boot.conf"' \
  --setup-hook='printf "virtio_pci\nvirtio_mmio\nvirtio_blk\ncrc32c_generic\next4\n" > "$1/etc/initramfs-tools/modules"' \
  --customize-hook='chroot "$1" apt-get install -y -q --download-only -o APT::Install-Recommends=true libzmq5 >/dev/null' \
  --customize-hook='echo qis-boot > "$1/etc/hostname"' \
  --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 qis-boot\n::1 localhost\n" > "$1/etc/hosts"' \
  --customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 1\n" > "$1/etc/fstab"' \
  --customize-hook='chroot "$1" systemctl mask systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service 2>/dev/null || true' \
  trixie "$WORK/root" "$MIRROR" >"$WORK/mmdebstrap.log" 2>&1 || { tail -30 "$WORK/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)"; }
say "$ARCH: mmdebstrap took $((SECONDS - T0)) s"

cat >"$WORK/root/etc/systemd/system/qis-boot-test.service" <<'UNIT'
# Added by cross/boot/rootfs.sh: runs the test payload of cross/boot-test.sh at each boot.
[Unit]
Description=qis-edge boot test driver (cross/boot-test.sh)
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'for i in $(seq 60); do [ -e /dev/disk/by-id/virtio-qispayload ] && break; sleep 1; done; mkdir -p /run/qis-boot-test && tar -xf /dev/disk/by-id/virtio-qispayload -C /run/qis-boot-test && exec /bin/sh /run/qis-boot-test/guest.sh'
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/qis-boot-test.service "$WORK/root/etc/systemd/system/multi-user.target.wants/qis-boot-test.service"

# The trixie kernel and initrd, for -kernel/-initrd (the virt machine has no bootloader here).
VMLINUZ=$(ls "$WORK"/root/boot/vmlinuz-* | head -1)
INITRD=$(ls "$WORK"/root/boot/initrd.img-* | head -1)
[ -f "$VMLINUZ" ] && [ -f "$INITRD" ] || die "no kernel/initrd in /boot"
mkdir -p "$OUT"
cp "$VMLINUZ" "$OUT/vmlinuz" && cp "$INITRD" "$OUT/initrd.img"
basename "$VMLINUZ" >"$OUT/kernel-version"
chroot "$WORK/root" dpkg-query -W -f '${Package} ${Version}\n' nodejs systemd "$KERNEL" >"$OUT/versions"

# Sparse ext4 image: used size + 512 MiB for the package, the store, the journal.
MIB=$(( $(du -sm "$WORK/root" | cut -f1) + 512 ))
rm -f "$OUT/rootfs.img"
mke2fs -q -t ext4 -L qis-root -d "$WORK/root" "$OUT/rootfs.img" "${MIB}M" || die "mke2fs -d failed"
echo "$STAMP" >"$OUT/stamp"
say "$ARCH: $OUT/rootfs.img (${MIB} MiB), $(cat "$OUT/kernel-version"); $(tr '\n' ';' <"$OUT/versions") total $((SECONDS - T0)) s"

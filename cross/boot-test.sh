#!/usr/bin/env bash
# Boots Debian 13 (trixie) for ARM under full-system QEMU (virt machine, TCG) and installs the
# target's package in it the way a user does, under systemd:
#
#   cross/boot-test.sh arm64|armv7        (as root: mmdebstrap, binfmt, apt-get for missing packages)
#
#   1. cross/boot/rootfs.sh ARCH: the root file system (systemd, udev, sudo, the kernel, trixie's
#      nodejs 20.19; libzmq5's .debs left in apt's cache), as an ext4 image, with the kernel and
#      initrd beside it: built once, cached in cross/.cache/boot/ARCH;
#   2. the target's package (pi-arm64 / pi-armv7) by scripts/package.js (cross/build.sh first when
#      the ARM addons are missing; CROSS_REBUILD=1 forces it): what is tested is what ships;
#   3. a payload (cross/boot/guest.sh, guest-exchange.mjs, the tarball) as a raw tar on a second
#      virtio disk; qemu-system-aarch64 / qemu-system-arm boot the image with -snapshot semantics
#      (the cached image is never written; the guest's writes survive its reboot, not qemu's exit);
#   4. in the guest (cross/boot/guest.sh): INSTALL's steps as written, the unit's ready line in the
#      journal, its user and MemoryMax as systemd applied them, two more agents exchanging
#      packets with it, a unit restart, a guest reboot, and the unit back by itself with its store.
# The serial console goes to cross/.cache/boot/ARCH/console.log; on failure it is copied to
# $BOOT_TEST_ARTEFACTS (default .ci/results) and its end printed. Lines "QIS-BOOT-TEST: ..." are
# shown as they come, with the host's elapsed time.
# Env: BOOT_TEST_TIMEOUT_S (whole qemu run, default 1500), BOOT_TEST_READY_S (unit start to ready,
# default 240), BOOT_TEST_BREAK=unit-user (the negative test: the package's unit names a user
# INSTALL does not create; the run must FAIL naming the INSTALL step), BOOT_TEST_SMP (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ARCH=${1:-}
CACHE=${CROSS_CACHE:-$ROOT/cross/.cache}
say() { echo "cross/boot-test.sh: $*" >&2; }
die() { say "FAIL: $*"; exit 1; }
T0=$SECONDS
lap() { echo "$((SECONDS - T0))"; }

case "$ARCH" in
  arm64) QEMU=qemu-system-aarch64; MACHINE=virt; CPU=cortex-a72; TARGET=pi-arm64; PREBUILD=prebuilds/linux-arm64/node.napi.node ;;
  armv7) QEMU=qemu-system-arm; MACHINE=virt,highmem=off; CPU=cortex-a15; TARGET=pi-armv7; PREBUILD=prebuilds/linux-arm/node.napi.armv7.node ;;
  *) echo "usage: cross/boot-test.sh arm64|armv7" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap, binfmt_misc, apt-get)"
if ! command -v "$QEMU" >/dev/null; then
  say "installing qemu-system-arm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends qemu-system-arm >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends qemu-system-arm >/dev/null; }
fi

# ---- 1. root file system ---------------------------------------------------------------------------
bash cross/boot/rootfs.sh "$ARCH"
IMG=$CACHE/boot/$ARCH
say "rootfs ready after $(lap) s: $(tr '\n' ';' <"$IMG/versions")"

# ---- 2. the package -----------------------------------------------------------------------------------
if [ "${CROSS_REBUILD:-0}" = 1 ] || [ ! -f "$PREBUILD" ] || { [ "$ARCH" = armv7 ] && [ ! -f "$CACHE/zeromq-armv7/addon.node" ]; }; then
  bash cross/build.sh "$ARCH"
fi
[ -f dist/qis-edge.mjs ] || die "dist/qis-edge.mjs missing: npm run build first"
VERSION=$(node -p 'require("./package.json").version')
RUN=$IMG/run
rm -rf "$RUN" && mkdir -p "$RUN/payload"
node scripts/package.js --target "$TARGET" --out "$RUN" >/dev/null
TARBALL=qis-edge-$VERSION-$TARGET.tar.gz
if [ "${BOOT_TEST_BREAK:-}" = unit-user ]; then
  # A unit whose User= is not the user INSTALL creates: the boot test must fail, naming the step.
  (cd "$RUN" && tar -xzf "$TARBALL" && sed -i 's/^User=qis-edge$/User=qis-edge-wrong/' "qis-edge-$VERSION-$TARGET/qis-edge.service" \
    && tar --owner=0 --group=0 -czf "$TARBALL" "qis-edge-$VERSION-$TARGET" && rm -rf "qis-edge-$VERSION-$TARGET")
  say "BOOT_TEST_BREAK=unit-user: the package's unit now says User=qis-edge-wrong"
elif [ -n "${BOOT_TEST_BREAK:-}" ]; then
  die "unknown BOOT_TEST_BREAK=${BOOT_TEST_BREAK} (unit-user)"
fi
cp "$RUN/$TARBALL" cross/boot/guest.sh cross/boot/guest-exchange.mjs "$RUN/payload/"
cat >"$RUN/payload/payload.env" <<EOF
TARGET=$TARGET
TARBALL=$TARBALL
READY_BUDGET_S=${BOOT_TEST_READY_S:-240}
EXCHANGE_TIMEOUT_S=${BOOT_TEST_EXCHANGE_S:-300}
EOF
tar -cf "$RUN/payload.tar" -C "$RUN/payload" .
say "package $TARBALL and payload ready after $(lap) s"

# ---- 3. boot ----------------------------------------------------------------------------------------------
CONSOLE=$IMG/console.log
: >"$CONSOLE"
QEMU_ARGS=(
  -M "$MACHINE" -cpu "$CPU" -smp "${BOOT_TEST_SMP:-2}" -m 1024
  -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img"
  -append "root=/dev/vda rw console=ttyAMA0 panic=-1 systemd.show_status=auto"
  # the cached image is never written: the guest's writes go to a temporary overlay that lives
  # as long as this qemu process, across the guest's reboot
  -drive "file=$IMG/rootfs.img,format=raw,if=none,id=root,snapshot=on" -device virtio-blk-pci,drive=root
  -drive "file=$RUN/payload.tar,format=raw,if=none,id=payload,readonly=on" -device virtio-blk-pci,drive=payload,serial=qispayload
  -nic none -display none -monitor none -serial "file:$CONSOLE"
)
say "booting: $QEMU ${QEMU_ARGS[*]}"
T_BOOT=$SECONDS
timeout --foreground -k 10 "${BOOT_TEST_TIMEOUT_S:-1500}" "$QEMU" "${QEMU_ARGS[@]}" &
QPID=$!
# Show the guest driver's marker lines as they arrive, stamped with the host's elapsed time.
# (tail --pid: it ends with qemu; killing the subshell alone would leave tail running.)
(tail --pid=$QPID -n +1 -F "$CONSOLE" 2>/dev/null | while IFS= read -r l; do
  l=${l%$'\r'}
  case "$l" in *QIS-BOOT-TEST:*) echo "[+$((SECONDS - T_BOOT)) s] ${l#*QIS-BOOT-TEST: }" >&2 ;; esac
done) &
TPID=$!
set +e
wait $QPID
QRC=$?
set -e
wait $TPID 2>/dev/null || true
say "qemu exited ($QRC) after $((SECONDS - T_BOOT)) s of guest time; total $(lap) s"

# Each guest step's duration (guest uptime clock), for docs/devices.md's figures.
say "guest step times: $(grep -a -o 'QIS-BOOT-TEST: time .*' "$CONSOLE" | sed 's/QIS-BOOT-TEST: time //; s/\r$//' | tr '\n' ';')"

# ---- 4. verdict -------------------------------------------------------------------------------------------
if grep -q 'QIS-BOOT-TEST: PASS all' "$CONSOLE" && [ $QRC = 0 ]; then
  say "PASS $ARCH: INSTALL, unit ready, selftest, exchange, restart, reboot with the store intact ($(lap) s)"
  exit 0
fi
ART=${BOOT_TEST_ARTEFACTS:-$ROOT/.ci/results}
mkdir -p "$ART"
cp "$CONSOLE" "$ART/boot-$ARCH-console.log"
tail -n 60 "$CONSOLE" >&2
why=$(grep -m1 -o 'QIS-BOOT-TEST: FAIL .*' "$CONSOLE" || true)
[ -n "$why" ] || why="no verdict from the guest (qemu exit $QRC$([ $QRC = 124 ] && echo ': timed out'))"
die "$ARCH: ${why#QIS-BOOT-TEST: } (console: $ART/boot-$ARCH-console.log)"

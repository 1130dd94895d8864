#!/usr/bin/env bash
# Builds Dockerfile.arm64 / Dockerfile.armv7 from this repository with buildah (no Docker daemon
# and no image registry here), for the target architecture through binfmt + qemu-user-static, then
# runs the runtime image's `selftest --require-native`:
#
#   cross/docker-build.sh arm64|armv7         (as root)
#
#   1. base images, made locally from Debian 13 (trixie) root file systems (mmdebstrap, minbase,
#      Debian's packages only) with trixie's nodejs 20.19: localhost/qis-edge-base:trixie-ARCH
#      (+ npm, for the build stage) and localhost/qis-edge-base:trixie-ARCH-slim (the runtime);
#      built once (tarballs cached in cross/.cache/docker/ARCH);
#   2. buildah bud --pull=never --platform linux/arm64|linux/arm/v7 --build-arg
#      NODE_IMAGE=localhost/qis-edge-base:trixie-ARCH (the Dockerfiles' runtime stage is
#      ${NODE_IMAGE}-slim): nothing is pulled; the build stage itself runs apt-get and npm ci;
#   3. buildah run on the image: /opt/qis-edge/qis-edge selftest --require-native.
# The image is tagged localhost/qis-edge:ARCH. Env: DOCKER_BUILD_TIMEOUT_S (default 3600).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ARCH=${1:-}
CACHE=${CROSS_CACHE:-$ROOT/cross/.cache}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
say() { echo "cross/docker-build.sh: $*" >&2; }
die() { say "FAIL: $*"; exit 1; }
T0=$SECONDS
lap() { echo "$((SECONDS - T0))"; }
case "$ARCH" in
  arm64) DEB_ARCH=arm64; OCI_ARCH=arm64; VARIANT=v8; PLATFORM=linux/arm64; BINFMT=aarch64 ;;
  armv7) DEB_ARCH=armhf; OCI_ARCH=arm; VARIANT=v7; PLATFORM=linux/arm/v7; BINFMT=arm ;;
  *) echo "usage: cross/docker-build.sh arm64|armv7" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap, binfmt_misc, buildah)"
missing=()
for p in buildah mmdebstrap arch-test qemu-user-static debian-archive-keyring; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi
# shellcheck source=boot/binfmt.sh
. cross/boot/binfmt.sh
CTRS=()
cleanup() { for c in "${CTRS[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done; binfmt_release; }
trap cleanup EXIT
binfmt_need "$BINFMT"

# ---- 1. base images ------------------------------------------------------------------------------------
BASE=localhost/qis-edge-base:trixie-$ARCH
# Bump RECIPE when the way a base image is made changes (rebuilt only then: ~20 min each here).
RECIPE=1
base_image() {  # $1: tag, $2: extra packages
  local tag=$1 include=$2 tar=$CACHE/docker/$ARCH/$(echo "$1" | tr ':/' '__').tar
  local STAMP
  STAMP=$(echo "$RECIPE $DEB_ARCH $include $MIRROR" | sha256sum | cut -c1-16)
  if buildah inspect --type image "$tag" >/dev/null 2>&1 && [ "$(buildah inspect --type image -f '{{index .ImageAnnotations "qis-edge.stamp"}}' "$tag" 2>/dev/null)" = "$STAMP" ]; then
    say "$tag: cached"; return 0
  fi
  mkdir -p "$(dirname "$tar")"
  if [ ! -s "$tar" ] || [ "$(cat "$tar.stamp" 2>/dev/null)" != "$STAMP" ]; then
    local t=$SECONDS
    say "$tag: mmdebstrap trixie $DEB_ARCH minbase + $include"
    mmdebstrap --mode=root --variant=minbase --arch="$DEB_ARCH" --include="$include" \
      --customize-hook='rm -rf "$1"/usr/share/doc/* "$1"/usr/share/man/*' \
      trixie "$tar" "$MIRROR" >"$tar.log" 2>&1 || { tail -30 "$tar.log" >&2; die "mmdebstrap for $tag failed"; }
    echo "$STAMP" >"$tar.stamp"
    say "$tag: root file system in $((SECONDS - t)) s ($(du -m "$tar" | cut -f1) MiB)"
  fi
  local c mnt
  c=$(buildah from scratch); CTRS+=("$c")
  mnt=$(buildah mount "$c")
  tar -xf "$tar" -C "$mnt"
  buildah umount "$c" >/dev/null
  buildah config --os linux --arch "$OCI_ARCH" --variant "$VARIANT" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd node \
    --annotation "qis-edge.stamp=$STAMP" "$c"
  buildah commit -q "$c" "$tag" >/dev/null
  say "$tag: committed"
}
base_image "$BASE" nodejs,npm,ca-certificates
base_image "$BASE-slim" nodejs
say "base images ready after $(lap) s"

# ---- 2. the Dockerfile ------------------------------------------------------------------------------------
IMAGE=localhost/qis-edge:$ARCH
t=$SECONDS
say "buildah bud --pull=never --platform $PLATFORM -f Dockerfile.$ARCH --build-arg NODE_IMAGE=$BASE"
# The host's CA bundle is bind-mounted into every RUN: Debian's node and apt use the system
# store, so a TLS-inspecting proxy the host trusts (npm ci goes to registry.npmjs.org) is trusted
# in the build too. Nothing of it lands in a layer. --layers: unchanged steps are reused next time.
CA=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && CA=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
timeout "${DOCKER_BUILD_TIMEOUT_S:-3600}" buildah bud --pull=never --layers --isolation chroot --platform "$PLATFORM" "${CA[@]}" \
  -f "Dockerfile.$ARCH" --build-arg "NODE_IMAGE=$BASE" -t "$IMAGE" . || die "buildah bud Dockerfile.$ARCH"
say "built $IMAGE in $((SECONDS - t)) s"

# ---- 3. selftest in the runtime image ---------------------------------------------------------------------
t=$SECONDS
c=$(buildah from --pull=never "$IMAGE"); CTRS+=("$c")
buildah run --isolation chroot "$c" -- node --version
buildah run --isolation chroot "$c" -- /opt/qis-edge/qis-edge selftest --require-native --timeout 180000 --state-dir /var/lib/qis-edge || die "selftest --require-native in $IMAGE"
say "selftest in $IMAGE: $((SECONDS - t)) s"
say "PASS $ARCH: Dockerfile.$ARCH built with buildah, selftest --require-native in the image (total $(lap) s)"

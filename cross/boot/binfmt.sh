# Sourced by cross/boot/*.sh: registers Debian's qemu-user-static interpreters with binfmt_misc
# (flag F: the interpreter is opened now, so it works inside chroots and containers) for the
# architectures given, and unregisters on exit only those this process registered: other users
# of the machine may rely on ARM binaries NOT running natively.
#   binfmt_need aarch64|arm ...        (needs root and the qemu-user-static package)
BINFMT_OURS=()
binfmt_need() {
  local dir=/proc/sys/fs/binfmt_misc name conf
  [ -e "$dir/register" ] || mount -t binfmt_misc binfmt_misc "$dir" || { echo "binfmt: cannot mount $dir (root needed)" >&2; return 1; }
  for name in "$@"; do
    [ -e "$dir/qemu-$name" ] && continue
    conf=/usr/lib/binfmt.d/qemu-$name.conf
    [ -f "$conf" ] || { echo "binfmt: $conf missing (apt-get install qemu-user-static)" >&2; return 1; }
    # The .conf line is the register string itself (systemd-binfmt's format).
    grep -v '^#' "$conf" | head -1 >"$dir/register" || return 1
    BINFMT_OURS+=("$name")
  done
}
binfmt_release() {
  local name
  for name in "${BINFMT_OURS[@]}"; do
    [ -e "/proc/sys/fs/binfmt_misc/qemu-$name" ] && echo -1 >"/proc/sys/fs/binfmt_misc/qemu-$name"
  done
  BINFMT_OURS=()
}

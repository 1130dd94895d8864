#!/bin/sh
# Runs INSIDE the booted Debian guest, as root, at every boot (qis-boot-test.service, added by
# cross/boot/rootfs.sh), from the payload cross/boot-test.sh wrote: this script,
# guest-exchange.mjs, payload.env and the target's package tarball. Every line it prints reaches
# the serial console; lines starting "QIS-BOOT-TEST:" are what cross/boot-test.sh reads.
#
# Boot 1: INSTALL's steps, line by line, as written (a failing line fails the test, named);
#   `journalctl -u qis-edge -f` is the one step not run as such: it is where a user watches for
#   "ready", so the test waits for the unit's "ready" line instead, within READY_BUDGET_S. Then:
#   the unit's user and memory limit as systemd runs it; two more agents (B, C) added as peers in
#   /etc/qis-edge/agent.json, config check, unit restart, a packet exchange with the unit's agent
#   (guest-exchange.mjs); a plain restart, after which the unit's store must still hold those
#   packets; then `systemctl reboot`.
# Boot 2: the unit must have come back by itself (enabled, never started by us), ready, with the
#   same packets in its store. Then poweroff.
# Any failure prints "QIS-BOOT-TEST: FAIL <step>: why", the unit's status and journal, and powers off.
set -u
HERE=$(dirname "$(readlink -f "$0")")
. "$HERE/payload.env"     # TARGET, TARBALL, READY_BUDGET_S, EXCHANGE_TIMEOUT_S
STATE=/var/lib/qis-boot-test
mkdir -p "$STATE"
BOOT=$(cat "$STATE/boot" 2>/dev/null || echo 1)
T_STEP=0

mark() { echo "QIS-BOOT-TEST: $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }'; }
step() { STEP=$1; T_STEP=$(uptime_s); mark "step $BOOT.$STEP"; }
done_step() { mark "time $BOOT.$STEP $(elapsed "$T_STEP") s"; }
fail() {
  mark "FAIL $STEP: $*"
  systemctl status --no-pager qis-edge 2>&1 | head -20
  journalctl -b -u qis-edge --no-pager -o cat 2>&1 | tail -40
  mark "END"
  sync
  systemctl poweroff
  exit 1
}

# The unit's current run: its systemd invocation id, then that run's "ready" log line.
invocation() { systemctl show -p InvocationID --value qis-edge; }
wait_ready() {  # $1: invocation id to ignore (the previous run), or ""; sets READY (the JSON line)
  t0=$(uptime_s); READY=
  r0=$(systemctl show -p NRestarts --value qis-edge)
  while :; do
    inv=$(invocation)
    if [ -n "$inv" ] && [ "$inv" != "$1" ]; then
      READY=$(journalctl -q --no-pager -o cat "_SYSTEMD_INVOCATION_ID=$inv" 2>/dev/null | grep -m1 '"msg":"ready"')
      [ -n "$READY" ] && break
    fi
    state=$(systemctl show -p ActiveState --value qis-edge)
    if [ "$state" = failed ]; then fail "the unit failed before ready"; fi
    r=$(systemctl show -p NRestarts --value qis-edge)
    if [ "$r" -gt "$r0" ]; then fail "the agent exited before ready and systemd restarted it (NRestarts=$r)"; fi
    if [ "$(elapsed "$t0" | cut -d. -f1)" -ge "$READY_BUDGET_S" ]; then fail "no \"ready\" from the unit within ${READY_BUDGET_S} s (state $state)"; fi
    sleep 1
  done
  mark "ready after $(elapsed "$t0") s: $READY"
}
json() { node -e 'const o = JSON.parse(process.argv[1]); console.log(String(process.argv[2].split(".").reduce((v, k) => v[k], o)))' "$1" "$2"; }

# What systemd really applied: the user the agent runs as, and the memory limit on its cgroup.
check_unit() {
  pid=$(systemctl show -p MainPID --value qis-edge)
  uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)   # (no procps in the image)
  user=$(getent passwd "$uid" | cut -d: -f1)
  [ "$user" = qis-edge ] || fail "the agent (pid $pid) runs as \"$user\", not qis-edge"
  cg=/sys/fs/cgroup$(systemctl show -p ControlGroup --value qis-edge)
  want=$(sed -n 's/^MemoryMax=//p' /etc/systemd/system/qis-edge.service)
  have=$(cat "$cg/memory.max")
  [ "$have" = "$(numfmt --from=iec "$want")" ] || fail "memory.max of $cg is $have, the unit says MemoryMax=$want"
  mark "unit: pid $pid as $user, $cg memory.max $have (MemoryMax=$want), memory.current $(cat "$cg/memory.current")"
}

mark "boot $BOOT: driver started at uptime $(uptime_s) s ($(uname -m), $(node --version), systemd $(systemctl --version | head -1 | cut -d' ' -f2))"
cd "$HERE"

if [ "$BOOT" = 1 ]; then
  # ---- INSTALL, step by step -------------------------------------------------------------------
  tar -xzf "$TARBALL" --wildcards '*/INSTALL' -O >INSTALL.txt || { STEP=install-text; fail "no INSTALL in $TARBALL"; }
  # The steps: the block of non-empty lines starting at the first line that begins with "sudo ".
  awk 'f && /^$/ { exit } /^sudo / { f = 1 } f' INSTALL.txt >steps.txt
  [ -s steps.txt ] || { STEP=install-text; fail "no command block in INSTALL"; }
  n=0
  while IFS= read -r line; do
    n=$((n + 1))
    step "install-$n"
    STEP="INSTALL step $n ($(printf '%s' "$line" | sed 's/[[:space:]]*#.*$//'))"   # named without its comment
    mark "INSTALL step $n: $line"
    case "$line" in
      journalctl*" -f"*) wait_ready "" ;;
      *) sh -ec "$line" </dev/null || fail "exit status $?" ;;
    esac
    mark "time $BOOT.install-$n $(elapsed "$T_STEP") s"
  done <steps.txt
  STEP=install-ready
  [ -n "${READY:-}" ] || wait_ready ""   # INSTALL without a journalctl step: still wait
  systemctl is-enabled -q qis-edge || fail "the unit is not enabled after INSTALL"

  step unit-limits
  check_unit
  done_step

  # ---- peers B and C, restart, exchange ---------------------------------------------------------
  step exchange
  U_NODE=$(json "$READY" nodeId); U_KEY=$(json "$READY" publicKey)
  echo "$U_NODE" >"$STATE/u-node"; echo "$U_KEY" >"$STATE/u-key"
  # The public key from FILE.pub: keygen's stdout may hold more than that one key (a signing key too).
  /opt/qis-edge/qis-edge keygen "$STATE/b.key" && B_KEY=$(cat "$STATE/b.key.pub") || fail "keygen b.key"
  /opt/qis-edge/qis-edge keygen "$STATE/c.key" && C_KEY=$(cat "$STATE/c.key.pub") || fail "keygen c.key"
  node -e '
    const fs = require("fs"); const [file, b, c] = process.argv.slice(1);
    const cfg = JSON.parse(fs.readFileSync(file, "utf8"));
    cfg.peers = [
      { name: "B", pub: "tcp://127.0.0.1:5610", store: "tcp://127.0.0.1:5611", publicKey: b },
      { name: "C", pub: "tcp://127.0.0.1:5620", store: "tcp://127.0.0.1:5621", publicKey: c },
    ];
    fs.writeFileSync(file, JSON.stringify(cfg, null, 2) + "\n");' /etc/qis-edge/agent.json "$B_KEY" "$C_KEY" || fail "editing agent.json"
  /opt/qis-edge/qis-edge config check /etc/qis-edge/agent.json || fail "config check with peers B and C"
  prev=$(invocation)
  systemctl restart qis-edge || fail "systemctl restart after adding peers"
  wait_ready "$prev"
  [ "$(json "$READY" peers)" = "B,C" ] || fail "the restarted unit's peers are $(json "$READY" peers), not B,C"
  QIS_EXCHANGE_TIMEOUT_MS=$((EXCHANGE_TIMEOUT_S * 1000)) node guest-exchange.mjs exchange /opt/qis-edge/qis-edge.mjs "$STATE" "$U_NODE" "$U_KEY" >exchange.out
  rc=$?; cat exchange.out
  [ $rc = 0 ] || fail "two-agent exchange with the unit's agent"
  sed -n 's/^ids //p' exchange.out >"$STATE/ids"
  done_step

  # ---- plain restart: the store survives it ------------------------------------------------------
  step restart
  prev=$(invocation)
  systemctl restart qis-edge || fail "systemctl restart"
  wait_ready "$prev"
  check_unit
  # shellcheck disable=SC2046
  QIS_EXCHANGE_TIMEOUT_MS=$((EXCHANGE_TIMEOUT_S * 1000)) node guest-exchange.mjs check /opt/qis-edge/qis-edge.mjs "$STATE" "$U_NODE" "$U_KEY" $(cat "$STATE/ids") ||
    fail "the unit's store after a restart"
  done_step

  step reboot
  echo 2 >"$STATE/boot"
  mark "rebooting at uptime $(uptime_s) s"
  sync
  systemctl reboot
  exit 0
fi

# ---- boot 2: back by itself, store intact -------------------------------------------------------------
step came-back
systemctl is-enabled -q qis-edge || fail "the unit is not enabled after the reboot"
wait_ready ""
[ "$(json "$READY" nodeId)" = "$(cat "$STATE/u-node")" ] || fail "the node id changed across the reboot: $(json "$READY" nodeId)"
mark "unit started by systemd at boot: $(systemctl show -p ExecMainStartTimestampMonotonic -p NRestarts qis-edge | tr '\n' ' ')"
check_unit
done_step

step store-after-reboot
# shellcheck disable=SC2046
QIS_EXCHANGE_TIMEOUT_MS=$((EXCHANGE_TIMEOUT_S * 1000)) node guest-exchange.mjs check /opt/qis-edge/qis-edge.mjs "$STATE" "$(cat "$STATE/u-node")" "$(cat "$STATE/u-key")" $(cat "$STATE/ids") ||
  fail "the unit's store after the reboot"
done_step

mark "PASS all"
mark "END"
sync
systemctl poweroff

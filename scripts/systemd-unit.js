// The systemd unit that scripts/package.js ships as qis-edge.service, one per device target
// (targets/NAME.json). Its own module so that test/ship/systemd-unit.test.ts can check every
// target's unit with `systemd-analyze verify` without building the packages.
//
// Type=notify: systemd counts the agent started when it says READY=1 (sockets bound, store
// open), and WatchdogSec restarts it when its event loop stops pinging (src/systemd/notify.ts,
// through the native addon: the packages always carry it). docs/operations.md, "systemd".

/** Seconds without a WATCHDOG=1 ping before systemd restarts the agent; it pings every half of it. */
export const WATCHDOG_SEC = 30;

/**
 * @param {{ version: string, profile: { name: string, description: string, node: { flags: string[] }, systemd: { MemoryMax: string } } }} o
 * @returns {string} the unit file's text
 */
export function systemdUnit({ version, profile }) {
  const flags = profile.node.flags.join(' ');
  return `# qis-edge ${version} for ${profile.name} (${profile.description.split(':')[0]})
[Unit]
Description=qis-edge outcome-routing agent (${profile.name})
Documentation=file:/opt/qis-edge/INSTALL
Wants=network-online.target
After=network-online.target

[Service]
# Started once it says READY=1 (sockets bound, store open); restarted when its event loop stops
# pinging the watchdog for WatchdogSec. Both need the native addon (qis-edge selftest --require-native).
Type=notify
NotifyAccess=main
WatchdogSec=${WATCHDOG_SEC}
User=qis-edge
Group=qis-edge
# /var/lib/qis-edge: node id, lock and store file (created for the user by systemd)
StateDirectory=qis-edge
WorkingDirectory=/var/lib/qis-edge
# Two malloc arenas instead of one per thread (libzmq's and libuv's): less resident memory.
Environment=MALLOC_ARENA_MAX=2
ExecStart=/usr/bin/env node ${flags} /opt/qis-edge/qis-edge.mjs run --config /etc/qis-edge/agent.json
# systemctl reload: re-read /etc/qis-edge/agent.json without a restart (SIGHUP).
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2
KillSignal=SIGTERM
TimeoutStopSec=15
MemoryMax=${profile.systemd.MemoryMax}
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ReadWritePaths=/var/lib/qis-edge

[Install]
WantedBy=multi-user.target
`;
}

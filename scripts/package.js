#!/usr/bin/env node
// One installable artefact per device target (targets/NAME.json):
//
//   npm run package -- --target pi-armv7 [--out DIR]     (default DIR: dist/packages)
//
// makes DIR/qis-edge-<version>-<target>.tar.gz holding one folder, qis-edge-<version>-<target>/:
//   qis-edge.mjs                  the bundle (npm run build), the same JS for every target
//   qis-edge-mqtt.cjs             MQTT.js and the MQTT uplink, loaded by the bundle only for uplinks.mqtt
//   qis-edge-nats.cjs             the NATS client and the JetStream uplink, loaded by the bundle only for uplinks.nats
//   qis-edge-discovery.cjs        LAN discovery, loaded by the bundle only for discovery.enabled
//   qis-edge-client.cjs           the client commands (observe, watch, query, stats, peers)
//   qis-edge-control.cjs          the control socket's server, loaded by `run` when control.enabled
//   qis-edge-signing.cjs          signed packets, loaded by the bundle only for security.signing / trust / requireSigned
//   qis-edge                      a launcher: node with the profile's flags, then the bundle
//   prebuilds/linux-<arch>/…      our addon for the target's architecture
//   build/manifest.json, build/linux/<arch>/…/addon.node   zeromq's addon for it
//   agent.json                    the target's default agent config (targets/NAME.agent.json)
//   target.json                   the profile itself
//   qis-edge.service              a systemd unit (./systemd-unit.js): Type=notify, watchdog, reload, own user, MemoryMax
//   INSTALL                       how to install it
// Nothing from node_modules is needed on the device (armv7 needs Debian's libzmq5 package).
// ARM addons come from cross/build.sh, which is run when they are missing.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { systemdUnit, WATCHDOG_SEC } from './systemd-unit.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const say = (line) => process.stdout.write(`package: ${line}\n`);
const die = (line) => {
  process.stderr.write(`package: ${line}\n`);
  process.exit(1);
};

const targets = readdirSync(path.join(root, 'targets'))
  .filter((f) => f.endsWith('.json') && !f.endsWith('.agent.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

const { values } = parseArgs({ options: { target: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help || !values.target) {
  process.stdout.write(`Usage: npm run package -- --target NAME [--out DIR]\nTargets: ${targets.join(', ')}\n`);
  process.exit(values.help ? 0 : 2);
}
if (!targets.includes(values.target)) die(`unknown target "${values.target}"; targets: ${targets.join(', ')}`);

const profile = JSON.parse(readFileSync(path.join(root, 'targets', `${values.target}.json`), 'utf8'));
const name = `qis-edge-${pkg.version}-${profile.name}`;
const outDir = path.resolve(values.out ?? path.join(root, 'dist', 'packages'));
const stage = path.join(outDir, `.stage-${profile.name}`);
const dir = path.join(stage, name);
const bundle = path.join(root, 'dist', 'qis-edge.mjs');
if (!existsSync(bundle)) die('dist/qis-edge.mjs is missing: run npm run build first');

// ---- the addons for the target's architecture -------------------------------------------------------
const crossArch = { arm: 'armv7', arm64: 'arm64' }[profile.nodeArch];
const prebuild = {
  arm: 'prebuilds/linux-arm/node.napi.armv7.node',
  arm64: 'prebuilds/linux-arm64/node.napi.node',
  x64: 'prebuilds/linux-x64/node.napi.node',
}[profile.nodeArch];
if (!prebuild) die(`${profile.name}: unsupported nodeArch "${profile.nodeArch}"`);
const haveOurs = existsSync(path.join(root, prebuild)) || (profile.nodeArch === process.arch && existsSync(path.join(root, 'build', 'Release', 'qis_edge.node')));
const haveZmq = profile.nodeArch !== 'arm' || existsSync(path.join(root, 'cross', '.cache', 'zeromq-armv7', 'addon.node'));
if (!haveOurs || !haveZmq) {
  if (!crossArch) die(`no native addon for ${profile.nodeArch}: run npm run build:native`);
  say(`cross-building the ${crossArch} addons (cross/build.sh ${crossArch})`);
  const r = spawnSync('nice', ['-n', '10', 'bash', path.join(root, 'cross', 'build.sh'), crossArch], { stdio: 'inherit' });
  if (r.status !== 0) die(`cross/build.sh ${crossArch} failed`);
}

rmSync(stage, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const lay = spawnSync(process.execPath, [path.join(root, 'scripts', 'bundle.js'), '--out', dir, '--arch', profile.nodeArch, '--no-js'], { encoding: 'utf8' });
if (lay.status !== 0) die(`laying out the addons failed:\n${lay.stdout}${lay.stderr}`);
if (!existsSync(path.join(dir, prebuild))) die(`${prebuild} was not laid out: ${lay.stdout}`);
copyFileSync(bundle, path.join(dir, 'qis-edge.mjs'));
// The sidecars (scripts/bundle.js SIDECARS): loaded by the bundle only for uplinks.mqtt / uplinks.nats / discovery.enabled / signed packets, the control socket and the client commands.
for (const name of ['qis-edge-mqtt.cjs', 'qis-edge-nats.cjs', 'qis-edge-discovery.cjs', 'qis-edge-signing.cjs', 'qis-edge-client.cjs', 'qis-edge-control.cjs']) {
  const sidecar = path.join(root, 'dist', name);
  if (!existsSync(sidecar)) die(`dist/${name} is missing: run npm run build first`);
  copyFileSync(sidecar, path.join(dir, name));
}

// ---- config, profile, launcher, unit, install text ------------------------------------------------------
copyFileSync(path.join(root, 'targets', profile.agentConfig), path.join(dir, 'agent.json'));
copyFileSync(path.join(root, 'targets', `${profile.name}.json`), path.join(dir, 'target.json'));
const flags = profile.node.flags.join(' ');

writeFileSync(
  path.join(dir, 'qis-edge'),
  `#!/bin/sh
# qis-edge ${pkg.version} for ${profile.name}: Node with this target's memory flags, then the bundle.
here=$(dirname "$(readlink -f "$0")")
# Two malloc arenas instead of one per thread (libzmq's and libuv's): about 0.5 MiB less resident (docs/devices.md).
export MALLOC_ARENA_MAX="\${MALLOC_ARENA_MAX:-2}"
exec node ${flags} "$here/qis-edge.mjs" "$@"
`,
);
chmodSync(path.join(dir, 'qis-edge'), 0o755);

writeFileSync(path.join(dir, 'qis-edge.service'), systemdUnit({ version: pkg.version, profile }));

const apt = profile.devicePackages.length > 0 ? `sudo apt-get install -y ${profile.devicePackages.join(' ')}\n` : '';
writeFileSync(
  path.join(dir, 'INSTALL'),
  `qis-edge ${pkg.version} for ${profile.name}
${profile.description}

Needs Node.js >= 20 on the device (node on the PATH, e.g. /usr/bin or /usr/local/bin)${profile.devicePackages.length ? ` and the Debian package${profile.devicePackages.length > 1 ? 's' : ''} ${profile.devicePackages.join(', ')}` : ''}.
No compiler, npm or internet access is needed on the device.
Node from the OS: Debian 13 (trixie) and Raspberry Pi OS based on it ship Node 20.19
("apt-get install nodejs"); Debian 12 (bookworm) and Raspberry Pi OS based on it ship Node 18,
too old: install Node 20 from nodejs.org or NodeSource there, or upgrade the OS.

${apt}sudo useradd --system --home-dir /var/lib/qis-edge --shell /usr/sbin/nologin qis-edge
sudo mkdir -p /opt/qis-edge /etc/qis-edge
sudo tar -xzf ${name}.tar.gz --strip-components=1 -C /opt/qis-edge
sudo cp -n /opt/qis-edge/agent.json /etc/qis-edge/agent.json     # then add your peers to it
/opt/qis-edge/qis-edge config check /etc/qis-edge/agent.json
sudo install -d -o qis-edge -g qis-edge /var/lib/qis-edge
sudo -u qis-edge /opt/qis-edge/qis-edge keygen /var/lib/qis-edge/curve.key   # prints this agent's public key
sudo -u qis-edge /opt/qis-edge/qis-edge selftest --require-native --state-dir /var/lib/qis-edge
sudo cp /opt/qis-edge/qis-edge.service /etc/systemd/system/
sudo systemctl daemon-reload && sudo systemctl enable --now qis-edge
journalctl -u qis-edge -f                                         # JSON log lines; "ready" names the endpoints
sudo -u qis-edge /opt/qis-edge/qis-edge peers --config /etc/qis-edge/agent.json   # also stats, query, watch, observe

The agent publishes on tcp port 5600 and serves its store on 5601 (agent.json), secured with
CURVE: only peers whose public key is in agent.json (peers[].publicKey, security.allow) get in,
and each peer entry needs that peer's public key ("qis-edge keygen --show FILE" prints it). The
key file is created on first start if keygen was skipped. See docs/security.md. It runs as the
user qis-edge, restarts on failure and is limited to MemoryMax=${profile.systemd.MemoryMax} by systemd.
systemd counts it started once it says it is ready (Type=notify: endpoints bound, store open) and
restarts it if it stops answering for ${WATCHDOG_SEC} s (WatchdogSec); both need the native addon that
selftest --require-native checks. "systemctl reload qis-edge" sends it SIGHUP to re-read agent.json.
Node runs with ${flags}. Upgrading: extract the new tarball over /opt/qis-edge and restart.
`,
);

// ---- the tarball -----------------------------------------------------------------------------------------
const tarball = path.join(outDir, `${name}.tar.gz`);
rmSync(tarball, { force: true });
const tar = spawnSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--exclude=*.meta.json', '-czf', tarball, '-C', stage, name], { encoding: 'utf8' });
if (tar.status !== 0) die(`tar failed: ${tar.stderr}`);
rmSync(stage, { recursive: true, force: true });
say(`${path.relative(process.cwd(), tarball) || tarball}`);

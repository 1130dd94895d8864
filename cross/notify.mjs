#!/usr/bin/env node
// systemd's Type=notify under an emulated ARM node: `qis-edge run` from the package sends
// READY=1, WATCHDOG=1 and STOPPING=1 through the ARM build of the addon (native/notify.c) to a
// real AF_UNIX datagram socket on the host (test/fixtures/notify_socket.py). cross/qemu-test.sh
// runs this; only the agent is ARM.
//
//   node cross/notify.mjs BUNDLE -- RUNNER...      e.g. -- qemu-aarch64 -L /usr/aarch64-linux-gnu node FLAGS
//
// Exit 0 when the datagrams are STATUS=starting, READY=1, at least one WATCHDOG=1 and STOPPING=1, in that order.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const [bundleArg, sep, ...runner] = process.argv.slice(2);
const bundle = bundleArg && resolve(bundleArg);
if (!bundle || sep !== '--' || runner.length === 0) {
  console.error('usage: node cross/notify.mjs BUNDLE -- RUNNER...');
  process.exit(2);
}
const TIMEOUT = Number(process.env.QIS_NOTIFY_TIMEOUT_MS ?? 180_000);
const say = (line) => console.log(`notify: ${line}`);
const dir = mkdtempSync(join(tmpdir(), 'qis-notify-'));
const fixture = fileURLToPath(new URL('../test/fixtures/notify_socket.py', import.meta.url));
const socket = join(dir, 'notify.sock');
const receiver = spawn('python3', [fixture, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
const datagrams = [];
let bound = false;
let agent = null;
let changed = () => {};
let exitCode = null;
createInterface({ input: receiver.stdout }).on('line', (line) => {
  const m = JSON.parse(line);
  if ('data' in m) datagrams.push(m.data);
  else bound = true;
  changed();
});
const until = (what, ok, exitEnds = true) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${TIMEOUT} ms; datagrams ${JSON.stringify(datagrams)}`)), TIMEOUT);
    changed = () => {
      if (!ok() && exitEnds && exitCode !== null) {
        clearTimeout(timer);
        reject(new Error(`${what}: run exited ${exitCode} first; datagrams ${JSON.stringify(datagrams)}`));
      }
      if (!ok()) return;
      clearTimeout(timer);
      resolve();
    };
    changed();
  });

let code = 1;
try {
  await until('the receiver bound', () => bound);
  agent = spawn(runner[0], [...runner.slice(1), bundle, 'run', '--log-level', 'warn'], {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NOTIFY_SOCKET: socket, WATCHDOG_USEC: '2000000', QIS_EDGE_STATE_DIR: join(dir, 'state'), QIS_EDGE_STORE_FILE: 'none' },
  });
  const exited = new Promise((done) => agent.on('close', (c) => {
    exitCode = c ?? -1;
    done(c);
    changed();
  }));
  await until('READY=1', () => datagrams.some((d) => d.startsWith('READY=1\n')));
  say('READY=1');
  await until('WATCHDOG=1', () => datagrams.includes('WATCHDOG=1'));
  say('WATCHDOG=1');
  agent.kill('SIGTERM');
  // The receiver may print it after run has exited: the timeout alone ends this wait.
  await until('STOPPING=1', () => datagrams.some((d) => d.startsWith('STOPPING=1\n')), false);
  const status = await exited;
  const kinds = datagrams.map((d) => d.split('\n')[0].split(':')[0]);
  const expected = ['STATUS=starting', 'READY=1', ...kinds.slice(2, -1).map(() => 'WATCHDOG=1'), 'STOPPING=1'];
  if (JSON.stringify(kinds) !== JSON.stringify(expected) || kinds.length < 4) throw new Error(`datagrams out of order: ${JSON.stringify(datagrams)}`);
  if (status !== 0) throw new Error(`run exited ${status} after SIGTERM`);
  say(`ok: ${kinds.join(', ')}`);
  code = 0;
} catch (err) {
  say(`FAIL: ${err.message}`);
} finally {
  if (agent && agent.exitCode === null) agent.kill('SIGKILL');
  receiver.kill('SIGTERM');
  await new Promise((r) => receiver.on('close', r));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);

#!/usr/bin/env node
// Two agents exchanging packets over loopback TCP, each a separate process running the bundle
// (in its agent-worker mode) under an emulated ARM node: cross/qemu-test.sh runs this with the
// host's node as the driver. Only the agents are ARM; this script just forks them and asks.
//
//   node cross/exchange.mjs BUNDLE -- RUNNER...      e.g. -- qemu-arm -L /usr/arm-linux-gnueabihf node
//
// A and B publish on their own ports and serve their stores; B subscribes to A, A to B.
// A observes before B exists (B gets it by catch-up from A's store), then each observes once
// more (delivered live over PUB/SUB). Exit 0 when both hold all three packets.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [bundle, sep, ...runner] = process.argv.slice(2);
if (!bundle || sep !== '--' || runner.length === 0) {
  console.error('usage: node cross/exchange.mjs BUNDLE -- RUNNER... (the last word of RUNNER is the node binary)');
  process.exit(2);
}
const TIMEOUT = Number(process.env.QIS_EXCHANGE_TIMEOUT_MS ?? 180_000);
const say = (line) => console.log(`exchange: ${line}`);
const children = [];
const dirs = [];

function startAgent(name, config) {
  const stateDir = mkdtempSync(join(tmpdir(), `qis-exchange-${name}-`));
  dirs.push(stateDir);
  const full = { stateDir, log: { level: 'warn' }, pub: { bind: 'tcp://127.0.0.1:*' }, store: { bind: 'tcp://127.0.0.1:*' }, ...config };
  // fork() runs execPath execArgv... BUNDLE ARG with an IPC channel: here qemu-* -L SYSROOT NODE.
  const child = fork(bundle, [JSON.stringify(full)], {
    execPath: runner[0],
    execArgv: runner.slice(1),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  let nextId = 1;
  const pending = new Map();
  let onReady;
  const ready = new Promise((resolve, reject) => {
    onReady = resolve;
    child.once('exit', (code, signal) => reject(new Error(`agent ${name} exited (${code ?? signal}) before it was ready`)));
  });
  child.on('message', (msg) => {
    if (typeof msg.id === 'number') pending.get(msg.id)?.(msg);
    else if (msg.event === 'ready') onReady(msg);
    else if (msg.event === 'error') say(`${name}: ${msg.code}: ${msg.message}`);
  });
  const request = (op, args = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (m) => {
        pending.delete(id);
        if (m.ok) resolve(m);
        else reject(new Error(`${name} ${op}: ${m.code}: ${m.message}`));
      });
      child.send({ id, op, ...args });
    });
  return { name, child, ready, request };
}

const obs = (who, delta) => ({ domain: 'cross', problemClass: `from-${who}`, outcomeDelta: delta, confidence: 0.75, nObservations: 3 });

async function waitFor(what, check) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${TIMEOUT} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main() {
  const started = Date.now();
  const a = startAgent('A', {});
  const ra = await a.ready;
  say(`A ready: ${ra.nodeId} pub ${ra.endpoints.pub} store ${ra.endpoints.store} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const first = (await a.request('observe', { observations: [obs('a', 0.25)] })).seqs[0];
  const b = startAgent('B', { peers: [{ name: 'A', pub: ra.endpoints.pub, store: ra.endpoints.store }] });
  const rb = await b.ready;
  say(`B ready: ${rb.nodeId} pub ${rb.endpoints.pub}, subscribed to A`);
  await a.request('addPeer', { name: 'B', pub: rb.endpoints.pub, store: rb.endpoints.store });
  const holds = async (agent, nodeId, seq) => (await agent.request('identities', { pattern: 'qis.cross.>' })).identities.includes(`${nodeId}:${seq}`);
  await waitFor(`B to catch up A's packet ${first} from A's store`, () => holds(b, ra.nodeId, first));
  say(`B caught up A's seq ${first} from A's store`);
  // The live path: packets observed now travel over PUB/SUB (catch-up fills any gap too, so
  // wait until each side's peer link is up before counting it as a live delivery).
  await waitFor('both peer links up', async () => {
    const [sa, sb] = await Promise.all([a.request('stats'), b.request('stats')]);
    const up = (s) => (s.stats.peers ?? []).every((p) => p.up);
    return up(sa) && up(sb);
  }).catch(() => say('peer stats did not report "up" (continuing: delivery is what counts)'));
  const [seqA] = (await a.request('observe', { observations: [obs('a', -0.5)] })).seqs;
  const [seqB] = (await b.request('observe', { observations: [obs('b', 0.5)] })).seqs;
  await waitFor(`B to receive A's seq ${seqA}`, () => holds(b, ra.nodeId, seqA));
  await waitFor(`A to receive B's seq ${seqB}`, () => holds(a, rb.nodeId, seqB));
  const [sa, sb] = await Promise.all([a.request('stats'), b.request('stats')]);
  say(`A→B and B→A delivered; A received ${sa.stats.received}, B received ${sb.stats.received} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  await Promise.all([a.request('close'), b.request('close')]);
}

let code = 0;
const timer = setTimeout(() => {
  say(`FAIL: no result within ${TIMEOUT * 2} ms`);
  for (const c of children) c.kill('SIGKILL');
  // process.exit skips the finally below: the state dirs would stay in the temp dir.
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  process.exit(1);
}, TIMEOUT * 2);
try {
  await main();
  say('PASS two-agent exchange');
} catch (err) {
  say(`FAIL: ${err.message}`);
  code = 1;
} finally {
  clearTimeout(timer);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  process.exit(code);
}

#!/usr/bin/env node
// Runs INSIDE the booted guest (cross/boot/guest.sh), with the guest's own node: agents from the
// installed package (/opt/qis-edge/qis-edge.mjs, in its agent-worker mode) talking to the agent
// that systemd runs (U, CURVE on 0.0.0.0:5600/5601 as the target's agent.json says).
//
//   node guest-exchange.mjs exchange BUNDLE STATE U_NODE_ID U_PUBLIC_KEY   → prints the identities U must hold
//   node guest-exchange.mjs check    BUNDLE STATE U_NODE_ID U_PUBLIC_KEY IDS...
//
// exchange: B (key STATE/b.key, binds 127.0.0.1:5610/5611) and C (STATE/c.key, :5620/5621), both
//   listed as U's peers in /etc/qis-edge/agent.json by guest.sh, each subscribe to U. B and C
//   observe the same address: U receives both packets live (it subscribes to B and C), has two
//   contributors and synthesizes a packet of its own, which B and C receive from U. Prints one line
//   "ids ID..." of what U's store must now hold: B's, C's and U's packets.
// check: D, a fresh agent (new node id, empty store) holding B's key, catches up from U's store
//   and must find every ID given: what U kept across a unit restart or a reboot.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const [mode, bundle, state, uNode, uKey, ...want] = process.argv.slice(2);
if (!['exchange', 'check'].includes(mode) || !uKey) {
  console.error('usage: guest-exchange.mjs exchange|check BUNDLE STATE U_NODE_ID U_PUBLIC_KEY [IDS...]');
  process.exit(2);
}
const TIMEOUT = Number(process.env.QIS_EXCHANGE_TIMEOUT_MS ?? 240_000);
const started = Date.now();
const say = (line) => console.log(`guest-exchange: ${line} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
const U = { name: 'U', pub: 'tcp://127.0.0.1:5600', store: 'tcp://127.0.0.1:5601', publicKey: uKey };
const children = [];
const dirs = [];

function startAgent(name, keyFile, port) {
  const stateDir = mkdtempSync(join(state, `agent-${name}-`));
  dirs.push(stateDir);
  const config = {
    stateDir,
    log: { level: 'warn' },
    pub: { bind: `tcp://127.0.0.1:${port}` },
    store: { bind: `tcp://127.0.0.1:${port + 1}` },
    security: { secretKeyFile: keyFile },
    peers: [U],
  };
  const child = fork(bundle, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
  const ids = async () => (await request('identities', { pattern: 'qis.>' })).identities;
  return { name, ready, request, ids };
}

async function waitFor(what, check) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${TIMEOUT} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const obs = (delta) => ({ domain: 'boot', problemClass: 'exchange', outcomeDelta: delta, confidence: 0.9, nObservations: 10 });

async function exchange() {
  const b = startAgent('B', join(state, 'b.key'), 5610);
  const c = startAgent('C', join(state, 'c.key'), 5620);
  const [rb, rc] = await Promise.all([b.ready, c.ready]);
  say(`B ${rb.nodeId} and C ${rc.nodeId} ready, subscribed to U ${uNode}`);
  await waitFor('B and C linked to U', async () => {
    const s = await Promise.all([b.request('stats'), c.request('stats')]);
    return s.every((x) => (x.stats.peers ?? []).every((p) => p.up));
  });
  // U subscribes to B and C too (its peers); a packet published before U's SUB is connected is
  // caught up from B's and C's stores, so no wait is needed on that side.
  const [seqB] = (await b.request('observe', { observations: [obs(0.4)] })).seqs;
  const [seqC] = (await c.request('observe', { observations: [obs(0.6)] })).seqs;
  const fromU = (list) => list.filter((id) => id.startsWith(`${uNode}:`));
  await waitFor("U's synthesized packet at B and C", async () => fromU(await b.ids()).length > 0 && fromU(await c.ids()).length > 0);
  const uIds = fromU(await b.ids());
  say(`U received B:${seqB} and C:${seqC}, synthesized ${uIds.join(' ')}, which B and C received`);
  console.log(`ids ${rb.nodeId}:${seqB} ${rc.nodeId}:${seqC} ${uIds.join(' ')}`);
}

async function check() {
  const d = startAgent('D', join(state, 'b.key'), 5610);
  const rd = await d.ready;
  say(`D ${rd.nodeId} ready (empty store), catching up from U`);
  let missing = want;
  await waitFor(`D to catch up ${want.join(' ')} from U's store`, async () => {
    const have = new Set(await d.ids());
    missing = want.filter((id) => !have.has(id));
    return missing.length === 0;
  }).catch((err) => {
    throw new Error(`${err.message}; missing ${missing.join(' ')}`);
  });
  say(`U's store holds all ${want.length} packets: ${want.join(' ')}`);
}

let code = 0;
const timer = setTimeout(() => {
  say(`FAIL: no result within ${TIMEOUT * 2} ms`);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
}, TIMEOUT * 2);
try {
  await (mode === 'exchange' ? exchange() : check());
  say(`PASS ${mode}`);
} catch (err) {
  say(`FAIL ${mode}: ${err.message}`);
  code = 1;
} finally {
  clearTimeout(timer);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  process.exit(code);
}

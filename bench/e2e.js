/**
 * End to end over TCP loopback, two processes each side, in one run:
 *
 *   raw       zeromq.js PUB → SUB, one 512-byte payload per message (un-awaited sends, HWM 0)
 *   qis-edge  agent → agent: publish() of packets on the sender (stored, synthesized, batched on
 *             PUB); on the receiver every packet verified, stored and synthesized
 *   CURVE     the same agents with CURVE on their link (keys in a temp dir, the receiver's key
 *             on the sender's allowlist): what securing the link costs
 *   raw, batches  zeromq.js PUB → SUB in the agent's framing (address, header, 64 packets),
 *             plain and with CURVE: what CURVE costs libzmq alone, the bound for the agents
 *
 * Throughput: a burst of N packets, from the parent's "go" to the receiver holding all N
 * (rounds interleaved raw/qis-edge; medians). Latency at low rate: one message every 5 ms (after one uncounted round);
 * raw one-way send → receive, and qis-edge observe() on the sender → the synthesis event it
 * causes on the receiver (the same monotonic clock in all processes).
 */
import { fork } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as zmq from "zeromq";
import { median, table } from "./lib/harness.js";

const NODE = fileURLToPath(new URL("./lib/e2e-node.js", import.meta.url));
const N = Number(process.env.QIS_BENCH_E2E_N ?? 200_000);
const ROUNDS = Number(process.env.QIS_BENCH_E2E_ROUNDS ?? 7);
const PINGS = 800;
const PING_MS = 5;
const LAT_SLICES = 16;
/** packets per message in the raw runs with the agent's framing: its default batch.size */
const RAW_BATCH = 64;
const hr = () => process.hrtime.bigint();

function start(role, ...args) {
  // QIS_BENCH_E2E_PROF=DIR: CPU profiles of the agent processes, for finding the bottleneck.
  const prof = process.env.QIS_BENCH_E2E_PROF && role.startsWith("agent") ? ["--cpu-prof", `--cpu-prof-dir=${process.env.QIS_BENCH_E2E_PROF}`, `--cpu-prof-name=${role}.cpuprofile`] : [];
  const child = fork(NODE, [role, ...args], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: prof });
  const waiters = [];
  // Events nobody waits for yet are kept: a child may answer before the parent asks.
  const early = [];
  child.on("message", (m) => {
    const i = waiters.findIndex((w) => w.event === m.event);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else early.push(m);
  });
  child.on("exit", (code) => {
    if (code !== 0) for (const w of waiters) w.reject(new Error(`${role} exited with ${code}`));
  });
  return {
    child,
    next: (event) =>
      new Promise((resolve, reject) => {
        const i = early.findIndex((m) => m.event === event);
        if (i >= 0) resolve(early.splice(i, 1)[0]);
        else waiters.push({ event, resolve, reject });
      }),
    send: (m) => child.send(m),
  };
}

/** Raw zeromq.js: one packet per message (k 1), or k per message in the agent's 3 frames, optionally with CURVE. */
async function raw(k = 1, curve = false) {
  const keys = curve ? { server: zmq.curveKeyPair(), client: zmq.curveKeyPair() } : null;
  const pub = start("raw-pub", String(k), JSON.stringify(keys));
  const { endpoint } = await pub.next("ready");
  const sub = start("raw-sub", endpoint, JSON.stringify(keys));
  await sub.next("ready");
  const warm = sub.next("warm");
  pub.send({ op: "warm" });
  await warm;
  pub.send({ op: "warm-done" });
  await new Promise((r) => setTimeout(r, 50));
  return {
    async burst() {
      const done = sub.next("done");
      sub.send({ op: "burst", n: N });
      await new Promise((r) => setTimeout(r, 20));
      const t0 = hr();
      pub.send({ op: "burst", n: N });
      const { t } = await done;
      return N / (Number(BigInt(t) - t0) / 1e9);
    },
    async latency(n = PINGS) {
      const got = sub.next("latency");
      sub.send({ op: "ping", n });
      await new Promise((r) => setTimeout(r, 20));
      pub.send({ op: "ping", n, intervalMs: PING_MS });
      return (await got).us;
    },
    close() {
      pub.send({ op: "exit" });
      sub.send({ op: "exit" });
    },
  };
}

/**
 * A sender and a receiver agent. `synth`: the synthesis settings of both (the defaults for
 * throughput; "emit on every change" for the latency pair, whose receiver must answer each
 * packet with a synthesis event).
 */
async function agents(synth, curve = false) {
  let keys = null;
  if (curve) {
    const { writeNewKeyFile } = await import("../dist/agent/keys.js");
    const dir = mkdtempSync(join(tmpdir(), "qis-bench-keys-"));
    keyDirs.push(dir);
    const s = join(dir, "sender.key");
    const r = join(dir, "receiver.key");
    keys = { sender: { file: s, ...writeNewKeyFile(s) }, receiver: { file: r, ...writeNewKeyFile(r) } };
  }
  const sender = start("agent-send", JSON.stringify(synth), JSON.stringify(keys ? { secretKeyFile: keys.sender.file, allow: [keys.receiver.publicKey] } : null));
  const { pub, store } = await sender.next("ready");
  const peer = { name: "sender", pub, store, ...(keys ? { publicKey: keys.sender.publicKey } : {}) };
  const receiver = start("agent-recv", JSON.stringify(synth), JSON.stringify(peer), JSON.stringify(keys ? { secretKeyFile: keys.receiver.file } : null));
  await receiver.next("ready");
  await receiver.next("caught-up");
  let lastStats = null;
  /** [sender, receiver] CPU µs per packet, per round */
  const cpu = [];
  return {
    async burst() {
      const prepared = sender.next("prepared");
      sender.send({ op: "prepare", n: N });
      await prepared;
      const done = receiver.next("done");
      receiver.send({ op: "burst", n: N });
      await new Promise((r) => setTimeout(r, 20));
      const sent = sender.next("sent-burst");
      const t0 = hr();
      sender.send({ op: "burst", n: N });
      const m = await done;
      lastStats = m.stats;
      await sent;
      const s = sender.next("cpu");
      sender.send({ op: "cpu" });
      const sc = await s;
      cpu.push([sc.cpuUs, m.cpuUs, sc.ioUs, m.ioUs]);
      return N / (Number(BigInt(m.t) - t0) / 1e9);
    },
    async latency(n = PINGS) {
      const sent = sender.next("sent");
      sender.send({ op: "ping", n, intervalMs: PING_MS });
      const s = (await sent).sent;
      await new Promise((r) => setTimeout(r, 100));
      const synthP = receiver.next("synth");
      receiver.send({ op: "collect" });
      const { synth } = await synthP;
      const us = [];
      const seen = new Set();
      for (const [seq, t] of synth) {
        if (s[seq] === undefined || seen.has(seq)) continue;
        seen.add(seq);
        us.push(Number(BigInt(t) - BigInt(s[seq])) / 1000);
      }
      return us;
    },
    stats: () => lastStats,
    /** medians: [sender, receiver, sender's I/O thread, receiver's I/O thread] CPU µs per packet */
    cpu: () => [0, 1, 2, 3].map((i) => median(cpu.map((c) => c[i]))),
    close() {
      sender.send({ op: "exit" });
      receiver.send({ op: "exit" });
    },
  };
}

const keyDirs = [];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmtRate = (x) => `${(x / 1000).toFixed(0)}k/s`;
const us = (x) => `${x.toFixed(0)} µs`;
const cpuUs = (x) => x.toFixed(2);
const signedUs = (x) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(2)}`;
const signed = (x) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(0)} µs`;

async function main() {
  const r = await raw();
  const rawRates = [];
  const qisRates = [];
  // Latency first, on idle processes; then the throughput rounds, interleaved. Like the
  // throughput rounds, each side first runs one latency round that is not counted: a fresh
  // process runs its first messages in V8's interpreter, which is start-up, not the steady
  // state of an agent that has been up for a while.
  await r.latency();
  const lat = await agents({ minContributors: 1, minIntervalMs: 0, minDelta: 0 });
  await lat.latency();
  const latC = await agents({ minContributors: 1, minIntervalMs: 0, minDelta: 0 }, true);
  await latC.latency();
  // Alternated in slices, so that the three see the same machine (it is shared and its load moves).
  const rawLat = [];
  const qisLat = [];
  const curveLat = [];
  // The order turns round every slice (raw, plain, CURVE; then CURVE, plain, raw; ...): a slice
  // can be slowed by the one before it (the previous pair's sweeps and GC), which must not always
  // fall on the same side.
  const slice = PINGS / LAT_SLICES;
  const sides = [async () => rawLat.push(...(await r.latency(slice))), async () => qisLat.push(...(await lat.latency(slice))), async () => curveLat.push(...(await latC.latency(slice)))];
  for (let k = 0; k < LAT_SLICES; k++) for (const side of k % 2 === 0 ? sides : [...sides].reverse()) await side();
  lat.close();
  latC.close();
  const q = await agents({});
  const qc = await agents({}, true);
  const rb = await raw(RAW_BATCH);
  const rbc = await raw(RAW_BATCH, true);
  const curveRates = [];
  const rawBatchRates = [];
  const rawCurveRates = [];
  const runs = [
    [r, rawRates],
    [rb, rawBatchRates],
    [rbc, rawCurveRates],
    [q, qisRates],
    [qc, curveRates],
  ];
  // One warm-up round each (JIT), not counted.
  for (const [side] of runs) await side.burst();
  // The order turns round every round, so that no side always follows the same one.
  for (let i = 0; i < ROUNDS; i++) {
    for (const [side, rates] of i % 2 === 0 ? runs : [...runs].reverse()) rates.push(await side.burst());
    process.stderr.write(`round ${i + 1}: raw ${fmtRate(rawRates.at(-1))}, raw batches ${fmtRate(rawBatchRates.at(-1))} (CURVE ${fmtRate(rawCurveRates.at(-1))}), qis-edge ${fmtRate(qisRates.at(-1))}, with CURVE ${fmtRate(curveRates.at(-1))}\n`);
  }
  for (const [side] of runs) side.close();
  for (const d of keyDirs) rmSync(d, { recursive: true, force: true });
  const curveRate = median(curveRates);
  const pairs = curveRates.map((c, i) => c / qisRates[i]);
  const curveP50 = pct(curveLat, 50);
  const rawRate = median(rawRates);
  const qisRate = median(qisRates);
  const rawP50 = pct(rawLat, 50);
  const qisP50 = pct(qisLat, 50);
  const ok = (b) => (b ? "**pass**" : "**miss**");
  const md = [
    `Two processes per side over TCP loopback. Throughput: a burst of ${N.toLocaleString("en")} packets, from "go" to the receiver holding all of them (the sender's packets are encoded before each round into one buffer reused from round to round, and handed to \`publish()\` 1,024 at a time; the receiver's store is larger than the sender's, so that a packet re-sent by catch-up is always a duplicate, never counted twice); median of ${ROUNDS} interleaved rounds (the order reversed every round) after one warm-up round each. Latency: ${PINGS} messages, one every ${PING_MS} ms, in ${LAT_SLICES} slices alternated between raw, qis-edge and qis-edge with CURVE (the order reversed every slice), after one uncounted round of ${PINGS} on each side.`,
    "",
    table(
      ["", "raw zeromq.js (1 packet/message)", "qis-edge agents", "ratio", "target"],
      [
        ["packets/s delivered (qis-edge: verified, stored, synthesized)", fmtRate(rawRate), fmtRate(qisRate), `${(qisRate / rawRate).toFixed(2)}×`, `≥ 3× and ≥ 500k/s: ${ok(qisRate >= 3 * rawRate && qisRate >= 500_000)}`],
        ["p50 latency (raw: send → receive; qis-edge: observe → synthesis event on the peer)", us(rawP50), us(qisP50), `${(qisP50 / rawP50).toFixed(2)}×`, `≤ 2×: ${ok(qisP50 <= 2 * rawP50)}`],
        ["p99 latency", us(pct(rawLat, 99)), us(pct(qisLat, 99)), `${(pct(qisLat, 99) / pct(rawLat, 99)).toFixed(2)}×`, ""],
      ],
    ),
    "",
    `Rounds (packets/s): raw ${rawRates.map(fmtRate).join(", ")}; qis-edge ${qisRates.map(fmtRate).join(", ")}.`,
    "",
    "The same agents with CURVE on their link (docs/security.md): the receiver authenticates the sender's key, the sender's ZAP handler lets the receiver's key in; rounds alternated with the plain ones above.",
    "",
    table(
      ["", "qis-edge, plain link", "qis-edge, CURVE", "CURVE vs plain", "target"],
      [
        ["packets/s delivered", fmtRate(qisRate), fmtRate(curveRate), `${(curveRate / qisRate).toFixed(2)}×`, `≥ 0.6×: ${ok(curveRate >= 0.6 * qisRate)}`],
        ["p50 latency (observe → synthesis event on the peer)", us(qisP50), us(curveP50), signed(curveP50 - qisP50), `≤ +50 µs: ${ok(curveP50 - qisP50 <= 50)}`],
        ["p99 latency", us(pct(qisLat, 99)), us(pct(curveLat, 99)), signed(pct(curveLat, 99) - pct(qisLat, 99)), ""],
      ],
    ),
    "",
    `Rounds with CURVE (packets/s): ${curveRates.map(fmtRate).join(", ")}; CURVE / plain round by round (each pair ran back to back): ${pairs.map((x) => x.toFixed(2)).join(", ")}, median ${median(pairs).toFixed(2)}× (the machine's load moves between rounds; a pair sees about the same). Latency samples with CURVE: ${curveLat.length}.`,
    "",
    `Where CURVE's cost goes: CPU per packet, median over the rounds (warm-up included), of the whole process and of its libzmq I/O thread (which encrypts and decrypts; from /proc, 10 ms ticks), and raw zeromq.js in the agent's framing (${RAW_BATCH} packets per message, 3 frames, HWM 0), plain and with CURVE, in the same rounds:`,
    "",
    table(
      ["", "plain link", "CURVE", "CURVE − plain"],
      [
        ["sender: process (its I/O thread) µs/packet", `${cpuUs(q.cpu()[0])} (${cpuUs(q.cpu()[2])})`, `${cpuUs(qc.cpu()[0])} (${cpuUs(qc.cpu()[2])})`, `${signedUs(qc.cpu()[0] - q.cpu()[0])} (${signedUs(qc.cpu()[2] - q.cpu()[2])})`],
        ["receiver: process (its I/O thread) µs/packet", `${cpuUs(q.cpu()[1])} (${cpuUs(q.cpu()[3])})`, `${cpuUs(qc.cpu()[1])} (${cpuUs(qc.cpu()[3])})`, `${signedUs(qc.cpu()[1] - q.cpu()[1])} (${signedUs(qc.cpu()[3] - q.cpu()[3])})`],
        [`raw zeromq.js, ${RAW_BATCH} packets/message: packets/s`, fmtRate(median(rawBatchRates)), fmtRate(median(rawCurveRates)), `${(median(rawCurveRates) / median(rawBatchRates)).toFixed(2)}×`],
      ],
    ),
    "",
    `Raw rounds (packets/s), ${RAW_BATCH} packets/message: plain ${rawBatchRates.map(fmtRate).join(", ")}; CURVE ${rawCurveRates.map(fmtRate).join(", ")}.`,
    `Receiver with CURVE after the last round: ${JSON.stringify(qc.stats())}.`,
    `CPU per packet (median over the rounds, warm-up included): sender ${q.cpu()[0].toFixed(2)} µs (store with verify, synthesis, batching, send), receiver ${q.cpu()[1].toFixed(2)} µs (receive, verify, store, synthesis).`,
    `Receiver after the last round: ${JSON.stringify(q.stats())}. Latency samples: raw ${rawLat.length}, qis-edge ${qisLat.length}.`,
  ];
  process.stdout.write(md.join("\n") + "\n");
  if (process.env.QIS_BENCH_OUT) writeFileSync(process.env.QIS_BENCH_OUT, JSON.stringify({ title: "End to end: two agents vs raw zeromq.js (`bench/e2e.js`)", markdown: md.join("\n") }));
  setTimeout(() => process.exit(0), 500).unref();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

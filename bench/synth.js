/**
 * Synthesis update throughput: SynthEngine.add per packet (interning, dedup, weight, compensated
 * estimate, class/domain consensus, emission checks, with expiry running in steady state),
 * against two baselines on the same packets: a naive re-scan (recompute the address's estimate
 * from its list of live contributions on every add) and a plain Map accumulator (incremental
 * float sums, no expiry). Run through bench/run.js (`npm run build && node bench/run.js synth`),
 * which writes its section of BENCHMARKS.md; run alone (`node --expose-gc bench/synth.js`) it
 * only prints.
 *
 * Diagnostics: BENCH_FILTER=<regex on measurement ids>, BENCH_RUNS=<n> (default 11),
 * BENCH_MIN_RUN_MS (default 60).
 */
import { writeFileSync } from "node:fs";
import { performance, PerformanceObserver } from "node:perf_hooks";
import { codec, FLAG_SYNTHESIZED, PACKET_SIZE, PacketView } from "../dist/index.js";
import { SynthEngine } from "../dist/synth/index.js";
import { measureAll, ns, rate, ratio, table, prng } from "./lib/harness.js";

const N = 4096; // packets in the stream (2 MiB, cache-warm as just-verified packets are); each timed pass replays it with fresh seq and time
const SEED = 0x5e17_0001;
const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const MIN_RUN_MS = Number(process.env.BENCH_MIN_RUN_MS ?? 60);
const FILTER = process.env.BENCH_FILTER ? new RegExp(process.env.BENCH_FILTER) : null;
const TARGET = 5e6;
const CAPACITY = 32_768;
const ALLOC_PASSES = 256; // ≈ 1M packets
const log = (...a) => console.error(...a);

const DOMAINS = ["hvac", "iot", "grid", "water", "agri", "fleet", "health", "retail"];
const CLASSES = ["energy-anomaly", "bearing-wear", "hotspot", "cavitation"];
const TTLS = [5, 10, 20, 30];
const RAW_NODES = 24;
const SYNTH_NODES = 8;
const T0 = 1_760_000_000_000;

// ---------------------------------------------------------------------------------------------
// The stream: 64 addresses (8 domains × 4 classes, each at depth 3 and 4), 24 nodes sending raw
// packets and 8 more sending synthesized ones (hops 1..2, about 10%), random delta, confidence,
// n_observations and ttl 5..30 s; one packet per millisecond of stream time, so about 16,000
// contributions are live and about one expires per add once the stream runs.

function makeStream() {
  const r = prng(SEED);
  const int = (n) => Math.floor(r() * n);
  const addresses = [];
  for (const d of DOMAINS) for (const c of CLASSES) addresses.push(`qis.${d}.${c}`, `qis.${d}.${c}.site-${int(100)}`);
  const nodes = Array.from({ length: RAW_NODES + SYNTH_NODES }, () => Uint8Array.from({ length: 16 }, () => int(256)));
  const buf = new Uint8Array(N * PACKET_SIZE);
  let synthesized = 0;
  for (let i = 0; i < N; i++) {
    const synth = r() < 0.1;
    if (synth) synthesized++;
    codec.encode(
      {
        flags: synth ? FLAG_SYNTHESIZED : 0,
        hops: synth ? 1 + int(2) : 0,
        timestampMs: T0 + i,
        ttlS: TTLS[int(TTLS.length)],
        nObservations: 1 + Math.floor(r() ** 3 * 5000),
        outcomeDelta: Math.tanh((r() - 0.4) * 3),
        confidence: 0.2 + 0.8 * r(),
        seq: i,
        nodeId: synth ? nodes[RAW_NODES + int(SYNTH_NODES)] : nodes[int(RAW_NODES)],
        address: addresses[int(addresses.length)],
      },
      buf,
      i * PACKET_SIZE,
    );
  }
  return { buf, addresses, synthesized };
}

/**
 * Re-stamps the stream for pass p: seq = p·N + i and timestamp = T0 + p·N + i, written in place
 * (the engine trusts verified packets, so the CRC is not redone). Costs a few ns per packet and is
 * inside every timed pass, engine and baselines alike.
 */
function restamp(buf, p) {
  const base = p * N;
  const dv = restampView(buf);
  for (let i = 0; i < N; i++) {
    const o = i * PACKET_SIZE;
    const v = base + i;
    const ts = T0 + v;
    const lo = ts >>> 0; // ts mod 2^32 (ToUint32); a % on this double is a call to fmod, 13 ns per packet
    // three little-endian words (the high words of both fields stay below 2^16 and 2^32 here);
    // byte stores took 10 per packet, 6 % of a pass
    dv.setUint32(o + 8, lo, true);
    dv.setUint32(o + 12, (ts - lo) / 4294967296, true);
    dv.setUint32(o + 32, v, true);
  }
  return T0 + base;
}

const views = new WeakMap();
function restampView(buf) {
  let dv = views.get(buf);
  if (dv === undefined) views.set(buf, (dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)));
  return dv;
}

// ---------------------------------------------------------------------------------------------
// Baselines (plain JS, the way one would first write it).

/** Naive re-scan: per address, an array of contribution objects; every add filters out the
 * expired ones and recomputes Σw, Σw·δ and the distinct nodes; the domain's consensus is then
 * recomputed from its addresses' sums. */
class NaiveRescan {
  constructor() {
    this.byAddress = new Map();
    this.byDomain = new Map();
  }
  add(v, now) {
    const address = v.address;
    let a = this.byAddress.get(address);
    if (a === undefined) {
      const domain = address.split(".")[1];
      a = { list: [], W: 0, S: 0, nodes: 0, estimate: NaN };
      this.byAddress.set(address, a);
      let d = this.byDomain.get(domain);
      if (d === undefined) this.byDomain.set(domain, (d = { addresses: [], strength: 0 }));
      d.addresses.push(a);
    }
    const ttl = v.ttlS;
    const w = v.confidence * Math.log1p(v.nObservations);
    const b = v.buf;
    const o = v.nodeIdOffset;
    const node = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
    a.list.push({ w, wd: w * v.outcomeDelta, exp: ttl === 0 ? Infinity : v.timestampMs + ttl * 1000, node });
    let W = 0;
    let S = 0;
    let k = 0;
    const seen = new Set();
    for (const c of a.list) {
      if (c.exp <= now) continue;
      a.list[k++] = c;
      W += c.w;
      S += c.wd;
      seen.add(c.node);
    }
    a.list.length = k;
    a.W = W;
    a.S = S;
    a.nodes = seen.size;
    a.estimate = W > 0 ? S / W : NaN;
    const d = this.byDomain.get(address.split(".")[1]);
    let dW = 0;
    let dS = 0;
    for (const x of d.addresses) {
      dW += x.W;
      dS += x.S;
    }
    d.strength = dW > 0 ? Math.abs(dS / dW) : 0;
  }
  /** The estimate at `now`, re-scanned (for the sanity check). */
  estimateAt(address, now) {
    let W = 0;
    let S = 0;
    for (const c of this.byAddress.get(address)?.list ?? []) {
      if (c.exp <= now) continue;
      W += c.w;
      S += c.wd;
    }
    return S / W;
  }
}

/** Plain Map accumulator: incremental float sums per address and per domain; no expiry, no
 * compensation, no dedup, no node table: the cheapest thing that gives a (never expiring) estimate. */
class MapAccumulator {
  constructor() {
    this.byAddress = new Map();
    this.byDomain = new Map();
  }
  add(v) {
    const address = v.address;
    let a = this.byAddress.get(address);
    if (a === undefined) {
      const domain = address.split(".")[1];
      let d = this.byDomain.get(domain);
      if (d === undefined) this.byDomain.set(domain, (d = { W: 0, S: 0, strength: 0 }));
      a = { W: 0, S: 0, n: 0, packets: 0, estimate: NaN, domain: d };
      this.byAddress.set(address, a);
    }
    const w = v.confidence * Math.log1p(v.nObservations);
    const wd = w * v.outcomeDelta;
    a.W += w;
    a.S += wd;
    a.n += v.nObservations;
    a.packets++;
    a.estimate = a.S / a.W;
    const d = a.domain;
    d.W += w;
    d.S += wd;
    d.strength = Math.abs(d.S / d.W);
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const { buf, addresses, synthesized } = makeStream();
  const out = new Uint8Array(1024 * PACKET_SIZE); // drain target

  // The engine's clock: a closure reading a Float64Array (no HeapNumber per reading).
  // One closure shared by every engine here, so that the engine's call site stays monomorphic and
  // V8 inlines it (a clock call it does not inline returns a boxed double: 16 bytes per reading).
  const clock = new Float64Array([T0]);
  const now = () => clock[0];
  // Each engine/baseline has its own pass counter, so that its clock and seqs run on without
  // jumps, however the harness interleaves the measurements: steady state in every timed run.
  const passes = new Map();
  const nextPass = (who) => {
    const p = passes.get(who) ?? 1; // pass 0 is the sanity check's
    passes.set(who, p + 1);
    return p;
  };
  const newEngine = (native = true) =>
    new SynthEngine({
      native,
      nodeId: new Uint8Array(16).fill(0xee),
      now,
      maxContributions: CAPACITY,
      maxAddresses: 1024,
      maxNodesPerAddress: 32,
      minContributors: 2,
      minDelta: 0.02,
      minIntervalMs: 1000,
    });
  const engine = newEngine();
  const batchEngine = newEngine();
  // With the addon loaded the engines above add packets in C (native/synth.c); this one shows the TypeScript path.
  const usesNative = engine.usesNative;
  const tsBatchEngine = usesNative ? newEngine(false) : null;
  let drained = 0;

  // One pass of the engine: every packet through add(), the clock at the packet's time + 5 ms;
  // emitted packets drained every 1,024 packets (or left queued: at most one per address).
  const enginePass = (e, drain = true) => {
    const t = restamp(buf, nextPass(e));
    for (let i = 0; i < N; i++) {
      clock[0] = t + i + 5;
      e.addAt(buf, i * PACKET_SIZE);
      if (drain && (i & 1023) === 1023) drained += e.drain(out);
    }
  };
  // The same through addBatch(256 packets per call, one clock reading per call).
  const batchPass = (e) => {
    const t = restamp(buf, nextPass(e));
    for (let i = 0; i < N; i += 256) {
      clock[0] = t + i + 5;
      e.addBatch(buf, i * PACKET_SIZE, 256);
      if ((i & 1023) === 768) drained += e.drain(out);
    }
  };

  const naive = new NaiveRescan();
  const acc = new MapAccumulator();
  const view = new PacketView();
  const naivePass = () => {
    const t = restamp(buf, nextPass(naive));
    for (let i = 0; i < N; i++) naive.add(view.at(buf, i * PACKET_SIZE), t + i + 5);
  };
  const accPass = () => {
    restamp(buf, nextPass(acc));
    for (let i = 0; i < N; i++) acc.add(view.at(buf, i * PACKET_SIZE));
  };

  // Sanity: on the raw packets of one pass (synthesized ones follow rules the baseline lacks),
  // the engine and the naive re-scan agree on every estimate.
  {
    const e = newEngine();
    const nv = new NaiveRescan();
    const t = restamp(buf, 0);
    for (let i = 0; i < N; i++) {
      if ((buf[i * PACKET_SIZE + 4] & FLAG_SYNTHESIZED) !== 0) continue;
      clock[0] = t + i + 5;
      e.addAt(buf, i * PACKET_SIZE);
      nv.add(view.at(buf, i * PACKET_SIZE), clock[0]);
    }
    let maxDiff = 0;
    for (const a of addresses) maxDiff = Math.max(maxDiff, Math.abs(e.estimate(a).estimate - nv.estimateAt(a, clock[0])));
    if (!(maxDiff < 1e-9)) throw new Error(`engine and naive re-scan disagree: max difference ${maxDiff}`);
    log(`sanity: max |engine − naive re-scan| over ${addresses.length} addresses = ${maxDiff.toExponential(2)}`);
  }

  // Warm each engine so that the timed passes run in steady state (≈16k live contributions).
  for (let k = 0; k < 8; k++) {
    enginePass(engine);
    batchPass(batchEngine);
    if (tsBatchEngine) batchPass(tsBatchEngine);
  }

  const measurements = [];
  const add = (id, label, fn) => {
    if (!FILTER || FILTER.test(id)) measurements.push({ id, label, packets: N, fn });
  };
  add("engine.add", "SynthEngine.addAt, one packet per call", () => enginePass(engine));
  add("engine.batch", "SynthEngine.addBatch, 256 packets per call", () => batchPass(batchEngine));
  if (tsBatchEngine) add("engine.batch.ts", "SynthEngine.addBatch, TypeScript path", () => batchPass(tsBatchEngine));
  add("naive.rescan", "naive re-scan (array per address, recompute on add)", () => naivePass());
  add("map.acc", "Map accumulator (no expiry, no compensation)", () => accPass());
  add("restamp", "restamp only (inside every pass above)", () => restamp(buf, nextPass("restamp")));

  log(`synth bench: ${measurements.length} measurements × ${RUNS} runs (≥ ${MIN_RUN_MS} ms each), ${N} packets per pass`);
  const res = measureAll(measurements, { runs: RUNS, minRunMs: MIN_RUN_MS, log });

  const alloc = await allocation(engine, enginePass);
  const stats = engine.counters;
  const snap = engine.snapshot();
  report({ res, alloc, stats, snap, synthesized, addresses, footprint: engine.footprintBytes, drained, usesNative });
}

// Allocation: heapUsed and GC count around ≈1M packets through addAt, without and with drain().
async function allocation(engine, enginePass) {
  const gc = globalThis.gc;
  if (typeof gc !== "function") return null;
  const gcs = [];
  const obs = new PerformanceObserver((l) => gcs.push(...l.getEntries()));
  obs.observe({ entryTypes: ["gc"] });
  const tick = () => new Promise((r) => setImmediate(r));
  const rows = [];
  for (const [label, drain] of [
    ["`addAt` (emissions queued, coalesced per address)", false],
    ["`addAt` + `drain()` every 1,024 packets (`codec.encode` of each emitted packet)", true],
  ]) {
    enginePass(engine, drain);
    gc();
    gc();
    await tick();
    const emitted0 = engine.counters.emitted;
    const t0 = performance.now();
    const before = process.memoryUsage().heapUsed;
    for (let k = 0; k < ALLOC_PASSES; k++) enginePass(engine, drain);
    const after = process.memoryUsage().heapUsed;
    const t1 = performance.now();
    const emitted = engine.counters.emitted - emitted0;
    await tick();
    await tick();
    // GC entries arrive asynchronously: count those that started inside the measured loop.
    const during = gcs.filter((g) => g.startTime >= t0 && g.startTime <= t1).length;
    gcs.length = 0;
    const packets = ALLOC_PASSES * N;
    rows.push({ label, packets, emitted, delta: after - before, gcs: during, perPacket: (after - before) / packets });
  }
  obs.disconnect();
  return rows;
}

function report({ res, alloc, stats, snap, synthesized, addresses, footprint, drained, usesNative }) {
  const m = (id) => res.get(id)?.median ?? NaN;
  const md = [];
  const rows = [
    ["engine.add", "`SynthEngine.addAt`, one packet per call"],
    ["engine.batch", "`SynthEngine.addBatch`, 256 packets per call"],
    ["engine.batch.ts", "`SynthEngine.addBatch`, 256 packets per call, TypeScript path (`native: false`)"],
    ["naive.rescan", "baseline: naive re-scan (array of contributions per address, recomputed on every add; domain re-summed)"],
    ["map.acc", "baseline: plain `Map` accumulator (incremental float sums; no expiry, dedup, compensation or node table)"],
    ["restamp", "restamping the stream only (included in every row above)"],
  ]
    .filter(([id]) => res.has(id))
    .map(([id, label]) => [label, `${rate(m(id))}/s`, ns(m(id))]);
  const ratios = [];
  const addRatio = (what, a, b) => ratios.push([what, Number.isNaN(m(a) / m(b)) ? "n/a" : ratio(m(a), m(b))]);
  addRatio("engine add / naive re-scan", "engine.add", "naive.rescan");
  addRatio("engine add / Map accumulator", "engine.add", "map.acc");
  addRatio("engine addBatch / engine add", "engine.batch", "engine.add");
  if (res.has("engine.batch.ts")) addRatio("engine addBatch: C path / TypeScript path", "engine.batch", "engine.batch.ts");
  const targets = [];
  const target = (what, measured, ok) => targets.push([what, measured, ok === null ? "n/a" : ok ? "**pass**" : "**FAIL**"]);
  // The agent feeds the engine one received batch at a time (addBatch); addAt is reported too.
  const vb = m("engine.batch");
  target(`synthesis update ≥ ${rate(TARGET)} packets/s (\`addBatch\`, 256 per call)`, `${rate(vb)}/s`, Number.isNaN(vb) ? null : vb >= TARGET);
  const v = m("engine.add");
  target(`synthesis update ≥ ${rate(TARGET)} packets/s (\`addAt\`, one per call; informational)`, `${rate(v)}/s`, Number.isNaN(v) ? null : v >= TARGET);

  md.push(`### Method`);
  md.push("");
  md.push(
    `- **Stream**: ${N.toLocaleString("en")} valid packets from a fixed PRNG seed (mulberry32, 0x${SEED.toString(16)}): ${addresses.length} addresses ` +
      `(${DOMAINS.length} domains × ${CLASSES.length} problem classes, each at depth 3 and 4, e.g. \`${addresses[0]}\`, \`${addresses[1]}\`), ` +
      `${RAW_NODES} nodes sending raw packets and ${SYNTH_NODES} sending synthesized ones (${synthesized} packets, hops 1..2), ` +
      `random delta, confidence 0.2..1, n_observations 1..5000, ttl ${TTLS.join("/")} s; one packet per ms of stream time. ` +
      `Each timed pass first restamps every packet in place (seq = pass·N + i, timestamp = T0 + pass·N + i; ${ns(m("restamp"))} per packet, inside every row), ` +
      `so the packets are new to the engine and its clock moves ${(N / 1000).toFixed(1)} s per pass. The stream is ${(N * PACKET_SIZE / 2 ** 20).toFixed(0)} MiB: the restamp has just written each packet's first cache line; the engine reads two more per packet (the address), last touched a pass earlier.`,
  );
  md.push(
    `- **Engine**: \`new SynthEngine({ maxContributions: ${CAPACITY}, maxAddresses: 1024, maxNodesPerAddress: 32, minContributors: 2, minDelta: 0.02, minIntervalMs: 1000 })\` ` +
      `from \`dist/synth/index.js\`, ${usesNative ? "adding packets with the native addon's C path (native/synth.c; TypeScript interns an address on its first sight), and once more with `native: false` (the TypeScript path) for comparison" : "adding packets with the TypeScript path (the native addon is not loaded)"}, clock = a closure reading a \`Float64Array\` once per \`addAt\` (set to the packet's time + 5 ms), warmed by 8 passes so that the timed passes run in steady state: ` +
      `${snap.live.toLocaleString("en")} live contributions at the end, about one expiry per add. Every add interns the address (hash lookup + byte compare) and the node, checks duplicates, ` +
      `applies the echo/supersede rules, updates the address's compensated sums and the expiry order, and expires what is due (the same work in reverse); the emission checks run once per call, for the addresses that changed (the consensus of a domain is computed when read); ` +
      `emitted packets are queued and \`drain()\`ed (encoded with \`codec.encode\`) every 1,024 packets (${drained.toLocaleString("en")} drained in the whole run).`,
  );
  md.push(
    `- **Counters of the timed engine** (whole run): ${Object.entries(stats)
      .filter(([, x]) => x > 0)
      .map(([k, x]) => `${k} ${x.toLocaleString("en")}`)
      .join(", ")}.`,
  );
  md.push(
    `- **Baselines** read the same packets through one reused \`PacketView\` (address as a string, as plain code would): ` +
      `the naive re-scan keeps an array of contribution objects per address and, on every add, drops the expired ones and recomputes Σw, Σw·δ and the distinct nodes, ` +
      `then re-sums the domain's addresses; the Map accumulator only adds to float sums keyed by the address string (no expiry, no dedup, no compensation: ` +
      `the cost of the JavaScript one writes first, not of an equivalent). Each engine and baseline restamps with its own pass counter, so its clock runs on without jumps ` +
      `however the harness interleaves the runs.`,
  );
  md.push(
    `- **Timing**: \`bench/lib/harness.js\` \`measureAll\`: warm-up, then ${RUNS} interleaved runs of ≥ ${MIN_RUN_MS} ms; figures are **medians** of packets/s, ratios are ratios of medians from this run.`,
  );
  md.push(`- **Footprint**: the engine's typed arrays with this configuration hold ${(footprint / 2 ** 20).toFixed(2)} MiB (\`footprintBytes\`), allocated at construction.`);
  md.push(`- Nothing here is a test: target misses are reported, never failed on.`);
  md.push("");
  md.push(`### Results (median packets/s; ns per packet)`);
  md.push("");
  md.push(table(["operation", "packets/s", "per packet"], rows));
  md.push("");
  md.push(`### Ratios (same run)`);
  md.push("");
  md.push(table(["ratio", "value"], ratios));
  md.push("");
  md.push(`### Targets`);
  md.push("");
  md.push(table(["target", "measured", "result"], targets, "lrl"));
  md.push("");
  if (alloc) {
    md.push(`### Allocation on the add path (${alloc[0].packets.toLocaleString("en")} packets each, after two \`gc()\`; with 0 GCs during, the difference is everything allocated)`);
    md.push("");
    md.push(
      table(
        ["path", "emitted", "heapUsed after − before", "GCs during", "bytes / packet"],
        alloc.map((a) => [a.label, a.emitted.toLocaleString("en"), `${a.delta} B`, String(a.gcs), a.perPacket.toFixed(4)]),
      ),
    );
    md.push("");
  }

  const lines = ["", ...rows.map((r) => r.join(" | ")), "", ...ratios.map((r) => r.join(": ")), "", "targets:"];
  for (const t of targets) lines.push(`  ${t[2].replace(/\*/g, "")}  ${t[0]}: ${t[1]}`);
  if (alloc) for (const a of alloc) lines.push(`allocation, ${a.label}: ${a.delta} B over ${a.packets} packets (${a.emitted} emitted), ${a.gcs} GCs, ${a.perPacket.toFixed(4)} B/packet`);
  lines.push("", "spread (min..max of runs, packets/s):");
  for (const [id, r] of res) lines.push(`  ${id}: ${rate(r.min)}..${rate(r.max)} median ${rate(r.median)} (reps ${r.reps})`);
  console.log(lines.join("\n"));

  const outFile = process.env.QIS_BENCH_OUT;
  if (outFile && !FILTER) {
    writeFileSync(outFile, JSON.stringify({ title: "Synthesis engine (`bench/synth.js`)", markdown: md.join("\n") }));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

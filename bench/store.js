/**
 * Packet store: insert + index of 1,000,000 pre-encoded packets into a 100,000-slot store
 * (single inserts, trusted batches, verified batches, file-backed), queries by pattern over the
 * full store (exact, `*`, `>`; each query strategy), heap growth after a million inserts, and a
 * naive `Map<string, Buffer>` keyed by hex identity as the baseline. Run through bench/run.js
 * (`npm run build && node bench/run.js store`), which gives it a fresh process with
 * --expose-gc and writes its section of BENCHMARKS.md; run alone
 * (`node --expose-gc bench/store.js`) it only prints.
 *
 * Diagnostics: BENCH_RUNS=<n> timed runs (default 7), BENCH_FILTER=<regex on measurement ids>
 * times a subset (and writes nothing to BENCHMARKS.md).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { codec, compilePattern, nativeStatus, PACKET_SIZE } from "../dist/index.js";
import { PacketStore } from "../dist/store/index.js";
import { measureAll, rate, ratio, table } from "./lib/harness.js";
import { ADDRESSES, makePackets } from "./lib/packets.js";

const N = 1_000_000;
const CAPACITY = 100_000;
const CHUNK = 1_000; // packets per insertBatch call (a network batch)
const FILE_PACKETS = 200_000; // packets per file-mode pass (a pass writes 528 bytes per packet)
const SEED = 0x53544f52;
const NODES = 256;
const SITES = 83; // × 12 = 996 variant addresses qis.site<n>.a<m>
const DUP_EVERY = 100; // one packet in 100 is an exact copy of a recent one
const T0 = 1_760_000_000_000;
const NOW = T0 + 2_000; // the store's clock: nothing expires during the run (smallest ttl is 300 s)
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const FILTER = process.env.BENCH_FILTER ? new RegExp(process.env.BENCH_FILTER) : null;
const log = (...a) => console.error(...a);
const clock = () => NOW;

// ---------------------------------------------------------------------------------------------
// The packets: 1,000,000 pre-encoded, varied addresses and node ids, 1 % duplicates.

function encodeAll() {
  const buf = Buffer.allocUnsafeSlow(N * PACKET_SIZE);
  const per = 10_000;
  const nodeIds = Array.from({ length: NODES }, (_, i) => {
    const b = Buffer.alloc(16);
    b.writeUInt32LE((Math.imul(i + 1, 2654435761) >>> 0), 0);
    b.writeUInt32LE(i, 12);
    return b;
  });
  const seqs = new Array(NODES).fill(0);
  let dups = 0;
  for (let c = 0; c < N / per; c++) {
    const { list } = makePackets(per, SEED + c);
    for (let i = 0; i < per; i++) {
      const g = c * per + i;
      const p = list[i];
      const node = (Math.imul(g, 40503) >>> 7) % NODES;
      p.nodeId = nodeIds[node];
      p.seq = seqs[node]++;
      p.timestampMs = T0 + (g >> 10);
      p.address = addressOf(g);
    }
    codec.encodeBatch(list, buf, c * per * PACKET_SIZE);
  }
  // Duplicates: an exact copy of a packet 1..5,000 earlier (still in the store when re-sent).
  for (let g = DUP_EVERY; g < N; g += DUP_EVERY) {
    const from = g - 1 - ((g * 7919) % Math.min(5000, g));
    buf.copy(buf, g * PACKET_SIZE, from * PACKET_SIZE, (from + 1) * PACKET_SIZE);
    dups++;
  }
  const codes = new Uint8Array(N);
  if (codec.verifyBatch(buf, codes) !== N) throw new Error("not every bench packet verifies");
  return { buf, dups };
}

/**
 * Skewed like real traffic: 1/3 of the packets on the two qis.hvac addresses, 1/6 on the
 * other 10 base addresses, 1/2 spread over 996 `qis.site<n>.a<m>` addresses: 1,008 in all.
 */
let siteCount = 0;
function addressOf(g) {
  const r = g % 6;
  if (r < 2) return ADDRESSES[r === 0 ? 0 : 2]; // qis.hvac.energy-anomaly, qis.hvac.chiller.efficiency-drift
  if (r === 2) return ADDRESSES[[1, 3, 4, 5, 6, 7, 8, 9, 10, 11][(g >> 3) % 10]];
  const k = siteCount++;
  return `qis.site${k % SITES}.a${k % 12}`;
}

// ---------------------------------------------------------------------------------------------
// The naive baseline: a Map keyed by the hex identity, values copied out, the oldest key (kept
// in a FIFO array) deleted when full. (Deleting `map.keys().next().value` instead is quadratic
// in V8: the iterator skips every deleted entry from the front until the table is rehashed.)

class NaiveStore {
  map = new Map();
  order = new Array(CAPACITY).fill(null);
  next = 0;
  duplicates = 0;
  insert(buf, o) {
    const key = buf.toString("hex", o + 32, o + 56);
    if (this.map.has(key)) {
      this.duplicates++;
      return 1;
    }
    const old = this.order[this.next];
    if (old !== null) this.map.delete(old);
    this.order[this.next] = key;
    this.next = (this.next + 1) % CAPACITY;
    this.map.set(key, Buffer.from(buf.subarray(o, o + PACKET_SIZE)));
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const t0 = Date.now();
  const { buf, dups } = encodeAll();
  log(`store bench: ${N.toLocaleString("en")} packets encoded in ${((Date.now() - t0) / 1000).toFixed(1)} s (${dups} duplicates), native ${nativeStatus.loaded ? "loaded" : "absent"}`);
  const zeros = new Uint8Array(CHUNK); // trusted verdicts: all valid
  const chunks = Array.from({ length: N / CHUNK }, (_, c) => buf.subarray(c * CHUNK * PACKET_SIZE, (c + 1) * CHUNK * PACKET_SIZE));
  const tmp = mkdtempSync(join(tmpdir(), "qis-store-bench-"));
  let sink = 0;

  try {
    // --- inserts ---
    const stores = {
      single: new PacketStore({ capacity: CAPACITY, now: clock }),
      batch: new PacketStore({ capacity: CAPACITY, now: clock }),
      batchTs: new PacketStore({ capacity: CAPACITY, now: clock, native: false }),
      verified: new PacketStore({ capacity: CAPACITY, now: clock }),
      fileBatch: new PacketStore({ capacity: CAPACITY, now: clock, file: join(tmp, "batch.qis") }),
      fileSingle: new PacketStore({ capacity: CAPACITY, now: clock, file: join(tmp, "single.qis") }),
    };
    const naive = { store: new NaiveStore() };
    const measurements = [];
    const add = (id, label, packets, fn) => {
      if (!FILTER || FILTER.test(id)) measurements.push({ id, label, packets, fn });
    };
    add("insert.single", "`insert(buf, offset)`, one call per packet (trusted)", N, () => {
      const s = stores.single;
      for (let i = 0; i < N; i++) s.insert(buf, i * PACKET_SIZE);
    });
    add("insert.batch", `\`insertBatch(chunk, ${CHUNK}, verdicts)\`: batches of ${CHUNK}, verdicts passed (trusted)`, N, () => {
      const s = stores.batch;
      for (const c of chunks) sink += s.insertBatch(c, CHUNK, zeros);
    });
    add("insert.batch.ts", `the same, TypeScript path (\`native: false\`; the C path is the default with the addon)`, N, () => {
      const s = stores.batchTs;
      for (const c of chunks) sink += s.insertBatch(c, CHUNK, zeros);
    });
    add("insert.verified", `\`insertBatch(chunk)\`: batches of ${CHUNK}, verified by the store (\`codec.verifyBatch\`)`, N, () => {
      const s = stores.verified;
      for (const c of chunks) sink += s.insertBatch(c);
    });
    add("insert.file.batch", `file-backed \`insertBatch\`, batches of ${CHUNK}, trusted (${FILE_PACKETS.toLocaleString("en")} packets per pass)`, FILE_PACKETS, () => {
      const s = stores.fileBatch;
      for (let c = 0; c < FILE_PACKETS / CHUNK; c++) sink += s.insertBatch(chunks[c], CHUNK, zeros);
    });
    let fileFrom = 0; // each pass takes the next packets, so that they are not duplicates of the last pass
    add("insert.file.single", `file-backed \`insert\`, one call (one write) per packet (${(FILE_PACKETS / 4).toLocaleString("en")} per pass)`, FILE_PACKETS / 4, () => {
      const s = stores.fileSingle;
      const from = fileFrom;
      fileFrom = (fileFrom + FILE_PACKETS / 4) % N;
      for (let i = from; i < from + FILE_PACKETS / 4; i++) s.insert(buf, i * PACKET_SIZE);
    });
    add("naive.map", "baseline: `Map<hex identity, Buffer copy>`, oldest deleted first", N, () => {
      const s = naive.store;
      for (let i = 0; i < N; i++) s.insert(buf, i * PACKET_SIZE);
    });
    log(`inserts: ${measurements.length} measurements × ${RUNS} runs`);
    const ins = measureAll(measurements, { runs: RUNS, minRunMs: 60, warmupMs: 100, log });
    const full = stores.single;
    const fullStats = full.stats();
    for (const k of ["batch", "verified", "fileBatch", "fileSingle"]) stores[k].close();

    // --- queries over the full store ---
    const qm = [];
    const qinfo = new Map();
    /** `packets`: queries (or pages) per fn() call, so medians are queries/s (pages/s). */
    const addQ = (id, label, fn, results, packets = 1) => {
      if (FILTER && !FILTER.test(id)) return;
      qm.push({ id, label, packets, fn });
      qinfo.set(id, { label, results });
    };
    const count = (pattern, limit = Infinity) => full.query(pattern, 0, limit, () => {}).count;
    const patterns = [
      ["exact", "qis.site7.a7"],
      ["exact", "qis.hvac.energy-anomaly"],
      ["*", "qis.hvac.*"],
      ["*", "qis.iot.predictive-maintenance.*"],
      ["*", "qis.site7.*"],
      ["*", "qis.*.*.*"],
      [">", "qis.iot.>"],
      [">", "qis.hvac.>"],
      [">", "qis.>"],
      ["all", null],
    ];
    let visited = 0;
    const visit = () => {
      visited++;
    };
    // Distinct addresses in the store, to tell how many each pattern matches (merging takes at most 32).
    const distinct = new Set();
    full.forEach((b, o) => void distinct.add(b.toString("latin1", o + 96, o + 96 + b[o + 7])));
    const lists = (p) => (p === null ? distinct.size : [...distinct].filter((a) => compilePattern(p).match(a)).length);
    for (const [kind, p] of patterns) {
      const n = count(p);
      for (const strategy of kind === "exact" || kind === "all" ? ["auto"] : ["auto", "merge", "scan"]) {
        addQ(`query.${p}.${strategy}`, `${kind} \`${p}\`${strategy === "auto" ? "" : ` (${strategy} forced)`}`, () => {
          full.queryStrategy = strategy;
          visited += full.query(p, 0, Infinity, visit).count;
          full.queryStrategy = "auto";
        }, n);
        qinfo.get(`query.${p}.${strategy}`) && (qinfo.get(`query.${p}.${strategy}`).lists = lists(p));
      }
    }
    // A pattern the store has not just seen: the store keeps the last compiled pattern and its
    // per-address answers, so the figures above (the same pattern again and again, like a
    // client paging) skip compiling and matching; alternating two patterns defeats that.
    const coldPatterns = ["qis.iot.predictive-maintenance.*", "qis.iot.>"];
    let coldTurn = 0;
    addQ("query.cold", `\`${coldPatterns[0]}\` and \`${coldPatterns[1]}\` alternately (compile + match 1,008 addresses every query)`, () => {
      visited += full.query(coldPatterns[coldTurn++ & 1], 0, Infinity, visit).count;
    }, count(coldPatterns[0]));

    // Paging: a client catching up on one address, 10 per page.
    const pageAddr = "qis.site7.a7";
    const pages = Math.ceil(count(pageAddr) / 10);
    addQ("page.exact", `exact \`${pageAddr}\`, paged 10 at a time (per page)`, () => {
      let since = 0;
      for (let i = 0; i < pages; i++) since = full.query(pageAddr, since, 10, visit).next;
    }, 10, pages);
    // Copy form: every packet, 1,000 per page, into a caller buffer (as the network layer sends).
    const out = Buffer.allocUnsafeSlow(1000 * PACKET_SIZE);
    addQ("into.all", "`queryInto(qis.>, since, 1000, out)` pages over the whole store (per page)", () => {
      let since = 0;
      for (;;) {
        const r = full.queryInto("qis.>", since, 1000, out);
        sink += out[r.count > 0 ? 7 : 0];
        if (r.count < 1000) break;
        since = r.next;
      }
    }, 1000, Math.ceil(count("qis.>") / 1000));
    log(`queries: ${qm.length} measurements × ${RUNS} runs`);
    const qres = measureAll(qm, { runs: RUNS, minRunMs: 60, warmupMs: 150, log });
    if (visited === 0.5) log(visited);

    // --- memory: heap growth after a million inserts ---
    const mem = await memory(buf, chunks, zeros);
    if (sink === 0.5) log(sink);
    report({ ins, qres, qinfo, mem, fullStats, dups });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

async function memory(buf, chunks, zeros) {
  const gc = globalThis.gc;
  if (typeof gc !== "function") return null;
  const tick = () => new Promise((r) => setImmediate(r));
  const settle = async () => {
    gc();
    gc();
    await tick();
    gc();
    await new Promise((r) => setTimeout(r, 100)); // ArrayBuffer memory is released by a concurrent sweeper
    gc();
  };
  const gcs = [];
  const obs = new PerformanceObserver((l) => gcs.push(...l.getEntries()));
  obs.observe({ entryTypes: ["gc"] });
  const rows = [];
  const cases = [
    ["PacketStore `insert`", () => new PacketStore({ capacity: CAPACITY, now: clock }), (s) => { for (let i = 0; i < N; i++) s.insert(buf, i * PACKET_SIZE); }],
    ["PacketStore `insertBatch` (trusted)", () => new PacketStore({ capacity: CAPACITY, now: clock }), (s) => { for (const c of chunks) s.insertBatch(c, CHUNK, zeros); }],
    ["baseline `Map<string, Buffer>`", () => new NaiveStore(), (s) => { for (let i = 0; i < N; i++) s.insert(buf, i * PACKET_SIZE); }],
  ];
  for (const [label, make, fill] of cases) {
    await settle();
    const s = make();
    await settle();
    const m1 = process.memoryUsage();
    gcs.length = 0;
    fill(s);
    const m2 = process.memoryUsage(); // no GC forced: everything allocated during the inserts
    await new Promise((r) => setTimeout(r, 100)); // gc entries reach the observer asynchronously
    const duringGcs = gcs.length;
    await settle();
    const m3 = process.memoryUsage();
    rows.push({
      label,
      allocated: m2.heapUsed - m1.heapUsed,
      gcs: duringGcs,
      retained: m3.heapUsed - m1.heapUsed,
      external: m3.arrayBuffers - m1.arrayBuffers,
      stats: s instanceof PacketStore ? s.stats() : null,
    });
    if (s instanceof PacketStore) s.close();
  }
  obs.disconnect();
  return rows;
}

// ---------------------------------------------------------------------------------------------

function report({ ins, qres, qinfo, mem, fullStats, dups }) {
  const m = (id) => ins.get(id)?.median ?? qres.get(id)?.median ?? NaN;
  const MB = (b) => `${(b / 1e6).toFixed(2)} MB`;
  const md = [];
  const lines = [];

  md.push(`### Method`);
  md.push("");
  md.push(
    `- **Packets**: ${N.toLocaleString("en")} packets encoded once before timing (from \`bench/lib/packets.js\`, seed 0x${SEED.toString(16)}, ` +
      `then given ${NODES} node ids with per-node seqs, and skewed addresses: 1/3 of the packets on the two \`qis.hvac.…\` addresses, 1/6 on the other 10 ` +
      `base addresses of \`bench/lib/packets.js\`, 1/2 over ${SITES * 12} \`qis.site<n>.a<m>\` addresses (${(12 + SITES * 12).toLocaleString("en")} distinct); ttl 0 / 300 / 3600 / 86400 s; ` +
      `${dups.toLocaleString("en")} of them (1 in ${DUP_EVERY}) exact copies of a packet 1..5,000 earlier, so duplicates). 512 MB of packets, read once per pass.`,
  );
  md.push(
    `- **Store**: \`new PacketStore({ capacity: ${CAPACITY.toLocaleString("en")}, now })\` with a fixed clock, so nothing expires during a pass (the expiry order is still maintained). ` +
      `Each timed pass inserts all ${N.toLocaleString("en")} packets into the same store: after the first pass it is full, so every stored packet evicts the oldest ` +
      `(steady state: identity index, address lists, expiry order all updated per insert). Trusted paths skip verification (the network layer verifies batches with the native codec first). \`insertBatch\` copies each run of consecutive stored packets into the ring with one native copy (docs/store.md); \`insert\` copies packet by packet.`,
  );
  md.push(
    `- **Baseline**: a naive store, \`Map<string, Buffer>\` keyed by \`buf.toString("hex")\` of the 24 identity bytes, value a 512-byte \`Buffer.from\` copy, ` +
      `the oldest key deleted when full. It indexes identity only (no address index, no TTL), so the comparison flatters it.`,
  );
  md.push(
    `- **Timing**: \`measureAll\` of \`bench/lib/harness.js\`: warm-up, then ${RUNS} runs per measurement interleaved round-robin (load from other processes on this ` +
      `shared machine hits all alike). Figures are **medians**; ratios are ratios of medians from this run. File mode writes to \`${tmpdir()}\` with no fsync (the default).`,
  );
  md.push(
    `- **Queries** run over the full store (${fullStats.size.toLocaleString("en")} packets, ${fullStats.addresses.toLocaleString("en")} distinct addresses) with a visitor that counts, ` +
      `\`since\` 0, no limit. Each measurement repeats one pattern, so after the first query the store reuses the compiled pattern and its per-address match ` +
      `answers (as for a client paging); the *alternately* row shows a query that must compile and match. \`*\` and \`>\` patterns are also timed with each strategy forced.`,
  );
  md.push(
    `- **Memory**: with \`--expose-gc\`: a store is constructed, GC forced, then ${N.toLocaleString("en")} packets inserted; *allocated* = heapUsed after − before with no GC forced ` +
      `(GCs during the inserts counted), *retained* = the same after forcing GC (the heap growth target). The store's own memory is outside the V8 heap (\`arrayBuffers\`).`,
  );
  md.push(`- Nothing here is a test: target misses are reported, never failed on.`);
  md.push("");

  // Inserts.
  const insRows = [];
  for (const id of ["insert.single", "insert.batch", "insert.batch.ts", "insert.verified", "insert.file.batch", "insert.file.single", "naive.map"]) {
    const r = ins.get(id);
    if (!r) continue;
    const label = id === "naive.map" ? "baseline `Map<string, Buffer>`" : id;
    insRows.push([label, `${rate(r.median)}/s`, `${(1e9 / r.median).toFixed(0)} ns`, `${rate(r.min)}..${rate(r.max)}`]);
  }
  md.push(`### Inserts (median packets/s)`);
  md.push("");
  md.push(table(["path", "inserts/s", "per packet", "range of runs"], insRows));
  md.push("");
  if (!Number.isNaN(m("insert.batch")) && !Number.isNaN(m("insert.batch.ts")))
    md.push(`\`insertBatch\` (trusted), C path against the TypeScript path in the same run: ${ratio(m("insert.batch"), m("insert.batch.ts"))}.`, "");
  const legend = [...ins.entries()].map(([id]) => `\`${id}\`: ${measurementLabel(id)}`);
  md.push(legend.map((l) => `- ${l}`).join("\n"));
  md.push("");

  // Queries.
  const qRows = [];
  for (const [id, info] of qinfo) {
    const r = qres.get(id);
    if (!r) continue;
    const perQuery = r.median;
    const isPaged = id === "page.exact" || id === "into.all";
    qRows.push([
      info.label,
      isPaged ? `${info.results} per page` : info.results.toLocaleString("en"),
      isPaged ? `${rate(perQuery)} pages/s` : `${rate(perQuery)}/s`,
      `${rate(perQuery * info.results)}/s`,
      `${(1e6 / perQuery).toFixed(1)} µs`,
    ]);
  }
  md.push(`### Queries over the full store`);
  md.push("");
  md.push(table(["query", "results", "queries/s", "packets/s returned", "per query / page"], qRows));
  md.push("");

  // Strategy choice.
  const strat = [];
  const us = (qps) => `${(1e6 / qps).toFixed(1)} µs`;
  for (const [id, info] of qinfo) {
    const mm = /^query\.(.+)\.auto$/.exec(id);
    if (!mm || !qres.has(`query.${mm[1]}.merge`)) continue;
    const a = m(`query.${mm[1]}.auto`);
    const g = m(`query.${mm[1]}.merge`);
    const s = m(`query.${mm[1]}.scan`);
    const verdict = info.lists > 32 ? "scan only (> 32 addresses: \"merge\" scans too)" : g >= s ? `merge (${ratio(g, s)})` : `scan (${ratio(s, g)})`;
    strat.push([`\`${mm[1]}\``, String(info.lists), info.results.toLocaleString("en"), `${((100 * info.results) / fullStats.size).toFixed(1)} %`, us(g), us(s), us(a), verdict]);
  }
  if (strat.length > 0) {
    md.push(`### Query strategy: merge of per-address lists vs ring scan (time per query)`);
    md.push("");
    md.push(table(["pattern", "addresses matched", "results", "share of store", "merge", "scan", "auto", "faster"], strat, "lrrrrrrl"));
    md.push("");
  }

  // Memory.
  if (mem) {
    md.push(`### Memory (${N.toLocaleString("en")} inserts into a ${CAPACITY.toLocaleString("en")}-slot store)`);
    md.push("");
    md.push(
      table(
        ["path", "own memory (allocated at construction)", "heap allocated during inserts", "GCs during", "heap retained (after GC)", "ArrayBuffer growth during inserts"],
        mem.map((r) => [r.label, r.stats ? MB(r.stats.slotBytes + r.stats.indexBytes) : "—", MB(r.allocated), String(r.gcs), MB(r.retained), MB(r.external)]),
      ),
    );
    md.push("");
    const st = mem[0].stats;
    md.push(
      `Store memory (fixed at construction): slots ${MB(st.slotBytes)} (capacity × 512) + indexes ${MB(st.indexBytes)} ` +
        `(${(st.indexBytes / st.capacity).toFixed(1)} bytes per slot) = ${MB(st.slotBytes + st.indexBytes)}, all in ArrayBuffers outside the V8 heap.`,
    );
    md.push("");
  }

  // Targets.
  const targets = [];
  const target = (what, measured, ok) => targets.push([what, measured, ok === null ? "n/a" : ok ? "**pass**" : "**FAIL**"]);
  const best = Math.max(m("insert.single"), m("insert.batch"));
  target("insert + index ≥ 2M packets/s (`insert`, one per call; informational)", `${rate(m("insert.single"))}/s`, Number.isNaN(m("insert.single")) ? null : m("insert.single") >= 2e6);
  target("insert + index ≥ 2M packets/s (`insertBatch`, trusted)", `${rate(m("insert.batch"))}/s`, Number.isNaN(m("insert.batch")) ? null : m("insert.batch") >= 2e6);
  if (mem) {
    target("heap growth after 1M inserts < 5 MB (`insert`)", MB(mem[0].retained), mem[0].retained < 5e6);
    target("heap growth after 1M inserts < 5 MB (`insertBatch`)", MB(mem[1].retained), mem[1].retained < 5e6);
  }
  target("store vs naive Map baseline (best insert path)", ratio(best, m("naive.map")), Number.isNaN(best) ? null : best >= m("naive.map"));
  md.push(`### Targets`);
  md.push("");
  md.push(table(["target", "measured", "result"], targets, "lrl"));
  md.push("");

  // Console.
  lines.push("", "inserts:", ...insRows.map((r) => `  ${r.join(" | ")}`));
  lines.push("", "queries:", ...qRows.map((r) => `  ${r.join(" | ")}`));
  if (strat.length) lines.push("", "strategy:", ...strat.map((r) => `  ${r.join(" | ")}`));
  if (mem) lines.push("", "memory:", ...mem.map((r) => `  ${r.label}: own ${r.stats ? MB(r.stats.slotBytes + r.stats.indexBytes) : "—"}, allocated ${MB(r.allocated)} (${r.gcs} GCs), retained ${MB(r.retained)}, ArrayBuffers +${MB(r.external)}`));
  lines.push("", "targets:", ...targets.map((t) => `  ${t[2].replace(/\*/g, "")}  ${t[0]}: ${t[1]}`));
  console.log(lines.join("\n"));

  const outFile = process.env.QIS_BENCH_OUT;
  if (outFile && !FILTER) {
    writeFileSync(
      outFile,
      JSON.stringify({
        title: "Packet store (`bench/store.js`)",
        machine: {
          "native addon": nativeStatus.loaded ? `loaded, CRC-32C path \`${nativeStatus.crc}\`` : `not loaded (${nativeStatus.reason})`,
        },
        markdown: md.join("\n"),
      }),
    );
  }
}

function measurementLabel(id) {
  return {
    "insert.single": "`insert(buf, offset)`, one call per packet, trusted",
    "insert.batch": `\`insertBatch(chunk, ${CHUNK}, verdicts)\`, batches of ${CHUNK} with the caller's verdicts (trusted)`,
    "insert.verified": `\`insertBatch(chunk)\`, batches of ${CHUNK} verified by the store with \`codec.verifyBatch\``,
    "insert.file.batch": `file-backed, \`insertBatch\` trusted, batches of ${CHUNK} (one positioned write per 64 records), ${FILE_PACKETS.toLocaleString("en")} packets per pass`,
    "insert.file.single": `file-backed, \`insert\`, one positioned write per packet, ${(FILE_PACKETS / 4).toLocaleString("en")} packets per pass`,
    "naive.map": "baseline `Map<string, Buffer>` keyed by hex identity",
  }[id];
}


main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * The stdio protocol (`qis-edge run --stdio`, docs/stdio.md), in each framing, as a supervisor
 * sees it: the agent a child process, requests written to its stdin, acks read from its stdout.
 *
 *   throughput  a burst of N observations written at once; from the first byte written to the
 *               N-th ack read. Median of ROUNDS rounds (after a warm-up round), interleaved with
 *               the baseline. Also the agent's CPU time per observation (from /proc), which a
 *               shared machine disturbs less than the wall clock.
 *   latency     observations paced at a fixed rate (70% of the measured throughput, at most the
 *               target), written every millisecond, for LAT_MS; ack latency = ack read − request written.
 *   baseline    bench/lib/stdio-echo.js: a child answering each request with a fixed ack
 *               without parsing it: the pipes and processes alone.
 *   breakdown   in this process, CPU time per observation: decoding a request, the stdio layer
 *               with a stub agent, Agent.observe() and its parts, the whole session.
 */
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { Encoder } from "cbor-x";
import { median, table } from "./lib/harness.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(root, "bin/qis-edge.js");
const ECHO = join(root, "bench/lib/stdio-echo.js");
const N = Number(process.env.QIS_BENCH_STDIO_N ?? 200_000);
const ROUNDS = Number(process.env.QIS_BENCH_STDIO_ROUNDS ?? 5);
const LAT_MS = Number(process.env.QIS_BENCH_STDIO_LAT_MS ?? 2000);
const TARGET = { ndjson: 100_000, cbor: 150_000 };
/** The paced load, as a fraction of the measured throughput (capped at the target). */
const LOAD = Number(process.env.QIS_BENCH_STDIO_LOAD ?? 0.7);
/** A light load, for the latency of the protocol itself. */
const LIGHT = 10_000;
const hr = () => Number(process.hrtime.bigint()) / 1e6; // ms
const CLK_TCK = 100;

const encoder = new Encoder({ useRecords: false });
const request = (i) => ({
  op: "observe",
  id: i,
  domain: "hvac",
  problemClass: `energy-anomaly-${i % 16}`,
  outcomeDelta: Math.round(((i % 200) / 100 - 1) * 100) / 100,
  confidence: 0.87,
  nObservations: 1 + (i % 100),
});

function encodeAll(framing, from, count) {
  if (framing === "ndjson") {
    let s = "";
    for (let i = from; i < from + count; i++) s += `${JSON.stringify(request(i))}\n`;
    return Buffer.from(s);
  }
  const parts = [];
  for (let i = from; i < from + count; i++) {
    const body = encoder.encode(request(i));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    parts.push(head, Buffer.from(body));
  }
  return Buffer.concat(parts);
}

/** Message boundaries in the output: per chunk, how many complete messages arrived. */
function counter(framing) {
  let rest = Buffer.alloc(0);
  return (chunk) => {
    if (framing === "ndjson") {
      let n = 0;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
      return n;
    }
    const b = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let p = 0;
    let n = 0;
    while (b.length - p >= 4) {
      const len = b.readUInt32BE(p);
      if (b.length - p - 4 < len) break;
      p += 4 + len;
      n++;
    }
    rest = Buffer.from(b.subarray(p));
    return n;
  };
}

function cpuMsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** A child speaking the protocol (the agent, or the echo baseline); every message after the first is one ack. */
async function child(kind, framing) {
  const state = mkdtempSync(join(tmpdir(), "qis-bench-stdio-"));
  const args = kind === "agent" ? [BIN, "run", "--stdio", "--framing", framing, "--log-level", "warn"] : [ECHO, framing];
  const env = { ...process.env, QIS_EDGE_STATE_DIR: state };
  const c = spawn(process.execPath, args, { env, stdio: ["pipe", "pipe", "inherit"] });
  const count = counter(framing);
  let got = -1; // the first message is "ready"
  let onMessages = null;
  c.stdout.on("data", (d) => {
    const n = count(d);
    got += n;
    if (onMessages) onMessages(got, n);
  });
  await new Promise((resolve, reject) => {
    c.once("exit", (code) => reject(new Error(`${kind} exited (${code}) before it was ready`)));
    const t = setInterval(() => {
      if (got >= 0) {
        clearInterval(t);
        resolve();
      }
    }, 5);
  });
  c.removeAllListeners("exit");
  let base = 0;
  return {
    pid: c.pid,
    /** Writes `input` (count requests) at once; resolves with {ms, cpuMs} at the last ack. */
    burst(input, n) {
      base = got;
      const cpu0 = cpuMsOf(c.pid);
      return new Promise((resolve) => {
        const t0 = hr();
        onMessages = (total) => {
          if (total - base >= n) {
            onMessages = null;
            resolve({ ms: hr() - t0, cpuMs: cpuMsOf(c.pid) - cpu0 });
          }
        };
        c.stdin.write(input);
      });
    },
    /** Requests paced at `rate`/s for `ms`; resolves with the ack latencies (ms). */
    paced(input, offsets, rate, ms) {
      base = got;
      const total = Math.floor((rate * ms) / 1000);
      const sentAt = new Float64Array(total);
      const lat = [];
      return new Promise((resolve) => {
        onMessages = (all, n) => {
          const now = hr();
          for (let k = all - base - n; k < all - base; k++) lat.push(now - sentAt[k]);
          if (all - base >= total) {
            onMessages = null;
            resolve(lat);
          }
        };
        const t0 = hr();
        let sent = 0;
        const tick = () => {
          const due = Math.min(total, Math.floor(((hr() - t0) * rate) / 1000));
          if (due > sent) {
            const now = hr();
            for (let k = sent; k < due; k++) sentAt[k] = now;
            c.stdin.write(input.subarray(offsets[sent], offsets[due]));
            sent = due;
          }
          if (sent < total) setTimeout(tick, 1);
        };
        tick();
      });
    },
    async close() {
      const exited = new Promise((r) => c.once("exit", (code) => r(code)));
      const t0 = hr();
      c.stdin.end();
      const code = await exited;
      rmSync(state, { recursive: true, force: true });
      return { code, ms: hr() - t0 };
    },
  };
}

/** Byte offsets of each request in an encoded input (offsets[k] = start of request k, offsets[n] = end). */
function offsetsOf(framing, buf, n) {
  const off = new Float64Array(n + 1);
  let p = 0;
  for (let k = 0; k < n; k++) {
    off[k] = p;
    p = framing === "ndjson" ? buf.indexOf(10, p) + 1 : p + 4 + buf.readUInt32BE(p);
  }
  off[n] = p;
  return off;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const k = (x) => `${(x / 1000).toFixed(0)}k/s`;
const msf = (x) => (x < 1 ? `${(x * 1000).toFixed(0)} µs` : `${x.toFixed(2)} ms`);

async function measureFraming(framing) {
  const input = encodeAll(framing, 0, N);
  const warm = encodeAll(framing, 0, Math.min(N, 50_000));
  const agent = await child("agent", framing);
  const echo = await child("echo", framing);
  await agent.burst(warm, Math.min(N, 50_000));
  await echo.burst(warm, Math.min(N, 50_000));
  const rates = { agent: [], echo: [], agentCpu: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const e = await echo.burst(input, N);
    const a = await agent.burst(input, N);
    rates.echo.push((N * 1000) / e.ms);
    rates.agent.push((N * 1000) / a.ms);
    rates.agentCpu.push((N * 1000) / a.cpuMs);
    process.stderr.write(`${framing} round ${r + 1}: agent ${k(rates.agent.at(-1))} (cpu ${k(rates.agentCpu.at(-1))}), echo ${k(rates.echo.at(-1))}\n`);
  }
  const agentRate = median(rates.agent);
  const rate = Math.round(Math.min(TARGET[framing], LOAD * agentRate) / 1000) * 1000;
  const nLat = Math.floor((Math.max(rate, LIGHT) * Math.max(LAT_MS, 500)) / 1000);
  const latInput = encodeAll(framing, 0, nLat);
  const offsets = offsetsOf(framing, latInput, nLat);
  // Half a second at the same rate first, not counted: the latency of a running agent, not of its warm-up.
  await agent.paced(latInput, offsets, rate, 500);
  const latAgent = await agent.paced(latInput, offsets, rate, LAT_MS);
  await echo.paced(latInput, offsets, rate, 500);
  const latEcho = await echo.paced(latInput, offsets, rate, LAT_MS);
  // And at a light load.
  await agent.paced(latInput, offsets, LIGHT, 500);
  const latLight = await agent.paced(latInput, offsets, LIGHT, LAT_MS);
  const closed = await agent.close();
  await echo.close();
  process.stderr.write(`${framing}: paced ${k(rate)}: agent p50 ${msf(pct(latAgent, 50))} p99 ${msf(pct(latAgent, 99))}; exit ${closed.code} in ${closed.ms.toFixed(0)} ms\n`);
  return { framing, rates, agentRate, echoRate: median(rates.echo), cpuRate: median(rates.agentCpu), rate, latAgent, latEcho, latLight, closed };
}

// ---------------------------------------------------------------------------------------------
// In-process breakdown (CPU time of this thread)

const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const threadMs = () => Number(readFileSync(schedstat, "utf8").split(" ")[0]) / 1e6;

async function breakdown() {
  const { StdioSession } = await import("../dist/stdio/session.js");
  const { createAgent } = await import("../dist/agent/agent.js");
  const { resolveConfig } = await import("../dist/agent/config.js");
  const { createLogger } = await import("../dist/agent/log.js");
  const { parseObservation, observationToFields } = await import("../dist/agent/observation.js");
  const { buildAddress } = await import("../dist/address/index.js");
  const { codec } = await import("../dist/packet/index.js");
  const { cborDecoder } = await import("../dist/stdio/framing.js");
  const M = 50_000;
  const log = createLogger({ level: "silent" });
  class Stub extends EventEmitter {
    nodeId = "00";
    epoch = 1;
    endpoints = {};
    closed = false;
    seq = 1838369733106688;
    cursor = 0;
    observe() {
      return { address: "qis.hvac.energy-anomaly-3", seq: this.seq++, cursor: ++this.cursor };
    }
    observeMany(list) {
      return list.map(() => this.observe());
    }
    flush() {}
    async close() {}
    stats() {
      return {};
    }
    get patterns() {
      return [];
    }
  }
  const state = mkdtempSync(join(tmpdir(), "qis-bench-stdio-"));
  const agent = await createAgent(resolveConfig({ stateDir: state, log: { level: "silent" } }, { env: {} }));
  const inputs = { ndjson: encodeAll("ndjson", 0, M), cbor: encodeAll("cbor", 0, M) };
  const lines = inputs.ndjson.toString().split("\n").slice(0, M);
  const frames = [];
  for (let p = 0; p < inputs.cbor.length; ) {
    const n = inputs.cbor.readUInt32BE(p);
    frames.push(inputs.cbor.subarray(p + 4, p + 4 + n));
    p += 4 + n;
  }
  const objs = lines.map((l) => {
    const { op: _op, id: _id, ...o } = JSON.parse(l);
    return o;
  });
  const session = (framing, a) => () => {
    const input = new PassThrough();
    const output = new Writable({ write: (_c, _e, cb) => cb() });
    const listeners = ["synthesis", "peer", "error", "packet"].map((e) => a.listeners(e));
    new StdioSession(a, { framing, input, output, logger: log, parentPollMs: 0 });
    const buf = inputs[framing];
    for (let p = 0; p < buf.length; p += 65_536) input.emit("data", buf.subarray(p, p + 65_536));
    input.removeAllListeners();
    // Detach this session from the agent (the next run makes a new one).
    ["synthesis", "peer", "error", "packet"].forEach((e, i) => {
      a.removeAllListeners(e);
      for (const l of listeners[i]) a.on(e, l);
    });
  };
  const scratch = Buffer.alloc(512);
  const nodeId = Buffer.alloc(16, 7);
  const parts = [
    ["ndjson: Buffer → string → JSON.parse", () => lines.forEach((l) => JSON.parse(Buffer.from(l).toString()))],
    ["cbor: cbor-x decode of a frame", () => frames.forEach((f) => cborDecoder.decode(f))],
    ["stdio layer, ndjson (stub agent: read, dispatch, copy, ack, write)", session("ndjson", new Stub())],
    ["stdio layer, cbor (stub agent)", session("cbor", new Stub())],
    ["Agent.observe(): parseObservation (TypeBox check)", () => objs.forEach((o) => parseObservation(o))],
    ["Agent.observe(): buildAddress (normalize + syntax check)", () => objs.forEach((o) => buildAddress(o.domain, o.problemClass, []))],
    ["Agent.observe(): observationToFields + codec.encode", () => objs.forEach((o, i) => codec.encode(observationToFields(o, { nodeId, seq: i }), scratch, 0))],
    ["Agent.observe() whole (+ store.insert, synth.addAt, publish)", () => objs.forEach((o) => agent.observe(o))],
    ["Agent.observeMany() in batches of 256 (what the session calls)", () => {
      for (let i = 0; i < objs.length; i += 256) agent.observeMany(objs.slice(i, i + 256));
    }],
    ["whole session, ndjson (real agent, in process)", session("ndjson", agent)],
    ["whole session, cbor (real agent, in process)", session("cbor", agent)],
  ];
  const results = [];
  for (const [name, fn] of parts) {
    fn(); // warm-up
    const samples = [];
    for (let r = 0; r < 5; r++) {
      const t0 = threadMs();
      fn();
      samples.push(((threadMs() - t0) * 1e6) / M); // ns per observation
    }
    results.push([name, median(samples)]);
  }
  await agent.close();
  rmSync(state, { recursive: true, force: true });
  return results;
}

async function main() {
  const res = [];
  for (const framing of ["ndjson", "cbor"]) res.push(await measureFraming(framing));
  const parts = await breakdown();
  const ok = (b) => (b ? "**pass**" : "**miss**");
  const md = [
    `The agent a child process (\`qis-edge run --stdio\`, default config), driven through its stdin/stdout by this process. Throughput: a burst of ${N.toLocaleString("en")} observations written at once, to the last ack read; median of ${ROUNDS} rounds after a warm-up, interleaved with the baseline (a child answering each request with a fixed ack, unparsed: pipes and processes alone). "CPU" figures divide by the agent's CPU time (user + system, /proc) instead of the wall clock: less disturbed by other load on a shared machine. Latency: observations paced at the rate shown (${LOAD * 100}% of the measured throughput, at most the target), written once a millisecond, for ${LAT_MS / 1000} s after 0.5 s at that rate not counted, from the write of a request to the read of its ack.`,
    "",
    table(
      ["", ...res.map((r) => r.framing)],
      [
        ["observations/s acked (wall clock)", ...res.map((r) => k(r.agentRate))],
        ["observations/s per CPU-second of the agent", ...res.map((r) => k(r.cpuRate))],
        ["target", ...res.map((r) => `≥ ${k(TARGET[r.framing])}: ${ok(r.agentRate >= TARGET[r.framing])}`)],
        ["baseline (echo child) requests/s; agent / baseline", ...res.map((r) => `${k(r.echoRate)}; ${(r.agentRate / r.echoRate).toFixed(2)}×`)],
        ["ack latency at a paced load: rate", ...res.map((r) => k(r.rate))],
        ["p50 / p99 / max (agent)", ...res.map((r) => `${msf(pct(r.latAgent, 50))} / ${msf(pct(r.latAgent, 99))} / ${msf(r.latAgent.reduce((m, x) => Math.max(m, x), -Infinity))}`)],
        ["p50 / p99 (baseline, same rate)", ...res.map((r) => `${msf(pct(r.latEcho, 50))} / ${msf(pct(r.latEcho, 99))}`)],
        [`p50 / p99 / max at a light load (${k(LIGHT)})`, ...res.map((r) => `${msf(pct(r.latLight, 50))} / ${msf(pct(r.latLight, 99))} / ${msf(r.latLight.reduce((m, x) => Math.max(m, x), -Infinity))}`)],
        ["stdin EOF → exit 0", ...res.map((r) => `exit ${r.closed.code} after ${r.closed.ms.toFixed(0)} ms`)],
      ],
    ),
    "",
    `Rounds (observations/s, wall): ${res.map((r) => `${r.framing} ${r.rates.agent.map(k).join(", ")} (baseline ${r.rates.echo.map(k).join(", ")})`).join("; ")}.`,
    "",
    "Where an observation's time goes (this process, CPU time of its thread, median of 5 runs of 50,000; the Agent.observe() rows are parts of one call):",
    "",
    table(["step", "ns per observation", "per second"], parts.map(([name, ns]) => [name, ns.toFixed(0), k(1e9 / ns)])),
  ];
  process.stdout.write(`${md.join("\n")}\n`);
  if (process.env.QIS_BENCH_OUT) writeFileSync(process.env.QIS_BENCH_OUT, JSON.stringify({ title: "The stdio protocol: observations through `qis-edge run --stdio` (`bench/stdio.js`)", markdown: md.join("\n") }));
  setTimeout(() => process.exit(0), 200).unref();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

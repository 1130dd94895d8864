/**
 * Shared helpers of the bench scripts (bench/run.js skips this folder: it has no index.js).
 * Plain ESM, no dependencies. Nothing here fails a build: it measures and formats.
 */
import { readFileSync } from "node:fs";
import os from "node:os";

/** Deterministic PRNG (mulberry32): same seed, same packets, on every machine. */
export function prng(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, sub-µs resolution

/**
 * CPU time of this (main) thread in ms: Linux's schedstat (ns), else process.cpuUsage (which
 * also counts GC helper threads). Used to tell whether a run had a CPU to itself.
 */
const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const threadCpuMs = (() => {
  try {
    readFileSync(schedstat, "utf8");
    return () => Number(readFileSync(schedstat, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return () => {
      const c = process.cpuUsage();
      return (c.user + c.system) / 1000;
    };
  }
})();

/**
 * Times a set of measurements together. Each measurement is { id, label, packets, fn } where
 * one fn() call handles `packets` packets. Every measurement is warmed up first (so that all
 * call sites have seen every shape they will see before anything is timed: no deopt inside a
 * timed run), calibrated to a run of at least `minRunMs`, then timed in `runs` interleaved
 * rounds (round r times measurement after measurement, starting at a rotating index), so that
 * a burst of load from other processes on a shared machine hits every measurement alike and
 * ratios of medians are taken over the same period. Returns Map id -> { median, min, max,
 * samples, reps, retried }.
 *
 * With `cpuShare` (e.g. 0.9), a run during which this thread got less than that share of a CPU
 * (its CPU time / wall time) was descheduled in favour of other processes on the machine: it is
 * timed again, up to `retries` times, then kept as it is. `retried` counts those repeats.
 */
export function measureAll(measurements, { runs = 11, minRunMs = 60, warmupMs = 250, cpuShare = 0, retries = 3, log = () => {} } = {}) {
  const reps = new Map();
  // Warm-up pass 1: each measurement alone until warmupMs, which also estimates its cost.
  for (const m of measurements) {
    let calls = 0;
    const t0 = now();
    let t = t0;
    while (t - t0 < warmupMs || calls < 5) {
      m.fn();
      calls++;
      t = now();
    }
    reps.set(m.id, Math.max(1, Math.ceil((minRunMs * 1.25 * calls) / (t - t0))));
  }
  // Warm-up pass 2: once more after every other measurement ran (shared code has now seen
  // every backend), re-calibrating with the settled code.
  for (const m of measurements) {
    const r = reps.get(m.id);
    const t0 = now();
    for (let k = 0; k < r; k++) m.fn();
    const ms = now() - t0;
    reps.set(m.id, Math.max(1, Math.ceil((r * minRunMs * 1.25) / ms)));
  }
  const samples = new Map(measurements.map((m) => [m.id, []]));
  const retried = new Map(measurements.map((m) => [m.id, 0]));
  for (let round = 0; round < runs; round++) {
    for (let j = 0; j < measurements.length; j++) {
      const m = measurements[(j + round) % measurements.length];
      for (let attempt = 0; ; attempt++) {
        const r = reps.get(m.id);
        const c0 = cpuShare > 0 ? threadCpuMs() : 0;
        const t0 = now();
        for (let k = 0; k < r; k++) m.fn();
        const ms = now() - t0;
        const cpu = cpuShare > 0 ? threadCpuMs() - c0 : ms;
        if (ms < minRunMs * 0.8) reps.set(m.id, Math.ceil((r * minRunMs * 1.25) / ms)); // got faster: lengthen
        if (cpuShare > 0 && attempt < retries && cpu < cpuShare * ms) {
          retried.set(m.id, retried.get(m.id) + 1);
          continue;
        }
        samples.get(m.id).push((r * m.packets) / (ms / 1000));
        break;
      }
    }
    log(`  round ${round + 1}/${runs} done`);
  }
  const out = new Map();
  for (const m of measurements) {
    const s = samples.get(m.id);
    out.set(m.id, { median: median(s), min: Math.min(...s), max: Math.max(...s), samples: s, reps: reps.get(m.id), retried: retried.get(m.id) });
  }
  return out;
}

/** CPU model, cores, RAM, OS, Node: the facts every BENCHMARKS.md section records. */
export function machine() {
  let cpu = os.cpus()[0]?.model ?? "unknown";
  let flags = "";
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? /^Hardware\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpu;
    flags = /^(?:flags|Features)\s*:\s*(.+)$/m.exec(info)?.[1] ?? "";
  } catch {
    /* not Linux */
  }
  let osName = `${os.type()} ${os.release()}`;
  try {
    const rel = readFileSync("/etc/os-release", "utf8");
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(rel)?.[1];
    if (pretty) osName = `${pretty} (${os.type()} ${os.release()})`;
  } catch {
    /* no os-release */
  }
  const mhz = os.cpus()[0]?.speed;
  return {
    cpu,
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    mhz: mhz || undefined,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osName,
    arch: process.arch,
    node: process.version,
    v8: process.versions.v8,
    load: os.loadavg().map((l) => l.toFixed(2)).join(" "),
    cpuFlags: flags,
  };
}

/** 12345678 -> "12.35M", 987654 -> "988k". */
export function rate(x) {
  if (!Number.isFinite(x)) return String(x);
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(0)}k`;
  return x.toFixed(0);
}

export function ratio(a, b) {
  return `${(a / b).toFixed(2)}×`;
}

/** ns per packet from packets/s. */
export function ns(x) {
  return `${(1e9 / x).toFixed(0)} ns`;
}

/** A markdown table; `align` is one letter per column, "l" or "r" (default: first l, rest r). */
export function table(head, rows, align) {
  const a = align ?? "l" + "r".repeat(head.length - 1);
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map((_, i) => (a[i] === "r" ? "---:" : "---"))), ...rows.map(line)].join("\n");
}

#!/usr/bin/env node
/**
 * The bundle (dist/qis-edge.mjs, npm run build): its size, how fast an agent started from it is
 * ready, and how much memory an idle agent from it holds, each against a baseline measured in
 * the same run: `node -e 0` for start-up, a bare `node` idling for RSS, and the unbundled
 * dist/ (bin/qis-edge.js) for both.
 *
 *   node bench/run.js bundle       (QIS_BENCH_OUT: where bench/run.js wants the JSON result)
 *
 * Start-up is measured to the agent's "ready" log line on stderr (sockets bound, store open),
 * over interleaved runs (one of each kind per round, so that load from other processes hits
 * all kinds alike); RSS is VmRSS of the process 3 s after ready, with no traffic.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { median } from "./lib/harness.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const BUNDLE = join(root, "dist", "qis-edge.mjs");
const BIN = join(root, "bin", "qis-edge.js");
const ROUNDS = Number(process.env.QIS_BENCH_ROUNDS ?? 11);
const log = (s) => process.stderr.write(`${s}\n`);

/** Spawns node ARGS; resolves { ms, rss } when `until` matches stderr (or at exit when until is null). */
function timed(args, { until = null, env = {}, rssAfterMs = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const state = mkdtempSync(join(tmpdir(), "qis-bench-bundle-"));
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      cwd: state,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, QIS_EDGE_STATE_DIR: state, QIS_EDGE_PUB_BIND: "tcp://127.0.0.1:*", QIS_EDGE_STORE_BIND: "tcp://127.0.0.1:*", QIS_EDGE_STORE_FILE: "none", ...env },
    });
    let err = "";
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      if (child.exitCode === null) child.kill("SIGTERM");
      child.once("exit", () => rmSync(state, { recursive: true, force: true }));
      if (child.exitCode !== null) rmSync(state, { recursive: true, force: true });
      resolve(result);
    };
    const ready = () => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (rssAfterMs === 0) return finish({ ms });
      setTimeout(() => {
        if (child.exitCode !== null) return reject(new Error(`node ${args.join(" ")} exited ${child.exitCode} while idling:\n${err}`));
        const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))[1]) / 1024;
        finish({ ms, rss });
      }, rssAfterMs);
    };
    child.stderr.on("data", (d) => {
      err += d;
      if (until !== null && until.test(err)) ready();
    });
    child.once("exit", (code) => {
      if (until === null && code === 0 && rssAfterMs === 0) ready();
      else if (!done) reject(new Error(`node ${args.join(" ")} exited ${code} before it was ready:\n${err}`));
    });
    setTimeout(() => !done && reject(new Error(`node ${args.join(" ")}: not ready in 30 s:\n${err}`)), 30_000).unref();
  });
}

const READY = /"msg":"ready"/;
const IDLE = ["-e", `setInterval(() => {}, 1000); process.stderr.write("idle\\n")`];

async function main() {
  // ---- size --------------------------------------------------------------------------------
  const bytes = statSync(BUNDLE).size;
  const gz = gzipSync(readFileSync(BUNDLE), { level: 9 }).length;
  const meta = JSON.parse(readFileSync(join(root, "dist", "qis-edge.meta.json"), "utf8"));
  const by = {};
  for (const [file, v] of Object.entries(Object.values(meta.outputs)[0].inputs)) {
    const key = file.includes("node_modules/") ? file.split("node_modules/")[1].split("/")[0] : file.startsWith("src/") ? "src/ (qis-edge)" : "other";
    by[key] = (by[key] ?? 0) + v.bytesInOutput;
  }
  const parts = Object.entries(by).sort((a, b) => b[1] - a[1]);
  log(`size: ${bytes} bytes, gzip ${gz}`);

  // ---- cold start ----------------------------------------------------------------------------
  const kinds = {
    nodeE0: { label: "`node -e 0` (baseline)", args: ["-e", "0"], until: null },
    bundleVersion: { label: "bundle: `qis-edge --version`", args: [BUNDLE, "--version"], until: null },
    bundleReady: { label: "bundle: `qis-edge run` to ready", args: [BUNDLE, "run"], until: READY },
    distReady: { label: "dist/ (unbundled): `qis-edge run` to ready", args: [BIN, "run"], until: READY },
  };
  const samples = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = Object.keys(kinds);
    for (let i = 0; i < order.length; i++) {
      const k = order[(i + r) % order.length];
      samples[k].push((await timed(kinds[k].args, { until: kinds[k].until })).ms);
    }
  }
  const start = Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, median(s)]));
  log(`start (median of ${ROUNDS}): ${JSON.stringify(start)}`);

  // ---- idle RSS ---------------------------------------------------------------------------------
  const piArmv7 = JSON.parse(readFileSync(join(root, "targets", "pi-armv7.json"), "utf8"));
  const rssKinds = {
    bare: { label: "bare `node` idling (baseline)", args: IDLE, until: /idle/ },
    bareFlags: { label: `bare \`node ${piArmv7.node.flags.join(" ")}\` idling`, args: [...piArmv7.node.flags, ...IDLE], until: /idle/ },
    bundleDefault: { label: "bundle, default config (store 65,536 packets)", args: [BUNDLE, "run"], until: READY },
    bundleSmall: { label: "bundle, default config, store.capacity 1,024", args: [BUNDLE, "run"], until: READY, env: { QIS_EDGE_STORE_CAPACITY: "1024" } },
    bundlePi: { label: `bundle, targets/pi-armv7 config and flags (store ${piArmv7.store.capacity})`, args: [...piArmv7.node.flags, BUNDLE, "run", "--config", join(root, "targets", piArmv7.agentConfig)], until: READY },
    distDefault: { label: "dist/ (unbundled), default config", args: [BIN, "run"], until: READY },
  };
  const rssSamples = Object.fromEntries(Object.keys(rssKinds).map((k) => [k, []]));
  for (let r = 0; r < 3; r++) {
    for (const [k, v] of Object.entries(rssKinds)) rssSamples[k].push((await timed(v.args, { until: v.until, env: v.env ?? {}, rssAfterMs: 3000 })).rss);
  }
  const rss = Object.fromEntries(Object.entries(rssSamples).map(([k, s]) => [k, median(s)]));
  log(`rss MiB (median of 3): ${JSON.stringify(rss)}`);

  // ---- report -----------------------------------------------------------------------------------
  const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
  const x = (a, b) => `${(a / b).toFixed(2)}×`;
  const ok = (cond) => (cond ? "met" : "**missed**");
  const markdown = [
    "### Size",
    "",
    `\`dist/qis-edge.mjs\`: **${bytes.toLocaleString("en")} bytes** (${kib(bytes)}) minified, ${kib(gz)} gzipped; target ≤ 520 kB: ${ok(bytes <= 520_000)}. Addons ship beside it (zeromq's ${kib(statSync(join(root, "dist", "build", Object.values(JSON.parse(readFileSync(join(root, "dist", "build", "manifest.json"), "utf8")))[0])).size)} for this machine, ours in \`prebuilds/\`).`,
    "",
    "| part | bytes in the bundle |",
    "|---|---:|",
    ...parts.slice(0, 8).map(([k, v]) => `| ${k} | ${v.toLocaleString("en")} |`),
    "",
    "### Cold start",
    "",
    `Median of ${ROUNDS} interleaved runs, from spawn to the \`ready\` log line (or to exit):`,
    "",
    "| what | ms | vs `node -e 0` |",
    "|---|---:|---:|",
    ...Object.entries(kinds).map(([k, v]) => `| ${v.label} | ${start[k].toFixed(0)} | ${x(start[k], start.nodeE0)} |`),
    "",
    `Agent from the bundle ready in ${x(start.bundleReady, start.nodeE0)} the time of \`node -e 0\` (target ≤ 2.5×: ${ok(start.bundleReady <= 2.5 * start.nodeE0)}); the unbundled dist/ takes ${x(start.distReady, start.bundleReady)} as long as the bundle.`,
    "",
    "### Idle RSS",
    "",
    "VmRSS 3 s after ready with no traffic, median of 3 (store in memory, loopback sockets):",
    "",
    "| process | MiB | vs bare node |",
    "|---|---:|---:|",
    ...Object.entries(rssKinds).map(([k, v]) => `| ${v.label} | ${rss[k].toFixed(1)} | ${x(rss[k], rss.bare)} |`),
    "",
    `Target: an idle agent from the bundle ≤ 1.25× a bare node: ${ok(rss.bundleDefault <= 1.25 * rss.bare)} with the default config (${x(rss.bundleDefault, rss.bare)}), ${ok(rss.bundlePi <= 1.25 * rss.bareFlags)} with the pi-armv7 profile (${x(rss.bundlePi, rss.bareFlags)} of a bare node with the same flags).`,
    "The store's slots come from zeroed pages and become resident only when written (compare the default-config and capacity-1,024 rows: the difference is the store's indexes). Where the rest goes, measured per cause (V8's optimising compiler woken by start-up loops, parsing and initialising the bundle, the ESM entry, zeromq, the store's indexes, ICU data, malloc arenas), is in docs/devices.md, \"Idle memory\".",
  ].join("\n");
  const out = process.env.QIS_BENCH_OUT;
  const result = { title: "Bundle: size, cold start, idle memory", markdown };
  if (out) writeFileSync(out, JSON.stringify(result));
  else process.stdout.write(`${markdown}\n`);
}

main().catch((err) => {
  log(err.stack ?? String(err));
  process.exit(1);
});

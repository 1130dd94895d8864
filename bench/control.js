#!/usr/bin/env node
/**
 * The control socket's memory (issue 20): VmRSS of an idle agent from the bundle with
 * control.enabled false, with it on and no client, and with it on after one `qis-edge stats`
 * (the first client loads the stdio session). Each kind in its own process, 3 s after the
 * "control listening" line (or "ready" when off, and after the client when there is one), the
 * kinds alternated, median of ROUNDS.
 *
 *   node bench/run.js control      (QIS_BENCH_OUT: where bench/run.js wants the JSON result)
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { median } from "./lib/harness.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const BUNDLE = join(root, "dist", "qis-edge.mjs");
const ROUNDS = Number(process.env.QIS_BENCH_ROUNDS ?? 5);
const log = (s) => process.stderr.write(`${s}\n`);

function idle({ enabled, client }) {
  return new Promise((resolve, reject) => {
    const dir = mkdtempSync(join(tmpdir(), "qis-bench-control-"));
    const config = join(dir, "agent.json");
    writeFileSync(config, JSON.stringify({ stateDir: join(dir, "state"), store: { file: null }, control: { enabled } }));
    const child = spawn(process.execPath, [BUNDLE, "run", "--config", config], { cwd: dir, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, QIS_EDGE_STATE_DIR: "" } });
    let err = "";
    let started = false;
    const until = enabled ? '"control listening"' : '"ready"';
    child.stderr.on("data", async (d) => {
      err += d;
      if (started || !err.includes(until)) return;
      started = true;
      if (client) await promisify(execFile)(process.execPath, [BUNDLE, "stats", "--state-dir", join(dir, "state")]);
      setTimeout(() => {
        if (child.exitCode !== null) return reject(new Error(`the agent exited ${child.exitCode}:\n${err}`));
        const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))[1]) / 1024;
        child.once("exit", () => {
          rmSync(dir, { recursive: true, force: true });
          resolve(rss);
        });
        child.kill("SIGTERM");
      }, 3000);
    });
  });
}

const kinds = {
  off: { label: "`control.enabled` false", enabled: false, client: false },
  on: { label: "on (the default), no client yet", enabled: true, client: false },
  client: { label: "on, after one `qis-edge stats`", enabled: true, client: true },
};
const samples = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) for (const [k, v] of Object.entries(kinds)) samples[k].push(await idle(v));
const rss = Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, median(s)]));
log(`rss MiB (median of ${ROUNDS}): ${JSON.stringify(rss)}`);
const markdown = [
  `An agent from the bundle, default config (store in memory), VmRSS 3 s after it is up, median of ${ROUNDS} (kinds alternated):`,
  "",
  "| control socket | RSS MiB | vs off |",
  "|---|---|---|",
  ...Object.entries(kinds).map(([k, v]) => `| ${v.label} | ${rss[k].toFixed(1)} | ${rss[k] - rss.off >= 0 ? "+" : ""}${(rss[k] - rss.off).toFixed(1)} |`),
  "",
  "The first client loads the stdio session (typebox's compiled request checks, cbor-x), kept for the life of the process; docs/decisions.md, \"The control socket\".",
].join("\n");
const result = { title: "Control socket: idle RSS", markdown };
const out = process.env.QIS_BENCH_OUT;
if (out) writeFileSync(out, JSON.stringify(result));
else process.stdout.write(`${markdown}\n`);

/**
 * What bench/uplink.js (MQTT) and bench/uplink-nats.js (JetStream) measure the same way: an
 * uplink pushed through its outbox, and the idle RSS of an agent from the bundle with and
 * without an uplink configured.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PACKET_SIZE } from "../../dist/index.js";

const BUNDLE = fileURLToPath(new URL("../../dist/qis-edge.mjs", import.meta.url));

export async function connected(u) {
  while (u.state !== "connected") await new Promise((r) => setTimeout(r, 5));
}

/**
 * Feeds n packets (256 per flush, cycling through `packets`) while keeping the backlog ≤ half
 * the capacity; resolves with packets/s when all are acknowledged.
 */
export async function through(u, packets, n) {
  const count = packets.length / PACKET_SIZE;
  const t0 = performance.now();
  let fed = 0;
  while (fed < n) {
    while (fed < n && u.outbox.size < u.outbox.capacity / 2) {
      const k = Math.min(256, n - fed);
      for (let j = 0; j < k; j++) u.publish(packets, ((fed + j) % count) * PACKET_SIZE);
      u.flush();
      fed += k;
    }
    await new Promise((r) => setImmediate(r));
  }
  while (u.outbox.size > 0) await new Promise((r) => setImmediate(r));
  return n / ((performance.now() - t0) / 1000);
}

/**
 * VmRSS (MiB) of an agent from the bundle, 3 s after it is ready, or with `uplinks` (the config's
 * key) after its uplink connected. Its state lives in a new directory under `tmp`.
 */
export async function idleRss(tmp, uplinks) {
  const dir = mkdtempSync(join(tmp, "agent-"));
  const config = join(dir, "agent.json");
  writeFileSync(config, JSON.stringify({ stateDir: dir, log: { level: "info" }, ...(uplinks ? { uplinks } : {}) }));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("QIS_EDGE_")) delete env[k];
  const child = spawn(process.execPath, [BUNDLE, "run", "--config", config], { env, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d.toString()));
  const want = uplinks ? '"msg":"uplink connected"' : '"msg":"ready"';
  const deadline = Date.now() + 20_000;
  while (!err.includes(want)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`agent not ready: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))[1]);
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  return kb / 1024;
}

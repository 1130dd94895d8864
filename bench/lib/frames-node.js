/**
 * The receiving side of bench/frames.js, in its own process: an agent (dist/) whose only peer is
 * the parent's hostile PUB. Reports its RSS when subscribed, then the peak (VmHWM, reset just
 * before) and the RSS once the agent refused the message.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent, resolveConfig } from "../../dist/index.js";

const status = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync("/proc/self/status", "utf8"))[1]) / 1024;
const stateDir = mkdtempSync(join(tmpdir(), "qis-bench-frames-"));
const a = await createAgent(resolveConfig({ stateDir, log: { level: "silent" }, peers: [{ name: "hostile", pub: process.argv[2] }] }, { env: {} }));
a.on("error", () => undefined);
const peer = a.peers[0];
process.on("message", async (m) => {
  if (m.op === "baseline") {
    global.gc?.();
    // Linux: "5" resets VmHWM to the current RSS, so that VmHWM is this message's peak.
    writeFileSync("/proc/self/clear_refs", "5");
    process.send({ event: "baseline", rss: status("VmRSS"), invalid: peer.counters.invalidMessages });
  } else if (m.op === "wait") {
    const t0 = Date.now();
    while (peer.counters.invalidMessages === m.invalid && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 5));
    process.send({ event: "refused", peak: status("VmHWM"), rss: status("VmRSS"), invalid: peer.counters.invalidMessages - m.invalid, ms: Date.now() - t0 });
  } else if (m.op === "exit") {
    await a.close();
    rmSync(stateDir, { recursive: true, force: true });
    process.exit(0);
  }
});
process.send({ event: "ready" });

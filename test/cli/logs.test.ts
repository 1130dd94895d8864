/**
 * What `qis-edge run` says on stderr (JSON lines), read from real child processes: peers
 * unreachable / up / down at info with their endpoint, rate-limited; a stats line every
 * log.statsIntervalS; the version in the ready line; a start failure as one fatal line naming
 * the config key and endpoint or file that failed, and no "closed" line without a "ready".
 */
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { packageVersion } from "../../src/agent/version.js";
import { runAgent, stopAll, tempDir, type LogLine } from "./run-agent.js";

afterEach(stopAll);

/** A loopback port nothing listens on (just released). */
async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, "close");
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("peer lines", () => {
  it("unreachable (once, however many retries), then up, then down and unreachable again, each with the endpoint", async () => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    const a = runAgent([], { QIS_EDGE_PEERS: endpoint });
    const first = await a.waitFor((l) => l.msg === "peer unreachable");
    expect(first).toMatchObject({ level: "info", peer: endpoint, endpoint, attempts: 1 });
    expect(first.retryMs).toEqual(expect.any(Number));
    // ZeroMQ retries after 100, 200, 400, 800 ms...: still one line.
    await sleep(2000);
    expect(a.lines().filter((l) => l.msg === "peer unreachable")).toHaveLength(1);

    const b = runAgent([], { QIS_EDGE_PUB_BIND: endpoint });
    await b.waitFor((l) => l.msg === "ready");
    expect(await a.waitFor((l) => l.msg === "peer up")).toMatchObject({ level: "info", peer: endpoint, endpoint });
    b.child.kill("SIGKILL");
    await b.exit;
    expect(await a.waitFor((l) => l.msg === "peer down")).toMatchObject({ level: "info", peer: endpoint, endpoint });
    const again = await a.waitFor((l) => l.msg === "peer unreachable" && l !== first);
    expect(again).toMatchObject({ level: "info", peer: endpoint, endpoint, attempts: 1 });
    const order = a.lines().filter((l) => l.msg.startsWith("peer ")).map((l) => l.msg);
    expect(order).toEqual(["peer unreachable", "peer up", "peer down", "peer unreachable"]);
    a.child.kill("SIGTERM");
    expect(await a.exit).toBe(0);
  });

  it("a legacy peer that is not there is said unreachable too", async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const a = runAgent([], { QIS_EDGE_PEERS: `legacy:${endpoint}` });
    expect(await a.waitFor((l) => l.msg === "peer unreachable")).toMatchObject({ level: "info", peer: endpoint, endpoint, attempts: 1 });
    a.child.kill("SIGTERM");
    expect(await a.exit).toBe(0);
  });
});

describe("the stats line and the ready line", () => {
  it("every log.statsIntervalS: the counters from stats(); ready names the version", async () => {
    const dir = tempDir();
    const config = join(dir, "agent.json");
    writeFileSync(config, JSON.stringify({ log: { statsIntervalS: 1 } }));
    const a = runAgent(["--config", config, "--stdio"], {}, dir);
    const ready = await a.waitFor((l) => l.msg === "ready");
    expect(ready.version).toBe(packageVersion());
    for (let i = 1; i <= 2; i++) a.child.stdin.write(`${JSON.stringify({ op: "observe", id: i, domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: 0.1, confidence: 0.9, nObservations: 4 })}\n`);
    const line = await a.waitFor((l) => l.msg === "stats" && l.observed === 2, 5000);
    expect(line).toEqual({
      time: expect.any(String),
      level: "info",
      msg: "stats",
      observed: 2,
      published: 2,
      received: 0,
      duplicates: 0,
      invalid: 0,
      synthesized: 0,
      peersUp: 0,
      peers: 0,
      store: { packets: 2, capacity: 65536, evicted: 0 },
      synth: { addresses: 1, contributions: 2 },
    });
    const t = (l: LogLine) => Date.parse(l.time as string);
    const stats = a.lines().filter((l) => l.msg === "stats");
    if (stats.length >= 2) expect(t(stats[1]!) - t(stats[0]!)).toBeGreaterThanOrEqual(900);
    a.child.stdin.end();
    expect(await a.exit).toBe(0);
  });
});

describe("start failures", () => {
  /** stderr of a run that must fail: exactly one line, a fatal one. */
  async function fatal(a: ReturnType<typeof runAgent>): Promise<Record<string, unknown>> {
    expect(await a.exit).toBe(2);
    const lines = a.stderr().trim().split("\n");
    expect(lines, a.stderr()).toHaveLength(1);
    return JSON.parse(lines[0]!) as Record<string, unknown>;
  }

  it("a bind in use: ERR_AGENT_START with the key and endpoint; no closed line", async () => {
    const a = runAgent([]);
    const ready = await a.waitFor((l) => l.msg === "ready");
    const { pub, store } = ready.endpoints as { pub: string; store: string };
    expect(await fatal(runAgent([], { QIS_EDGE_PUB_BIND: pub }))).toEqual({
      time: expect.any(String),
      level: "fatal",
      msg: "start failed",
      code: "ERR_AGENT_START",
      where: "pub.bind",
      endpoint: pub,
      cause: "EADDRINUSE",
      reason: `agent could not start: cannot bind pub.bind ${pub}: Address already in use`,
    });
    expect(await fatal(runAgent([], { QIS_EDGE_STORE_BIND: store }))).toMatchObject({ level: "fatal", code: "ERR_AGENT_START", where: "store.bind", endpoint: store, cause: "EADDRINUSE" });
    a.child.kill("SIGTERM");
    expect(await a.exit).toBe(0);
  });

  it("the state dir locked, a store file that cannot be opened: the code and the file", async () => {
    const dir = tempDir();
    const state = join(dir, "state");
    const a = runAgent([], {}, dir);
    await a.waitFor((l) => l.msg === "ready");
    expect(await fatal(runAgent([], { QIS_EDGE_STATE_DIR: state }))).toMatchObject({ level: "fatal", code: "ERR_STATE_LOCKED", where: "stateDir", file: state });
    // Not a store file (a few bytes of something else): refused at open, not overwritten.
    const notAStore = join(dir, "not-a-store.bin");
    writeFileSync(notAStore, "hello\n");
    const f = await fatal(runAgent([], { QIS_EDGE_STORE_FILE: notAStore }));
    expect(f).toMatchObject({ level: "fatal", code: "ERR_STORE_FILE", where: "store.file", file: notAStore });
    expect(f.reason).toContain("shorter than the");
    a.child.kill("SIGTERM");
    expect(await a.exit).toBe(0);
  });
});

/**
 * SIGHUP on real `qis-edge run` processes (docs/operations.md, "Reload"): the --config file is
 * read again and applied without a restart (same pid, one "ready", the store kept); a bad file
 * is refused with its problems logged and the running config kept; without --config, SIGHUP is
 * logged and ignored.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupAll, startStdio, type Msg, type StdioAgent } from "../stdio/helpers.js";
import { runAgent, stopAll, type LogLine } from "./run-agent.js";

afterEach(async () => {
  await cleanupAll();
  await stopAll();
});

const logLines = (a: StdioAgent): LogLine[] =>
  a
    .stderr()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);

async function waitLog(a: StdioAgent, pred: (l: LogLine) => boolean, what: string, ms = 10_000): Promise<LogLine> {
  const end = Date.now() + ms;
  for (;;) {
    const found = logLines(a).find(pred);
    if (found !== undefined) return found;
    if (Date.now() > end) throw new Error(`no log line ${what} within ${ms} ms; stderr:\n${a.stderr()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const configFile = (a: StdioAgent): string => a.child.spawnargs[a.child.spawnargs.indexOf("--config") + 1]!;

let nextId = 1000;
async function request(a: StdioAgent, msg: Record<string, unknown>): Promise<Msg> {
  const id = nextId++;
  a.send({ ...msg, id });
  const reply = await a.waitFor((m) => m.id === id, `reply ${id}`);
  if (reply.event !== "ack") throw new Error(`request ${JSON.stringify(msg)} failed: ${JSON.stringify(reply)}`);
  return reply;
}

const count = async (a: StdioAgent, pattern: string): Promise<number> => ((await request(a, { op: "query", pattern, limit: 1000 })).packets as unknown[]).length;

async function waitCount(a: StdioAgent, pattern: string, n: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while ((await count(a, pattern)) < n) {
    if (Date.now() > end) throw new Error(`${pattern}: fewer than ${n} packets within ${ms} ms; stderr:\n${a.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const observe = (a: StdioAgent, domain: string, problemClass: string): Promise<Msg> =>
  request(a, { op: "observe", domain, problemClass, outcomeDelta: 0.2, confidence: 0.9, nObservations: 3 });

describe("SIGHUP reload", () => {
  it("adds a peer (packets then flow), removes a subscription (packets on it stop), keeps the pid and the store, and refuses a bad config", async () => {
    const a = await startStdio({ config: { log: { level: "info" } } });
    const base = { log: { level: "info" }, subscribe: ["qis.hvac.>", "qis.iot.>"] };
    const b = await startStdio({ config: base });
    const file = configFile(b);
    const stateDir = join(file, "..", "state");
    const pid = b.child.pid;
    const endpoints = a.ready.endpoints as { pub: string; store: string };
    const peer = { name: "a", pub: endpoints.pub, store: endpoints.store };

    // 1. A new peer: connected without a restart, and its packets arrive.
    writeFileSync(file, JSON.stringify({ ...base, stateDir, peers: [peer] }));
    b.child.kill("SIGHUP");
    const reloaded = await waitLog(b, (l) => l.msg === "reloaded", '"reloaded"');
    expect(reloaded.peers).toEqual({ added: ["a"], removed: [], changed: [] });
    await b.waitFor((m) => m.event === "peer" && m.name === "a" && m.up === true, "peer a up");
    await observe(a, "hvac", "energy-anomaly");
    await observe(a, "iot", "bearing-wear");
    await waitCount(b, "qis.hvac.>", 1);
    await waitCount(b, "qis.iot.>", 1);

    // 2. One subscription fewer: packets on it stop; the others still flow; the store keeps what came.
    writeFileSync(file, JSON.stringify({ ...base, stateDir, peers: [peer], subscribe: ["qis.iot.>"] }));
    b.child.kill("SIGHUP");
    const second = await waitLog(b, (l) => l.msg === "reloaded" && (l.subscribe as { removed: string[] }).removed.length > 0, "second reload");
    expect(second.subscribe).toEqual({ added: [], removed: ["qis.hvac.>"] });
    expect(second.peers).toEqual({ added: [], removed: [], changed: [] });
    await observe(a, "hvac", "energy-anomaly");
    await observe(a, "iot", "bearing-wear");
    await waitCount(b, "qis.iot.>", 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(await count(b, "qis.hvac.>")).toBe(1); // the one from before, still in the store; not the new one
    const stats = (await request(b, { op: "stats" })).stats as { peers: { name: string; up: boolean; catchUps: number }[]; received: number };
    expect(stats.peers.map((p) => [p.name, p.up])).toEqual([["a", true]]);
    // The link to A was kept across the second reload: never down, one catch-up (a new link would make another).
    expect(b.messages.filter((m) => m.event === "peer" && m.up === false)).toEqual([]);
    expect(stats.peers[0]!.catchUps).toBe(1);
    expect(stats.received).toBe(3);

    // 3. A bad file: refused, every problem logged with its path, the running config kept.
    writeFileSync(file, JSON.stringify({ ...base, stateDir, peers: [{ pub: "nowhere" }], subscribe: ["qis..x"], store: { capacity: 0 } }));
    b.child.kill("SIGHUP");
    const refused = await waitLog(b, (l) => l.msg === "reload refused", '"reload refused"');
    expect(refused.level).toBe("error");
    expect(refused.code).toBe("ERR_CONFIG");
    expect((refused.problems as { path: string }[]).map((p) => p.path).sort()).toEqual(["/peers/0/pub", "/store/capacity", "/subscribe/0"]);
    await observe(a, "iot", "bearing-wear");
    await waitCount(b, "qis.iot.>", 3);
    expect(await count(b, "qis.hvac.>")).toBe(1);

    // 4. What only a restart can change is said, and the rest applied.
    writeFileSync(file, JSON.stringify({ ...base, stateDir, peers: [], subscribe: ["qis.iot.>"], store: { capacity: 1024 }, synth: { minContributors: 1 }, log: { level: "debug" } }));
    b.child.kill("SIGHUP");
    const restart = await waitLog(b, (l) => l.msg === "reload: restart needed", '"reload: restart needed"');
    expect(restart.paths).toEqual(["/store/capacity"]);
    const fourth = await waitLog(b, (l) => l.msg === "reloaded" && (l.peers as { removed: string[] }).removed.length > 0, "fourth reload");
    expect(fourth.synth).toEqual(["minContributors"]);
    expect(fourth.logLevel).toBe("debug");
    // Both live at once: a lone observation is synthesized (minContributors 1) and said at debug.
    await observe(b, "hvac", "energy-anomaly");
    const synthesis = await waitLog(b, (l) => l.msg === "synthesis", 'a "synthesis" line');
    expect(synthesis).toMatchObject({ level: "debug", address: "qis.hvac.energy-anomaly" });
    expect(((await request(b, { op: "stats" })).stats as { peers: unknown[] }).peers).toEqual([]);

    expect(b.child.pid).toBe(pid);
    expect(b.child.exitCode).toBeNull();
    expect(logLines(b).filter((l) => l.msg === "ready")).toHaveLength(1);
    expect(await count(b, "qis.>")).toBe(6); // 4 received, B's own observation and its synthesis
  }, 60_000);

  it("without --config: logged and ignored, the agent runs on", async () => {
    const a = runAgent([]);
    await a.waitFor((l) => l.msg === "ready");
    a.child.kill("SIGHUP");
    const line = await a.waitFor((l) => l.msg === "reload ignored");
    expect(line.level).toBe("warn");
    expect(String(line.reason)).toContain("no --config");
    await new Promise((r) => setTimeout(r, 200));
    expect(a.child.exitCode).toBeNull();
    a.child.kill("SIGTERM");
    expect(await a.exit).toBe(0);
  });

  it("a SIGHUP during start is applied once the agent is ready, not fatal", async () => {
    const a = await startStdio({ config: { log: { level: "info" } } });
    const file = configFile(a);
    a.child.kill("SIGHUP");
    a.child.kill("SIGHUP");
    await waitLog(a, (l) => l.msg === "reloaded", '"reloaded"');
    writeFileSync(file, "{ not json");
    a.child.kill("SIGHUP");
    const refused = await waitLog(a, (l) => l.msg === "reload refused", '"reload refused"');
    expect((refused.problems as { path: string }[])[0]!.path).toMatch(/agent\.json:1:3$/);
    expect(a.child.exitCode).toBeNull();
  });
});

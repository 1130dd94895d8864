/**
 * The metrics and health listener of a real `qis-edge run` process, over loopback: /metrics
 * agrees with the agent's own stats, /healthz goes 503 → 200 across start-up, the HTTP rules
 * of a bounded listener, and a listen address in use stops the start with one fatal line.
 */
import { once } from "node:events";
import { writeFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { packageVersion } from "../../src/agent/version.js";
import { CONTENT_TYPE } from "../../src/metrics/text-format.js";
import { parseExposition, seriesOf } from "./exposition.js";
import { http, rawExchange } from "./http.js";
import { promtoolCheck } from "./promtool.js";
import { runAgent, stopAll, tempDir, type RunningAgent } from "../cli/run-agent.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) s.close();
  await stopAll();
});

const METRICS = { QIS_EDGE_METRICS_LISTEN: "127.0.0.1:0" };

async function metricsUrl(agent: RunningAgent): Promise<string> {
  const line = await agent.waitFor((l) => l.msg === "metrics listening");
  expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  return line.url as string;
}

/** stdout of a `run --stdio` child, a JSON message at a time. */
function stdioReplies(agent: RunningAgent): (id: number) => Promise<Record<string, unknown>> {
  let out = "";
  agent.child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  return async (id) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((m) => m.id === id && (m.event === "ack" || m.event === "error"));
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no reply to request ${id}; stdout:\n${out}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
}

describe("GET /metrics on a running agent", () => {
  it("serves the agent's stats as its stdio stats request reports them, in a page promtool accepts", async () => {
    const a = runAgent(["--stdio"], METRICS);
    const url = await metricsUrl(a);
    const ready = await a.waitFor((l) => l.msg === "ready");
    const reply = stdioReplies(a);
    for (let i = 1; i <= 3; i++) {
      a.child.stdin.write(`${JSON.stringify({ op: "observe", id: i, domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: i / 10, confidence: 0.9, nObservations: 4 })}\n`);
      expect((await reply(i)).event).toBe("ack");
    }
    a.child.stdin.write(`${JSON.stringify({ op: "stats", id: 9 })}\n`);
    const stats = (await reply(9)).stats as { observed: number; published: number; synthesized: number; store: { size: number; capacity: number }; synth: { offered: number; addresses: number } };
    const res = await http(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe(CONTENT_TYPE);
    expect(res.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const s = seriesOf(parseExposition(res.body));
    expect(s.get(`qis_edge_build_info{version="${packageVersion()}",node_id="${String(ready.nodeId)}"}`)).toBe(1);
    expect(ready.version).toBe(packageVersion());
    expect(stats.observed).toBe(3);
    expect(s.get("qis_edge_packets_observed_total")).toBe(stats.observed);
    expect(s.get("qis_edge_packets_published_total")).toBe(stats.published);
    expect(s.get("qis_edge_packets_synthesized_total")).toBe(stats.synthesized);
    expect(s.get("qis_edge_store_packets")).toBe(stats.store.size);
    expect(s.get("qis_edge_store_capacity_packets")).toBe(stats.store.capacity);
    expect(s.get("qis_edge_synthesis_offered_packets_total")).toBe(stats.synth.offered);
    expect(s.get("qis_edge_synthesis_addresses")).toBe(1);
    expect(s.get("qis_edge_agent_ready")).toBe(1);
    // The child's own process figures: its RSS, not ours.
    const rss = s.get("process_resident_memory_bytes")!;
    expect(rss).toBeGreaterThan(20 * 2 ** 20);
    expect(Math.abs(s.get("process_start_time_seconds")! - Date.now() / 1000)).toBeLessThan(60);
    const check = await promtoolCheck(res.body);
    expect(check.problems, check.output).toEqual([]);
    const health = await http(`${url}/healthz`);
    expect([health.status, health.headers["content-type"], health.body]).toEqual([200, "application/json", '{"status":"ready"}\n']);
    a.child.stdin.end();
    expect(await a.exit).toBe(0);
  });
});

describe("GET /healthz across start-up", () => {
  it("answers 503 starting while the store is not open and the sockets not bound, then 200", async () => {
    const dir = tempDir();
    const gate = join(dir, "gate");
    writeFileSync(gate, "");
    const a = runAgent([], { ...METRICS, QIS_EDGE_TEST_START_GATE: gate }, dir);
    const url = await metricsUrl(a);
    const before = await http(`${url}/healthz`);
    expect([before.status, before.headers["content-type"]]).toEqual([503, "application/json"]);
    expect(before.body).toBe('{"status":"starting","reason":"binding the sockets and opening the store"}\n');
    const page = await http(`${url}/metrics`);
    expect(page.status).toBe(200);
    const s = seriesOf(parseExposition(page.body));
    expect(s.get("qis_edge_agent_ready")).toBe(0);
    expect(s.has("qis_edge_packets_observed_total")).toBe(false);
    expect(a.lines().some((l) => l.msg === "ready")).toBe(false);
    rmSync(gate);
    await a.waitFor((l) => l.msg === "ready");
    const after = await http(`${url}/healthz`);
    expect([after.status, after.body]).toEqual([200, '{"status":"ready"}\n']);
    a.child.kill("SIGTERM");
    expect(await a.exit).toBe(0);
  });
});

describe("the listener's HTTP rules", () => {
  it("404 other paths, 405 other methods, HEAD without a body, 413 for a body, 431 for huge headers", async () => {
    const a = runAgent([], METRICS);
    const url = await metricsUrl(a);
    await a.waitFor((l) => l.msg === "ready");
    const port = Number(new URL(url).port);

    expect((await http(`${url}/`)).status).toBe(404);
    expect((await http(`${url}/metrics/extra`)).status).toBe(404);
    expect((await http(`${url}/metrics?name[]=x`)).status).toBe(200);
    const post = await http(`${url}/metrics`, "POST");
    expect([post.status, post.headers.allow]).toEqual([405, "GET, HEAD"]);
    expect((await http(`${url}/healthz`, "DELETE")).status).toBe(405);
    const head = await http(`${url}/metrics`, "HEAD");
    expect([head.status, head.body, Number(head.headers["content-length"])]).toEqual([200, "", expect.any(Number)]);
    expect(Number(head.headers["content-length"])).toBeGreaterThan(1000);

    // A body is refused unread and the connection closed, even when it says it is huge.
    const body = await rawExchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\nabc");
    expect(body.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(body.text).toContain("Connection: close");
    expect(body.closedByServer).toBe(true);
    const chunked = await rawExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    expect(chunked.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(chunked.closedByServer).toBe(true);
    // Headers beyond 4 KiB.
    const big = await rawExchange(port, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ${"a".repeat(8000)}\r\n\r\n`);
    expect(big.text).toMatch(/^HTTP\/1\.1 431 /);
    expect(big.closedByServer).toBe(true);
    // Not HTTP at all.
    const junk = await rawExchange(port, "\x16\x03\x01 hello\r\n\r\n");
    expect(junk.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(junk.closedByServer).toBe(true);
    // Still serving.
    expect((await http(`${url}/healthz`)).status).toBe(200);
    a.child.kill("SIGTERM");
    expect(await a.exit).toBe(0);
  });
});

describe("metrics.listen at start", () => {
  it("an address in use: exit 2 with one JSON fatal line naming metrics.listen, no ready and no closed line", async () => {
    const taken = createServer();
    servers.push(taken);
    taken.listen(0, "127.0.0.1");
    await once(taken, "listening");
    const port = (taken.address() as { port: number }).port;
    const a = runAgent([], { QIS_EDGE_METRICS_LISTEN: `127.0.0.1:${port}` });
    expect(await a.exit).toBe(2);
    const lines = a.stderr().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      time: expect.any(String),
      level: "fatal",
      msg: "start failed",
      code: "ERR_METRICS_LISTEN",
      where: "metrics.listen",
      endpoint: `127.0.0.1:${port}`,
      cause: "EADDRINUSE",
      reason: `cannot listen on metrics.listen 127.0.0.1:${port}: EADDRINUSE`,
    });
  });

  it("off by default: no listener, and neither the listener's module nor node:http loaded", async () => {
    const dir = tempDir();
    // Preloaded into the agent: on SIGUSR2 it says which of Node's http modules are loaded.
    const probe = join(dir, "probe.cjs");
    writeFileSync(
      probe,
      'process.on("SIGUSR2", () => process.stderr.write(JSON.stringify({ msg: "probe", level: "test", http: process.moduleLoadList.filter((m) => /\\bhttp\\b|http_parser/.test(m)) }) + "\\n"));\n',
    );
    for (const [env, loaded] of [[{}, false], [METRICS, true]] as const) {
      const a = runAgent([], { ...env, NODE_OPTIONS: `--require ${probe}` }, dir);
      await a.waitFor((l) => l.msg === "ready");
      expect(a.lines().some((l) => l.msg === "metrics listening")).toBe(loaded);
      a.child.kill("SIGUSR2");
      const probed = await a.waitFor((l) => l.msg === "probe");
      expect((probed.http as string[]).length > 0).toBe(loaded);
      a.child.kill("SIGTERM");
      expect(await a.exit).toBe(0);
    }
  });
});

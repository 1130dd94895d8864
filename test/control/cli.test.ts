/**
 * The control socket and its client commands against real `qis-edge run` processes: observe on
 * agent A shows up in `watch` on agent B (peered with A over loopback ZeroMQ); query, stats and
 * peers; the no-agent error; two clients at once and the client bound; the socket's mode; a
 * stale socket replaced and a live one refused.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runAgent, stopAll, tempDir, type RunningAgent } from "../cli/run-agent.js";
import { bin, root, runCli } from "../cli/run-cli.js";
import { runText } from "../run-process.js";

afterEach(stopAll);

const OBS = { domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: 0.18, confidence: 0.87, nObservations: 42 };

interface Started {
  agent: RunningAgent;
  dir: string;
  state: string;
  socket: string;
  ready: Record<string, unknown>;
}

async function start(env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<Started> {
  const dir = tempDir("qis-ctl-");
  const state = join(dir, "state");
  const agent = runAgent(args, env, dir);
  const ready = await agent.waitFor((l) => l.msg === "ready");
  const listening = await agent.waitFor((l) => l.msg === "control listening");
  return { agent, dir, state, socket: listening.path as string, ready };
}

/** A raw client: the lines it received, and a way to wait for the n-th. */
function rawClient(path: string): { socket: Socket; lines: Record<string, unknown>[]; next(n: number): Promise<Record<string, unknown>[]> } {
  const socket = connect(path);
  const lines: Record<string, unknown>[] = [];
  let buf = "";
  const waiters: (() => void)[] = [];
  socket.setEncoding("utf8");
  socket.on("data", (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  const next = (n: number): Promise<Record<string, unknown>[]> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${lines.length} lines: ${JSON.stringify(lines)}`)), 10_000);
      const check = (): void => {
        if (lines.length >= n) {
          clearTimeout(timer);
          resolve(lines.slice(0, n));
        } else waiters.push(check);
      };
      check();
    });
  return { socket, lines, next };
}

describe("client commands against running agents", () => {
  it("observe on A shows up in watch on B (peered over loopback ZeroMQ); query, stats and peers answer", async () => {
    const a = await start();
    const ep = a.ready.endpoints as { pub: string; store: string };
    const b = await start({ QIS_EDGE_PEERS: `${ep.pub}|${ep.store}` });
    await b.agent.waitFor((l) => l.msg === "peer up");

    // watch on B, until it has printed one line
    const watch = spawn(process.execPath, [bin, "watch", "qis.hvac.>", "-n", "1", "--state-dir", b.state], { cwd: root, stdio: "pipe" });
    let out = "";
    let err = "";
    watch.stdout.on("data", (d: Buffer) => (out += d.toString()));
    watch.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const watchExit = new Promise<number | null>((resolve) => watch.on("close", (code) => resolve(code)));
    // Observe on A until the watch (subscribed some time after it started) has seen a packet.
    let observed = 0;
    const acks: Record<string, unknown>[] = [];
    let done = false;
    void watchExit.then(() => (done = true));
    for (let i = 0; i < 40 && !done; i++) {
      const r = await runCli(["observe", "--state-dir", a.state], JSON.stringify({ ...OBS, outcomeDelta: i / 100 }));
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      acks.push(JSON.parse(r.stdout.toString()) as Record<string, unknown>);
      observed++;
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(await watchExit, err).toBe(0);
    const lines = out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    const seen = lines[0] as { event: string; source: string; packet: Record<string, unknown> };
    expect(seen.event).toBe("packet");
    expect(seen.source).toBe(ep.pub); // the peer's name: its pub endpoint by default
    expect(seen.packet).toMatchObject({ address: "qis.hvac.energy-anomaly", nodeId: a.ready.nodeId, confidence: expect.closeTo(0.87, 6), nObservations: 42 });
    expect(acks.map((x) => x.seq)).toContain(seen.packet.seq);
    expect(acks[0]).toEqual({ address: "qis.hvac.energy-anomaly", seq: expect.any(Number), cursor: 1 });

    // query on A: its store, one page of 1
    const q = await runCli(["query", "qis.hvac.>", "--limit", "1", "--state-dir", a.state]);
    expect(q.code).toBe(0);
    const qLines = q.stdout.toString().trim().split("\n");
    expect(qLines).toHaveLength(1);
    expect(JSON.parse(qLines[0]!)).toMatchObject({ cursor: 1, address: "qis.hvac.energy-anomaly", outcomeDelta: 0, seq: acks[0]!.seq, nodeId: a.ready.nodeId });
    expect(q.stderr).toBe("1 packets (a full page): the next page with --since 1\n");
    const q2 = await runCli(["query", "qis.iot.>", "--state-dir", a.state]);
    expect([q2.code, q2.stdout.toString(), q2.stderr]).toEqual([0, "", ""]);

    // stats on A (a pipe: one line of JSON)
    const s = await runCli(["stats", "--state-dir", a.state]);
    expect(s.code).toBe(0);
    expect(s.stdout.toString().split("\n")).toHaveLength(2);
    const stats = JSON.parse(s.stdout.toString()) as Record<string, unknown>;
    expect(stats).toMatchObject({ nodeId: a.ready.nodeId, observed, published: observed });

    // peers on B (a pipe: JSON)
    const p = await runCli(["peers", "--state-dir", b.state]);
    expect(p.code).toBe(0);
    const peers = JSON.parse(p.stdout.toString()) as Record<string, unknown>[];
    expect(peers).toHaveLength(1);
    expect(peers[0]).toMatchObject({ name: ep.pub, pub: ep.pub, store: ep.store, up: true, gaps: 0, invalidPackets: 0 });
    expect(peers[0]!.packets).toBeGreaterThanOrEqual(1);
    // peers on B on a terminal (script(1) gives it a pty): the table
    const tty = await runText("script", ["-qec", `${process.execPath} ${bin} peers --state-dir ${b.state}`, "/dev/null"], { timeoutMs: 20_000 });
    const rows = tty.stdout.replaceAll("\r", "").trimEnd().split("\n");
    expect(rows[0]).toMatch(/^NAME +UP +PUB +PACKETS +INVALID +GAPS +CATCH-UPS +PROBLEM$/);
    expect(rows.slice(1)).toHaveLength(1);
    expect(rows[1]!.split(/ +/)).toEqual([ep.pub, "up", ep.pub, String(peers[0]!.packets), "0", "0", expect.any(String), "-"]);
    // peers on A: none
    expect((await runCli(["peers", "--state-dir", a.state])).stdout.toString()).toBe("[]\n");

    // the config finds the socket as --state-dir does
    const config = join(a.dir, "agent.json");
    writeFileSync(config, JSON.stringify({ stateDir: a.state }));
    const viaConfig = await runCli(["stats", "--config", config]);
    expect(viaConfig.code).toBe(0);
    expect(JSON.parse(viaConfig.stdout.toString())).toMatchObject({ nodeId: a.ready.nodeId });
  }, 60_000);

  it("the socket is mode 0600, and removed when the agent stops", async () => {
    const a = await start();
    expect(a.socket).toBe(join(a.state, "control.sock"));
    const st = statSync(a.socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    a.agent.child.kill("SIGTERM");
    expect(await a.agent.exit).toBe(0);
    expect(() => statSync(a.socket)).toThrow(/ENOENT/);
  });

  it("observe reads arrays, objects over several lines and NDJSON; a refused one names its place and exits 2, the others stored", async () => {
    const a = await start();
    const file = join(a.dir, "obs.json");
    const text = `[${JSON.stringify(OBS)}, ${JSON.stringify({ ...OBS, problemClass: "b" })}]\n${JSON.stringify({ ...OBS, problemClass: "c" }, null, 2)}\n${JSON.stringify({ ...OBS, confidence: 2 })}\n`;
    writeFileSync(file, text);
    const r = await runCli(["observe", "--json", file, "--socket", a.socket]);
    expect(r.code).toBe(2);
    expect(r.stdout.toString().trim().split("\n").map((l) => (JSON.parse(l) as { address: string }).address)).toEqual([
      "qis.hvac.energy-anomaly",
      "qis.hvac.b",
      "qis.hvac.c",
    ]);
    expect(r.stderr).toBe("ERR_OBSERVATION: observation 4 (line 9): 1 problem\n  /confidence: must be <= 1\n1 of 4 observations refused, 3 stored\n");
    const none = await runCli(["observe", "--socket", a.socket], "  \n");
    expect([none.code, none.stderr]).toEqual([2, "ERR_USAGE: no observation in the input\n"]);
  });

  it("watch shows another client's observation, the synthesis it leads to and the synthesized packet, in that order", async () => {
    const dir = tempDir("qis-ctl-");
    writeFileSync(join(dir, "agent.json"), JSON.stringify({ synth: { minContributors: 1, minIntervalMs: 0 } }));
    const a = await start({}, ["--config", join(dir, "agent.json")]);
    const watch = spawn(process.execPath, [bin, "watch", "qis.hvac.>", "-n", "3", "--socket", a.socket], { cwd: root, stdio: "pipe" });
    let out = "";
    watch.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const exit = new Promise<number | null>((resolve) => watch.on("close", (code) => resolve(code)));
    let done = false;
    void exit.then(() => (done = true));
    // Until the watch is subscribed, observations go unseen: observe until it prints, each time a new
    // address (a first contribution is always synthesized; more of one address soon move its estimate
    // less than synth.minDelta).
    for (let i = 0; i < 40 && !done && out === ""; i++) {
      await runCli(["observe", "-q", "--socket", a.socket], JSON.stringify({ ...OBS, problemClass: `c${i}` }));
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(await exit).toBe(0);
    const lines = out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.event, l.source ?? null])).toEqual([
      ["packet", "local"],
      ["synthesis", null],
      ["packet", "synthesis"],
    ]);
    expect(lines[1]).toMatchObject({ address: (lines[0]!.packet as Record<string, unknown>).address, domain: "hvac", hops: 1 });
    expect((lines[2]!.packet as Record<string, unknown>).seq).toBe(lines[1]!.seq);
  }, 60_000); // a loaded machine: each observe is a node start

  it("watch ends with exit 0 on SIGINT", async () => {
    const a = await start();
    const watch = spawn(process.execPath, [bin, "watch", "qis.>", "--state-dir", a.state], { cwd: root, stdio: "pipe" });
    const exit = new Promise<number | null>((resolve) => watch.on("close", (code) => resolve(code)));
    let out = "";
    watch.stdout.on("data", (d: Buffer) => (out += d.toString()));
    // Subscribed once it prints what another client observes.
    for (let i = 0; i < 40 && out === ""; i++) {
      await runCli(["observe", "-q", "--socket", a.socket], JSON.stringify(OBS));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(out).toMatch(/^\{"event":"packet","source":"local"/);
    watch.kill("SIGINT");
    expect(await exit).toBe(0);
  }, 60_000);
});

describe("no agent, two clients, bounds", () => {
  it("no agent: ERR_NO_AGENT with the path tried, exit 2; a stale socket says so", async () => {
    const dir = tempDir("qis-ctl-");
    for (const cmd of [["stats"], ["peers"], ["query"], ["watch", "qis.>"]]) {
      const r = await runCli([...cmd, "--state-dir", dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`ERR_NO_AGENT: no agent runs here: no control socket at ${join(dir, "control.sock")} (found through --state-dir ${dir}); start one with "qis-edge run", or point to it with --state-dir or --config\n`);
    }
    const o = await runCli(["observe", "--state-dir", dir], JSON.stringify(OBS));
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(/^ERR_NO_AGENT: /);

    const a = await start();
    a.agent.child.kill("SIGKILL");
    await a.agent.exit;
    const stale = await runCli(["stats", "--state-dir", a.state]);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toBe(`ERR_NO_AGENT: no agent answers on ${a.socket} (found through --state-dir ${a.state}): the socket is left from an agent that stopped\n`);

    // ... and the next agent on that state dir replaces it
    const again = runAgent([], { QIS_EDGE_STATE_DIR: a.state }, a.dir);
    await again.waitFor((l) => l.msg === "control listening");
    expect(again.lines().find((l) => l.msg === "stale control socket replaced")).toMatchObject({ level: "info", path: a.socket });
    expect((await runCli(["stats", "--state-dir", a.state])).code).toBe(0);
  });

  it("a live agent on control.path is not replaced: the second start is one fatal line ERR_CONTROL_IN_USE, exit 2", async () => {
    const shared = join(tempDir("qis-ctl-"), "c.sock");
    const a = await start({ QIS_EDGE_CONTROL_PATH: shared });
    expect(a.socket).toBe(shared);
    const b = runAgent([], { QIS_EDGE_CONTROL_PATH: shared });
    expect(await b.exit).toBe(2);
    const fatal = b.lines().filter((l) => l.level === "fatal");
    expect(fatal).toEqual([expect.objectContaining({ msg: "start failed", code: "ERR_CONTROL_IN_USE", where: "control.path", file: shared })]);
    expect((await runCli(["stats", "--socket", shared])).code).toBe(0);
  });

  it("a file that is not a socket at control.path is a config problem, not replaced", async () => {
    const dir = tempDir("qis-ctl-");
    mkdirSync(join(dir, "state"));
    writeFileSync(join(dir, "state", "control.sock"), "keep me");
    const b = runAgent([], {}, dir);
    expect(await b.exit).toBe(2);
    expect(b.stderr()).toContain(`/control/path: expected a path for a Unix socket (at most 107 bytes) in a directory that exists, found ${join(dir, "state", "control.sock")}, which exists and is not a socket`);
  });

  it("two clients at once, each its own session; more than control.maxClients are refused with ERR_CONTROL_BUSY", async () => {
    const dir = tempDir("qis-ctl-");
    writeFileSync(join(dir, "agent.json"), JSON.stringify({ control: { maxClients: 2 } }));
    const a = await start({}, ["--config", join(dir, "agent.json")]);
    const c1 = rawClient(a.socket);
    const c2 = rawClient(a.socket);
    expect((await c1.next(1))[0]).toMatchObject({ event: "ready", nodeId: a.ready.nodeId, framing: "ndjson", maxMessageBytes: 65_536 });
    expect((await c2.next(1))[0]).toMatchObject({ event: "ready", nodeId: a.ready.nodeId });
    c1.socket.write(`${JSON.stringify({ op: "observe", id: "one", ...OBS })}\n`);
    c2.socket.write(`${JSON.stringify({ op: "observe", id: "two", ...OBS })}\n${JSON.stringify({ op: "query", id: 3, pattern: "qis.>" })}\n`);
    const [, ack1] = await c1.next(2);
    const [, ack2, q] = await c2.next(3);
    expect(ack1).toMatchObject({ event: "ack", op: "observe", id: "one", cursor: expect.any(Number) });
    expect(ack2).toMatchObject({ event: "ack", op: "observe", id: "two", cursor: expect.any(Number) });
    expect(new Set([ack1!.cursor, ack2!.cursor])).toEqual(new Set([1, 2]));
    expect((q!.packets as unknown[]).length).toBe(2);

    // a third client: refused, told why
    const busy = await runCli(["stats", "--socket", a.socket]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toBe(`ERR_CONTROL_BUSY: 2 clients are connected already (control.maxClients) (${a.socket})\n`);
    // one leaves: room again
    c1.socket.destroy();
    await once(c1.socket, "close");
    let ok = await runCli(["stats", "--socket", a.socket]);
    for (let i = 0; i < 20 && ok.code !== 0; i++) ok = await runCli(["stats", "--socket", a.socket]);
    expect(ok.code).toBe(0);
    c2.socket.destroy();
  });

  it("a line over 65,536 bytes is ERR_STDIO_OVERSIZE and the session goes on", async () => {
    const a = await start();
    const c = rawClient(a.socket);
    await c.next(1);
    c.socket.write(`{"op":"stats","pad":"${"x".repeat(70_000)}"}\n{"op":"flush","id":2}\n`);
    const [, err, ack] = await c.next(3);
    expect(err).toMatchObject({ event: "error", code: "ERR_STDIO_OVERSIZE", line: 1 });
    expect(ack).toEqual({ event: "ack", op: "flush", id: 2 });
    c.socket.destroy();
  });
});

/**
 * `qis-edge run` as a real process: defaults with no config at all, the ready log line, a clean
 * exit 0 on SIGINT/SIGTERM, every config problem listed with exit 2, the state dir lock.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bin, runCli } from "./run-cli.js";

const children: ChildProcessWithoutNullStreams[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "qis-run-"));
  dirs.push(d);
  return d;
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  ready: Record<string, unknown>;
  lines: () => Record<string, unknown>[];
  exit: Promise<number | null>;
}

/** Starts `qis-edge run ARGS` in `cwd` and waits for its "ready" log line (or its early exit). */
async function start(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const child = spawn(process.execPath, [bin, "run", ...args], { cwd, env: { ...process.env, ...env }, stdio: "pipe" });
  children.push(child);
  let err = "";
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const lines = (): Record<string, unknown>[] =>
    err
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 10 s; stderr:\n${err}`)), 10_000);
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      const r = lines().find((l) => l.msg === "ready");
      if (r) {
        clearTimeout(timer);
        resolve(r);
      }
    });
    void exit.then((code) => reject(new Error(`run exited (${code}) before ready; stderr:\n${err}`)));
  });
  return { child, ready, lines, exit };
}

describe("qis-edge run", () => {
  it("runs on defaults with no config: a persisted node id, free loopback ports; SIGINT exits 0", async () => {
    const cwd = tempDir();
    const a = await start([], cwd, { QIS_EDGE_STATE_DIR: "" });
    const endpoints = a.ready.endpoints as { pub: string; store: string };
    expect(endpoints.pub).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(endpoints.store).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(a.ready.peers).toEqual([]);
    expect(a.ready.subscribe).toEqual(["qis.>"]);
    const nodeIdFile = join(cwd, ".qis-edge", "node-id");
    expect(readFileSync(nodeIdFile, "utf8").trim()).toBe(a.ready.nodeId);
    a.child.kill("SIGINT");
    expect(await a.exit).toBe(0);
    expect(a.lines().map((l) => l.msg)).toContain("closed");
    expect(existsSync(join(cwd, ".qis-edge", "agent.lock"))).toBe(false);

    // The same node id on the next start.
    const b = await start([], cwd);
    expect(b.ready.nodeId).toBe(a.ready.nodeId);
    // A second agent on the same state dir is refused while the first runs.
    const second = await runCli(["run"], undefined, { QIS_EDGE_STATE_DIR: join(cwd, ".qis-edge") });
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/ERR_AGENT_START|ERR_STATE_LOCKED/);
    expect(second.stderr).toContain("ERR_STATE_LOCKED");
    b.child.kill("SIGTERM");
    expect(await b.exit).toBe(0);
  });

  it("lists every problem of a bad config and exits 2", async () => {
    const cwd = tempDir();
    const file = join(cwd, "agent.json");
    writeFileSync(file, JSON.stringify({ store: { capacity: 0 }, subscribe: ["qis.HVAC.>"], peers: [{ pub: "tcp://nowhere" }], typo: 1 }));
    const r = await runCli(["run", "--config", file]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^ERR_CONFIG: .*agent\.json: 4 problems$/);
    expect(lines.length).toBe(5);
    for (const path of ["/store/capacity", "/subscribe/0", "/peers/0/pub", "/typo"]) expect(lines.filter((l) => l.trim().startsWith(`${path}:`))).toHaveLength(1);
  });

  it("connects to a peer from QIS_EDGE_PEERS; --log-level debug adds debug lines", async () => {
    const a = await start([], tempDir());
    const endpoints = a.ready.endpoints as { pub: string; store: string };
    const b = await start(["--log-level", "debug"], tempDir(), { QIS_EDGE_PEERS: `${endpoints.pub}|${endpoints.store}` });
    expect(b.ready.peers).toEqual([endpoints.pub]);
    const deadline = Date.now() + 5000;
    while (!b.lines().some((l) => l.msg === "peer up") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(b.lines().find((l) => l.msg === "peer up")).toMatchObject({ level: "info", peer: endpoints.pub, endpoint: endpoints.pub });
    while (!b.lines().some((l) => l.msg === "caught up") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(b.lines().find((l) => l.msg === "caught up")).toMatchObject({ level: "debug", peer: endpoints.pub, packets: 0 });
    expect(a.lines().some((l) => l.level === "debug")).toBe(false);
    a.child.kill("SIGTERM");
    b.child.kill("SIGTERM");
    expect([await a.exit, await b.exit]).toEqual([0, 0]);
  });

  it("--help and a bad --log-level", async () => {
    const help = await runCli(["run", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toContain("Usage: qis-edge run");
    const bad = await runCli(["run", "--log-level", "loud"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^ERR_USAGE: --log-level: "loud" is not one of/);
  });
});

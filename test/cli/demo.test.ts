/**
 * `qis-edge demo` as a real child process (bin/qis-edge.js, compiled dist/): it starts agent
 * worker processes, feeds them, prints plain summaries when stdout is not a terminal, and
 * stops cleanly, leaving no worker process and no temp dir behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { bin, root, runCli } from "./run-cli.js";

interface Started {
  label: string;
  pid: number;
  nodeId: string;
}

const children: ChildProcess[] = [];
const workerPids: number[] = [];

afterEach(() => {
  // whatever a failed test left running
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const pid of workerPids.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The "  n1 pid 1234 node <hex> …" lines the demo prints once its agents are connected. */
function startedAgents(stdout: string): Started[] {
  const list = [...stdout.matchAll(/^ {2}(n\d) pid (\d+) node ([0-9a-f]{32}) /gm)].map((m) => ({ label: m[1]!, pid: Number(m[2]), nodeId: m[3]! }));
  workerPids.push(...list.map((a) => a.pid));
  return list;
}

function stateDir(stdout: string): string {
  const m = /state in (\S+)$/m.exec(stdout);
  expect(m, "the start line names the state dir").not.toBeNull();
  return m![1]!;
}

/** The node rows and estimate rows of the final summary block. */
function finalSummary(stdout: string) {
  const at = stdout.lastIndexOf("qis-edge demo: final summary");
  expect(at, "a final summary").toBeGreaterThanOrEqual(0);
  const block = stdout.slice(at);
  const nodes = [...block.matchAll(/^(n\d) ([0-9a-f]{8}) +(b\d) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)\/(\d+)/gm)].map((m) => ({
    label: m[1]!,
    shortId: m[2]!,
    building: m[3]!,
    pid: Number(m[4]),
    observed: Number(m[5]),
    published: Number(m[6]),
    received: Number(m[7]),
    duplicates: Number(m[8]),
    synthesized: Number(m[9]),
    invalid: Number(m[10]),
    peersUp: Number(m[11]),
    peers: Number(m[12]),
  }));
  const estimates = [...block.matchAll(/^(n\d) +(qis\.[a-z.-]+) +([+-]\d\.\d{3}) +(\d+\.\d) +(\d+) +(\d+)$/gm)].map((m) => ({
    label: m[1]!,
    address: m[2]!,
    estimate: Number(m[3]),
    weight: Number(m[4]),
    nodes: Number(m[5]),
  }));
  const consensus = [...block.matchAll(/^(n\d) +hvac +(up|down|flat) +(\d\.\d\d)/gm)].map((m) => ({ label: m[1]!, direction: m[2]!, strength: Number(m[3]) }));
  return { block, nodes, estimates, consensus };
}

/** Spawns the demo with piped stdio; resolves `until` once stdout matches. */
function spawnDemo(args: string[]) {
  const child = spawn(process.execPath, [bin, "demo", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  const until = async (re: RegExp, timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(stdout)) {
      if (child.exitCode !== null) throw new Error(`demo exited (${child.exitCode}) before ${re}; stdout:\n${stdout}\nstderr:\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`no ${re} within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, exited, until, stdout: () => stdout, stderr: () => stderr };
}

/** Worker pids are gone (a worker closes and exits by itself; allow it a moment to be reaped). */
async function expectGone(pids: number[]): Promise<void> {
  const deadline = Date.now() + 2000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(pids.filter(alive), "worker processes left running").toEqual([]);
}

describe("qis-edge demo", () => {
  it("runs 3 agents for --duration, they exchange packets and synthesize; exits 0 and leaves nothing behind", async () => {
    const started = Date.now();
    const r = await runCli(["demo", "--duration", "4", "--rate", "50"]);
    const seconds = (Date.now() - started) / 1000;
    const stdout = r.stdout.toString("utf8");
    expect(r.code, `stderr:\n${r.stderr}\nstdout:\n${stdout}`).toBe(0);
    expect(seconds).toBeLessThan(15); // ~5.5 s on an idle machine: start-up, 4 s, close
    expect(stdout).not.toMatch(/\x1b/); // not a TTY: no escape codes
    expect(stdout).toMatch(/qis-edge demo: summary at \d+\.\d s/); // the periodic plain summary

    const agents = startedAgents(stdout);
    expect(agents.map((a) => a.label)).toEqual(["n1", "n2", "n3"]);
    expect(new Set(agents.map((a) => a.nodeId)).size).toBe(3);

    const { nodes, estimates, consensus } = finalSummary(stdout);
    expect(nodes.map((n) => n.label)).toEqual(["n1", "n2", "n3"]);
    for (const n of nodes) {
      const agent = agents.find((a) => a.label === n.label)!;
      expect(n.pid).toBe(agent.pid);
      expect(n.shortId).toBe(agent.nodeId.slice(0, 8));
      expect(n.observed).toBeGreaterThan(50); // ~200 at 50/s for 4 s
      expect(n.received, `${n.label} received from its peers`).toBeGreaterThan(0);
      expect(n.invalid).toBe(0);
      expect(n.peers).toBe(2);
    }
    const hvac = estimates.filter((e) => e.address === "qis.hvac.energy-anomaly");
    expect(hvac.map((e) => e.label)).toEqual(["n1", "n2", "n3"]);
    for (const e of hvac) {
      expect(e.estimate).toBeGreaterThanOrEqual(-1);
      expect(e.estimate).toBeLessThanOrEqual(1);
      expect(e.weight).toBeGreaterThan(0);
      expect(e.nodes, `${e.label} counts every node's packets`).toBe(3);
    }
    expect(estimates.filter((e) => e.address === "qis.iot.predictive-maintenance.bearing-wear")).toHaveLength(3);
    expect(consensus.map((c) => c.label)).toEqual(["n1", "n2", "n3"]);
    expect(stdout).toMatch(/^stopped: 3 agents closed \(n1 code 0, n2 code 0, n3 code 0\)/m);

    await expectGone(agents.map((a) => a.pid));
    expect(existsSync(stateDir(stdout)), "temp state dir removed").toBe(false);
  }, 30_000);

  it("stops on SIGINT: closes every agent, prints the final summary, exits 0", async () => {
    const demo = spawnDemo(["--rate", "30", "--nodes", "2"]);
    await demo.until(/^ {2}n2 pid \d+ /m);
    const agents = startedAgents(demo.stdout());
    expect(agents).toHaveLength(2);
    await demo.until(/qis-edge demo: summary at/);
    demo.child.kill("SIGINT");
    const { code } = await demo.exited;
    expect(code, demo.stderr()).toBe(0);
    const { block, nodes } = finalSummary(demo.stdout());
    expect(block).toMatch(/final summary after \d+\.\d s \(SIGINT\)/);
    expect(nodes.map((n) => n.label)).toEqual(["n1", "n2"]);
    await expectGone(agents.map((a) => a.pid));
    expect(existsSync(stateDir(demo.stdout()))).toBe(false);
  }, 30_000);

  it("exits 1 with the agent's exit when a worker dies, and stops the others", async () => {
    const demo = spawnDemo(["--rate", "10"]);
    await demo.until(/^ {2}n3 pid \d+ /m);
    const agents = startedAgents(demo.stdout());
    process.kill(agents[1]!.pid, "SIGKILL");
    const { code } = await demo.exited;
    expect(code).toBe(1);
    expect(demo.stderr()).toMatch(new RegExp(`^ERR_DEMO_WORKER: agent n2 \\(pid ${agents[1]!.pid}\\) exited unexpectedly \\(signal SIGKILL\\)`, "m"));
    await expectGone(agents.map((a) => a.pid));
  }, 30_000);

  it("--help exits 0", async () => {
    const r = await runCli(["demo", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(/^Usage: qis-edge demo /);
    expect(r.stdout.toString()).toContain("--duration SECONDS");
  });

  it.each([
    [["--nodes", "1"], /^ERR_USAGE: --nodes: expected an integer in 2\.\.8, got "1"\n$/],
    [["--nodes", "9"], /^ERR_USAGE: --nodes/],
    [["--rate", "0"], /^ERR_USAGE: --rate/],
    [["--rate", "fast"], /^ERR_USAGE: --rate/],
    [["--duration", "-1"], /^ERR_USAGE: /],
    [["--seed", "1.5"], /^ERR_USAGE: --seed/],
    [["--bogus"], /^ERR_USAGE: /],
    [["extra"], /^ERR_USAGE: demo takes no arguments/],
  ])("%j exits 2 with ERR_USAGE", async (args, message) => {
    const r = await runCli(["demo", ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout.length).toBe(0);
  });
});

describe("the demo's simulated sensors", () => {
  it("produce valid observations, the same ones for the same seed", async () => {
    const { Building, TickCounter, HVAC_ADDRESS, BEARING_ADDRESS } = await import("../../src/cli/demo-feed.js");
    const { parseObservation, observationToFields } = await import("../../src/agent/observation.js");
    const run = (seed: number) => {
      const b = new Building(1, 3, seed, 10);
      return Array.from({ length: 2000 }, (_, i) => b.next(i / 10));
    };
    const list = run(7);
    expect(run(7)).toEqual(list);
    expect(run(8)).not.toEqual(list);
    const addresses = new Set<string>();
    for (const o of list) {
      parseObservation(o); // throws on an invalid one
      expect(o.outcomeDelta).toBeGreaterThanOrEqual(-1);
      expect(o.outcomeDelta).toBeLessThanOrEqual(1);
      expect(o.confidence).toBeGreaterThanOrEqual(0);
      expect(o.confidence).toBeLessThanOrEqual(1);
      expect(Number.isInteger(o.nObservations)).toBe(true);
      addresses.add(observationToFields(o).address);
    }
    expect([...addresses].sort()).toEqual([HVAC_ADDRESS, BEARING_ADDRESS].sort());
    // buildings drift apart: the first and the last of three disagree on HVAC
    const mean = (i: number) => {
      const b = new Building(i, 3, 1, 10);
      const xs = Array.from({ length: 500 }, () => b.hvac(0).outcomeDelta);
      return xs.reduce((s, x) => s + x, 0) / xs.length;
    };
    expect(mean(2) - mean(0)).toBeGreaterThan(0.2);

    const ticks = new TickCounter(7, 200); // 1.4 per tick
    const counts = Array.from({ length: 50 }, () => ticks.next());
    expect(counts.reduce((s, n) => s + n, 0)).toBe(70);
    expect(Math.max(...counts) - Math.min(...counts)).toBe(1);
  });
});

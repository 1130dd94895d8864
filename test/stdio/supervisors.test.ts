/**
 * The example supervisors (examples/supervisor.c, built with the machine's cc, and
 * examples/supervisor.py) each drive a real agent; and an agent whose parent dies exits.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { runText } from "../run-process.js";
import { alive, bin, cleanupAll, root, tempDir, track, waitUntil, writeConfig } from "./helpers.js";

afterEach(cleanupAll);

const PYTHON = "/usr/bin/python3";
const agentCommand = (framing: string, config: string) => [process.execPath, bin, "run", "--stdio", "--framing", framing, "--config", config];
/** Synthesis on every change, so that the supervisors see synthesis events from one agent. */
const synthConfig = { synth: { minContributors: 1, minIntervalMs: 0 } };

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("QIS_EDGE_")) delete env[k];
  return env;
}

/** Runs a supervisor to its end; output and exit status, or an error naming both. */
function runSupervisor(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { cwd: root, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  const exited = track(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${cmd} did not finish within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`)), timeoutMs).unref());
  return Promise.race([exited.then((code) => ({ code, stdout, stderr })), timeout]);
}

describe("examples/supervisor.c (cbor framing)", () => {
  let exe = "";
  // Compiled by an awaited child: a busy machine takes seconds, and the worker must keep answering vitest.
  beforeAll(async () => {
    const cc = (await runText("sh", ["-c", "command -v cc"])).stdout.trim();
    if (cc === "") throw new Error("no C compiler (cc) on PATH: the C supervisor example cannot be built");
    exe = join(tempDir("qis-sup-c-"), "supervisor");
    const r = await runText(cc, ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-o", exe, join(root, "examples/supervisor.c")]);
    if (r.status !== 0) throw new Error(`cc failed on examples/supervisor.c:\n${r.error?.message ?? r.stderr}`);
  });

  it("builds with -Werror and drives an agent: 5,000 observations acked, synthesis events read, agent exits 0", async () => {
    const { file } = writeConfig(synthConfig);
    const r = await runSupervisor(exe, ["-n", "5000", "--", ...agentCommand("cbor", file)]);
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^ready: node [0-9a-f]{32}$/m);
    expect(r.stdout).toMatch(/^ack 0: qis\.hvac\.compressor-wear seq \d+ cursor 1$/m);
    expect(r.stdout).toMatch(/^synthesis: qis\.hvac\.\S+ estimate -?\d\.\d{3} confidence \d\.\d{3}$/m);
    expect(r.stdout).toMatch(/^stats: observed 5000, store size \d+$/m);
    expect(r.stdout).toMatch(/^sent 5000 observations: 5000 acks, 0 errors, [1-9]\d* synthesis events, 0 agent errors; agent exited 0$/m);
  });
});

describe("examples/supervisor.py (ndjson framing)", () => {
  beforeAll(() => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: the Python supervisor example needs the system Python 3`);
  });

  it("drives an agent: 5,000 observations acked, synthesis events read, agent exits 0", async () => {
    const { file } = writeConfig(synthConfig);
    const r = await runSupervisor(PYTHON, [join(root, "examples/supervisor.py"), "-n", "5000", "--", ...agentCommand("ndjson", file)]);
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^ready: node [0-9a-f]{32}, pid \d+, native (True|False)$/m);
    expect(r.stdout).toMatch(/^synthesis: qis\.hvac\.\S+ estimate -?\d\.\d{3} confidence \d\.\d{3}$/m);
    expect(r.stdout).toMatch(/^stats: observed 5000, store size \d+, dropped events \{'packet': 0, 'synthesis': 0\}$/m);
    expect(r.stdout).toMatch(/^sent 5000 observations: 5000 acks, 0 errors, [1-9]\d* synthesis events; agent exited 0$/m);
  });

  it("killing the supervisor (SIGKILL) makes its agent exit", async () => {
    const { file } = writeConfig();
    const sup = spawn(PYTHON, [join(root, "examples/supervisor.py"), "-q", "-n", "100", "--hold", "--", ...agentCommand("ndjson", file)], { cwd: root, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    const supExited = track(sup);
    let out = "";
    let err = "";
    sup.stdout.on("data", (d: Buffer) => (out += d.toString()));
    sup.stderr.on("data", (d: Buffer) => (err += d.toString()));
    await waitUntil(() => /holding: agent pid \d+/.test(out) || sup.exitCode !== null, () => `supervisor did not start its agent; stdout:\n${out}\nstderr:\n${err}`, 20_000);
    const pid = Number(/holding: agent pid (\d+)/.exec(out)?.[1]);
    expect(pid, `stdout:\n${out}\nstderr:\n${err}`).toBeGreaterThan(0);
    // Should the test fail, do not leave the agent behind.
    const guard = () => {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    };
    try {
      expect(alive(pid)).toBe(true);
      sup.kill("SIGKILL");
      await supExited;
      const ms = await waitUntil(() => !alive(pid), () => `agent ${pid} still running 3 s after its supervisor was killed`, 3000);
      expect(ms).toBeLessThan(3000);
    } finally {
      guard();
    }
  });
});

describe("parent death", () => {
  it("an agent whose parent dies exits even though its stdin stays open (ppid watch)", async () => {
    // The parent (python) gives the agent a stdin pipe whose write end a third process (sleep)
    // also holds: killing the parent then closes nothing the agent reads, so only the agent's
    // check of its parent pid can notice.
    const { file } = writeConfig();
    const script = [
      "import os, subprocess, sys",
      "r, w = os.pipe()",
      "holder = subprocess.Popen(['sleep', '60'], pass_fds=[w])",
      "agent = subprocess.Popen(sys.argv[1:], stdin=r)",
      "os.close(r)",
      "sys.stderr.write('agent pid %d holder pid %d\\n' % (agent.pid, holder.pid)); sys.stderr.flush()",
      "agent.wait()",
    ].join("\n");
    const parent = spawn(PYTHON, ["-c", script, ...agentCommand("ndjson", file)], { cwd: root, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    const parentExited = track(parent);
    let out = "";
    let err = "";
    parent.stdout.on("data", (d: Buffer) => (out += d.toString()));
    parent.stderr.on("data", (d: Buffer) => (err += d.toString()));
    await waitUntil(() => (/"event":"ready"/.test(out) && /holder pid/.test(err)) || parent.exitCode !== null, () => `agent not ready; stdout:\n${out}\nstderr:\n${err}`, 20_000);
    const pid = Number(/agent pid (\d+)/.exec(err)?.[1]);
    const holder = Number(/holder pid (\d+)/.exec(err)?.[1]);
    expect(pid, err).toBeGreaterThan(0);
    try {
      parent.kill("SIGKILL");
      await parentExited;
      expect(alive(holder)).toBe(true); // the agent's stdin is still open
      const ms = await waitUntil(() => !alive(pid), () => `agent ${pid} still running 3 s after its parent was killed; stderr:\n${err}`, 3000);
      expect(ms).toBeLessThan(3000);
    } finally {
      if (pid > 0 && alive(pid)) process.kill(pid, "SIGKILL");
      if (holder > 0 && alive(holder)) process.kill(holder, "SIGKILL");
    }
  });
});

/**
 * Real agents for tests: in this process (createAgent) or as child processes (agent-worker over
 * IPC). Every agent gets its own temporary state dir and free loopback ports; `closeAll()` in
 * afterEach closes or kills whatever a test started, even when it failed.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createAgent, type Agent } from "../../src/agent/agent.js";
import { resolveConfig } from "../../src/agent/config.js";

const cleanups: (() => Promise<void> | void)[] = [];

export function tempDir(prefix = "qis-agent-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A config object (file syntax) with test defaults: own state dir, silent logs, free ports. */
export function testConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { stateDir: tempDir(), log: { level: "silent" }, ...overrides };
}

export async function startAgent(overrides: Record<string, unknown> = {}): Promise<Agent> {
  const agent = await createAgent(resolveConfig(testConfig(overrides), { env: {} }));
  cleanups.push(() => agent.close());
  return agent;
}

export async function closeAll(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

/** Polls `check` until it returns true; on timeout fails with what `describe` says. */
export async function waitFor(check: () => boolean | Promise<boolean>, describe: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function observation(domain: string, problemClass: string, outcomeDelta: number, confidence: number, nObservations: number, tokens?: string[]) {
  return { domain, problemClass, outcomeDelta, confidence, nObservations, ...(tokens ? { tokens } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Agents as child processes

const WORKER = fileURLToPath(new URL("../../dist/cli/agent-worker.js", import.meta.url));

export interface WorkerAgent {
  child: ChildProcess;
  nodeId: string;
  endpoints: { pub: string; store: string | null };
  request<T = Record<string, unknown>>(op: string, args?: Record<string, unknown>): Promise<T>;
  events: Record<string, unknown>[];
  stderr(): string;
  /** resolves with the exit code or signal */
  exited: Promise<number | string>;
}

/**
 * Forks dist/cli/agent-worker.js with `config` (file syntax) and waits for its ready event,
 * racing an early exit (whose stderr is then in the error).
 */
export async function startWorker(config: Record<string, unknown>, timeoutMs = 15_000): Promise<WorkerAgent> {
  const child = fork(WORKER, [JSON.stringify(config)], { stdio: ["ignore", "ignore", "pipe", "ipc"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  const pending = new Map<number, (msg: Record<string, unknown>) => void>();
  const events: Record<string, unknown>[] = [];
  let nextId = 1;
  let ready: ((msg: Record<string, unknown>) => void) | undefined;
  const readyMsg = new Promise<Record<string, unknown>>((r) => (ready = r));
  child.on("message", (msg: Record<string, unknown>) => {
    if (typeof msg.id === "number") pending.get(msg.id)?.(msg);
    else if (msg.event === "ready") ready!(msg);
    else events.push(msg);
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`agent worker not ready within ${timeoutMs} ms; stderr:\n${err}`)), timeoutMs).unref());
  const early = exited.then((code) => {
    throw new Error(`agent worker exited (${code}) before it was ready; stderr:\n${err}`);
  });
  const msg = await Promise.race([readyMsg, early, timeout]);
  return {
    child,
    nodeId: msg.nodeId as string,
    endpoints: msg.endpoints as WorkerAgent["endpoints"],
    events,
    exited,
    stderr: () => err,
    request<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, (m) => {
          pending.delete(id);
          if (m.ok) resolve(m as T);
          else reject(Object.assign(new Error(String(m.message)), { code: m.code }));
        });
        child.send({ id, op, ...args });
      });
    },
  };
}

/**
 * The demo's agents: each an agent-worker child process (dist/cli/agent-worker.js, next to this
 * module) driven over Node's IPC channel. A worker exits by itself when the channel closes,
 * so the demo dying never leaves one behind.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { QisError } from "../errors.js";

export const WORKER_PATH = fileURLToPath(new URL("./agent-worker.js", import.meta.url));

/** Kept of each worker's stderr (its warn/error log lines), for the tail shown when it fails. */
const STDERR_KEEP = 16 * 1024;

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WorkerEndpoints {
  pub: string;
  store: string | null;
}

export class DemoWorker {
  /** "n1", "n2", … */
  readonly label: string;
  readonly child: ChildProcess;
  readonly pid: number;
  nodeId = "";
  endpoints: WorkerEndpoints = { pub: "", store: null };
  /** true when stop() had to SIGKILL it */
  killed = false;
  /** set once the process has exited */
  exit: WorkerExit | null = null;
  /** resolves when the process has exited */
  readonly exited: Promise<WorkerExit>;
  /** resolves on the worker's ready event; rejects if it exits first */
  readonly ready: Promise<void>;
  #stderr = "";
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void; timer: NodeJS.Timeout | undefined }>();

  constructor(label: string, config: Record<string, unknown>, workerPath = WORKER_PATH) {
    this.label = label;
    // detached: a worker gets no terminal signals (Ctrl-C goes to the demo's process group);
    // the demo closes it itself, in order.
    // Not the demo's --inspect (a port clash) or --input-type (an error on a file).
    const execArgv = process.execArgv.filter((a) => !/^--(inspect|debug|input-type)/.test(a));
    this.child = fork(workerPath, [JSON.stringify(config)], { stdio: ["ignore", "ignore", "pipe", "ipc"], detached: true, execArgv });
    if (this.child.pid === undefined) throw new QisError("ERR_DEMO_WORKER", `could not start agent ${label} (${workerPath})`);
    this.pid = this.child.pid;
    this.child.stderr?.setEncoding("utf8");
    this.child.stderr?.on("data", (d: string) => {
      this.#stderr += d;
      if (this.#stderr.length > 2 * STDERR_KEEP) this.#stderr = this.#stderr.slice(-STDERR_KEEP);
    });
    // A send on a closed channel reports here (and to the send callback): never an uncaught error.
    this.child.on("error", () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        for (const [id, p] of this.#pending) {
          if (p.timer) clearTimeout(p.timer);
          p.reject(new QisError("ERR_DEMO_WORKER", `agent ${label} exited`));
          this.#pending.delete(id);
        }
        resolve(this.exit);
      });
    });
    let onReady!: () => void;
    const readyMsg = new Promise<void>((r) => (onReady = r));
    this.child.on("message", (msg: Record<string, unknown>) => {
      if (typeof msg.id === "number") {
        const p = this.#pending.get(msg.id);
        if (p === undefined) return;
        this.#pending.delete(msg.id);
        if (p.timer) clearTimeout(p.timer);
        if (msg.ok === true) p.resolve(msg);
        else p.reject(new QisError(typeof msg.code === "string" ? msg.code : "ERR_DEMO_WORKER", String(msg.message)));
      } else if (msg.event === "ready") {
        this.nodeId = String(msg.nodeId);
        const ep = msg.endpoints as WorkerEndpoints;
        this.endpoints = { pub: ep.pub, store: ep.store ?? null };
        onReady();
      }
    });
    this.ready = Promise.race([
      readyMsg,
      this.exited.then((e) => {
        throw new QisError("ERR_DEMO_WORKER", `agent ${label} (pid ${this.pid}) exited before it was ready (${describeExit(e)})`);
      }),
    ]);
    this.ready.catch(() => undefined);
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** One request; rejects with the worker's error code, on exit, or after `timeoutMs`. */
  request<T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}, timeoutMs = 5000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (!this.alive || !this.child.connected) {
        reject(new QisError("ERR_DEMO_WORKER", `agent ${this.label} is not running`));
        return;
      }
      const id = this.#nextId++;
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.#pending.delete(id);
              reject(new QisError("ERR_DEMO_TIMEOUT", `agent ${this.label}: no answer to "${op}" within ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      this.#pending.set(id, { resolve: resolve as (m: Record<string, unknown>) => void, reject, timer });
      this.child.send({ id, op, ...args }, (err) => {
        if (err === null) return;
        const p = this.#pending.get(id);
        if (p === undefined) return;
        this.#pending.delete(id);
        if (p.timer) clearTimeout(p.timer);
        reject(new QisError("ERR_DEMO_WORKER", `agent ${this.label}: ${err.message}`));
      });
    });
  }

  /** Requests still waiting for an answer. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** The last `n` non-empty lines of the worker's stderr. */
  stderrTail(n = 10): string[] {
    return this.#stderr
      .split("\n")
      .map((l) => l.trimEnd())
      .filter((l) => l.length > 0)
      .slice(-n);
  }

  /**
   * Asks the worker to close (it answers, closes its agent and exits 0); SIGKILL when it has not
   * exited after `graceMs`. Resolves with how it exited.
   */
  async stop(graceMs = 3000): Promise<WorkerExit> {
    if (this.exit !== null) return this.exit;
    this.request("close", {}, 0).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), graceMs)));
    const exit = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (exit !== null) return exit;
    this.killed = true;
    this.kill();
    return this.exited;
  }

  kill(): void {
    if (this.exit === null) this.child.kill("SIGKILL");
  }
}

export function describeExit(e: WorkerExit): string {
  return e.signal !== null ? `signal ${e.signal}` : `code ${e.code ?? "?"}`;
}

/**
 * A broker process owned by a test (Mosquitto, nats-server): spawned with its config file,
 * waited for until it accepts TCP connections on its loopback port, racing an early exit, and
 * failing with its own output and an install hint; stopped (SIGTERM) or killed (SIGKILL) and
 * started again on the same port and directory. Its output is kept bounded.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createConnection, createServer } from "node:net";

/** A free TCP port on 127.0.0.1 (bound to 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: "127.0.0.1" });
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

/** Output kept per process: a long test must not hold megabytes of server log. */
const MAX_OUTPUT = 20_000;
const READY_TIMEOUT_MS = 10_000;

export class ServerProcess {
  #child: ChildProcess | null = null;
  #output = "";
  #exited: Promise<number | string> = Promise.resolve(0);

  /** `name` for messages; `hint` says how to install `command` when it cannot be spawned. */
  constructor(
    readonly name: string,
    readonly command: string,
    readonly args: readonly string[],
    readonly port: number,
    readonly hint: string,
  ) {}

  running(): boolean {
    const c = this.#child;
    return c !== null && c.exitCode === null && c.signalCode === null;
  }

  pid(): number | null {
    return this.running() ? (this.#child!.pid ?? null) : null;
  }

  log(): string {
    return this.#output;
  }

  #keep(text: string): void {
    this.#output = (this.#output + text).slice(-MAX_OUTPUT);
  }

  async start(): Promise<void> {
    if (this.running()) return;
    const c = spawn(this.command, [...this.args], { stdio: ["ignore", "pipe", "pipe"] });
    this.#child = c;
    c.stdout!.on("data", (d: Buffer) => this.#keep(d.toString()));
    c.stderr!.on("data", (d: Buffer) => this.#keep(d.toString()));
    this.#exited = new Promise((resolve) => {
      c.once("exit", (code, signal) => resolve(code ?? signal ?? -1));
      c.once("error", (e) => {
        this.#keep(`spawn ${this.command}: ${e.message} (${this.hint})\n`);
        resolve(-1);
      });
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let gone: number | string | null = null;
    void this.#exited.then((code) => (gone = code));
    while (!(await accepts(this.port))) {
      if (gone !== null) throw new Error(`${this.name} exited (${gone}) before accepting connections on 127.0.0.1:${this.port}; its output:\n${this.#output}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not accept connections on 127.0.0.1:${this.port} within ${READY_TIMEOUT_MS / 1000} s; its output:\n${this.#output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** SIGTERM (a clean shutdown), and waits for the exit. */
  async stop(): Promise<void> {
    await this.#signal("SIGTERM");
  }

  /** SIGKILL, and waits for the exit. */
  async kill(): Promise<void> {
    await this.#signal("SIGKILL");
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    if (!this.running()) return;
    this.#child!.kill(signal);
    await this.#exited;
  }
}

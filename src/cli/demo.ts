/**
 * `qis-edge demo` (what `npm start` runs): a small swarm on this machine. N agents as separate
 * processes (agent-worker, over IPC) on free loopback ports, in a full mesh; the demo feeds each
 * one simulated sensor observations and shows what every node sends, receives and synthesizes.
 *
 *   start     fork the workers (state in a fresh temp dir), wait for every "ready", then
 *             addPeer each to every other one
 *   run       feed every 200 ms; poll "snapshot" and draw (in place on a TTY, a plain block
 *             every 2 s otherwise)
 *   stop      on SIGINT/SIGTERM/SIGHUP or after --duration: last snapshot, close each worker
 *             (SIGKILL after 3 s), remove the temp dir, print the final summary, exit 0.
 *             A worker dying on its own: its exit and stderr tail on stderr, exit 1.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentStats } from "../agent/stats.js";
import { UsageError } from "../errors.js";
import { parseCommandArgs } from "./args.js";
import type { SynthSnapshot } from "../synth/index.js";
import { Building, TickCounter } from "./demo-feed.js";
import { DemoWorker, describeExit, type WorkerExit } from "./demo-swarm.js";
import { fit, renderFrame, type NodeView } from "./demo-view.js";
import type { CommandContext } from "./main.js";

export const demoHelp = `Usage: qis-edge demo [--duration SECONDS] [--rate N] [--seed N] [--nodes N]

Starts a small swarm on this machine: N agents (default 3), each a separate process on free
loopback ports, connected to each other in a full mesh. Each node stands for a building with
two simulated sensors, fed by the demo:
  qis.hvac.energy-anomaly                       HVAC energy use against its baseline; a shared
                                                wave plus a drift of its own per building
  qis.iot.predictive-maintenance.bearing-wear   pump bearing wear, growing until the
                                                bearing is replaced
Every node stores and publishes its packets, receives its peers' and synthesizes an estimate
per address (over the last 10 s) and a consensus per domain. On a terminal the screen shows,
refreshed in place, each node's packets in and out, its estimates and its consensus as it sees
them. In a pipe or a log a plain summary is printed every 2 s instead, and a final one at the
end.

Options:
  -d, --duration SECONDS   stop after this long (default: run until Ctrl-C)
  -r, --rate N             observations per second per node, 1..1000 (default 20)
  -s, --seed N             seed of the simulated sensors, an integer 0..4294967295 (default 1)
  -n, --nodes N            how many agents, 2..8 (default 3)
  -h, --help               show this help

The agents' state (node ids, locks) lives in a temporary directory removed at exit; their
logs (level warn) are shown only when one of them fails. Ctrl-C (SIGINT), SIGTERM or the end
of --duration closes every agent and prints the final summary.

Exit status: 0 stopped, 1 an agent failed (its exit and last log lines on stderr), 2 usage.
`;

export interface DemoOptions {
  /** seconds, or null: until a signal */
  duration: number | null;
  rate: number;
  seed: number;
  nodes: number;
}

const TICK_MS = 200;
const TTY_REFRESH_MS = 500;
const PLAIN_EVERY_MS = 2000;
/** lifetime of the observations' packets: the estimates follow the last 10 s */
const OBS_TTL_S = 10;
const READY_TIMEOUT_MS = 20_000;
/** observe requests a worker may have unanswered before the feed skips it for a tick */
const MAX_IN_FLIGHT = 8;
const STOP_GRACE_MS = 3000;
const STDERR_TAIL = 12;

const ESC = "\x1b[";
const HOME = `${ESC}H`;
const CLEAR_LINE = `${ESC}K`;
const CLEAR_DOWN = `${ESC}J`;
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;

function parseNumber(option: string, text: string | undefined, min: number, max: number, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const v = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max)
    throw new UsageError(`--${option}: expected ${integer ? "an integer" : "a number"} in ${min}..${max}, got "${text}"`);
  return v;
}

/** Parses the demo's options; null for --help. Bad values are UsageErrors (exit 2). */
export function parseDemoArgs(argv: string[]): DemoOptions | null {
  const { values, positionals } = parseCommandArgs("demo", argv, {
    duration: { type: "string", short: "d" },
    rate: { type: "string", short: "r" },
    seed: { type: "string", short: "s" },
    nodes: { type: "string", short: "n" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return null;
  if (positionals.length > 0) throw new UsageError(`demo takes no arguments, got "${positionals[0]}"`);
  return {
    duration: parseNumber("duration", values.duration, 0.1, 31_536_000, false) ?? null,
    rate: parseNumber("rate", values.rate, 1, 1000, false) ?? 20,
    seed: parseNumber("seed", values.seed, 0, 0xffff_ffff, true) ?? 1,
    nodes: parseNumber("nodes", values.nodes, 2, 8, true) ?? 3,
  };
}

export async function demo(argv: string[], ctx: CommandContext): Promise<number> {
  const options = parseDemoArgs(argv);
  if (options === null) {
    ctx.stdout.write(demoHelp);
    return 0;
  }
  return new Demo(options, ctx).run();
}

type StopReason =
  | { kind: "duration" }
  | { kind: "signal"; signal: NodeJS.Signals }
  | { kind: "output" }
  | { kind: "failed"; worker: DemoWorker; exit: WorkerExit }
  | { kind: "error"; code: string; message: string; worker?: DemoWorker };

interface Node {
  worker: DemoWorker;
  building: Building;
  ticks: TickCounter;
  view: NodeView;
}

class Demo {
  readonly #o: DemoOptions;
  readonly #ctx: CommandContext;
  readonly #tty: boolean;
  readonly #nodes: Node[] = [];
  #dir = "";
  #reason: StopReason | null = null;
  #onStop!: (r: StopReason) => void;
  readonly #stopped = new Promise<StopReason>((r) => (this.#onStop = r));
  readonly #timers: NodeJS.Timeout[] = [];
  #startedAt = 0;
  #stoppedAt = 0;
  #polling = false;
  #outputBroken = false;
  #feedErrors = 0;
  #lastFeedError = "";
  #skippedTicks = 0;
  readonly #signalHandler = (signal: NodeJS.Signals): void => {
    if (this.#reason === null) this.#stop({ kind: "signal", signal });
    // a second signal while stopping: do not wait for the agents
    else for (const n of this.#nodes) n.worker.kill();
  };

  constructor(options: DemoOptions, ctx: CommandContext) {
    this.#o = options;
    this.#ctx = ctx;
    this.#tty = ctx.stdout.isTTY === true;
  }

  #stop(reason: StopReason): void {
    if (this.#reason !== null) return;
    this.#reason = reason;
    this.#stoppedAt = Date.now();
    this.#onStop(reason);
  }

  #write(text: string): void {
    if (this.#outputBroken) return;
    try {
      this.#ctx.stdout.write(text);
    } catch {
      this.#outputBroken = true;
      this.#stop({ kind: "output" });
    }
  }

  async run(): Promise<number> {
    const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
    for (const s of signals) process.on(s, this.#signalHandler);
    // stdout closed under us (e.g. `| head`): stop like a signal, quietly. The listener stays:
    // an EPIPE can still be reported after we return.
    const onOutputError = (): void => {
      this.#outputBroken = true;
      this.#stop({ kind: "output" });
    };
    this.#ctx.stdout.on("error", onOutputError);
    this.#dir = mkdtempSync(join(tmpdir(), "qis-edge-demo-"));
    if (this.#tty) this.#write(`${HIDE_CURSOR}${ESC}2J${HOME}`);
    try {
      const started = await this.#start();
      if (started) this.#runLoop();
      const reason = await this.#stopped;
      return await this.#finish(reason);
    } finally {
      for (const t of this.#timers) clearInterval(t);
      for (const n of this.#nodes) n.worker.kill();
      rmSync(this.#dir, { recursive: true, force: true });
      for (const s of signals) process.off(s, this.#signalHandler);
      if (this.#tty) this.#write(SHOW_CURSOR);
    }
  }

  /** Forks the workers, waits for them, meshes them. False when stopped meanwhile. */
  async #start(): Promise<boolean> {
    const o = this.#o;
    const maxContributions = Math.min(1 << 24, Math.max(16_384, Math.ceil(o.nodes * o.rate * OBS_TTL_S * 1.25) + 1024));
    for (let i = 0; i < o.nodes; i++) {
      const label = `n${i + 1}`;
      const config = {
        stateDir: join(this.#dir, label),
        log: { level: "warn" },
        pub: { bind: "tcp://127.0.0.1:*" },
        store: { bind: "tcp://127.0.0.1:*" },
        subscribe: ["qis.>"],
        // lively: an emission per address at most every 0.5 s, on small moves too
        synth: { minIntervalMs: 500, minDelta: 0.01, ttlS: OBS_TTL_S, sweepIntervalMs: 250, maxContributions },
      };
      let worker: DemoWorker;
      try {
        worker = new DemoWorker(label, config);
      } catch (err) {
        this.#stop({ kind: "error", code: "ERR_DEMO_WORKER", message: (err as Error).message });
        return false;
      }
      const building = new Building(i, o.nodes, o.seed, OBS_TTL_S);
      this.#nodes.push({ worker, building, ticks: new TickCounter(o.rate, TICK_MS), view: { label, building: building.name, pid: worker.pid, nodeId: "" } });
      void worker.exited.then((exit) => {
        if (this.#reason !== null) return; // closed by us
        const node = this.#nodes.find((n) => n.worker === worker);
        if (node !== undefined) node.view.exit = `exited (${describeExit(exit)})`;
        this.#stop({ kind: "failed", worker, exit });
      });
    }

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), READY_TIMEOUT_MS)));
    const ready = Promise.all(this.#nodes.map((n) => n.worker.ready)).then(
      () => "ready" as const,
      () => "failed" as const,
    );
    const first = await Promise.race([ready, timeout, this.#stopped.then(() => "stopped" as const)]);
    clearTimeout(timer);
    if (first === "timeout") {
      const late = this.#nodes.find((n) => n.worker.nodeId === "")?.worker;
      this.#stop({ kind: "error", code: "ERR_DEMO_WORKER", message: `agent ${late?.label ?? "?"} not ready within ${READY_TIMEOUT_MS / 1000} s`, ...(late ? { worker: late } : {}) });
    }
    // "failed": the exit handler stops the demo (in the same turn or the next)
    if (first !== "ready") return false;

    for (const n of this.#nodes) n.view.nodeId = n.worker.nodeId;
    try {
      await Promise.all(
        this.#nodes.flatMap(({ worker }) =>
          this.#nodes.filter((p) => p.worker !== worker).map(({ worker: peer }) => worker.request("addPeer", { name: peer.label, pub: peer.endpoints.pub, store: peer.endpoints.store })),
        ),
      );
    } catch (err) {
      const e = err as { code?: string; message: string };
      this.#stop({ kind: "error", code: e.code ?? "ERR_DEMO_WORKER", message: `connecting the agents: ${e.message}` });
    }
    if (this.#reason !== null) return false;

    this.#write(
      `qis-edge demo: ${o.nodes} agents on loopback, ${o.rate} observations/s per node, seed ${o.seed}, ${o.duration === null ? "until Ctrl-C" : `for ${o.duration} s`}, state in ${this.#dir}\n` +
        this.#nodes.map(({ worker: w, building: b }) => `  ${w.label} pid ${w.pid} node ${w.nodeId} building ${b.name} pub ${w.endpoints.pub} store ${w.endpoints.store ?? "-"}\n`).join(""),
    );
    return true;
  }

  #runLoop(): void {
    this.#startedAt = Date.now();
    this.#timers.push(setInterval(() => this.#feed(), TICK_MS));
    this.#timers.push(setInterval(() => void this.#refresh(), this.#tty ? TTY_REFRESH_MS : PLAIN_EVERY_MS));
    if (this.#o.duration !== null) this.#timers.push(setTimeout(() => this.#stop({ kind: "duration" }), this.#o.duration * 1000));
    this.#feed();
    if (this.#tty) void this.#refresh();
  }

  #feed(): void {
    if (this.#reason !== null) return;
    const t = (Date.now() - this.#startedAt) / 1000;
    for (const n of this.#nodes) {
      const count = n.ticks.next();
      if (count === 0 || !n.worker.alive) continue;
      if (n.worker.inFlight >= MAX_IN_FLIGHT) {
        this.#skippedTicks++;
        continue;
      }
      const observations = Array.from({ length: count }, () => n.building.next(t));
      n.worker.request("observe", { observations }).catch((err: Error & { code?: string }) => {
        if (this.#reason !== null) return;
        this.#feedErrors++;
        this.#lastFeedError = `${n.worker.label}: ${err.code ?? "ERR"}: ${err.message}`;
      });
    }
  }

  /** Asks every live worker for its stats and synthesis snapshot. */
  async #poll(timeoutMs: number): Promise<void> {
    await Promise.all(
      this.#nodes.map(async (n) => {
        if (!n.worker.alive) return;
        try {
          const r = await n.worker.request<{ stats: AgentStats; synth: SynthSnapshot }>("snapshot", {}, timeoutMs);
          n.view.stats = r.stats;
          n.view.synth = r.synth;
        } catch {
          // keep the last view: a slow or dying worker is reported by its exit, not here
        }
      }),
    );
  }

  async #refresh(): Promise<void> {
    if (this.#polling || this.#reason !== null) return;
    this.#polling = true;
    try {
      await this.#poll(2000);
    } finally {
      this.#polling = false;
    }
    if (this.#reason !== null) return;
    const elapsed = ((Date.now() - this.#startedAt) / 1000).toFixed(1);
    if (this.#tty) this.#draw(`qis-edge demo | ${this.#headline()} | ${elapsed} s${this.#o.duration !== null ? ` of ${this.#o.duration}` : ""}`, "Ctrl-C stops");
    else this.#print(`qis-edge demo: summary at ${elapsed} s | ${this.#headline()}`);
  }

  #headline(): string {
    return `${this.#o.nodes} agents | ${this.#o.rate} obs/s per node | seed ${this.#o.seed}`;
  }

  #notes(): string | undefined {
    const notes: string[] = [];
    if (this.#feedErrors > 0) notes.push(`feed errors: ${this.#feedErrors} (last: ${this.#lastFeedError})`);
    if (this.#skippedTicks > 0) notes.push(`feed ticks skipped (agents busy): ${this.#skippedTicks}`);
    return notes.length > 0 ? notes.join("; ") : undefined;
  }

  /** The frame, in place: home, each line cleared to its end, then the rest of the screen. */
  #draw(title: string, footer?: string): void {
    const notes = this.#notes();
    const foot = [footer, notes].filter((x) => x !== undefined).join("   ");
    const lines = renderFrame({ title, nodes: this.#nodes.map((n) => n.view), ...(foot !== "" ? { footer: foot } : {}) });
    const out = this.#ctx.stdout as { columns?: number; rows?: number };
    const shown = out.rows !== undefined && out.rows > 1 ? lines.slice(0, out.rows - 1) : lines;
    this.#write(`${HOME}${shown.map((l) => fit(l, out.columns) + CLEAR_LINE).join("\n")}\n${CLEAR_DOWN}`);
  }

  /** The frame as a plain block (no escape codes), after a blank line. */
  #print(title: string): void {
    const notes = this.#notes();
    const lines = renderFrame({ title, nodes: this.#nodes.map((n) => n.view), ...(notes !== undefined ? { footer: notes } : {}) });
    this.#write(`\n${lines.join("\n")}\n`);
  }

  async #finish(reason: StopReason): Promise<number> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers.length = 0;
    const ran = this.#startedAt > 0;
    if (ran && reason.kind !== "failed") await this.#poll(1500);
    await Promise.all(this.#nodes.map((n) => n.worker.stop(STOP_GRACE_MS)));
    rmSync(this.#dir, { recursive: true, force: true });

    if (reason.kind === "failed" || reason.kind === "error") {
      const w = reason.worker;
      const what = reason.kind === "failed" ? `ERR_DEMO_WORKER: agent ${reason.worker.label} (pid ${reason.worker.pid}) exited unexpectedly (${describeExit(reason.exit)})` : `${reason.code}: ${reason.message}`;
      if (this.#tty) this.#write(SHOW_CURSOR);
      let text = `${what}\n`;
      const tail = w?.stderrTail(STDERR_TAIL) ?? [];
      if (tail.length > 0) text += `last lines of ${w!.label}'s stderr:\n${tail.map((l) => `  ${l}\n`).join("")}`;
      this.#ctx.stderr.write(text);
      return 1;
    }

    if (!ran) {
      this.#write(`stopped before the agents were connected: ${this.#nodes.length} agents closed; temporary state removed\n`);
      return 0;
    }
    const elapsed = ((this.#stoppedAt - this.#startedAt) / 1000).toFixed(1);
    const why = reason.kind === "duration" ? "--duration" : reason.kind === "signal" ? reason.signal : "output closed";
    const title = `qis-edge demo: final summary after ${elapsed} s (${why}) | ${this.#headline()}`;
    if (this.#tty) this.#draw(title);
    else this.#print(title);
    const closed = this.#nodes.map(({ worker: w }) => `${w.label} ${w.killed ? `killed after ${STOP_GRACE_MS / 1000} s` : describeExit(w.exit ?? { code: null, signal: null })}`).join(", ");
    this.#write(`stopped: ${this.#nodes.length} agents closed (${closed}); temporary state removed\n`);
    return 0;
  }
}

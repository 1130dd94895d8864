/**
 * `qis-edge run --stdio` as a real child process: spawn with a temporary state dir and config,
 * wait for "ready" (racing an early exit and a timeout, with stderr in the failure), send
 * requests in either framing, collect every message it writes. `killAll()` in afterEach.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Encoder } from "cbor-x";
import { cborDecoder } from "../../src/stdio/framing.js";
import { bin, root } from "../cli/run-cli.js";

export { bin, root };

const cleanups: (() => Promise<void> | void)[] = [];

export function tempDir(prefix = "qis-stdio-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Kills whatever a test started (children first), removes temp dirs. */
export async function cleanupAll(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

/** Registers a child to be SIGKILLed (and awaited) in cleanupAll. */
export function track(child: ChildProcess): Promise<number | string> {
  const exited = new Promise<number | string>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode ?? child.signalCode ?? -1);
    else child.once("exit", (code, signal) => resolve(code ?? signal ?? -1));
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return exited;
}

/** Writes an agent config (file syntax) in a fresh temp dir, with its own state dir and quiet logs. */
export function writeConfig(overrides: Record<string, unknown> = {}): { dir: string; file: string } {
  const dir = tempDir();
  const file = join(dir, "agent.json");
  writeFileSync(file, JSON.stringify({ stateDir: join(dir, "state"), log: { level: "warn" }, ...overrides }));
  return { dir, file };
}

export type Msg = Record<string, unknown>;
type Framing = "ndjson" | "cbor";

const encoder = new Encoder({ useRecords: false } as ConstructorParameters<typeof Encoder>[0]);

/** One request in a framing, as bytes. */
export function frame(framing: Framing, msg: unknown): Buffer {
  if (framing === "ndjson") return Buffer.from(`${JSON.stringify(msg)}\n`);
  const body = Buffer.from(encoder.encode(msg) as Uint8Array);
  return rawFrame(body);
}

/** A cbor frame around arbitrary bytes. */
export function rawFrame(body: Buffer, announced = body.length): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(announced);
  return Buffer.concat([head, body]);
}

export interface StdioAgent {
  child: ChildProcess;
  ready: Msg;
  /** every message after ready, in order */
  messages: Msg[];
  send(msg: unknown): void;
  write(bytes: Buffer | string): void;
  /** resolves with the first message (after those already consumed by earlier calls to next) matching `pred` */
  waitFor(pred: (m: Msg) => boolean, what: string, timeoutMs?: number): Promise<Msg>;
  stderr(): string;
  exited: Promise<number | string>;
}

export interface StartOptions {
  framing?: Framing;
  config?: Record<string, unknown>;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** the script to run: bin/qis-edge.js (dist/) by default, or the bundle */
  entry?: string;
}

/** Decodes the agent's stdout as it comes. */
function decoder(framing: Framing, onMsg: (m: Msg) => void, onBad: (why: string) => void): (d: Buffer) => void {
  let rest = Buffer.alloc(0);
  return (d) => {
    const b = rest.length > 0 ? Buffer.concat([rest, d]) : d;
    let p = 0;
    if (framing === "ndjson") {
      for (let nl = b.indexOf(10, p); nl >= 0; nl = b.indexOf(10, p)) {
        const text = b.toString("utf8", p, nl);
        p = nl + 1;
        try {
          onMsg(JSON.parse(text) as Msg);
        } catch {
          onBad(`stdout line is not JSON: ${text.slice(0, 200)}`);
        }
      }
    } else {
      while (b.length - p >= 4) {
        const n = b.readUInt32BE(p);
        if (b.length - p - 4 < n) break;
        try {
          onMsg(cborDecoder.decode(b.subarray(p + 4, p + 4 + n)) as Msg);
        } catch (e) {
          onBad(`stdout frame is not CBOR: ${(e as Error).message}`);
        }
        p += 4 + n;
      }
    }
    rest = Buffer.from(b.subarray(p));
  };
}

export async function startStdio(options: StartOptions = {}): Promise<StdioAgent> {
  const framing = options.framing ?? "ndjson";
  const { file } = writeConfig(options.config);
  const args = [options.entry ?? bin, "run", "--stdio", "--framing", framing, "--config", file, ...(options.args ?? [])];
  const env = { ...process.env, ...options.env };
  for (const k of Object.keys(env)) if (k.startsWith("QIS_EDGE_") && !(options.env && k in options.env)) delete env[k];
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["pipe", "pipe", "pipe"] });
  const exited = track(child);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  child.stdin!.on("error", () => undefined); // EPIPE after the agent exits: the test checks the exit
  const messages: Msg[] = [];
  const waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  let readyMsg: ((m: Msg) => void) | undefined;
  const readyP = new Promise<Msg>((r) => (readyMsg = r));
  const bad: string[] = [];
  child.stdout!.on(
    "data",
    decoder(
      framing,
      (m) => {
        if (m.event === "ready" && readyMsg) {
          readyMsg(m);
          readyMsg = undefined;
          return;
        }
        messages.push(m);
        for (let i = 0; i < waiters.length; i++) {
          if (waiters[i]!.pred(m)) {
            waiters.splice(i, 1)[0]!.resolve(m);
            break;
          }
        }
      },
      (why) => bad.push(why),
    ),
  );
  const timeoutMs = options.timeoutMs ?? 15_000;
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`agent not ready within ${timeoutMs} ms; stderr:\n${err}`)), timeoutMs).unref());
  const early = exited.then((code) => {
    throw new Error(`agent exited (${code}) before it was ready; stderr:\n${err}`);
  });
  const ready = await Promise.race([readyP, early, timeout]);
  return {
    child,
    ready,
    messages,
    exited,
    stderr: () => err + (bad.length > 0 ? `\n[bad output: ${bad.join("; ")}]` : ""),
    send: (msg) => child.stdin!.write(frame(framing, msg)),
    write: (bytes) => child.stdin!.write(bytes),
    waitFor(pred, what, ms = 15_000) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<Msg>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}; got ${messages.length} messages, last: ${JSON.stringify(messages.at(-1))}; stderr:\n${err}`)), ms);
        t.unref();
        waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
        void exited.then((code) => reject(new Error(`agent exited (${code}) while waiting for ${what}; stderr:\n${err}`)));
      });
    },
  };
}

export const obs = (i: number, extra: Record<string, unknown> = {}): Msg => ({
  op: "observe",
  id: i,
  domain: "hvac",
  problemClass: i % 2 ? "energy-anomaly" : "compressor-wear",
  outcomeDelta: ((i % 200) - 100) / 100,
  confidence: 0.87,
  nObservations: 1 + (i % 50),
  ...extra,
});

/** Whether a process runs (exists and is no zombie waiting for a parent that does not reap). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc: signal 0 is all we know
  }
}

export async function waitUntil(check: () => boolean, what: () => string, timeoutMs = 5000): Promise<number> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

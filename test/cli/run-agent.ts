/**
 * `qis-edge run` as a child process whose JSON log lines a test reads: start it, wait for a
 * line, stop it. Every child and temp dir made here goes away in stopAll() (call it in afterEach).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const bin = fileURLToPath(new URL("../../bin/qis-edge.js", import.meta.url));

export type LogLine = Record<string, unknown> & { msg: string; level: string };

export interface RunningAgent {
  child: ChildProcessWithoutNullStreams;
  /** every JSON line written on stderr so far */
  lines(): LogLine[];
  /** stderr as text, for failure messages */
  stderr(): string;
  /** resolves with the first line (from the start) for which `match` is true; rejects after timeoutMs */
  waitFor(match: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  exit: Promise<number | null>;
}

const children: ChildProcessWithoutNullStreams[] = [];
const dirs: string[] = [];

export function tempDir(prefix = "qis-ops-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Starts `qis-edge run ARGS` with state in a new temp dir (unless env says otherwise). */
export function runAgent(args: string[], env: NodeJS.ProcessEnv = {}, cwd = tempDir()): RunningAgent {
  const child = spawn(process.execPath, [bin, "run", ...args], {
    cwd,
    env: { ...process.env, QIS_EDGE_STATE_DIR: join(cwd, "state"), QIS_EDGE_STORE_FILE: "none", ...env },
    stdio: "pipe",
  });
  children.push(child);
  let err = "";
  const parsed: LogLine[] = [];
  let parsedUpTo = 0;
  const waiters = new Set<() => void>();
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
    for (const w of waiters) w();
  });
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const lines = (): LogLine[] => {
    const end = err.lastIndexOf("\n") + 1;
    if (end > parsedUpTo) {
      for (const l of err.slice(parsedUpTo, end).split("\n")) if (l.startsWith("{")) parsed.push(JSON.parse(l) as LogLine);
      parsedUpTo = end;
    }
    return parsed;
  };
  const waitFor = (match: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = lines().find(match);
        if (found === undefined) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching log line within ${timeoutMs} ms; stderr:\n${err}`));
      }, timeoutMs);
      const onExit = (): void => {
        if (!check()) {
          cleanup();
          reject(new Error(`run exited (${String(child.exitCode)}) first; stderr:\n${err}`));
        }
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off("close", onExit);
      };
      if (check()) return;
      waiters.add(check);
      child.on("close", onExit);
    });
  return { child, lines, stderr: () => err, waitFor, exit };
}

export async function stopAll(): Promise<void> {
  const running = children.splice(0);
  await Promise.all(
    running.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("close", () => resolve());
          c.kill("SIGKILL");
        }),
    ),
  );
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

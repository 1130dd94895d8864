/**
 * A child process run to completion without blocking the vitest worker: the asynchronous
 * counterpart of spawnSync, with the same result fields. A worker stuck in spawnSync cannot answer
 * vitest's RPC calls, and past 60 s the run fails with `Timeout calling "onTaskUpdate"` even when
 * every test passed (issue 16).
 */
import { spawn } from "node:child_process";

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed (an empty stdin when absent, as with spawnSync). */
  input?: string | Buffer;
  /** SIGKILLed after this long; `signal` then says so. */
  timeoutMs?: number;
}

export interface RunResult<T> {
  /** The exit code; null when killed by a signal or when it could not be started (see `error`). */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: T;
  stderr: T;
  /** Why it could not be started (ENOENT, EACCES...), like spawnSync's `error`. */
  error?: Error;
}

/** Runs `command args` to completion; stdout and stderr as Buffers. */
export function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult<Buffer>> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: "pipe",
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs, killSignal: "SIGKILL" as const }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    // A child that exits without reading its stdin makes our write fail with EPIPE: not our test's concern.
    child.stdin.on("error", () => {});
    let startError: Error | undefined;
    child.on("error", (e) => (startError = e));
    // After a failed start, 'close' still comes, with a negative errno as the code.
    child.on("close", (status, signal) => {
      const result: RunResult<Buffer> = { status: startError ? null : status, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
      if (startError) result.error = startError;
      resolve(result);
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Runs `command args` to completion; stdout and stderr decoded as UTF-8. */
export async function runText(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult<string>> {
  const r = await runProcess(command, args, options);
  return { ...r, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

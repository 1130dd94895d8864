/** Runs the real CLI (bin/qis-edge.js, compiled dist/) as a child process. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const bin = fileURLToPath(new URL("../../bin/qis-edge.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

export function runCli(args: string[], input?: string | Buffer, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: "pipe" });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") }));
    child.stdin.end(input);
  });
}

/**
 * Runs the CLI with a reader that goes away early, as `| head -N` does: stdout is closed after
 * `lines` lines (0: at once, before the child can write anything), so that the child's later
 * writes fail with EPIPE. Resolves with the exit status and everything on stderr.
 */
export function runCliClosingStdout(args: string[], lines: number, input?: string | Buffer, env: NodeJS.ProcessEnv = {}): Promise<CliResult & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: "pipe" });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let seen = 0;
    const close = (): void => void child.stdout.destroy();
    if (lines === 0) close();
    else
      child.stdout.on("data", (d: Buffer) => {
        out.push(d);
        seen += d.toString("latin1").split("\n").length - 1;
        if (seen >= lines) close();
      });
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") }));
    child.stdin.on("error", () => undefined); // the child may exit before reading its input
    child.stdin.end(input);
  });
}

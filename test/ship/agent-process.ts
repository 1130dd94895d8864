/** Waiting on an agent child process (`qis-edge run`) in the ship tests. */
import type { ChildProcess } from "node:child_process";

/**
 * Resolves when the child logs `ready` on stderr (true), exits first or stays silent for
 * `timeoutMs` (false); `log()` gives everything it wrote to stderr so far, for the failure message.
 */
export function waitForReady(child: ChildProcess, timeoutMs = 20_000): { ready: Promise<boolean>; log: () => string } {
  let err = "";
  const ready = new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.includes('"msg":"ready"')) {
        clearTimeout(t);
        resolve(true);
      }
    });
    child.once("exit", () => {
      clearTimeout(t);
      resolve(false);
    });
  });
  return { ready, log: () => err };
}

/** The child's exit code, once it has exited. */
export function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once("exit", (c) => r(c))));
}

/**
 * Watches the worker's event loop for long stalls (a long spawnSync, execSync or synchronous
 * loop). A worker that cannot turn its loop cannot answer vitest's RPC calls: past 60 s the run
 * fails with `Timeout calling "onTaskUpdate"` although every test passed (issue 16). Long work
 * belongs in an awaited child process (test/run-process.ts) or a globalSetup.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

/**
 * The longest stall allowed: half of vitest's 60 s RPC timeout. The longest CPU-bound test takes
 * ~2.5 s on an idle 2-core machine and 6 s with two CPU hogs and other suites beside it.
 */
export const BLOCK_LIMIT_MS = 30_000;

const RESOLUTION_MS = 20;
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2 * RESOLUTION_MS));

/** Starts watching; the returned check stops and says how long the longest stall was, if too long. */
export async function watchEventLoop(): Promise<() => Promise<string | null>> {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  // It measures from its first tick on: let that tick happen before the test file runs.
  await tick();
  return async () => {
    // It samples on a timer: a stall that ended in this same turn of the loop (hooks run as
    // promise continuations) is only recorded once timers run again.
    await tick();
    delay.disable();
    const longestMs = Math.round(delay.max / 1e6);
    if (longestMs <= BLOCK_LIMIT_MS) return null;
    return (
      `blocked its worker's event loop for ${(longestMs / 1000).toFixed(1)} s at a stretch (limit ${BLOCK_LIMIT_MS / 1000} s): ` +
      "run long child processes with spawn, awaited (test/run-process.ts), not spawnSync/execSync, or prepare in a globalSetup."
    );
  };
}

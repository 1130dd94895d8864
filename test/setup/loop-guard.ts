/**
 * vitest setupFiles: fails a test file whose code kept the worker's event loop from turning for
 * longer than BLOCK_LIMIT_MS at a stretch (a long spawnSync, execSync or synchronous loop). Such
 * a worker cannot answer vitest's RPC calls: past 60 s the run fails with `Timeout calling
 * "onTaskUpdate"` although every test passed (issue 16). Long work belongs in an awaited child
 * process (test/run-process.ts) or a globalSetup. The limit leaves room for a busy machine.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { relative } from "node:path";
import { afterAll } from "vitest";

export const BLOCK_LIMIT_MS = 15_000;

const RESOLUTION_MS = 20;
const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
delay.enable();
// It measures from its first tick on: let that tick happen before the test file runs.
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2 * RESOLUTION_MS));
await tick();

afterAll(async (file) => {
  // The monitor samples on a timer: a block that ended in this same turn of the loop (the hooks
  // run as promise continuations) is only recorded once timers run again.
  await tick();
  delay.disable();
  const longestMs = Math.round(delay.max / 1e6);
  if (longestMs > BLOCK_LIMIT_MS) {
    const name = "filepath" in file && typeof file.filepath === "string" ? relative(process.cwd(), file.filepath) : file.name;
    throw new Error(
      `${name} blocked its worker's event loop for ${(longestMs / 1000).toFixed(1)} s at a stretch (limit ${BLOCK_LIMIT_MS / 1000} s): ` +
        "run long child processes with spawn, awaited (test/run-process.ts), not spawnSync/execSync, or prepare in a globalSetup.",
    );
  }
});

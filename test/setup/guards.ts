/**
 * vitest setupFiles: runs in the worker before each test file is imported. The file gets its own
 * TMPDIR (file-temp-dir.ts) and its event loop is watched (loop-watch.ts). One afterAll hook,
 * registered before the file's own hooks and so run after them, fails the file if it left
 * anything in its temp dir or blocked its worker for long.
 */
import { relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach } from "vitest";
import { useFileTempDir } from "./file-temp-dir.js";
import { watchEventLoop } from "./loop-watch.js";

const checkTempDir = useFileTempDir();
const checkEventLoop = await watchEventLoop();

// vitest runs a file's synchronous tests back to back without turning the event loop, so four
// CPU-bound property tests were one stall of their sum (16 s on a loaded machine). One turn
// after each test lets the worker answer vitest's RPC calls, and makes the watch measure tests.
afterEach(() => sleep(1));

afterAll(async (file) => {
  // Both checks, always: the temp dir must be removed even when the loop check fails.
  const problems = [await checkEventLoop(), checkTempDir()].filter((p): p is string => p !== null);
  if (problems.length > 0) {
    const name = "filepath" in file && typeof file.filepath === "string" ? relative(process.cwd(), file.filepath) : file.name;
    throw new Error(`${name} ${problems.join(`\n${name} `)}`);
  }
});

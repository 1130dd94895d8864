/**
 * vitest globalSetup (runs in the main process): one temporary root for the whole run, made the
 * TMPDIR of every worker and of every child process they start (os.tmpdir(), mktemp, Python's
 * tempfile and gcc all honour it; the forked workers inherit the main process's environment).
 * test/setup/guards.ts gives each test file its own directory under it and fails the file that
 * leaves something there; this teardown is the backstop for whatever is left in the root itself
 * (a child process that outlived its test file, a file whose own afterAll failed before the
 * check ran), and fails the run naming it. Either way the root is removed: a run leaves nothing
 * in /tmp.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where temp-guard.ts finds the run's root (TMPDIR itself is changed per test file). */
export const TEMP_ROOT_ENV = "QIS_EDGE_TEST_TMP_ROOT";

/** A file-* entry is a test file's own temp dir that its check did not remove: say what it held. */
function describeEntry(root: string, entry: string): string {
  if (!entry.startsWith("file-")) return entry;
  let held: string;
  try {
    held = readdirSync(join(root, entry)).join(", ") || "nothing";
  } catch {
    return entry;
  }
  return `${entry} (a test file's temp dir, not checked because an afterAll hook failed before; it held: ${held})`;
}

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), "qis-test-run-"));
  process.env.TMPDIR = root;
  process.env[TEMP_ROOT_ENV] = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    delete process.env[TEMP_ROOT_ENV];
    let left: string[] = [];
    try {
      left = readdirSync(root).map((e) => describeEntry(root, e));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    if (left.length > 0) {
      // Printed and flagged rather than thrown: vitest would present a thrown error as a "Startup
      // Error". Nothing in vitest resets the exit code afterwards, so the run exits 1.
      process.stderr.write(
        `\nFAIL the tests left ${left.length} ${left.length === 1 ? "entry" : "entries"} in their temporary directory ${root} (now removed):\n` +
          left.map((e) => `  ${e}\n`).join("") +
          "Every test must remove what it creates under os.tmpdir(), in afterEach/afterAll, and stop the child processes it starts first.\n",
      );
      process.exitCode = 1;
    }
  };
}

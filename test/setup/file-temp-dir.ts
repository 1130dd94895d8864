/**
 * The test file's own TMPDIR: an empty directory under the run's root (test/setup/temp-root.ts),
 * inherited by the child processes the file starts.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TEMP_ROOT_ENV } from "./temp-root.js";

/** Points TMPDIR at a fresh directory; the returned check removes it and says what was left in it. */
export function useFileTempDir(): () => string | null {
  const root = process.env[TEMP_ROOT_ENV];
  if (!root) throw new Error(`${TEMP_ROOT_ENV} is not set: test/setup/temp-root.ts must be vitest's globalSetup`);
  const dir = mkdtempSync(join(root, "file-"));
  process.env.TMPDIR = dir;
  return () => {
    let left: string[];
    try {
      left = readdirSync(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      process.env.TMPDIR = root;
    }
    if (left.length === 0) return null;
    return (
      `left ${left.length} ${left.length === 1 ? "entry" : "entries"} in its temporary directory: ${left.join(", ")}. ` +
      "Remove what a test creates under os.tmpdir() in afterEach/afterAll (and stop its child processes first)."
    );
  };
}

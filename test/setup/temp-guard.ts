/**
 * vitest setupFiles (runs in the worker before each test file is imported): the test file gets
 * its own empty TMPDIR under the run's root (test/setup/temp-root.ts), inherited by the child
 * processes it starts. After the file's own afterAll hooks, anything still in it fails the file,
 * named; the directory is then removed.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll } from "vitest";
import { TEMP_ROOT_ENV } from "./temp-root.js";

const root = process.env[TEMP_ROOT_ENV];
if (!root) throw new Error(`${TEMP_ROOT_ENV} is not set: test/setup/temp-root.ts must be vitest's globalSetup`);
const dir = mkdtempSync(join(root, "file-"));
process.env.TMPDIR = dir;

// Registered before the test file's own hooks, so (afterAll hooks run in reverse) it runs after them.
afterAll((file) => {
  let left: string[];
  try {
    left = readdirSync(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    process.env.TMPDIR = root;
  }
  if (left.length > 0) {
    const name = "filepath" in file && typeof file.filepath === "string" ? relative(process.cwd(), file.filepath) : file.name;
    throw new Error(
      `${name} left ${left.length} ${left.length === 1 ? "entry" : "entries"} in its temporary directory: ${left.join(", ")}. ` +
        "Remove what a test creates under os.tmpdir() in afterEach/afterAll (and stop its child processes first).",
    );
  }
});

/**
 * What keeps an idle agent from the bundle small (docs/devices.md, "Idle memory"):
 * - the bundle's source stays in V8's heap for the life of the process: as a one-byte string
 *   only when every character is Latin-1, else at twice the size (scripts/bundle.js: charset ascii);
 * - nothing runs hot enough during start-up to wake V8's optimising compiler, whose code and
 *   zone memory cost an idle agent about 5 MiB resident (self-checks and table builds run on
 *   first use instead).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { exitCode, waitForReady } from "./agent-process.js";

const BUNDLE = join(fileURLToPath(new URL("../..", import.meta.url)), "dist", "qis-edge.mjs");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("the bundle's source", () => {
  it("is ASCII (non-ASCII characters escaped), so V8 holds it as a one-byte string", () => {
    expect(existsSync(BUNDLE), "dist/qis-edge.mjs is missing: npm run build").toBe(true);
    const text = readFileSync(BUNDLE);
    const at = text.findIndex((b) => b > 0x7f);
    expect(at, at < 0 ? "" : `non-ASCII byte at ${at}: ${JSON.stringify(text.subarray(Math.max(0, at - 40), at + 10).toString())}`).toBe(-1);
  });
});

describe("an idle agent from the bundle", () => {
  // A store file is read, verified and indexed at start-up: with nothing in it (a new device),
  // those passes must not run hot either (src/store/file.ts walks only the records it found).
  it.each([
    ["a memory store", false],
    ["a new 65,536-slot store file", true],
  ])("optimises no function from start to 1 s after ready (node --trace-opt), with %s", async (_what, withFile) => {
    const dir = mkdtempSync(join(tmpdir(), "qis-idle-"));
    dirs.push(dir);
    const env = {
      ...process.env,
      QIS_EDGE_STATE_DIR: dir,
      QIS_EDGE_PUB_BIND: "tcp://127.0.0.1:*",
      QIS_EDGE_STORE_BIND: "tcp://127.0.0.1:*",
      QIS_EDGE_LOG_LEVEL: "info",
      QIS_EDGE_STORE_CAPACITY: "65536",
      QIS_EDGE_STORE_FILE: withFile ? join(dir, "store.bin") : "none",
    };
    const child = spawn(process.execPath, ["--trace-opt", BUNDLE, "run"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const started = waitForReady(child);
    const ready = await started.ready;
    await new Promise((r) => setTimeout(r, 1000));
    child.kill("SIGTERM");
    const code = await exitCode(child);
    expect(ready, started.log()).toBe(true);
    expect(code).toBe(0);
    // V8 prints "[marking <JSFunction name ...> for optimization to TURBOFAN ...]" on stdout.
    const marked = out.split("\n").filter((l) => l.includes("for optimization to TURBOFAN") || l.includes("compiling method"));
    expect(marked, "functions hot during start-up: run them on first use instead").toEqual([]);
  }, 30_000);
});

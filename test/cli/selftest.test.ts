/**
 * `qis-edge selftest`'s report through the real CLI: a check with nothing to check here (the
 * native vectors, or a C path to compare, without the addon) is a SKIP, counted apart from the
 * passes; skips are no failure (exit 0) unless --require-native makes the missing addon one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const state = mkdtempSync(join(tmpdir(), "qis-cli-selftest-"));
afterAll(() => rmSync(state, { recursive: true, force: true }));
const where = `node ${process.version}, ${process.platform}-${process.arch}`;
const outcomes = (stdout: Buffer) =>
  stdout
    .toString()
    .trim()
    .split("\n")
    .slice(0, -1)
    .map((l) => l.slice(0, l.indexOf(":")));

describe("qis-edge selftest", () => {
  it("on the fallback: SKIP for the checks that need the addon, counted apart, exit 0", async () => {
    const r = await runCli(["selftest", "--state-dir", state], undefined, { QIS_EDGE_NO_NATIVE: "1" });
    expect(r.stderr).toBe("");
    expect(outcomes(r.stdout)).toEqual(["PASS addon", "PASS layout", "SKIP vectors/native", "PASS vectors/fallback", "SKIP synth", "SKIP store", "PASS zeromq", "PASS curve", "PASS store-file"]);
    const lines = r.stdout.toString().trim().split("\n");
    expect(lines[2]).toBe("SKIP vectors/native: the native addon is not loaded (see addon)");
    expect(lines[4]).toBe("SKIP synth: the native addon is not loaded: no C path to compare the TypeScript path with");
    expect(lines.at(-1)).toBe(`selftest: 6 passed, 3 skipped: vectors/native, synth, store (${where})`);
    expect(r.code).toBe(0);
  }, 60_000);

  it("on the fallback with --require-native: the addon fails, the skips stay skips, exit 1", async () => {
    const r = await runCli(["selftest", "--require-native", "--state-dir", state], undefined, { QIS_EDGE_NO_NATIVE: "1" });
    expect(outcomes(r.stdout)).toEqual(["FAIL addon", "PASS layout", "SKIP vectors/native", "PASS vectors/fallback", "SKIP synth", "SKIP store", "PASS zeromq", "PASS curve", "PASS store-file"]);
    expect(r.stdout.toString().trim().split("\n").at(-1)).toBe("selftest: 1 of 9 checks failed: addon (5 passed, 3 skipped: vectors/native, synth, store)");
    expect(r.code).toBe(1);
  }, 60_000);

  it("with the addon: every check runs and passes, nothing skipped", async (ctx) => {
    const r = await runCli(["selftest", "--state-dir", state]);
    if (r.stdout.toString().includes("TypeScript fallback in use")) ctx.skip(); // no addon built here
    expect(outcomes(r.stdout)).toEqual(["PASS addon", "PASS layout", "PASS vectors/native", "PASS vectors/fallback", "PASS synth", "PASS store", "PASS zeromq", "PASS curve", "PASS store-file"]);
    expect(r.stdout.toString().trim().split("\n").at(-1)).toBe(`selftest: all 9 checks passed (${where})`);
    expect(r.code).toBe(0);
  }, 60_000);
});

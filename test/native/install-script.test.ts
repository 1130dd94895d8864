/**
 * `npm install` runs scripts/build-native.js: it must never fail the install for want of a
 * compiler (the TypeScript fallback gives identical bytes), and `--force` must fail loudly.
 * CC=false makes the compiler check fail without touching build/.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const script = fileURLToPath(new URL("../../scripts/build-native.js", import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [script, ...args], { env: { ...process.env, ...env }, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("scripts/build-native.js (the install script)", () => {
  it("without a compiler: warns, says how to retry, exits 0", () => {
    const r = run([], { CC: "false", QIS_EDGE_NO_NATIVE: "" });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("qis-edge: warning: native addon not available: no C compiler found (CC=false is missing or not working).");
    expect(r.stderr).toContain("the TypeScript fallback is used instead");
    expect(r.stderr).toContain("npm run build:native");
  });

  it("without a compiler and --force: exits 1", () => {
    expect(run(["--force"], { CC: "false", QIS_EDGE_NO_NATIVE: "" }).status).toBe(1);
  });

  it("QIS_EDGE_NO_NATIVE=1: skips the build, exits 0", () => {
    const r = run([], { QIS_EDGE_NO_NATIVE: "1" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("qis-edge: QIS_EDGE_NO_NATIVE=1: native addon skipped, using the TypeScript implementation.\n");
  });
});

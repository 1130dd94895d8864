/**
 * `qis-edge selftest` as a real process: from dist/ (bin/qis-edge.js), from the bundle
 * (dist/qis-edge.mjs) and from a copy of the bundle's directory alone, away from node_modules
 * (what a device gets). Also: the selftest's embedded vectors are the shared test vectors.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { crc32c } from "../../src/packet/crc32c.js";
import { invalidVectorBytes, VALID_VECTORS } from "../../src/cli/selftest.js";
import { runText } from "../run-process.js";
import { createHash } from "node:crypto";

const root = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(root, "bin", "qis-edge.js");
const BUNDLE = join(root, "dist", "qis-edge.mjs");
const requireNative = process.env.QIS_EDGE_REQUIRE_NATIVE === "1" ? ["--require-native"] : [];
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), "qis-ship-"));
  temps.push(d);
  return d;
};

/** Awaited, not spawnSync: a selftest takes seconds on a busy machine, and the worker must keep answering vitest. */
async function run(entry: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = tmpdir()) {
  const r = await runText(process.execPath, [entry, "selftest", ...args], { cwd, timeoutMs: 60_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.trim().split("\n") };
}

/** Every check passes; on the fallback, the three that need the addon are SKIPs, counted apart. */
function expectAllPass(r: Awaited<ReturnType<typeof run>>): void {
  expect(r.status, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
  const checks = r.lines.slice(0, -1);
  const fallback = r.lines[0]!.startsWith("PASS addon: TypeScript fallback in use");
  const needAddon = ["vectors/native", "synth", "store"];
  const names = ["addon", "layout", "vectors/native", "vectors/fallback", "synth", "store", "zeromq", "curve", "store-file"];
  expect(checks.map((l) => l.split(":")[0])).toEqual(names.map((n) => `${fallback && needAddon.includes(n) ? "SKIP" : "PASS"} ${n}`));
  expect(r.lines.at(-1)).toMatch(fallback ? /^selftest: 6 passed, 3 skipped: vectors\/native, synth, store \(/ : /^selftest: all 9 checks passed/);
}

describe("qis-edge selftest", () => {
  it("passes from dist/ (bin/qis-edge.js)", async () => {
    expectAllPass(await run(BIN, requireNative));
  });

  it("passes from the bundle", async () => {
    expect(existsSync(BUNDLE), "dist/qis-edge.mjs is missing: npm run build").toBe(true);
    const r = await run(BUNDLE, requireNative);
    expectAllPass(r);
    if (requireNative.length > 0) {
      expect(r.stdout).toContain(`native addon loaded from ${join(root, "dist", "prebuilds")}`);
      expect(r.stdout).toMatch(/^PASS synth: C and TypeScript paths bit-identical over 6,400 packets/m);
      expect(r.stdout).toMatch(/^PASS store: C and TypeScript paths bit-identical over 6,400 packets \([1-9]\d* stored, [1-9]\d* evicted, [1-9]\d* expired, [1-9]\d* duplicates\)$/m);
    }
  });

  it("passes from a copy of the bundle's directory with no node_modules anywhere above it", async () => {
    const dir = temp();
    cpSync(BUNDLE, join(dir, "qis-edge.mjs"));
    cpSync(join(root, "dist", "build"), join(dir, "build"), { recursive: true });
    if (existsSync(join(root, "dist", "prebuilds"))) cpSync(join(root, "dist", "prebuilds"), join(dir, "prebuilds"), { recursive: true });
    const r = await run(join(dir, "qis-edge.mjs"), [...requireNative, "--state-dir", dir], {}, dir);
    expectAllPass(r);
    expect(r.stdout).toContain(`store file in ${dir}`);
  });

  it("passes on the fallback and says so (QIS_EDGE_NO_NATIVE=1)", async () => {
    const r = await run(BUNDLE, [], { QIS_EDGE_NO_NATIVE: "1" });
    expectAllPass(r);
    expect(r.lines[0]).toMatch(/^PASS addon: TypeScript fallback in use: disabled by QIS_EDGE_NO_NATIVE=1/);
    expect(r.lines[2]).toBe("SKIP vectors/native: the native addon is not loaded (see addon)");
    expect(r.lines[4]).toBe("SKIP synth: the native addon is not loaded: no C path to compare the TypeScript path with");
    expect(r.lines[5]).toBe("SKIP store: the native addon is not loaded: no C path to compare the TypeScript path with");
    // ... but not when the addon is required.
    const strict = await run(BUNDLE, ["--require-native"], { QIS_EDGE_NO_NATIVE: "1" });
    expect(strict.status).toBe(1);
    expect(strict.lines[0]).toMatch(/^FAIL addon: .*--require-native/);
    expect(strict.lines.at(-1)).toBe("selftest: 1 of 9 checks failed: addon (5 passed, 3 skipped: vectors/native, synth, store)");
  });

  it("exits 1 with one FAIL line when the state directory is not writable", async () => {
    const r = await run(BUNDLE, ["--state-dir", join(temp(), "missing", "dir")]);
    expect(r.status).toBe(1);
    expect(r.lines.find((l) => l.startsWith("FAIL store-file: cannot create a directory in"))).toBeDefined();
    expect(r.lines.at(-1)).toMatch(/^selftest: 1 of 9 checks failed: store-file \((8 passed|5 passed, 3 skipped: vectors\/native, synth, store)\)$/);
  });

  it("refuses bad usage with exit 2 and has --help", async () => {
    const bad = await run(BUNDLE, ["--timeout", "soon"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^ERR_USAGE: --timeout/);
    const help = await run(BUNDLE, ["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: qis-edge selftest/);
  });
});

describe("the bundle's other commands", () => {
  it("runs the demo, whose agent workers are the bundle itself", async () => {
    const r = await runText(process.execPath, [BUNDLE, "demo", "--duration", "3", "--nodes", "2"], { cwd: temp(), timeoutMs: 60_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/stopped: 2 agents closed \(n1 code 0, n2 code 0\)/);
  });

  it("validates configs and observations exactly like dist/ (the bundle trims typebox)", async () => {
    const dir = temp();
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ store: { capactiy: 5 }, peers: [{ pub: "udp://x" }], batch: { size: 0 }, synth: { maxHops: 300, minDelta: -1 }, log: { level: "loud" } }));
    const obs = JSON.stringify({ domain: "", problemClass: "x", outcomeDelta: 2, confidence: -1, nObservations: 1.5, tokens: ["a", "b", "c", "d", "e", "f"] });
    const both = async (args: string[], input?: string) => {
      const results = [];
      for (const entry of [BIN, BUNDLE]) {
        const r = await runText(process.execPath, [entry, ...args], { cwd: dir, ...(input === undefined ? {} : { input }), env: { ...process.env, QIS_EDGE_LOG_LEVEL: "" } });
        results.push({ status: r.status, stdout: r.stdout, stderr: r.stderr });
      }
      return results;
    };
    for (const [args, input] of [[["config", "check", "--ignore-env", bad]], [["config", "schema"]], [["config", "show", "--ignore-env"]], [["pack", "--hex"], obs]] as [string[], string?][]) {
      const [dist, bundle] = await both(args, input);
      expect(bundle, args.join(" ")).toEqual(dist);
    }
  });

  it("prints the package's version", async () => {
    const r = await runText(process.execPath, [BUNDLE, "--version"]);
    expect(r.stdout).toBe(`${(JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version}\n`);
  });
});

describe("selftest's embedded vectors", () => {
  const load = (f: string) => (JSON.parse(readFileSync(join(root, "test", "vectors", f), "utf8")) as { vectors: { name: string; hex: string; code?: string }[] }).vectors;
  it("are the valid vectors of test/vectors/valid.json", () => {
    const valid = load("valid.json");
    for (const v of VALID_VECTORS) {
      const hex = valid.find((x) => x.name === v.name)!.hex;
      expect(createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex")).toBe(v.sha256);
    }
  });
  it("mutate into the bytes of test/vectors/invalid.json", () => {
    const valid = load("valid.json");
    const invalid = load("invalid.json");
    const minimal = Buffer.from(valid.find((x) => x.name === "minimal")!.hex, "hex");
    for (const v of invalidVectorBytes(minimal, crc32c)) {
      const ref = invalid.find((x) => x.name === v.name)!;
      expect(v.bytes.toString("hex"), v.name).toBe(ref.hex);
      expect(v.code).toBe(ref.code);
    }
  });
});

describe("the bundle", () => {
  it("is one minified ESM file under 520 kB, with one zeromq addon beside it", () => {
    const bytes = statSync(BUNDLE).size;
    console.log(`[ship] dist/qis-edge.mjs: ${bytes} bytes (${(bytes / 1024).toFixed(1)} KiB)`);
    expect(bytes).toBeLessThanOrEqual(520_000); // docs/decisions.md, "The bundle's budget", "The control socket"
    const manifest = JSON.parse(readFileSync(join(root, "dist", "build", "manifest.json"), "utf8")) as Record<string, string>;
    expect(Object.keys(manifest)).toHaveLength(1);
    const [key, file] = Object.entries(manifest)[0]!;
    expect(JSON.parse(key)).toMatchObject({ os: "linux", arch: process.arch, libc: "glibc" });
    expect(existsSync(join(root, "dist", "build", file))).toBe(true);
    const head = readFileSync(BUNDLE, "utf8").slice(0, 300);
    expect(head.startsWith("#!/usr/bin/env node\n")).toBe(true);
  });
});

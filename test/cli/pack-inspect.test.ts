import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { runCli } from "./run-cli.js";

const example = '{"domain":"hvac","problemClass":"energy-anomaly","outcomeDelta":0.18,"confidence":0.87,"nObservations":42}';
const dir = mkdtempSync(join(tmpdir(), "qis-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI in-process with in-memory streams: for the loops that would take minutes as processes. */
async function runInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { out: "", err: "" };
  stdout.on("data", (d: Buffer) => (chunks.out += d.toString()));
  stderr.on("data", (d: Buffer) => (chunks.err += d.toString()));
  const code = await main(args, { stdin: new PassThrough().end() as unknown as NodeJS.ReadableStream, stdout, stderr });
  return { code, stdout: chunks.out, stderr: chunks.err };
}

describe.each([
  ["native", ""],
  ["fallback", "1"],
])("qis-edge pack / inspect (%s codec)", (_name, noNative) => {
  const env = { QIS_EDGE_NO_NATIVE: noNative };

  it("packs the README observation into exactly 512 bytes and inspects it back", async () => {
    const packed = await runCli(["pack"], example, env);
    expect(packed.stderr).toBe("");
    expect(packed.code).toBe(0);
    expect(packed.stdout.length).toBe(512);
    const file = join(dir, `p-${noNative}.bin`);
    writeFileSync(file, packed.stdout);

    const shown = await runCli(["inspect", file], undefined, env);
    expect(shown.code).toBe(0);
    const json = JSON.parse(shown.stdout.toString()) as Record<string, unknown>;
    expect(json).toMatchObject({
      verdict: "OK",
      address: "qis.hvac.energy-anomaly",
      outcomeDelta: 0.18,
      confidence: 0.87,
      nObservations: 42,
      ttlS: 3600,
      hops: 0,
      flags: [],
    });
  });

  it("flipping a byte makes inspect exit 1 with the CRC error on stderr", async () => {
    const packed = await runCli(["pack", "--hex"], example, env);
    const bytes = Buffer.from(packed.stdout.toString().trim(), "hex");
    for (const at of [0, 7, 100, 300, 507, 511]) {
      const b = Buffer.from(bytes);
      b[at]! ^= 0x01;
      const r = await runCli(["inspect", "-"], b, env);
      expect(r.code).toBe(1);
      expect(r.stdout.length).toBe(0);
      expect(r.stderr).toMatch(/^ERR_PACKET_CRC: CRC-32C mismatch: the packet is corrupt \(field crc32c\)\n$/);
    }
  });
});

describe("qis-edge CLI", () => {
  it("every one of the 512 single-byte flips is reported as a CRC error", async () => {
    const file = join(dir, "all.bin");
    expect((await runInProcess(["pack", "-o", file, join(dir, "obs.json")])).code).toBe(2); // no such input yet
    writeFileSync(join(dir, "obs.json"), example);
    expect(await runInProcess(["pack", "-o", file, join(dir, "obs.json")])).toMatchObject({ code: 0, stderr: "" });
    const good = readFileSync(file);
    expect(good.length).toBe(512);
    for (let i = 0; i < 512; i++) {
      const b = Buffer.from(good);
      b[i]! ^= 0xff;
      const flipped = join(dir, "flipped.bin");
      writeFileSync(flipped, b);
      const r = await runInProcess(["inspect", flipped]);
      expect(r.code, `byte ${i}`).toBe(1);
      expect(r.stderr.startsWith("ERR_PACKET_CRC: ")).toBe(true);
    }
  });

  it("inspect --hex reads pack --hex output; pack -o writes a file", async () => {
    const hex = await runCli(["pack", "--hex"], example.replace("}", ',"nodeId":"00112233445566778899aabbccddeeff","seq":5,"timestampMs":1795000000000}'));
    expect(hex.stdout.toString()).toMatch(/^[0-9a-f]{1024}\n$/);
    const shown = await runCli(["inspect", "--hex", "-"], hex.stdout);
    expect(JSON.parse(shown.stdout.toString())).toMatchObject({ nodeId: "00112233445566778899aabbccddeeff", seq: 5, time: "2026-11-18T11:06:40.000Z" });
  });

  it("packs are deterministic given identity and time", async () => {
    const obs = example.replace("}", ',"nodeId":"0123456789abcdef0123456789abcdef","seq":1,"timestampMs":1795000000000}');
    const a = await runInProcess(["pack", "--hex", "-o", join(dir, "a.hex"), writeObs("d1.json", obs)]);
    const b = await runInProcess(["pack", "--hex", "-o", join(dir, "b.hex"), writeObs("d2.json", obs)]);
    expect(a.code + b.code).toBe(0);
    const hexA = readFileSync(join(dir, "a.hex"), "utf8").trim();
    expect(hexA).toBe(readFileSync(join(dir, "b.hex"), "utf8").trim());
    // the same packet as the "minimal" test vector
    const vectors = JSON.parse(readFileSync(new URL("../vectors/valid.json", import.meta.url), "utf8")) as { vectors: { name: string; hex: string }[] };
    expect(hexA).toBe(vectors.vectors.find((v) => v.name === "minimal")!.hex);
  });

  it("bad observations exit 2 listing every problem with its path, one per line (as config check does)", async () => {
    const r = await runCli(["pack"], '{"domain":"hvac","problemClass":"x","outcomeDelta":3,"confidence":"a","nObservations":1.5,"colour":"red"}');
    expect(r.code).toBe(2);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toBe(
      [
        "ERR_OBSERVATION: invalid observation: 4 problems",
        "  /: must not have additional properties: colour",
        "  /outcomeDelta: must be <= 1",
        "  /confidence: must be number",
        "  /nObservations: must be integer",
        "",
      ].join("\n"),
    );
    const one = await runCli(["pack"], '{"domain":"!!!","problemClass":"x","outcomeDelta":0,"confidence":0,"nObservations":1}');
    expect(one.code).toBe(2);
    expect(one.stderr).toBe('ERR_OBSERVATION: invalid observation: 1 problem\n  /domain: token 1 "!!!" normalises to an empty token: expected at least one of [a-z0-9]\n');
  });

  it.each([
    ["not JSON", ["pack"], "{oops", /^ERR_USAGE: input is not JSON: /],
    ["a missing file", ["inspect", "/nonexistent/p.bin"], undefined, /^ERR_USAGE: cannot read \/nonexistent\/p.bin: ENOENT\n$/],
    ["a 511-byte packet", ["inspect", "-"], Buffer.alloc(511), /^ERR_PACKET_LENGTH: expected exactly 512 bytes, got 511\n$/],
    ["bad hex", ["inspect", "--hex", "-"], "xyz", /^ERR_USAGE: input: not hex text/],
    ["an unknown option", ["pack", "--colour"], "{}", /^ERR_USAGE: unknown option --colour for 'qis-edge pack' \(see qis-edge pack --help\)\n$/],
    ["an unknown command", ["frobnicate"], undefined, /^ERR_USAGE: unknown command "frobnicate" \(see qis-edge --help\)\n$/],
    ["a bad --node-id", ["pack", "--node-id", "abc"], example, /^ERR_USAGE: --node-id: not hex text/],
  ])("%s: one line on stderr with a code, nothing on stdout", async (_label, args, input, message) => {
    const r = await runCli(args, input);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stdout.length).toBe(0);
    // a packet that fails verification is exit 1; everything else here is a usage or input error
    expect(r.code).toBe(args[0] === "inspect" && args.includes("-") && !args.includes("--hex") ? 1 : 2);
  });

  it.each([["--help"], ["pack", "--help"], ["inspect", "--help"], ["help", "pack"], ["-h"]])("%s prints usage and exits 0", async (...args) => {
    const r = await runInProcess(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: qis-edge /);
  });

  it("--version prints the package version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect((await runInProcess(["--version"])).stdout).toBe(`${pkg.version}\n`);
  });
});

function writeObs(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

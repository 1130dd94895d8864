import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { OFFSETS } from "../../src/packet/index.js";
import { assertLayout, STAGE_LAYOUT } from "../../src/packet/native.js";
import { runText } from "../run-process.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Runs a snippet against the compiled package in a fresh process, to see what the loader chose. */
async function codecInfoIn(env: NodeJS.ProcessEnv): Promise<{ native: boolean; reason: string; ops: Record<string, string> }> {
  const r = await runText(process.execPath, ["--input-type=module", "-e", "const m = await import('./dist/index.js'); console.log(JSON.stringify(m.codecInfo()))"], {
    cwd: root,
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) throw new Error(`the snippet exited ${r.status ?? r.signal}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as { native: boolean; reason: string; ops: Record<string, string> };
}

describe("native loader", () => {
  it("QIS_EDGE_NO_NATIVE=1 forces the TypeScript fallback for every operation", async () => {
    const info = await codecInfoIn({ QIS_EDGE_NO_NATIVE: "1" });
    expect(info.native).toBe(false);
    expect(info.reason).toBe("disabled by QIS_EDGE_NO_NATIVE=1");
    expect(new Set(Object.values(info.ops))).toEqual(new Set(["fallback"]));
  });

  it.runIf(process.env.QIS_EDGE_REQUIRE_NATIVE === "1")("loads the addon when it is built, and picks the faster path per operation", async () => {
    const info = await codecInfoIn({ QIS_EDGE_NO_NATIVE: "" });
    expect(info.native).toBe(true);
    // BENCHMARKS.md: unpacking a few packets is cheaper in JavaScript than a Node-API call
    expect(info.ops).toEqual({
      sealOne: "native",
      sealBatch: "native",
      verifyOne: "native",
      verifyBatch: "native",
      unpackFew: "fallback",
      unpackBatch: "native",
      crc32c: "native",
    });
  });

  it("a missing addon falls back with a reason instead of failing", async () => {
    const info = await codecInfoIn({ QIS_EDGE_NO_NATIVE: "", QIS_EDGE_ADDON_DIR: "/nonexistent" });
    expect(info.native).toBe(false);
    expect(info.reason).toMatch(/^not available/);
  });

  it("refuses an addon whose struct layout drifted, naming the field", () => {
    const good = { size: 512, littleEndian: true, hwCrc: false, hwCrcName: "table", offsets: { ...OFFSETS }, stage: { ...STAGE_LAYOUT } };
    expect(() => assertLayout(good)).not.toThrow();
    const drifted = { ...good, offsets: { ...OFFSETS, conclusion: 260 } };
    expect(() => assertLayout(drifted)).toThrow(/offsetof\(qis_packet, conclusion\) is 260, expected 256/);
    try {
      assertLayout({ ...good, size: 516 });
    } catch (e) {
      expect((e as { code: string }).code).toBe("ERR_NATIVE_LAYOUT");
    }
    expect(() => assertLayout({ ...good, size: 516 })).toThrow(/sizeof\(qis_packet\) is 516/);
  });

  it("refuses an addon whose staging record (the encode input) differs, and one that has none", () => {
    const good = { size: 512, littleEndian: true, hwCrc: false, hwCrcName: "table", offsets: { ...OFFSETS }, stage: { ...STAGE_LAYOUT } };
    expect(() => assertLayout({ ...good, stage: { ...STAGE_LAYOUT, context: 84 } })).toThrow(/staging record context is 84, expected 80/);
    const { stage: _none, ...old } = good;
    expect(() => assertLayout(old)).toThrow(/staging record size is undefined/);
  });
});

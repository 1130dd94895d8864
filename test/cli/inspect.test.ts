/**
 * `qis-edge inspect` through the real CLI: stdin with no FILE (as pack does), a hint when hex
 * text is read as binary (and the reverse), and a packet's expiry.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qis-cli-inspect-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const observation = (extra: Record<string, unknown>) =>
  JSON.stringify({ domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: 0.18, confidence: 0.87, nObservations: 42, nodeId: "00112233445566778899aabbccddeeff", ...extra });

async function packed(extra: Record<string, unknown>, hex = false): Promise<Buffer> {
  const r = await runCli(hex ? ["pack", "--hex"] : ["pack"], observation(extra));
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe("qis-edge inspect", () => {
  it("reads stdin with no FILE, as with -, and as pack does", async () => {
    const bin = await packed({ ttlS: 0 });
    const implicit = await runCli(["inspect"], bin);
    expect(implicit.stderr).toBe("");
    expect(implicit.code).toBe(0);
    const explicit = await runCli(["inspect", "-"], bin);
    expect(implicit.stdout.toString()).toBe(explicit.stdout.toString());
    expect(JSON.parse(implicit.stdout.toString())).toMatchObject({ verdict: "OK", address: "qis.hvac.energy-anomaly", nodeId: "00112233445566778899aabbccddeeff" });
    const hex = await runCli(["inspect", "--hex"], await packed({ ttlS: 0 }, true));
    expect(hex.code).toBe(0);
    expect(JSON.parse(hex.stdout.toString())).toMatchObject({ verdict: "OK", address: "qis.hvac.energy-anomaly" });
  });

  it("refuses two inputs", async () => {
    const r = await runCli(["inspect", "a.bin", "b.bin"]);
    expect(r.stderr).toBe("ERR_USAGE: inspect takes one input (FILE, or stdin when - or absent), got 2\n");
    expect(r.code).toBe(2);
  });

  it("hex text without --hex: the length error says it is hex and points to --hex", async () => {
    const file = join(dir, "p.hex");
    writeFileSync(file, await packed({}, true));
    const r = await runCli(["inspect", file]);
    expect(r.stderr).toBe("ERR_PACKET_LENGTH: expected exactly 512 bytes, got 1025; the input is hex text (1024 hex digits): use --hex\n");
    expect(r.stdout.length).toBe(0);
    expect(r.code).toBe(1);
    const short = await runCli(["inspect"], "ab".repeat(300));
    expect(short.stderr).toBe("ERR_PACKET_LENGTH: expected exactly 512 bytes, got 600; the input looks like hex text (600 hex digits; a packet is 1024): --hex reads hex\n");
    // Binary that is not hex text gets no hint.
    const binary = await runCli(["inspect"], Buffer.alloc(511, 0xff));
    expect(binary.stderr).toBe("ERR_PACKET_LENGTH: expected exactly 512 bytes, got 511\n");
  });

  it("a binary packet with --hex: the usage error says it looks binary", async () => {
    const r = await runCli(["inspect", "--hex"], await packed({}));
    expect(r.stderr).toBe("ERR_USAGE: input: not hex text, but 512 bytes: a binary packet? (drop --hex)\n");
    expect(r.code).toBe(2);
  });

  it("an expired packet is valid (exit 0) but shown expired, with a note on stderr", async () => {
    const r = await runCli(["inspect"], await packed({ timestampMs: 1_795_000_000_000, ttlS: 3600 }));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("note: the packet expired at 2026-11-18T12:06:40.000Z (timestampMs + ttlS·1000); an agent drops it on arrival\n");
    const json = JSON.parse(r.stdout.toString()) as Record<string, unknown>;
    expect(json).toMatchObject({ verdict: "OK", ttlS: 3600, expiresAt: "2026-11-18T12:06:40.000Z", expired: true });
    // next to the TTL, in this order
    expect(Object.keys(json).slice(6, 10)).toEqual(["time", "ttlS", "expiresAt", "expired"]);
  });

  it("a live packet: expired false and its expiry time; ttlS 0: never expires (expiresAt null)", async () => {
    const now = Date.now();
    const live = await runCli(["inspect"], await packed({ timestampMs: now, ttlS: 3600 }));
    expect(live.stderr).toBe("");
    expect(JSON.parse(live.stdout.toString())).toMatchObject({ expiresAt: new Date(now + 3_600_000).toISOString(), expired: false });
    const never = await runCli(["inspect"], await packed({ timestampMs: 1000, ttlS: 0 }));
    expect(never.stderr).toBe("");
    expect(JSON.parse(never.stdout.toString())).toMatchObject({ expiresAt: null, expired: false });
  });
});

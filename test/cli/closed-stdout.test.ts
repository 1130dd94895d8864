/**
 * A reader that goes away early (`qis-edge selftest | head -1`): every command ends quietly,
 * with exit status 141 (128 + SIGPIPE, as for a tool killed by SIGPIPE) and nothing on stderr,
 * unless it has a failure status of its own. The old CLI died of an unhandled EPIPE 'error'
 * event: a stack trace on stderr and exit 1.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, runCliClosingStdout } from "./run-cli.js";

const observation = '{"domain":"hvac","problemClass":"energy-anomaly","outcomeDelta":0.18,"confidence":0.87,"nObservations":42}';
const dir = mkdtempSync(join(tmpdir(), "qis-cli-epipe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a closed stdout", () => {
  it("selftest | head -1: the first line, then a quiet exit 141, its temporary files removed", async () => {
    const state = mkdtempSync(join(dir, "state-"));
    const r = await runCliClosingStdout(["selftest", "--state-dir", state], 1);
    expect(r.stderr).toBe("");
    expect(r.signal).toBeNull();
    expect(r.code).toBe(141);
    expect(r.stdout.toString()).toMatch(/^PASS addon: /);
    expect(readdirSync(state)).toEqual([]);
  }, 60_000);

  it.each([
    ["config schema", ["config", "schema"], undefined],
    ["pack --hex", ["pack", "--hex"], observation],
    ["pack (binary)", ["pack"], observation],
    ["--help", ["--help"], undefined],
    ["pack --help", ["pack", "--help"], undefined],
  ])("%s: a quiet exit 141", async (_label, args, input) => {
    const r = await runCliClosingStdout(args, 0, input);
    expect(r.stderr).toBe("");
    expect(r.signal).toBeNull();
    expect(r.code).toBe(141);
  });

  it("inspect: a quiet exit 141 for a valid packet; an invalid one keeps its exit 1 and its error line", async () => {
    const packed = await runCli(["pack"], observation.replace("}", ',"ttlS":0}'));
    expect(packed.code).toBe(0);
    const r = await runCliClosingStdout(["inspect"], 0, packed.stdout);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(141);
    const bad = Buffer.from(packed.stdout);
    bad[100]! ^= 1;
    const invalid = await runCliClosingStdout(["inspect"], 0, bad);
    expect(invalid.stderr).toBe("ERR_PACKET_CRC: CRC-32C mismatch: the packet is corrupt (field crc32c)\n");
    expect(invalid.code).toBe(1);
  });

  it("demo | head -1: the agents are stopped, the temporary state removed, a quiet exit 141", async () => {
    const r = await runCliClosingStdout(["demo", "--duration", "20", "--nodes", "2"], 1);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(141);
    expect(r.stdout.toString()).toMatch(/^qis-edge demo: 2 agents on loopback/);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith("qis-edge-demo-"))).toEqual([]);
  }, 30_000);
});

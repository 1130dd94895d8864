/**
 * The bundle's source stays in V8's heap for the life of the process: as a one-byte string only
 * when every character is Latin-1, else at twice the size (scripts/bundle.js: charset ascii).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BUNDLE = join(fileURLToPath(new URL("../..", import.meta.url)), "dist", "qis-edge.mjs");

describe("the bundle's source", () => {
  it("is ASCII (non-ASCII characters escaped), so V8 holds it as a one-byte string", () => {
    expect(existsSync(BUNDLE), "dist/qis-edge.mjs is missing: npm run build").toBe(true);
    const text = readFileSync(BUNDLE);
    const at = text.findIndex((b) => b > 0x7f);
    expect(at, at < 0 ? "" : `non-ASCII byte at ${at}: ${JSON.stringify(text.subarray(Math.max(0, at - 40), at + 10).toString())}`).toBe(-1);
  });
});

/**
 * `qis-edge pack` (a real child process) refuses an observation whose text holds a control
 * character or invalid UTF-8, naming the field, and keeps a multi-line conclusion (issue 16).
 */
import { describe, expect, it } from "vitest";
import { codec } from "../../src/packet/index.js";
import { runCli } from "./run-cli.js";

const obs = (fields: Record<string, unknown> = {}): string =>
  JSON.stringify({ domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: 0.18, confidence: 0.87, nObservations: 42, ...fields });

describe("qis-edge pack, text fields", () => {
  it('"domain": "hv\\u0000ac" is ERR_OBSERVATION at /domain (it used to give qis.hv-ac)', async () => {
    const r = await runCli(["pack", "--hex"], obs({ domain: "hv\u0000ac" }));
    expect(r.code).toBe(2);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/^ERR_OBSERVATION: /);
    expect(r.stderr).toContain("/domain");
    expect(r.stderr).toContain("contains the control character U+0000 at index 2");
  });

  it("the bytes hv\\xedac in a JSON string are ERR_OBSERVATION at /domain, with the byte and its offset", async () => {
    const input = Buffer.from(obs({ domain: "hvXac" }));
    input[input.indexOf("hvXac") + 2] = 0xed;
    const r = await runCli(["pack", "--hex"], input);
    expect(r.code).toBe(2);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/^ERR_OBSERVATION: /);
    expect(r.stderr).toContain("/domain");
    expect(r.stderr).toContain("not valid UTF-8 (byte 0xed at offset 13 of the input)");
  });

  it("invalid UTF-8 outside any string is ERR_USAGE with its offset", async () => {
    const r = await runCli(["pack", "--hex"], Buffer.concat([Buffer.from(obs()), Buffer.from([0x20, 0xff])]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ERR_USAGE: input is not UTF-8 text: invalid UTF-8 at byte \d+ of the input \(0xff\)/);
  });

  it("a conclusion may hold tab, line feed and carriage return, and keeps them", async () => {
    const conclusion = "filter clogged\nreplace\twithin 10 days\r";
    const r = await runCli(["pack"], obs({ conclusion }));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(codec.decode(r.stdout).conclusion).toBe(conclusion);
  });

  it("a conclusion with another control character is ERR_OBSERVATION at /conclusion", async () => {
    const r = await runCli(["pack", "--hex"], obs({ conclusion: "bell\u0007" }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("/conclusion");
    expect(r.stderr).toContain("contains the control character U+0007 at index 4: expected no control characters but tab, line feed and carriage return");
  });
});

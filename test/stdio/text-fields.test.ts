/**
 * Text fields through a real `qis-edge run --stdio` child, in both framings (issue 16): a NUL
 * or another control character in an address part, and invalid UTF-8 anywhere, are errors
 * naming the field; a conclusion may hold tab, LF and CR but no other control character; the
 * session goes on after each.
 */
import { Encoder } from "cbor-x";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupAll, rawFrame, startStdio, type Msg } from "./helpers.js";

afterEach(cleanupAll);

const base = { op: "observe", domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: 0.18, confidence: 0.87, nObservations: 42 };
const encoder = new Encoder({ useRecords: false } as ConstructorParameters<typeof Encoder>[0]);

/** The request with "hvXac" as its domain, encoded, then the X replaced by the byte 0xED (not UTF-8). */
function withBadByte(framing: "ndjson" | "cbor", msg: Record<string, unknown>): Buffer {
  const body = framing === "ndjson" ? Buffer.from(`${JSON.stringify({ ...msg, domain: "hvXac" })}\n`) : Buffer.from(encoder.encode({ ...msg, domain: "hvXac" }) as Uint8Array);
  const at = body.indexOf("hvXac");
  body[at + 2] = 0xed;
  return framing === "ndjson" ? body : rawFrame(body);
}

const PROSE = "filter clogged\nreplace within 10 days\tzone 3\r";

describe.each(["ndjson", "cbor"] as const)("text fields over stdio, %s", (framing) => {
  it("control characters and invalid UTF-8 are refused with the field; a multi-line conclusion is kept", async () => {
    const a = await startStdio({ framing });
    a.send({ ...base, id: 1, domain: "hv\u0000ac" });
    a.write(withBadByte(framing, { ...base, id: 2 }));
    a.send({ ...base, id: 3, conclusion: PROSE });
    a.send({ ...base, id: 4, conclusion: "ok\u0000then cut" });
    a.send({ ...base, id: 5, tokens: ["ok", "\u001b[31mred"] });
    a.send({ ...base, id: 6, problemClass: "energy\nanomaly" });
    a.send({ op: "query", id: 7 });
    const last = await a.waitFor((m) => m.id === 7, "the query's ack");
    a.child.stdin!.end();
    expect(await a.exited).toBe(0);

    const answers = a.messages.filter((m) => m.event === "ack" || m.event === "error");
    const problems = (m: Msg | undefined) => (m?.problems as { path: string; message: string }[] | undefined)?.map((p) => [p.path, p.message]);
    expect(answers.map((m) => [m.event, m.code ?? null, m.id ?? null, m.line])).toEqual([
      ["error", "ERR_OBSERVATION", 1, 1],
      ["error", "ERR_STDIO_UTF8", null, 2], // the id cannot be trusted from bytes that are not text
      ["ack", null, 3, undefined],
      ["error", "ERR_OBSERVATION", 4, 4],
      ["error", "ERR_OBSERVATION", 5, 5],
      ["error", "ERR_OBSERVATION", 6, 6],
      ["ack", null, 7, undefined],
    ]);
    const rule = "expected no control characters (U+0000..U+001F, U+007F..U+009F) in an identifier";
    expect(problems(answers[0])).toEqual([["/domain", `contains the control character U+0000 at index 2: ${rule}`]]);
    const where = framing === "ndjson" ? "line" : "frame";
    expect(answers[1]!.reason).toMatch(new RegExp(`^invalid UTF-8 at byte \\d+ of the ${where} \\(0xed\\), in /domain$`));
    expect(problems(answers[1])).toEqual([["/domain", expect.stringMatching(new RegExp(`^is not valid UTF-8 \\(byte 0xed at offset \\d+ of the ${where}\\)$`))]]);
    expect(problems(answers[3])).toEqual([["/conclusion", "contains the control character U+0000 at index 2: expected no control characters but tab, line feed and carriage return"]]);
    expect(problems(answers[4])).toEqual([["/tokens/1", `contains the control character U+001B at index 0: ${rule}`]]);
    expect(problems(answers[5])).toEqual([["/problemClass", `contains the control character U+000A at index 6: ${rule}`]]);

    // Only the good observation was stored, its conclusion as sent.
    const packets = last.packets as { address: string; conclusion: string }[];
    expect(packets.map((p) => [p.address, p.conclusion])).toEqual([["qis.hvac.energy-anomaly", PROSE]]);
  });
});

/** The reference NATS router's JSON packets ↔ outcome packets (docs/uplink.md, "The reference router's JSON"). */
import { describe, expect, it } from "vitest";
import { decodeReferenceJson, encodeReferenceJson, REFERENCE_JSON_MAX, type ReferenceJsonOptions } from "../../src/link/nats/reference-json.js";
import { codec, FLAG_LEGACY, FLAG_SIGNED, FLAG_SYNTHESIZED, PACKET_SIZE, type PacketFields } from "../../src/packet/index.js";
import { murmur3x86_128 } from "../../src/packet/murmur3.js";

const OPTIONS: ReferenceJsonOptions = { ttlS: 86_400, conclusions: { "bearing wear": 1, normal: -1 }, defaultDelta: 0 };
const SUBJECT = "qis.iot.pm.bearing";
const REFERENCE = {
  agent_id: "pump-7",
  domain: "pm",
  problem_class: "bearing",
  conclusion: "bearing wear",
  confidence: 0.75,
  context_vector: [0.5, -2, 1e-3],
  timestamp: 1795000000.123456,
  source_node: "site-a",
};

const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

function decode(subject: string, payload: Uint8Array, options = OPTIONS): Buffer {
  const out = Buffer.alloc(PACKET_SIZE);
  decodeReferenceJson(subject, payload, out, 0, options);
  return out;
}

function encoded(fields: PacketFields): Buffer {
  const out = Buffer.alloc(PACKET_SIZE);
  codec.encode(fields, out, 0);
  return out;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe("reference JSON → outcome packet", () => {
  it("maps every member as docs/uplink.md says, byte for byte", () => {
    const node = new Uint8Array(16);
    const id = Buffer.from("pump-7");
    murmur3x86_128(id, 0, id.length, node, 0);
    const want = encoded({
      flags: FLAG_LEGACY,
      hops: 0,
      timestampMs: 1795000000123,
      ttlS: 86_400,
      nObservations: 1,
      outcomeDelta: 1, // "bearing wear" in conclusions
      confidence: 0.75,
      seq: 1795000000123456,
      nodeId: node,
      address: "qis.iot.pm.bearing",
      contextHash: "0".repeat(32),
      context: [0.5, -2, 1e-3],
      conclusion: "bearing wear",
    });
    expect(decode(SUBJECT, json(REFERENCE)).equals(want)).toBe(true);
  });

  it("an agent_id of 32 hex digits is the node id itself; unmapped conclusions take defaultDelta", () => {
    const hex = "0123456789abcdef0123456789ABCDEF";
    const p = codec.decode(decode(SUBJECT, json({ ...REFERENCE, agent_id: hex, conclusion: "vibration" }), { ...OPTIONS, defaultDelta: -0.25 }));
    expect(Buffer.from(p.nodeId).toString("hex")).toBe(hex.toLowerCase());
    expect(p.outcomeDelta).toBe(-0.25);
    expect(codec.decode(decode(SUBJECT, json({ ...REFERENCE, conclusion: "normal" }))).outcomeDelta).toBe(-1);
    expect(codec.decode(decode(SUBJECT, json({ ...REFERENCE, conclusion: "constructor" }))).outcomeDelta).toBe(0);
  });

  it("tokens are normalised as addresses are (upper case, spaces)", () => {
    const p = codec.decode(decode("qis.iot.PM.Bearing", json({ ...REFERENCE, domain: "PM", problem_class: "Bearing" })));
    expect(p.address).toBe("qis.iot.pm.bearing");
  });

  it("refuses what it cannot read with a stable code, and leaves out untouched", () => {
    const cases: [string, string, Uint8Array][] = [
      ["ERR_REFERENCE_JSON_SIZE", SUBJECT, json({ ...REFERENCE, conclusion: "x".repeat(REFERENCE_JSON_MAX) })],
      ["ERR_REFERENCE_JSON_SYNTAX", SUBJECT, Buffer.from("{not json")],
      ["ERR_REFERENCE_JSON_SYNTAX", SUBJECT, Buffer.from([0x7b, 0xff, 0x7d])],
      ["ERR_REFERENCE_JSON_SYNTAX", SUBJECT, json([REFERENCE])],
      ["ERR_REFERENCE_JSON_FIELD", SUBJECT, json({ ...REFERENCE, agent_id: undefined })],
      ["ERR_REFERENCE_JSON_FIELD", SUBJECT, json({ ...REFERENCE, confidence: "0.7" })],
      ["ERR_REFERENCE_JSON_FIELD", SUBJECT, json({ ...REFERENCE, context_vector: [1, "2"] })],
      ["ERR_REFERENCE_JSON_FIELD", SUBJECT, json({ ...REFERENCE, source_node: 7 })],
      ["ERR_REFERENCE_JSON_FIELD", SUBJECT, json({ ...REFERENCE, qis: [] })],
      ["ERR_REFERENCE_JSON_VALUE", SUBJECT, json({ ...REFERENCE, confidence: 1.5 })],
      ["ERR_REFERENCE_JSON_VALUE", SUBJECT, json({ ...REFERENCE, timestamp: -1 })],
      ["ERR_REFERENCE_JSON_VALUE", SUBJECT, json({ ...REFERENCE, context_vector: new Array(17).fill(0) })],
      ["ERR_REFERENCE_JSON_VALUE", SUBJECT, json({ ...REFERENCE, context_vector: [1e39] })],
      ["ERR_REFERENCE_JSON_VALUE", SUBJECT, json({ ...REFERENCE, conclusion: "a\u0001b" })],
      ["ERR_REFERENCE_JSON_VALUE", SUBJECT, json({ ...REFERENCE, agent_id: "" })],
      ["ERR_REFERENCE_JSON_VALUE", SUBJECT, json({ ...REFERENCE, qis: { v: 1, delta: 0, n: 1, seq: 1, ttl: 0, hops: 0, flags: FLAG_SIGNED } })],
      ["ERR_REFERENCE_JSON_SUBJECT", "qis.iot.pm.other", json(REFERENCE)],
      ["ERR_REFERENCE_JSON_SUBJECT", "qis.iot.*.bearing", json({ ...REFERENCE, domain: "*" })],
    ];
    for (const [code, subject, payload] of cases) {
      const out = Buffer.alloc(PACKET_SIZE, 0xaa);
      expect(codeOf(() => decodeReferenceJson(subject, payload, out, 0, OPTIONS)), `${code} ${payload.toString().slice(0, 80)}`).toBe(code);
      expect(out.every((b) => b === 0xaa)).toBe(true);
    }
  });
});

describe("outcome packet → reference JSON", () => {
  const FIELDS: PacketFields = {
    flags: FLAG_SYNTHESIZED,
    hops: 2,
    timestampMs: 1795000000000,
    ttlS: 3600,
    nObservations: 42,
    outcomeDelta: 0.18,
    confidence: 0.87,
    seq: 7,
    nodeId: "0123456789abcdef0123456789abcdef",
    address: "qis.iot.hvac.energy-anomaly",
    contextHash: "00000000000000000000000000000001",
    context: [0.1, 2.5],
    conclusion: 'short "cycling"',
  };

  it("writes the reference's eight members and qis, exactly", () => {
    const { json: out, shortened } = encodeReferenceJson(codec.decode(encoded(FIELDS)));
    expect(shortened).toBe(false);
    expect(out.toString()).toBe(
      '{"agent_id":"0123456789abcdef0123456789abcdef","domain":"hvac","problem_class":"energy-anomaly","conclusion":"short \\"cycling\\"","confidence":0.87,' +
        '"context_vector":[0.1,2.5],"timestamp":1795000000,"source_node":"0123456789abcdef0123456789abcdef",' +
        '"qis":{"v":1,"delta":0.18,"n":42,"seq":7,"ttl":3600,"hops":2,"flags":2,"ctx":"00000000000000000000000000000001"}}',
    );
  });

  it("ours → JSON → ours gives the same 512 bytes", () => {
    const original = encoded(FIELDS);
    const { json: out } = encodeReferenceJson(codec.decode(original));
    expect(decode("qis.iot.hvac.energy-anomaly", out).equals(original)).toBe(true);
  });

  it("a problem class of several tokens stays whole", () => {
    const { contextHash: _, ...fields } = FIELDS;
    const p = codec.decode(encoded({ ...fields, address: "qis.iot.pm.bearing.wear" }));
    const parsed = JSON.parse(encodeReferenceJson(p).json.toString()) as { domain: string; problem_class: string };
    expect([parsed.domain, parsed.problem_class]).toEqual(["pm", "bearing.wear"]);
  });

  it("stays within 512 bytes: context values go first, then conclusion characters", () => {
    const full = encoded({ ...FIELDS, context: Array.from({ length: 16 }, (_, i) => -1.2345678 * (i + 1)), conclusion: '"'.repeat(172) });
    const { json: out, shortened } = encodeReferenceJson(codec.decode(full));
    expect(shortened).toBe(true);
    expect(out.length).toBeLessThanOrEqual(REFERENCE_JSON_MAX);
    const back = codec.decode(decode("qis.iot.hvac.energy-anomaly", out));
    expect(back.context).toEqual([]);
    expect(back.conclusion.length).toBeGreaterThan(0);
    expect('"'.repeat(172).startsWith(back.conclusion)).toBe(true);
  });

  it("refuses addresses the reference has no subject for", () => {
    expect(codeOf(() => encodeReferenceJson(codec.decode(encoded({ ...FIELDS, address: "qis.hvac.energy" }))))).toBe("ERR_REFERENCE_JSON_ADDRESS");
    expect(codeOf(() => encodeReferenceJson(codec.decode(encoded({ ...FIELDS, address: "qis.iot.hvac" }))))).toBe("ERR_REFERENCE_JSON_ADDRESS");
  });
});

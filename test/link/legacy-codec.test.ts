import { describe, expect, it } from "vitest";
import { compilePattern } from "../../src/address/index.js";
import {
  decodeLegacy,
  encodeLegacy,
  LegacyError,
  legacyPrefixes,
  legacyTopicFor,
  pythonFloat,
  type LegacyErrorCode,
} from "../../src/link/legacy/index.js";
import { codec, FLAG_LEGACY, PACKET_SIZE, PacketView, type PacketFields } from "../../src/packet/index.js";
import { murmur3x86_128 } from "../../src/packet/murmur3.js";
import { catchError } from "../catch-error.js";

const NODE_HEX = "0123456789abcdef0123456789abcdef";
const ZERO_HEX = "0".repeat(32);

/**
 * Hand-computed `!ffidd` struct (checked with CPython's struct.pack):
 *   3e3851ec          outcome_delta 0.18 as f32, big-endian
 *   3f5eb852          confidence 0.87 as f32
 *   0000002a          n_observations 42
 *   41dabf61b0000000  timestamp 1795000000.0 (f64)
 *   0000000000000000  reserved 0.0
 */
const STRUCT_018 = "3e3851ec" + "3f5eb852" + "0000002a" + "41dabf61b0000000" + "0000000000000000";
/** -0.05, 0.5, 7, 1795000000.123 */
const STRUCT_NEG = "bd4ccccd" + "3f000000" + "00000007" + "41dabf61b007df3b" + "0000000000000000";

function fields(over: Partial<PacketFields> = {}): PacketFields {
  return {
    timestampMs: 1_795_000_000_000,
    ttlS: 3600,
    nObservations: 42,
    outcomeDelta: 0.18,
    confidence: 0.87,
    seq: 1,
    nodeId: Buffer.from(NODE_HEX, "hex"),
    address: "qis.hvac.energy-anomaly",
    ...over,
  };
}

function view(over: Partial<PacketFields> = {}): PacketView {
  const buf = Buffer.alloc(PACKET_SIZE);
  codec.encode(fields(over), buf, 0);
  return new PacketView(buf, 0);
}

function payload(structHex: string, text: string): Buffer {
  return Buffer.concat([Buffer.from(structHex, "hex"), Buffer.from(text, "utf8")]);
}

/** A legacy message as the reference node would build it (struct via DataView, big-endian). */
function legacy(
  p: { domain?: string; delta?: number; confidence?: number; n?: number; ts?: number; node?: string; ctx?: string; topic?: string } = {},
): [Buffer, Buffer] {
  const domain = p.domain ?? "hvac";
  const delta = p.delta ?? 0.18;
  const s = Buffer.alloc(28);
  s.writeFloatBE(delta, 0);
  s.writeFloatBE(p.confidence ?? 0.87, 4);
  s.writeInt32BE(p.n ?? 42, 8);
  s.writeDoubleBE(p.ts ?? 1_795_000_000, 12);
  const t = Math.trunc(delta * 10) + 0;
  const bucket = `${t < 0 ? "-" : "+"}${Math.floor(Math.abs(t) / 10)}.${Math.abs(t) % 10}`;
  const topic = p.topic ?? `qis.${domain}.d${bucket}`;
  return [Buffer.from(topic, "utf8"), Buffer.concat([s, Buffer.from(`${domain}|${p.node ?? NODE_HEX}|${p.ctx ?? ""}`, "utf8")])];
}

function decode(topic: Uint8Array, pl: Uint8Array, ttlS?: number): ReturnType<typeof codec.decode> {
  const out = Buffer.alloc(PACKET_SIZE + 8);
  decodeLegacy(topic, pl, out, 8, ttlS === undefined ? undefined : { ttlS });
  codec.verify(out, 8);
  return codec.decode(out, 8);
}

const catchLegacy = (fn: () => unknown): LegacyError => catchError(fn, LegacyError);

function expectCode(fn: () => unknown, code: LegacyErrorCode): void {
  const error = catchLegacy(fn);
  expect(error.code).toBe(code);
  expect(error.name).toBe("LegacyError");
}

describe("our packet → legacy", () => {
  it("gives the exact topic and payload bytes", () => {
    const [topic, pl] = encodeLegacy(view());
    expect(topic.toString("latin1")).toBe("qis.hvac.d+0.1");
    expect(pl.toString("hex")).toBe(payload(STRUCT_018, `hvac|${NODE_HEX}|${ZERO_HEX}`).toString("hex"));
    expect(legacyTopicFor(view())).toBe("qis.hvac.d+0.1");
  });

  it("writes the context hash as 32 hex digits, n_observations saturated to an i32", () => {
    const ctx = Buffer.from("ffeeddccbbaa99887766554433221100", "hex");
    const [, pl] = encodeLegacy(view({ contextHash: ctx, nObservations: 0xffff_fff0 }));
    expect(pl.readInt32BE(8)).toBe(0x7fff_ffff);
    expect(pl.subarray(28).toString()).toBe(`hvac|${NODE_HEX}|ffeeddccbbaa99887766554433221100`);
  });

  it("buckets like Python: toward zero, no -0.0, bounds", () => {
    const cases: [number, string][] = [
      [-0.05, "d+0.0"],
      [0.05, "d+0.0"],
      [-0, "d+0.0"],
      [0.18, "d+0.1"],
      [-0.18, "d-0.1"],
      [0.99, "d+0.9"],
      [1.0, "d+1.0"],
      [-1.0, "d-1.0"],
    ];
    for (const [delta, bucket] of cases) {
      expect(legacyTopicFor(view({ outcomeDelta: delta })), String(delta)).toBe(`qis.hvac.${bucket}`);
    }
  });

  it("uses the address's own bucket token when it fits the f32 delta (the f32 trap)", () => {
    // f32(0.7) = 0.699999988 buckets to +0.6 ...
    expect(legacyTopicFor(view({ outcomeDelta: 0.7 }))).toBe("qis.hvac.d+0.6");
    // ... but a packet that came in as qis.x.dp0_7 goes back out as d+0.7.
    expect(legacyTopicFor(view({ outcomeDelta: 0.7, address: "qis.hvac.dp0_7" }))).toBe("qis.hvac.d+0.7");
    // A token that does not fit the delta is ignored.
    expect(legacyTopicFor(view({ outcomeDelta: 0.18, address: "qis.hvac.dp0_5" }))).toBe("qis.hvac.d+0.1");
    // Only at depth 3.
    expect(legacyTopicFor(view({ outcomeDelta: 0.7, address: "qis.hvac.dp0_7.x" }))).toBe("qis.hvac.d+0.6");
  });

  it("refuses an address without a domain token", () => {
    expectCode(() => encodeLegacy(view({ address: "nodots" })), "ERR_LEGACY_ADDRESS");
  });
});

describe("legacy → our packet", () => {
  it("decodes hand-made bytes into the expected packet", () => {
    const p = decode(Buffer.from("qis.hvac.d+0.1"), payload(STRUCT_018, `hvac|${NODE_HEX}|`));
    expect(p).toMatchObject({
      address: "qis.hvac.dp0_1",
      flags: FLAG_LEGACY,
      hops: 0,
      timestampMs: 1_795_000_000_000,
      ttlS: 3600,
      nObservations: 42,
      outcomeDelta: Math.fround(0.18),
      confidence: Math.fround(0.87),
      seq: 1_795_000_000_000_000,
      context: [],
      conclusion: "",
    });
    expect(Buffer.from(p.nodeId).toString("hex")).toBe(NODE_HEX);
    expect(Buffer.from(p.contextHash).toString("hex")).toBe(ZERO_HEX);
  });

  it("rounds the timestamp to ms and µs, takes ttlS", () => {
    const p = decode(Buffer.from("qis.hvac.d+0.0"), payload(STRUCT_NEG, `hvac|${NODE_HEX}|`), 60);
    expect(p.address).toBe("qis.hvac.dp0_0");
    expect(p.outcomeDelta).toBe(Math.fround(-0.05));
    expect(p.timestampMs).toBe(1_795_000_000_123);
    expect(p.seq).toBe(Math.round(1795000000.123 * 1e6));
    expect(p.ttlS).toBe(60);
  });

  it("normalises the domain", () => {
    expect(decode(...legacy({ domain: "Smart Home" })).address).toBe("qis.smart-home.dp0_1");
    expect(decode(...legacy({ domain: "HVAC", delta: -1 })).address).toBe("qis.hvac.dm1_0");
    expect(decode(...legacy({ domain: "hvac", delta: 1 })).address).toBe("qis.hvac.dp1_0");
  });

  it("keeps the sender's bucket from the topic when the f32 delta sits under a boundary", () => {
    // Python: int(0.7 * 10) / 10 = 0.7 → d+0.7, payload f32 0.699999988.
    expect(decode(...legacy({ delta: 0.7 })).address).toBe("qis.hvac.dp0_7");
    // A port that prints -0.0 is accepted.
    expect(decode(...legacy({ delta: -0.05, topic: "qis.hvac.d-0.0" })).address).toBe("qis.hvac.dp0_0");
  });

  it("hashes ids that are not 32 hex digits; upper-case hex is taken as bytes", () => {
    const hashed = (s: string): string => {
      const out = new Uint8Array(16);
      const b = Buffer.from(s, "utf8");
      murmur3x86_128(b, 0, b.length, out);
      return Buffer.from(out).toString("hex");
    };
    const p = decode(...legacy({ node: "node-7", ctx: "kitchen/north" }));
    expect(Buffer.from(p.nodeId).toString("hex")).toBe(hashed("node-7"));
    expect(Buffer.from(p.contextHash).toString("hex")).toBe(hashed("kitchen/north"));
    const q = decode(...legacy({ node: NODE_HEX.toUpperCase(), ctx: "ffeeddccbbaa99887766554433221100" }));
    expect(Buffer.from(q.nodeId).toString("hex")).toBe(NODE_HEX);
    expect(Buffer.from(q.contextHash).toString("hex")).toBe("ffeeddccbbaa99887766554433221100");
  });

  it("writes nothing when it refuses", () => {
    const out = Buffer.alloc(PACKET_SIZE, 0xaa);
    catchLegacy(() => decodeLegacy(...legacy({ delta: 0.18, topic: "qis.hvac.d+0.5" }), out, 0));
    expect(out.every((b) => b === 0xaa)).toBe(true);
  });
});

describe("round trips", () => {
  it("legacy → ours → legacy gives the same bytes (ms-aligned time, lower-case hex ids)", () => {
    for (const delta of [0.18, -0.05, 0.7, -0.7, 1, -1, 0.3 - 0.1]) {
      const [topic, pl] = legacy({ delta, ts: 1_795_000_000.25, ctx: "ffeeddccbbaa99887766554433221100" });
      const out = Buffer.alloc(PACKET_SIZE);
      decodeLegacy(topic, pl, out, 0);
      const [topic2, pl2] = encodeLegacy(new PacketView(out, 0));
      expect(topic2.toString(), String(delta)).toBe(topic.toString());
      expect(pl2.toString("hex"), String(delta)).toBe(pl.toString("hex"));
    }
  });

  it("ours → legacy → ours keeps the measured fields", () => {
    const v = view({ outcomeDelta: -0.35, confidence: 0.5, nObservations: 9, timestampMs: 1_795_000_000_321 });
    const [topic, pl] = encodeLegacy(v);
    expect(topic.toString()).toBe("qis.hvac.d-0.3");
    const p = decode(topic, pl);
    expect(p).toMatchObject({
      address: "qis.hvac.dm0_3",
      outcomeDelta: Math.fround(-0.35),
      confidence: 0.5,
      nObservations: 9,
      timestampMs: 1_795_000_000_321,
      seq: 1_795_000_000_321_000,
      flags: FLAG_LEGACY,
    });
    expect(Buffer.from(p.nodeId).toString("hex")).toBe(NODE_HEX);
  });
});

describe("bad legacy input → its code", () => {
  const good = legacy();
  const bad: [string, () => unknown, LegacyErrorCode][] = [
    ["payload shorter than the struct", () => decode(good[0], good[1].subarray(0, 27)), "ERR_LEGACY_PAYLOAD"],
    ["text not UTF-8", () => decode(good[0], Buffer.concat([good[1].subarray(0, 28), Buffer.from([0x68, 0xff, 0x7c, 0x7c])])), "ERR_LEGACY_PAYLOAD"],
    ["two text fields", () => decode(good[0], payload(STRUCT_018, `hvac|${NODE_HEX}`)), "ERR_LEGACY_PAYLOAD"],
    ["four text fields", () => decode(good[0], payload(STRUCT_018, `hvac|${NODE_HEX}||x`)), "ERR_LEGACY_PAYLOAD"],
    ["text over 1024 bytes", () => decode(good[0], payload(STRUCT_018, `hvac|${"a".repeat(1100)}|`)), "ERR_LEGACY_PAYLOAD"],
    ["topic not UTF-8", () => decode(Buffer.from([0x71, 0xff]), good[1]), "ERR_LEGACY_TOPIC"],
    ["topic of another domain", () => decode(...legacy({ topic: "qis.iot.d+0.1" })), "ERR_LEGACY_TOPIC"],
    ["topic without the d", () => decode(...legacy({ topic: "qis.hvac.+0.1" })), "ERR_LEGACY_TOPIC"],
    ["bucket with two decimals", () => decode(...legacy({ topic: "qis.hvac.d+0.15" })), "ERR_LEGACY_TOPIC"],
    ["bucket past 1", () => decode(...legacy({ topic: "qis.hvac.d+1.1" })), "ERR_LEGACY_TOPIC"],
    ["bucket that does not fit the delta", () => decode(...legacy({ topic: "qis.hvac.d+0.5" })), "ERR_LEGACY_TOPIC"],
    ["delta NaN", () => decode(...legacy({ delta: NaN, topic: "qis.hvac.d+0.0" })), "ERR_LEGACY_VALUE"],
    ["delta 1.5", () => decode(...legacy({ delta: 1.5, topic: "qis.hvac.d+1.0" })), "ERR_LEGACY_VALUE"],
    ["confidence -0.1", () => decode(...legacy({ confidence: -0.1 })), "ERR_LEGACY_VALUE"],
    ["confidence Infinity", () => decode(...legacy({ confidence: Infinity })), "ERR_LEGACY_VALUE"],
    ["n_observations -1", () => decode(...legacy({ n: -1 })), "ERR_LEGACY_VALUE"],
    ["timestamp -1", () => decode(...legacy({ ts: -1 })), "ERR_LEGACY_VALUE"],
    ["timestamp NaN", () => decode(...legacy({ ts: NaN })), "ERR_LEGACY_VALUE"],
    ["timestamp whose µs pass 2^53", () => decode(...legacy({ ts: 1e10 })), "ERR_LEGACY_VALUE"],
    ["domain with no ASCII letter", () => decode(...legacy({ domain: "日本語" })), "ERR_LEGACY_DOMAIN"],
    ["domain over 32 bytes", () => decode(...legacy({ domain: "predictive maintenance of bearings" })), "ERR_LEGACY_DOMAIN"],
    ["empty domain", () => decode(...legacy({ domain: "" })), "ERR_LEGACY_DOMAIN"],
    ["no room in out", () => decodeLegacy(good[0], good[1], Buffer.alloc(511), 0), "ERR_LEGACY_ARGUMENT"],
    ["ttlS -1", () => decodeLegacy(good[0], good[1], Buffer.alloc(512), 0, { ttlS: -1 }), "ERR_LEGACY_ARGUMENT"],
  ];
  it.each(bad)("%s", (_name, fn, code) => expectCode(fn, code));

  it("chains the address error for a bad domain", () => {
    const error = catchLegacy(() => decode(...legacy({ domain: "日本語" })));
    expect((error.cause as { code?: string }).code).toBe("ERR_ADDRESS_EMPTY_TOKEN");
  });
});

describe("legacyPrefixes", () => {
  const prefixes = (...p: string[]): string[] => legacyPrefixes(p.map(compilePattern));

  it("maps a literal domain, a wildcard domain and a literal bucket", () => {
    expect(prefixes("qis.hvac.*")).toEqual(["qis.hvac."]);
    expect(prefixes("qis.hvac.>")).toEqual(["qis.hvac."]);
    expect(prefixes("qis.*.dp0_1")).toEqual(["qis."]);
    expect(prefixes("qis.>")).toEqual(["qis."]);
    expect(prefixes("qis.hvac.dp0_1")).toEqual(["qis.hvac.d+0.1"]);
    expect(prefixes("qis.hvac.dm1_0")).toEqual(["qis.hvac.d-1.0"]);
  });

  it("deduplicates and drops covered prefixes", () => {
    expect(prefixes("qis.hvac.dp0_1", "qis.hvac.*", "qis.iot.dp0_1", "qis.iot.dp0_1")).toEqual(["qis.hvac.", "qis.iot.d+0.1"]);
    expect(prefixes("qis.hvac.dp0_1", "qis.*.*", "qis.iot.>")).toEqual(["qis."]);
  });

  it("skips patterns that no legacy-made address can match", () => {
    expect(prefixes("qis.hvac.energy-anomaly", "qis.hvac.dm0_0", "qis.a.b.>", "qis.a.*.c", "qis.hvac.*.*")).toEqual([]);
    expect(prefixes()).toEqual([]);
  });
});

describe("pythonFloat (json.dumps number format)", () => {
  it("matches CPython's repr", () => {
    const cases: [number, string][] = [
      [0.18, "0.18"],
      [1, "1.0"],
      [0, "0.0"],
      [-0.5, "-0.5"],
      [1e-5, "1e-05"],
      [1.5e-7, "1.5e-07"],
      [2.5e-5, "2.5e-05"],
      [0.0001, "0.0001"],
      [1e16, "1e+16"],
      [123.456, "123.456"],
      [1.401298464324817e-45, "1.401298464324817e-45"],
      [0.1 + 0.2, "0.30000000000000004"],
    ];
    for (const [x, s] of cases) expect(pythonFloat(x), String(x)).toBe(s);
  });
});

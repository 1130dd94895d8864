import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addressToMqttTopic,
  buildAddress,
  compilePattern,
  isValidAddress,
  mqttTopicToAddress,
  normalizeToken,
  parseAddress,
} from "../../src/address/index.js";

// Reference implementations: deliberately naive (regex and split), independent of the module.
const REFERENCE_TOKEN = /^[a-z0-9]([a-z0-9_-]{0,30}[a-z0-9])?$/;

function referenceIsValid(address: string): boolean {
  const tokens = address.split(".");
  return (
    Buffer.byteLength(address, "utf8") <= 96 &&
    tokens.length >= 3 &&
    tokens.length <= 8 &&
    tokens[0] === "qis" &&
    tokens.slice(1).every((t) => REFERENCE_TOKEN.test(t))
  );
}

function referenceMatch(pattern: string, address: string): boolean {
  if (!referenceIsValid(address)) return false;
  const p = pattern.split(".");
  const a = address.split(".");
  const tail = p[p.length - 1] === ">";
  const fixed = tail ? p.slice(0, -1) : p;
  if (tail ? a.length <= fixed.length : a.length !== fixed.length) return false;
  return fixed.every((t, i) => t === "*" || t === a[i]);
}

// A small pool makes pattern literals and address tokens collide often enough to match.
const poolToken = fc.constantFrom("a", "b", "ab", "a-b", "x_1", "hvac", "energy", "energy-anomaly", "0");
const randomToken = fc.stringMatching(REFERENCE_TOKEN);
const validToken = fc.oneof({ arbitrary: poolToken, weight: 4 }, { arbitrary: randomToken, weight: 1 });

const validAddress = fc
  .array(validToken, { minLength: 2, maxLength: 7 })
  .map((tokens) => ["qis", ...tokens].join("."))
  .filter((address) => address.length <= 96);

/** Strings close to addresses: wrong depth, empty tokens, bad characters, wildcards. */
const nearMissAddress = fc
  .array(
    fc.oneof(
      validToken,
      fc.constantFrom("", "A", "-a", "a_", "*", ">", "é", "a b", "x".repeat(33), "qis"),
    ),
    { minLength: 0, maxLength: 9 },
  )
  .map((tokens) => ["qis", ...tokens].join("."));

const anyAddress = fc.oneof(validAddress, nearMissAddress);

/** Turns an address into a pattern: some tokens become `*`, and maybe a cut tail becomes `>`. */
function toPattern(address: string, stars: readonly boolean[], cut: number, useTail: boolean): string {
  const tokens = address.split(".").map((t, i) => (i > 0 && stars[i] === true ? "*" : t));
  if (!useTail) return tokens.join(".");
  const keep = Math.max(1, Math.min(cut, tokens.length - 1));
  return [...tokens.slice(0, keep), ">"].join(".");
}

const patternShape = fc.tuple(fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), fc.nat(8), fc.boolean());

/** Variations of an address that a pattern derived from it may or may not match. */
function probe(address: string): fc.Arbitrary<string> {
  const tokens = address.split(".");
  return fc.oneof(
    fc.constant(address),
    fc.tuple(fc.nat(tokens.length - 1), validToken).map(([i, t]) => tokens.with(i, t).join(".")),
    validToken.map((t) => `${address}.${t}`),
    fc.nat(tokens.length - 1).map((n) => tokens.slice(0, n).join(".")),
    fc.constantFrom("-x", "X", "_", ".", "..").map((suffix) => `${address}${suffix}`),
    anyAddress,
  );
}

/** [pattern, address]: the pattern is derived from an address, and the address probes near it. */
const correlatedPair = fc
  .tuple(validAddress, patternShape)
  .chain(([address, [stars, cut, useTail]]) =>
    fc.tuple(fc.constant(toPattern(address, stars, cut, useTail)), probe(address)),
  );

/** Free-standing patterns, compiled only when valid, against any address. */
const freePattern = fc
  .tuple(fc.array(fc.oneof(poolToken, fc.constant("*")), { minLength: 1, maxLength: 7 }), fc.boolean())
  .map(([tokens, useTail]) => ["qis", ...tokens, ...(useTail ? [">"] : [])].join("."));
const independentPair = fc.tuple(freePattern, anyAddress);

const patternAndAddress = fc.oneof(correlatedPair, independentPair).filter(([pattern]) => {
  try {
    compilePattern(pattern);
    return true;
  } catch {
    return false; // e.g. too long after adding `>`, or `qis.*`
  }
});

function embed(address: string, before: number, after: number): Uint8Array {
  const bytes = new TextEncoder().encode(address);
  const buf = new Uint8Array(before + bytes.length + after).fill(0x2e); // `.` around it: a trap
  buf.set(bytes, before);
  return buf;
}

describe("properties", () => {
  it("isValidAddress agrees with the reference grammar, and parseAddress with split", () => {
    fc.assert(
      fc.property(anyAddress, (address) => {
        expect(isValidAddress(address)).toBe(referenceIsValid(address));
        if (referenceIsValid(address)) expect(parseAddress(address)).toEqual(address.split("."));
        else expect(() => parseAddress(address)).toThrow();
      }),
      { numRuns: 1000 },
    );
  });

  it("match equals the reference matcher; matchBytes equals match; matches start with literalPrefix", () => {
    fc.assert(
      fc.property(patternAndAddress, fc.nat(4), fc.nat(4), ([pattern, address], before, after) => {
        const compiled = compilePattern(pattern);
        const matched = compiled.match(address);
        expect(matched).toBe(referenceMatch(pattern, address));
        const buf = embed(address, before, after);
        expect(compiled.matchBytes(buf, before, buf.length - before - after)).toBe(matched);
        if (matched) expect(address.startsWith(compiled.literalPrefix)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("a pattern derived from an address matches it", () => {
    fc.assert(
      fc.property(validAddress, fc.nat(7), (address, cut) => {
        const tokens = address.split(".");
        const keep = Math.max(1, Math.min(cut, tokens.length - 1));
        expect(compilePattern(address).match(address)).toBe(true);
        expect(compilePattern([...tokens.slice(0, keep), ">"].join(".")).match(address)).toBe(true);
      }),
    );
  });

  it("MQTT topics round-trip", () => {
    fc.assert(
      fc.property(validAddress, (address) => {
        expect(mqttTopicToAddress(addressToMqttTopic(address))).toBe(address);
      }),
    );
  });

  const freeText = fc.string({
    unit: fc.constantFrom("A", "b", "z", "7", " ", "-", "_", ".", "é", "ß", "İ", "ﬁ", "\u0301", "日"),
    minLength: 1,
    maxLength: 12,
  });

  it("normalizeToken is idempotent and its output is a valid token", () => {
    fc.assert(
      fc.property(freeText, (raw) => {
        let token: string;
        try {
          token = normalizeToken(raw);
        } catch {
          return;
        }
        expect(REFERENCE_TOKEN.test(token)).toBe(true);
        expect(normalizeToken(token)).toBe(token);
      }),
      { numRuns: 500 },
    );
  });

  it("buildAddress is idempotent on its own output tokens", () => {
    fc.assert(
      fc.property(freeText, freeText, fc.array(freeText, { maxLength: 5 }), (domain, problemClass, extra) => {
        let address: string;
        try {
          address = buildAddress(domain, problemClass, extra);
        } catch {
          return;
        }
        expect(isValidAddress(address)).toBe(true);
        const [, d = "", p = "", ...rest] = address.split(".");
        expect(buildAddress(d, p, rest)).toBe(address);
      }),
      { numRuns: 500 },
    );
  });
});

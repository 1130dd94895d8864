/**
 * The differential fuzzer (issue 19, Deliver 5): mutated packets through the C and the
 * TypeScript verify/unpack paths, which must agree on every verdict and every field; mutated
 * legacy messages through the legacy decoder, whose every packet both paths must accept.
 * Used by test/packet/fuzz-diff.test.ts (a smoke run) and scripts/fuzz-diff.ts (long runs).
 */
import { readFileSync } from "node:fs";
import { backends, PACKET_SIZE, PacketView, UNPACK_STRIDE, type CodecBackend } from "../../src/packet/index.js";
import { decodeLegacy, encodeLegacy, LegacyError } from "../../src/link/legacy/index.js";

export interface FuzzReport {
  inputs: number;
  valid: number;
  verdicts: Record<number, number>;
  legacyInputs: number;
  legacyDecoded: number;
  /** the first disagreement: input hex and what each side said */
  mismatch: { input: string; what: string } | null;
}

/** xorshift32: a fuzz run is reproducible from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** 512-byte seeds from test/vectors (valid ones, and invalid ones of full length). */
export function seeds(): Buffer[] {
  const read = (f: string) => JSON.parse(readFileSync(new URL(`../vectors/${f}`, import.meta.url), "utf8")) as { vectors: { hex: string }[] };
  return [...read("valid.json").vectors, ...read("invalid.json").vectors].map((v) => Buffer.from(v.hex, "hex")).filter((b) => b.length === PACKET_SIZE);
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x2e, 0x3e, 0x2a, 0x20, 0xc0, 0xed, 0xf4];

function mutate(buf: Buffer, next: () => number): void {
  const n = 1 + (next() % 4);
  for (let k = 0; k < n; k++) {
    const r = next();
    const at = (r >>> 8) % buf.length;
    switch (r % 5) {
      case 0:
        buf[at]! ^= 1 << ((r >>> 4) % 8);
        break;
      case 1:
        buf[at] = next() & 0xff;
        break;
      case 2:
        buf[at] = INTERESTING[next() % INTERESTING.length]!;
        break;
      case 3: {
        // A header field (the first 96 bytes hold every number and length).
        const h = at % 96;
        buf[h] = next() & 0xff;
        break;
      }
      default: {
        const len = 1 + (next() % 16);
        for (let i = 0; i < len && at + i < buf.length; i++) buf[at + i] = next() & 0xff;
      }
    }
  }
}

function sameNumbers(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/**
 * Runs `inputs` mutated packets through both backends, and each valid one, as a legacy message,
 * through the legacy decoder.
 * Stops at the first disagreement. Without the addon, only the TypeScript path runs.
 */
export function runDifferential(inputs: number, seed = 1): FuzzReport {
  const next = rng(seed);
  const c: CodecBackend | null = backends.native;
  const ts: CodecBackend = backends.fallback;
  const pool = seeds();
  const buf = Buffer.alloc(PACKET_SIZE);
  const outC = new Float64Array(UNPACK_STRIDE);
  const outT = new Float64Array(UNPACK_STRIDE);
  const report: FuzzReport = { inputs: 0, valid: 0, verdicts: {}, legacyInputs: 0, legacyDecoded: 0, mismatch: null };
  const fail = (what: string, input: Uint8Array): FuzzReport => {
    report.mismatch = { input: Buffer.from(input).toString("hex"), what };
    return report;
  };
  for (let i = 0; i < inputs; i++) {
    pool[next() % pool.length]!.copy(buf);
    mutate(buf, next);
    // Half the inputs are resealed, so that mutations reach the checks behind the CRC.
    if (next() % 2 === 0) ts.seal(buf, 0, 1);
    const vt = ts.verifyOne(buf, 0);
    const vc = c === null ? vt : c.verifyOne(buf, 0);
    report.inputs++;
    report.verdicts[vt] = (report.verdicts[vt] ?? 0) + 1;
    if (vc !== vt) return fail(`verdict: C ${vc}, TypeScript ${vt}`, buf);
    if (vt !== 0) continue;
    report.valid++;
    ts.unpack(buf, 0, 1, outT);
    if (c !== null) {
      c.unpack(buf, 0, 1, outC);
      if (!sameNumbers(outC, outT)) return fail(`unpack: C ${String([...outC])}, TypeScript ${String([...outT])}`, buf);
    }
    // Legacy: our valid packet as a legacy message, mutated (3 times in 4), then decoded again.
    let topic: Uint8Array;
    let payload: Uint8Array;
    try {
      [topic, payload] = encodeLegacy(new PacketView().at(buf, 0));
    } catch (err) {
      // A valid packet whose address has no legacy form (verify does not parse addresses).
      if (err instanceof LegacyError) continue;
      return fail(`encodeLegacy: threw ${String(err)}`, buf);
    }
    const t = Buffer.from(topic);
    const p = Buffer.from(payload);
    const m = next() % 4;
    if (m === 0) mutate(p, next);
    else if (m === 1) mutate(t, next);
    else if (m === 2) p[next() % p.length] = next() & 0xff;
    report.legacyInputs++;
    const out = Buffer.alloc(PACKET_SIZE);
    try {
      decodeLegacy(t, p, out, 0);
    } catch (err) {
      if (!(err instanceof LegacyError)) return fail(`legacy: threw ${String(err)}`, Buffer.concat([t, Buffer.from([0]), p]));
      continue;
    }
    report.legacyDecoded++;
    const lt = ts.verifyOne(out, 0);
    const lc = c === null ? lt : c.verifyOne(out, 0);
    if (lt !== 0 || lc !== 0) return fail(`legacy: decoded a packet with verdicts C ${lc}, TypeScript ${lt}`, Buffer.concat([t, Buffer.from([0]), p]));
  }
  return report;
}

/**
 * `qis-edge selftest`: what a freshly flashed device needs, checked on the device itself, one
 * line per check, exit 0 only when every check passes. Everything it touches is loaded inside
 * the checks (dynamic imports), so that a broken addon or a missing zeromq binary is one FAIL
 * line naming the problem, not a crash before the first line.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UsageError } from "../errors.js";
import { parseCommandArgs } from "./args.js";
import type { CodecBackend } from "../packet/backend.js";
import type { PacketFields } from "../packet/types.js";
import type { CommandContext } from "./main.js";

export const selftestHelp = `Usage: qis-edge selftest [--state-dir DIR] [--require-native] [--timeout MS]

Checks on this device what a flash needs, one line per check ("PASS name: detail",
"FAIL name: why", or "SKIP name: why" for a check with nothing to check here), then a
summary line ("selftest: all 8 checks passed", "selftest: 5 passed, 3 skipped: …" or
"selftest: 1 of 8 checks failed: …"):
  addon            the native addon loads, or the TypeScript fallback is in use (said so)
  layout           the packet layout: 512 bytes, field offsets in order, the addon's struct equal
  vectors/native   test vectors encode to the exact bytes, decode back, invalid ones are refused
                   (SKIP without the addon)
  vectors/fallback the same on the TypeScript backend, and both backends agree byte for byte
  synth            the synthesis engine's C path and TypeScript path reach the same state,
                   bit for bit, on a fixed stream (SKIP without the addon: no C path)
  store            the same for the packet store's insert path (SKIP without the addon)
  zeromq           two agents in this process on loopback TCP: a store round trip (catch-up)
                   and a PUB/SUB delivery
  curve            libzmq has CURVE; two agents with keys exchange a packet over CURVE, and a
                   client whose key is not on the allowlist (ZAP) is refused
  store-file       a file-backed store in the state directory: written, reopened, read back

Options:
      --state-dir DIR    where the store-file check writes (a temporary file, removed after);
                         default $QIS_EDGE_STATE_DIR, else the system's temporary directory
      --require-native   the fallback in use is a FAIL (CI, and devices that ship the addon)
      --timeout MS       how long the zeromq and curve checks may take (default 30000; emulators are slow)
  -h, --help             show this help

Exit status: 0 no check failed (skipped ones are not failures: the fallback is a supported
way to run, unless --require-native), 1 a check failed, 2 usage.
`;

// ---------------------------------------------------------------------------------------------
// Vectors: two valid packets of test/vectors/valid.json (fields and the SHA-256 of their bytes)
// and mutations of the first one from test/vectors/generate.ts (test/ship checks they produce
// the bytes of invalid.json).

const id = (hex: string): Uint8Array => Buffer.from(hex.repeat(32 / hex.length), "hex");

export const VALID_VECTORS: readonly { name: string; fields: PacketFields; sha256: string }[] = [
  {
    name: "minimal",
    fields: { timestampMs: 1_795_000_000_000, ttlS: 3600, nObservations: 42, outcomeDelta: 0.18, confidence: 0.87, seq: 1, nodeId: id("0123456789abcdef"), address: "qis.hvac.energy-anomaly" },
    sha256: "18924412b392dedf1dcc680c72f29b45c8c8c08c3a2b18d5a0143e7e4812ceb5",
  },
  {
    name: "full",
    fields: {
      flags: 2,
      hops: 3,
      timestampMs: 1_795_000_123_456,
      ttlS: 86_400,
      nObservations: 1_000_000,
      outcomeDelta: -0.4375,
      confidence: 0.999,
      seq: 9_007_199_254_740_991 - 7,
      nodeId: id("fedcba9876543210"),
      address: "qis.iot.predictive-maintenance.bearing-wear.dm0_4",
      contextHash: id("a5"),
      context: [0, 1, -1, 0.5, -0.25, 3.4028234663852886e38, -1.401298464324817e-45, 1e-3, 7, 8, 9, 10, 11, 12, 13, 14],
      conclusion: "Bearing wear ↑ on pump 3 (Ø 40 mm) — schedule inspection ✓",
    },
    sha256: "8a76f2825fd980b601d11125df8a1294e55f0b58c07fa5084e3dbc06eae3aec4",
  },
];

/** Offsets used by the mutations (checked against layout.ts by the layout check). */
const AT = { flags: 4, outcome_delta: 24, address_hash: 56, crc32c: 508 } as const;

/** name, expected code, mutation of the minimal packet, reseal the CRC after it */
export const INVALID_VECTORS: readonly { name: string; code: string; mutate: (b: Buffer) => Buffer; reseal: boolean }[] = [
  { name: "short-511", code: "ERR_PACKET_LENGTH", mutate: (b) => b.subarray(0, 511), reseal: false },
  { name: "crc-flipped-byte", code: "ERR_PACKET_CRC", mutate: (b) => ((b[100]! ^= 0x01), b), reseal: false },
  { name: "magic", code: "ERR_PACKET_MAGIC", mutate: (b) => ((b[0] = 0x58), b), reseal: true },
  { name: "flags-unknown-bit", code: "ERR_PACKET_FLAGS", mutate: (b) => (b.writeUInt16LE(0x0008, AT.flags), b), reseal: true },
  { name: "delta-nan", code: "ERR_PACKET_NOT_FINITE", mutate: (b) => (b.writeUInt32LE(0x7fc00000, AT.outcome_delta), b), reseal: true },
  { name: "address-hash", code: "ERR_PACKET_ADDRESS_HASH", mutate: (b) => ((b[AT.address_hash + 15]! ^= 0x01), b), reseal: true },
];

/** The invalid vectors' bytes, built with `crc32c` for the reseal (test/ship compares them with invalid.json). */
export function invalidVectorBytes(minimal: Buffer, crc32c: (b: Uint8Array, offset: number, length: number) => number): { name: string; code: string; bytes: Buffer }[] {
  return INVALID_VECTORS.map((v) => {
    const b = v.mutate(Buffer.from(minimal));
    if (v.reseal) b.writeUInt32LE(crc32c(b, 0, AT.crc32c) >>> 0, AT.crc32c);
    return { name: v.name, code: v.code, bytes: b };
  });
}

// ---------------------------------------------------------------------------------------------

interface Check {
  name: string;
  outcome: "PASS" | "FAIL" | "SKIP";
  detail: string;
}

/** What a check returns when there is nothing for it to check on this device. */
class Skipped {
  constructor(readonly why: string) {}
}

class CheckFailed extends Error {}
const fail = (why: string): never => {
  throw new CheckFailed(why);
};
const firstLine = (e: unknown): string => {
  const err = e as { code?: unknown; message?: unknown };
  const msg = String(err?.message ?? e).split("\n")[0]!;
  return typeof err?.code === "string" && !msg.startsWith(err.code) ? `${err.code}: ${msg}` : msg;
};

async function vectorsOn(backend: CodecBackend): Promise<string> {
  const { PacketCodec, PACKET_SIZE, PacketError } = await import("../packet/index.js");
  const codec = PacketCodec.using(backend);
  let minimal: Buffer | undefined;
  for (const v of VALID_VECTORS) {
    const buf = Buffer.alloc(PACKET_SIZE, 0xee);
    codec.encode(v.fields, buf);
    const digest = createHash("sha256").update(buf).digest("hex");
    if (digest !== v.sha256) fail(`${v.name}: encoded bytes differ from the vector (sha256 ${digest.slice(0, 12)}…)`);
    const p = codec.decode(buf);
    const f = v.fields;
    if (p.address !== f.address || p.seq !== f.seq || p.timestampMs !== f.timestampMs || p.nObservations !== f.nObservations || p.outcomeDelta !== Math.fround(f.outcomeDelta) || p.confidence !== Math.fround(f.confidence) || (p.conclusion ?? "") !== (f.conclusion ?? "") || !Buffer.from(p.nodeId).equals(Buffer.from(f.nodeId)))
      fail(`${v.name}: decoded fields differ from the vector`);
    minimal ??= buf;
  }
  const invalid = invalidVectorBytes(minimal!, (b, o, l) => codec.crc32c(b, o, l));
  for (const v of invalid) {
    let code = "none";
    try {
      codec.verify(v.bytes);
    } catch (e) {
      code = e instanceof PacketError ? e.code : `not a PacketError (${firstLine(e)})`;
    }
    if (code !== v.code) fail(`${v.name}: expected ${v.code}, got ${code}`);
  }
  return `${VALID_VECTORS.length} valid encoded/decoded exactly, ${invalid.length} invalid refused with their codes`;
}

/** Both backends must produce the same bytes for the same fields (beyond the fixed vectors). */
async function agree(a: CodecBackend, b: CodecBackend): Promise<void> {
  const { PacketCodec, PACKET_SIZE } = await import("../packet/index.js");
  const ca = PacketCodec.using(a);
  const cb = PacketCodec.using(b);
  const x = Buffer.alloc(PACKET_SIZE);
  const y = Buffer.alloc(PACKET_SIZE);
  for (let i = 0; i < 64; i++) {
    const fields: PacketFields = {
      timestampMs: 1_795_000_000_000 + i * 7919,
      ttlS: i * 60,
      nObservations: i * 31,
      outcomeDelta: Math.sin(i),
      confidence: (i % 10) / 10,
      seq: i,
      nodeId: id((i * 2654435761 >>> 0).toString(16).padStart(8, "0")),
      address: `qis.selftest.case-${i}.${"é".repeat(i % 5)}x`,
      context: Array.from({ length: i % 17 }, (_, k) => k / (i + 1)),
      conclusion: "✓".repeat(i % 60),
    };
    ca.encode(fields, x);
    cb.encode(fields, y);
    if (!x.equals(y)) fail(`${a.name} and ${b.name} encode case ${i} differently`);
    if (ca.verdict(y) !== 0 || cb.verdict(x) !== 0) fail(`case ${i}: one backend refuses the other's packet`);
  }
}

async function checkAddon(requireNative: boolean): Promise<string> {
  const { codecInfo, nativeStatus } = await import("../packet/index.js");
  const info = codecInfo();
  if (nativeStatus.loaded) return `native addon loaded from ${nativeStatus.path} (CRC-32C: ${nativeStatus.crc})`;
  const why = `TypeScript fallback in use: ${nativeStatus.reason || "no addon"}`;
  if (requireNative) fail(`${why} (--require-native)`);
  return `${why}; identical bytes, only slower (ops: ${[...new Set(Object.values(info.ops))].join(", ")})`;
}

async function checkLayout(): Promise<string> {
  const { OFFSETS, PACKET_SIZE, CRC_COVERED, nativeStatus } = await import("../packet/index.js");
  if (PACKET_SIZE !== 512) fail(`PACKET_SIZE is ${PACKET_SIZE}, expected 512`);
  if (CRC_COVERED !== 508 || OFFSETS.crc32c !== 508) fail(`the CRC-32C is at ${OFFSETS.crc32c} covering ${CRC_COVERED} bytes, expected 508/508`);
  const entries = Object.entries(OFFSETS) as [string, number][];
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]![1] <= entries[i - 1]![1]) fail(`offset of ${entries[i]![0]} (${entries[i]![1]}) is not after ${entries[i - 1]![0]} (${entries[i - 1]![1]})`);
  }
  for (const [k, v] of Object.entries(AT)) if ((OFFSETS as Record<string, number>)[k] !== v) fail(`selftest expects ${k} at ${v}, layout.ts says ${(OFFSETS as Record<string, number>)[k]}`);
  // The addon's sizeof/offsetof were compared with these at load (ERR_NATIVE_LAYOUT otherwise).
  return `${entries.length} fields in 512 bytes, CRC-32C over 508${nativeStatus.loaded ? "; the addon's struct matches (checked at load)" : ""}`;
}

async function checkVectors(which: "native" | "fallback"): Promise<string | Skipped> {
  const { backends } = await import("../packet/index.js");
  const backend = backends[which];
  if (backend === null) return new Skipped("the native addon is not loaded (see addon)");
  const detail = await vectorsOn(backend);
  if (which === "fallback" && backends.native !== null) {
    await agree(backends.native, backends.fallback);
    return `${detail}; 64 random packets byte-identical to native`;
  }
  return detail;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailed(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function checkZeromq(timeoutMs: number): Promise<string> {
  const zmq = await import("zeromq");
  const { createAgent } = await import("../agent/agent.js");
  const { resolveConfig } = await import("../agent/config.js");
  const dirs: string[] = [];
  const agents: { close(): Promise<void> }[] = [];
  let stage = "starting agent A";
  try {
    const config = (extra: Record<string, unknown>) => {
      const dir = mkdtempSync(join(tmpdir(), "qis-selftest-"));
      dirs.push(dir);
      return resolveConfig({ stateDir: dir, log: { level: "silent" }, pub: { bind: "tcp://127.0.0.1:*" }, store: { bind: "tcp://127.0.0.1:*", capacity: 64 }, subscribe: ["qis.selftest.>"], ...extra }, { env: {} });
    };
    const run = async (): Promise<string> => {
      const a = await createAgent(config({}));
      agents.push(a);
      const obs = (delta: number) => ({ domain: "selftest", problemClass: "loopback", outcomeDelta: delta, confidence: 0.5, nObservations: 1 });
      const first = a.observe(obs(0.25));
      stage = "starting agent B";
      const b = await createAgent(config({ peers: [{ name: "a", pub: a.endpoints.pub, store: a.endpoints.store }] }));
      agents.push(b);
      const has = (seq: number) => b.store.collect("qis.selftest.>").some((p) => p.packet.readBigUInt64LE(32) === BigInt(seq) && p.packet.subarray(40, 56).equals(a.nodeIdBytes));
      const until = async (cond: () => boolean) => {
        while (!cond()) await new Promise((r) => setTimeout(r, 10));
      };
      stage = `B catching up A's packet seq ${first.seq} from A's store (${a.endpoints.store})`;
      await until(() => has(first.seq) && b.peers[0]!.up);
      stage = `B receiving A's next packet over PUB/SUB (${a.endpoints.pub})`;
      const live = a.observe(obs(-0.5));
      await until(() => has(live.seq));
      const c = b.peers[0]!.counters;
      return `libzmq ${zmq.version}: store round trip (${c.caughtUpPackets} caught up) and PUB/SUB delivery (${c.packets} live) between two agents on ${a.endpoints.pub.replace(/:\d+$/, "")}`;
    };
    return await withTimeout(run(), timeoutMs, () => stage);
  } finally {
    for (const a of agents.reverse()) await a.close().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

async function checkCurve(timeoutMs: number): Promise<string> {
  const zmq = await import("zeromq");
  if (!zmq.capability.curve) fail(`libzmq ${zmq.version} has no CURVE (zmq.capability.curve is false): links cannot be secured`);
  const { createAgent } = await import("../agent/agent.js");
  const { resolveConfig } = await import("../agent/config.js");
  const dirs: string[] = [];
  const closers: (() => Promise<void> | void)[] = [];
  let stage = "starting agent A with CURVE";
  try {
    const dir = (): string => {
      const d = mkdtempSync(join(tmpdir(), "qis-selftest-"));
      dirs.push(d);
      return d;
    };
    const stranger = zmq.curveKeyPair();
    const run = async (): Promise<string> => {
      const a = await createAgent(resolveConfig({ stateDir: dir(), log: { level: "silent" }, store: { capacity: 64 }, security: { mode: "curve" } }, { env: {} }));
      closers.push(() => a.close());
      const aKey = a.stats().security.publicKey!;
      a.observe({ domain: "selftest", problemClass: "curve", outcomeDelta: 0.25, confidence: 0.5, nObservations: 1 });
      stage = "starting agent B with CURVE, A as its peer";
      const bDir = dir();
      const b = await createAgent(
        resolveConfig({ stateDir: bDir, log: { level: "silent" }, store: { capacity: 64 }, security: { mode: "curve" }, peers: [{ name: "a", pub: a.endpoints.pub, store: a.endpoints.store, publicKey: aKey }] }, { env: {} }),
      );
      closers.push(() => b.close());
      // A lets B in only once B's key is on its allowlist (as a configured peer, or allow).
      a.addPeer({ name: "b", pub: b.endpoints.pub, store: null, publicKey: b.stats().security.publicKey! });
      stage = `B catching up A's packet over CURVE (${a.endpoints.store})`;
      while (b.store.collect("qis.selftest.>").length === 0) await new Promise((r) => setTimeout(r, 10));
      stage = "a client with a key not on A's allowlist";
      const d = new zmq.Dealer({ linger: 0, curveServerKey: aKey, curvePublicKey: stranger.publicKey, curveSecretKey: stranger.secretKey });
      closers.push(() => d.close());
      d.connect(a.endpoints.store!);
      while ((a.stats().security.deniedKeys[stranger.publicKey] ?? 0) === 0) await new Promise((r) => setTimeout(r, 10));
      return `CURVE round trip between two agents; an unknown client key was refused by the allowlist`;
    };
    return await withTimeout(run(), timeoutMs, () => stage);
  } finally {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

async function checkStoreFile(stateDir: string): Promise<string> {
  const { PacketStore } = await import("../store/index.js");
  const { codec, PACKET_SIZE } = await import("../packet/index.js");
  let dir: string;
  try {
    dir = mkdtempSync(join(stateDir, ".selftest-"));
  } catch (e) {
    return fail(`cannot create a directory in ${stateDir}: ${firstLine(e)}`);
  }
  const file = join(dir, "store.bin");
  try {
    const buf = Buffer.alloc(PACKET_SIZE);
    codec.encode({ ...VALID_VECTORS[0]!.fields, timestampMs: Date.now(), ttlS: 0 }, buf);
    const s1 = new PacketStore({ capacity: 16, file, syncWrites: true });
    s1.insert(buf);
    s1.close();
    const s2 = new PacketStore({ capacity: 16, file });
    const back = s2.collect(null);
    s2.close();
    if (back.length !== 1 || !Buffer.from(back[0]!.packet).equals(buf)) fail(`reopened ${file}: expected the packet back, found ${back.length} packets`);
    return `wrote, synced, reopened and read back a store file in ${stateDir}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function selftest(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs("selftest", argv, {
    "state-dir": { type: "string" },
    "require-native": { type: "boolean" },
    timeout: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    ctx.stdout.write(selftestHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`selftest takes no arguments, got "${positionals[0]}"`);
  const timeoutMs = values.timeout === undefined ? 30_000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout: "${values.timeout}" is not a positive integer of ms`);
  const stateDir = resolve(values["state-dir"] ?? (process.env.QIS_EDGE_STATE_DIR || tmpdir()));

  const noCPath = new Skipped("the native addon is not loaded: no C path to compare the TypeScript path with");
  const checks: [string, () => Promise<string | Skipped>][] = [
    ["addon", () => checkAddon(values["require-native"] === true)],
    ["layout", checkLayout],
    ["vectors/native", () => checkVectors("native")],
    ["vectors/fallback", () => checkVectors("fallback")],
    ["synth", async () => ((await import("../synth/native.js")).NATIVE_SYNTH ? (await import("../synth/selfcheck.js")).compareSynthPaths() : noCPath)],
    ["store", async () => ((await import("../store/native.js")).NATIVE_STORE ? (await import("../store/selfcheck.js")).compareStorePaths() : noCPath)],
    ["zeromq", () => checkZeromq(timeoutMs)],
    ["curve", () => checkCurve(timeoutMs)],
    ["store-file", () => checkStoreFile(stateDir)],
  ];
  const results: Check[] = [];
  for (const [name, run] of checks) {
    let r: Check;
    try {
      const done = await run();
      r = done instanceof Skipped ? { name, outcome: "SKIP", detail: done.why } : { name, outcome: "PASS", detail: done };
    } catch (e) {
      r = { name, outcome: "FAIL", detail: firstLine(e) };
    }
    results.push(r);
    ctx.stdout.write(`${r.outcome} ${name}: ${r.detail}\n`);
  }
  ctx.stdout.write(`${summary(results)}\n`);
  return results.some((r) => r.outcome === "FAIL") ? 1 : 0;
}

/** A skipped check is neither passed nor failed: counted apart, and named. */
function summary(results: readonly Check[]): string {
  const named = (outcome: Check["outcome"]) => results.filter((r) => r.outcome === outcome).map((r) => r.name);
  const [passed, failed, skipped] = [named("PASS"), named("FAIL"), named("SKIP")];
  const where = `node ${process.version}, ${process.platform}-${process.arch}`;
  const skips = skipped.length > 0 ? `${skipped.length} skipped: ${skipped.join(", ")}` : "";
  if (failed.length > 0) return `selftest: ${failed.length} of ${results.length} checks failed: ${failed.join(", ")} (${passed.length} passed${skips ? `, ${skips}` : ""})`;
  if (skipped.length === 0) return `selftest: all ${results.length} checks passed (${where})`;
  return `selftest: ${passed.length} passed, ${skips} (${where})`;
}

/**
 * The engine's configuration: defaults, bounds, and validation at construction
 * (docs/synth.md, "Configuration"). Every problem is an ERR_SYNTH_CONFIG naming the key, what
 * was expected and what was found.
 */
import { ID_SIZE, U64_MAX_SAFE } from "../packet/layout.js";
import { DEFAULTS } from "./defaults.js";
import type { SynthPacket } from "./types.js";
import { describeValue, SynthError, SynthErrorCode } from "./errors.js";

export interface SynthConfig {
  /** This node's 16-byte id: written into synthesized packets; its own synthesized packets are ignored. Required. */
  nodeId: Uint8Array;
  /** The clock, ms since the Unix epoch. Default `Date.now`. */
  now?: () => number;
  /** Distinct addresses held at once (1..1,048,576; default 1024). */
  maxAddresses?: number;
  /** Live contributions held at once (1..16,777,216; default 16,384). */
  maxContributions?: number;
  /** Distinct nodes with a live contribution, over all addresses (1..1,048,576; default 4096). */
  maxNodes?: number;
  /** Distinct contributing nodes per address (1..1024; default 32). */
  maxNodesPerAddress?: number;
  /** Largest hop count accepted and emitted (0..255; default 3). 0 = never re-synthesize. */
  maxHops?: number;
  /** A domain's consensus alerts when strength is strictly above this (0..1; default 0.6; 1 never alerts). */
  alertThreshold?: number;
  /** k in confidence = (1 − exp(−W/k)) × (1 − σ) (finite, > 0; default 10). */
  confidenceScale?: number;
  /** Emit only when |estimate − last emitted estimate| ≥ this (0..2; default 0.05). */
  minDelta?: number;
  /** At least this many ms between two emissions for one address (≥ 0; default 1000). */
  minIntervalMs?: number;
  /** Emit only for addresses with at least this many distinct contributing nodes (1..maxNodesPerAddress; default 2). */
  minContributors?: number;
  /** ttl_s of synthesized packets (0..2^32 − 1; default 3600; 0 = never expires). */
  ttlS?: number;
  /** The caller's sequence counter, shared with the node's other packets. Without it the engine counts from `seqStart`. */
  nextSeq?: () => number;
  /** First seq of the engine's own counter (0..2^53 − 1; default 0). Not with `nextSeq`. */
  seqStart?: number;
  /**
   * Called synchronously for every synthesized packet. The object is reused: read it (or
   * `codec.encode` it) during the call, do not keep it. With `onEmit`, nothing is queued for `drain()`.
   */
  onEmit?: (packet: Readonly<SynthPacket>) => void;
  /**
   * Add packets with the native addon's C path when it is loaded (default true). Both paths
   * give the same state to the bit (src/synth/native.ts); false is for comparing them.
   */
  native?: boolean;
  /**
   * The seed of the engine's hash tables (an int32; default: random per engine, so that peers
   * cannot aim collisions at them). Fix it only to make two engines' states comparable.
   */
  seed?: number;
}

export interface ResolvedConfig {
  readonly nodeId: Uint8Array;
  readonly now: () => number;
  readonly maxAddresses: number;
  readonly maxContributions: number;
  readonly maxNodes: number;
  readonly maxNodesPerAddress: number;
  readonly maxHops: number;
  readonly alertThreshold: number;
  readonly confidenceScale: number;
  readonly minDelta: number;
  readonly minIntervalMs: number;
  readonly minContributors: number;
  readonly ttlS: number;
  readonly nextSeq: (() => number) | undefined;
  readonly seqStart: number;
  readonly onEmit: ((packet: Readonly<SynthPacket>) => void) | undefined;
  readonly native: boolean;
  readonly seed: number | undefined;
}

export { DEFAULTS } from "./defaults.js";

const KEYS = [
  "nodeId",
  "now",
  "maxAddresses",
  "maxContributions",
  "maxNodes",
  "maxNodesPerAddress",
  "maxHops",
  "alertThreshold",
  "confidenceScale",
  "minDelta",
  "minIntervalMs",
  "minContributors",
  "ttlS",
  "nextSeq",
  "seqStart",
  "onEmit",
  "native",
  "seed",
] as const;

function fail(key: string, expected: string, found: unknown): never {
  const f = describeValue(found);
  throw new SynthError(SynthErrorCode.CONFIG, `config.${key}: expected ${expected}, found ${f}`, { key, expected, found: f });
}

function int(c: Record<string, unknown>, key: string, min: number, max: number, dflt: number): number {
  const v = c[key];
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    fail(key, `an integer in ${min}..${max}`, v);
  return v;
}

function real(c: Record<string, unknown>, key: string, ok: (v: number) => boolean, expected: string, dflt: number): number {
  const v = c[key];
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) fail(key, expected, v);
  return v;
}

function fn<T>(c: Record<string, unknown>, key: string): T | undefined {
  const v = c[key];
  if (v === undefined) return undefined;
  if (typeof v !== "function") fail(key, "a function", v);
  return v as T;
}

/** Validates a configuration and fills in the defaults. */
export function resolveConfig(config: unknown): ResolvedConfig {
  if (config === null || typeof config !== "object" || Array.isArray(config)) fail("(config)", "an object", config);
  const c = config as Record<string, unknown>;
  for (const k of Object.keys(c)) {
    if (!(KEYS as readonly string[]).includes(k)) fail(k, `no such key (known: ${KEYS.join(", ")})`, c[k]);
  }
  const id = c.nodeId;
  if (!(id instanceof Uint8Array) || id.length !== ID_SIZE) fail("nodeId", `a Uint8Array of ${ID_SIZE} bytes`, id);
  const now = fn<() => number>(c, "now") ?? Date.now;
  const maxAddresses = int(c, "maxAddresses", 1, 1 << 20, DEFAULTS.maxAddresses);
  const maxContributions = int(c, "maxContributions", 1, 1 << 24, DEFAULTS.maxContributions);
  const maxNodes = int(c, "maxNodes", 1, 1 << 20, DEFAULTS.maxNodes);
  const maxNodesPerAddress = int(c, "maxNodesPerAddress", 1, 1024, DEFAULTS.maxNodesPerAddress);
  const maxHops = int(c, "maxHops", 0, 255, DEFAULTS.maxHops);
  const alertThreshold = real(c, "alertThreshold", (v) => v >= 0 && v <= 1, "a finite number in 0..1", DEFAULTS.alertThreshold);
  const confidenceScale = real(c, "confidenceScale", (v) => v > 0, "a finite number greater than 0", DEFAULTS.confidenceScale);
  const minDelta = real(c, "minDelta", (v) => v >= 0 && v <= 2, "a finite number in 0..2", DEFAULTS.minDelta);
  const minIntervalMs = real(c, "minIntervalMs", (v) => v >= 0, "a finite number of ms, at least 0", DEFAULTS.minIntervalMs);
  // The default (2) is lowered to maxNodesPerAddress when that is 1; an explicit value must fit.
  const minContributors = int(c, "minContributors", 1, maxNodesPerAddress, Math.min(DEFAULTS.minContributors, maxNodesPerAddress));
  const ttlS = int(c, "ttlS", 0, 0xffff_ffff, DEFAULTS.ttlS);
  const nextSeq = fn<() => number>(c, "nextSeq");
  const seqStart = int(c, "seqStart", 0, U64_MAX_SAFE, DEFAULTS.seqStart);
  if (nextSeq !== undefined && c.seqStart !== undefined) fail("seqStart", "no seqStart when nextSeq is given (the caller owns the counter)", c.seqStart);
  const onEmit = fn<(packet: Readonly<SynthPacket>) => void>(c, "onEmit");
  const native = c.native ?? true;
  if (typeof native !== "boolean") fail("native", "a boolean", native);
  const seed = c.seed === undefined ? undefined : int(c, "seed", -0x8000_0000, 0x7fff_ffff, 0);
  return {
    nodeId: Uint8Array.from(id),
    now,
    maxAddresses,
    maxContributions,
    maxNodes,
    maxNodesPerAddress,
    maxHops,
    alertThreshold,
    confidenceScale,
    minDelta,
    minIntervalMs,
    minContributors,
    ttlS,
    nextSeq,
    seqStart,
    onEmit,
    native,
    seed,
  };
}

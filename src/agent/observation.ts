/**
 * An observation: what local sensing has distilled, before it becomes a packet. The schema is
 * shared by `qis-edge pack`, the agent's observe() and the stdio protocol.
 */
import { randomBytes } from "node:crypto";
import Type, { type Static } from "typebox";
import { Compile } from "typebox/compile";
import { AddressError, buildAddress } from "../address/index.js";
import { QisError } from "../errors.js";
import { CONTEXT_MAX, ID_SIZE, U64_MAX_SAFE, type PacketFields } from "../packet/index.js";

const Hex16 = Type.String({ pattern: "^[0-9a-fA-F]{32}$", description: "16 bytes as 32 hex digits" });

export const ObservationSchema = Type.Object(
  {
    domain: Type.String({ minLength: 1, maxLength: 256, description: "e.g. hvac, iot" }),
    problemClass: Type.String({ minLength: 1, maxLength: 256, description: "e.g. energy-anomaly" }),
    tokens: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 5, description: "further address tokens" })),
    outcomeDelta: Type.Number({ minimum: -1, maximum: 1 }),
    confidence: Type.Number({ minimum: 0, maximum: 1 }),
    nObservations: Type.Integer({ minimum: 0, maximum: 0xffff_ffff }),
    timestampMs: Type.Optional(Type.Integer({ minimum: 0, maximum: U64_MAX_SAFE, description: "default: now" })),
    ttlS: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff_ffff, description: "default 3600; 0 = never expires" })),
    nodeId: Type.Optional(Hex16),
    seq: Type.Optional(Type.Integer({ minimum: 0, maximum: U64_MAX_SAFE })),
    context: Type.Optional(Type.Array(Type.Number(), { maxItems: CONTEXT_MAX })),
    conclusion: Type.Optional(Type.String({ description: "cut to 172 bytes of UTF-8" })),
    contextHash: Type.Optional(Hex16),
  },
  { additionalProperties: false },
);

export type Observation = Static<typeof ObservationSchema>;

export const DEFAULT_TTL_S = 3600;

export interface ObservationProblem {
  /** JSON pointer into the observation, "" for the whole */
  path: string;
  message: string;
}

export class ObservationError extends QisError {
  readonly problems: ObservationProblem[];
  constructor(problems: ObservationProblem[], options?: { cause?: unknown }) {
    super("ERR_OBSERVATION", `invalid observation: ${problems.map((p) => `${p.path || "/"} ${p.message}`).join("; ")}`, options);
    this.problems = problems;
  }
}

/**
 * Compiled on first use: an agent that is never given a local observation (a plain `run`, a
 * relay) never pays for the generated code (docs/devices.md, "Idle memory").
 */
const compileValidator = () => Compile(ObservationSchema);
let validator: ReturnType<typeof compileValidator> | undefined;

/** Validates untrusted input; every problem is listed, not just the first. */
export function parseObservation(value: unknown): Observation {
  const v = (validator ??= compileValidator());
  if (v.Check(value)) return value;
  const problems = v.Errors(value).map((e) => ({
    path: e.instancePath,
    message: e.keyword === "additionalProperties" ? `${e.message}: ${(e.params as { additionalProperties?: string[] }).additionalProperties?.join(", ")}` : e.message,
  }));
  // additionalProperties reports each unknown key twice (as a false schema and as a list).
  throw new ObservationError(problems.filter((p, i) => !(p.message === "schema is false" && problems.some((q, j) => j !== i && q.message.includes("additional")))));
}

/** Address token i came from: 1 domain, 2 problemClass, 3.. tokens (0 is the fixed "qis"). */
function addressPartPath(tokenIndex: number | undefined): string {
  if (tokenIndex === 1) return "/domain";
  if (tokenIndex === 2) return "/problemClass";
  if (tokenIndex !== undefined && tokenIndex >= 3) return `/tokens/${tokenIndex - 3}`;
  return "";
}

export interface Identity {
  nodeId: Uint8Array;
  seq: number;
}

/**
 * The packet fields for an observation: its address from domain + problem class (+ tokens),
 * identity from the observation when it names one, else from `identity`.
 */
/**
 * Addresses built lately, by their raw parts: normalising (NFKD, lower case, charset checks)
 * costs microseconds and a sensor sends the same few problem types again and again. Bounded:
 * cleared when full. Only valid addresses are kept (errors are thrown each time).
 */
const ADDRESS_CACHE_MAX = 1024;
const addressCache = new Map<string, string>();

function addressOf(o: Observation): string {
  const tokens = o.tokens;
  // Length-prefixed parts: no two different part lists give the same key, whatever they contain.
  let key = `${o.domain.length}:${o.domain}${o.problemClass.length}:${o.problemClass}`;
  if (tokens !== undefined) for (const t of tokens) key += `${t.length}:${t}`;
  let address = addressCache.get(key);
  if (address === undefined) {
    address = buildAddress(o.domain, o.problemClass, tokens ?? []);
    if (addressCache.size >= ADDRESS_CACHE_MAX) addressCache.clear();
    addressCache.set(key, address);
  }
  return address;
}

export function observationToFields(o: Observation, identity?: Identity, now: number = Date.now()): PacketFields {
  let address: string;
  try {
    address = addressOf(o);
  } catch (e) {
    if (!(e instanceof AddressError)) throw e;
    throw new ObservationError([{ path: addressPartPath(e.tokenIndex), message: e.message }], { cause: e });
  }
  const fields: PacketFields = {
    timestampMs: o.timestampMs ?? now,
    ttlS: o.ttlS ?? DEFAULT_TTL_S,
    nObservations: o.nObservations,
    outcomeDelta: o.outcomeDelta,
    confidence: o.confidence,
    seq: o.seq ?? identity?.seq ?? 0,
    nodeId: o.nodeId !== undefined ? Buffer.from(o.nodeId, "hex") : (identity?.nodeId ?? randomBytes(ID_SIZE)),
    address,
  };
  if (o.context !== undefined) fields.context = o.context;
  if (o.conclusion !== undefined) fields.conclusion = o.conclusion;
  if (o.contextHash !== undefined) fields.contextHash = Buffer.from(o.contextHash, "hex");
  return fields;
}

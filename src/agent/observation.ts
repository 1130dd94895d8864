/**
 * An observation: what local sensing has distilled, before it becomes a packet. The schema
 * (src/agent/observation-schema.ts) is shared by `qis-edge pack`, the agent's observe() and the
 * stdio protocol.
 */
import { randomBytes } from "../util/random.js";
import { AddressError, buildAddress } from "../address/index.js";
import { QisError } from "../errors.js";
import { findTextFault, textRule, type TextKind } from "../util/text.js";
import { ID_SIZE, type PacketFields } from "../packet/index.js";
import type { Observation } from "./observation-schema.js";
import { observationSchema } from "./schemas.js";

export type { Observation } from "./observation-schema.js";

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
 * Validates untrusted input; every problem is listed, not just the first. The schema (and
 * typebox) is loaded on the first call: an agent that is never given a local observation (a
 * plain `run`, a relay) never pays for it (docs/devices.md, "Idle memory").
 */
export function parseObservation(value: unknown): Observation {
  const problems = observationSchema().observationProblems(value);
  if (problems !== null) throw new ObservationError(problems);
  const o = value as Observation;
  const text = textProblems(o);
  if (text !== null) throw new ObservationError(text);
  return o;
}

/**
 * Control characters and lone surrogates in the text fields (docs/stdio.md, "Text fields"):
 * none at all in the address parts, only tab, LF and CR in the conclusion (prose may have
 * lines). JSON and CBOR can carry a NUL; the address would have made a quiet `-` of it.
 */
function textProblems(o: Observation): ObservationProblem[] | null {
  let problems: ObservationProblem[] | null = null;
  const check = (s: string, path: string, kind: TextKind): void => {
    const fault = findTextFault(s, kind);
    if (fault === null) return;
    (problems ??= []).push({ path, message: `contains ${fault.what}: expected ${textRule(kind)}` });
  };
  check(o.domain, "/domain", "identifier");
  check(o.problemClass, "/problemClass", "identifier");
  if (o.tokens !== undefined) for (let i = 0; i < o.tokens.length; i++) check(o.tokens[i]!, `/tokens/${i}`, "identifier");
  if (o.conclusion !== undefined) check(o.conclusion, "/conclusion", "prose");
  return problems;
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

/**
 * The packet fields for an observation: its address from domain + problem class (+ tokens),
 * identity from the observation when it names one, else from `identity`.
 */
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

/**
 * The TypeBox schema of an observation and its compiled check. Reached only through
 * src/agent/schemas.ts, so that an agent never given an observation never loads typebox.
 */
import Type, { type Static } from "typebox";
import { Compile } from "typebox/compile";
import { CONTEXT_MAX, U64_MAX_SAFE } from "../packet/layout.js";
import type { ObservationProblem } from "./observation.js";

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

/** Compiled on first use (`qis-edge pack` and an agent's first observation). */
const compileValidator = () => Compile(ObservationSchema);
let validator: ReturnType<typeof compileValidator> | undefined;

/** null for a valid observation, else every problem (not just the first). */
export function observationProblems(value: unknown): ObservationProblem[] | null {
  const v = (validator ??= compileValidator());
  if (v.Check(value)) return null;
  const problems = v.Errors(value).map((e) => ({
    path: e.instancePath,
    message: e.keyword === "additionalProperties" ? `${e.message}: ${(e.params as { additionalProperties?: string[] }).additionalProperties?.join(", ")}` : e.message,
  }));
  // additionalProperties reports each unknown key twice (as a false schema and as a list).
  return problems.filter((p, i) => !(p.message === "schema is false" && problems.some((q, j) => j !== i && q.message.includes("additional"))));
}

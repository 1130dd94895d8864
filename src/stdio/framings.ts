/**
 * The names of the stdio framings, apart from their implementations (framing.ts, which loads
 * cbor-x): `qis-edge run` checks --framing with this list and loads the stdio code only with --stdio.
 */
export type Framing = "ndjson" | "cbor";
export const FRAMINGS: readonly Framing[] = ["ndjson", "cbor"];

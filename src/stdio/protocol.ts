/**
 * The stdio protocol's requests (docs/stdio.md): one TypeBox schema per op, compiled once.
 * `observe` carries the observation's fields next to `op` and `id`; they are validated by the
 * agent's own observation schema (src/agent/observation.ts), so that the JSON paths of its
 * problems are the same as in the request.
 */
import Type, { type Static, type TSchema } from "typebox";
import { Compile } from "typebox/compile";

export const PROTOCOL_VERSION = 1;

/** Most packets one `query` returns. */
export const QUERY_LIMIT_MAX = 1000;
export const QUERY_LIMIT_DEFAULT = 100;
/** Least period of `stats {every}` in ms (0 turns it off). */
export const STATS_EVERY_MIN = 100;

export const OPS = ["observe", "query", "subscribe", "unsubscribe", "stats", "flush", "shutdown"] as const;
export type Op = (typeof OPS)[number];

/** Stable codes of `error` events caused by a request (the agent's own codes pass through too). */
export const ErrorCode = {
  /** not JSON / not CBOR, an empty or truncated frame */
  SYNTAX: "ERR_STDIO_SYNTAX",
  /** longer than MAX_MESSAGE_BYTES */
  OVERSIZE: "ERR_STDIO_OVERSIZE",
  /** invalid UTF-8 in the line (ndjson) or in a text string (cbor); problems: the field, when known */
  UTF8: "ERR_STDIO_UTF8",
  /** valid JSON/CBOR, but not an object/map */
  NOT_OBJECT: "ERR_STDIO_NOT_OBJECT",
  /** `op` missing, not a string, or not one of OPS */
  OP: "ERR_STDIO_OP",
  /** a field of the request has the wrong type or is out of range (problems: JSON paths) */
  REQUEST: "ERR_STDIO_REQUEST",
} as const;

/** `id`: echoed back in the ack or error; a string or an integer. */
export const IdSchema = Type.Union([Type.String({ maxLength: 256 }), Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER })]);
export type RequestId = Static<typeof IdSchema>;

const Pattern = Type.String({ minLength: 1, maxLength: 256, description: 'an address pattern, e.g. "qis.hvac.>"' });
const base = <O extends Op>(op: O) => ({ op: Type.Literal(op), id: Type.Optional(IdSchema) });

export const QueryRequest = Type.Object(
  {
    ...base("query"),
    pattern: Type.Optional(Type.Union([Pattern, Type.Null()], { description: "null or absent: every packet" })),
    since: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "store cursor, exclusive; default 0" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: QUERY_LIMIT_MAX, description: `default ${QUERY_LIMIT_DEFAULT}` })),
  },
  { additionalProperties: false },
);
export const SubscribeRequest = Type.Object(
  {
    ...base("subscribe"),
    pattern: Pattern,
    packets: Type.Optional(Type.Boolean({ description: "also send a packet event for each received packet matching it; default true" })),
  },
  { additionalProperties: false },
);
export const UnsubscribeRequest = Type.Object({ ...base("unsubscribe"), pattern: Pattern }, { additionalProperties: false });
export const StatsRequest = Type.Object(
  {
    ...base("stats"),
    every: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000, description: `also send a stats event every that many ms (at least ${STATS_EVERY_MIN}); 0 stops them` })),
  },
  { additionalProperties: false },
);
export const FlushRequest = Type.Object(base("flush"), { additionalProperties: false });
export const ShutdownRequest = Type.Object(base("shutdown"), { additionalProperties: false });

export type QueryRequest = Static<typeof QueryRequest>;
export type SubscribeRequest = Static<typeof SubscribeRequest>;
export type UnsubscribeRequest = Static<typeof UnsubscribeRequest>;
export type StatsRequest = Static<typeof StatsRequest>;

export interface Problem {
  /** JSON pointer into the request */
  path: string;
  message: string;
}

interface Checker<T> {
  check(value: unknown): value is T;
  problems(value: unknown): Problem[];
}

function checker<S extends TSchema>(schema: S): Checker<Static<S>> {
  const v = Compile(schema);
  return {
    check: (value): value is Static<S> => v.Check(value),
    problems(value) {
      const errors = v.Errors(value);
      const unknown = errors.some((e) => e.keyword === "additionalProperties");
      const out: Problem[] = [];
      for (const e of errors) {
        if (e.keyword === "additionalProperties") {
          // One problem per unknown key, at its own path.
          for (const key of (e.params as { additionalProperties?: string[] }).additionalProperties ?? [])
            out.push({ path: `${e.instancePath}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`, message: "is not a field of this request" });
        } else if (!(unknown && e.message === "schema is false")) {
          // (additionalProperties also reports each unknown key as a false schema)
          out.push({ path: e.instancePath, message: e.message });
        }
      }
      // One line per path is plenty (a union reports each branch).
      const seen = new Set<string>();
      return out.filter((p) => (seen.has(p.path + p.message) ? false : (seen.add(p.path + p.message), true)));
    },
  };
}

export const checkers = {
  query: checker(QueryRequest),
  subscribe: checker(SubscribeRequest),
  unsubscribe: checker(UnsubscribeRequest),
  stats: checker(StatsRequest),
  flush: checker(FlushRequest),
  shutdown: checker(ShutdownRequest),
  id: checker(IdSchema),
};

/** The JSON Schema of every request but observe (whose fields are the observation schema's), for docs and tools. */
export function requestSchemas(): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ query: QueryRequest, subscribe: SubscribeRequest, unsubscribe: UnsubscribeRequest, stats: StatsRequest, flush: FlushRequest, shutdown: ShutdownRequest })) as Record<string, unknown>;
}

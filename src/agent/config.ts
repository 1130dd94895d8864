/**
 * The agent's configuration (docs/config.md): one JSON file, validated by a TypeBox schema, with
 * environment overrides for the common keys. Every key is optional; a missing key takes its
 * default. A bad config is refused with EVERY problem listed (JSON path, what was expected,
 * what was found), unknown keys included, so that a typo never passes silently.
 */
import { readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import Type, { type Static, type TProperties } from "typebox";
import { Compile } from "typebox/compile";
import { Settings } from "typebox/system";
import { Check } from "typebox/value";
import { AddressError, compilePattern } from "../address/index.js";
import { QisError } from "../errors.js";
import { DEFAULTS as SYNTH } from "../synth/config.js";
import { parseJsonText, pointer, readEnv, type EnvOverride } from "./config-env.js";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface PeerConfig {
  name: string;
  pub: string;
  store: string | null;
  codec: "qis" | "legacy";
}

export interface AgentConfig {
  nodeId: string | null;
  stateDir: string;
  pub: { bind: string };
  store: { bind: string | null; capacity: number; file: string | null; syncWrites: boolean };
  peers: PeerConfig[];
  subscribe: string[];
  batch: { size: number; lingerMs: number };
  hwm: { send: number; receive: number };
  catchUp: { pageSize: number; timeoutMs: number; retryMinMs: number; retryMaxMs: number };
  synth: {
    maxAddresses: number;
    maxContributions: number;
    maxNodes: number;
    maxNodesPerAddress: number;
    maxHops: number;
    alertThreshold: number;
    confidenceScale: number;
    minDelta: number;
    minIntervalMs: number;
    minContributors: number;
    ttlS: number;
    sweepIntervalMs: number;
  };
  legacy: { pub: string | null; rep: string | null; replyLimit: number };
  log: { level: LogLevel };
}

const deepFreeze = <T>(v: T): T => {
  if (v !== null && typeof v === "object") for (const x of Object.values(v)) deepFreeze(x);
  return Object.freeze(v);
};

/** Every default, in one place: the schema's `default`s and resolveConfig both read it. Frozen. */
export const CONFIG_DEFAULTS: AgentConfig = deepFreeze({
  nodeId: null,
  stateDir: ".qis-edge",
  pub: { bind: "tcp://127.0.0.1:*" },
  store: { bind: "tcp://127.0.0.1:*", capacity: 65_536, file: null, syncWrites: false },
  peers: [],
  subscribe: ["qis.>"],
  batch: { size: 64, lingerMs: 0 },
  hwm: { send: 1000, receive: 1000 },
  catchUp: { pageSize: 256, timeoutMs: 2000, retryMinMs: 100, retryMaxMs: 10_000 },
  synth: {
    maxAddresses: SYNTH.maxAddresses,
    maxContributions: SYNTH.maxContributions,
    maxNodes: SYNTH.maxNodes,
    maxNodesPerAddress: SYNTH.maxNodesPerAddress,
    maxHops: SYNTH.maxHops,
    alertThreshold: SYNTH.alertThreshold,
    confidenceScale: SYNTH.confidenceScale,
    minDelta: SYNTH.minDelta,
    minIntervalMs: SYNTH.minIntervalMs,
    minContributors: SYNTH.minContributors,
    ttlS: SYNTH.ttlS,
    sweepIntervalMs: 1000,
  },
  legacy: { pub: null, rep: null, replyLimit: 50 },
  log: { level: "info" },
});

// ---------------------------------------------------------------------------------------------
// The schema of the file

const PORT = "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
const HOST = "(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]+\\])";
const BIND = `^(?:tcp://(?:\\*|${HOST}):(?:\\*|${PORT})|ipc://.+|inproc://.+)$`;
const CONNECT = `^(?:tcp://${HOST}:${PORT}|ipc://.+|inproc://.+)$`;
const NODE_ID = "^[0-9a-fA-F]{32}$";
/** What a pattern means, in words, for "expected ..." (a regex is no help to a reader). */
const PATTERN_TEXT = new Map([
  [BIND, "a ZeroMQ bind endpoint: tcp://HOST:PORT, tcp://HOST:* (a free port), ipc://PATH or inproc://NAME"],
  [CONNECT, "a ZeroMQ endpoint to connect to: tcp://HOST:PORT, ipc://PATH or inproc://NAME"],
  [NODE_ID, "32 hex digits (16 bytes)"],
]);

const D = CONFIG_DEFAULTS;
const dflt = (v: unknown): string => ` Default: ${JSON.stringify(v)}.`;
const bind = (what: string, d: string | null, nullable: boolean) =>
  nullable
    ? Type.Union([Type.String({ pattern: BIND }), Type.Null()], { default: d, description: `${what}${dflt(d)}` })
    : Type.String({ pattern: BIND, default: d, description: `${what}${dflt(d)}` });
const int = (min: number, max: number, d: number, what: string) =>
  Type.Optional(Type.Integer({ minimum: min, maximum: max, default: d, description: `${what} (${min}..${max}).${dflt(d)}` }));
const num = (min: number, max: number, d: number, what: string) =>
  Type.Optional(Type.Number({ minimum: min, maximum: max, default: d, description: `${what} (${min}..${max}).${dflt(d)}` }));
const obj = <P extends TProperties>(description: string, properties: P) =>
  Type.Optional(Type.Object(properties, { additionalProperties: false, description }));
const CONNECT_T = Type.String({ pattern: CONNECT });

const PeerSchema = Type.Object(
  {
    pub: Type.String({ pattern: CONNECT, description: "The peer's packet publisher, which we subscribe to. Required." }),
    store: Type.Optional(
      Type.Union([CONNECT_T, Type.Null()], { default: null, description: "The peer's store endpoint, asked for missed packets (catch-up). null: no catch-up from this peer. Default: null." }),
    ),
    codec: Type.Optional(
      Type.Enum(["qis", "legacy"], { default: "qis", description: 'Wire format: "qis" (512-byte packets) or "legacy" (a reference-Python node\'s JSON). Default: "qis".' }),
    ),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "A name for logs, unique among the peers. Default: the pub endpoint." })),
  },
  { additionalProperties: false },
);

export const AgentConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: "The JSON Schema this file follows (for editors; `qis-edge config schema` prints it). Ignored by the agent." })),
    nodeId: Type.Optional(
      Type.Union([Type.String({ pattern: NODE_ID }), Type.Null()], {
        default: null,
        description: "This node's 16-byte id as 32 hex digits. null: the id kept in stateDir/node-id (created on first start). Default: null.",
      }),
    ),
    stateDir: Type.Optional(
      Type.String({ minLength: 1, default: D.stateDir, description: `Directory for the node id and the lock; relative to the working directory. One per agent.${dflt(D.stateDir)}` }),
    ),
    pub: obj("Where this agent publishes its packets.", { bind: Type.Optional(bind("Bind endpoint of the packet publisher; peers subscribe to it.", D.pub.bind, false)) }),
    store: obj("The local packet store.", {
      bind: Type.Optional(bind("Bind endpoint where peers query the store (catch-up); null: not served.", D.store.bind, true)),
      capacity: int(1, 4_194_304, D.store.capacity, "Packets held; the oldest is dropped when full. 512 bytes each"),
      file: Type.Optional(
        Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, description: "File backing the store, so packets survive a restart; relative to the working directory. null: memory only. Default: null." }),
      ),
      syncWrites: Type.Optional(Type.Boolean({ default: false, description: "fdatasync after every insert (durable on power loss, slower). Default: false." })),
    }),
    peers: Type.Optional(Type.Array(PeerSchema, { maxItems: 1024, default: [], description: "Agents to subscribe to. Default: []." })),
    subscribe: Type.Optional(
      Type.Array(Type.String(), { maxItems: 256, default: D.subscribe, description: 'Address patterns to receive from peers: qis.TOKEN..., "*" one token, ">" the rest.' + dflt(D.subscribe) }),
    ),
    batch: obj("How packets are grouped into ZeroMQ messages.", {
      size: int(1, 1024, D.batch.size, "Packets per ZeroMQ message at most"),
      lingerMs: int(0, 1000, D.batch.lingerMs, "How long a partial batch waits for more packets; 0: sent at the end of the current event-loop turn"),
    }),
    hwm: obj("ZeroMQ high-water marks: messages queued per socket before ZeroMQ drops (pub) or stops reading (sub).", {
      send: int(0, 1_000_000, D.hwm.send, "Send high-water mark in messages; 0: unlimited"),
      receive: int(0, 1_000_000, D.hwm.receive, "Receive high-water mark in messages; 0: unlimited"),
    }),
    catchUp: obj("Asking peers' stores for packets missed while disconnected.", {
      pageSize: int(1, 4096, D.catchUp.pageSize, "Packets per store query"),
      timeoutMs: int(1, 600_000, D.catchUp.timeoutMs, "How long to wait for a reply"),
      retryMinMs: int(1, 3_600_000, D.catchUp.retryMinMs, "First retry delay after a failed query; doubles up to retryMaxMs"),
      retryMaxMs: int(1, 3_600_000, D.catchUp.retryMaxMs, "Longest retry delay; at least retryMinMs"),
    }),
    synth: obj("Local synthesis (docs/synth.md).", {
      maxAddresses: int(1, 1 << 20, D.synth.maxAddresses, "Distinct addresses held at once"),
      maxContributions: int(1, 1 << 24, D.synth.maxContributions, "Live contributions held at once"),
      maxNodes: int(1, 1 << 20, D.synth.maxNodes, "Distinct contributing nodes, over all addresses"),
      maxNodesPerAddress: int(1, 1024, D.synth.maxNodesPerAddress, "Distinct contributing nodes per address"),
      maxHops: int(0, 255, D.synth.maxHops, "Largest hop count accepted and emitted; 0: never re-synthesize"),
      alertThreshold: num(0, 1, D.synth.alertThreshold, "A domain's consensus alerts when its strength reaches this"),
      confidenceScale: Type.Optional(
        Type.Number({ exclusiveMinimum: 0, default: D.synth.confidenceScale, description: `k in confidence = (1 - exp(-W/k)) * (1 - sigma) (> 0).${dflt(D.synth.confidenceScale)}` }),
      ),
      minDelta: num(0, 2, D.synth.minDelta, "Emit only when the estimate moved at least this much since the last emission"),
      minIntervalMs: Type.Optional(Type.Number({ minimum: 0, default: D.synth.minIntervalMs, description: `Least ms between two emissions for one address (>= 0).${dflt(D.synth.minIntervalMs)}` })),
      minContributors: int(1, 1024, D.synth.minContributors, "Emit only for addresses with this many contributing nodes; at most maxNodesPerAddress (the default becomes 1 when that is 1)"),
      ttlS: int(0, 0xffff_ffff, D.synth.ttlS, "ttl_s of synthesized packets; 0: never expire"),
      sweepIntervalMs: int(10, 60_000, D.synth.sweepIntervalMs, "How often expired contributions are swept"),
    }),
    legacy: obj("Serving reference-Python-node peers.", {
      pub: Type.Optional(bind("Bind endpoint publishing our packets in the legacy JSON format; null: off.", D.legacy.pub, true)),
      rep: Type.Optional(bind("Bind endpoint answering legacy store queries; null: off.", D.legacy.rep, true)),
      replyLimit: int(1, 10_000, D.legacy.replyLimit, "Packets per legacy query reply at most"),
    }),
    log: obj("Logging: one JSON object per line on stderr.", {
      level: Type.Optional(Type.Enum(["debug", "info", "warn", "error", "silent"], { default: D.log.level, description: `Least severe level written.${dflt(D.log.level)}` })),
    }),
  },
  { additionalProperties: false, title: "qis-edge agent config", description: "Every key is optional; unknown keys are errors. See docs/config.md." },
);

export type AgentConfigFile = Static<typeof AgentConfigSchema>;

/** The JSON Schema of the file, for editors (`"$schema": "./agent.schema.json"`). */
export function configJsonSchema(): object {
  return { $schema: "https://json-schema.org/draft/2020-12/schema", ...(JSON.parse(JSON.stringify(AgentConfigSchema)) as object) };
}

// ---------------------------------------------------------------------------------------------
// Problems

export interface ConfigProblem {
  /** JSON pointer into the file ("" = the whole file), "env:NAME", or "FILE:LINE:COLUMN" for a JSON syntax error */
  path: string;
  expected: string;
  found: string;
}

/** "agent.json: /store/capacity: expected ..., found ..." (one line; env and syntax problems name their own place). */
export function formatProblem(source: string, p: ConfigProblem): string {
  const located = p.path.startsWith("env:") || (p.path.startsWith(`${source}:`) && /:[0-9]+:[0-9]+$/.test(p.path));
  const where = p.path === "" ? source : located ? p.path : `${source}: ${p.path}`;
  return `${where}: expected ${p.expected}, found ${p.found}`;
}

export class ConfigError extends QisError {
  readonly problems: ConfigProblem[];
  /** the file's path, "env" or "defaults" */
  readonly source: string;
  constructor(source: string, problems: ConfigProblem[], options?: { cause?: unknown }) {
    const list = problems.map((p) => formatProblem(source, p)).join("; ");
    super("ERR_CONFIG", problems.length === 1 ? list : `${problems.length} problems: ${list}`, options);
    this.source = source;
    this.problems = problems;
  }
}

const MAX_PROBLEMS = 1000;
/** Compiled on first use: without a config file there is nothing for it to check. */
const compileValidator = () => Compile(AgentConfigSchema);
let validator: ReturnType<typeof compileValidator> | undefined;
type Schema = Record<string, unknown>;

function describeSchema(s: Schema): string {
  if (s === (AgentConfigSchema as unknown)) return "an object (an agent config)";
  if (Array.isArray(s.anyOf)) return (s.anyOf as Schema[]).map(describeSchema).join(" or ");
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  const range = (kind: string): string =>
    s.exclusiveMinimum !== undefined ? `${kind} greater than ${String(s.exclusiveMinimum)}` : s.maximum === undefined ? `${kind} >= ${String(s.minimum)}` : `${kind} in ${String(s.minimum)}..${String(s.maximum)}`;
  switch (s.type) {
    case "integer":
      return range("an integer");
    case "number":
      return range("a number");
    case "boolean":
      return "true or false";
    case "null":
      return "null";
    case "string":
      return PATTERN_TEXT.get(s.pattern as string) ?? (s.minLength === 1 ? "a non-empty string" : "a string");
    case "array":
      return `a list (at most ${String(s.maxItems)}) of ${describeSchema(s.items as Schema)}`;
    default:
      return `an object with the keys ${Object.keys(s.properties as object).join(", ")}`;
  }
}

/** A JSON value in a few words, for "found ...". */
function describeFound(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (Array.isArray(v)) return `a list of ${v.length} item${v.length === 1 ? "" : "s"}`;
  if (v !== null && typeof v === "object") return "an object";
  return String(v);
}

function schemaAt(schemaPath: string): Schema {
  let s = AgentConfigSchema as unknown as Schema;
  for (const part of schemaPath.split("/").slice(1)) s = s[part] as Schema;
  return s;
}

function valueAt(input: unknown, path: string): unknown {
  let v = input;
  for (const part of path.split("/").slice(1)) v = (v as Record<string, unknown>)[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  return v;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

function unknownKey(objectSchema: Schema, key: string): ConfigProblem["expected"] {
  const known = Object.keys(objectSchema.properties as object).filter((k) => k !== "$schema");
  const near = known.find((k) => k.toLowerCase() === key.toLowerCase()) ?? known.find((k) => editDistance(k, key) <= 2);
  return `one of the keys ${known.join(", ")}${near === undefined ? "" : ` (did you mean "${near}"?)`}`;
}

/** The schema's verdict on the file, one problem per location. */
function schemaProblems(input: unknown): ConfigProblem[] {
  const v = (validator ??= compileValidator());
  if (v.Check(input)) return [];
  // TypeBox stops at 8 errors by default; we want all of them. Set and restored around the call
  // (synchronous), since the setting is process-wide.
  const before = Settings.Get().maxErrors;
  Settings.Set({ maxErrors: MAX_PROBLEMS });
  let errors;
  try {
    errors = v.Errors(input);
  } finally {
    Settings.Set({ maxErrors: before });
  }
  const found = new Map<string, { depth: number; problem: ConfigProblem }>();
  const add = (path: string, depth: number, expected: string, foundText: string): void => {
    const prior = found.get(path);
    if (prior === undefined || prior.depth > depth) found.set(path, { depth, problem: { path, expected, found: foundText } });
  };
  for (const e of errors) {
    const params = e.params as { additionalProperties?: string[]; requiredProperties?: string[] };
    if (e.keyword === "additionalProperties") {
      for (const key of params.additionalProperties ?? []) add(`${e.instancePath}${pointer([key])}`, 0, unknownKey(schemaAt(e.schemaPath), key), `an unknown key "${key}"`);
    } else if (e.keyword === "required") {
      for (const key of params.requiredProperties ?? []) add(`${e.instancePath}${pointer([key])}`, 0, describeSchema(schemaAt(`${e.schemaPath}/properties/${key}`)), "nothing (the key is required)");
    } else if (!(e.keyword === "boolean" && e.schemaPath.endsWith("/additionalProperties"))) {
      // Several errors at one location (a union's branches): the outermost schema describes it best.
      add(e.instancePath, e.schemaPath.split("/").length, describeSchema(schemaAt(e.schemaPath)), describeFound(valueAt(input, e.instancePath)));
    }
  }
  return [...found.values()].map((f) => f.problem);
}

// ---------------------------------------------------------------------------------------------
// Resolution

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => v !== null && typeof v === "object" && !Array.isArray(v);

/** Checks each env value against the schema of the key it overrides. */
function envProblems(overrides: EnvOverride[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const o of overrides) {
    const path = `env:${o.name}`;
    if (o.name === "QIS_EDGE_PEERS") {
      (o.value as Rec[]).forEach((peer, i) => {
        for (const k of ["pub", "store"] as const) {
          if (peer[k] !== undefined && !Check(CONNECT_T, peer[k])) problems.push({ path, expected: `PUB[|STORE],...: ${describeSchema(CONNECT_T as unknown as Schema)}`, found: `item ${i + 1} ${describeFound(peer[k])}` });
        }
      });
      continue;
    }
    let s = AgentConfigSchema as unknown as Schema;
    for (const k of o.key) s = (s.properties as Rec)[k] as Schema;
    if (!Check(s as never, o.value)) problems.push({ path, expected: describeSchema(s), found: JSON.stringify(o.raw) });
  }
  return problems;
}

/** Problems the schema cannot express, found in the merged (file + env) config. */
function crossProblems(merged: Rec, where: (keys: (string | number)[]) => string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const at = (keys: (string | number)[], expected: string, found: string): void => {
    const w = where(keys);
    // Under an env variable, the item number tells which one of its list is wrong.
    problems.push({ path: w, expected, found: w.startsWith("env:") && typeof keys[1] === "number" ? `item ${keys[1] + 1} ${found}` : found });
  };
  const sub = (k: string): Rec => (isRec(merged[k]) ? merged[k] : {});
  if (Array.isArray(merged.subscribe)) {
    merged.subscribe.forEach((p, i) => {
      if (typeof p !== "string") return;
      try {
        compilePattern(p);
      } catch (e) {
        if (!(e instanceof AddressError)) throw e;
        at(["subscribe", i], 'an address pattern like "qis.hvac.>"', `${JSON.stringify(p)} (${e.message})`);
      }
    });
  }
  if (Array.isArray(merged.peers)) {
    const names = new Map<string, number>();
    const peerPlace = (i: number): string => (where(["peers", i]).startsWith("env:") ? `item ${i + 1}` : `peer ${pointer(["peers", i])}`);
    merged.peers.forEach((p, i) => {
      if (!isRec(p) || typeof p.pub !== "string") return;
      const named = typeof p.name === "string";
      const name = named ? (p.name as string) : p.pub;
      const first = names.get(name);
      if (first === undefined) names.set(name, i);
      else at(["peers", i, named ? "name" : "pub"], "a peer name no other peer has (a peer without a name is named by its pub endpoint)", `${JSON.stringify(name)}, also the name of ${peerPlace(first)}`);
    });
  }
  const synth = sub("synth");
  const perAddress = Number.isInteger(synth.maxNodesPerAddress) ? (synth.maxNodesPerAddress as number) : D.synth.maxNodesPerAddress;
  if (Number.isInteger(synth.minContributors) && (synth.minContributors as number) > perAddress) {
    at(["synth", "minContributors"], `an integer in 1..${perAddress} (at most synth.maxNodesPerAddress)`, String(synth.minContributors));
  }
  const cu = sub("catchUp");
  const lo = Number.isInteger(cu.retryMinMs) ? (cu.retryMinMs as number) : D.catchUp.retryMinMs;
  const hi = Number.isInteger(cu.retryMaxMs) ? (cu.retryMaxMs as number) : D.catchUp.retryMaxMs;
  if (lo > hi) {
    if (cu.retryMaxMs !== undefined) at(["catchUp", "retryMaxMs"], `an integer >= catchUp.retryMinMs (${lo})`, String(hi));
    else at(["catchUp", "retryMinMs"], `an integer <= catchUp.retryMaxMs (${hi})`, String(lo));
  }
  // Two sockets cannot bind one endpoint; a "*" port is a fresh free port each time, so it never clashes.
  const binds = new Map<string, (string | number)[]>();
  for (const keys of [["pub", "bind"], ["store", "bind"], ["legacy", "pub"], ["legacy", "rep"]]) {
    const v = sub(keys[0]!)[keys[1]!];
    if (typeof v !== "string" || v.endsWith(":*")) continue;
    const other = binds.get(v);
    if (other === undefined) binds.set(v, keys);
    else at(keys, "an endpoint no other socket of this agent binds", `${JSON.stringify(v)}, also ${where(other)}`);
  }
  return problems;
}

/** Deep-fills `defaults` with `given`; lists and null replace, objects merge. */
function withDefaults(defaults: unknown, given: unknown): unknown {
  if (given === undefined) return structuredClone(defaults);
  if (Array.isArray(given)) return given.slice();
  if (!isRec(defaults) || !isRec(given)) return given;
  const out: Rec = {};
  for (const k of Object.keys(defaults)) out[k] = withDefaults(defaults[k], given[k]);
  return out;
}

export interface ResolveOptions {
  /** default process.env */
  env?: NodeJS.ProcessEnv;
  /** default process.cwd(); relative paths in the config resolve against it */
  cwd?: string;
  /** names the input in problems: a file path; default "defaults" */
  source?: string;
}

/**
 * Validates a parsed config file (undefined = no file), applies the environment overrides and
 * fills in every default. Throws a ConfigError listing all problems.
 */
export function resolveConfig(input: unknown, options: ResolveOptions = {}): AgentConfig {
  return resolve(input, options, []);
}

function resolve(input: unknown, options: ResolveOptions, extra: ConfigProblem[]): AgentConfig {
  const file = input === undefined ? {} : input;
  const overrides = readEnv(options.env ?? process.env);
  // No file: {} is valid by construction (every key is optional), so the schema is not compiled.
  const problems = [...extra, ...(input === undefined ? [] : schemaProblems(file)), ...envProblems(overrides)];
  const envPaths = new Set(problems.filter((p) => p.path.startsWith("env:")).map((p) => p.path));
  // Valid env values replace the file's; `owner` remembers which keys they now speak for.
  // Copied only along the overridden keys: the caller's object is never changed.
  const merged: Rec = isRec(file) ? { ...file } : {};
  const owner = new Map<string, string>();
  for (const o of overrides) {
    if (envPaths.has(`env:${o.name}`)) continue;
    let target = merged;
    for (const k of o.key.slice(0, -1)) target = target[k] = isRec(target[k]) ? { ...target[k] } : {};
    target[o.key[o.key.length - 1]!] = o.value;
    owner.set(o.key.join("/"), o.name);
  }
  const where = (keys: (string | number)[]): string => {
    for (let n = keys.length; n > 0; n--) {
      const name = owner.get(keys.slice(0, n).join("/"));
      if (name !== undefined) return `env:${name}`;
    }
    return pointer(keys);
  };
  const seen = new Set(problems.map((p) => p.path));
  for (const p of crossProblems(merged, where)) if (!seen.has(p.path) || p.path.startsWith("env:")) problems.push(p);
  if (problems.length > 0) {
    // File problems in the order of the top-level keys (as docs/config.md lists them), then env ones.
    const order = Object.keys(AgentConfigSchema.properties);
    const rank = (p: ConfigProblem): number => (p.path.startsWith("env:") ? 1e4 : order.indexOf(p.path.split("/")[1] ?? "") >>> 0);
    problems.sort((a, b) => rank(a) - rank(b));
    const onlyEnv = problems.every((p) => p.path.startsWith("env:"));
    throw new ConfigError(onlyEnv ? "env" : (options.source ?? "defaults"), problems);
  }
  const c = withDefaults(D, merged) as AgentConfig;
  const cwd = options.cwd ?? process.cwd();
  c.nodeId = c.nodeId === null ? null : c.nodeId.toLowerCase();
  c.stateDir = resolvePath(cwd, c.stateDir);
  if (c.store.file !== null) c.store.file = resolvePath(cwd, c.store.file);
  c.peers = c.peers.map((p) => ({ name: p.name ?? p.pub, pub: p.pub, store: p.store ?? null, codec: p.codec ?? "qis" }));
  const s = isRec(merged.synth) ? merged.synth : {};
  if (s.minContributors === undefined) c.synth.minContributors = Math.min(D.synth.minContributors, c.synth.maxNodesPerAddress);
  return c;
}

/**
 * Reads and resolves a config file; null = no file (defaults and env only). A file that cannot be
 * read, is not JSON (reported as FILE:LINE:COLUMN) or repeats a key is a ConfigError too.
 */
export function loadConfigFile(file: string | null, options: Omit<ResolveOptions, "source"> = {}): AgentConfig {
  if (file === null) return resolve(undefined, options, []);
  let text: string;
  try {
    text = readFileSync(resolvePath(options.cwd ?? process.cwd(), file), "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new ConfigError(file, [{ path: "", expected: "a readable JSON file", found: code }], { cause: e });
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    const { line, column, expected, found } = parsed.problem;
    throw new ConfigError(file, [{ path: `${file}:${line}:${column}`, expected, found }]);
  }
  const dups = parsed.duplicates.map((d) => ({ path: d.path, expected: `each key once (first at line ${d.firstLine}:${d.firstColumn})`, found: `it again at line ${d.line}:${d.column}` }));
  return resolve(parsed.value, { ...options, source: file }, dups);
}

/**
 * The agent's configuration (docs/config.md): one JSON file, validated by a TypeBox schema
 * (src/agent/config-schema.ts), with environment overrides for the common keys. Every key is
 * optional; a missing key takes its default. A bad config is refused with EVERY problem listed
 * (JSON path, what was expected, what was found), unknown keys included, so that a typo never
 * passes silently.
 */
import { readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { AddressError, compilePattern } from "../address/index.js";
import { QisError } from "../errors.js";
import { consumerSuffix, REFERENCE_JSON_UP, subjectCovers } from "../link/nats/names.js";
import { Z85_KEY } from "../link/zmq/z85.js";
import { CONFIG_DEFAULTS, MQTT_DEFAULTS, NATS_DEFAULTS, type AgentConfig, type ConfigProblem, type MqttUplinkConfig, type NatsUplinkConfig } from "./config-defaults.js";
import { checkConfig } from "./config-check.js";
import { parseJsonText, pointer, readEnv, type EnvOverride } from "./config-env.js";
import { configSchema } from "./schemas.js";
import { isLoopback, parseListen } from "../metrics/listen.js";
import { securityProblems } from "./config-security.js";
import { discoveryProblems } from "./config-discovery.js";

export {
  CONFIG_DEFAULTS,
  MQTT_DEFAULTS,
  NATS_DEFAULTS,
  type AgentConfig,
  type ConfigProblem,
  type LogLevel,
  type MqttUplinkConfig,
  type NatsUplinkConfig,
  type PeerConfig,
} from "./config-defaults.js";

const D = CONFIG_DEFAULTS;

// ---------------------------------------------------------------------------------------------
// Problems

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

// ---------------------------------------------------------------------------------------------
// Resolution

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => v !== null && typeof v === "object" && !Array.isArray(v);

/** Problems the schema cannot express, found in the merged (file + env) config. */
function crossProblems(merged: Rec, where: (keys: (string | number)[]) => string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const at = (keys: (string | number)[], expected: string, found: string): void => {
    const w = where(keys);
    // Under an env variable, the item number tells which one of its list is wrong.
    problems.push({ path: w, expected, found: w.startsWith("env:") && typeof keys[1] === "number" ? `item ${keys[1] + 1} ${found}` : found });
  };
  const sub = (k: string): Rec => (isRec(merged[k]) ? merged[k] : {});
  const patterns = (list: unknown, keys: string[]): void => {
    if (!Array.isArray(list)) return;
    list.forEach((p, i) => {
      if (typeof p !== "string") return;
      try {
        compilePattern(p);
      } catch (e) {
        if (!(e instanceof AddressError)) throw e;
        at([...keys, i], 'an address pattern like "qis.hvac.>"', `${JSON.stringify(p)} (${e.message})`);
      }
    });
  };
  patterns(merged.subscribe, ["subscribe"]);
  patterns(sub("security").requireSigned, ["security", "requireSigned"]);
  const mqtt = isRec(sub("uplinks").mqtt) ? (sub("uplinks").mqtt as Rec) : null;
  if (mqtt !== null) {
    patterns(mqtt.up, ["uplinks", "mqtt", "up"]);
    patterns(mqtt.down, ["uplinks", "mqtt", "down"]);
    const secrets = (["password", "passwordFile", "passwordEnv"] as const).filter((k) => mqtt[k] !== undefined && mqtt[k] !== null);
    for (const k of secrets.slice(1)) at(["uplinks", "mqtt", k], `no other password source than uplinks.mqtt.${secrets[0]} (password, passwordFile and passwordEnv exclude each other)`, "a second one");
    if (secrets.length > 0 && (mqtt.username === undefined || mqtt.username === null)) at(["uplinks", "mqtt", secrets[0]!], "a password together with uplinks.mqtt.username", "a password without a user name");
    const rc = isRec(mqtt.reconnect) ? mqtt.reconnect : {};
    const rlo = Number.isInteger(rc.minMs) ? (rc.minMs as number) : MQTT_DEFAULTS.reconnect.minMs;
    const rhi = Number.isInteger(rc.maxMs) ? (rc.maxMs as number) : MQTT_DEFAULTS.reconnect.maxMs;
    if (rlo > rhi) {
      if (rc.maxMs !== undefined) at(["uplinks", "mqtt", "reconnect", "maxMs"], `an integer >= uplinks.mqtt.reconnect.minMs (${rlo})`, String(rhi));
      else at(["uplinks", "mqtt", "reconnect", "minMs"], `an integer <= uplinks.mqtt.reconnect.maxMs (${rhi})`, String(rlo));
    }
    const tls = isRec(mqtt.tls) ? mqtt.tls : {};
    const given = (v: unknown): boolean => v !== undefined && v !== null;
    if (given(tls.cert) !== given(tls.key)) at(["uplinks", "mqtt", "tls", given(tls.cert) ? "key" : "cert"], "tls.cert and tls.key together (a client certificate needs its key)", "only one of them");
  }
  const nats = isRec(sub("uplinks").nats) ? (sub("uplinks").nats as Rec) : null;
  if (nats !== null) natsProblems(nats, at, patterns);
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
      // Accepting it would promise a catch-up that never happens: a legacy store's replies carry
      // no node id or timestamp, so they are never asked (docs/legacy.md).
      if (p.codec === "legacy" && typeof p.store === "string") {
        const fix = where(["peers", i]).startsWith("env:") ? 'drop "|STORE"' : 'remove "store" or set it to null';
        at(["peers", i, "store"], `no store for a legacy peer (legacy stores are never queried: nothing missed can be caught up from one); ${fix}`, JSON.stringify(p.store));
      }
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
  const metrics = sub("metrics");
  if (typeof metrics.listen === "string" && metrics.allowRemote !== true) {
    const at0 = parseListen(metrics.listen);
    // The listener has no authentication and names the node and its peers: loopback unless allowed.
    if (at0 !== null && !isLoopback(at0.host)) at(["metrics", "listen"], "a loopback address (127.0.0.1, [::1], localhost) unless metrics.allowRemote is true", JSON.stringify(metrics.listen));
  }
  securityProblems(merged, at);
  discoveryProblems(merged, at);
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

/** The env values as a config file would hold them. */
function envObject(overrides: EnvOverride[]): Rec {
  const out: Rec = {};
  for (const o of overrides) {
    let target = out;
    for (const k of o.key.slice(0, -1)) target = (target[k] ??= {}) as Rec;
    target[o.key[o.key.length - 1]!] = o.value;
  }
  return out;
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
  // The generated check (src/agent/config-check.ts) says whether the file and the env values are
  // valid; only when one is not is the schema module (and typebox) loaded, to say why. No file:
  // {} is valid by construction (every key is optional).
  const fileProblems = input === undefined || checkConfig(file) ? [] : configSchema().schemaProblems(file);
  const envValid = overrides.length === 0 || checkConfig(envObject(overrides));
  const problems = [...extra, ...fileProblems, ...(envValid ? [] : configSchema().envProblems(overrides))];
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
    const order = configSchema().TOP_KEYS;
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
  c.peers = c.peers.map((p) => ({ name: p.name ?? p.pub, pub: p.pub, store: p.store ?? null, codec: p.codec ?? "qis", publicKey: p.publicKey ?? null }));
  c.uplinks.mqtt = resolveMqtt(isRec(merged.uplinks) ? merged.uplinks.mqtt : undefined, cwd);
  c.uplinks.nats = resolveNats(isRec(merged.uplinks) ? merged.uplinks.nats : undefined, cwd);
  // The key file lives with the node id: relative to the state dir (a package's config then
  // works wherever the state dir is put).
  const keyFile = c.security.secretKeyFile ?? (c.security.mode === "curve" ? "curve.key" : null);
  c.security.secretKeyFile = keyFile === null ? null : resolvePath(c.stateDir, keyFile);
  c.security.allow = c.security.allow.map((a) => (Z85_KEY.test(a) ? a : resolvePath(cwd, a)));
  c.control.path = resolvePath(c.stateDir, c.control.path ?? "control.sock");
  // The signing key lives with the node id (stateDir), like the CURVE key; the trust file is the operator's.
  if (c.security.signing.keyFile !== null) c.security.signing.keyFile = resolvePath(c.stateDir, c.security.signing.keyFile);
  if (c.security.trust.file !== null) c.security.trust.file = resolvePath(cwd, c.security.trust.file);
  c.security.trust.keys = c.security.trust.keys.map((k) => ({ ...k, publicKey: k.publicKey.toLowerCase(), nodeIds: k.nodeIds.map((n) => n.toLowerCase()) }));
  const s = isRec(merged.synth) ? merged.synth : {};
  if (s.minContributors === undefined) c.synth.minContributors = Math.min(D.synth.minContributors, c.synth.maxNodesPerAddress);
  return c;
}

type At = (keys: (string | number)[], expected: string, found: string) => void;

const compiles = (p: string): boolean => {
  try {
    compilePattern(p);
    return true;
  } catch {
    return false;
  }
};

/** What the schema cannot say about `uplinks.nats`: one way to authenticate, one source per secret, limits that depend on each other. */
function natsProblems(n: Rec, at: At, patterns: (list: unknown, keys: string[]) => void): void {
  const K = (...k: (string | number)[]): (string | number)[] => ["uplinks", "nats", ...k];
  const given = (v: unknown): boolean => v !== undefined && v !== null;
  patterns(n.up, K("up") as string[]);
  patterns(n.down, K("down") as string[]);
  if (Array.isArray(n.down)) {
    // The consumer's name comes from the pattern: two patterns must not make one name.
    const names = new Map<string, number>();
    n.down.forEach((p, i) => {
      if (typeof p !== "string") return;
      const name = consumerSuffix(p);
      const first = names.get(name);
      if (first === undefined) names.set(name, i);
      else at(K("down", i), `a pattern whose consumer name differs from pattern ${first}'s ("${name}")`, JSON.stringify(p));
    });
  }
  const stream = isRec(n.stream) ? n.stream : {};
  if (Array.isArray(stream.subjects)) patterns(stream.subjects, K("stream", "subjects") as string[]);
  const subjects = Array.isArray(stream.subjects) ? stream.subjects.filter((x): x is string => typeof x === "string") : NATS_DEFAULTS.stream.subjects;
  const up = Array.isArray(n.up) ? n.up : n.up === undefined ? NATS_DEFAULTS.up : [];
  up.forEach((p, i) => {
    if (typeof p !== "string" || subjects.length === 0 || !compiles(p) || subjects.some((s) => subjectCovers(s, p))) return;
    at(K(n.up === undefined ? "stream" : "up", ...(n.up === undefined ? ["subjects"] : [i])), `up patterns within the stream's subjects (${subjects.join(", ")}): the stream takes only those`, n.up === undefined ? `subjects that leave out the default up pattern ${p}` : JSON.stringify(p));
  });
  for (const [key, sources] of [
    ["password", ["password", "passwordFile", "passwordEnv"]],
    ["token", ["token", "tokenFile", "tokenEnv"]],
  ] as const) {
    const set = sources.filter((k) => given(n[k]));
    for (const k of set.slice(1)) at(K(k), `no other ${key} source than uplinks.nats.${set[0]} (${sources.join(", ")} exclude each other)`, "a second one");
  }
  const hasPassword = ["password", "passwordFile", "passwordEnv"].some((k) => given(n[k]));
  if (hasPassword && !given(n.user)) at(K(["password", "passwordFile", "passwordEnv"].find((k) => given(n[k]))!), "a password together with uplinks.nats.user", "a password without a user name");
  if (given(n.user) && !hasPassword) at(K("user"), "a user together with a password (password, passwordFile or passwordEnv)", "a user without a password");
  const methods = [
    ["user", given(n.user) || hasPassword],
    ["token", ["token", "tokenFile", "tokenEnv"].some((k) => given(n[k]))],
    ["nkeySeedFile", given(n.nkeySeedFile)],
    ["credsFile", given(n.credsFile)],
  ].filter(([, on]) => on) as [string, boolean][];
  for (const [m] of methods.slice(1)) at(K(m), `one way to authenticate (user and password, token, nkeySeedFile or credsFile), here ${methods[0]![0]}`, "a second one");
  const tls = isRec(n.tls) ? n.tls : {};
  if (given(tls.cert) !== given(tls.key)) at(K("tls", given(tls.cert) ? "key" : "cert"), "tls.cert and tls.key together (a client certificate needs its key)", "only one of them");
  const rc = isRec(n.reconnect) ? n.reconnect : {};
  const rlo = Number.isInteger(rc.minMs) ? (rc.minMs as number) : NATS_DEFAULTS.reconnect.minMs;
  const rhi = Number.isInteger(rc.maxMs) ? (rc.maxMs as number) : NATS_DEFAULTS.reconnect.maxMs;
  if (rlo > rhi) {
    if (rc.maxMs !== undefined) at(K("reconnect", "maxMs"), `an integer >= uplinks.nats.reconnect.minMs (${rlo})`, String(rhi));
    else at(K("reconnect", "minMs"), `an integer <= uplinks.nats.reconnect.maxMs (${rhi})`, String(rlo));
  }
  const rj = isRec(n.referenceJson) ? n.referenceJson : {};
  if (rj.conclusions !== undefined) {
    if (!isRec(rj.conclusions)) at(K("referenceJson", "conclusions"), "an object: conclusion text → outcome delta", Array.isArray(rj.conclusions) ? "an array" : JSON.stringify(rj.conclusions));
    else {
      const entries = Object.entries(rj.conclusions);
      if (entries.length > 1024) at(K("referenceJson", "conclusions"), "at most 1024 conclusions", `${entries.length}`);
      for (const [text, delta] of entries) {
        if (text.length === 0 || text.length > 512) at(K("referenceJson", "conclusions", text), "a conclusion text of 1..512 characters", `${text.length} characters`);
        else if (typeof delta !== "number" || !(delta >= -1 && delta <= 1)) at(K("referenceJson", "conclusions", text), "an outcome delta, a number in -1..1", JSON.stringify(delta) ?? String(delta));
      }
    }
  }
  if (n.codec === "reference-json") {
    // The reference router's subjects are qis.iot.<domain>.<problem_class>: a packet elsewhere has none.
    (Array.isArray(n.up) ? n.up : []).forEach((p, i) => {
      if (typeof p === "string" && compiles(p) && !subjectCovers(REFERENCE_JSON_UP, p))
        at(K("up", i), 'with codec "reference-json", up patterns within qis.iot.*.> (the reference router\'s subjects qis.iot.<domain>.<problem_class>)', JSON.stringify(p));
    });
  }
  const age = Number.isInteger(stream.maxAgeS) ? (stream.maxAgeS as number) : NATS_DEFAULTS.stream.maxAgeS;
  const dup = Number.isInteger(stream.duplicateWindowS) ? (stream.duplicateWindowS as number) : NATS_DEFAULTS.stream.duplicateWindowS;
  if (age > 0 && dup > age) {
    if (stream.duplicateWindowS !== undefined) at(K("stream", "duplicateWindowS"), `an integer <= uplinks.nats.stream.maxAgeS (${age}): JetStream refuses a duplicate window longer than the stream's age limit`, String(dup));
    else at(K("stream", "maxAgeS"), `0 or an integer >= uplinks.nats.stream.duplicateWindowS (${dup})`, String(age));
  }
}

/** `uplinks.nats` with its defaults filled in and its paths made absolute; null when not configured. */
function resolveNats(given: unknown, cwd: string): NatsUplinkConfig | null {
  if (!isRec(given)) return null;
  const n = withDefaults({ servers: given.servers, ...NATS_DEFAULTS }, given) as NatsUplinkConfig;
  // qis.iot.> would also take qis.iot.<class> addresses, for which the reference has no subject.
  if (n.codec === "reference-json" && given.up === undefined) n.up = [REFERENCE_JSON_UP];
  // A map of the user's keys (withDefaults keeps only the keys the defaults have).
  const rj = isRec(given.referenceJson) ? given.referenceJson : {};
  n.referenceJson.conclusions = isRec(rj.conclusions) ? { ...(rj.conclusions as Record<string, number>) } : {};
  const abs = (p: string | null): string | null => (p === null ? null : resolvePath(cwd, p));
  n.passwordFile = abs(n.passwordFile);
  n.tokenFile = abs(n.tokenFile);
  n.nkeySeedFile = abs(n.nkeySeedFile);
  n.credsFile = abs(n.credsFile);
  n.tls = { ...n.tls, ca: abs(n.tls.ca), cert: abs(n.tls.cert), key: abs(n.tls.key) };
  n.outbox = { ...n.outbox, file: abs(n.outbox.file) };
  return n;
}

/** `uplinks.mqtt` with its defaults filled in and its paths made absolute; null when not configured. */
function resolveMqtt(given: unknown, cwd: string): MqttUplinkConfig | null {
  if (!isRec(given)) return null;
  const m = withDefaults({ url: given.url, ...MQTT_DEFAULTS }, given) as MqttUplinkConfig;
  const abs = (p: string | null): string | null => (p === null ? null : resolvePath(cwd, p));
  m.passwordFile = abs(m.passwordFile);
  m.tls = { ...m.tls, ca: abs(m.tls.ca), cert: abs(m.tls.cert), key: abs(m.tls.key) };
  m.outbox = { ...m.outbox, file: abs(m.outbox.file) };
  return m;
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

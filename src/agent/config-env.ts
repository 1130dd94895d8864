/**
 * The two raw inputs of an agent config besides code: the JSON file's text and the environment.
 * Both are only parsed here; config.ts validates them against the schema. (This module does not
 * import config.ts, so that the two never form an import cycle.)
 */

/** An environment variable's value, parsed to the shape of the file key it overrides. */
export interface EnvOverride {
  name: string;
  /** the key it replaces, e.g. ["store", "capacity"] */
  key: readonly string[];
  /** the raw text, for "found" in a problem */
  raw: string;
  value: unknown;
}

/** A value that should name no store/file: the env cannot say null otherwise. */
const NONE = "none";

type Parse = (raw: string) => unknown;
const text: Parse = (raw) => raw;
const nullable: Parse = (raw) => (raw === NONE ? null : raw);
// Only plain decimal digits become a number; anything else stays a string and fails the schema
// check with the raw text shown (Number("0x10") or Number(" 5 ") would hide the mistake).
const integer: Parse = (raw) => (/^[0-9]{1,15}$/.test(raw) ? Number(raw) : raw);
const list = (raw: string): string[] => raw.split(",").map((s) => s.trim());
/** Marks a reference-Python peer in QIS_EDGE_PEERS; no endpoint starts with it (tcp://, ipc://, inproc://). */
const LEGACY_PREFIX = "legacy:";
const peers: Parse = (raw) =>
  list(raw).map((item) => {
    const legacy = item.startsWith(LEGACY_PREFIX);
    const body = legacy ? item.slice(LEGACY_PREFIX.length).trim() : item;
    const [pub, store, publicKey, ...rest] = body.split("|").map((s) => s.trim());
    const codec = legacy ? { codec: "legacy" } : {};
    // A fourth part is kept in `pub` so that the endpoint check reports the whole item. A legacy
    // peer's STORE is kept so that the config refuses it by name (legacy stores are never asked).
    if (rest.length > 0) return { pub: item };
    // "PUB||KEY": a CURVE key (Z85 has no "|") without a store.
    const withStore = store === undefined || store === "" ? { pub, ...codec } : { pub, store, ...codec };
    return publicKey === undefined ? withStore : { ...withStore, publicKey };
  });

/** Every override, in the order docs/config.md lists them. */
export const ENV_OVERRIDES: readonly { name: string; key: readonly string[]; parse: Parse; help: string }[] = [
  { name: "QIS_EDGE_NODE_ID", key: ["nodeId"], parse: text, help: "32 hex digits" },
  { name: "QIS_EDGE_STATE_DIR", key: ["stateDir"], parse: text, help: "directory" },
  { name: "QIS_EDGE_PUB_BIND", key: ["pub", "bind"], parse: text, help: "endpoint" },
  { name: "QIS_EDGE_STORE_BIND", key: ["store", "bind"], parse: nullable, help: 'endpoint, or "none"' },
  { name: "QIS_EDGE_STORE_CAPACITY", key: ["store", "capacity"], parse: integer, help: "packets" },
  { name: "QIS_EDGE_STORE_FILE", key: ["store", "file"], parse: nullable, help: 'path, or "none"' },
  { name: "QIS_EDGE_PEERS", key: ["peers"], parse: peers, help: "[legacy:]PUB[|STORE[|KEY]],..." },
  { name: "QIS_EDGE_SUBSCRIBE", key: ["subscribe"], parse: list, help: "PATTERN,..." },
  { name: "QIS_EDGE_LOG_LEVEL", key: ["log", "level"], parse: text, help: "debug|info|warn|error|silent" },
  { name: "QIS_EDGE_METRICS_LISTEN", key: ["metrics", "listen"], parse: nullable, help: 'HOST:PORT, or "none"' },
  { name: "QIS_EDGE_CONTROL_PATH", key: ["control", "path"], parse: text, help: "path (relative to the state dir)" },
];

/** The overrides set in `env`. An empty value counts as unset (`VAR= cmd` is a common way to clear one). */
export function readEnv(env: NodeJS.ProcessEnv): EnvOverride[] {
  const found: EnvOverride[] = [];
  for (const o of ENV_OVERRIDES) {
    const raw = env[o.name];
    if (raw === undefined || raw.trim() === "") continue;
    found.push({ name: o.name, key: o.key, raw, value: o.parse(raw.trim()) });
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// JSON text. JSON.parse is not used because its errors give no line/column on Node 20 (often
// not even an offset), and because it silently keeps the last of two equal keys, which would
// hide a typo as surely as an ignored unknown key.

export interface JsonSyntaxProblem {
  line: number;
  column: number;
  expected: string;
  found: string;
}

export interface JsonDuplicate {
  /** JSON pointer of the repeated key */
  path: string;
  line: number;
  column: number;
  firstLine: number;
  firstColumn: number;
}

export type JsonResult = { ok: true; value: unknown; duplicates: JsonDuplicate[] } | { ok: false; problem: JsonSyntaxProblem };

export function pointer(keys: readonly (string | number)[]): string {
  return keys.map((k) => `/${String(k).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

const MAX_DEPTH = 64;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Syntax {
  constructor(
    readonly at: number,
    readonly expected: string,
  ) {}
}

/** Parses JSON text (a leading BOM is allowed) into plain objects, arrays and primitives. */
export function parseJsonText(s: string): JsonResult {
  let i = s.charCodeAt(0) === 0xfeff ? 1 : 0;
  const keys: (string | number)[] = [];
  const dups: { path: string; at: number; first: number }[] = [];
  const fail = (expected: string): never => {
    throw new Syntax(i, expected);
  };
  const ws = (): void => {
    for (let c = s.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = s.charCodeAt(++i));
  };
  const str = (): string => {
    const start = i++;
    for (;;) {
      const c = s.charCodeAt(i);
      if (Number.isNaN(c)) fail('a closing "');
      if (c === 0x22) break;
      if (c < 0x20) fail("no control character in a string (write \\n, \\t, ...)");
      if (c === 0x5c) {
        const e = s[++i] ?? "";
        if (e !== "" && '"\\/bfnrt'.includes(e)) i++;
        else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) i += 5;
        else fail('an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX');
      } else i++;
    }
    i++;
    return JSON.parse(s.slice(start, i)) as string; // valid by construction; decodes the escapes
  };
  const value = (depth: number): unknown => {
    ws();
    if (depth > MAX_DEPTH) fail(`at most ${MAX_DEPTH} levels of nesting`);
    const c = s[i];
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = {};
      const seen = new Map<string, number>();
      ws();
      if (s[i] === "}") return i++, obj;
      for (;;) {
        ws();
        if (s[i] !== '"') fail('a key in double quotes');
        const at = i;
        const key = str();
        ws();
        if (s[i] !== ":") fail('":" after the key');
        i++;
        keys.push(key);
        const v = value(depth + 1);
        const first = seen.get(key);
        if (first !== undefined) dups.push({ path: pointer(keys), at, first });
        else seen.set(key, at);
        keys.pop();
        // defineProperty: a "__proto__" key must become an own key (then refused as unknown), not a prototype.
        Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
        ws();
        if (s[i] === ",") i++;
        else if (s[i] === "}") return i++, obj;
        else fail('"," or "}" after a value in an object');
      }
    }
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      ws();
      if (s[i] === "]") return i++, arr;
      for (;;) {
        keys.push(arr.length);
        arr.push(value(depth + 1));
        keys.pop();
        ws();
        if (s[i] === ",") i++;
        else if (s[i] === "]") return i++, arr;
        else fail('"," or "]" after a value in a list');
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (s.startsWith(word, i)) return (i += word.length), v;
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(s);
    if (m === null) fail("a value: an object, list, string, number, true, false or null");
    i += m![0].length;
    if (/[0-9.eE]/.test(s[i] ?? "")) fail("a valid number (no leading zeros, digits after . and e)");
    return Number(m![0]);
  };
  try {
    const v = value(0);
    ws();
    if (i < s.length) fail("the end of the file after the value");
    const pos = positions(s);
    const duplicates = dups.map((d) => {
      const [line, column] = pos(d.at);
      const [firstLine, firstColumn] = pos(d.first);
      return { path: d.path, line, column, firstLine, firstColumn };
    });
    return { ok: true, value: v, duplicates };
  } catch (e) {
    if (!(e instanceof Syntax)) throw e;
    const [line, column] = positions(s)(e.at);
    const found = e.at >= s.length ? "the end of the file" : JSON.stringify(String.fromCodePoint(s.codePointAt(e.at)!));
    return { ok: false, problem: { line, column, expected: e.expected, found } };
  }
}

/** offset -> [line, column], both 1-based; a column counts UTF-16 units, as most editors do for BMP text. */
function positions(s: string): (offset: number) => [number, number] {
  return (offset) => {
    let line = 1;
    let lineStart = s.charCodeAt(0) === 0xfeff ? 1 : 0; // an editor does not show the BOM
    for (let j = s.indexOf("\n"); j !== -1 && j < offset; j = s.indexOf("\n", j + 1)) {
      line++;
      lineStart = j + 1;
    }
    return [line, offset - lineStart + 1];
  };
}

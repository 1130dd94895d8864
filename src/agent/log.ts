/**
 * A small structured logger: one JSON object per line,
 * {"time":"2026-11-21T17:00:00.000Z","level":"info","msg":"...", ...fields}.
 * A disabled level costs one integer compare, before any object is built; logging never throws
 * (a log line must not be what takes an agent down).
 */
import type { LogLevel } from "./config.js";

export type { LogLevel };

export interface Logger {
  /** the least severe level written; settable, shared with every child */
  level: LogLevel;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** a logger adding `fields` to every line */
  child(fields: Record<string, unknown>): Logger;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level: LogLevel;
  /** default process.stderr */
  stream?: { write(s: string): unknown };
  fields?: Record<string, unknown>;
  /** ms since the epoch; default Date.now */
  now?: () => number;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const LEVELS = Object.keys(RANK) as LogLevel[];

/** What root and children share, so that setting `level` on any of them applies to all. */
interface Shared {
  rank: number;
  level: LogLevel;
  stream: { write(s: string): unknown };
  now: () => number;
}

function replacer(_key: string, v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Error) return { name: v.name, code: (v as { code?: unknown }).code, message: v.message };
  return v;
}

function stringify(v: unknown): string {
  try {
    const s = JSON.stringify(v, replacer);
    if (s !== undefined) return s;
  } catch {
    // a cycle, a throwing getter or toJSON: fall back to text below
  }
  try {
    return JSON.stringify(String(v));
  } catch {
    return '"[unprintable]"';
  }
}

const RESERVED = new Set(["time", "level", "msg"]);

function line(shared: Pick<Shared, "now">, level: LogLevel | "fatal", msg: string, bound: Record<string, unknown> | undefined, fields: Record<string, unknown> | undefined): string {
  let time: string;
  try {
    time = new Date(shared.now()).toISOString();
  } catch {
    time = new Date().toISOString();
  }
  let out = `{"time":"${time}","level":"${level}","msg":${stringify(msg)}`;
  // Merged first so that a call's field replaces a bound one of the same name (no repeated key).
  const all = new Map<string, unknown>(); // a Map: a "__proto__" field is then just a name
  for (const f of [bound, fields]) {
    if (f === undefined) continue;
    for (const key of Object.keys(f)) {
      try {
        all.set(key, f[key]);
      } catch (e) {
        all.set(key, `[getter threw: ${String(e)}]`);
      }
    }
  }
  for (const [key, v] of all) {
    if (v === undefined) continue; // as JSON.stringify does
    // A field named like a core key is kept under "_key" instead of overwriting it.
    out += `,${JSON.stringify(RESERVED.has(key) ? `_${key}` : key)}:${stringify(v)}`;
  }
  return `${out}}\n`;
}

class JsonLogger implements Logger {
  readonly #shared: Shared;
  readonly #fields: Record<string, unknown> | undefined;

  constructor(shared: Shared, fields: Record<string, unknown> | undefined) {
    this.#shared = shared;
    this.#fields = fields;
  }

  get level(): LogLevel {
    return this.#shared.level;
  }

  set level(level: LogLevel) {
    const rank = RANK[level];
    if (rank === undefined) return; // an unknown name changes nothing rather than throw
    this.#shared.level = level;
    this.#shared.rank = rank;
  }

  enabled(level: LogLevel): boolean {
    return level !== "silent" && RANK[level] >= this.#shared.rank;
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    if (10 >= this.#shared.rank) this.#write("debug", msg, fields);
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    if (20 >= this.#shared.rank) this.#write("info", msg, fields);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    if (30 >= this.#shared.rank) this.#write("warn", msg, fields);
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    if (40 >= this.#shared.rank) this.#write("error", msg, fields);
  }

  child(fields: Record<string, unknown>): Logger {
    return new JsonLogger(this.#shared, this.#fields === undefined ? { ...fields } : { ...this.#fields, ...fields });
  }

  #write(level: LogLevel, msg: string, fields: Record<string, unknown> | undefined): void {
    try {
      this.#shared.stream.write(line(this.#shared, level, msg, this.#fields, fields));
    } catch {
      // a closed or broken stream (EPIPE): the line is lost, the agent goes on
    }
  }
}

/**
 * A "fatal" line, in the format of the logger's lines: what `qis-edge run` writes, once, when
 * the agent cannot start (then it exits). Not a Logger method: a caller's own Logger need not have it.
 */
export function fatalLine(msg: string, fields: Record<string, unknown>, now: () => number = Date.now): string {
  return line({ now }, "fatal", msg, undefined, fields);
}

export function createLogger(options: LoggerOptions): Logger {
  const level = LEVELS.includes(options.level) ? options.level : "info";
  const shared: Shared = { rank: RANK[level], level, stream: options.stream ?? process.stderr, now: options.now ?? Date.now };
  return new JsonLogger(shared, options.fields === undefined ? undefined : { ...options.fields });
}

/**
 * A logger that writes nothing: what a library agent (createAgent without `logger`) uses, since
 * a library must not write to its host's stderr. `enabled()` is always false, so the agent
 * builds no log fields either; setting `level` changes nothing.
 */
class SilentLogger implements Logger {
  get level(): LogLevel {
    return "silent";
  }

  set level(_level: LogLevel) {
    // stays silent: only a logger given by the caller writes
  }

  enabled(): boolean {
    return false;
  }

  debug(): void {}
  info(): void {}
  warn(): void {}
  error(): void {}

  child(): Logger {
    return this;
  }
}

export const silentLogger: Logger = new SilentLogger();

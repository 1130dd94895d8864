import { describe, expect, it } from "vitest";
import { createLogger, type LogLevel } from "../../src/agent/log.js";
import { QisError } from "../../src/errors.js";

const T = Date.UTC(2026, 10, 21, 17, 0, 0, 0);

function capture(level: LogLevel, fields?: Record<string, unknown>) {
  const lines: string[] = [];
  const log = createLogger({ level, stream: { write: (s: string) => lines.push(s) }, now: () => T, ...(fields ? { fields } : {}) });
  return { log, lines };
}

describe("createLogger", () => {
  it("writes one JSON object per line: time, level, msg, then the fields", () => {
    const { log, lines } = capture("info");
    log.info("ready", { peers: 2, endpoint: "tcp://127.0.0.1:5600" });
    log.warn("slow");
    expect(lines).toEqual([
      '{"time":"2026-11-21T17:00:00.000Z","level":"info","msg":"ready","peers":2,"endpoint":"tcp://127.0.0.1:5600"}\n',
      '{"time":"2026-11-21T17:00:00.000Z","level":"warn","msg":"slow"}\n',
    ]);
  });

  it("filters by level; silent writes nothing; enabled() tells", () => {
    const order = ["debug", "info", "warn", "error"] as const;
    for (const [i, level] of ([...order, "silent"] as LogLevel[]).entries()) {
      const { log, lines } = capture(level);
      for (const l of order) log[l](l);
      expect(lines.map((s) => (JSON.parse(s) as { msg: string }).msg)).toEqual(order.slice(i));
      expect(order.map((l) => log.enabled(l))).toEqual(order.map((_, j) => j >= i));
      expect(log.enabled("silent")).toBe(false);
    }
  });

  it("a disabled level builds nothing: a field getter is never called", () => {
    const { log, lines } = capture("warn");
    let touched = false;
    const fields = {
      get expensive() {
        touched = true;
        return 1;
      },
    };
    log.debug("x", fields);
    log.info("x", fields);
    expect(touched).toBe(false);
    expect(lines).toEqual([]);
  });

  it("level is settable and shared with children", () => {
    const { log, lines } = capture("error");
    const child = log.child({ peer: "a" });
    log.level = "debug";
    expect(child.level).toBe("debug");
    child.debug("d");
    expect(lines).toEqual(['{"time":"2026-11-21T17:00:00.000Z","level":"debug","msg":"d","peer":"a"}\n']);
  });

  it("child fields come before call fields; a call field replaces a bound one; nesting accumulates", () => {
    const { log, lines } = capture("info", { node: "n1" });
    log.child({ peer: "a", n: 1 }).child({ link: "sub" }).info("m", { n: 2, extra: true });
    expect(lines).toEqual(['{"time":"2026-11-21T17:00:00.000Z","level":"info","msg":"m","node":"n1","peer":"a","n":2,"link":"sub","extra":true}\n']);
  });

  it("Error values become {name, code, message}; bigint becomes a string; undefined fields are left out", () => {
    const { log, lines } = capture("info");
    log.error("failed", { err: new QisError("ERR_X", "boom"), plain: new TypeError("bad"), big: 10n, none: undefined, nested: { errs: [new Error("e")] } });
    expect(lines).toEqual([
      '{"time":"2026-11-21T17:00:00.000Z","level":"error","msg":"failed","err":{"name":"QisError","code":"ERR_X","message":"boom"},"plain":{"name":"TypeError","message":"bad"},"big":"10","nested":{"errs":[{"name":"Error","message":"e"}]}}\n',
    ]);
  });

  it("never throws: a cyclic or hostile field becomes a string; core key names are kept apart; a broken stream is ignored", () => {
    const { log, lines } = capture("info");
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const hostile = {
      toJSON() {
        throw new Error("no");
      },
      toString() {
        throw new Error("no");
      },
    };
    const getter = Object.defineProperty({}, "bad", {
      enumerable: true,
      get() {
        throw new Error("getter");
      },
    });
    expect(() => log.info("m", { cyclic, hostile, msg: "mine", level: 5 })).not.toThrow();
    expect(() => log.info("g", getter)).not.toThrow();
    expect(lines).toEqual([
      '{"time":"2026-11-21T17:00:00.000Z","level":"info","msg":"m","cyclic":"[object Object]","hostile":"[unprintable]","_msg":"mine","_level":5}\n',
      '{"time":"2026-11-21T17:00:00.000Z","level":"info","msg":"g","bad":"[getter threw: Error: getter]"}\n',
    ]);
    const broken = createLogger({
      level: "info",
      stream: {
        write() {
          throw new Error("EPIPE");
        },
      },
    });
    expect(() => broken.error("x")).not.toThrow();
  });

  it("escapes the message", () => {
    const { log, lines } = capture("info");
    log.info('a "quoted"\nline');
    expect(JSON.parse(lines[0]!)).toEqual({ time: "2026-11-21T17:00:00.000Z", level: "info", msg: 'a "quoted"\nline' });
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Compile } from "typebox/compile";
import { AgentConfigSchema, configJsonSchema } from "../../src/agent/config-schema.js";
import { CONFIG_DEFAULTS, ConfigError, formatProblem, loadConfigFile, resolveConfig, type AgentConfig } from "../../src/agent/config.js";
import { catchError } from "../catch-error.js";

const cwd = "/srv/agent";
const noEnv = { env: {}, cwd };
const resolve = (input: unknown, env: NodeJS.ProcessEnv = {}): AgentConfig => resolveConfig(input, { env, cwd });
const problems = (input: unknown, env: NodeJS.ProcessEnv = {}) => catchError(() => resolve(input, env), ConfigError).problems;
const paths = (input: unknown, env: NodeJS.ProcessEnv = {}) => problems(input, env).map((p) => p.path);
const dir = mkdtempSync(join(tmpdir(), "qis-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe("defaults", () => {
  it("no config at all gives every default", () => {
    const c = resolveConfig(undefined, noEnv);
    expect(c).toEqual({
      nodeId: null,
      stateDir: "/srv/agent/.qis-edge",
      pub: { bind: "tcp://127.0.0.1:*" },
      store: { bind: "tcp://127.0.0.1:*", capacity: 65536, file: null, syncWrites: false },
      peers: [],
      subscribe: ["qis.>"],
      batch: { size: 64, lingerMs: 0 },
      hwm: { send: 1000, receive: 1000 },
      catchUp: { pageSize: 256, timeoutMs: 2000, retryMinMs: 100, retryMaxMs: 10000, maxPages: 16384 },
      synth: {
        maxAddresses: 1024,
        maxContributions: 16384,
        maxNodes: 4096,
        maxNodesPerAddress: 32,
        maxHops: 3,
        alertThreshold: 0.6,
        confidenceScale: 10,
        minDelta: 0.05,
        minIntervalMs: 1000,
        minContributors: 2,
        ttlS: 3600,
        sweepIntervalMs: 1000,
        maxObservations: 1000,
        maxFutureSkewMs: 300000,
        peerAddressShare: 0.75,
        peerNodesPerAddress: 8,
        peerNewAddressesPerMinute: 256,
      },
      legacy: { pub: null, rep: null, replyLimit: 50, ttlS: 3600 },
      log: { level: "info", statsIntervalS: 60 },
      uplinks: { mqtt: null, nats: null },
      security: {
        mode: "auto",
        secretKeyFile: null,
        allow: [],
        signing: { keyFile: null },
        trust: { keys: [], file: null },
        requireSigned: [],
        alertsRequireSigned: false,
        verifyCacheSize: 1024,
      },
      metrics: { listen: null, allowRemote: false },
      discovery: { enabled: false, group: "239.255.81.1", port: 5681, interface: null, minIntervalMs: 1000, maxIntervalMs: 5000, maxPeers: 32, allowInsecure: false },
      control: { enabled: true, path: "/srv/agent/.qis-edge/control.sock", maxClients: 8 },
    });
    expect(loadConfigFile(null, noEnv)).toEqual(c);
    expect(resolve({})).toEqual(c);
  });

  it("fills defaults around given keys, resolves paths, lower-cases the node id, completes peers", () => {
    const c = resolve({
      nodeId: "ABCDEF0123456789ABCDEF0123456789",
      stateDir: "state/a",
      store: { capacity: 10, file: "/var/lib/q.db" },
      peers: [{ pub: "tcp://10.0.0.2:5600" }, { name: "b", pub: "ipc:///tmp/b", store: null, codec: "legacy" }],
      synth: { maxNodesPerAddress: 1 },
    });
    expect(c.nodeId).toBe("abcdef0123456789abcdef0123456789");
    expect(c.stateDir).toBe("/srv/agent/state/a");
    expect(c.store).toEqual({ bind: "tcp://127.0.0.1:*", capacity: 10, file: "/var/lib/q.db", syncWrites: false });
    expect(c.peers).toEqual([
      { name: "tcp://10.0.0.2:5600", pub: "tcp://10.0.0.2:5600", store: null, codec: "qis", publicKey: null },
      { name: "b", pub: "ipc:///tmp/b", store: null, codec: "legacy", publicKey: null },
    ]);
    // minContributors' default (2) cannot exceed maxNodesPerAddress.
    expect(c.synth.minContributors).toBe(1);
    expect(resolve({ store: { file: "q.db", bind: null } }).store).toMatchObject({ file: "/srv/agent/q.db", bind: null });
  });

  it("does not change the input or share arrays with it", () => {
    const input = { subscribe: ["qis.a.>"], store: { capacity: 5 } };
    const c = resolve(input, { QIS_EDGE_STORE_CAPACITY: "7" });
    c.subscribe.push("x");
    expect(input).toEqual({ subscribe: ["qis.a.>"], store: { capacity: 5 } });
    expect(c.store.capacity).toBe(7);
  });

  it("the schema's defaults are the resolved defaults", () => {
    type S = { default?: unknown; properties: Record<string, S> };
    const props = AgentConfigSchema.properties as unknown as Record<string, S>;
    expect(props.stateDir!.default).toBe(CONFIG_DEFAULTS.stateDir);
    expect(props.store!.properties.capacity!.default).toBe(65536);
    expect(props.synth!.properties.sweepIntervalMs!.default).toBe(1000);
    expect(props.subscribe!.default).toEqual(["qis.>"]);
  });
});

describe("bounds", () => {
  // [path, lowest valid, highest valid]; one below and one above must each be refused at that path.
  const ints: [string, number, number][] = [
    ["/store/capacity", 1, 4194304],
    ["/batch/size", 1, 1024],
    ["/batch/lingerMs", 0, 1000],
    ["/hwm/send", 0, 1_000_000],
    ["/hwm/receive", 0, 1_000_000],
    ["/catchUp/pageSize", 1, 4096],
    ["/catchUp/timeoutMs", 1, 600_000],
    ["/synth/maxAddresses", 1, 1 << 20],
    ["/synth/maxContributions", 1, 1 << 24],
    ["/synth/maxNodes", 1, 1 << 20],
    ["/synth/maxNodesPerAddress", 1, 1024],
    ["/synth/maxHops", 0, 255],
    ["/synth/ttlS", 0, 0xffff_ffff],
    ["/synth/sweepIntervalMs", 10, 60_000],
    ["/legacy/replyLimit", 1, 10_000],
    ["/legacy/ttlS", 0, 2 ** 32 - 1],
  ];
  const at = (path: string, v: unknown): unknown => {
    const [, a, b] = path.split("/") as [string, string, string];
    return { [a]: { [b]: v } };
  };

  it.each(ints)("%s: integer %d..%d", (path, lo, hi) => {
    expect(() => resolve(at(path, lo))).not.toThrow();
    expect(() => resolve(at(path, hi))).not.toThrow();
    for (const bad of [lo - 1, hi + 1, lo + 0.5, "1", null]) {
      const p = problems(at(path, bad));
      expect(p).toEqual([{ path, expected: `an integer in ${lo}..${hi}`, found: typeof bad === "string" ? `"${bad}"` : String(bad) }]);
    }
  });

  it("number bounds: alertThreshold 0..1, minDelta 0..2, confidenceScale > 0, minIntervalMs >= 0", () => {
    expect(() => resolve({ synth: { alertThreshold: 0, minDelta: 2, confidenceScale: 1e-9, minIntervalMs: 0 } })).not.toThrow();
    expect(problems({ synth: { alertThreshold: 1.01, minDelta: -0.1, confidenceScale: 0, minIntervalMs: -1 } })).toEqual([
      { path: "/synth/alertThreshold", expected: "a number in 0..1", found: "1.01" },
      { path: "/synth/confidenceScale", expected: "a number greater than 0", found: "0" },
      { path: "/synth/minDelta", expected: "a number in 0..2", found: "-0.1" },
      { path: "/synth/minIntervalMs", expected: "a number >= 0", found: "-1" },
    ]);
  });

  it("cross-key bounds: minContributors <= maxNodesPerAddress, retryMinMs <= retryMaxMs", () => {
    expect(problems({ synth: { maxNodesPerAddress: 4, minContributors: 5 } })).toEqual([
      { path: "/synth/minContributors", expected: "an integer in 1..4 (at most synth.maxNodesPerAddress)", found: "5" },
    ]);
    expect(paths({ catchUp: { retryMaxMs: 50 } })).toEqual(["/catchUp/retryMaxMs"]);
    expect(paths({ catchUp: { retryMinMs: 20_000 } })).toEqual(["/catchUp/retryMinMs"]);
    expect(() => resolve({ catchUp: { retryMinMs: 500, retryMaxMs: 500 } })).not.toThrow();
  });

  it("endpoints: tcp host:port or * port for binds, an explicit port to connect to; ipc; nothing else", () => {
    const binds = ["tcp://127.0.0.1:*", "tcp://*:5600", "tcp://eth0:1", "tcp://[::1]:65535", "ipc:///tmp/q.sock", "inproc://q"];
    for (const bind of binds) expect(() => resolve({ pub: { bind }, security: { mode: "insecure" } })).not.toThrow();
    for (const bind of ["udp://x:1", "tcp://x", "tcp://x:0", "tcp://x:65536", "tcp://:5", "ipc://", "tcp://x:5 "]) {
      expect(paths({ pub: { bind } })).toEqual(["/pub/bind"]);
    }
    expect(() => resolve({ peers: [{ pub: "tcp://gateway.local:5600", store: "tcp://10.0.0.1:5601" }] })).not.toThrow();
    expect(problems({ peers: [{ pub: "tcp://10.0.0.1:*" }] })).toEqual([
      { path: "/peers/0/pub", expected: "a ZeroMQ endpoint to connect to: tcp://HOST:PORT, ipc://PATH or inproc://NAME", found: '"tcp://10.0.0.1:*"' },
    ]);
  });

  it("two sockets binding one endpoint is refused; * ports never clash", () => {
    expect(problems({ pub: { bind: "tcp://*:5600" }, store: { bind: "tcp://*:5600" }, security: { mode: "insecure" } })).toEqual([
      { path: "/store/bind", expected: "an endpoint no other socket of this agent binds", found: '"tcp://*:5600", also /pub/bind' },
    ]);
    expect(() => resolve({ pub: { bind: "tcp://*:*" }, store: { bind: "tcp://*:*" }, legacy: { pub: "tcp://*:*" }, security: { mode: "insecure" } })).not.toThrow();
  });
});

describe("problems", () => {
  it("unknown keys are errors at every level, with the known keys and a suggestion", () => {
    expect(problems({ stor: {}, store: { capactiy: 5 }, peers: [{ pub: "tcp://a:1", sotre: null }] })).toEqual([
      { path: "/store/capactiy", expected: 'one of the keys bind, capacity, file, syncWrites (did you mean "capacity"?)', found: 'an unknown key "capactiy"' },
      { path: "/peers/0/sotre", expected: 'one of the keys pub, store, codec, name, publicKey (did you mean "store"?)', found: 'an unknown key "sotre"' },
      {
        path: "/stor",
        expected: 'one of the keys nodeId, stateDir, pub, store, peers, subscribe, batch, hwm, catchUp, synth, legacy, log, uplinks, security, metrics, discovery, control (did you mean "store"?)',
        found: 'an unknown key "stor"',
      },
    ]);
    expect(problems({ xyz: 1 })[0]!.expected).not.toContain("did you mean");
    expect(() => resolve({ $schema: "./agent.schema.json" })).not.toThrow();
  });

  it("lists every problem at once, with exact paths, what was expected and what was found", () => {
    const err = catchError(
      () =>
        resolveConfig(
          {
            nodeId: "xyz",
            store: { capacity: 0, syncWrites: "yes" },
            peers: [{ codec: "x" }, { pub: "tcp://a:1" }, { pub: "tcp://a:1" }],
            subscribe: ["qis.>", "qis..a", 5],
            log: { level: "verbose" },
            batch: [],
          },
          { env: {}, cwd, source: "agent.json" },
        ),
      ConfigError,
    );
    expect(err.code).toBe("ERR_CONFIG");
    expect(err.source).toBe("agent.json");
    expect(err.problems).toEqual([
      { path: "/nodeId", expected: "32 hex digits (16 bytes) or null", found: '"xyz"' },
      { path: "/store/capacity", expected: "an integer in 1..4194304", found: "0" },
      { path: "/store/syncWrites", expected: "true or false", found: '"yes"' },
      {
        path: "/peers/0/pub",
        expected: "a ZeroMQ endpoint to connect to: tcp://HOST:PORT, ipc://PATH or inproc://NAME",
        found: "nothing (the key is required)",
      },
      { path: "/peers/0/codec", expected: 'one of "qis", "legacy"', found: '"x"' },
      {
        path: "/peers/2/pub",
        expected: "a peer name no other peer has (a peer without a name is named by its pub endpoint)",
        found: '"tcp://a:1", also the name of peer /peers/1',
      },
      { path: "/subscribe/2", expected: "a string", found: "5" },
      {
        path: "/subscribe/1",
        expected: 'an address pattern like "qis.hvac.>"',
        found: '"qis..a" (token 1 "" in "qis..a": expected 1..32 of [a-z0-9_-], starting and ending with [a-z0-9])',
      },
      { path: "/batch", expected: "an object with the keys size, lingerMs", found: "a list of 0 items" },
      { path: "/log/level", expected: 'one of "debug", "info", "warn", "error", "silent"', found: '"verbose"' },
    ]);
    expect(err.message).toMatch(/^10 problems: agent\.json: \/nodeId: expected 32 hex digits \(16 bytes\) or null, found "xyz"; agent\.json: \/store\/capacity: /);
  });

  it("a config that is not an object is one problem for the whole file", () => {
    expect(problems([1, 2])).toEqual([{ path: "", expected: "an object (an agent config)", found: "a list of 2 items" }]);
    expect(paths(null)).toEqual([""]);
  });

  it("named peers must have unique names", () => {
    expect(paths({ peers: [{ name: "a", pub: "tcp://x:1" }, { name: "a", pub: "tcp://y:1" }] })).toEqual(["/peers/1/name"]);
  });

  it("formatProblem: file paths after the source, env and syntax problems name their own place", () => {
    expect(formatProblem("a.json", { path: "/x", expected: "e", found: "f" })).toBe("a.json: /x: expected e, found f");
    expect(formatProblem("a.json", { path: "", expected: "e", found: "f" })).toBe("a.json: expected e, found f");
    expect(formatProblem("a.json", { path: "env:QIS_EDGE_X", expected: "e", found: "f" })).toBe("env:QIS_EDGE_X: expected e, found f");
    expect(formatProblem("a.json", { path: "a.json:3:4", expected: "e", found: "f" })).toBe("a.json:3:4: expected e, found f");
    expect(formatProblem("/a.json", { path: "/a.json:3:4", expected: "e", found: "f" })).toBe("/a.json:3:4: expected e, found f");
  });
});

describe("environment overrides", () => {
  it("each override replaces the file's value", () => {
    const c = resolve(
      { nodeId: "00000000000000000000000000000001", stateDir: "a", pub: { bind: "tcp://*:1" }, store: { capacity: 5, bind: "tcp://*:2" }, peers: [{ pub: "tcp://p:1" }], log: { level: "warn" }, security: { mode: "insecure" } },
      {
        QIS_EDGE_NODE_ID: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        QIS_EDGE_STATE_DIR: "/var/lib/qis",
        QIS_EDGE_PUB_BIND: "tcp://0.0.0.0:5600",
        QIS_EDGE_STORE_BIND: "none",
        QIS_EDGE_STORE_CAPACITY: "1000",
        QIS_EDGE_STORE_FILE: "store.db",
        QIS_EDGE_PEERS: "tcp://10.0.0.2:5600|tcp://10.0.0.2:5601, ipc:///tmp/x",
        QIS_EDGE_SUBSCRIBE: "qis.hvac.>,qis.iot.*.x",
        QIS_EDGE_LOG_LEVEL: "debug",
      },
    );
    expect(c.nodeId).toBe("ffffffffffffffffffffffffffffffff");
    expect(c.stateDir).toBe("/var/lib/qis");
    expect(c.pub.bind).toBe("tcp://0.0.0.0:5600");
    expect(c.store).toEqual({ bind: null, capacity: 1000, file: "/srv/agent/store.db", syncWrites: false });
    expect(c.peers).toEqual([
      { name: "tcp://10.0.0.2:5600", pub: "tcp://10.0.0.2:5600", store: "tcp://10.0.0.2:5601", codec: "qis", publicKey: null },
      { name: "ipc:///tmp/x", pub: "ipc:///tmp/x", store: null, codec: "qis", publicKey: null },
    ]);
    expect(c.subscribe).toEqual(["qis.hvac.>", "qis.iot.*.x"]);
    expect(c.log.level).toBe("debug");
    expect(resolve({ store: { file: "x" } }, { QIS_EDGE_STORE_FILE: "none" }).store.file).toBeNull();
  });

  it("an empty value counts as unset", () => {
    expect(resolve({ store: { capacity: 5 } }, { QIS_EDGE_STORE_CAPACITY: "", QIS_EDGE_LOG_LEVEL: " " }).store.capacity).toBe(5);
  });

  it("every bad value is a problem at env:NAME; the file's own problems are listed too", () => {
    const err = catchError(
      () =>
        resolve(
          { store: { capacity: 0 } },
          {
            QIS_EDGE_NODE_ID: "12",
            QIS_EDGE_PUB_BIND: "none",
            QIS_EDGE_STORE_CAPACITY: "0x10",
            QIS_EDGE_PEERS: "tcp://a:1|tcp://b:*,udp://c",
            QIS_EDGE_SUBSCRIBE: "qis.>,,foo.>",
            QIS_EDGE_LOG_LEVEL: "loud",
          },
        ),
      ConfigError,
    );
    expect(err.source).toBe("defaults");
    expect(err.problems.map((p) => [p.path, p.found])).toEqual([
      ["/store/capacity", "0"],
      ["env:QIS_EDGE_NODE_ID", '"12"'],
      ["env:QIS_EDGE_PUB_BIND", '"none"'],
      ["env:QIS_EDGE_STORE_CAPACITY", '"0x10"'],
      ["env:QIS_EDGE_PEERS", 'item 1 "tcp://b:*"'],
      ["env:QIS_EDGE_PEERS", 'item 2 "udp://c"'],
      ["env:QIS_EDGE_LOG_LEVEL", '"loud"'],
      ["env:QIS_EDGE_SUBSCRIBE", expect.stringMatching(/^item 2 "" \(/)],
      ["env:QIS_EDGE_SUBSCRIBE", expect.stringMatching(/^item 3 "foo\.>" \(/)],
    ]);
    expect(err.problems[3]!.expected).toBe("an integer in 1..4194304");
  });

  it("only env problems: the source is env", () => {
    expect(catchError(() => resolve({}, { QIS_EDGE_STORE_CAPACITY: "-1" }), ConfigError).source).toBe("env");
  });

  it("a peer item with three | is refused whole", () => {
    expect(problems({}, { QIS_EDGE_PEERS: "tcp://a:1|tcp://a:2|k|x" })).toEqual([
      { path: "env:QIS_EDGE_PEERS", expected: expect.stringContaining("PUB[|STORE[|KEY]]") as unknown as string, found: 'item 1 "tcp://a:1|tcp://a:2|k|x"' },
    ]);
  });

  it("a peer item may carry the peer's CURVE key: PUB|STORE|KEY or PUB||KEY", () => {
    const key = "LbF*x>Nu(P]=:WH:SnV%zV&qn5yX3e>?ihBAA:c7";
    const c = resolve({ security: { mode: "curve" } }, { QIS_EDGE_PEERS: `tcp://a:1|tcp://a:2|${key},tcp://b:1||${key}` });
    expect(c.peers.map((p) => [p.pub, p.store, p.publicKey])).toEqual([
      ["tcp://a:1", "tcp://a:2", key],
      ["tcp://b:1", null, key],
    ]);
    expect(problems({}, { QIS_EDGE_PEERS: "tcp://a:1|tcp://a:2|tcp://a:3" })).toEqual([
      { path: "env:QIS_EDGE_PEERS", expected: expect.stringContaining("KEY a CURVE public key") as unknown as string, found: 'item 1 "tcp://a:3"' },
    ]);
    // With CURVE, an env peer without a key is refused like a file one.
    expect(problems({ security: { mode: "curve" } }, { QIS_EDGE_PEERS: "tcp://a:1" }).map((p) => p.path)).toEqual(["env:QIS_EDGE_PEERS"]);
  });

  it("two env peers with one pub endpoint clash by name", () => {
    expect(problems({}, { QIS_EDGE_PEERS: "tcp://a:1,tcp://a:1" })).toEqual([
      {
        path: "env:QIS_EDGE_PEERS",
        expected: "a peer name no other peer has (a peer without a name is named by its pub endpoint)",
        found: 'item 2 "tcp://a:1", also the name of item 1',
      },
    ]);
  });

  it("a clash between an env bind and a file bind names the env variable", () => {
    expect(paths({ pub: { bind: "tcp://*:7" }, security: { mode: "insecure" } }, { QIS_EDGE_STORE_BIND: "tcp://*:7" })).toEqual(["env:QIS_EDGE_STORE_BIND"]);
  });
});

describe("loadConfigFile", () => {
  it("reads a file; relative paths resolve against cwd", () => {
    const f = file("ok.json", '\ufeff{ "store": { "capacity": 9 } }\n');
    expect(loadConfigFile(f, noEnv).store.capacity).toBe(9);
    expect(loadConfigFile("ok.json", { env: {}, cwd: dir }).store.capacity).toBe(9);
  });

  it("a JSON syntax error is FILE:LINE:COLUMN", () => {
    const f = file("syntax.json", '{\n  "a": 1,\n  "b": 2\n  "c": 3\n}\n');
    const err = catchError(() => loadConfigFile(f, noEnv), ConfigError);
    expect(err.source).toBe(f);
    expect(err.problems).toEqual([{ path: `${f}:4:3`, expected: '"," or "}" after a value in an object', found: '"\\""' }]);
    expect(err.message).toBe(`${f}:4:3: expected "," or "}" after a value in an object, found "\\""`);
    const cases: [string, string, string][] = [
      ["", "1:1", "the end of the file"],
      ["{", "1:2", "the end of the file"],
      ['{"a": tru}', "1:7", '"t"'],
      ['{"a": 01}', "1:8", '"1"'],
      ['{"a": "x\ny"}', "1:9", '"\\n"'],
      ["{'a': 1}", "1:2", "\"'\""],
      ['{"a": 1,}', "1:9", '"}"'],
      ['{"a": 1} x', "1:10", '"x"'],
      ['[\r\n  1,\r\n  ]', "3:3", '"]"'],
    ];
    for (const [text, at, found] of cases) {
      const s = file("s.json", text);
      const e = catchError(() => loadConfigFile(s, noEnv), ConfigError);
      expect([e.problems[0]!.path, e.problems[0]!.found], JSON.stringify(text)).toEqual([`${s}:${at}`, found]);
    }
  });

  it("a repeated key is a problem (JSON.parse would silently keep the last)", () => {
    const f = file("dup.json", '{\n  "store": { "capacity": 5 },\n  "store": { "capacity": 6, "capacity": 7 }\n}');
    expect(catchError(() => loadConfigFile(f, noEnv), ConfigError).problems).toEqual([
      { path: "/store/capacity", expected: "each key once (first at line 3:14)", found: "it again at line 3:29" },
      { path: "/store", expected: "each key once (first at line 2:3)", found: "it again at line 3:3" },
    ]);
  });

  it('"__proto__" is an unknown key, not a prototype', () => {
    expect(paths(JSON.parse('{"__proto__": {"x": 1}}'))).toEqual(["/__proto__"]);
    const f = file("proto.json", '{"__proto__": {"stateDir": "x"}}');
    expect(catchError(() => loadConfigFile(f, noEnv), ConfigError).problems.map((p) => p.path)).toEqual(["/__proto__"]);
  });

  it("an unreadable file is a problem naming the error", () => {
    const err = catchError(() => loadConfigFile(join(dir, "missing.json"), noEnv), ConfigError);
    expect(err.problems).toEqual([{ path: "", expected: "a readable JSON file", found: "ENOENT" }]);
  });
});

describe("configJsonSchema", () => {
  it("is JSON, a 2020-12 schema with a description and a default on every key, that accepts the defaults", () => {
    const schema = JSON.parse(JSON.stringify(configJsonSchema())) as { $schema: string; properties: Record<string, unknown> };
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    const walk = (s: Record<string, unknown>, path: string, required = false): void => {
      if (path !== "" && path !== "/$schema") expect(typeof s.description, path).toBe("string");
      if (s.type === "object" && s.properties) {
        const req = (s.required as string[] | undefined) ?? [];
        for (const [k, v] of Object.entries(s.properties as Record<string, Record<string, unknown>>)) walk(v, `${path}/${k}`, req.includes(k));
      } else if (path !== "/$schema" && !required) {
        expect(s.default, path).not.toBeUndefined();
      }
    };
    walk(schema as unknown as Record<string, unknown>, "");
    const { $schema: _, ...withoutMeta } = schema;
    expect(Compile(AgentConfigSchema).Check(CONFIG_DEFAULTS)).toBe(true);
    expect(withoutMeta).toEqual(JSON.parse(JSON.stringify(AgentConfigSchema)));
  });
});

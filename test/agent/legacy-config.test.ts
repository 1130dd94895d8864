/**
 * The config of legacy links (docs/legacy.md "Configuration", docs/config.md): legacy.ttlS, no
 * store on a legacy peer, legacy peers in QIS_EDGE_PEERS, the example file the docs show, and
 * descriptions that say what the legacy wire is (not JSON).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configJsonSchema } from "../../src/agent/config-schema.js";
import { ConfigError, resolveConfig, type AgentConfig } from "../../src/agent/config.js";
import { catchError } from "../catch-error.js";
import { runCli } from "../cli/run-cli.js";

const resolve = (input: unknown, env: NodeJS.ProcessEnv = {}): AgentConfig => resolveConfig(input, { env, cwd: "/srv/agent" });
const problems = (input: unknown, env: NodeJS.ProcessEnv = {}) => catchError(() => resolve(input, env), ConfigError).problems;
const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
/** Stray QIS_EDGE_* variables of whoever runs the tests must not change the answers. */
const clean = Object.fromEntries(
  ["NODE_ID", "STATE_DIR", "PUB_BIND", "STORE_BIND", "STORE_CAPACITY", "STORE_FILE", "PEERS", "SUBSCRIBE", "LOG_LEVEL"].map((k) => [`QIS_EDGE_${k}`, ""]),
);
const dir = mkdtempSync(join(tmpdir(), "qis-legacy-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NO_STORE = expect.stringContaining("no store for a legacy peer") as unknown as string;

describe("legacy.ttlS", () => {
  it("defaults to 3600; 0..2^32-1; 0 (never expire) is allowed", () => {
    expect(resolve({}).legacy.ttlS).toBe(3600);
    expect(resolve({ legacy: { ttlS: 0 } }).legacy.ttlS).toBe(0);
    expect(resolve({ legacy: { ttlS: 86_400 } }).legacy).toEqual({ pub: null, rep: null, replyLimit: 50, ttlS: 86_400 });
    expect(problems({ legacy: { ttlS: -1 } })).toEqual([{ path: "/legacy/ttlS", expected: "an integer in 0..4294967295", found: "-1" }]);
  });
});

describe("peers[].store on a legacy peer", () => {
  it("is refused with its path; null, and a store on a qis peer, are fine", () => {
    const peers = [
      { name: "a", pub: "tcp://10.0.0.2:5600", store: "tcp://10.0.0.2:5601" },
      { name: "py", pub: "tcp://10.0.0.7:5556", store: "tcp://10.0.0.7:5557", codec: "legacy" },
    ];
    expect(problems({ peers })).toEqual([{ path: "/peers/1/store", expected: NO_STORE, found: '"tcp://10.0.0.7:5557"' }]);
    expect(problems({ peers })[0]!.expected).toMatch(/remove "store" or set it to null$/);
    expect(resolve({ peers: [peers[0], { ...peers[1], store: null }] }).peers[1]).toEqual({ name: "py", pub: "tcp://10.0.0.7:5556", store: null, codec: "legacy", publicKey: null });
  });

  it("is refused by `config check` and by `run`, exit 2, one line naming /peers/0/store", async () => {
    const file = join(dir, "legacy-store.json");
    writeFileSync(file, JSON.stringify({ stateDir: join(dir, "state"), peers: [{ pub: "tcp://127.0.0.1:5556", store: "tcp://127.0.0.1:5557", codec: "legacy" }] }));
    for (const args of [["config", "check", file], ["run", "--config", file]]) {
      const r = await runCli(args, undefined, clean);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.split("\n")).toEqual([
        `ERR_CONFIG: ${file}: 1 problem`,
        '  /peers/0/store: expected no store for a legacy peer (legacy stores are never queried: nothing missed can be caught up from one); remove "store" or set it to null, found "tcp://127.0.0.1:5557"',
        "",
      ]);
    }
  });
});

describe("QIS_EDGE_PEERS with legacy peers", () => {
  it("legacy:PUB is a legacy peer; the old PUB[|STORE] items are unchanged", () => {
    const c = resolve({}, { QIS_EDGE_PEERS: "tcp://10.0.0.2:5600|tcp://10.0.0.2:5601, legacy:tcp://10.0.0.7:5556 ,ipc:///tmp/x,legacy: ipc:///tmp/py" });
    expect(c.peers).toEqual([
      { name: "tcp://10.0.0.2:5600", pub: "tcp://10.0.0.2:5600", store: "tcp://10.0.0.2:5601", codec: "qis", publicKey: null },
      { name: "tcp://10.0.0.7:5556", pub: "tcp://10.0.0.7:5556", store: null, codec: "legacy", publicKey: null },
      { name: "ipc:///tmp/x", pub: "ipc:///tmp/x", store: null, codec: "qis", publicKey: null },
      { name: "ipc:///tmp/py", pub: "ipc:///tmp/py", store: null, codec: "legacy", publicKey: null },
    ]);
  });

  it("a legacy item with a STORE, a bad endpoint, or a clashing name is a problem at env:QIS_EDGE_PEERS", () => {
    expect(problems({}, { QIS_EDGE_PEERS: "tcp://a:1,legacy:tcp://b:2|tcp://b:3" })).toEqual([
      { path: "env:QIS_EDGE_PEERS", expected: expect.stringMatching(/^no store for a legacy peer .*; drop "\|STORE"$/) as unknown as string, found: 'item 2 "tcp://b:3"' },
    ]);
    expect(problems({}, { QIS_EDGE_PEERS: "legacy:udp://b:2" })).toEqual([
      { path: "env:QIS_EDGE_PEERS", expected: expect.stringContaining("[legacy:]PUB[|STORE[|KEY]],...") as unknown as string, found: 'item 1 "udp://b:2"' },
    ]);
    // "legacy" without the colon is no prefix: the endpoint check shows the whole item.
    expect(problems({}, { QIS_EDGE_PEERS: "legacytcp://b:2" })[0]!.found).toBe('item 1 "legacytcp://b:2"');
    expect(problems({}, { QIS_EDGE_PEERS: "tcp://b:2,legacy:tcp://b:2" })).toEqual([
      { path: "env:QIS_EDGE_PEERS", expected: expect.stringContaining("a peer name no other peer has") as unknown as string, found: 'item 2 "tcp://b:2", also the name of item 1' },
    ]);
  });

  it("`config --help` shows the syntax", async () => {
    const r = await runCli(["config", "--help"], undefined, clean);
    expect(r.stdout.toString()).toContain("[legacy:]PUB[|STORE[|KEY]],...");
  });
});

describe("examples/legacy.json, the example of docs/legacy.md", () => {
  it("is the JSON block of docs/legacy.md's Configuration section", () => {
    const section = read("docs/legacy.md").split("\n## Configuration\n")[1]!.split("\n## ")[0]!;
    const block = /```json\n([\s\S]*?)```/.exec(section);
    expect(block, "a ```json block in docs/legacy.md, Configuration").not.toBeNull();
    expect(block![1]).toBe(read("examples/legacy.json"));
  });

  it("passes `config check`, with a legacy peer and both legacy sockets on", async () => {
    const r = await runCli(["config", "check", "examples/legacy.json"], undefined, clean);
    expect(r.stderr).toBe("");
    expect(r.stdout.toString()).toBe("ok: examples/legacy.json\n");
    expect(r.code).toBe(0);
    const c = resolve(JSON.parse(read("examples/legacy.json")));
    expect(c.peers.map((p) => p.codec)).toEqual(["qis", "legacy"]);
    expect(c.legacy.pub).not.toBeNull();
    expect(c.legacy.rep).not.toBeNull();
  });
});

describe("what the docs and the schema call the legacy wire", () => {
  it("the codec and legacy.pub: the !ffidd struct and domain|node|ctx text, not JSON", () => {
    type S = { description: string; properties: Record<string, S>; items: S };
    const schema = configJsonSchema() as unknown as S;
    const codec = schema.properties.peers!.items.properties.codec!.description;
    const pub = schema.properties.legacy!.properties.pub!.description;
    for (const d of [codec, pub]) {
      expect(d).toContain("!ffidd");
      expect(d).toContain("domain|node|ctx");
      expect(d).not.toMatch(/JSON/);
    }
    const rows = read("docs/config.md")
      .split("\n")
      .filter((l) => l.startsWith("| `peers[].codec`") || l.startsWith("| `legacy.pub`"));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toContain("!ffidd");
      expect(row).not.toMatch(/JSON/);
    }
  });
});

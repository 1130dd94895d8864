import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Compile } from "typebox/compile";
import { runCli } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qis-cli-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
/** Stray QIS_EDGE_* variables of whoever runs the tests must not change the answers. */
const clean = { QIS_EDGE_NODE_ID: "", QIS_EDGE_STATE_DIR: "", QIS_EDGE_PUB_BIND: "", QIS_EDGE_STORE_BIND: "", QIS_EDGE_STORE_CAPACITY: "", QIS_EDGE_STORE_FILE: "", QIS_EDGE_PEERS: "", QIS_EDGE_SUBSCRIBE: "", QIS_EDGE_LOG_LEVEL: "" };

describe("qis-edge config", () => {
  it("schema prints valid JSON: a JSON Schema with descriptions and defaults that accepts the example", async () => {
    const r = await runCli(["config", "schema"], undefined, clean);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout.toString()) as { $schema: string; properties: Record<string, { description?: string; properties?: Record<string, { default?: unknown }> }> };
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.properties.store!.description).toBe("The local packet store.");
    expect(schema.properties.store!.properties!.capacity!.default).toBe(65536);
    const { $schema: _, ...rest } = schema;
    const { readFileSync } = await import("node:fs");
    const example = JSON.parse(readFileSync(new URL("../../examples/agent.json", import.meta.url), "utf8")) as unknown;
    expect(Compile(rest as never).Check(example)).toBe(true);
  });

  it("check on the example exits 0 with one line", async () => {
    const r = await runCli(["config", "check", "examples/agent.json"], undefined, clean);
    expect(r.stderr).toBe("");
    expect(r.stdout.toString()).toBe("ok: examples/agent.json\n");
    expect(r.code).toBe(0);
  });

  it("check on a bad file exits 2 listing each problem with its path", async () => {
    const f = file(
      "bad.json",
      JSON.stringify({ store: { capacity: 0, capactiy: 5 }, peers: [{ pub: "udp://x" }], subscribe: ["qis..a"], log: { level: "loud" }, batch: { size: 2000 } }),
    );
    const r = await runCli(["config", "check", f], undefined, clean);
    expect(r.code).toBe(2);
    expect(r.stdout.length).toBe(0);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(`ERR_CONFIG: ${f}: 6 problems`);
    expect(lines.slice(1).map((l) => l.slice(0, l.indexOf(": expected")))).toEqual([
      "  /store/capactiy",
      "  /store/capacity",
      "  /peers/0/pub",
      "  /subscribe/0",
      "  /batch/size",
      "  /log/level",
    ]);
    expect(lines[2]).toBe("  /store/capacity: expected an integer in 1..4194304, found 0");
  });

  it("a JSON syntax error gives FILE:LINE:COLUMN", async () => {
    const f = file("syntax.json", '{\n  "store": { "capacity": 10 }\n  "log": {}\n}\n');
    const r = await runCli(["config", "check", f], undefined, clean);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`ERR_CONFIG: ${f}: 1 problem\n  ${f}:3:3: expected "," or "}" after a value in an object, found "\\""\n`);
  });

  it("check reads the environment as run does; --ignore-env leaves it out", async () => {
    const env = { ...clean, QIS_EDGE_STORE_CAPACITY: "lots" };
    const r = await runCli(["config", "check", "examples/agent.json"], undefined, env);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('ERR_CONFIG: env: 1 problem\n  env:QIS_EDGE_STORE_CAPACITY: expected an integer in 1..4194304, found "lots"\n');
    const ignored = await runCli(["config", "check", "examples/agent.json", "--ignore-env"], undefined, env);
    expect(ignored.code).toBe(0);
  });

  it("show prints the resolved config; no file gives the defaults with env overrides", async () => {
    const r = await runCli(["config", "show"], undefined, { ...clean, QIS_EDGE_LOG_LEVEL: "debug", QIS_EDGE_PEERS: "tcp://10.0.0.2:5600" });
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout.toString()) as { log: { level: string }; peers: unknown[]; store: { capacity: number } };
    expect(c.log.level).toBe("debug");
    expect(c.store.capacity).toBe(65536);
    expect(c.peers).toEqual([{ name: "tcp://10.0.0.2:5600", pub: "tcp://10.0.0.2:5600", store: null, codec: "qis", publicKey: null }]);
  });

  it("usage errors exit 2 with one line; --help lists every env override", async () => {
    for (const args of [["config"], ["config", "check"], ["config", "frob"], ["config", "schema", "x"], ["config", "--frob"]]) {
      const r = await runCli(args, undefined, clean);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(/^ERR_USAGE: [^\n]+\n$/);
    }
    const help = await runCli(["config", "--help"], undefined, clean);
    expect(help.code).toBe(0);
    for (const name of Object.keys(clean)) expect(help.stdout.toString()).toContain(name);
  });
});

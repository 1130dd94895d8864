/**
 * The shipped configs (examples/*.json, targets/*.agent.json) are valid and coherent: each
 * passes `config check` (library and real CLI), and whatever is meant to be reached from other
 * hosts is bound where they look for it. examples/agent.json is a symmetric two-host file (the
 * peer runs the same one), so a peer's ports must be the ones the file binds itself: its store
 * once sat on a random loopback port while its peer entry expected the other side's on :5601.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfigFile, type AgentConfig } from "../../src/agent/config.js";
import { root, runCli } from "../cli/run-cli.js";

const files = [
  ...readdirSync(join(root, "examples"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => `examples/${f}`),
  ...readdirSync(join(root, "targets"))
    .filter((f) => f.endsWith(".agent.json"))
    .map((f) => `targets/${f}`),
];

/** host and port of a tcp endpoint ("*" for a free port), or null for ipc/inproc. */
function tcp(endpoint: string): { host: string; port: string } | null {
  const m = /^tcp:\/\/(.+):(\d+|\*)$/.exec(endpoint);
  return m === null ? null : { host: m[1]!, port: m[2]! };
}

const LOOPBACK = /^(127\.|localhost$|\[::1\]$|::1$)/;

/** Why `endpoint` cannot be reached from another host, or null. */
function unreachable(endpoint: string | null, what: string): string | null {
  if (endpoint === null) return `${what} is not bound`;
  const t = tcp(endpoint);
  if (t === null) return `${what} ${endpoint} is not a tcp endpoint`;
  if (t.port === "*") return `${what} ${endpoint} is on a random port no peer can know`;
  if (LOOPBACK.test(t.host)) return `${what} ${endpoint} is on loopback`;
  return null;
}

/** Every incoherence of a config meant to be peered with (a device target, or one with peers). */
function problems(config: AgentConfig): string[] {
  const out: string[] = [];
  const pub = unreachable(config.pub.bind, "pub.bind");
  const store = unreachable(config.store.bind, "store.bind");
  if (pub !== null) out.push(pub);
  if (store !== null) out.push(store);
  for (const [i, peer] of config.peers.entries()) {
    if (peer.codec === "legacy") continue;
    const peerPub = tcp(peer.pub);
    const ownPub = tcp(config.pub.bind);
    if (peerPub !== null && ownPub !== null && peerPub.port !== ownPub.port)
      out.push(`peers/${i}/pub port ${peerPub.port}, but this file binds its own pub on ${ownPub.port}`);
    if (peer.store === null) {
      out.push(`peers/${i} has no store: no catch-up from it`);
      continue;
    }
    const peerStore = tcp(peer.store);
    const ownStore = config.store.bind === null ? null : tcp(config.store.bind);
    if (peerStore !== null && peerStore.port !== ownStore?.port)
      out.push(`peers/${i}/store port ${peerStore.port}, but this file binds its own store on ${ownStore?.port ?? "nothing"}`);
  }
  return out;
}

describe("shipped configs", () => {
  it("there are some (examples/agent.json and one per target)", () => {
    expect(files).toContain("examples/agent.json");
    expect(files.filter((f) => f.startsWith("targets/")).length).toBeGreaterThanOrEqual(4);
  });

  it.each(files)("%s passes config check (library)", (file) => {
    expect(() => loadConfigFile(join(root, file), { env: {} })).not.toThrow();
  });

  // The uplink examples name credential and TLS files that exist on the device only: on this
  // machine `config check` must find them missing, and the rest of the file valid.
  const deviceFiles: Record<string, string[]> = {
    "examples/agent-mqtt.json": [
      "  /uplinks/mqtt/passwordFile: expected a readable file, found /etc/qis-edge/mqtt-password, which does not exist",
      "  /uplinks/mqtt/tls/ca: expected a readable file, found /etc/qis-edge/broker-ca.pem, which does not exist",
    ],
    "examples/agent-nats.json": [
      "  /uplinks/nats/credsFile: expected a readable file, found /etc/qis-edge/site-7.creds, which does not exist",
      "  /uplinks/nats/tls/ca: expected a readable file, found /etc/qis-edge/nats-ca.pem, which does not exist",
    ],
  };

  it.each(files)("%s passes qis-edge config check (CLI)", async (file) => {
    const missing = deviceFiles[file];
    const r = await runCli(["config", "check", file]);
    if (missing === undefined) {
      expect(r.stderr).toBe("");
      expect(r.stdout.toString()).toBe(`ok: ${file}\n`);
      expect(r.code).toBe(0);
      return;
    }
    expect(r.stderr).toBe([`ERR_CONFIG: ${file}: ${missing.length} problems`, ...missing, ""].join("\n"));
    expect(r.code).toBe(2);
    const schemaOnly = await runCli(["config", "check", "--schema-only", file]);
    expect(schemaOnly.stderr).toBe("");
    expect(schemaOnly.stdout.toString()).toBe(`ok (schema only): ${file}\n`);
    expect(schemaOnly.code).toBe(0);
  });

  it.each(files)("%s binds its pub and store where its peers (and other hosts) look for them", (file) => {
    expect(problems(loadConfigFile(join(root, file), { env: {} }))).toEqual([]);
  });

  it("the coherence check catches the old examples/agent.json (store left on a random loopback port)", () => {
    const old = loadConfigFile(join(root, "examples/agent.json"), { env: {} });
    const broken: AgentConfig = { ...old, store: { ...old.store, bind: "tcp://127.0.0.1:*" } };
    expect(problems(broken)).toEqual([
      "store.bind tcp://127.0.0.1:* is on a random port no peer can know",
      "peers/0/store port 5601, but this file binds its own store on *",
    ]);
  });

  it("docs/config.md shows examples/agent.json as it is", () => {
    const doc = readFileSync(join(root, "docs/config.md"), "utf8");
    const block = /## Example\n[^\n]*\n```json\n([\s\S]*?)```/.exec(doc);
    expect(block).not.toBeNull();
    expect(JSON.parse(block![1]!)).toEqual(JSON.parse(readFileSync(join(root, "examples/agent.json"), "utf8")));
  });
});

/**
 * The signing config keys through `config check` (accepted, refused with paths), an agent's
 * start with a bad trust file, and `qis-edge inspect --trust` on the signed vectors.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, resolveConfig } from "../../src/agent/config.js";
import { createAgent } from "../../src/agent/agent.js";
import { catchError } from "../catch-error.js";
import { runCli } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qis-cli-signing-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const clean = { QIS_EDGE_NODE_ID: "", QIS_EDGE_STATE_DIR: "", QIS_EDGE_PUB_BIND: "", QIS_EDGE_STORE_BIND: "", QIS_EDGE_PEERS: "", QIS_EDGE_SUBSCRIBE: "", QIS_EDGE_LOG_LEVEL: "" };
const V = JSON.parse(readFileSync(new URL("../vectors/signed.json", import.meta.url), "utf8")) as { trust: unknown; vectors: { name: string; hex: string }[] };
const hexOf = (name: string): string => V.vectors.find((v) => v.name === name)!.hex;
const KEY = "d42c24a24616fd1f5e94d96f177f08d390dd4fe74e1ef95329143b7c44009b5c";
const NODE = "0123456789abcdef0123456789abcdef";

describe("config: security.signing, trust, requireSigned", () => {
  it("accepts a full signing setup and resolves its paths", async () => {
    const security = { signing: { keyFile: "sig.key" }, trust: { keys: [{ publicKey: KEY.toUpperCase(), nodeIds: [NODE, "*"], name: "a" }], file: "trust.json" }, requireSigned: ["qis.iot.>"], alertsRequireSigned: true, verifyCacheSize: 0 };
    const trustFile = file("good-trust.json", JSON.stringify({ keys: [{ publicKey: KEY, nodeIds: ["*"] }] }));
    const f = file("good.json", JSON.stringify({ stateDir: join(dir, "state"), security: { ...security, trust: { ...security.trust, file: trustFile } } }));
    const r = await runCli(["config", "check", f], undefined, clean);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const c = resolveConfig({ stateDir: "/s", security }, { env: {}, cwd: "/w" });
    expect(c.security.signing.keyFile).toBe("/s/sig.key");
    expect(c.security.trust.file).toBe("/w/trust.json");
    expect(c.security.trust.keys[0]!.publicKey).toBe(KEY);
  });

  it("refuses bad keys, node ids, patterns and sizes, each with its path", async () => {
    const security = {
      signing: { keyFile: "" },
      trust: { keys: [{ publicKey: "abc", nodeIds: ["xyz"] }, { publicKey: KEY, nodeIds: [] }, { publicKey: KEY, nodeIds: [NODE], extra: 1 }] },
      requireSigned: ["qis..iot"],
      alertsRequireSigned: "yes",
      verifyCacheSize: 65_537,
    };
    const f = file("bad.json", JSON.stringify({ security }));
    const r = await runCli(["config", "check", f], undefined, clean);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ERR_CONFIG: .*bad\.json: \d+ problems$/);
    const paths = lines.slice(1).map((l) => l.slice(2, l.indexOf(": expected")));
    for (const p of [
      "/security/signing/keyFile",
      "/security/trust/keys/0/publicKey",
      "/security/trust/keys/0/nodeIds/0",
      "/security/trust/keys/1/nodeIds",
      "/security/trust/keys/2/extra",
      "/security/requireSigned/0",
      "/security/alertsRequireSigned",
      "/security/verifyCacheSize",
    ])
      expect(paths).toContain(p);
    expect(r.stderr).toContain("/security/trust/keys/0/publicKey: expected an Ed25519 public key: 64 hex digits");
    expect(r.stderr).toContain('/security/trust/keys/0/nodeIds/0: expected a node id (32 hex digits) or "*"');
    const e = catchError(() => resolveConfig({ security: { requireSigned: ["qis.*.>", "not a pattern"] } }, { env: {} }), ConfigError);
    expect(e.problems.map((p) => p.path)).toEqual(["/security/requireSigned/1"]);
  });

  it("config check reads the trust file and the signing key file as run would", async () => {
    const notKey = file("not-a-key.pem", "hello\n");
    const badTrust = file("bad-trust-check.json", JSON.stringify({ keys: [{ publicKey: KEY, nodeIds: [NODE], colour: "red" }] }));
    const f = file("files.json", JSON.stringify({ security: { signing: { keyFile: notKey }, trust: { file: badTrust } } }));
    const r = await runCli(["config", "check", f], undefined, clean);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(`ERR_CONFIG: ${f}: 2 problems`);
    expect(lines[1]).toMatch(/^ {2}\/security\/signing\/keyFile: expected a readable Ed25519 signing key file \(qis-edge keygen --signing writes one\), found .*not-a-key\.pem does not hold a PEM private key/);
    expect(lines[2]).toBe(`  /security/trust/file: expected a readable trust file: { "keys": [ { "publicKey", "nodeIds" } ] }, found ${badTrust}: keys[0]: unknown key "colour" (publicKey, nodeIds, name)`);
  });

  it("an agent whose trust file is missing or malformed does not start, and says which file and why", async () => {
    type Failure = { code: string; message: string; cause?: { code: string } };
    const start = async (trustFile: string): Promise<Failure> => {
      const config = resolveConfig({ stateDir: mkdtempSync(join(dir, "st-")), log: { level: "silent" }, security: { trust: { file: trustFile } } }, { env: {} });
      const agent = await createAgent(config).catch((e: unknown) => e as Failure);
      if ("close" in agent) {
        await (agent as unknown as { close(): Promise<void> }).close();
        throw new Error("the agent started");
      }
      return agent;
    };
    const missing = await start(join(dir, "none.json"));
    expect(missing.code).toBe("ERR_AGENT_START");
    expect(missing.cause?.code).toBe("ERR_TRUST_FILE");
    expect(missing.message).toContain("none.json: ENOENT");
    const bad = file("bad-trust.json", JSON.stringify({ keys: [{ publicKey: KEY, nodeIds: ["nope"] }] }));
    const invalid = await start(bad);
    expect(invalid.cause?.code).toBe("ERR_TRUST_INVALID");
    expect(invalid.message).toContain('bad-trust.json: keys[0]: nodeIds[0]: expected a node id (32 hex digits) or "*", got "nope"');
  });
});

describe("qis-edge inspect --trust", () => {
  const trust = file("trust.json", JSON.stringify(V.trust));
  const run = (name: string) => runCli(["inspect", "--hex", "--trust", trust], Buffer.from(hexOf(name)), clean);

  it("shows a valid signature and an unsigned packet; exits 0", async () => {
    const ok = await run("valid");
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/^note: the packet expired/); // the vectors' time is fixed in the past
    const json = JSON.parse(ok.stdout.toString()) as Record<string, unknown>;
    expect(json.verdict).toBe("OK");
    expect(json.signatureVerdict).toBe(`valid signature by key A for node ${NODE}`);
    expect(json.flags).toEqual(["signed"]);
    const unsigned = await run("unsigned");
    expect((JSON.parse(unsigned.stdout.toString()) as Record<string, unknown>).signatureVerdict).toBe(`unsigned packet from node ${NODE}`);
    const none = await runCli(["inspect", "--hex"], Buffer.from(hexOf("valid")), clean);
    expect((JSON.parse(none.stdout.toString()) as Record<string, unknown>).signatureVerdict).toBeUndefined();
  });

  it.each([
    ["tampered-body", "bad signature: "],
    ["tampered-signature", "bad signature: "],
    ["flag-without-signature", "bad signature: "],
    ["unknown-key", "unknown key: key_id 1418cb74e0afb9ba"],
    ["key-not-allowed", "key not allowed: key A may not sign for node fedcba9876543210fedcba9876543210"],
  ])("%s: exit 1, ERR_PACKET_SIGNATURE %s…", async (name, start) => {
    const r = await run(name);
    expect(r.code).toBe(1);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr.startsWith(`ERR_PACKET_SIGNATURE: ${start}`)).toBe(true);
  });

  it("a bad trust file is exit 2 with its code", async () => {
    const r = await runCli(["inspect", "--hex", "--trust", join(dir, "nope.json")], Buffer.from(hexOf("valid")), clean);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ERR_TRUST_FILE: cannot read the trust file .*nope\.json: ENOENT/);
  });
});

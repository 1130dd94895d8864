/**
 * CURVE on peer links with an allowlist (issue 19, docs/security.md), with real sockets: a peer
 * whose key is allowed gets live packets and catch-up as before; one whose key is not, or one
 * without CURVE, receives nothing and reads nothing from the store; plain links may not bind
 * beyond loopback.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { createAgent } from "../../src/agent/agent.js";
import { ConfigError, resolveConfig } from "../../src/agent/config.js";
import { publicKeyOf, readKeyFile, writeNewKeyFile } from "../../src/agent/keys.js";
import { createLogger } from "../../src/agent/log.js";
import { decodeAnswer, encodeQuery } from "../../src/link/zmq/wire.js";
import { closeAll, observation, startAgent, tempDir, testConfig, waitFor } from "./harness.js";

const sockets: zmq.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await closeAll();
});

function keyFile(): { file: string; publicKey: string } {
  const file = join(tempDir("qis-key-"), "curve.key");
  return { file, publicKey: writeNewKeyFile(file).publicKey };
}

async function quiet(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe("CURVE with an allowlist", () => {
  it("an allowed peer receives live packets and catches up; a peer whose key is not allowed gets nothing", async () => {
    const ka = keyFile();
    const kb = keyFile();
    const kc = keyFile();
    const a = await startAgent({ security: { secretKeyFile: ka.file, allow: [kb.publicKey] } });
    a.observe(observation("hvac", "before", 0.5, 0.9, 3)); // for catch-up
    const peerOfA = { name: "a", pub: a.endpoints.pub, store: a.endpoints.store!, publicKey: ka.publicKey };
    const b = await startAgent({ security: { secretKeyFile: kb.file }, peers: [peerOfA] });
    const c = await startAgent({ security: { secretKeyFile: kc.file }, peers: [peerOfA] });
    await waitFor(() => b.store.collect("qis.hvac.>").length === 1, () => "b caught up");
    await waitFor(() => b.peers[0]!.up, () => "b up");
    await quiet(200); // subscription
    a.observe(observation("hvac", "after", -0.5, 0.9, 3));
    await waitFor(() => b.store.collect("qis.hvac.>").length === 2, () => `b holds ${b.store.collect("qis.hvac.>").length}`);
    await waitFor(() => (a.stats().security.deniedKeys[kc.publicKey] ?? 0) >= 2, () => JSON.stringify(a.stats().security));
    await quiet(300);
    expect(c.store.collect("qis.hvac.>")).toHaveLength(0);
    expect(c.peers[0]!.up).toBe(false);
    expect(c.stats().peers[0]!.caughtUpPackets).toBe(0);
    const s = a.stats().security;
    expect(s.mode).toBe("curve");
    expect(s.publicKey).toBe(ka.publicKey);
    expect(s.deniedKeys[kb.publicKey]).toBeUndefined();
    expect(s.accepted).toBeGreaterThanOrEqual(2);
    expect(b.stats().security.publicKey).toBe(kb.publicKey);
  });

  it("a client without CURVE, or with the wrong server key, reads nothing from the store", async () => {
    const ka = keyFile();
    const kb = keyFile();
    const a = await startAgent({ security: { secretKeyFile: ka.file, allow: [kb.publicKey] } });
    a.observe(observation("hvac", "secret", 0.5, 0.9, 3));
    const plain = new zmq.Dealer({ linger: 0, receiveTimeout: 1000 });
    const b = readKeyFile(kb.file);
    // An allowed client key, but it expects another server: the handshake fails on its side.
    const wrongServer = new zmq.Dealer({ linger: 0, receiveTimeout: 1000, curveServerKey: kb.publicKey, curvePublicKey: b.publicKey, curveSecretKey: b.secretKey });
    const allowed = new zmq.Dealer({ linger: 0, receiveTimeout: 5000, curveServerKey: ka.publicKey, curvePublicKey: b.publicKey, curveSecretKey: b.secretKey });
    sockets.push(plain, wrongServer, allowed);
    for (const d of [plain, wrongServer, allowed]) {
      d.connect(a.endpoints.store!);
      await d.send(encodeQuery(1, 0, 10, "qis.>"));
    }
    await expect(plain.receive()).rejects.toMatchObject({ code: "EAGAIN" });
    await expect(wrongServer.receive()).rejects.toMatchObject({ code: "EAGAIN" });
    const answer = decodeAnswer(await allowed.receive());
    expect(answer.ok && answer.reply.count).toBe(1);
  });

  it("denials are counted per key and logged on the 1st, 10th, 100th... of each key only", async () => {
    const ka = keyFile();
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: "warn", stream: { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) } });
    const a = await createAgent(resolveConfig(testConfig({ security: { secretKeyFile: ka.file } }), { env: {} }), { logger });
    const stranger = zmq.curveKeyPair();
    // A refused client does not retry (libzmq stops after the ZAP error): 20 clients, one key.
    for (let i = 0; i < 20; i++) {
      const d = new zmq.Dealer({ linger: 0, curveServerKey: ka.publicKey, curvePublicKey: stranger.publicKey, curveSecretKey: stranger.secretKey });
      sockets.push(d);
      d.connect(a.endpoints.store!);
    }
    await waitFor(() => (a.stats().security.deniedKeys[stranger.publicKey] ?? 0) === 20, () => JSON.stringify(a.stats().security));
    const denied = lines.filter((l) => l.msg === "peer key denied");
    expect(denied.filter((l) => (l.count as number) < 100).map((l) => [l.key, l.count])).toEqual([
      [stranger.publicKey, 1],
      [stranger.publicKey, 10],
    ]);
    await a.close();
  });

  it("a refused peer tries again with backoff, and gets in once its key is allowed", async () => {
    const ka = keyFile();
    const kc = keyFile();
    const a = await startAgent({ security: { secretKeyFile: ka.file } });
    a.observe(observation("hvac", "x", 0.5, 0.9, 3));
    const c = await startAgent({
      security: { secretKeyFile: kc.file },
      catchUp: { retryMinMs: 50, retryMaxMs: 200 },
      peers: [{ name: "a", pub: a.endpoints.pub, store: a.endpoints.store!, publicKey: ka.publicKey }],
    });
    const codes: string[] = [];
    c.on("error", (e: { code: string }) => codes.push(e.code));
    await waitFor(() => c.stats().peers[0]!.refusals >= 3, () => JSON.stringify(c.stats().peers[0]));
    expect(codes).toContain("ERR_PEER_REFUSED");
    expect(c.store.collect("qis.hvac.>")).toHaveLength(0);
    // a lets c in (as a peer of its own): c's next attempt succeeds, live and catch-up.
    a.addPeer({ name: "c", pub: c.endpoints.pub, publicKey: kc.publicKey });
    await waitFor(() => c.store.collect("qis.hvac.>").length === 1, () => JSON.stringify(c.stats().peers[0]));
    expect(c.peers[0]!.up).toBe(true);
  });

  it("peers added at run time with their key are let in", async () => {
    const ka = keyFile();
    const kb = keyFile();
    const a = await startAgent({ security: { secretKeyFile: ka.file } });
    const b = await startAgent({ security: { secretKeyFile: kb.file } });
    a.observe(observation("hvac", "x", 0.5, 0.9, 3));
    // a subscribes to b (which lets a in), b to a (which lets b in): each addPeer allows the other's key.
    a.addPeer({ name: "b", pub: b.endpoints.pub, store: b.endpoints.store, publicKey: kb.publicKey });
    b.addPeer({ name: "a", pub: a.endpoints.pub, store: a.endpoints.store, publicKey: ka.publicKey });
    await waitFor(() => b.store.collect("qis.hvac.>").length === 1, () => "b caught up from a");
  });
});

describe("keys", () => {
  it("a configured key file that does not exist is created on first start (0600, .pub beside it), then reused", async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const logger = createLogger({ level: "info", stream: { write: (s: string) => lines.push(s) } });
    const config = resolveConfig(testConfig({ security: { secretKeyFile: "curve.key" }, stateDir: dir }), { env: {} });
    expect(config.security.secretKeyFile).toBe(join(dir, "curve.key"));
    const a = await createAgent(config, { logger });
    const keys = readKeyFile(join(dir, "curve.key"));
    expect(statSync(join(dir, "curve.key")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "curve.key.pub"), "utf8")).toBe(`${keys.publicKey}\n`);
    expect(publicKeyOf(keys.secretKey)).toBe(keys.publicKey);
    const created = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "curve key created");
    expect(created?.publicKey).toBe(keys.publicKey);
    expect(a.stats().security.publicKey).toBe(keys.publicKey);
    await a.close();
    const again = await createAgent(config, { logger });
    expect(again.stats().security.publicKey).toBe(keys.publicKey);
    await again.close();
  });

  it("a key file that is not a key refuses to start (ERR_KEY_INVALID); allow files are read line by line", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "curve.key"), "not a key\n");
    const config = resolveConfig(testConfig({ security: { secretKeyFile: "curve.key" }, stateDir: dir }), { env: {} });
    await expect(createAgent(config)).rejects.toMatchObject({ code: "ERR_AGENT_START", cause: { code: "ERR_KEY_INVALID" } });
    const k = keyFile();
    // Z85 keys may hold "#": only "#" at a line's start or after a space starts a comment.
    const hashKey = "#".repeat(40);
    writeFileSync(join(dir, "allow.txt"), `# the gateway\n${k.publicKey}  # boiler room\n${hashKey}\n\nnot-a-key\n`);
    const bad = resolveConfig(testConfig({ security: { mode: "curve", allow: [join(dir, "allow.txt")] } }), { env: {} });
    await expect(createAgent(bad)).rejects.toMatchObject({ cause: { code: "ERR_ALLOW_FILE", message: expect.stringContaining("allow.txt:5") } });
    const { readAllowList } = await import("../../src/agent/link-security.js");
    writeFileSync(join(dir, "allow.txt"), `# the gateway\n${k.publicKey}  # boiler room\n${hashKey}\n`);
    expect(readAllowList([join(dir, "allow.txt"), k.publicKey])).toEqual([k.publicKey, hashKey, k.publicKey]);
    // A key that starts with "#", followed by a comment (random keys do, one in 85).
    const hashFirst = `#${k.publicKey.slice(1)}`;
    writeFileSync(join(dir, "allow.txt"), `${hashFirst}  # a key starting with #\n#${"x".repeat(39)} is a comment\n`);
    expect(readAllowList([join(dir, "allow.txt")])).toEqual([hashFirst]);
  });
});

describe("without CURVE in libzmq", () => {
  it("an agent configured for CURVE refuses to start (ERR_CURVE_UNAVAILABLE); a plain one starts", async () => {
    // libzmq builds without libsodium report capability.curve false: what such a device sees.
    const saved = zmq.capability.curve;
    zmq.capability.curve = false;
    try {
      const config = resolveConfig(testConfig({ security: { mode: "curve" } }), { env: {} });
      await expect(createAgent(config)).rejects.toMatchObject({ code: "ERR_AGENT_START", cause: { code: "ERR_CURVE_UNAVAILABLE" } });
      expect(existsSync(join(config.stateDir, "curve.key"))).toBe(false);
      const plain = await createAgent(resolveConfig(testConfig(), { env: {} }));
      await plain.close();
    } finally {
      zmq.capability.curve = saved ?? true;
    }
  });
});

describe("secure by default", () => {
  it("plain links binding beyond loopback are refused by the config and at start", async () => {
    const resolve = (c: Record<string, unknown>) => resolveConfig(testConfig(c), { env: {} });
    let err: unknown;
    try {
      resolve({ pub: { bind: "tcp://0.0.0.0:5600" }, store: { bind: "tcp://*:5601" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.path)).toEqual(["/pub/bind", "/store/bind"]);
    // Loopback, ipc and the defaults need nothing.
    expect(() => resolve({ pub: { bind: "tcp://127.0.0.1:*" }, store: { bind: "tcp://[::1]:*" } })).not.toThrow();
    expect(() => resolve({ pub: { bind: "tcp://localhost:*" }, store: { bind: null } })).not.toThrow();
    expect(() => resolve({ pub: { bind: "tcp://0.0.0.0:5600" }, security: { mode: "insecure" } })).not.toThrow();
    expect(() => resolve({ pub: { bind: "tcp://0.0.0.0:5600" }, security: { secretKeyFile: "k" } })).not.toThrow();
    // A config built in code is checked at start too.
    const config = resolve({});
    config.pub.bind = "tcp://0.0.0.0:*";
    await expect(createAgent(config)).rejects.toMatchObject({ code: "ERR_AGENT_START", cause: { code: "ERR_SECURITY_REQUIRED" } });
  });

  it('"insecure" warns at start; with CURVE every qis peer needs its key; insecure and a key file contradict', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "warn", stream: { write: (s: string) => lines.push(s) } });
    const a = await createAgent(resolveConfig(testConfig({ security: { mode: "insecure" } }), { env: {} }), { logger });
    await a.close();
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain("insecure peer links");
    const problems = (c: Record<string, unknown>): string[] => {
      try {
        resolveConfig(c, { env: {} });
        return [];
      } catch (e) {
        return (e as ConfigError).problems.map((p) => p.path);
      }
    };
    expect(problems({ security: { mode: "curve" }, peers: [{ pub: "tcp://127.0.0.1:5600" }, { pub: "tcp://127.0.0.1:5601", codec: "legacy" }] })).toEqual(["/peers/0/publicKey"]);
    expect(problems({ security: { mode: "insecure", secretKeyFile: "k" } })).toEqual(["/security/secretKeyFile"]);
    expect(problems({ peers: [{ pub: "tcp://127.0.0.1:5600", publicKey: "short" }] })).toEqual(["/peers/0/publicKey"]);
    expect(existsSync("k")).toBe(false);
  });
});

/**
 * Signed packets between real agents (issue 21, docs/security.md "Signed packets"): own packets
 * signed at origin, verified at trust boundaries (catch-up from another node's store, an
 * uplink through a real Mosquitto, plain links), refused with ERR_PACKET_SIGNATURE and counted
 * per peer; requireSigned and alertsRequireSigned.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Agent } from "../../src/agent/agent.js";
import { writeNewKeyFile } from "../../src/agent/keys.js";
import { codec, FLAG_SIGNED, FLAG_SYNTHESIZED, OFFSETS } from "../../src/packet/index.js";
import { writeNewSigningKey, type SigningKey } from "../../src/security/signing-key.js";
import { TrustStore } from "../../src/security/trust.js";
import { PacketVerifier, SigVerdict } from "../../src/security/verifier.js";
import { renderMetrics } from "../../src/metrics/render.js";
import { closeBrokers, startBroker } from "../link/mosquitto.js";
import { closeNatsServers, startNatsServer } from "../link/nats-server.js";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { closeAll, observation, startAgent, tempDir, waitFor } from "./harness.js";

afterEach(async () => {
  await closeAll();
  await closeBrokers();
  await closeNatsServers();
});

const NODE_A = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const NODE_U = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";

function signingKey(): { file: string; key: SigningKey } {
  const file = join(tempDir("qis-sign-"), "signing.key");
  return { file, key: writeNewSigningKey(file) };
}

const trustA = (k: SigningKey) => ({ keys: [{ publicKey: k.publicKeyHex, nodeIds: [NODE_A], name: "node-a" }] });
const flags = (b: Buffer): number => b.readUInt16LE(OFFSETS.flags);
const errors = (agent: Agent): { code: string; message: string; field?: string }[] => {
  const list: { code: string; message: string; field?: string }[] = [];
  agent.on("error", (e: { code: string; message: string; field?: string }) => list.push({ code: e.code, message: e.message, ...(e.field !== undefined ? { field: e.field } : {}) }));
  return list;
};

describe("signing at origin", () => {
  it("an agent with a signing key signs its observations and syntheses; the signatures verify", async () => {
    const { file, key } = signingKey();
    const a = await startAgent({ nodeId: NODE_A, security: { signing: { keyFile: file } }, synth: { minContributors: 1, minIntervalMs: 0 } });
    a.observe(observation("hvac", "energy-anomaly", 0.3, 0.9, 5));
    a.observeMany([observation("hvac", "energy-anomaly", 0.4, 0.9, 5), observation("iot", "bearing-wear", 0.1, 0.5, 2)]);
    await waitFor(() => a.counters.synthesized > 0, () => "a synthesized");
    const stored = a.store.collect(null, 0, 100);
    const vf = new PacketVerifier(new TrustStore(trustA(key).keys), 0);
    expect(stored.length).toBeGreaterThanOrEqual(4);
    for (const p of stored) {
      expect(flags(p.packet) & FLAG_SIGNED).toBe(FLAG_SIGNED);
      expect(p.packet.subarray(OFFSETS.key_id, OFFSETS.key_id + 8).toString("hex")).toBe(key.keyIdHex);
      expect(vf.verdict(p.packet, 0)).toBe(SigVerdict.VALID);
    }
    expect(stored.some((p) => (flags(p.packet) & FLAG_SYNTHESIZED) !== 0)).toBe(true);
    expect(a.stats().signatures!.signingKeyId).toBe(key.keyIdHex);
    expect(a.stats().signatures!.signed).toBe(stored.length);
  });

  it("a configured signing key file that does not exist is created on first start (0600), then reused", async () => {
    const dir = tempDir();
    const a = await startAgent({ stateDir: dir, security: { signing: { keyFile: "signing.key" } } });
    const id = a.stats().signatures!.signingKeyId;
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    const { statSync } = await import("node:fs");
    expect(statSync(join(dir, "signing.key")).mode & 0o777).toBe(0o600);
    await a.close();
    const again = await startAgent({ stateDir: dir, security: { signing: { keyFile: "signing.key" } } });
    expect(again.stats().signatures!.signingKeyId).toBe(id);
  });
});

describe("verification at trust boundaries", () => {
  it("a packet signed by A, relayed by B's catch-up and by an MQTT uplink, verifies at C", async () => {
    const { file, key } = signingKey();
    const broker = await startBroker();
    const mqtt = (over: Record<string, unknown>) => ({ mqtt: { url: broker.url, reconnect: { minMs: 50, maxMs: 400 }, ...over } });
    const a = await startAgent({ nodeId: NODE_A, security: { signing: { keyFile: file } }, uplinks: mqtt({}) });
    const b = await startAgent({ peers: [{ name: "a", pub: a.endpoints.pub, store: a.endpoints.store }] });
    // C: trusts A's key for A's node id; hears A only through B's store and through the broker.
    const c = await startAgent({ security: { trust: trustA(key) }, peers: [{ name: "b", pub: b.endpoints.pub, store: b.endpoints.store }], uplinks: mqtt({ down: ["qis.>"] }) });
    const cErrors = errors(c);
    await waitFor(() => b.peers[0]!.up && c.uplinks[0]!.state === "connected", () => "b up, c's uplink connected");
    await new Promise((r) => setTimeout(r, 300)); // subscriptions (ZeroMQ, MQTT) on their way
    a.observe(observation("hvac", "energy-anomaly", 0.25, 0.8, 4));
    await waitFor(() => b.store.collect("qis.hvac.>").length === 1, () => "b holds A's packet");
    const original = a.store.collect("qis.hvac.>")[0]!.packet;
    await waitFor(() => (c.stats().signatures!.perPeer.mqtt?.verified ?? 0) === 1, () => `c via mqtt: ${JSON.stringify(c.stats().signatures)}`);
    // B's store is a peer's store: what C catches up from it is verified too (B relays, never re-signs).
    c.peers[0]!.requestCatchUp();
    await waitFor(() => (c.stats().signatures!.perPeer.b?.verified ?? 0) >= 1, () => `c via b: ${JSON.stringify(c.stats().signatures)}`);
    const atC = c.store.collect("qis.hvac.>");
    expect(atC).toHaveLength(1);
    expect(atC[0]!.packet.toString("hex")).toBe(original.toString("hex"));
    expect(cErrors).toEqual([]);
    const s = c.stats().signatures!;
    expect(s.perPeer.b!.badSignature + s.perPeer.b!.unknownKey + s.perPeer.b!.keyNotAllowed).toBe(0);
  });

  it("through NATS JetStream too; a packet tampered with on the broker is refused there", async () => {
    const { file, key } = signingKey();
    const server = await startNatsServer();
    const nats = (over: Record<string, unknown>) => ({ nats: { servers: [server.url], stream: { subjects: ["qis.>"] }, reconnect: { minMs: 50, maxMs: 400 }, ...over } });
    const a = await startAgent({ nodeId: NODE_A, security: { signing: { keyFile: file } }, uplinks: nats({ up: ["qis.>"] }) });
    const c = await startAgent({ security: { trust: trustA(key) }, uplinks: nats({ down: ["qis.>"] }) });
    const cErrors = errors(c);
    a.observe(observation("hvac", "energy-anomaly", 0.25, 0.8, 4));
    await waitFor(() => (c.stats().signatures!.perPeer.nats?.verified ?? 0) === 1, () => `c via nats: ${JSON.stringify(c.stats().signatures)}`);
    const original = a.store.collect("qis.hvac.>")[0]!.packet;
    expect(c.store.collect("qis.hvac.>")[0]!.packet.equals(original)).toBe(true);
    // Someone with access to the broker changes the estimate (and reseals the CRC): refused at C.
    const forged = Buffer.from(original);
    forged.writeUInt32LE(forged.readUInt32LE(OFFSETS.seq) + 1, OFFSETS.seq);
    forged.writeFloatLE(-0.9, OFFSETS.outcome_delta);
    forged.writeUInt32LE(codec.crc32c(forged, 0, OFFSETS.crc32c), OFFSETS.crc32c);
    const nc = await connect({ servers: server.url });
    await jetstream(nc).publish("qis.hvac.energy-anomaly", forged);
    await nc.close();
    await waitFor(() => (c.stats().signatures!.perPeer.nats?.badSignature ?? 0) === 1, () => JSON.stringify(c.stats().signatures));
    expect(c.store.collect("qis.hvac.>")).toHaveLength(1);
    expect(cErrors.map((e) => e.code)).toEqual(["ERR_PACKET_SIGNATURE"]);
    expect(cErrors[0]!.message).toMatch(/^nats: 1 of 1 packets refused \(first: bad signature: /);
  });

  it("a packet from a known node id signed with an unknown key is refused (ERR_PACKET_SIGNATURE, counted per peer)", async () => {
    const real = signingKey();
    const impostor = signingKey();
    const x = await startAgent({ nodeId: NODE_A, security: { signing: { keyFile: impostor.file } } });
    const c = await startAgent({ security: { trust: trustA(real.key) }, peers: [{ name: "x", pub: x.endpoints.pub, store: x.endpoints.store }] });
    const cErrors = errors(c);
    await waitFor(() => c.peers[0]!.up, () => "c up");
    await new Promise((r) => setTimeout(r, 500)); // the subscription reaches the publisher
    x.observe(observation("hvac", "energy-anomaly", 0.9, 0.99, 100));
    await waitFor(() => (c.stats().signatures!.perPeer.x?.unknownKey ?? 0) >= 1, () => JSON.stringify(c.stats().signatures));
    expect(c.store.collect(null, 0, 10)).toHaveLength(0);
    expect(cErrors[0]!.code).toBe("ERR_PACKET_SIGNATURE");
    expect(cErrors[0]!.message).toContain(`unknown key: key_id ${impostor.key.keyIdHex} (node ${NODE_A})`);
    expect(cErrors[0]!.field).toBe("key_id");
    expect(c.synth.live).toBe(0);
  });

  it("a trusted key signing for a node id it is not allowed to is refused", async () => {
    const { file, key } = signingKey();
    const x = await startAgent({ nodeId: NODE_U, security: { signing: { keyFile: file } } });
    const c = await startAgent({ security: { trust: trustA(key) }, peers: [{ name: "x", pub: x.endpoints.pub, store: x.endpoints.store }] });
    const cErrors = errors(c);
    await waitFor(() => c.peers[0]!.up, () => "c up");
    await new Promise((r) => setTimeout(r, 500)); // the subscription reaches the publisher
    x.observe(observation("hvac", "energy-anomaly", 0.9, 0.99, 100));
    await waitFor(() => (c.stats().signatures!.perPeer.x?.keyNotAllowed ?? 0) >= 1, () => JSON.stringify(c.stats().signatures));
    expect(c.store.collect(null, 0, 10)).toHaveLength(0);
    expect(cErrors[0]!.message).toContain(`key not allowed: key node-a may not sign for node ${NODE_U}`);
  });

  it("a live packet from a CURVE peer is not verified; its catch-up is", async () => {
    const { file, key } = signingKey();
    const ka = join(tempDir("qis-key-"), "curve.key");
    const kc = join(tempDir("qis-key-"), "curve.key");
    const pa = writeNewKeyFile(ka).publicKey;
    const pc = writeNewKeyFile(kc).publicKey;
    const a = await startAgent({ nodeId: NODE_A, security: { secretKeyFile: ka, allow: [pc], signing: { keyFile: file } } });
    a.observe(observation("hvac", "before", 0.1, 0.9, 3));
    const c = await startAgent({ security: { secretKeyFile: kc, trust: trustA(key) }, peers: [{ name: "a", pub: a.endpoints.pub, store: a.endpoints.store, publicKey: pa }] });
    await waitFor(() => (c.stats().signatures!.perPeer.a?.verified ?? 0) === 1, () => `catch-up: ${JSON.stringify(c.stats().signatures)}`);
    await waitFor(() => c.peers[0]!.up, () => "c up");
    await new Promise((r) => setTimeout(r, 500)); // the subscription reaches the publisher
    a.observe(observation("hvac", "after", 0.2, 0.9, 3));
    await waitFor(() => c.store.collect("qis.hvac.>").length === 2, () => "c holds both");
    expect(c.stats().signatures!.perPeer.a!.verified).toBe(1);
    expect(c.stats().signatures!.verifications).toBe(1);
  });
});

describe("policy", () => {
  it("requireSigned refuses unsigned packets on its patterns and keeps the others", async () => {
    const { file, key } = signingKey();
    const u = await startAgent({ nodeId: NODE_U });
    const a = await startAgent({ nodeId: NODE_A, security: { signing: { keyFile: file } } });
    const c = await startAgent({
      security: { trust: trustA(key), requireSigned: ["qis.iot.>"] },
      peers: [
        { name: "u", pub: u.endpoints.pub, store: u.endpoints.store },
        { name: "a", pub: a.endpoints.pub, store: a.endpoints.store },
      ],
    });
    const cErrors = errors(c);
    await waitFor(() => c.peers.every((p) => p.up), () => "c up");
    await new Promise((r) => setTimeout(r, 500)); // the subscription reaches the publisher
    u.observe(observation("iot", "bearing-wear", 0.5, 0.9, 3));
    u.observe(observation("hvac", "energy-anomaly", 0.5, 0.9, 3));
    a.observe(observation("iot", "bearing-wear", 0.4, 0.9, 3));
    await waitFor(() => c.store.collect(null, 0, 10).length === 2 && (c.stats().signatures!.perPeer.u?.refusedUnsigned ?? 0) === 1, () => JSON.stringify(c.stats().signatures));
    const held = c.store.collect(null, 0, 10).map((p) => `${p.packet.toString("hex", OFFSETS.node_id, OFFSETS.node_id + 16)} ${p.packet.toString("utf8", OFFSETS.address, OFFSETS.address + p.packet[OFFSETS.address_len]!)}`);
    expect(held.sort()).toEqual([`${NODE_A} qis.iot.bearing-wear`, `${NODE_U} qis.hvac.energy-anomaly`]);
    expect(cErrors.map((e) => e.code)).toEqual(["ERR_PACKET_SIGNATURE"]);
    expect(cErrors[0]!.message).toContain(`unsigned packet from node ${NODE_U} on qis.iot.> (security.requireSigned)`);
    expect(c.stats().signatures!.perPeer.u).toMatchObject({ refusedUnsigned: 1, unsigned: 2, verified: 0 });
    const page = renderMetrics({ version: "t", nodeId: c.nodeId, ready: true, stats: c.stats() }, { startTime: 0, rss: { bytes: () => 1 } });
    expect(page).toContain('qis_edge_signature_peer_packets_total{peer="u",verdict="unsigned_refused"} 1\n');
    expect(page).toContain('qis_edge_signature_peer_packets_total{peer="a",verdict="valid"} 1\n');
  });

  it("alertsRequireSigned keeps unsigned packets out of synthesis but stores them", async () => {
    const { file, key } = signingKey();
    const u = await startAgent({ nodeId: NODE_U });
    const a = await startAgent({ nodeId: NODE_A, security: { signing: { keyFile: file } } });
    const c = await startAgent({
      security: { trust: trustA(key), alertsRequireSigned: true },
      synth: { minContributors: 1, minIntervalMs: 0 },
      peers: [
        { name: "u", pub: u.endpoints.pub, store: u.endpoints.store },
        { name: "a", pub: a.endpoints.pub, store: a.endpoints.store },
      ],
    });
    await waitFor(() => c.peers.every((p) => p.up), () => "c up");
    await new Promise((r) => setTimeout(r, 500)); // the subscription reaches the publisher
    u.observe(observation("hvac", "energy-anomaly", 0.5, 0.9, 3));
    a.observe(observation("hvac", "energy-anomaly", 0.4, 0.9, 3));
    const fromPeers = () => c.store.collect("qis.hvac.energy-anomaly").filter((p) => (flags(p.packet) & FLAG_SYNTHESIZED) === 0).length;
    await waitFor(() => fromPeers() === 2, () => `c holds ${fromPeers()}`);
    await waitFor(() => c.counters.synthesized === 1, () => "c synthesized");
    expect(c.synth.live).toBe(1); // only A's contribution
    expect(c.synth.counters).toMatchObject({ added: 1 });
    expect(c.stats().signatures!.perPeer.u).toMatchObject({ notSynthesized: 1, unsigned: 1 });
    expect(c.stats().signatures!.perPeer.a).toMatchObject({ verified: 1, notSynthesized: 0 });
  });
});


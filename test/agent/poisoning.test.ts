/**
 * Synthesis that one peer cannot capture (issue 19, docs/security.md): the poisoning scenario
 * of the issue, played by a real hostile publisher against a real agent.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { codec, PACKET_SIZE } from "../../src/packet/index.js";
import { encodeBatchHeader, Kind } from "../../src/link/zmq/wire.js";
import type { Agent } from "../../src/agent/agent.js";
import { closeAll, observation, startAgent, waitFor } from "./harness.js";

const sockets: zmq.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await closeAll();
});

const ADDRESS = "qis.hvac.energy-anomaly";

interface Fake {
  address: string;
  node: number;
  ttlS: number;
  timestampMs?: number;
  nObservations?: number;
  outcomeDelta?: number;
}

/** A hostile peer: a plain PUB sending valid packets, one message per address. */
async function hostile(victim: Agent, name = "hostile"): Promise<{ send(fakes: Fake[]): Promise<void> }> {
  const pub = new zmq.XPublisher({ linger: 0, sendTimeout: 0, sendHighWaterMark: 0 });
  sockets.push(pub);
  await pub.bind("tcp://127.0.0.1:*");
  victim.addPeer({ name, pub: pub.lastEndpoint! });
  for (;;) if ((await pub.receive())[0]![0] === 1) break; // subscribed
  let seq = 1;
  return {
    async send(fakes) {
      for (const f of fakes) {
        const b = Buffer.alloc(PACKET_SIZE);
        const nodeId = Buffer.alloc(16, 0xee);
        nodeId.writeUInt32LE(f.node, 0);
        codec.encode(
          { address: f.address, timestampMs: f.timestampMs ?? Date.now(), ttlS: f.ttlS, nObservations: f.nObservations ?? 0xffff_ffff, outcomeDelta: f.outcomeDelta ?? -1, confidence: 1, seq: seq++, nodeId },
          b,
        );
        await pub.send([Buffer.from(f.address), encodeBatchHeader(Kind.BATCH, 1, 0, 1), b]);
      }
    },
  };
}

const refused = (a: Agent, name = "hostile") => a.stats().admission.perPeer[name] ?? { ttlZero: 0, future: 0, addresses: 0, addressRate: 0, nodesPerAddress: 0, clamped: 0 };

describe("poisoning synthesis from one peer", () => {
  it("the issue's flood (31 fake nodes at -1, n = 2^32-1, ttl 0 or a timestamp of 2^53-1; 1,100 junk addresses) leaves the estimate and new local addresses alone", async () => {
    const v = await startAgent();
    for (let i = 0; i < 5; i++) v.observe(observation("hvac", "energy-anomaly", 0.8, 0.9, 10));
    const truth = v.synth.estimate(ADDRESS)!.estimate!;
    expect(truth).toBeCloseTo(0.8, 6);
    const h = await hostile(v);
    const fakes: Fake[] = [];
    for (let n = 0; n < 31; n++) fakes.push({ address: ADDRESS, node: n, ttlS: 0 });
    for (let n = 0; n < 31; n++) fakes.push({ address: ADDRESS, node: 100 + n, ttlS: 3600, timestampMs: Number.MAX_SAFE_INTEGER });
    for (let i = 0; i < 1100; i++) fakes.push({ address: `qis.junk.a${i}`, node: 1, ttlS: 0, outcomeDelta: 0.5 });
    await h.send(fakes);
    await waitFor(() => refused(v).ttlZero + refused(v).future === fakes.length, () => JSON.stringify(refused(v)));
    expect(refused(v)).toMatchObject({ ttlZero: 1131, future: 31 });
    // The store keeps what is valid; synthesis took none of it.
    expect(v.synth.estimate(ADDRESS)!.estimate!).toBeCloseTo(truth, 6);
    expect(Math.abs(v.synth.estimate(ADDRESS)!.estimate! - 0.8)).toBeLessThan(0.05);
    expect(v.synth.estimate(ADDRESS)!.nodes).toBe(1);
    const fresh = v.observe(observation("hvac", "new-local-address", 0.3, 0.9, 10));
    expect(v.synth.estimate(fresh.address)).toMatchObject({ packets: 1 });
  });

  it("live fakes: n capped at maxObservations, at most peerNodesPerAddress fake nodes; an honest node still gets in", async () => {
    const v = await startAgent({ synth: { maxNodesPerAddress: 12, maxObservations: 1000, peerNodesPerAddress: 4 } });
    v.observe(observation("hvac", "energy-anomaly", 0.8, 0.9, 10));
    const honest = await startAgent();
    const h = await hostile(v);
    await h.send(Array.from({ length: 31 }, (_, n) => ({ address: ADDRESS, node: n, ttlS: 3600 })));
    await waitFor(() => refused(v).nodesPerAddress === 27, () => JSON.stringify(refused(v)));
    expect(refused(v)).toMatchObject({ clamped: 4, nodesPerAddress: 27 });
    const e = v.synth.estimate(ADDRESS)!;
    expect(e.nodes).toBe(5); // ours + 4 fakes
    // Each fake weighs at most confidence·ln(1 + 1000), not ln(2^32).
    expect(e.weight).toBeCloseTo(0.9 * Math.log1p(10) + 4 * Math.log1p(1000), 3);
    v.addPeer({ name: "honest", pub: honest.endpoints.pub, store: honest.endpoints.store });
    honest.observe(observation("hvac", "energy-anomaly", 0.7, 0.9, 10));
    await waitFor(() => v.synth.estimate(ADDRESS)!.nodes === 6, () => `nodes ${v.synth.estimate(ADDRESS)!.nodes}`);
  });

  it("addresses: one peer introduces at most peerNewAddressesPerMinute, and peers together at most peerAddressShare of maxAddresses", async () => {
    const v = await startAgent({ synth: { maxAddresses: 64, peerAddressShare: 0.5, peerNewAddressesPerMinute: 20 } });
    const junk = (from: number, n: number): Fake[] => Array.from({ length: n }, (_, i) => ({ address: `qis.junk.a${from + i}`, node: from, ttlS: 3600, nObservations: 1, outcomeDelta: 0.5 }));
    const h1 = await hostile(v, "h1");
    await h1.send(junk(0, 100));
    await waitFor(() => refused(v, "h1").addressRate === 80, () => JSON.stringify(refused(v, "h1")));
    expect(v.stats().admission.peerAddresses).toBe(20);
    const h2 = await hostile(v, "h2");
    await h2.send(junk(100, 20));
    await waitFor(() => refused(v, "h2").addresses === 8, () => JSON.stringify(refused(v, "h2")));
    expect(v.stats().admission.peerAddresses).toBe(32);
    expect(v.synth.counters.addressesRefused).toBe(0);
    // The other half is the local observations': 32 new local addresses all get synthesis.
    for (let i = 0; i < 32; i++) {
      const r = v.observe(observation("local", `c${i}`, 0.1, 0.9, 1));
      expect(v.synth.estimate(r.address), r.address).toMatchObject({ packets: 1 });
    }
  });
});

/**
 * A missed batch costs a catch-up of the missed cursor range, not of everything since the last
 * full catch-up (src/link/zmq/catch-up-plan.ts, docs/delivery.md): a scripted peer (a PUB whose
 * batch headers we choose, a ROUTER answering store queries from cursors 1..head) and a real
 * agent, whose queries we record.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { codec, PACKET_SIZE } from "../../src/packet/index.js";
import { decodeQuery, encodeBatchHeader, encodeReply, Kind } from "../../src/link/zmq/wire.js";
import { closeAll, startAgent, waitFor } from "./harness.js";

const sockets: zmq.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await closeAll();
});

const ADDRESS = "qis.hvac.x";
const EPOCH = 7;
const NODE = Buffer.alloc(16, 3);
const now = Date.now();

/** The scripted peer's packets: cursor c holds seq c. */
function packets(from: number, to: number): Buffer {
  const out = Buffer.alloc((to - from) * PACKET_SIZE);
  for (let c = from + 1; c <= to; c++) {
    codec.encode({ address: ADDRESS, timestampMs: now, ttlS: 600, nObservations: 1, outcomeDelta: 0.1, confidence: 0.5, seq: c, nodeId: NODE }, out, (c - from - 1) * PACKET_SIZE);
  }
  return out;
}

async function scriptedPeer(): Promise<{ pub: zmq.XPublisher; store: string; queries: number[]; setHead(h: number): void }> {
  const pub = new zmq.XPublisher({ linger: 0 });
  const router = new zmq.Router({ linger: 0, sendTimeout: 0 });
  sockets.push(pub, router);
  await pub.bind("tcp://127.0.0.1:*");
  await router.bind("tcp://127.0.0.1:*");
  const queries: number[] = [];
  let head = 0;
  void (async () => {
    try {
      for await (const [id, ...frames] of router) {
        const q = decodeQuery(frames);
        queries.push(q.since);
        const next = Math.min(head, q.since + q.limit);
        await router.send([id!, encodeReply(q.id, EPOCH, next - q.since, next, head), packets(q.since, next)]);
      }
    } catch {
      // closed
    }
  })();
  return { pub, store: router.lastEndpoint!, queries, setHead: (h) => (head = h) };
}

describe("catch-up after a missed batch", () => {
  it("fetches only the missed range, then what lies beyond the last batches seen; a chain that restarts at prev 0 gets a full catch-up", async () => {
    const peer = await scriptedPeer();
    peer.setHead(8);
    const a = await startAgent({ catchUp: { pageSize: 4 } });
    let caughtUp = 0;
    a.on("caught-up", () => caughtUp++);
    a.addPeer({ name: "scripted", pub: peer.pub.lastEndpoint!, store: peer.store });
    const [sub] = await peer.pub.receive();
    expect(sub![0]).toBe(1);
    await waitFor(() => caughtUp === 1, () => `queries ${JSON.stringify(peer.queries)}`);
    // The full catch-up at connect: watermark 8.
    expect(peer.queries).toEqual([0, 4]);
    const held = (): number => a.store.collect("qis.hvac.>").length;
    const batch = (prev: number, last: number) => peer.pub.send([Buffer.from(ADDRESS), encodeBatchHeader(Kind.BATCH, EPOCH, prev, last), packets(last - 4, last)]);

    peer.setHead(12);
    await batch(8, 12);
    await waitFor(() => held() === 12, () => `held ${held()}`);
    // Batches 13..36 were "dropped": the next one names prev 36. So were 41..48, the last of
    // the burst, and their tail markers: nothing names them.
    peer.setHead(48);
    await batch(36, 40);
    await waitFor(() => held() === 48, () => `held ${held()}, queries ${JSON.stringify(peer.queries)}`);
    // The gap: from the last cursor seen on the address (12) to the batch's prev (36); not from
    // the watermark (8), and not on to the head (48). Then, once no batch has come for a
    // while, what lies beyond the last cursor seen (40).
    expect(peer.queries).toEqual([0, 4, 12, 16, 20, 24, 28, 32, 40, 44]);
    const c = a.peers[0]!.counters;
    expect(c.gaps).toBe(1);
    expect(c.caughtUpPackets).toBe(8 + 24 + 8);
    expect(c.packets).toBe(8 + 4 + 4 + 24 + 8);

    // The peer forgot the address (its maxLanes) and starts the chain again: a batch dropped
    // just before is invisible in the chain, so the agent catches up from its watermark.
    const before = caughtUp;
    peer.setHead(52);
    await batch(0, 52);
    await waitFor(() => caughtUp > before && held() === 52, () => `queries ${JSON.stringify(peer.queries)}`);
    expect(peer.queries.slice(10)).toEqual([8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48]);
    expect(held()).toBe(52);
    expect(c.gaps).toBe(1);
  });
});

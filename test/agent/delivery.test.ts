/**
 * What docs/delivery.md promises, with real sockets: a burst beyond the high-water marks loses
 * nothing once catch-up has run; a rogue peer's garbage is counted and dropped while valid
 * traffic goes on; the store endpoint answers bad queries with error codes.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { codec, PACKET_SIZE } from "../../src/packet/index.js";
import { encodeBatchHeader, encodeQuery, decodeAnswer, Kind } from "../../src/link/zmq/wire.js";
import { closeAll, observation, startAgent, waitFor } from "./harness.js";

afterEach(closeAll);

describe("high-water marks", () => {
  it("a burst far beyond the HWM arrives complete after catch-up", async () => {
    const a = await startAgent({ hwm: { send: 4, receive: 4 }, batch: { size: 1 } });
    const b = await startAgent({ hwm: { send: 4, receive: 4 } });
    b.addPeer({ pub: a.endpoints.pub, store: a.endpoints.store });
    await waitFor(() => b.peers[0]!.up && b.peers[0]!.counters.catchUps > 0, () => "b connected");
    const N = 5000;
    // One synchronous burst: 5000 single-packet messages into a 4-message queue.
    for (let i = 0; i < N; i++) a.observe(observation("hvac", `zone-${i % 7}`, (i % 21) / 10 - 1, 0.5, 1));
    const fromA = (): number => b.store.collect("qis.hvac.>").length;
    await waitFor(() => fromA() === N, () => `b holds ${fromA()} of ${N} (gaps seen ${b.peers[0]!.counters.gaps})`, 20_000);
    const c = b.peers[0]!.counters;
    // The PUB queue did overflow (else this test proves nothing) and catch-up filled it in.
    expect(c.gaps).toBeGreaterThan(0);
    expect(c.caughtUpPackets).toBeGreaterThan(0);
    expect(c.packets - c.caughtUpPackets).toBeLessThan(N);
    expect(b.stats().store.size).toBe(N);
  });
});

describe("a rogue peer", () => {
  it("garbage is counted per peer and dropped; valid traffic from the good peer all arrives", async () => {
    const good = await startAgent();
    const rogue = new zmq.XPublisher({ linger: 0 });
    await rogue.bind("tcp://127.0.0.1:*");
    const b = await startAgent();
    b.addPeer({ name: "rogue", pub: rogue.lastEndpoint! });
    b.addPeer({ name: "good", pub: good.endpoints.pub, store: good.endpoints.store });
    // Wait for b's subscription to reach the rogue publisher.
    const [sub] = await rogue.receive();
    expect(sub![0]).toBe(1);
    await waitFor(() => b.peers[1]!.up, () => "b connected to good");

    const valid = Buffer.alloc(PACKET_SIZE);
    codec.encode({ address: "qis.hvac.energy-anomaly", timestampMs: Date.now(), ttlS: 60, nObservations: 1, outcomeDelta: 0.1, confidence: 0.5, seq: 1, nodeId: Buffer.alloc(16, 9) }, valid);
    const corrupt = Buffer.from(valid);
    corrupt.writeUInt8(corrupt.readUInt8(300) ^ 1, 300);
    const addr = Buffer.from("qis.hvac.energy-anomaly");
    const header = encodeBatchHeader(Kind.BATCH, 1, 0, 1);
    const garbage: Buffer[][] = [
      [Buffer.from("qis.hvac.x")], // 1 frame
      [addr, Buffer.from("not a header"), valid], // bad header
      [addr, header, Buffer.alloc(100)], // not whole packets
      [addr, header, valid, valid], // 4 frames
      [addr, header, corrupt], // CRC error: 1 invalid packet
      [Buffer.from("qis.hvac.other"), header, valid], // packet under the wrong address: 1 invalid packet
    ];
    for (let round = 0; round < 3; round++) {
      for (const frames of garbage) await rogue.send(frames);
      for (let i = 0; i < 50; i++) good.observe(observation("hvac", "energy-anomaly", 0.2, 0.9, 5));
    }
    const r = b.peers[0]!.counters;
    await waitFor(() => r.invalidMessages === 12 && r.invalidPackets === 9, () => `rogue counters ${JSON.stringify(r)}`);
    await waitFor(() => b.store.collect("qis.hvac.>").length === 150, () => `b holds ${b.store.collect("qis.hvac.>").length} of 150`);
    expect(r.packets).toBe(0);
    expect(b.peers[1]!.counters.invalidPackets).toBe(0);
    rogue.close();
  });
});

describe("the store endpoint", () => {
  it("pages through the store and answers a bad query with its error code", async () => {
    const a = await startAgent({ catchUp: { pageSize: 16 } });
    for (let i = 0; i < 40; i++) a.observe(observation("hvac", "energy-anomaly", 0, 0.5, 1));
    const dealer = new zmq.Dealer({ linger: 0 });
    dealer.connect(a.endpoints.store!);
    const ask = async (frames: Buffer[]) => {
      await dealer.send(frames);
      return decodeAnswer(await dealer.receive());
    };
    const first = await ask(encodeQuery(1, 0, 100, "qis.hvac.>"));
    expect(first.ok && first.reply).toMatchObject({ id: 1, count: 16, next: 16, head: 40 });
    const last = await ask(encodeQuery(2, 32, 100, "qis.hvac.energy-anomaly"));
    expect(last.ok && last.reply).toMatchObject({ id: 2, count: 8, next: 40, head: 40 });
    const bad = await ask(encodeQuery(3, 0, 10, "qis.HVAC.>"));
    expect(bad).toMatchObject({ ok: false, id: 3, code: "ERR_ADDRESS_TOKEN" });
    const garbled = await ask([Buffer.from("hello")]);
    expect(garbled).toMatchObject({ ok: false, code: "ERR_WIRE_FRAMES" });
    expect(a.stats().storeServer).toEqual({ served: 2, packetsServed: 24, badRequests: 2 });
    dealer.close();
  });
});

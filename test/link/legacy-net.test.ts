/**
 * The legacy links against a real pyzmq node (test/fixtures/legacy_node.py), over TCP loopback.
 * Needs Debian's python3-zmq: `/usr/bin/python3 -c 'import zmq'` must work.
 */
import * as zmq from "zeromq";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { compilePattern } from "../../src/address/index.js";
import {
  encodeLegacy,
  LegacyError,
  LegacyPublisher,
  LegacyStoreServer,
  LegacySubscriber,
} from "../../src/link/legacy/index.js";
import { codec, FLAG_LEGACY, PACKET_SIZE, PacketView, type Packet, type PacketFields } from "../../src/packet/index.js";
import { PacketStore } from "../../src/store/index.js";
import { PyNode, requirePyzmq, stopLegacyNodes, until } from "../fixtures/legacy-node.js";

const NODE_HEX = "0123456789abcdef0123456789abcdef";
const T0 = 1_795_000_000;
const closers: (() => void)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await stopLegacyNodes();
});

beforeAll(requirePyzmq);

// ---------------------------------------------------------------------------------------------
// Helpers

interface PyPacket {
  domain: string;
  delta: number;
  confidence: number;
  n: number;
  ts: number;
  node_id: string;
  context_hash?: string;
}

function ours(over: Partial<PacketFields> = {}): Buffer {
  const buf = Buffer.alloc(PACKET_SIZE);
  codec.encode(
    {
      timestampMs: T0 * 1000,
      ttlS: 3600,
      nObservations: 42,
      outcomeDelta: 0.18,
      confidence: 0.87,
      seq: 1,
      nodeId: Buffer.from(NODE_HEX, "hex"),
      address: "qis.hvac.energy-anomaly",
      ...over,
    },
    buf,
  );
  return buf;
}

/** Python's repr of a short decimal, as json.dumps writes it. */
const py = (x: number): string => (Number.isInteger(x) ? `${x}.0` : String(x));

function storeJson(entries: { domain: string; delta: number; confidence: number; n: number }[]): string {
  return `[${entries
    .map((e) => `{"domain": "${e.domain}", "outcome_delta": ${py(e.delta)}, "confidence": ${py(e.confidence)}, "n_observations": ${e.n}}`)
    .join(", ")}]`;
}

// ---------------------------------------------------------------------------------------------

describe("pyzmq PUB → LegacySubscriber", () => {
  it("yields exactly the expected packets, counts garbage, filters by pattern, reports up/down", async () => {
    const packets: (PyPacket | { raw: string[] })[] = [
      { domain: "hvac", delta: 0.18, confidence: 0.87, n: 42, ts: T0 + 0.5, node_id: NODE_HEX },
      // garbage payload on a subscribed topic
      { raw: [Buffer.from("qis.hvac.d+0.1").toString("hex"), Buffer.from("garbage").toString("hex")] },
      // three frames
      { raw: [Buffer.from("qis.hvac.d+0.1").toString("hex"), "00", "00"] },
      { domain: "hvac", delta: -0.05, confidence: 0.5, n: 7, ts: T0 + 1.25, node_id: "node-b", context_hash: "ctx" },
      // passes the SUB prefix "qis.hvac." but becomes qis.hvac-zone.dp0_1: no pattern matches it
      { domain: "hvac.zone", delta: 0.18, confidence: 0.5, n: 1, ts: T0 + 2, node_id: NODE_HEX },
      // the f32 trap: the sender's d+0.7 is kept
      { domain: "iot", delta: 0.7, confidence: 1, n: 3, ts: T0 + 3, node_id: NODE_HEX },
      // not subscribed at all (prefix qis.iot.d+0.7)
      { domain: "iot", delta: 0.18, confidence: 1, n: 3, ts: T0 + 4, node_id: NODE_HEX },
      // Would become qis.hvac.dp1_0, but the SUB prefix "qis.hvac." never sees the topic
      // "qis.HVAC.d+1.0" (docs/legacy.md: literal domains must already be in normal form).
      { domain: "HVAC", delta: 1, confidence: 0.25, n: 1, ts: T0 + 5, node_id: NODE_HEX },
      { domain: "hvac", delta: 1, confidence: 0.25, n: 2147483647, ts: T0 + 6, node_id: NODE_HEX },
    ];
    const py = await PyNode.start(["--pub", "tcp://127.0.0.1:*", "--packets", JSON.stringify(packets)]);

    const got: Packet[] = [];
    const invalid: LegacyError[] = [];
    let ups = 0;
    let downs = 0;
    const sub = new LegacySubscriber({
      name: "py",
      endpoint: py.ready.pub!,
      patterns: [compilePattern("qis.hvac.*"), compilePattern("qis.iot.dp0_7")],
      ttlS: 600,
      onPacket: (buf, offset) => got.push(codec.decode(buf.subarray(offset, offset + PACKET_SIZE))),
      onInvalid: (e) => invalid.push(e),
      onUp: () => ups++,
      onDown: () => downs++,
    });
    closers.push(() => sub.close());
    expect(sub.prefixes).toEqual(["qis.hvac.", "qis.iot.d+0.7"]);
    sub.start();

    // The publisher sees our subscriptions arrive: only then is publishing lossless.
    await py.waitFor((e) => e.event === "subscribed" && e.prefix === "qis.hvac.", "subscription qis.hvac.");
    await py.waitFor((e) => e.event === "subscribed" && e.prefix === "qis.iot.d+0.7", "subscription qis.iot.d+0.7");
    py.send({ cmd: "publish" });
    await py.waitFor((e) => e.event === "published", "published");
    await until(
      () => sub.received === 4 && sub.invalid === 2 && sub.filtered === 1,
      () => `4 packets, 2 invalid, 1 filtered; got ${sub.received} [${got.map((p) => p.address).join(" ")}], ${sub.invalid} [${invalid.map((e) => e.message).join("; ")}], ${sub.filtered}`,
    );

    expect(got.map((p) => p.address)).toEqual(["qis.hvac.dp0_1", "qis.hvac.dp0_0", "qis.iot.dp0_7", "qis.hvac.dp1_0"]);
    for (const p of got) {
      expect(p.flags).toBe(FLAG_LEGACY);
      expect(p.hops).toBe(0);
      expect(p.ttlS).toBe(600);
      expect(p.context).toEqual([]);
      expect(p.conclusion).toBe("");
    }
    expect(got[0]).toMatchObject({
      outcomeDelta: Math.fround(0.18),
      confidence: Math.fround(0.87),
      nObservations: 42,
      timestampMs: (T0 + 0.5) * 1000,
      seq: (T0 + 0.5) * 1e6,
    });
    expect(Buffer.from(got[0]!.nodeId).toString("hex")).toBe(NODE_HEX);
    expect(Buffer.from(got[0]!.contextHash).toString("hex")).toBe("0".repeat(32));
    expect(got[1]).toMatchObject({ outcomeDelta: Math.fround(-0.05), confidence: 0.5, nObservations: 7, timestampMs: T0 * 1000 + 1250 });
    expect(Buffer.from(got[1]!.nodeId).toString("hex")).not.toBe("0".repeat(32));
    expect(Buffer.from(got[1]!.contextHash).toString("hex")).not.toBe("0".repeat(32));
    expect(got[2]).toMatchObject({ outcomeDelta: Math.fround(0.7), confidence: 1, nObservations: 3 });
    expect(got[3]).toMatchObject({ outcomeDelta: 1, confidence: 0.25, nObservations: 2147483647 });
    expect(invalid.map((e) => e.code)).toEqual(["ERR_LEGACY_PAYLOAD", "ERR_LEGACY_FRAMES"]);

    expect(ups).toBe(1);
    await py.stop();
    await until(() => downs === 1, "onDown after the legacy node exited", 5000);
  });

  it("setPatterns changes the subscriptions without reconnecting", async () => {
    const packets: PyPacket[] = [
      { domain: "hvac", delta: 0.18, confidence: 0.5, n: 1, ts: T0, node_id: NODE_HEX },
      { domain: "iot", delta: 0.18, confidence: 0.5, n: 2, ts: T0, node_id: NODE_HEX },
    ];
    const py = await PyNode.start(["--pub", "tcp://127.0.0.1:*", "--packets", JSON.stringify(packets)]);
    const got: string[] = [];
    let ups = 0;
    const sub = new LegacySubscriber({
      name: "py",
      endpoint: py.ready.pub!,
      patterns: [compilePattern("qis.iot.*")],
      onPacket: (buf, offset) => got.push(new PacketView(buf, offset).address),
      onInvalid: () => {},
      onUp: () => ups++,
    });
    closers.push(() => sub.close());
    sub.start();
    await py.waitFor((e) => e.event === "subscribed" && e.prefix === "qis.iot.", "subscription qis.iot.");
    py.send({ cmd: "publish" });
    await until(() => got.length === 1, () => `1 packet, got ${got.join(" ")}`);

    sub.setPatterns([compilePattern("qis.hvac.dp0_1")]);
    expect(sub.prefixes).toEqual(["qis.hvac.d+0.1"]);
    await py.waitFor((e) => e.event === "subscribed" && e.prefix === "qis.hvac.d+0.1", "subscription qis.hvac.d+0.1");
    await py.waitFor((e) => e.event === "unsubscribed" && e.prefix === "qis.iot.", "unsubscription qis.iot.");
    py.send({ cmd: "publish" });
    await until(() => got.length === 2, () => `2 packets, got ${got.join(" ")}`);
    expect(got).toEqual(["qis.iot.dp0_1", "qis.hvac.dp0_1"]);
    expect(ups).toBe(1);
  });

  it("close() ends the loops quietly, even with no peer ever reachable", async () => {
    const sub = new LegacySubscriber({
      name: "nobody",
      endpoint: "tcp://127.0.0.1:1",
      patterns: [compilePattern("qis.>")],
      onPacket: () => {},
      onInvalid: () => {},
      onUp: () => {},
      onDown: () => {},
      onError: (e) => {
        throw e;
      },
    });
    sub.start();
    await new Promise((r) => setTimeout(r, 50));
    sub.close();
    sub.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(sub.received).toBe(0);
  });
});

describe("LegacyPublisher → pyzmq SUB", () => {
  it("delivers the exact legacy topic and payload", async () => {
    const pub = await LegacyPublisher.bind("tcp://127.0.0.1:*");
    closers.push(() => pub.close());
    expect(pub.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const py = await PyNode.start(["--sub", pub.endpoint, "--topic", "qis.hvac."]);

    // PUB cannot see subscriptions: send a probe until the node receives one.
    const probe = ours({ address: "qis.hvac.probe", seq: 999, nObservations: 999 });
    const probed = py.waitFor((e) => e.event === "received", "a probe");
    let seen = false;
    void probed.then(() => (seen = true), () => {});
    while (!seen && !py.exited) {
      pub.publish(probe, 0);
      await new Promise((r) => setTimeout(r, 20));
    }
    await probed;

    const first = ours();
    const trap = ours({ outcomeDelta: 0.7, address: "qis.hvac.dp0_7", contextHash: Buffer.from("ffeeddccbbaa99887766554433221100", "hex") });
    const other = ours({ address: "qis.iot.x" });
    // Two packets side by side in one buffer: publish reads at the offset.
    const two = Buffer.concat([other, trap]);
    pub.publish(first, 0);
    pub.publish(two, 0);
    pub.publish(two, PACKET_SIZE);

    const expectedFirst =
      "3e3851ec3f5eb8520000002a41dabf61b00000000000000000000000" + Buffer.from(`hvac|${NODE_HEX}|${"0".repeat(32)}`).toString("hex");
    const a = await py.waitFor((e) => e.event === "received" && e.payload_hex === expectedFirst, "the first packet");
    expect(a.topic).toBe("qis.hvac.d+0.1");
    expect(a.frames).toBe(2);
    expect(a.decoded).toEqual({
      outcome_delta: Math.fround(0.18),
      confidence: Math.fround(0.87),
      n_observations: 42,
      timestamp: T0,
      reserved: 0,
      text: `hvac|${NODE_HEX}|${"0".repeat(32)}`,
    });

    const [trapTopic, trapPayload] = encodeLegacy(new PacketView(trap, 0));
    const b = await py.waitFor((e) => e.event === "received" && e.topic === "qis.hvac.d+0.7", "the d+0.7 packet");
    expect(b.topic_hex).toBe(trapTopic.toString("hex"));
    expect(b.payload_hex).toBe(trapPayload.toString("hex"));
    expect((b.decoded as { text: string }).text).toBe(`hvac|${NODE_HEX}|ffeeddccbbaa99887766554433221100`);

    // Everything the node got: probes, then the two; never qis.iot.
    const received = py.events.filter((e) => e.event === "received");
    expect(received.some((e) => String(e.topic).startsWith("qis.iot"))).toBe(false);
    expect(received.at(-1)).toBe(b);
    await until(() => pub.sent >= 3, "the sends to resolve");
    expect(pub.dropped).toBe(0);
  });

  it("never throws when the queue is full: drops and counts", async () => {
    const pub = await LegacyPublisher.bind("tcp://127.0.0.1:*", { sendHwm: 1 });
    closers.push(() => pub.close());
    const py = await PyNode.start(["--sub", pub.endpoint]);
    void py;
    const p = ours();
    for (let i = 0; i < 20_000; i++) pub.publish(p, 0);
    await until(() => pub.sent + pub.dropped === 20_000, "every send to settle");
    pub.close();
    expect(() => pub.publish(p, 0)).not.toThrow();
    expect(pub.dropped + pub.sent).toBe(20_001);
  });
});

describe("pyzmq REQ → LegacyStoreServer", () => {
  async function serverWith(packets: Buffer[], replyLimit?: number): Promise<LegacyStoreServer> {
    const store = new PacketStore({ capacity: 256, now: () => T0 * 1000 });
    for (const p of packets) store.insert(p, 0);
    const server = await LegacyStoreServer.bind("tcp://127.0.0.1:*", store, replyLimit === undefined ? {} : { replyLimit });
    closers.push(() => {
      server.close();
      store.close();
    });
    return server;
  }

  async function ask(py: PyNode, endpoint: string, request: { prefix: string } | { frames_hex: string[] }): Promise<string> {
    py.send({ cmd: "query", endpoint, ...request });
    const reply = await py.waitFor((e) => e.event === "reply", "a reply");
    expect(reply.timeout).toBeUndefined();
    return reply.text as string;
  }

  it("answers the last 50 matches, oldest first, in json.dumps format; bad requests get []", async () => {
    const entries: { domain: string; delta: number; confidence: number; n: number; address: string }[] = [];
    for (let i = 0; i < 70; i++) {
      const domain = i % 7 === 3 ? "iot" : "hvac";
      const delta = Number((((i % 19) - 9) / 20 + 0.01).toFixed(2));
      entries.push({ domain, delta, confidence: Number((0.5 + (i % 40) / 100 + 0.005).toFixed(3)), n: i * 3, address: `qis.${domain}.problem-${i % 4}` });
    }
    const server = await serverWith(
      entries.map((e, i) => ours({ address: e.address, outcomeDelta: e.delta, confidence: e.confidence, nObservations: e.n, seq: i + 1 })),
    );
    const py = await PyNode.start([]);
    const bucket = (d: number): string => {
      const t = Math.trunc(d * 10) + 0;
      return `${t < 0 ? "-" : "+"}0.${Math.abs(t)}`;
    };
    const topic = (e: (typeof entries)[number]): string => `qis.${e.domain}.d${bucket(e.delta)}`;
    const expected = (prefix: string): string => storeJson(entries.filter((e) => topic(e).startsWith(prefix)).slice(-50));

    const hvac = await ask(py, server.endpoint, { prefix: "qis.hvac." });
    expect(hvac).toBe(expected("qis.hvac."));
    expect(JSON.parse(hvac)).toHaveLength(50);
    expect(await ask(py, server.endpoint, { prefix: "qis.iot." })).toBe(expected("qis.iot."));
    expect(JSON.parse(await ask(py, server.endpoint, { prefix: "qis.iot." }))).toHaveLength(10);
    expect(await ask(py, server.endpoint, { prefix: "qis.hvac.d-0.2" })).toBe(expected("qis.hvac.d-0.2"));
    expect(await ask(py, server.endpoint, { prefix: "qis.hv" })).toBe(expected("qis.hv"));
    expect(await ask(py, server.endpoint, { prefix: "" })).toBe(expected(""));
    expect(await ask(py, server.endpoint, { prefix: "qis." })).toBe(expected(""));
    expect(await ask(py, server.endpoint, { prefix: "qis.nothing." })).toBe("[]");
    expect(await ask(py, server.endpoint, { prefix: "zzz" })).toBe("[]");
    expect(await ask(py, server.endpoint, { prefix: "qis.Bad Domain." })).toBe("[]");
    expect(server.badRequests).toBe(0);

    // Bad requests: two frames, not UTF-8, over 256 bytes. Each is answered [] and counted.
    expect(await ask(py, server.endpoint, { frames_hex: ["71", "69"] })).toBe("[]");
    expect(await ask(py, server.endpoint, { frames_hex: ["ff"] })).toBe("[]");
    expect(await ask(py, server.endpoint, { frames_hex: [Buffer.from(`qis.${"a".repeat(253)}`).toString("hex")] })).toBe("[]");
    expect(server.badRequests).toBe(3);
    // The socket still answers good requests afterwards.
    expect(await ask(py, server.endpoint, { prefix: "qis.iot." })).toBe(expected("qis.iot."));
    expect(server.served).toBe(14);
  });

  it("honours replyLimit", async () => {
    const server = await serverWith(
      [0.1, 0.2, 0.3].map((d, i) => ours({ outcomeDelta: d, seq: i + 1 })),
      2,
    );
    const py = await PyNode.start([]);
    expect(await ask(py, server.endpoint, { prefix: "qis.hvac." })).toBe(
      '[{"domain": "hvac", "outcome_delta": 0.2, "confidence": 0.87, "n_observations": 42}, ' +
        '{"domain": "hvac", "outcome_delta": 0.3, "confidence": 0.87, "n_observations": 42}]',
    );
  });
});

describe("a legacy swarm round trip", () => {
  it("packets a pyzmq node publishes come back from our store as the node's own store gives them", async () => {
    const packets: PyPacket[] = [];
    for (let i = 0; i < 56; i++) {
      packets.push({
        domain: i % 4 === 0 ? "iot" : "hvac",
        delta: Number(((i % 19) / 10 - 0.9 + 0.03).toFixed(2)),
        confidence: Number(((i % 9) / 10 + 0.05).toFixed(2)),
        n: i + 1,
        ts: T0 + i / 1000,
        node_id: i % 2 === 0 ? NODE_HEX : `py-node-${i % 3}`,
      });
    }
    packets.push({ domain: "hvac", delta: 0.7, confidence: 1, n: 0, ts: T0 + 1, node_id: NODE_HEX });
    const py = await PyNode.start(["--pub", "tcp://127.0.0.1:*", "--rep", "tcp://127.0.0.1:*", "--packets", JSON.stringify(packets)]);

    const store = new PacketStore({ capacity: 128, now: () => T0 * 1000 });
    const server = await LegacyStoreServer.bind("tcp://127.0.0.1:*", store);
    const invalid: LegacyError[] = [];
    const sub = new LegacySubscriber({
      name: "py",
      endpoint: py.ready.pub!,
      patterns: [compilePattern("qis.>")],
      onPacket: (buf, offset) => {
        store.insert(buf, offset);
      },
      onInvalid: (e) => invalid.push(e),
    });
    closers.push(() => {
      sub.close();
      server.close();
      store.close();
    });
    sub.start();
    await py.waitFor((e) => e.event === "subscribed" && e.prefix === "qis.", "subscription qis.");
    py.send({ cmd: "publish" });
    await until(
      () => sub.received === packets.length,
      () => `${packets.length} packets; got ${sub.received}, ${sub.invalid} invalid [${invalid.map((e) => e.message).join("; ")}], ${sub.filtered} filtered`,
    );
    expect(invalid).toEqual([]);
    expect(store.size).toBe(packets.length);

    const req = new zmq.Request({ linger: 0, receiveTimeout: 5000 });
    closers.unshift(() => req.close());
    req.connect(py.ready.rep!);
    const replies = new Map<string, string>();
    for (const prefix of ["qis.hvac.", "qis.iot.", "qis.", "qis.hvac.d+0.7", "qis.hvac.d-0.9", "qis.nothing"]) {
      await req.send(prefix);
      const [theirs] = await req.receive();
      py.send({ cmd: "query", endpoint: server.endpoint, prefix });
      const reply = await py.waitFor((e) => e.event === "reply", `our reply to ${prefix}`);
      expect(reply.text, prefix).toBe(theirs!.toString("utf8"));
      replies.set(prefix, reply.text as string);
    }
    expect(JSON.parse(replies.get("qis.hvac.")!)).toHaveLength(43);
    expect(JSON.parse(replies.get("qis.")!)).toHaveLength(50);
    // The f32 trap: 0.7 arrived under d+0.7 and is found there, printed as 0.7 again.
    expect(replies.get("qis.hvac.d+0.7")).toContain('{"domain": "hvac", "outcome_delta": 0.7, "confidence": 1.0, "n_observations": 0}');
    expect(replies.get("qis.nothing")).toBe("[]");
  });
});

describe("n_observations above 2^31 - 1 (the legacy i32)", () => {
  it("is sent as 2^31 - 1 alike on the legacy PUB and in legacy store replies", async () => {
    const counts = [2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 3_000_000_000, 2 ** 32 - 1];
    const packets = counts.map((n, i) => ours({ nObservations: n, seq: i + 1 }));
    const clamped = counts.map((n) => Math.min(n, 2 ** 31 - 1));

    const store = new PacketStore({ capacity: 16, now: () => T0 * 1000 });
    for (const p of packets) store.insert(p, 0);
    const server = await LegacyStoreServer.bind("tcp://127.0.0.1:*", store);
    const pub = await LegacyPublisher.bind("tcp://127.0.0.1:*");
    closers.push(() => {
      pub.close();
      server.close();
      store.close();
    });

    // The store path: a pyzmq REQ asks, json.loads reads the counts.
    const py = await PyNode.start(["--sub", pub.endpoint, "--topic", "qis.hvac."]);
    py.send({ cmd: "query", endpoint: server.endpoint, prefix: "qis.hvac." });
    const reply = await py.waitFor((e) => e.event === "reply", "the store reply");
    expect((JSON.parse(reply.text as string) as { n_observations: number }[]).map((e) => e.n_observations)).toEqual(clamped);

    // The PUB path: a pyzmq SUB unpacks the struct's i32. Probes until the subscription is in.
    const probe = ours({ address: "qis.hvac.probe", outcomeDelta: -0.5, seq: 999 });
    const probed = py.waitFor((e) => e.event === "received", "a probe");
    let seen = false;
    void probed.then(() => (seen = true), () => {});
    while (!seen && !py.exited) {
      pub.publish(probe, 0);
      await new Promise((r) => setTimeout(r, 20));
    }
    await probed;
    const marker = `hvac|${NODE_HEX}|${"0".repeat(32)}`;
    const before = py.events.length;
    for (const p of packets) pub.publish(p, 0);
    await until(
      () => py.events.slice(before).filter((e) => e.event === "received" && e.topic === "qis.hvac.d+0.1").length === counts.length,
      "the five packets on the legacy PUB",
    );
    const sent = py.events.slice(before).filter((e) => e.event === "received" && e.topic === "qis.hvac.d+0.1");
    expect(sent.map((e) => (e.decoded as { n_observations: number; text: string }).n_observations)).toEqual(clamped);
    expect(sent.every((e) => (e.decoded as { text: string }).text === marker)).toBe(true);
  });
});

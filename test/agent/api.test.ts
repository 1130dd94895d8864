/** The programmatic agent API: observe's errors, query, run-time subscriptions, addPeer, close. */
import { afterEach, describe, expect, it } from "vitest";
import { ObservationError } from "../../src/agent/observation.js";
import { QisError } from "../../src/errors.js";
import { catchError } from "../catch-error.js";
import { closeAll, observation, startAgent, waitFor } from "./harness.js";

afterEach(closeAll);

describe("observe", () => {
  it("returns the address, a rising seq and the store cursor", async () => {
    const a = await startAgent();
    const r1 = a.observe(observation("HVAC", "Energy Anomaly", 0.18, 0.87, 42));
    const r2 = a.observe(observation("hvac", "energy-anomaly", 0.2, 0.5, 1));
    expect(r1.address).toBe("qis.hvac.energy-anomaly");
    expect(r2.seq).toBe(r1.seq + 1);
    expect([r1.cursor, r2.cursor]).toEqual([1, 2]);
    expect(a.stats()).toMatchObject({ observed: 2, published: 2, received: 0 });
  });

  it("refuses bad observations with every problem and leaves nothing behind", async () => {
    const a = await startAgent();
    const e = catchError(() => a.observe({ domain: "hvac", problemClass: "x", outcomeDelta: 2, confidence: -1, nObservations: 1 }), ObservationError);
    expect(e.code).toBe("ERR_OBSERVATION");
    expect(e.problems.map((p) => p.path).sort()).toEqual(["/confidence", "/outcomeDelta"]);
    const own = catchError(() => a.observe({ ...observation("hvac", "x", 0, 0, 0), nodeId: "00".repeat(16) }), ObservationError);
    expect(own.problems).toEqual([{ path: "/nodeId", message: "is set by the agent: leave it out" }]);
    const stale = catchError(() => a.observe({ ...observation("hvac", "x", 0, 0, 0), timestampMs: 1000, ttlS: 1 }), QisError);
    expect(stale.code).toBe("ERR_OBSERVATION_EXPIRED");
    expect(a.stats().observed).toBe(0);
    expect(a.store.size).toBe(0);
  });

  it("is refused after close", async () => {
    const a = await startAgent();
    await a.close();
    expect(catchError(() => a.observe(observation("hvac", "x", 0, 0, 0)), QisError).code).toBe("ERR_AGENT_CLOSED");
  });
});

describe("query", () => {
  it("pages through the local store by pattern", async () => {
    const a = await startAgent();
    for (let i = 0; i < 5; i++) a.observe(observation("hvac", "energy-anomaly", 0, 0.5, 1));
    for (let i = 0; i < 3; i++) a.observe(observation("water", "leak", 0, 0.5, 1));
    const p1 = a.query("qis.hvac.>", 0, 3);
    expect(p1.packets.map((p) => p.cursor)).toEqual([1, 2, 3]);
    const p2 = a.query("qis.hvac.>", p1.next, 3);
    expect(p2.packets.map((p) => p.cursor)).toEqual([4, 5]);
    expect(p2.next).toBe(8);
    expect(a.query("qis.*.leak").packets).toHaveLength(3);
  });
});

describe("run-time subscriptions", () => {
  it("a pattern added later is caught up from the peer's store; a removed one stops", async () => {
    const a = await startAgent();
    const b = await startAgent({ subscribe: ["qis.hvac.>"] });
    b.addPeer({ name: "a", pub: a.endpoints.pub, store: a.endpoints.store });
    await waitFor(() => b.peers[0]!.up, () => "b connected");
    for (let i = 0; i < 10; i++) a.observe(observation("water", "leak", -0.3, 0.5, 1));
    a.observe(observation("hvac", "energy-anomaly", 0.1, 0.5, 1));
    await waitFor(() => b.store.size === 1, () => `b holds ${b.store.size}`);
    b.subscribe("qis.water.>");
    expect(b.patterns).toEqual(["qis.hvac.>", "qis.water.>"]);
    await waitFor(() => b.store.size === 11, () => `b holds ${b.store.size} after subscribing`);
    expect(b.unsubscribe("qis.water.>")).toBe(true);
    expect(b.unsubscribe("qis.water.>")).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 5; i++) a.observe(observation("water", "leak", -0.3, 0.5, 1));
    a.observe(observation("hvac", "energy-anomaly", 0.1, 0.5, 1));
    await waitFor(() => b.store.collect("qis.hvac.>").length === 2, () => "the second hvac packet");
    await new Promise((r) => setTimeout(r, 200));
    expect(b.store.collect("qis.water.>")).toHaveLength(10);
    expect(catchError(() => b.addPeer({ name: "a", pub: a.endpoints.pub }), QisError).code).toBe("ERR_PEER_EXISTS");
  });

  it("emits peer up and down", async () => {
    const a = await startAgent();
    const b = await startAgent();
    const events: { name: string; up: boolean }[] = [];
    b.on("peer", (e: { name: string; up: boolean }) => events.push({ name: e.name, up: e.up }));
    b.addPeer({ name: "a", pub: a.endpoints.pub });
    await waitFor(() => events.length === 1, () => "peer up");
    await a.close();
    await waitFor(() => events.length === 2, () => `peer down: ${JSON.stringify(events)}`);
    expect(events).toEqual([
      { name: "a", up: true },
      { name: "a", up: false },
    ]);
  });
});

describe("start failures", () => {
  it("an endpoint in use fails with ERR_AGENT_START naming the cause", async () => {
    const a = await startAgent();
    const e = await startAgent({ pub: { bind: a.endpoints.pub } }).catch((err: unknown) => err as QisError);
    expect(e).toBeInstanceOf(QisError);
    expect((e as QisError).code).toBe("ERR_AGENT_START");
    expect((e as QisError).message).toContain("Address already in use");
  });
});

describe("observeMany", () => {
  it("stores the valid ones in one batch and returns the error of each bad one in place", async () => {
    const a = await startAgent();
    const inputs: unknown[] = [];
    for (let i = 0; i < 600; i++) inputs.push(i % 100 === 7 ? { domain: "hvac" } : observation("hvac", "energy-anomaly", (i % 20) / 10 - 1, 0.5, 1 + (i % 5)));
    inputs.push({ ...observation("hvac", "x", 0, 0, 0), timestampMs: 1000, ttlS: 1 });
    const results = a.observeMany(inputs);
    expect(results).toHaveLength(601);
    const bad = results.flatMap((r, i) => (r instanceof Error ? [[i, (r as QisError).code]] : []));
    expect(bad).toEqual([[7, "ERR_OBSERVATION"], [107, "ERR_OBSERVATION"], [207, "ERR_OBSERVATION"], [307, "ERR_OBSERVATION"], [407, "ERR_OBSERVATION"], [507, "ERR_OBSERVATION"], [600, "ERR_OBSERVATION_EXPIRED"]]);
    const ok = results.filter((r): r is { address: string; seq: number; cursor: number } => !(r instanceof Error));
    expect(ok.map((r) => r.cursor)).toEqual(Array.from({ length: 594 }, (_, i) => i + 1));
    expect(new Set(ok.map((r) => r.seq)).size).toBe(594);
    expect(a.stats()).toMatchObject({ observed: 594, published: 594 });
    expect(a.synth.estimate("qis.hvac.energy-anomaly")!.packets).toBe(594);
  });
});

describe("publish", () => {
  it("counts each stored packet once, over more than one internal batch", async () => {
    const a = await startAgent();
    const { codec, PACKET_SIZE } = await import("../../src/packet/index.js");
    const n = 5000; // more than one 4096-packet insert batch
    const buf = Buffer.alloc(n * PACKET_SIZE);
    const now = Date.now();
    for (let i = 0; i < n; i++)
      codec.encode({ address: "qis.hvac.energy-anomaly", timestampMs: now, ttlS: 600, nObservations: 1, outcomeDelta: 0.1, confidence: 0.5, seq: i + 1, nodeId: Buffer.alloc(16, 5) }, buf, i * PACKET_SIZE);
    expect(a.publish(buf)).toBe(n);
    expect(a.stats()).toMatchObject({ published: n, observed: 0 });
    expect(a.publish(buf.subarray(0, 10 * PACKET_SIZE))).toBe(0); // duplicates: stored once
    expect(a.stats().published).toBe(n);
  });
});

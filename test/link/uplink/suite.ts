/**
 * The abstract test suite of the Uplink interface (like MQTT.js's abstract_store.ts): every
 * adapter runs it against its real broker (test/link/uplink/mqtt.test.ts; NATS JetStream next)
 * through an `UplinkWorld`, which knows how to start and stop that broker, open an uplink on it,
 * watch what reaches it and send raw messages down.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { OutboxUplink } from "../../../src/link/uplink/uplink.js";
import { PACKET_SIZE } from "../../../src/packet/index.js";
import { identityAt, packet } from "../../store/helpers.js";

export interface UplinkOpenOptions {
  outboxPath: string;
  capacity?: number;
  batch?: number;
  drainRate?: number;
  /** address patterns to receive; delivered packets go to `delivered` */
  down?: string[];
  delivered?: { source: string; packets: Buffer; count: number; codes: Uint8Array }[];
}

export interface Receiver {
  /** "node:seq" of every packet received, in arrival order (duplicates included) */
  identities: string[];
  /** raw payloads received */
  payloads: Buffer[];
  close(): Promise<void>;
}

export interface UplinkWorld {
  /** the broker up (again): returns once it accepts connections */
  start(): Promise<void>;
  stop(): Promise<void>;
  open(options: UplinkOpenOptions): OutboxUplink;
  /** subscribes to everything the uplinks publish; resolves once subscribed */
  receiver(): Promise<Receiver>;
  /** publishes a raw message down, under the topic/subject of `address` (or a raw `topic`) */
  inject(target: { address: string } | { topic: string }, payload: Buffer): Promise<void>;
  close(): Promise<void>;
}

export async function waitUntil(check: () => boolean, what: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Checks that every one of node 1's seqs 1..n arrived (duplicates allowed and returned). */
export function lostAndDuplicates(ids: string[], n: number, node = 1): { lost: number; duplicates: number } {
  const seen = new Set<string>();
  let duplicates = 0;
  for (const id of ids) {
    if (seen.has(id)) duplicates++;
    seen.add(id);
  }
  let lost = 0;
  for (let s = 1; s <= n; s++) if (!seen.has(`${node}:${s}`)) lost++;
  return { lost, duplicates };
}

export function uplinkSuite(name: string, makeWorld: () => Promise<UplinkWorld>): void {
  describe(`the Uplink interface: ${name}`, () => {
    const dirs: string[] = [];
    const closers: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of closers.splice(0).reverse()) await c();
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    });
    async function setup(): Promise<{ world: UplinkWorld; dir: string; open(o?: Partial<UplinkOpenOptions>): OutboxUplink }> {
      const dir = mkdtempSync(join(tmpdir(), `qis-uplink-${name}-`));
      dirs.push(dir);
      const world = await makeWorld();
      closers.push(() => world.close());
      return {
        world,
        dir,
        open(o = {}) {
          const u = world.open({ outboxPath: join(dir, "outbox.bin"), ...o });
          closers.push(() => u.close());
          return u;
        },
      };
    }
    const publish = (u: OutboxUplink, from: number, to: number, address = (s: number) => `qis.test.a${s % 3}`): void => {
      for (let s = from; s <= to; s++) u.publish(packet({ seq: s, address: address(s) }), 0);
      u.flush();
    };

    it("delivers every packet, exact bytes, k × 512 per message of one address, and empties the outbox", async () => {
      const { world, open } = await setup();
      const rx = await world.receiver();
      closers.push(() => rx.close());
      const u = open({ batch: 8 });
      await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
      publish(u, 1, 100);
      await waitUntil(() => rx.identities.length >= 100 && u.outbox.size === 0, () => `${rx.identities.length} received, ${u.outbox.size} held`);
      expect(lostAndDuplicates(rx.identities, 100)).toEqual({ lost: 0, duplicates: 0 });
      for (const p of rx.payloads) {
        expect(p.length % PACKET_SIZE).toBe(0);
        expect(p.length / PACKET_SIZE).toBeLessThanOrEqual(8);
        const addresses = new Set<string>();
        for (let o = 0; o < p.length; o += PACKET_SIZE) addresses.add(p.toString("latin1", o + 96, o + 96 + p[o + 7]!));
        expect(addresses.size).toBe(1);
      }
      const first = rx.payloads.find((p) => identityAt(p, 0) === "1:1")!;
      expect(Buffer.compare(first.subarray(0, PACKET_SIZE), packet({ seq: 1, address: "qis.test.a1" }))).toBe(0);
      const s = u.stats();
      expect(s.outbox).toMatchObject({ appended: 100, acked: 100, held: 0, dropped: 0 });
      expect(s.sent.packets).toBe(100);
    });

    it("keeps messages full under load, never more than its window in flight, every packet's bytes intact", async () => {
      const { world, open } = await setup();
      const rx = await world.receiver();
      closers.push(() => rx.close());
      const u = open({ batch: 64 });
      await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
      // Two rounds: message buffers of the first are reused by the second.
      publish(u, 1, 3000, (s) => `qis.test.a${s % 3}`);
      await waitUntil(() => u.outbox.size === 0, () => `${u.outbox.size} held`);
      publish(u, 3001, 6000, (s) => `qis.test.a${s % 3}`);
      await waitUntil(() => u.outbox.size === 0 && rx.identities.length >= 6000, () => `${u.outbox.size} held, ${rx.identities.length} received`);
      const s = u.stats().sent;
      expect(s.packets).toBe(6000);
      // 94 full messages would do; partial ones only where nothing more could be taken.
      expect(s.messages).toBeLessThan(160);
      expect(s.peakInFlight).toBeLessThanOrEqual(16);
      let bad = 0;
      for (const p of rx.payloads) {
        for (let o = 0; o < p.length; o += PACKET_SIZE) {
          const seq = Number(identityAt(p, o).split(":")[1]);
          if (Buffer.compare(p.subarray(o, o + PACKET_SIZE), packet({ seq, address: `qis.test.a${seq % 3}` })) !== 0) bad++;
        }
      }
      expect(bad).toBe(0);
    });

    it("takes only what matches its up patterns", async () => {
      const { open } = await setup();
      const u = open();
      expect(u.publish(packet({ seq: 1, address: "qis.test.a" }), 0)).toBe(true);
      u.flush();
      expect(u.outbox.counters.appended).toBe(1);
    });

    it("keeps packets accepted while the broker is down and sends them all once it is back", async () => {
      const { world, open } = await setup();
      const rx = await world.receiver();
      closers.push(() => rx.close());
      const u = open();
      await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
      await world.stop();
      await waitUntil(() => u.state === "offline", () => `state ${u.state}`);
      publish(u, 1, 2000);
      expect(u.outbox.size).toBe(2000);
      await world.start();
      await waitUntil(() => u.outbox.size === 0, () => `${u.outbox.size} held, state ${u.state}`);
      await waitUntil(() => lostAndDuplicates(rx.identities, 2000).lost === 0, () => `${lostAndDuplicates(rx.identities, 2000).lost} lost`);
      expect(u.stats().connects).toBeGreaterThanOrEqual(2);
    }, 40_000);

    it("resumes from the outbox file after a restart (close while offline, open again)", async () => {
      const { world, open } = await setup();
      await world.stop();
      const u1 = open();
      publish(u1, 1, 500);
      await u1.close();
      await world.start();
      const rx = await world.receiver();
      closers.push(() => rx.close());
      const u2 = open();
      expect(u2.outbox.resumed).toBe(500);
      await waitUntil(() => u2.outbox.size === 0 && rx.identities.length >= 500, () => `${u2.outbox.size} held, ${rx.identities.length} received`);
      expect(lostAndDuplicates(rx.identities, 500)).toMatchObject({ lost: 0 });
    }, 30_000);

    it("drains at no more than drainRate packets per second", async () => {
      const { world, open } = await setup();
      const rx = await world.receiver();
      closers.push(() => rx.close());
      await world.stop();
      const u = open({ drainRate: 2000, batch: 16 });
      publish(u, 1, 2000);
      await world.start();
      await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
      const t0 = Date.now();
      await waitUntil(() => u.outbox.size === 0, () => `${u.outbox.size} held`);
      const ms = Date.now() - t0;
      // 2000 at 2000/s with a burst of a tenth of a second: about 0.9 s.
      expect(ms).toBeGreaterThan(700);
      expect(ms).toBeLessThan(5000);
    }, 30_000);

    it("delivers what comes down to its sink, and counts and drops malformed payloads per topic", async () => {
      const { world, open } = await setup();
      const delivered: UplinkOpenOptions["delivered"] = [];
      const u = open({ down: ["qis.remote.>"], delivered });
      const errors: { code: string }[] = [];
      u.on("error", (e) => errors.push(e as unknown as { code: string }));
      await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
      await new Promise((r) => setTimeout(r, 200)); // the subscription on its way
      const good = Buffer.concat([packet({ node: 7, seq: 1, address: "qis.remote.x" }), packet({ node: 7, seq: 2, address: "qis.remote.x" })]);
      await world.inject({ address: "qis.remote.x" }, good);
      await world.inject({ address: "qis.remote.x" }, Buffer.from("garbage"));
      await world.inject({ address: "qis.remote.y" }, packet({ node: 7, seq: 3, address: "qis.remote.x" })); // wrong topic
      const corrupt = packet({ node: 7, seq: 4, address: "qis.remote.x" });
      corrupt[300] = corrupt[300]! ^ 1;
      await world.inject({ address: "qis.remote.x" }, corrupt);
      await waitUntil(() => u.stats().received.messages >= 4, () => JSON.stringify(u.stats().received));
      expect(delivered.length).toBe(1);
      expect(delivered[0]!.count).toBe(2);
      expect(Buffer.compare(delivered[0]!.packets, good)).toBe(0);
      const r = u.stats().received;
      expect(r.packets).toBe(2);
      expect(r.malformed).toBe(3);
      expect(Object.values(r.malformedByTopic).reduce((a, b) => a + b, 0)).toBe(3);
      expect(errors.map((e) => e.code)).toEqual(["ERR_UPLINK_PAYLOAD", "ERR_UPLINK_PAYLOAD", "ERR_UPLINK_PAYLOAD"]);
      expect(u.state).toBe("connected");
    }, 20_000);
  });
}

/** The Uplink suite against a real nats-server with JetStream, and what is NATS's own: the stream, consumers, msg ids, credentials. */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NATS_DEFAULTS, type NatsUplinkConfig } from "../../../src/agent/config.js";
import { consumerName, messageId, openNatsUplink } from "../../../src/link/nats/index.js";
import { UplinkError } from "../../../src/link/uplink/errors.js";
import type { OutboxUplink } from "../../../src/link/uplink/uplink.js";
import { PACKET_SIZE } from "../../../src/packet/index.js";
import { catchError } from "../../catch-error.js";
import { identityAt, packet } from "../../store/helpers.js";
import { closeNatsServers, startNatsServer, type NatsServer, type NatsServerOptions } from "../nats-server.js";
import { uplinkSuite, waitUntil, type UplinkOpenOptions, type UplinkWorld } from "./suite.js";

const NODE = "0123456789abcdef0123456789abcdef";
let nodeSeq = 0;

function config(server: NatsServer, over: Partial<NatsUplinkConfig> = {}): NatsUplinkConfig {
  const c = structuredClone(NATS_DEFAULTS) as NatsUplinkConfig;
  return { ...c, servers: [server.url], stream: { ...c.stream, subjects: ["qis.>"] }, up: ["qis.>"], reconnect: { minMs: 50, maxMs: 500 }, ...over };
}

/** The test side's NATS connections: closed after each test, also when it failed half-way. */
const testConnections: NatsConnection[] = [];
afterEach(async () => {
  for (const c of testConnections.splice(0)) await c.close().catch(() => {});
});

async function natsClient(server: NatsServer, opts: Record<string, unknown> = {}): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url, ...opts });
  testConnections.push(nc);
  return nc;
}

async function natsWorld(serverOptions: NatsServerOptions = {}): Promise<UplinkWorld> {
  const server = await startNatsServer(serverOptions);
  const stops: (() => void)[] = [];
  return {
    start: () => server.start(),
    stop: () => server.stop(),
    open(o: UplinkOpenOptions): OutboxUplink {
      const c = config(server, {
        // The suite checks the window against 16 (MQTT's default); NATS's default is 128.
        inflight: 16,
        outbox: { file: o.outboxPath, capacity: o.capacity ?? 65_536, sync: false },
        ...(o.batch !== undefined ? { batch: o.batch } : {}),
        ...(o.drainRate !== undefined ? { drainRate: o.drainRate } : {}),
        ...(o.down !== undefined ? { down: o.down } : {}),
      });
      const sink = o.delivered === undefined ? null : { deliver: (source: string, packets: Uint8Array, count: number, codes: Uint8Array) => void o.delivered!.push({ source, packets: Buffer.from(packets), count, codes: codes.slice() }) };
      // A node id per uplink: each has its own durable consumers.
      const nodeId = (++nodeSeq).toString(16).padStart(32, "0");
      return openNatsUplink(c, { nodeId, stateDir: "/nonexistent", sink });
    },
    async receiver() {
      // A durable consumer of the whole stream: what the uplinks publish is read from the stream,
      // also across a server restart. The uplink creates the stream: wait for it.
      const identities: string[] = [];
      const payloads: Buffer[] = [];
      let stopped = false;
      let nc: NatsConnection | null = null;
      const durable = `rx-${process.pid}-${++nodeSeq}`;
      const loop = async (): Promise<void> => {
        while (!stopped) {
          try {
            nc = await connect({ servers: server.url, reconnect: false });
            const jsm = await jetstreamManager(nc);
            await jsm.consumers.add("QIS_OUTCOMES", { durable_name: durable, ack_policy: AckPolicy.Explicit });
            const c = await jetstream(nc).consumers.get("QIS_OUTCOMES", durable);
            const it = await c.consume({ max_messages: 256 });
            for await (const m of it) {
              const p = Buffer.from(m.data);
              payloads.push(p);
              for (let o = 0; o < p.length; o += PACKET_SIZE) identities.push(identityAt(p, o));
              m.ack();
              if (stopped) break;
            }
          } catch {
            // the stream not there yet, or the server down: again shortly
          }
          await nc?.close().catch(() => {});
          if (!stopped) await new Promise((r) => setTimeout(r, 100));
        }
      };
      const done = loop();
      const stop = (): void => {
        stopped = true;
        void (nc as NatsConnection | null)?.close().catch(() => {});
      };
      stops.push(stop);
      return {
        identities,
        payloads,
        async close() {
          stop();
          await done;
        },
      };
    },
    async inject(target, payload) {
      const subject = "topic" in target ? target.topic : target.address;
      const nc = await natsClient(server);
      await jetstream(nc).publish(subject, payload);
      await nc.close();
    },
    async close() {
      for (const s of stops) s();
      await closeNatsServers();
    },
  };
}

uplinkSuite("nats", () => natsWorld());

describe("the NATS JetStream uplink", () => {
  const dirs: string[] = [];
  const uplinks: OutboxUplink[] = [];
  afterEach(async () => {
    for (const u of uplinks.splice(0)) await u.close();
    await closeNatsServers();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const dir = (): string => {
    const d = mkdtempSync(join(tmpdir(), "qis-nats-up-"));
    dirs.push(d);
    return d;
  };
  type Line = { level: string; msg: string; fields: string };
  const logger = (lines: Line[]) => {
    const log = (level: string) => (msg: string, f?: object) => lines.push({ level, msg, fields: JSON.stringify(f ?? {}) });
    const l = { level: "debug", debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error"), child: () => l, enabled: () => true };
    return l as never;
  };
  const open = (c: NatsUplinkConfig, o: { env?: NodeJS.ProcessEnv; lines?: Line[]; nodeId?: string; sink?: OutboxUplink extends never ? never : Parameters<typeof openNatsUplink>[1]["sink"]; stateDir?: string } = {}): OutboxUplink => {
    const u = openNatsUplink(c, { nodeId: o.nodeId ?? NODE, stateDir: o.stateDir ?? dir(), sink: o.sink ?? null, env: o.env ?? {}, ...(o.lines ? { logger: logger(o.lines) } : {}) });
    uplinks.push(u);
    return u;
  };

  it("creates the stream with the reference's settings when absent", async () => {
    const server = await startNatsServer();
    const c = structuredClone(NATS_DEFAULTS) as NatsUplinkConfig;
    const u = open({ ...c, servers: [server.url] });
    await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
    const nc = await natsClient(server);
    const info = await (await jetstreamManager(nc)).streams.info("QIS_OUTCOMES");
    expect(info.config).toMatchObject({
      name: "QIS_OUTCOMES",
      subjects: ["qis.iot.>"],
      max_bytes: 50 * 1024 * 1024,
      max_age: 86_400 * 1e9,
      discard: "old",
      storage: "file",
      num_replicas: 1,
      duplicate_window: 120 * 1e9,
    });
  });

  it("reports each difference of an existing stream and uses it as it is; stream.update: true changes it", async () => {
    const server = await startNatsServer();
    const nc = await natsClient(server);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "QIS_OUTCOMES", subjects: ["qis.>"], max_bytes: 1024 * 1024, max_age: 3600 * 1e9 });
    const lines: Line[] = [];
    const u = open(config(server), { lines });
    const errors: UplinkError[] = [];
    u.on("error", (e) => errors.push(e as UplinkError));
    await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
    const diffs = errors.filter((e) => e.code === "ERR_UPLINK_STREAM").map((e) => e.message);
    // duplicate_window is the server's default, 2 min, as ours: two differences.
    expect(diffs).toHaveLength(2);
    expect(diffs.join("\n")).toMatch(/max_bytes is 1048576, the config says 52428800/);
    expect(diffs.join("\n")).toMatch(/max_age is 3600000000000, the config says 86400000000000/);
    expect(lines.filter((l) => l.level === "warn" && l.msg.includes("exists with other settings"))).toHaveLength(2);
    expect((await jsm.streams.info("QIS_OUTCOMES")).config.max_bytes).toBe(1024 * 1024);
    // It is used as it is: packets go through.
    u.publish(packet({ seq: 1, address: "qis.test.a" }), 0);
    u.flush();
    await waitUntil(() => u.outbox.size === 0, () => `${u.outbox.size} held`);
    await u.close();
    const c = config(server);
    const u2 = open({ ...c, stream: { ...c.stream, update: true }, outbox: { ...c.outbox, file: join(dir(), "o.bin") } });
    await waitUntil(() => u2.state === "connected", () => `state ${u2.state}`);
    const after = (await jsm.streams.info("QIS_OUTCOMES")).config;
    expect(after.max_bytes).toBe(50 * 1024 * 1024);
    expect(after.max_age).toBe(86_400 * 1e9);
  });

  it("publishes under Nats-Msg-Id <node hex>-<seq> (-<count> for several): a resend inside the duplicate window is dropped by the server", async () => {
    const server = await startNatsServer();
    const u = open(config(server, { batch: 4 }));
    await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
    for (let s = 1; s <= 4; s++) u.publish(packet({ seq: s, address: "qis.test.a" }), 0);
    u.flush();
    await waitUntil(() => u.outbox.size === 0, () => `${u.outbox.size} held`);
    const nc = await natsClient(server);
    const jsm = await jetstreamManager(nc);
    const stored = await jsm.streams.getMessage("QIS_OUTCOMES", { seq: 1 });
    const one = packet({ seq: 1, address: "qis.test.a" });
    const batch = Buffer.concat([1, 2, 3, 4].map((s) => packet({ seq: s, address: "qis.test.a" })));
    expect(stored!.header.get("Nats-Msg-Id")).toBe(messageId(batch, 4));
    expect(messageId(batch, 4)).toBe(`${one.toString("hex", 40, 56)}-1-4`);
    expect(messageId(one, 1)).toBe(`${one.toString("hex", 40, 56)}-1`);
    expect(Buffer.compare(Buffer.from(stored!.data), batch)).toBe(0);
    // The same message again (a resend after a lost PubAck): the server drops it.
    const ack = await jetstream(nc).publish("qis.test.a", batch, { msgID: messageId(batch, 4) });
    expect(ack.duplicate).toBe(true);
    expect((await jsm.streams.info("QIS_OUTCOMES")).state.messages).toBe(1);
  });

  it("bounds a message by the server's max_payload", async () => {
    const server = await startNatsServer({ maxPayload: 8 * 1024 });
    const u = open(config(server, { batch: 64 }));
    await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
    for (let s = 1; s <= 200; s++) u.publish(packet({ seq: s, address: "qis.test.a" }), 0);
    u.flush();
    await waitUntil(() => u.outbox.size === 0, () => `${u.outbox.size} held; ${JSON.stringify(u.stats().lastError)}`);
    const nc = await natsClient(server);
    const jsm = await jetstreamManager(nc);
    const msgs = (await jsm.streams.info("QIS_OUTCOMES")).state.messages;
    // (8192 - 256) / 512 = 15 packets per message at most: 200 packets, at least 14 messages.
    expect(msgs).toBeGreaterThanOrEqual(14);
    expect(u.stats().sent.failed).toBe(0);
  });

  it("pulls through a durable consumer named <node id>-<pattern>, acks only what was handed on, and resumes where it left off", async () => {
    const server = await startNatsServer();
    const nc = await natsClient(server);
    const js = jetstream(nc);
    const got: string[] = [];
    let failNext = 0;
    let refuseNext = 0;
    const sink = {
      deliver(_s: string, packets: Uint8Array, count: number) {
        if (failNext > 0) {
          failNext--;
          throw new Error("store full");
        }
        // As the agent while it closes: not taken, so not acknowledged.
        if (refuseNext > 0) {
          refuseNext--;
          return false;
        }
        for (let i = 0; i < count; i++) got.push(identityAt(packets, i * PACKET_SIZE));
      },
    };
    const c = config(server, { down: ["qis.remote.>"], consumer: { ackWaitS: 1, maxAckPending: 100, fetch: 16 } });
    const stateDir = dir();
    const u = open(c, { sink, stateDir });
    await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
    const jsm = await jetstreamManager(nc);
    const ci = await jsm.consumers.info("QIS_OUTCOMES", consumerName(NODE, "qis.remote.>"));
    expect(ci.name).toBe(`${NODE}-qis-remote-all`);
    expect(ci.config).toMatchObject({ ack_policy: "explicit", ack_wait: 1e9, max_ack_pending: 100, filter_subject: "qis.remote.>" });
    failNext = 1;
    refuseNext = 1;
    for (let s = 1; s <= 10; s++) await js.publish("qis.remote.x", packet({ node: 7, seq: s, address: "qis.remote.x" }));
    // The one that threw and the one refused are handed back (nak) and delivered again.
    await waitUntil(() => new Set(got).size === 10, () => `${got.length} got`);
    expect(u.stats().received.packets).toBe(got.length);
    await u.close();
    uplinks.splice(uplinks.indexOf(u), 1);
    // Away: 50 more arrive; back: exactly those, from where it left off.
    for (let s = 11; s <= 60; s++) await js.publish("qis.remote.x", packet({ node: 7, seq: s, address: "qis.remote.x" }));
    got.length = 0;
    const u2 = open(c, { sink, stateDir });
    await waitUntil(() => got.length >= 50, () => `${got.length} got`);
    await new Promise((r) => setTimeout(r, 300));
    // Each once; not always in order: one may have gone to the closed connection's last pull
    // and come back after ack_wait.
    expect([...got].sort()).toEqual(Array.from({ length: 50 }, (_, i) => `7:${i + 11}`).sort());
    await waitUntil(() => u2.stats().received.packets === 50, () => JSON.stringify(u2.stats().received));
    const after = await jsm.consumers.info("QIS_OUTCOMES", consumerName(NODE, "qis.remote.>"));
    expect(after.num_ack_pending).toBe(0);
    expect(after.num_pending).toBe(0);
  });

  it("refused credentials: one error line naming the server, error events, retries, no crash; then the right ones connect", async () => {
    const server = await startNatsServer({ user: { name: "edge", password: "right" } });
    const lines: Line[] = [];
    const u = open(config(server, { user: "edge", passwordEnv: "QIS_TEST_PW", reconnect: { minMs: 20, maxMs: 100 } }), { env: { QIS_TEST_PW: "wrong" }, lines });
    const errors: UplinkError[] = [];
    u.on("error", (e) => errors.push(e as UplinkError));
    u.publish(packet({ seq: 1 }), 0);
    u.flush();
    await waitUntil(() => errors.filter((e) => e.code === "ERR_UPLINK_AUTH").length >= 3, () => `errors: ${errors.map((e) => e.code).join(",")}`);
    expect(u.state).toBe("offline");
    const errLines = lines.filter((l) => l.level === "error");
    expect(errLines).toHaveLength(1);
    expect(errLines[0]!.msg).toContain(server.url);
    expect(errLines[0]!.msg).toContain("refused the credentials");
    expect(JSON.stringify(lines)).not.toContain("wrong");
    expect(u.outbox.size).toBe(1);
    await u.close();
    const u2 = open(config(server, { user: "edge", passwordFile: (() => { const f = join(dir(), "pw"); writeFileSync(f, "right\n"); return f; })() }));
    await waitUntil(() => u2.state === "connected", () => `state ${u2.state}`);
  });

  it("authenticates with a token from a file", async () => {
    const server = await startNatsServer({ token: "t0ken-s3cret" });
    const f = join(dir(), "token");
    writeFileSync(f, "t0ken-s3cret\n");
    const u = open(config(server, { tokenFile: f }));
    await waitUntil(() => u.state === "connected", () => `state ${u.state}; ${JSON.stringify(u.stats().lastError)}`);
  });

  it("authenticates with an NKey seed from a file; the seed never appears in the logs", async () => {
    const { createUser } = await import("@nats-io/nkeys");
    const user = createUser();
    const server = await startNatsServer({ nkey: user.getPublicKey() });
    const seed = new TextDecoder().decode(user.getSeed());
    const f = join(dir(), "user.nk");
    writeFileSync(f, `${seed}\n`);
    const lines: Line[] = [];
    const u = open(config(server, { nkeySeedFile: f }), { lines });
    await waitUntil(() => u.state === "connected", () => `state ${u.state}; ${JSON.stringify(u.stats().lastError)}`);
    // A wrong seed: refused as credentials.
    const other = createUser();
    const g = join(dir(), "other.nk");
    writeFileSync(g, new TextDecoder().decode(other.getSeed()));
    const u2 = open(config(server, { nkeySeedFile: g, reconnect: { minMs: 20, maxMs: 100 } }), { lines });
    await waitUntil(() => u2.stats().lastError?.code === "ERR_UPLINK_AUTH", () => JSON.stringify(u2.stats().lastError));
    expect(JSON.stringify(lines)).not.toContain(seed.slice(2, 20));
  });

  it("over TLS with our CA (and a client certificate where the server asks for one); without the CA it is refused and retries", async () => {
    const server = await startNatsServer({ tls: true, clientCert: true });
    const ca = join(server.dir, "ca.crt");
    const u = open(config(server, { tls: { ca, cert: join(server.dir, "client.crt"), key: join(server.dir, "client.key"), required: false } }));
    await waitUntil(() => u.state === "connected", () => `state ${u.state}; ${JSON.stringify(u.stats().lastError)}`);
    u.publish(packet({ seq: 1, address: "qis.test.a" }), 0);
    u.flush();
    await waitUntil(() => u.outbox.size === 0, () => `${u.outbox.size} held`);
    // The system's CAs do not know ours: refused, retried, never connected.
    const u2 = open(config(server, { tls: { ca: null, cert: null, key: null, required: true }, reconnect: { minMs: 20, maxMs: 100 } }));
    await waitUntil(() => u2.stats().lastError?.code === "ERR_UPLINK_CONNECT", () => JSON.stringify(u2.stats()));
    await new Promise((r) => setTimeout(r, 300));
    expect(u2.state).toBe("offline");
    expect(u2.stats().connects).toBe(0);
  }, 30_000);

  it("refuses at open, with a stable code, a missing secret or TLS file", () => {
    const c = config({ url: "nats://127.0.0.1:4222" } as NatsServer);
    expect(catchError(() => openNatsUplink({ ...c, user: "u", passwordEnv: "NOPE" }, { nodeId: NODE, stateDir: dir(), sink: null, env: {} }), UplinkError).code).toBe("ERR_UPLINK_CREDENTIALS");
    expect(catchError(() => openNatsUplink({ ...c, credsFile: "/nonexistent/x.creds" }, { nodeId: NODE, stateDir: dir(), sink: null, env: {} }), UplinkError).code).toBe("ERR_UPLINK_CREDENTIALS");
    const seed = join(dir(), "seed");
    writeFileSync(seed, "not a seed\n");
    expect(catchError(() => openNatsUplink({ ...c, nkeySeedFile: seed }, { nodeId: NODE, stateDir: dir(), sink: null, env: {} }), UplinkError).code).toBe("ERR_UPLINK_CREDENTIALS");
    expect(catchError(() => openNatsUplink({ ...c, tls: { ca: "/nonexistent/ca.pem", cert: null, key: null, required: false } }, { nodeId: NODE, stateDir: dir(), sink: null, env: {} }), UplinkError).code).toBe("ERR_UPLINK_TLS");
  });
});

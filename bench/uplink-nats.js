/**
 * The NATS JetStream uplink against a local nats-server (docs/uplink.md, "JetStream"), in one run
 * (the MQTT uplink is bench/uplink.js; this is its NATS part, in its own section):
 *
 *   bare      @nats-io/jetstream publish with a msg id, one 512-byte packet per message, a window
 *             of W publishes in flight (each PubAck sends the next): the client alone
 *   outbox    the same packets through OutboxUplink: appended to the outbox file, read back,
 *             published (batch 1, the same window W, msg ids, no rate limit), acknowledged and
 *             zeroed in the file
 *   bare 64   the bare client with 64 packets per message
 *   batched   the same through the outbox with 64 packets per message
 *   pull      an agent with a down pattern pulling a stream of packets through its durable
 *             consumer: verified, deduplicated, stored, synthesized, then acknowledged; against
 *             a bare consumer that only acknowledges (64 and 1 packets per message)
 * Rounds alternate; medians, ratios paired per round. The stream is deleted before each publish
 * round so that the duplicate window holds no ids of an earlier round; each packet has its own
 * seq (its identity, hence its msg id). Then the idle RSS of an agent from the bundle with
 * uplinks.nats configured and connected against the same agent without it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { codec, createAgent, OFFSETS, PACKET_SIZE, resolveConfig } from "../dist/index.js";
import { NATS_DEFAULTS } from "../dist/agent/config-defaults.js";
import { messageId, openNatsUplink } from "../dist/link/nats/index.js";
import { median, rate, table } from "./lib/harness.js";
import { startNatsServer } from "./lib/nats-server.js";
import { makePackets } from "./lib/packets.js";
import { connected, idleRss, through } from "./lib/uplink-runs.js";

const N = Number(process.env.QIS_BENCH_UPLINK_N ?? 20_000);
const N_BATCHED = Number(process.env.QIS_BENCH_UPLINK_N_BATCHED ?? 128_000);
const N_PULL = Number(process.env.QIS_BENCH_UPLINK_N_PULL ?? 64_000);
const ROUNDS = Number(process.env.QIS_BENCH_UPLINK_ROUNDS ?? 5);
const WINDOW = 256;
const STREAM = { ...NATS_DEFAULTS.stream, subjects: ["qis.>"] };

// Publish rounds: N_BATCHED packets, each with its own seq (a msg id of its own).
const { list } = makePackets(10_000, 17);
const TEMPLATES = Buffer.alloc(list.length * PACKET_SIZE);
codec.encodeBatch(list, TEMPLATES);
const PACKETS = Buffer.alloc(N_BATCHED * PACKET_SIZE);
for (let i = 0; i < N_BATCHED; i++) {
  TEMPLATES.copy(PACKETS, i * PACKET_SIZE, (i % list.length) * PACKET_SIZE, (i % list.length + 1) * PACKET_SIZE);
  PACKETS.writeBigUInt64LE(BigInt(i + 1), i * PACKET_SIZE + OFFSETS.seq);
}
const addressOf = (buf, o) => buf.toString("latin1", o + OFFSETS.address, o + OFFSETS.address + buf[o + OFFSETS.address_len]);
const tmp = mkdtempSync(join(tmpdir(), "qis-bench-uplink-nats-"));
let files = 0;

async function freshStream(server) {
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(STREAM.name).catch(() => {});
  await jsm.streams.add({ name: STREAM.name, subjects: STREAM.subjects, max_bytes: STREAM.maxBytes, max_age: STREAM.maxAgeS * 1e9, duplicate_window: STREAM.duplicateWindowS * 1e9, storage: "file", discard: "old" });
  await nc.close();
}

/** The bare client: `per` packets of one address per message (runs of the packets by address, as the outbox groups them), WINDOW in flight, msg ids as ours. */
async function bare(server, per, n) {
  await freshStream(server);
  const nc = await connect({ servers: server.url });
  const js = jetstream(nc);
  // Messages prepared before the clock: the outbox's grouping is not what this measures.
  const messages = [];
  const groups = new Map();
  for (let i = 0; i < n; i++) {
    const o = i * PACKET_SIZE;
    const a = addressOf(PACKETS, o);
    let g = groups.get(a);
    if (g === undefined) groups.set(a, (g = []));
    g.push(o);
    if (g.length === per) {
      messages.push([a, Buffer.concat(g.map((x) => PACKETS.subarray(x, x + PACKET_SIZE))), per]);
      groups.delete(a);
    }
  }
  for (const [a, g] of groups) messages.push([a, Buffer.concat(g.map((x) => PACKETS.subarray(x, x + PACKET_SIZE))), g.length]);
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    const next = () => {
      if (sent >= messages.length) return;
      const [a, p, count] = messages[sent++];
      js.publish(a, p, { msgID: messageId(p, count) }).then(() => {
        if (++acked === messages.length) resolve();
        else next();
      }, reject);
    };
    for (let k = 0; k < WINDOW; k++) next();
  });
  const s = performance.now() - t0;
  await nc.close();
  return n / (s / 1000);
}

function openUplink(server, over = {}) {
  const config = { ...structuredClone(NATS_DEFAULTS), servers: [server.url], stream: STREAM, up: ["qis.>"], inflight: WINDOW, drainRate: 0, outbox: { file: join(tmp, `outbox-${files++}.bin`), capacity: 262_144, sync: false }, ...over };
  return openNatsUplink(config, { nodeId: "0123456789abcdef0123456789abcdef", stateDir: tmp, sink: null });
}



async function outboxRound(server, batch, n) {
  await freshStream(server);
  const u = openUplink(server, { batch });
  await connected(u);
  const r = await through(u, PACKETS, n);
  const failed = u.stats().sent.failed;
  await u.close();
  if (failed > 0) process.stderr.write(`  (${failed} publishes failed and were sent again)\n`);
  return r;
}

// ---- pull ---------------------------------------------------------------------------------------

/** Publishes the pull stream's messages (not timed). */
async function publishPull(server, buf, n, per) {
  const nc = await connect({ servers: server.url });
  const js = jetstream(nc);
  const groups = new Map();
  const messages = [];
  for (let i = 0; i < n; i++) {
    const o = i * PACKET_SIZE;
    const a = addressOf(buf, o);
    let g = groups.get(a);
    if (g === undefined) groups.set(a, (g = []));
    g.push(o);
    if (g.length === per) {
      messages.push([a, Buffer.concat(g.map((x) => buf.subarray(x, x + PACKET_SIZE)))]);
      groups.delete(a);
    }
  }
  for (const [a, g] of groups) messages.push([a, Buffer.concat(g.map((x) => buf.subarray(x, x + PACKET_SIZE)))]);
  let inflight = [];
  for (const [a, p] of messages) {
    inflight.push(js.publish(a, p));
    if (inflight.length >= 256) {
      await Promise.all(inflight);
      inflight = [];
    }
  }
  await Promise.all(inflight);
  await nc.close();
  return messages.length;
}

/** A bare durable consumer: consume and ack every message of the stream; packets/s. */
async function barePull(server, n, per) {
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  const durable = `bare-${per}-${files++}`;
  await jsm.consumers.add(STREAM.name, { durable_name: durable, ack_policy: AckPolicy.Explicit, filter_subject: "qis.>", max_ack_pending: NATS_DEFAULTS.consumer.maxAckPending });
  const c = await jetstream(nc).consumers.get(STREAM.name, durable);
  const t0 = performance.now();
  let packets = 0;
  await new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error(`bare pull stuck at ${packets} of ${n}`)), 60_000).unref();
    void c.consume({
      max_messages: NATS_DEFAULTS.consumer.fetch,
      callback: (m) => {
        packets += m.data.length / PACKET_SIZE;
        m.ack();
        if (packets >= n) resolve();
      },
    });
  });
  const s = performance.now() - t0;
  await jsm.consumers.delete(STREAM.name, durable);
  await nc.close();
  return n / (s / 1000);
}

/** An agent (a new node id, so a new durable consumer from the stream's start) pulling, storing and acking all n packets. */
async function agentPull(server, n) {
  const dir = mkdtempSync(join(tmp, "pull-"));
  const agent = await createAgent(
    resolveConfig(
      { stateDir: dir, log: { level: "silent" }, store: { capacity: 262_144 }, uplinks: { nats: { servers: [server.url], stream: STREAM, up: ["qis.none.>"], down: ["qis.>"] } } },
      { env: {} },
    ),
  );
  const t0 = performance.now();
  while (agent.stats().received < n) {
    if (performance.now() - t0 > 60_000) throw new Error(`agent pull stuck: ${JSON.stringify(agent.stats())}`);
    await new Promise((r) => setImmediate(r));
  }
  const s = performance.now() - t0;
  const u = agent.stats().uplinks.nats;
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
  if (u.received.malformed > 0) throw new Error(`${u.received.malformed} malformed`);
  return n / (s / 1000);
}

async function main() {
  const server = await startNatsServer();
  try {
    // One warm-up round of each, not counted.
    await bare(server, 1, N / 4);
    await outboxRound(server, 1, N / 4);
    await bare(server, 64, N_BATCHED / 4);
    await outboxRound(server, 64, N_BATCHED / 4);
    const r = { bare: [], outbox: [], bare64: [], outbox64: [] };
    for (let i = 0; i < ROUNDS; i++) {
      r.bare.push(await bare(server, 1, N));
      r.outbox.push(await outboxRound(server, 1, N));
      r.bare64.push(await bare(server, 64, N_BATCHED));
      r.outbox64.push(await outboxRound(server, 64, N_BATCHED));
      process.stderr.write(`round ${i + 1}: bare ${rate(r.bare.at(-1))}/s, outbox ${rate(r.outbox.at(-1))}/s, bare 64 ${rate(r.bare64.at(-1))}/s, outbox 64 ${rate(r.outbox64.at(-1))}/s\n`);
    }
    // Pull: the stream filled once per shape, then alternated bare / agent rounds over it.
    const pull = { 64: { bare: [], agent: [] }, 1: { bare: [], agent: [] } };
    for (const per of [64, 1]) {
      const n = per === 1 ? N : N_PULL;
      await freshStream(server);
      const { list: pl } = makePackets(n, 23 + per);
      // Fresh: packets past their ttl are dropped on arrival, which would skip the store.
      const now = Date.now();
      for (const p of pl) {
        p.timestampMs = now;
        p.ttlS = 86_400;
      }
      const buf = Buffer.alloc(n * PACKET_SIZE);
      codec.encodeBatch(pl, buf);
      const messages = await publishPull(server, buf, n, per);
      await barePull(server, n, per); // warm-up
      await agentPull(server, n);
      for (let i = 0; i < ROUNDS; i++) {
        pull[per].bare.push(await barePull(server, n, per));
        pull[per].agent.push(await agentPull(server, n));
      }
      process.stderr.write(`pull ${per}/message (${messages} messages): bare ${pull[per].bare.map(rate).join(", ")}; agent ${pull[per].agent.map(rate).join(", ")}\n`);
    }
    const rss = { without: [], with: [] };
    for (let i = 0; i < 3; i++) {
      rss.without.push(await idleRss(tmp, null));
      rss.with.push(await idleRss(tmp, { nats: { servers: [server.url], stream: { subjects: ["qis.>"] } } }));
    }
    process.stderr.write(`idle RSS: without ${rss.without.map((x) => x.toFixed(1))}, with ${rss.with.map((x) => x.toFixed(1))} MiB\n`);

    const paired = (a, b) => median(a.map((x, i) => x / b[i]));
    const ok = (x) => (x ? "**pass**" : "**miss**");
    const p1 = paired(r.outbox, r.bare);
    const p64 = paired(r.outbox64, r.bare64);
    const bt = median(r.outbox64);
    const a64 = median(pull[64].agent);
    const a1 = median(pull[1].agent);
    const rw = median(rss.without);
    const rn = median(rss.with);
    const md = [
      `nats-server 2.9 with JetStream (file storage) on loopback, started by the benchmark; client and server on the same machine. Publish: packets/s acknowledged by the server (PubAck), from the first publish to the last PubAck, every message with a \`Nats-Msg-Id\` (each packet has its own identity, and the stream is deleted before each round so that the duplicate window holds nothing of an earlier one); the outbox rounds include the producer appending to the outbox file (256 packets per flush), reading back, and zeroing acknowledged records. In-flight window: ${WINDOW} messages in every case. Pull: an agent (\`down: ["qis.>"]\`, a new node id per round, so a new durable consumer reading the stream from its start) from the return of \`createAgent\` (connecting and creating the consumer included) until it has verified, stored and synthesized every packet, each message acknowledged after; the bare consumer only acknowledges. ${ROUNDS} alternated rounds after one warm-up round each; packets/s are medians, ratios the median of each round's ratio to the bare round just before it.`,
      "",
      table(
        ["", "packets/s", "vs bare", "target"],
        [
          [`bare @nats-io/jetstream, 1 packet/message (${N.toLocaleString("en")})`, rate(median(r.bare)), "1.00×", ""],
          [`through the outbox, 1 packet/message (${N.toLocaleString("en")})`, rate(median(r.outbox)), `${p1.toFixed(2)}×`, `≥ 0.8× bare: ${ok(p1 >= 0.8)}`],
          [`bare, 64 packets/message (${N_BATCHED.toLocaleString("en")})`, rate(median(r.bare64)), "1.00× (of this row)", ""],
          [`through the outbox, 64 packets/message (${N_BATCHED.toLocaleString("en")})`, rate(bt), `${p64.toFixed(2)}× bare 64`, `≥ 150k/s: ${ok(bt >= 150_000)}`],
          [`bare consumer, pull + ack, 64 packets/message (${N_PULL.toLocaleString("en")})`, rate(median(pull[64].bare)), "1.00× (of this row)", ""],
          [`agent, pull + verify + store + synthesize + ack, 64 packets/message`, rate(a64), `${paired(pull[64].agent, pull[64].bare).toFixed(2)}× bare`, `≥ 25k/s: ${ok(a64 >= 25_000)}`],
          [`bare consumer, pull + ack, 1 packet/message (${N.toLocaleString("en")})`, rate(median(pull[1].bare)), "1.00× (of this row)", ""],
          [`agent, pull + verify + store + synthesize + ack, 1 packet/message`, rate(a1), `${paired(pull[1].agent, pull[1].bare).toFixed(2)}× bare`, `(≥ 25k/s: ${ok(a1 >= 25_000)})`],
        ],
      ),
      "",
      `Rounds (packets/s): bare ${r.bare.map(rate).join(", ")}; outbox ${r.outbox.map(rate).join(", ")}; bare 64 ${r.bare64.map(rate).join(", ")}; outbox 64 ${r.outbox64.map(rate).join(", ")}; pull 64 bare ${pull[64].bare.map(rate).join(", ")}, agent ${pull[64].agent.map(rate).join(", ")}; pull 1 bare ${pull[1].bare.map(rate).join(", ")}, agent ${pull[1].agent.map(rate).join(", ")}.`,
      "",
      table(
        ["idle agent from the bundle (VmRSS 3 s after ready)", "MiB", "target"],
        [
          ["without an uplink", rw.toFixed(1), ""],
          ["with uplinks.nats, connected (stream checked)", rn.toFixed(1), `≤ without + 8 MiB (+${(rn - rw).toFixed(1)}): ${ok(rn <= rw + 8)}`],
        ],
      ),
      "",
      `RSS samples (MiB): without ${rss.without.map((x) => x.toFixed(1)).join(", ")}; with ${rss.with.map((x) => x.toFixed(1)).join(", ")}.`,
    ];
    process.stdout.write(md.join("\n") + "\n");
    if (process.env.QIS_BENCH_OUT) writeFileSync(process.env.QIS_BENCH_OUT, JSON.stringify({ title: "NATS JetStream uplink: the outbox vs a bare @nats-io/jetstream client (`bench/uplink-nats.js`)", markdown: md.join("\n") }));
  } finally {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  setTimeout(() => process.exit(0), 200).unref();
}

main().catch((e) => {
  console.error(e);
  rmSync(tmp, { recursive: true, force: true });
  process.exit(1);
});

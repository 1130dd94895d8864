/**
 * The MQTT uplink against a local Mosquitto (docs/uplink.md), in one run:
 *
 *   bare      MQTT.js QoS 1, one 512-byte packet per message, a window of W messages in flight
 *             (each PUBACK sends the next): the transport alone
 *   outbox    the same packets through OutboxUplink: appended to the outbox file, read back,
 *             published (QoS 1, batch 1, the same window W, no rate limit), acknowledged and
 *             zeroed in the file
 *   bare 64   bare MQTT.js with 64 packets per message
 *   batched   the same through the outbox with 64 packets per message (default config but no
 *             rate limit)
 * Rounds alternate bare / outbox / bare 64 / batched; medians. Throughput is packets acknowledged by the
 * broker per second, from the first publish to the last PUBACK, the producer feeding the outbox
 * while it drains (backlog ≤ half the capacity).
 *
 * Then the drain after an outage of OUTAGE_S seconds (the broker stopped while the producer
 * goes on at 2,000 packets/s), with the default drainRate, and the idle RSS of an agent from the
 * bundle with uplinks.mqtt configured and connected against the same agent without it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { codec, PACKET_SIZE } from "../dist/index.js";
import { MQTT_DEFAULTS } from "../dist/agent/config-defaults.js";
import { openMqttUplink } from "../dist/link/mqtt/index.js";
import { median, rate, table } from "./lib/harness.js";
import { startMosquitto } from "./lib/mosquitto.js";
import { makePackets } from "./lib/packets.js";
import { connected, idleRss, through } from "./lib/uplink-runs.js";

const N = Number(process.env.QIS_BENCH_UPLINK_N ?? 20_000);
const N_BATCHED = Number(process.env.QIS_BENCH_UPLINK_N_BATCHED ?? 300_000);
const ROUNDS = Number(process.env.QIS_BENCH_UPLINK_ROUNDS ?? 5);
const OUTAGE_S = Number(process.env.QIS_BENCH_UPLINK_OUTAGE_S ?? 30);
const WINDOW = MQTT_DEFAULTS.inflight;

const { list } = makePackets(10_000, 17);
const PACKETS = Buffer.alloc(list.length * PACKET_SIZE);
codec.encodeBatch(list, PACKETS);
const tmp = mkdtempSync(join(tmpdir(), "qis-bench-uplink-"));
let files = 0;

/** Bare MQTT.js, `per` packets per message (the same packets, 12 addresses), WINDOW messages in flight. */
async function bare(broker, per = 1, n = N) {
  const c = mqtt.connect(broker.url, { writeCache: false, queueQoSZero: false, reconnectPeriod: 0 });
  await new Promise((r) => c.once("connect", r));
  const t0 = performance.now();
  const messages = Math.ceil(n / per);
  await new Promise((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    const next = () => {
      if (sent >= messages) return;
      const i = (sent++ * per) % (list.length - per + 1);
      const p = Buffer.from(PACKETS.subarray(i * PACKET_SIZE, (i + per) * PACKET_SIZE));
      c.publish(`bench/qis/${sent % 12}`, p, { qos: 1 }, (err) => {
        if (err) return reject(err);
        if (++acked === messages) resolve();
        else next();
      });
    };
    for (let k = 0; k < WINDOW; k++) next();
  });
  const s = performance.now() - t0;
  await c.endAsync(true);
  return (messages * per) / (s / 1000);
}

function openUplink(broker, over = {}) {
  const config = { ...structuredClone(MQTT_DEFAULTS), url: broker.url, drainRate: 0, outbox: { file: join(tmp, `outbox-${files++}.bin`), capacity: 65_536, sync: false }, ...over };
  return openMqttUplink(config, { nodeId: "0123456789abcdef0123456789abcdef", stateDir: tmp, sink: null });
}



async function outboxRound(broker, batch, n) {
  const u = openUplink(broker, { batch });
  await connected(u);
  const r = await through(u, PACKETS, n);
  await u.close();
  return r;
}

async function drainAfterOutage(broker) {
  const u = openUplink(broker, { drainRate: MQTT_DEFAULTS.drainRate });
  await connected(u);
  await broker.stop();
  while (u.state !== "offline") await new Promise((r) => setTimeout(r, 5));
  const perTick = 200; // 2,000/s in ticks of 100 ms
  let fed = 0;
  for (let t = 0; t < OUTAGE_S * 10; t++) {
    for (let j = 0; j < perTick; j++) u.publish(PACKETS, ((fed + j) % list.length) * PACKET_SIZE);
    u.flush();
    fed += perTick;
    await new Promise((r) => setTimeout(r, 100));
  }
  const held = u.outbox.size;
  await broker.start();
  await connected(u);
  const t0 = performance.now();
  while (u.outbox.size > 0) await new Promise((r) => setTimeout(r, 2));
  const s = (performance.now() - t0) / 1000;
  const stats = u.stats();
  await u.close();
  return { held, seconds: s, rate: held / s, dropped: stats.outbox.dropped, resent: stats.outbox.resent };
}


async function main() {
  const broker = await startMosquitto();
  try {
    // One warm-up round of each (JIT, broker), not counted.
    await bare(broker);
    await outboxRound(broker, 1, N);
    await outboxRound(broker, 64, N_BATCHED / 4);
    await bare(broker, 64, N_BATCHED / 4);
    const bareRates = [];
    const outboxRates = [];
    const bareBatchedRates = [];
    const batchedRates = [];
    for (let i = 0; i < ROUNDS; i++) {
      bareRates.push(await bare(broker));
      outboxRates.push(await outboxRound(broker, 1, N));
      bareBatchedRates.push(await bare(broker, 64, N_BATCHED));
      batchedRates.push(await outboxRound(broker, 64, N_BATCHED));
      process.stderr.write(`round ${i + 1}: bare ${rate(bareRates.at(-1))}/s, outbox ${rate(outboxRates.at(-1))}/s, bare 64 ${rate(bareBatchedRates.at(-1))}/s, outbox 64 ${rate(batchedRates.at(-1))}/s\n`);
    }
    const rss = { without: [], with: [] };
    for (let i = 0; i < 3; i++) {
      rss.without.push(await idleRss(tmp, null));
      rss.with.push(await idleRss(tmp, { mqtt: { url: broker.url } }));
    }
    process.stderr.write(`idle RSS: without ${rss.without.map((x) => x.toFixed(1))}, with ${rss.with.map((x) => x.toFixed(1))} MiB\n`);
    const drain = await drainAfterOutage(broker);
    process.stderr.write(`drain: ${JSON.stringify(drain)}\n`);

    const b = median(bareRates);
    const o = median(outboxRates);
    const bt = median(batchedRates);
    // Each outbox round against the bare round just before it: on a shared machine the load
    // drifts between rounds, and a paired ratio cancels that drift where a ratio of medians does not.
    const paired = median(outboxRates.map((x, i) => x / bareRates[i]));
    const bb = median(bareBatchedRates);
    const pairedBatched = median(batchedRates.map((x, i) => x / bareBatchedRates[i]));
    const rw = median(rss.without);
    const rm = median(rss.with);
    const ok = (x) => (x ? "**pass**" : "**miss**");
    const md = [
      `Mosquitto ${"2.0"} on loopback, started by the benchmark; publisher and broker on the same machine. Packets/s acknowledged by the broker (QoS 1), from the first publish to the last PUBACK; the outbox rounds include the producer appending to the outbox file (256 packets per flush, backlog ≤ half of its 65,536 slots), reading back, and zeroing acknowledged records. ${ROUNDS} alternated rounds after one warm-up round each; packets/s are medians, "vs bare" the median of each round's ratio to the bare round just before it (the machine's load drifts between rounds). In-flight window: ${WINDOW} messages in every case (the uplink's default \`inflight\`).`,
      "",
      table(
        ["", "packets/s", "vs bare", "target"],
        [
          [`bare MQTT.js, 1 packet/message (${N.toLocaleString("en")} packets)`, rate(b), "1.00×", ""],
          [`through the outbox, 1 packet/message (${N.toLocaleString("en")})`, rate(o), `${paired.toFixed(2)}×`, `≥ 0.8× bare: ${ok(paired >= 0.8)}`],
          [`bare MQTT.js, 64 packets/message (${N_BATCHED.toLocaleString("en")})`, rate(bb), "1.00× (of this row)", ""],
          [`through the outbox, 64 packets/message (${N_BATCHED.toLocaleString("en")})`, rate(bt), `${pairedBatched.toFixed(2)}× bare 64`, `≥ 150k/s: ${ok(bt >= 150_000)}`],
        ],
      ),
      "",
      `Rounds (packets/s): bare ${bareRates.map(rate).join(", ")}; outbox ${outboxRates.map(rate).join(", ")}; bare 64 ${bareBatchedRates.map(rate).join(", ")}; outbox 64 ${batchedRates.map(rate).join(", ")}. Outbox/bare per round: ${outboxRates.map((x, i) => (x / bareRates[i]).toFixed(2)).join(", ")}.`,
      "",
      `**Drain after a ${OUTAGE_S} s outage** (the broker stopped while the producer went on at 2,000 packets/s; default config: batch ${MQTT_DEFAULTS.batch}, inflight ${MQTT_DEFAULTS.inflight}, drainRate ${MQTT_DEFAULTS.drainRate.toLocaleString("en")}/s): ${drain.held.toLocaleString("en")} packets held, drained in ${drain.seconds.toFixed(2)} s from the reconnect = **${rate(drain.rate)} packets/s** (the rate limit is the bound; ${drain.dropped} dropped, ${drain.resent} sent twice).`,
      "",
      table(
        ["idle agent from the bundle (VmRSS 3 s after ready)", "MiB", "target"],
        [
          ["without an uplink", rw.toFixed(1), ""],
          ["with uplinks.mqtt, connected", rm.toFixed(1), `≤ without + 10 MiB (+${(rm - rw).toFixed(1)}): ${ok(rm <= rw + 10)}`],
        ],
      ),
      "",
      `RSS samples (MiB): without ${rss.without.map((x) => x.toFixed(1)).join(", ")}; with ${rss.with.map((x) => x.toFixed(1)).join(", ")}.`,
    ];
    process.stdout.write(md.join("\n") + "\n");
    if (process.env.QIS_BENCH_OUT) writeFileSync(process.env.QIS_BENCH_OUT, JSON.stringify({ title: "MQTT uplink: the outbox vs bare MQTT.js (`bench/uplink.js`)", markdown: md.join("\n") }));
  } finally {
    await broker.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  setTimeout(() => process.exit(0), 200).unref();
}

main().catch((e) => {
  console.error(e);
  rmSync(tmp, { recursive: true, force: true });
  process.exit(1);
});

/**
 * One side of bench/e2e.js, in its own process (forked with an IPC channel):
 *
 *   raw-pub | raw-sub      zeromq.js PUB/SUB, one 512-byte payload per message (the baseline);
 *                          with arguments: k packets per message in the agent's 3 frames, and
 *                          optionally CURVE (what libzmq's CURVE costs without any agent)
 *   agent-send | agent-recv two qis-edge agents (dist/), the receiver subscribed to the sender
 *                          (a last argument: their `security` config, for CURVE)
 *
 * Timestamps are process.hrtime.bigint(): CLOCK_MONOTONIC, the same clock in every process of
 * the machine, so the parent can subtract a child's time from another's.
 * Parent → child {op, ...}; child → parent {event, ...}.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zmq from "zeromq";

const role = process.argv[2];
const hr = () => process.hrtime.bigint();
const send = (msg) => process.send(msg);
const PACKET = 512;

/** CPU time (µs) of this process's libzmq I/O threads ("ZMQbg/IO/n"), from /proc (10 ms ticks). */
function ioThreadsUs() {
  let ticks = 0;
  for (const t of readdirSync("/proc/self/task")) {
    try {
      const st = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
      if (!st.slice(st.indexOf("(") + 1, st.lastIndexOf(")")).startsWith("ZMQbg/IO")) continue;
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // the thread ended
    }
  }
  return ticks * 10_000;
}

/** CPU per packet since `from` (taken with cpuNow()): the whole process and its I/O threads. */
const cpuNow = () => ({ cpu: process.cpuUsage(), io: ioThreadsUs() });
function cpuSince(from, n) {
  const c = process.cpuUsage(from.cpu);
  return { cpuUs: (c.user + c.system) / n, ioUs: (ioThreadsUs() - from.io) / n };
}

async function rawPub(k, curve) {
  const keys = curve ? { curveServer: true, curvePublicKey: curve.server.publicKey, curveSecretKey: curve.server.secretKey } : {};
  const sock = new zmq.Publisher({ sendHighWaterMark: 0, sendTimeout: 0, linger: 0, ...keys });
  await sock.bind("tcp://127.0.0.1:*");
  send({ event: "ready", endpoint: sock.lastEndpoint });
  // Byte 8 tells the subscriber what a message is: 1 burst, 2 ping (bytes 0..7: a timestamp).
  const payload = Buffer.alloc(PACKET);
  payload[8] = 1;
  process.on("message", async (m) => {
    if (m.op === "warm") {
      // Until the subscriber has seen one: its subscription reaches us asynchronously.
      while (!stopWarm) {
        await sock.send(payload);
        await new Promise((r) => setTimeout(r, 5));
      }
    } else if (m.op === "warm-done") stopWarm = true;
    else if (m.op === "burst" && k > 1) {
      // The agent's framing: address, 24-byte header (byte 0: 1 = burst), k packets.
      const address = Buffer.from("qis.bench.class-1");
      const header = Buffer.alloc(24, 1);
      const packets = Buffer.alloc(k * PACKET);
      for (let i = 0, sent = 0; sent < m.n; i++, sent += k) {
        const p = sock.send([address, header, sent + k <= m.n ? packets : packets.subarray(0, (m.n - sent) * PACKET)]);
        if ((i & 63) === 63) await p;
        // Like the agent's publisher: the event loop (and the I/O thread) run between chunks.
        if ((i & 15) === 15) await new Promise((r) => setImmediate(r));
      }
    } else if (m.op === "burst") {
      // The fast zeromq.js idiom: un-awaited sends (sendTimeout 0), awaiting every 256th.
      for (let i = 0; i < m.n; i++) {
        const p = sock.send(payload);
        if ((i & 255) === 255) await p;
      }
    } else if (m.op === "ping") {
      for (let i = 0; i < m.n; i++) {
        const b = Buffer.alloc(PACKET);
        b[8] = 2;
        b.writeBigUInt64LE(hr(), 0);
        await sock.send(b);
        await new Promise((r) => setTimeout(r, m.intervalMs));
      }
    } else if (m.op === "exit") process.exit(0);
  });
}
let stopWarm = false;

async function rawSub(endpoint, curve) {
  const keys = curve ? { curveServerKey: curve.server.publicKey, curvePublicKey: curve.client.publicKey, curveSecretKey: curve.client.secretKey } : {};
  const sock = new zmq.Subscriber({ receiveHighWaterMark: 0, linger: 0, ...keys });
  sock.connect(endpoint);
  sock.subscribe();
  let mode = "warm";
  let expect = 0;
  let count = 0;
  const lat = [];
  process.on("message", (m) => {
    if (m.op === "burst") {
      mode = "burst";
      expect = m.n;
      count = 0;
    } else if (m.op === "ping") {
      mode = "ping";
      expect = m.n;
      lat.length = 0;
    } else if (m.op === "exit") process.exit(0);
  });
  send({ event: "ready" });
  for await (const [msg, header, packets] of sock) {
    if (mode === "warm") {
      send({ event: "warm" });
      mode = "idle";
    } else if (mode === "burst" && packets !== undefined && header[0] === 1) {
      count += packets.length / PACKET;
      if (count >= expect) send({ event: "done", t: String(hr()) });
    } else if (mode === "burst" && msg[8] === 1) {
      if (++count === expect) send({ event: "done", t: String(hr()) });
    } else if (mode === "ping" && msg[8] === 2) {
      lat.push(Number(hr() - msg.readBigUInt64LE(0)) / 1000);
      if (lat.length === expect) send({ event: "latency", us: lat });
    }
  }
}

async function agent(kind, synth, peer, security) {
  const { createAgent, resolveConfig, codec, PACKET_SIZE } = await import("../../dist/index.js");
  const stateDir = mkdtempSync(join(tmpdir(), "qis-bench-"));
  const config = resolveConfig(
    {
      stateDir,
      log: { level: "warn" },
      synth,
      // The sender's store holds a whole burst: packets PUB drops at its HWM (more of them with
      // CURVE on a loaded machine) can then always be caught up, so a round always completes.
      // The receiver's store holds more than the sender's: a packet the sender re-sends by
      // catch-up is then always a duplicate, never stored again after eviction and counted as
      // received (which would end a round before it holds all N).
      ...(kind === "send" ? { store: { capacity: 262_144 } } : { store: { capacity: 524_288 } }),
      ...(peer ? { peers: [peer] } : {}),
      ...(security ? { security } : {}),
    },
    { env: {} },
  );
  const a = await createAgent(config);
  a.on("error", () => undefined);
  if (kind === "send") {
    send({ event: "ready", pub: a.endpoints.pub, store: a.endpoints.store });
    let seqBase = 1;
    process.on("message", async (m) => {
      if (m.op === "prepare") {
        // Packets of this node, as a local pipeline would hand them to publish(): encoded into
        // one buffer reused from round to round, as a pipeline reuses its buffers (a fresh
        // 100 MB buffer per round would set off a full GC that runs on into the burst).
        if (prepared === null || prepared.length !== m.n * PACKET_SIZE) prepared = Buffer.allocUnsafe(m.n * PACKET_SIZE);
        const buf = prepared;
        const now = Date.now();
        for (let i = 0; i < m.n; i++) {
          codec.encode(
            { address: `qis.bench.class-${i % 16}`, timestampMs: now, ttlS: 3600, nObservations: 1 + (i % 50), outcomeDelta: ((i % 201) - 100) / 100, confidence: 0.5 + (i % 50) / 100, seq: seqBase + i, nodeId: a.nodeIdBytes },
            buf,
            i * PACKET_SIZE,
          );
        }
        seqBase += m.n;
        send({ event: "prepared" });
      } else if (m.op === "burst") {
        const CHUNK = 1024;
        burstCpu = cpuNow();
        burstN = m.n;
        const cpu0 = process.cpuUsage();
        for (let i = 0; i < m.n; i += CHUNK) {
          a.publish(prepared.subarray(i * PACKET_SIZE, Math.min(m.n, i + CHUNK) * PACKET_SIZE));
          // Let the publisher flush and ZeroMQ's I/O thread run between chunks.
          await new Promise((r) => setImmediate(r));
        }
        const cpu = process.cpuUsage(cpu0);
        send({ event: "sent-burst", cpuUs: (cpu.user + cpu.system) / m.n });
      } else if (m.op === "cpu") {
        // Asked once the receiver holds the burst: includes what the I/O thread did after the last publish().
        send({ event: "cpu", ...cpuSince(burstCpu, burstN) });
      } else if (m.op === "ping") {
        const sent = {};
        for (let i = 0; i < m.n; i++) {
          const t = hr();
          const r = a.observe({ domain: "bench", problemClass: "latency", outcomeDelta: ((i * 37) % 200) / 100 - 1, confidence: 0.9, nObservations: 3 });
          sent[r.seq] = String(t);
          await new Promise((r) => setTimeout(r, m.intervalMs));
        }
        send({ event: "sent", sent });
      } else if (m.op === "exit") {
        await a.close();
        rmSync(stateDir, { recursive: true, force: true });
        process.exit(0);
      }
    });
  } else {
    let expect = Infinity;
    let lastSeq = 0;
    const synth = [];
    a.on("packet", (e) => {
      if (e.source !== "local" && e.source !== "synthesis") lastSeq = e.view.seq;
    });
    a.on("synthesis", () => synth.push([lastSeq, String(hr())]));
    a.on("caught-up", () => send({ event: "caught-up" }));
    process.on("message", async (m) => {
      if (m.op === "burst") {
        // Without the packet listener: the throughput run measures the plain loop.
        a.removeAllListeners("packet");
        a.removeAllListeners("synthesis");
        expect = a.counters.received + m.n;
        const cpu0 = cpuNow();
        const poll = setInterval(() => {
          if (a.counters.received >= expect) {
            clearInterval(poll);
            send({ event: "done", t: String(hr()), ...cpuSince(cpu0, m.n), stats: { received: a.counters.received, synthOffered: a.synth.counters.offered, invalid: a.stats().peers[0].invalidPackets, gaps: a.stats().peers[0].gaps, caughtUp: a.stats().peers[0].caughtUpPackets } });
          }
        }, 1);
      } else if (m.op === "collect") send({ event: "synth", synth });
      else if (m.op === "exit") {
        await a.close();
        rmSync(stateDir, { recursive: true, force: true });
        process.exit(0);
      }
    });
    send({ event: "ready" });
  }
}
let prepared = null;
let burstCpu = null;
let burstN = 1;

if (role === "raw-pub") await rawPub(Number(process.argv[3] ?? 1), JSON.parse(process.argv[4] ?? "null"));
else if (role === "raw-sub") await rawSub(process.argv[3], JSON.parse(process.argv[4] ?? "null"));
else if (role === "agent-send") await agent("send", JSON.parse(process.argv[3]), null, JSON.parse(process.argv[4] ?? "null"));
else if (role === "agent-recv") await agent("recv", JSON.parse(process.argv[3]), JSON.parse(process.argv[4]), JSON.parse(process.argv[5] ?? "null"));
else throw new Error(`unknown role ${role}`);

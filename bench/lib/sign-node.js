/**
 * One side of bench/signing.js, in its own process (forked with an IPC channel):
 *
 *   send KEYFILE|-          an agent observing at a fixed offered rate (op "rate"), or publishing
 *                           a burst of packets signed beforehand (op "burst"); KEYFILE: it signs
 *                           its packets with that key (security.signing.keyFile), "-": it does not
 *   recv ENDPOINT TRUST|-   an agent subscribed to the sender over a plain loopback link (a trust
 *                           boundary); TRUST: security.trust as JSON (every signed packet is then
 *                           verified), "-": none (nothing is verified)
 *
 * The receiver reports its CPU time (process.cpuUsage: user + system, all threads) from "go" to
 * the moment it holds the expected count. Parent → child {op, ...}; child → parent {event, ...}.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { codec, createAgent, resolveConfig } from "../../dist/index.js";
import { finishSigned, prepareSigned, signedBytes } from "../../dist/packet/signature.js";
import { sign } from "../../dist/security/ed25519.js";
import { readSigningKey } from "../../dist/security/signing-key.js";

const [role, arg1, arg2] = process.argv.slice(2);
const send = (msg) => process.send(msg);
const dir = mkdtempSync(join(tmpdir(), "qis-bench-sign-"));
const ADDRESSES = 50;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function sender(keyFile) {
  const security = keyFile === "-" ? {} : { signing: { keyFile } };
  const agent = await createAgent(resolveConfig({ stateDir: dir, log: { level: "silent" }, security, hwm: { send: 0 } }, { env: {} }));
  send({ event: "ready", endpoint: agent.endpoints.pub, nodeId: agent.nodeId });
  const obs = Array.from({ length: 256 }, (_, i) => ({ domain: "hvac", problemClass: `zone-${i % ADDRESSES}`, outcomeDelta: ((i % 17) - 8) / 10, confidence: 0.8, nObservations: 5 }));
  process.on("message", async (m) => {
    if (m.op === "warm") {
      agent.observe(obs[0]);
      send({ event: "warmed" });
    } else if (m.op === "rate") {
      // Offered load: at each 5 ms tick, whatever the schedule says is due, in observeMany chunks.
      const t0 = performance.now();
      const c0 = cpu();
      let sent = 0;
      await new Promise((resolve) => {
        const tick = setInterval(() => {
          const due = Math.min(m.n, Math.floor((m.rate * (performance.now() - t0)) / 1000)) - sent;
          for (let left = due; left > 0; left -= obs.length) {
            const k = Math.min(left, obs.length);
            agent.observeMany(k === obs.length ? obs : obs.slice(0, k));
            sent += k;
          }
          if (sent >= m.n) {
            clearInterval(tick);
            resolve();
          }
        }, 5);
      });
      agent.flush();
      send({ event: "sent", sent, cpuS: cpu() - c0, seconds: (performance.now() - t0) / 1000 });
    } else if (m.op === "burst") {
      // Packets made (and, with a key, signed) before the clock starts: the receiver is measured.
      const buf = Buffer.alloc(m.n * 512);
      const key = keyFile === "-" ? null : readSigningKey(keyFile);
      const crc = (b, o, n, s) => codec.crc32c(b, o, n, s);
      for (let i = 0; i < m.n; i++) {
        const o = i * 512;
        codec.encode({ timestampMs: Date.now(), ttlS: 3600, nObservations: 5, outcomeDelta: 0.1, confidence: 0.8, seq: m.seq0 + i, nodeId: agent.nodeId, address: `qis.hvac.zone-${i % ADDRESSES}` }, buf, o);
        if (key !== null) {
          prepareSigned(buf, o, key.keyId);
          finishSigned(buf, o, sign(signedBytes(buf, o), key.privateKey), crc);
        }
      }
      send({ event: "burst-ready" });
      process.once("message", () => {
        agent.publish(buf, m.n);
        agent.flush();
        send({ event: "sent" });
      });
    } else if (m.op === "exit") {
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }
  });
}

async function receiver(endpoint, trust) {
  const security = trust === "-" ? {} : { trust: JSON.parse(trust) };
  const agent = await createAgent(resolveConfig({ stateDir: dir, log: { level: "silent" }, security, peers: [{ name: "sender", pub: endpoint, store: null }], hwm: { receive: 0 } }, { env: {} }));
  send({ event: "ready" });
  process.on("message", async (m) => {
    if (m.op === "warm") {
      const poll = setInterval(() => {
        if (agent.counters.received > 0) {
          clearInterval(poll);
          send({ event: "warmed" });
        }
      }, 5);
    } else if (m.op === "expect") {
      const base = agent.counters.received;
      const t0 = performance.now();
      const c0 = cpu();
      send({ event: "armed" });
      const poll = setInterval(() => {
        if (agent.counters.received - base < m.n) return;
        clearInterval(poll);
        const s = agent.stats().signatures;
        send({ event: "done", seconds: (performance.now() - t0) / 1000, cpuS: cpu() - c0, verified: s?.perPeer.sender?.verified ?? 0 });
      }, 1);
    } else if (m.op === "exit") {
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }
  });
}

if (role === "send") await sender(arg1);
else if (role === "recv") await receiver(arg1, arg2);
else throw new Error(`unknown role ${role}`);

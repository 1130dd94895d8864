/**
 * Signed packets (issue 21, docs/security.md "Signed packets"): what signing and verifying cost.
 *
 *   per core   Ed25519 sign and verify of a packet through our path (prepare, node:crypto sign,
 *              CRC reseal; the verifier with its cache off) beside `openssl speed ed25519` in
 *              the same run, rounds interleaved, medians
 *   offered    two agents (processes) over a plain loopback link, the sender observing at a
 *              fixed rate (10k/s): unsigned, signing everything, and signing with the receiver
 *              verifying every packet (a plain link is a trust boundary); received/s and the
 *              receiver's CPU per packet
 *   burst      packets signed beforehand, published at once: the receiver's throughput and CPU
 *              per packet without and with verification (what the verify path does to receive)
 */
import { execFileSync, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileSync } from "node:fs";
import { codec } from "../dist/index.js";
import { finishSigned, prepareSigned, signedBytes } from "../dist/packet/signature.js";
import { sign } from "../dist/security/ed25519.js";
import { writeNewSigningKey } from "../dist/security/signing-key.js";
import { TrustStore } from "../dist/security/trust.js";
import { PacketVerifier } from "../dist/security/verifier.js";
import { median, table } from "./lib/harness.js";

const NODE = fileURLToPath(new URL("./lib/sign-node.js", import.meta.url));
const ROUNDS = Number(process.env.QIS_BENCH_SIGN_ROUNDS ?? 3);
const RATE = 10_000;
const RATE_N = Number(process.env.QIS_BENCH_SIGN_RATE_N ?? 30_000);
const BURST_N = Number(process.env.QIS_BENCH_SIGN_BURST_N ?? 20_000);
const log = (s) => process.stderr.write(`${s}\n`);
const dir = mkdtempSync(join(tmpdir(), "qis-bench-signing-"));
const keyFile = join(dir, "signing.key");
const key = writeNewSigningKey(keyFile);

// ---------------------------------------------------------------------------------------------
// Per core

const NODE_ID = Buffer.alloc(16, 0xab);
const SAMPLE = 1024;
const packets = Buffer.alloc(SAMPLE * 512);
const crc = (b, o, n, s) => codec.crc32c(b, o, n, s);
for (let i = 0; i < SAMPLE; i++) {
  codec.encode({ timestampMs: 1795000000000, ttlS: 3600, nObservations: 5, outcomeDelta: 0.1, confidence: 0.8, seq: i + 1, nodeId: NODE_ID, address: `qis.hvac.zone-${i % 50}` }, packets, i * 512);
}
const signOne = (i) => {
  const o = (i & (SAMPLE - 1)) * 512;
  prepareSigned(packets, o, key.keyId);
  finishSigned(packets, o, sign(signedBytes(packets, o), key.privateKey), crc);
};
for (let i = 0; i < SAMPLE; i++) signOne(i);
const verifier = new PacketVerifier(new TrustStore([{ publicKey: key.publicKeyHex, nodeIds: [NODE_ID.toString("hex")] }]), 0);
const verifyOne = (i) => {
  if (verifier.verdict(packets, (i & (SAMPLE - 1)) * 512) !== 0) throw new Error("a packet signed here does not verify");
};

/**
 * Operations per second of CPU time (user + system of this process), as `openssl speed` divides
 * by CPU user time unless -elapsed: on a shared machine wall time would measure the neighbours.
 */
function perSecond(fn, ms = 1500) {
  for (let i = 0; i < 500; i++) fn(i);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let n = 0;
  while (performance.now() - t0 < ms) for (let k = 0; k < 256; k++) fn(n++);
  const c = process.cpuUsage(c0);
  return n / ((c.user + c.system) / 1e6);
}

function opensslSpeed() {
  const out = execFileSync("openssl", ["speed", "-seconds", "2", "ed25519"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const line = out.split("\n").find((l) => /Ed25519\)\s+[0-9.]+s\s+[0-9.]+s\s+[0-9.]+\s+[0-9.]+/.test(l));
  if (!line) throw new Error(`openssl speed: no Ed25519 line in\n${out}`);
  const nums = line.trim().split(/\s+/).slice(-2).map(Number);
  return { sign: nums[0], verify: nums[1] };
}

const micro = { sign: [], verify: [], osign: [], overify: [] };
for (let r = 0; r < ROUNDS; r++) {
  micro.sign.push(perSecond(signOne));
  micro.verify.push(perSecond(verifyOne));
  const o = opensslSpeed();
  micro.osign.push(o.sign);
  micro.overify.push(o.verify);
  log(`per core round ${r + 1}: sign ${micro.sign.at(-1).toFixed(0)}/s verify ${micro.verify.at(-1).toFixed(0)}/s; openssl ${o.sign}/${o.verify}`);
}

// ---------------------------------------------------------------------------------------------
// Two agents

function start(...args) {
  const child = fork(NODE, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const early = [];
  const waiters = [];
  child.on("message", (m) => {
    const i = waiters.findIndex((w) => w.event === m.event);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else early.push(m);
  });
  return {
    child,
    next: (event) =>
      new Promise((resolve) => {
        const i = early.findIndex((m) => m.event === event);
        if (i >= 0) resolve(early.splice(i, 1)[0]);
        else waiters.push({ event, resolve });
      }),
    send: (m) => child.send(m),
    exit: () => new Promise((resolve) => {
      child.once("exit", resolve);
      child.send({ op: "exit" });
    }),
  };
}

async function pair(signed, verify) {
  const s = start("send", signed ? keyFile : "-");
  const ready = await s.next("ready");
  const trust = verify ? JSON.stringify({ keys: [{ publicKey: key.publicKeyHex, nodeIds: [ready.nodeId] }] }) : "-";
  const r = start("recv", ready.endpoint, trust);
  await r.next("ready");
  // Until one packet went through: the subscription reaches the sender asynchronously.
  r.send({ op: "warm" });
  const warmed = r.next("warmed");
  for (let done = false; !done; ) {
    s.send({ op: "warm" });
    await s.next("warmed");
    done = await Promise.race([warmed.then(() => true), new Promise((res) => setTimeout(() => res(false), 50))]);
  }
  return { s, r };
}

async function offered(signed, verify) {
  const { s, r } = await pair(signed, verify);
  r.send({ op: "expect", n: RATE_N });
  await r.next("armed");
  s.send({ op: "rate", rate: RATE, n: RATE_N });
  const [sent, done] = await Promise.all([s.next("sent"), r.next("done")]);
  await Promise.all([s.exit(), r.exit()]);
  return { rate: RATE_N / done.seconds, recvUs: (done.cpuS / RATE_N) * 1e6, sendUs: (sent.cpuS / RATE_N) * 1e6, verified: done.verified };
}

async function burst(verify) {
  const { s, r } = await pair(true, verify);
  s.send({ op: "burst", n: BURST_N, seq0: 1_000_000 });
  await s.next("burst-ready");
  r.send({ op: "expect", n: BURST_N });
  await r.next("armed");
  s.send({ op: "go" });
  const done = await r.next("done");
  await s.next("sent");
  await Promise.all([s.exit(), r.exit()]);
  return { rate: BURST_N / done.seconds, recvUs: (done.cpuS / BURST_N) * 1e6, verified: done.verified };
}

const rows = { unsigned: [], signed: [], verified: [], burstPlain: [], burstVerified: [] };
for (let r = 0; r < ROUNDS; r++) {
  rows.unsigned.push(await offered(false, false));
  rows.signed.push(await offered(true, false));
  rows.verified.push(await offered(true, true));
  rows.burstPlain.push(await burst(false));
  rows.burstVerified.push(await burst(true));
  log(`agents round ${r + 1}: ${JSON.stringify(Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.at(-1)])))}`);
}
rmSync(dir, { recursive: true, force: true });

// ---------------------------------------------------------------------------------------------

const med = (list, k) => median(list.map((x) => x[k]));
const f0 = (x) => Math.round(x).toLocaleString("en-US");
const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);
const ok = (b) => (b ? "**met**" : "**missed**");
const m = Object.fromEntries(Object.entries(micro).map(([k, v]) => [k, median(v)]));
const keep = med(rows.signed, "rate") / med(rows.unsigned, "rate");
const markdown = [
  `Ed25519 (node:crypto, OpenSSL ${process.versions.openssl}) on one core, per second of CPU time (user + system; \`openssl speed\` divides by user CPU time too), so that the neighbours on a shared machine do not count; ${ROUNDS} rounds interleaved with \`openssl speed -seconds 2 ed25519\` (the system's OpenSSL), medians. Our sign is a whole packet: set SIGNED and key_id, sign bytes 0..435, reseal the CRC; our verify is the verifier's path with its cache off (key lookup by key_id, node id allowed, verify).`,
  "",
  table(
    ["", "ours /s", "µs each", "openssl /s", "ours / openssl", "target"],
    [
      ["sign", f0(m.sign), f1(1e6 / m.sign), f0(m.osign), f2(m.sign / m.osign), `≥ 20k/s ${ok(m.sign >= 20_000)}, ≥ 0.9× ${ok(m.sign / m.osign >= 0.9)}`],
      ["verify", f0(m.verify), f1(1e6 / m.verify), f0(m.overify), f2(m.verify / m.overify), `≥ 7k/s ${ok(m.verify >= 7_000)}, ≥ 0.9× ${ok(m.verify / m.overify >= 0.9)}`],
    ],
    "lrrrrl",
  ),
  "",
  `Two agents as processes (dist/), a plain loopback link (a trust boundary: with \`security.trust\` the receiver verifies every signed packet), medians of ${ROUNDS} rounds. *Offered*: the sender observes ${f0(RATE)} packets/s (\`observeMany\` every 5 ms) until ${f0(RATE_N)}; received/s counts from the receiver's "go" to its holding all. *Burst*: ${f0(BURST_N)} packets signed beforehand, \`publish()\`ed at once. CPU is user + system of the whole process (all threads) over the same span, per packet.`,
  "",
  table(
    ["", "received /s", "receiver CPU µs/packet", "sender CPU µs/packet", "verified at receiver"],
    [
      ["offered 10k/s, unsigned", f0(med(rows.unsigned, "rate")), f1(med(rows.unsigned, "recvUs")), f1(med(rows.unsigned, "sendUs")), "0"],
      ["offered 10k/s, sender signs everything", f0(med(rows.signed, "rate")), f1(med(rows.signed, "recvUs")), f1(med(rows.signed, "sendUs")), "0"],
      ["offered 10k/s, signed, receiver verifies", f0(med(rows.verified, "rate")), f1(med(rows.verified, "recvUs")), f1(med(rows.verified, "sendUs")), f0(med(rows.verified, "verified"))],
      ["burst, signed, receiver does not verify", f0(med(rows.burstPlain, "rate")), f1(med(rows.burstPlain, "recvUs")), "", "0"],
      ["burst, signed, receiver verifies", f0(med(rows.burstVerified, "rate")), f1(med(rows.burstVerified, "recvUs")), "", f0(med(rows.burstVerified, "verified"))],
    ],
    "lrrrr",
  ),
  "",
  `Signing everything keeps ${f2(keep)}× of the unsigned throughput at 10k/s offered (target ≥ 0.9×: ${ok(keep >= 0.9)}). What limits it is the sender's CPU: ${f1(med(rows.signed, "sendUs"))} µs per packet signed against ${f1(med(rows.unsigned, "sendUs"))} unsigned, so 10k/s needs ${f2((RATE * med(rows.signed, "sendUs")) / 1e6)} of a core signed (${f2((RATE * med(rows.unsigned, "sendUs")) / 1e6)} unsigned); the signing sender got ${f2((med(rows.signed, "rate") * med(rows.signed, "sendUs")) / 1e6)} of a core in this run (load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores at the end). One core of its own would sign and send about ${f0(1e6 / med(rows.signed, "sendUs"))} packets/s (unsigned: ${f0(1e6 / med(rows.unsigned, "sendUs"))}/s), so the target holds wherever the sender has half a core for it. Verification at a trust boundary adds ${f1(med(rows.burstVerified, "recvUs") - med(rows.burstPlain, "recvUs"))} µs of receiver CPU per packet in a burst (${f1(med(rows.verified, "recvUs") - med(rows.signed, "recvUs"))} µs at 10k/s offered), so one core of its own would take about ${f0(1e6 / med(rows.burstVerified, "recvUs"))} packets/s from a boundary (${f0(1e6 / med(rows.burstPlain, "recvUs"))}/s without verifying; ${f0(med(rows.burstVerified, "rate"))}/s measured here, on a shared core); a live packet from a CURVE peer is not verified and costs nothing more.`,
].join("\n");

const result = { title: "Signed packets: sign and verify cost (`bench/signing.js`)", markdown };
if (process.env.QIS_BENCH_OUT) writeFileSync(process.env.QIS_BENCH_OUT, JSON.stringify(result));
else process.stdout.write(`${markdown}\n`);

/**
 * What one message of many frames costs a receiving agent (docs/security.md, "Not covered: the
 * number of frames"). ZMQ_MAXMSGSIZE bounds each frame; nothing in libzmq 4.3.5 or zeromq.js 6.8
 * bounds the frames of one message: libzmq queues the message whole (a 64-byte zmq_msg_t per
 * frame), zeromq.js hands it over as an array of one Buffer per frame, and only then does the
 * agent see it and refuse it (ERR_WIRE_FRAMES, counted per peer). A plain hostile PUB on
 * loopback sends one such message per case to a fresh agent in its own process.
 */
import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as zmq from "zeromq";
import { table } from "./lib/harness.js";

const NODE = fileURLToPath(new URL("./lib/frames-node.js", import.meta.url));
const CASES = [
  { frames: 100_000, bytes: 0 },
  { frames: 1_000_000, bytes: 0 },
  { frames: 1_000_000, bytes: 64 },
  { frames: 500, bytes: 400 * 1024 },
];

async function run({ frames, bytes }) {
  const pub = new zmq.XPublisher({ linger: 0, sendHighWaterMark: 0 });
  await pub.bind("tcp://127.0.0.1:*");
  const child = fork(NODE, [pub.lastEndpoint], { execArgv: ["--expose-gc"] });
  const queue = [];
  const waiters = [];
  child.on("message", (m) => (waiters.length > 0 ? waiters.shift()(m) : queue.push(m)));
  const next = () => new Promise((r) => (queue.length > 0 ? r(queue.shift()) : waiters.push(r)));
  await next(); // ready
  // The agent's subscription reaches us.
  for (;;) {
    const [sub] = await pub.receive();
    if (sub[0] === 1) break;
  }
  await new Promise((r) => setTimeout(r, 300));
  child.send({ op: "baseline" });
  const base = await next();
  const frame = Buffer.alloc(bytes);
  // The first frame is an address the agent subscribes to (its SUB filters on the prefix).
  const message = [Buffer.from("qis.hvac.x"), ...new Array(frames - 1).fill(frame)];
  child.send({ op: "wait", invalid: base.invalid });
  await pub.send(message);
  const got = await next();
  child.send({ op: "exit" });
  await new Promise((r) => child.on("exit", r));
  pub.close();
  // ZMTP: a frame of up to 255 bytes has a 2-byte header, a longer one 9 bytes.
  const wire = frames * (bytes + (bytes > 255 ? 9 : 2));
  return { frames, bytes, wire, base: base.rss, peak: got.peak, after: got.rss, refused: got.invalid, ms: got.ms };
}

const results = [];
for (const c of CASES) {
  const r = await run(c);
  results.push(r);
  process.stderr.write(`${r.frames} × ${r.bytes} B: ${r.base.toFixed(0)} → peak ${r.peak.toFixed(0)} MiB, refused ${r.refused}\n`);
  if (r.refused !== 1) throw new Error(`the agent did not refuse the message of ${r.frames} frames`);
}
const mib = (x) => `${x.toFixed(1)} MiB`;
const md = [
  "One message of many frames from a plain hostile PUB on loopback to a fresh agent (its only peer), one case per agent process. Baseline: the agent's RSS once subscribed; peak: its VmHWM (reset just before the message); then the message is refused (`ERR_WIRE_FRAMES`, counted in the peer's `invalidMessages`).",
  "",
  table(
    ["message", "on the wire", "agent RSS before", "peak", "peak − before", "per wire byte", "refused", "ms to refusal"],
    results.map((r) => [`${r.frames.toLocaleString("en")} frames of ${r.bytes.toLocaleString("en")} B`, mib(r.wire / 2 ** 20), mib(r.base), mib(r.peak), mib(r.peak - r.base), `${((r.peak - r.base) * 2 ** 20 / r.wire).toFixed(1)}×`, String(r.refused), String(r.ms)]),
  ),
  "",
  "Over CURVE every frame costs the sender 33 more bytes on the wire and a box to encrypt, and only peers whose key is allowed get that far (docs/security.md).",
];
process.stdout.write(md.join("\n") + "\n");
if (process.env.QIS_BENCH_OUT) writeFileSync(process.env.QIS_BENCH_OUT, JSON.stringify({ title: "Frames per message: what one message of many frames costs an agent (`bench/frames.js`)", markdown: md.join("\n") }));
setTimeout(() => process.exit(0), 200).unref();

/**
 * LAN discovery between real `qis-edge run` processes, over multicast on loopback (group
 * 239.255.x.y joined on 127.0.0.1, TTL 1): no peer configured, they find each other and
 * packets flow; with CURVE, a key not on the allowlist gets no connection; a silent agent
 * expires after 3 of its intervals; junk on the group is counted, never fatal.
 */
import { createSocket } from "node:dgram";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeNewKeyFile } from "../../src/agent/keys.js";
import { runText } from "../run-process.js";
import { root } from "../cli/run-cli.js";
import { cleanupAll, startStdio, tempDir, type Msg, type StdioAgent } from "../stdio/helpers.js";

afterEach(cleanupAll);

/** A group and port of this test's own: other test files may beacon at the same time. */
function channel(): { group: string; port: number; interface: string } {
  const r = (n: number): number => Math.floor(Math.random() * n);
  return { group: `239.255.${1 + r(250)}.${1 + r(250)}`, port: 20_000 + r(40_000), interface: "127.0.0.1" };
}

let nextId = 1;
async function request(a: StdioAgent, msg: Record<string, unknown>): Promise<Msg> {
  const id = nextId++;
  a.send({ ...msg, id });
  const reply = await a.waitFor((m) => m.id === id, `reply ${id}`);
  if (reply.event !== "ack") throw new Error(`${JSON.stringify(msg)}: ${JSON.stringify(reply)}`);
  return reply;
}

interface Stats {
  received: number;
  peers: { name: string; up: boolean }[];
  discovery: { peers: number; own: number; beaconsReceived: number; discovered: number; expired: number; refused: Record<string, number>; malformed: Record<string, number> } | null;
}
const stats = async (a: StdioAgent): Promise<Stats> => (await request(a, { op: "stats" })).stats as Stats;

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms: number, a: StdioAgent): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what} not within ${ms} ms: ${JSON.stringify(v)}; stderr:\n${a.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const observe = (a: StdioAgent): Promise<Msg> => request(a, { op: "observe", domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: 0.2, confidence: 0.9, nObservations: 3 });

/** Whether an agent made with this discovery config (in a fresh process, from dist/) loaded node:dgram. */
async function loadsDgram(discovery: Record<string, unknown>): Promise<boolean> {
  const dir = tempDir();
  const script = `
    import { createAgent } from "./dist/agent/agent.js";
    import { resolveConfig } from "./dist/agent/config.js";
    const agent = await createAgent(resolveConfig(${JSON.stringify({ stateDir: join(dir, "s"), discovery })}, { env: {} }));
    const loaded = process.moduleLoadList.some((m) => m === "NativeModule dgram");
    await agent.close();
    console.log(JSON.stringify(loaded));`;
  const r = await runText(process.execPath, ["--input-type=module", "-e", script], { cwd: root, timeoutMs: 20_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as boolean;
}

describe("LAN discovery", () => {
  it("is not loaded unless enabled (node:dgram neither)", async () => {
    expect(await loadsDgram({ enabled: false })).toBe(false);
    expect(await loadsDgram({ enabled: true, allowInsecure: true, ...channel() })).toBe(true);
  }, 30_000);

  it("two agents with no peers configured find each other and exchange packets within 10 s", async () => {
    // The defaults (a beacon every 1-5 s): what a fleet runs.
    const discovery = { enabled: true, allowInsecure: true, ...channel() };
    const a = await startStdio({ config: { log: { level: "info" }, discovery } });
    const b = await startStdio({ config: { log: { level: "info" }, discovery } });
    const t0 = Date.now();
    const nameOfA = `discovered-${String(a.ready.nodeId)}`;
    const nameOfB = `discovered-${String(b.ready.nodeId)}`;
    await b.waitFor((m) => m.event === "peer" && m.name === nameOfA && m.up === true, "B connected to A", 10_000);
    await a.waitFor((m) => m.event === "peer" && m.name === nameOfB && m.up === true, "A connected to B", 10_000 - (Date.now() - t0));
    await observe(a);
    await observe(b);
    await until("B received A's packet", () => stats(b), (s) => s.received >= 1, 10_000 - (Date.now() - t0), b);
    await until("A received B's packet", () => stats(a), (s) => s.received >= 1, 10_000 - (Date.now() - t0), a);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const sb = await stats(b);
    expect(sb.peers.map((p) => p.name)).toEqual([nameOfA]);
    expect(sb.discovery).toMatchObject({ peers: 1, discovered: 1, expired: 0 });
    expect(sb.discovery!.own).toBeGreaterThan(0); // its own beacons come back (loopback) and are ignored
    expect(Object.values(sb.discovery!.refused).every((n) => n === 0)).toBe(true);
  }, 30_000);

  it("with CURVE: a key on the allowlist is connected, one not on it is refused; a silent agent expires; junk is counted", async () => {
    const dir = tempDir();
    const keys = ["a", "b", "c"].map((n) => {
      const file = join(dir, `${n}.key`);
      return { file, publicKey: writeNewKeyFile(file).publicKey };
    });
    const discovery = { enabled: true, minIntervalMs: 200, maxIntervalMs: 400, ...channel() };
    const config = (me: number, allow: number[]): Record<string, unknown> => ({
      log: { level: "info" },
      security: { secretKeyFile: keys[me]!.file, allow: allow.map((i) => keys[i]!.publicKey) },
      discovery,
    });
    // A and B allow each other; C is on nobody's list and allows nobody.
    const a = await startStdio({ config: config(0, [1]) });
    const b = await startStdio({ config: config(1, [0]) });
    const c = await startStdio({ config: config(2, []) });
    const nameOfA = `discovered-${String(a.ready.nodeId)}`;
    await b.waitFor((m) => m.event === "peer" && m.name === nameOfA && m.up === true, "B connected to A");
    await observe(a);
    await until("B received A's packet", () => stats(b), (s) => s.received === 1, 10_000, b);
    const sc = await until("C refused A and B", () => stats(c), (s) => (s.discovery?.refused.notAllowed ?? 0) >= 2, 10_000, c);
    expect(sc.peers).toEqual([]);
    expect(sc.discovery!.discovered).toBe(0);
    const sb = await until("B refused C", () => stats(b), (s) => (s.discovery?.refused.notAllowed ?? 0) >= 1, 10_000, b);
    expect(sb.peers.map((p) => p.name)).toEqual([nameOfA]);
    expect(sb.discovery!.refused.notAllowed).toBe(1); // once per agent, not per beacon
    expect(sb.received).toBe(1); // nothing from C

    // Junk on the group: counted by reason, nothing else happens.
    const sock = createSocket({ type: "udp4", reuseAddr: true });
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    sock.setMulticastInterface("127.0.0.1");
    const send = (buf: Buffer): Promise<void> => new Promise((r) => sock.send(buf, discovery.port, discovery.group, () => r()));
    await send(Buffer.from("hello"));
    const forged = Buffer.alloc(68);
    forged.write("QISB", 0, "latin1");
    forged[4] = 1;
    await send(forged); // a good header, a wrong CRC
    sock.close();
    const junk = await until("B counted the junk", () => stats(b), (s) => (s.discovery?.malformed.length ?? 0) >= 1 && (s.discovery?.malformed.crc ?? 0) >= 1, 5000, b);
    expect(junk.peers.map((p) => p.name)).toEqual([nameOfA]);

    // A goes silent (killed): B drops it after 3 of A's longest intervals (1.2 s).
    a.child.kill("SIGKILL");
    await a.exited;
    const t = Date.now();
    const gone = await until("A expired", () => stats(b), (s) => s.discovery?.expired === 1, 5000, b);
    expect(Date.now() - t).toBeGreaterThan(600);
    expect(gone.peers).toEqual([]);
    expect(gone.discovery!.peers).toBe(0);
  }, 40_000);
});

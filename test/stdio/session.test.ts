/**
 * `qis-edge run --stdio` as a real child process, in both framings: a session, a scripted
 * stream of 10,000 valid observations mixed with every kind of bad input, the end of stdin.
 */
import { afterEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import { cleanupAll, frame, obs, rawFrame, root, startStdio, type Msg } from "./helpers.js";

const BUNDLE = join(root, "dist", "qis-edge.mjs");

afterEach(cleanupAll);

type Framing = "ndjson" | "cbor";
const acksOf = (ms: Msg[]) => ms.filter((m) => m.event === "ack" && m.op === "observe");
const errorsOf = (ms: Msg[]) => ms.filter((m) => m.event === "error");

/** Bad inputs of both framings: bytes, and what the error must say. */
interface Bad {
  what: string;
  bytes: Buffer;
  code: string | RegExp;
  id?: unknown;
  path?: string;
}

/** The request's "hvXac" with the X replaced by 0xED, a byte that is not UTF-8 there. */
function badByte(bytes: Buffer): Buffer {
  const b = Buffer.from(bytes);
  b[b.indexOf("hvXac") + 2] = 0xed;
  return b;
}

function badInputs(framing: Framing): Bad[] {
  const f = (v: unknown) => frame(framing, v);
  const common: Bad[] = [
    { what: "no op", bytes: f({ id: "no-op" }), code: "ERR_STDIO_OP", id: "no-op", path: "/op" },
    { what: "op of the wrong type", bytes: f({ op: 42 }), code: "ERR_STDIO_OP" },
    { what: "unknown op", bytes: f({ op: "teleport", id: "t1" }), code: "ERR_STDIO_OP", id: "t1", path: "/op" },
    { what: "id of the wrong type", bytes: f({ ...obs(0), id: [1] }), code: "ERR_STDIO_REQUEST", path: "/id" },
    { what: "field of the wrong type", bytes: f(obs(0, { id: "w1", outcomeDelta: "high" })), code: "ERR_OBSERVATION", id: "w1", path: "/outcomeDelta" },
    { what: "field out of range", bytes: f(obs(0, { id: "w2", confidence: 1.5 })), code: "ERR_OBSERVATION", id: "w2", path: "/confidence" },
    { what: "integer out of range", bytes: f(obs(0, { id: "w3", nObservations: -1 })), code: "ERR_OBSERVATION", id: "w3", path: "/nObservations" },
    { what: "unknown field", bytes: f(obs(0, { id: "w4", colour: "red" })), code: "ERR_OBSERVATION", id: "w4", path: "/colour" },
    { what: "missing field", bytes: f({ op: "observe", id: "w5", domain: "hvac", problemClass: "x", confidence: 0.5, nObservations: 1 }), code: "ERR_OBSERVATION", id: "w5" },
    { what: "field the agent sets", bytes: f(obs(0, { id: "w6", seq: 5 })), code: "ERR_OBSERVATION", id: "w6", path: "/seq" },
    { what: "domain that is no address token", bytes: f(obs(0, { id: "w7", domain: "!!!" })), code: "ERR_OBSERVATION", id: "w7", path: "/domain" },
    { what: "a NUL in the domain", bytes: f(obs(0, { id: "w8", domain: "hv\u0000ac" })), code: "ERR_OBSERVATION", id: "w8", path: "/domain" },
    { what: "query limit out of range", bytes: f({ op: "query", id: "q1", limit: 0 }), code: "ERR_STDIO_REQUEST", id: "q1", path: "/limit" },
    { what: "query since of the wrong type", bytes: f({ op: "query", id: "q2", since: "a" }), code: "ERR_STDIO_REQUEST", id: "q2", path: "/since" },
    { what: "subscribe without pattern", bytes: f({ op: "subscribe", id: "s1" }), code: "ERR_STDIO_REQUEST", id: "s1" },
    { what: "subscribe to a bad pattern", bytes: f({ op: "subscribe", id: "s2", pattern: "qis..x" }), code: /^ERR_ADDRESS_/, id: "s2" },
    { what: "stats with an unknown key", bytes: f({ op: "stats", id: "st", verbose: true }), code: "ERR_STDIO_REQUEST", id: "st", path: "/verbose" },
  ];
  if (framing === "ndjson") {
    return [
      { what: "malformed JSON", bytes: Buffer.from('{"op":"observe",\n'), code: "ERR_STDIO_SYNTAX" },
      { what: "not UTF-8 (nor JSON)", bytes: Buffer.from([0xff, 0xfe, 0x7b, 0x0a]), code: "ERR_STDIO_UTF8" },
      { what: "invalid UTF-8 in a field", bytes: badByte(f(obs(0, { id: "u1", domain: "hvXac" }))), code: "ERR_STDIO_UTF8", path: "/domain" },
      { what: "an array", bytes: Buffer.from("[1,2]\n"), code: "ERR_STDIO_NOT_OBJECT" },
      { what: "a string", bytes: Buffer.from('"observe"\n'), code: "ERR_STDIO_NOT_OBJECT" },
      { what: "null", bytes: Buffer.from("null\n"), code: "ERR_STDIO_NOT_OBJECT" },
      { what: "oversize line", bytes: f(obs(0, { id: "big", conclusion: "x".repeat(70_000) })), code: "ERR_STDIO_OVERSIZE" },
      ...common,
    ];
  }
  const body = Buffer.from(frame("cbor", obs(0)).subarray(4));
  return [
    { what: "not CBOR", bytes: rawFrame(Buffer.from([0xff, 0xff, 0xff])), code: "ERR_STDIO_SYNTAX" },
    { what: "truncated CBOR map", bytes: rawFrame(body.subarray(0, body.length - 5)), code: "ERR_STDIO_SYNTAX" },
    { what: "bytes after the map", bytes: rawFrame(Buffer.concat([body, Buffer.from([0x00])])), code: "ERR_STDIO_SYNTAX" },
    { what: "empty frame", bytes: rawFrame(Buffer.alloc(0)), code: "ERR_STDIO_SYNTAX" },
    { what: "an array", bytes: f([1, 2]), code: "ERR_STDIO_NOT_OBJECT" },
    { what: "an integer", bytes: f(7), code: "ERR_STDIO_NOT_OBJECT" },
    { what: "a byte string", bytes: f(Buffer.from("observe")), code: "ERR_STDIO_NOT_OBJECT" },
    { what: "oversize frame", bytes: rawFrame(Buffer.alloc(70_000, 0xa1)), code: "ERR_STDIO_OVERSIZE" },
    { what: "invalid UTF-8 in a text string", bytes: badByte(f(obs(0, { id: "u1", domain: "hvXac" }))), code: "ERR_STDIO_UTF8", path: "/domain" },
    ...common,
  ];
}

for (const framing of ["ndjson", "cbor"] as const) {
  describe(`run --stdio --framing ${framing}`, () => {
    // Also from the bundle, where typebox (the protocol's and the observation's schemas) and
    // cbor-x are vendored text evaluated on first use (scripts/bundle.js, VENDORS).
    it.each([
      ["dist/", undefined],
      ["the bundle", BUNDLE],
    ])("says ready, acks each request with what it produced, answers query and stats, ends on shutdown (%s)", async (_label, entry) => {
      const a = await startStdio({ framing, config: { synth: { minContributors: 1, minIntervalMs: 0 } }, ...(entry === undefined ? {} : { entry }) });
      expect(a.ready).toMatchObject({ event: "ready", framing, native: expect.any(Boolean), versions: { protocol: 1 }, maxMessageBytes: 65_536 });
      expect(a.ready.nodeId).toMatch(/^[0-9a-f]{32}$/);
      expect((a.ready.endpoints as Msg).pub).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      a.send(obs(1, { id: "first", context: [1, 2.5], conclusion: "filter clogged" }));
      a.send(obs(2, { id: undefined }));
      a.send({ op: "subscribe", id: 3, pattern: "qis.iot.>" });
      a.send({ op: "query", id: 4, pattern: "qis.hvac.>", limit: 10 });
      a.send({ op: "flush", id: 5 });
      a.send({ op: "unsubscribe", id: 6, pattern: "qis.iot.>" });
      a.send({ op: "stats", id: 7 });
      const stats = await a.waitFor((m) => m.id === 7, "the stats ack");
      const first = await a.waitFor((m) => m.id === "first", "the first ack");
      expect(first).toMatchObject({ event: "ack", op: "observe", address: "qis.hvac.energy-anomaly", cursor: 1 });
      expect(Number.isSafeInteger(first.seq)).toBe(true);
      const noId = a.messages.find((m) => m.event === "ack" && m.op === "observe" && !("id" in m));
      expect(noId).toMatchObject({ address: "qis.hvac.compressor-wear" });
      expect(a.messages.find((m) => m.id === 3)).toMatchObject({ event: "ack", op: "subscribe", pattern: "qis.iot.>", patterns: ["qis.>", "qis.iot.>"] });
      const q = a.messages.find((m) => m.id === 4)!;
      expect(q).toMatchObject({ event: "ack", op: "query" });
      const packets = q.packets as Msg[];
      expect(packets.length).toBeGreaterThanOrEqual(2); // the two observations (+ syntheses)
      expect(packets[0]).toMatchObject({ cursor: 1, address: "qis.hvac.energy-anomaly", outcomeDelta: -0.99, confidence: 0.87, context: [1, 2.5], conclusion: "filter clogged", nodeId: a.ready.nodeId });
      expect(a.messages.find((m) => m.id === 5)).toMatchObject({ event: "ack", op: "flush" });
      expect(a.messages.find((m) => m.id === 6)).toMatchObject({ event: "ack", op: "unsubscribe", removed: true, patterns: ["qis.>"] });
      expect(stats).toMatchObject({ event: "ack", op: "stats", stats: { observed: 2, nodeId: a.ready.nodeId }, stdio: { framing, requests: 7, errors: 0, dropped: { packet: 0, synthesis: 0 } } });
      // minContributors 1: each observation moves its address's estimate: synthesis events
      const synth = a.messages.filter((m) => m.event === "synthesis");
      expect(synth.length).toBeGreaterThanOrEqual(1);
      expect(synth[0]).toMatchObject({ address: expect.stringMatching(/^qis\.hvac\./), domain: "hvac", estimate: expect.any(Number), confidence: expect.any(Number) });
      a.send({ op: "shutdown", id: 8 });
      expect(await a.exited).toBe(0);
      expect(a.messages.at(-1)).toMatchObject({ event: "ack", op: "shutdown", id: 8 });
      expect(a.stderr()).not.toMatch(/"level":"error"/);
    });

    it("a stream of 10,000 observations mixed with every kind of bad input: 10,000 acks, one error per bad input, 10,000 packets stored", async () => {
      const a = await startStdio({ framing });
      const bad = badInputs(framing);
      const parts: Buffer[] = [];
      const badAt = new Map<number, Bad>(); // message number (line / frame) -> bad input
      let n = 0;
      const every = Math.floor(10_000 / (bad.length + 1));
      let b = 0;
      for (let i = 0; i < 10_000; i++) {
        if (i > 0 && i % every === 0 && b < bad.length) {
          const x = bad[b++]!;
          parts.push(x.bytes);
          badAt.set(++n, x);
        }
        parts.push(frame(framing, obs(i)));
        n++;
      }
      expect(b).toBe(bad.length);
      parts.push(frame(framing, { op: "stats", id: "final" }));
      parts.push(frame(framing, { op: "query", id: "tail", pattern: "qis.hvac.>", since: 9990 }));
      // One write of the whole stream, as a supervisor with a backlog would do.
      a.write(Buffer.concat(parts));
      const stats = await a.waitFor((m) => m.id === "final", "the final stats ack", 60_000);
      const tail = await a.waitFor((m) => m.id === "tail", "the final query ack");
      const acks = acksOf(a.messages);
      expect(acks.length).toBe(10_000);
      expect(acks.map((m) => m.id)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
      const errors = errorsOf(a.messages);
      const report = errors.map((e) => `${String(e.line)} ${String(e.code)}`).join(", ");
      expect(errors.length, `errors: ${report}`).toBe(bad.length);
      for (const e of errors) {
        const x = badAt.get(e.line as number);
        expect(x, `error at message ${String(e.line)} (${String(e.code)}: ${String(e.reason)}) where no bad input was`).toBeDefined();
        expect(e.code, x!.what).toMatch(x!.code instanceof RegExp ? x!.code : new RegExp(`^${x!.code}$`));
        expect(typeof e.reason, x!.what).toBe("string");
        if (x!.id !== undefined) expect(e.id, x!.what).toEqual(x!.id);
        if (x!.path !== undefined) expect((e.problems as Msg[]).map((p) => p.path), x!.what).toContain(x!.path);
      }
      expect(stats).toMatchObject({ stats: { observed: 10_000, store: { size: 10_000, cursor: 10_000 } }, stdio: { acks: 10_000, errors: bad.length } });
      expect((tail.packets as Msg[]).map((p) => p.cursor)).toEqual(Array.from({ length: 10 }, (_, i) => 9991 + i));
      a.child.stdin!.end();
      expect(await a.exited).toBe(0);
    }, 90_000);

    it("closing stdin makes it flush, close and exit 0 within a second, after acking everything before", async () => {
      const a = await startStdio({ framing });
      const parts: Buffer[] = [];
      for (let i = 0; i < 500; i++) parts.push(frame(framing, obs(i)));
      a.write(Buffer.concat(parts));
      const t0 = Date.now();
      a.child.stdin!.end();
      const code = await a.exited;
      const ms = Date.now() - t0;
      expect(code, a.stderr()).toBe(0);
      expect(ms, `exit took ${ms} ms`).toBeLessThan(1000);
      expect(acksOf(a.messages).length).toBe(500);
    });
  });
}

describe("run --stdio usage", () => {
  it("refuses --framing without --stdio and an unknown framing", async () => {
    const { runCli } = await import("../cli/run-cli.js");
    const r1 = await runCli(["run", "--framing", "cbor"]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/ERR_USAGE: --framing goes with --stdio/);
    const r2 = await runCli(["run", "--stdio", "--framing", "xml"]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/ERR_USAGE: --framing: "xml" is not one of ndjson, cbor/);
    const help = await runCli(["run", "--help"]);
    expect(help.stdout.toString()).toMatch(/--stdio/);
  });
});

describe("run --stdio flow control (child process)", () => {
  it("a supervisor that stops reading stdout for a while loses no ack", async () => {
    const a = await startStdio({ framing: "ndjson" });
    a.child.stdout!.pause();
    const N = 30_000;
    const parts: Buffer[] = [];
    for (let i = 0; i < N; i++) parts.push(frame("ndjson", obs(i)));
    a.write(Buffer.concat(parts));
    await new Promise((r) => setTimeout(r, 1500));
    a.child.stdout!.resume();
    a.send({ op: "stats", id: "s" });
    const stats = await a.waitFor((m) => m.id === "s", "the stats ack", 60_000);
    expect(acksOf(a.messages).length).toBe(N);
    expect(stats).toMatchObject({ stats: { observed: N }, stdio: { acks: N, errors: 0 } });
    expect((stats.stdio as { backedUp: number }).backedUp, "stdout was backed up at least once").toBeGreaterThan(0);
    a.child.stdin!.end();
    expect(await a.exited).toBe(0);
  }, 90_000);
});

describe("run --stdio events from peers", () => {
  it("peer up, packet events for a subscribed pattern (not for other patterns), periodic stats events", async () => {
    const a = await startStdio({ framing: "ndjson" });
    const ep = a.ready.endpoints as { pub: string; store: string };
    const b = await startStdio({ framing: "cbor", config: { peers: [{ name: "a", pub: ep.pub, store: ep.store }], subscribe: ["qis.hvac.>", "qis.iot.>"] } });
    await b.waitFor((m) => m.event === "peer" && m.up === true, "peer a up");
    expect(b.messages.find((m) => m.event === "peer")).toMatchObject({ name: "a", endpoint: ep.pub, up: true });
    b.send({ op: "subscribe", id: "sub", pattern: "qis.hvac.>" });
    await b.waitFor((m) => m.id === "sub", "the subscribe ack");
    b.send({ op: "stats", id: "every", every: 100 });
    a.send(obs(1, { id: "o1", problemClass: "leak" }));
    a.send(obs(2, { id: "o2", domain: "iot", problemClass: "vibration" })); // B receives it, but no packet event: no filter
    a.send(obs(3, { id: "o3", problemClass: "leak", outcomeDelta: 0.5 }));
    const p3 = await b.waitFor((m) => m.event === "packet" && (m.packet as Msg).outcomeDelta === 0.5, "the packet event of o3");
    expect(p3).toMatchObject({ source: "a", packet: { address: "qis.hvac.leak", nodeId: a.ready.nodeId } });
    const packets = b.messages.filter((m) => m.event === "packet");
    expect(packets.map((m) => (m.packet as Msg).address)).toEqual(["qis.hvac.leak", "qis.hvac.leak"]);
    await b.waitFor((m) => m.event === "stats" && (m.stats as { received: number }).received >= 3, "a stats event counting 3 received packets");
    b.child.stdin!.end();
    a.child.stdin!.end();
    expect(await b.exited).toBe(0);
    expect(await a.exited).toBe(0);
  });
});

describe("run --stdio output discipline and signals", () => {
  it("with debug logging, stdout still carries only protocol messages (logs on stderr); SIGTERM ends the session with exit 0", async () => {
    const a = await startStdio({ framing: "ndjson", args: ["--log-level", "debug"], config: { synth: { minContributors: 1, minIntervalMs: 0 } } });
    for (let i = 0; i < 20; i++) a.send(obs(i));
    a.send({ op: "stats", id: "s" });
    await a.waitFor((m) => m.id === "s", "the stats ack");
    a.child.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    // every stdout line parsed as JSON (helpers report any that did not) and is a protocol message
    expect(a.stderr()).not.toMatch(/bad output/);
    expect(a.messages.every((m) => typeof m.event === "string" && ["ack", "error", "synthesis", "packet", "peer", "stats"].includes(m.event))).toBe(true);
    expect(a.stderr()).toMatch(/"level":"debug","msg":"synthesis"/);
    expect(a.stderr()).toMatch(/"msg":"stdio session ending","why":"SIGTERM"/);
  });
});

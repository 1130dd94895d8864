/**
 * Bounds on what a peer can send (issue 19, docs/security.md): oversized frames cost a hostile
 * peer its connection, not our memory; a peer's store cannot keep us paging forever, page
 * backwards, or answer more than we asked.
 */
import { readFileSync } from "node:fs";
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { decodeQuery, encodeBatchHeader, encodeReply, Kind } from "../../src/link/zmq/wire.js";
import { PACKET_SIZE } from "../../src/packet/index.js";
import type { Agent } from "../../src/agent/agent.js";
import { closeAll, startAgent, startWorker, testConfig, waitFor } from "./harness.js";

const sockets: zmq.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await closeAll();
});

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) / 1024;
}

const GiB = 2 ** 30;

/** Waits for a subscription (not an unsubscription) to reach the publisher. */
async function subscribed(pub: zmq.XPublisher): Promise<void> {
  for (;;) {
    const [msg] = await pub.receive();
    if (msg![0] === 1) return;
  }
}

describe("message size limits", () => {
  it("1 GiB batches from two hostile publishers leave the agent's RSS within 32 MiB of its baseline; each is cut off", async () => {
    const hostiles = [new zmq.XPublisher({ linger: 0, sendTimeout: 0 }), new zmq.XPublisher({ linger: 0, sendTimeout: 0 })];
    sockets.push(...hostiles);
    for (const h of hostiles) await h.bind("tcp://127.0.0.1:*");
    const w = await startWorker(testConfig({ peers: hostiles.map((h, i) => ({ name: `hostile-${i}`, pub: h.lastEndpoint! })) }));
    await Promise.all(hostiles.map(subscribed));
    await new Promise((r) => setTimeout(r, 200));
    const baseline = rssMiB(w.child.pid!);
    // Zero-filled and never written: the pages cost this process nothing until read.
    const huge = Buffer.alloc(GiB);
    const header = encodeBatchHeader(Kind.BATCH, 1, 0, 1);
    for (const h of hostiles) await h.send([Buffer.from("qis.hvac.x"), header, huge]);
    // libzmq refuses each frame from its announced size and drops that connection for good.
    const downs = (): number => w.events.filter((e) => e.event === "peer" && e.up === false).length;
    await waitFor(() => downs() === 2, () => `disconnects seen: ${downs()}`, 20_000);
    const after = rssMiB(w.child.pid!);
    expect(after - baseline, `baseline ${baseline.toFixed(1)} MiB, after ${after.toFixed(1)} MiB`).toBeLessThan(32);
    const { stats } = await w.request<{ stats: { peers: { messages: number; up: boolean }[] } }>("stats");
    expect(stats.peers.map((p) => [p.messages, p.up])).toEqual([
      [0, false],
      [0, false],
    ]);
  }, 60_000);

  it("a 1 GiB query to the store endpoint drops that client; the store goes on answering others", async () => {
    const w = await startWorker(testConfig());
    const baseline = rssMiB(w.child.pid!);
    const hostile = new zmq.Dealer({ linger: 0, sendTimeout: 0 });
    sockets.push(hostile);
    hostile.connect(w.endpoints.store!);
    await hostile.send([Buffer.alloc(24), Buffer.alloc(GiB)]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(rssMiB(w.child.pid!) - baseline).toBeLessThan(32);
    const honest = new zmq.Dealer({ linger: 0, receiveTimeout: 5000 });
    sockets.push(honest);
    honest.connect(w.endpoints.store!);
    const { encodeQuery, decodeAnswer } = await import("../../src/link/zmq/wire.js");
    await honest.send(encodeQuery(7, 0, 10, "qis.>"));
    const answer = decodeAnswer(await honest.receive());
    expect(answer.ok && answer.reply.id).toBe(7);
  }, 60_000);
});

describe("message size limits on catch-up", () => {
  it("a 1 GiB reply from a hostile store leaves the agent's RSS within 32 MiB of its baseline", async () => {
    const pub = new zmq.Publisher({ linger: 0 });
    const router = new zmq.Router({ linger: 0, sendTimeout: 0 });
    sockets.push(pub, router);
    await pub.bind("tcp://127.0.0.1:*");
    await router.bind("tcp://127.0.0.1:*");
    const w = await startWorker(testConfig({ peers: [{ name: "hostile", pub: pub.lastEndpoint!, store: router.lastEndpoint! }] }));
    const baseline = rssMiB(w.child.pid!);
    const [id, h] = await router.receive(); // its first catch-up query
    const reply = encodeReply(decodeQuery([h!, Buffer.from("qis.>")]).id, 1, 2 ** 21, 2 ** 21, 2 ** 21);
    await router.send([id!, reply, Buffer.alloc(GiB)]);
    await new Promise((r) => setTimeout(r, 1500));
    const after = rssMiB(w.child.pid!);
    expect(after - baseline, `baseline ${baseline.toFixed(1)} MiB, after ${after.toFixed(1)} MiB`).toBeLessThan(32);
    const { stats } = await w.request<{ stats: { peers: { caughtUpPackets: number }[] } }>("stats");
    expect(stats.peers[0]!.caughtUpPackets).toBe(0);
  }, 60_000);
});

/** A peer whose PUB is plain and whose store answers every query with `answer`. */
async function hostileStore(answer: (q: { since: number; limit: number; n: number }) => Buffer[]): Promise<{ pub: string; store: string; queries: { since: number; limit: number; at: number }[] }> {
  const pub = new zmq.Publisher({ linger: 0 });
  const router = new zmq.Router({ linger: 0, sendTimeout: 0 });
  sockets.push(pub, router);
  await pub.bind("tcp://127.0.0.1:*");
  await router.bind("tcp://127.0.0.1:*");
  const queries: { since: number; limit: number; at: number }[] = [];
  void (async () => {
    try {
      for await (const [id, ...frames] of router) {
        const q = decodeQuery(frames);
        queries.push({ since: q.since, limit: q.limit, at: Date.now() });
        const [h, packets] = answer({ since: q.since, limit: q.limit, n: queries.length });
        h!.writeUInt32LE(q.id, 4);
        await router.send([id!, h!, packets ?? Buffer.alloc(0)]);
      }
    } catch {
      // closed
    }
  })();
  return { pub: pub.lastEndpoint!, store: router.lastEndpoint!, queries };
}

function page(count: number, next: number, head: number): Buffer[] {
  return [encodeReply(0, 1, count, next, head), Buffer.alloc(count * PACKET_SIZE)];
}

async function agentWith(peer: { pub: string; store: string }, catchUp: Record<string, number>): Promise<Agent> {
  const a = await startAgent({ catchUp: { pageSize: 4, ...catchUp } });
  a.on("error", () => undefined);
  a.addPeer({ name: "hostile", ...peer });
  return a;
}

describe("catch-up from a hostile store", () => {
  it("a store whose pages never end is asked maxPages pages, then the peer is marked and left alone", async () => {
    const s = await hostileStore(({ since, limit }) => page(limit, since + limit, Number.MAX_SAFE_INTEGER));
    const a = await agentWith(s, { maxPages: 5, retryMinMs: 60_000, retryMaxMs: 60_000 });
    await waitFor(() => a.peers[0]!.catchUpProblem !== null, () => `queries ${s.queries.length}`);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.queries.length).toBe(5);
    expect(s.queries.map((q) => q.since)).toEqual([0, 4, 8, 12, 16]);
    const p = a.stats().peers[0]!;
    expect(p.catchUpProblem).toBe("ERR_CATCHUP_PAGE_CAP");
    expect(p.pageCaps).toBe(1);
  });

  it("a store whose next goes backwards is refused at that page (ERR_WIRE_PAGING)", async () => {
    const s = await hostileStore(({ n }) => (n === 1 ? page(4, 10, 100) : page(4, 3, 100)));
    const a = await agentWith(s, { maxPages: 1000, retryMinMs: 60_000, retryMaxMs: 60_000 });
    await waitFor(() => a.peers[0]!.catchUpProblem !== null, () => `queries ${s.queries.length}`);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.queries.map((q) => q.since)).toEqual([0, 10]);
    const p = a.stats().peers[0]!;
    expect(p.catchUpProblem).toBe("ERR_WIRE_PAGING");
    expect(p.badReplies).toBe(1);
  });

  it("a page that does not move forward is refused too", async () => {
    const s = await hostileStore(() => page(4, 0, 100));
    const a = await agentWith(s, { maxPages: 1000, retryMinMs: 60_000, retryMaxMs: 60_000 });
    await waitFor(() => a.peers[0]!.catchUpProblem !== null, () => `queries ${s.queries.length}`);
    expect(s.queries.length).toBe(1);
    expect(a.stats().peers[0]!.catchUpProblem).toBe("ERR_WIRE_PAGING");
  });

  it("a reply larger than asked is a wire error (ERR_WIRE_REPLY_SIZE); catch-up from that peer resumes after a pause", async () => {
    const s = await hostileStore(({ limit, n }) => (n === 1 ? page(limit + 1, limit + 1, limit + 1) : page(0, 0, 0)));
    const a = await agentWith(s, { retryMinMs: 200, retryMaxMs: 200 });
    const codes: string[] = [];
    a.removeAllListeners("error");
    a.on("error", (e: { code: string }) => codes.push(e.code));
    let caughtUp = 0;
    a.on("caught-up", () => caughtUp++);
    await waitFor(() => caughtUp > 0, () => `queries ${s.queries.length}, problem ${a.peers[0]!.catchUpProblem}`);
    expect(codes).toContain("ERR_WIRE_REPLY_SIZE");
    expect(codes).not.toContain("ERR_OUT_OF_BOUNDS");
    expect(s.queries.length).toBe(2);
    expect(s.queries[1]!.at - s.queries[0]!.at).toBeGreaterThanOrEqual(150);
    const p = a.stats().peers[0]!;
    expect(p.badReplies).toBe(1);
    expect(p.catchUpProblem).toBeNull();
  });
});

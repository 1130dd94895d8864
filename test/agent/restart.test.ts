/**
 * Real agent processes: one is killed with SIGKILL while its peers keep publishing, then
 * restarted on the same state dir; through catch-up it gets every packet its peers still store.
 */
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, observation, startWorker, tempDir, waitFor, type WorkerAgent } from "./harness.js";

afterEach(closeAll);

const silent = { level: "silent" };

/** Identities of the packets `agent` stores from other nodes (its own synthesized ones left out). */
async function identities(agent: WorkerAgent, pattern: string): Promise<string[]> {
  const r = await agent.request<{ identities: string[] }>("identities", { pattern });
  return r.identities.filter((id) => !id.startsWith(agent.nodeId));
}

function batch(domain: string, count: number, start: number) {
  return Array.from({ length: count }, (_, i) => observation(domain, "bearing-wear", ((start + i) % 19) / 10 - 0.9, 0.7, 1 + (i % 9)));
}

describe("a killed agent", () => {
  it("receives, after a restart, every packet published while it was down (0 lost)", async () => {
    const a = await startWorker({ stateDir: tempDir(), log: silent });
    const b = await startWorker({ stateDir: tempDir(), log: silent });
    const cConfig = {
      stateDir: tempDir(),
      log: silent,
      subscribe: ["qis.iot.>"],
      peers: [
        { name: "a", pub: a.endpoints.pub, store: a.endpoints.store },
        { name: "b", pub: b.endpoints.pub, store: b.endpoints.store },
      ],
    };
    let c = await startWorker(cConfig);
    const published: string[] = [];
    const publish = async (who: WorkerAgent, n: number, start: number): Promise<void> => {
      const r = await who.request<{ seqs: number[] }>("observe", { observations: batch("iot", n, start) });
      for (const s of r.seqs) published.push(`${who.nodeId}:${s}`);
    };
    await publish(a, 100, 0);
    await publish(b, 100, 100);
    await waitFor(async () => (await identities(c, "qis.iot.>")).length === 200, () => "c got the first 200");
    const firstNodeId = c.nodeId;

    c.child.kill("SIGKILL");
    expect(await c.exited).toBe("SIGKILL");
    await publish(a, 300, 200);
    await publish(b, 300, 500);

    // Same state dir: the stale lock of the killed process is taken over, the node id kept.
    c = await startWorker(cConfig);
    expect(c.nodeId).toBe(firstNodeId);
    const want = [...published].sort();
    let got: string[] = [];
    await waitFor(
      async () => (got = await identities(c, "qis.iot.>")).length >= want.length,
      () => `c holds ${got.length} of ${want.length}`,
      20_000,
    );
    expect(got.sort()).toEqual(want);
    const stats = (await c.request<{ stats: { peers: { caughtUpPackets: number }[] } }>("stats")).stats;
    expect(stats.peers.reduce((s, p) => s + p.caughtUpPackets, 0)).toBeGreaterThanOrEqual(800);
  });

  it("closes cleanly on SIGTERM (exit 0)", async () => {
    const a = await startWorker({ stateDir: tempDir(), log: silent });
    a.child.kill("SIGTERM");
    expect(await a.exited).toBe(0);
  });
});

/**
 * Flow control, in process (a real agent, a stdout that stops taking data): the loop is never
 * blocked, acks are never dropped, synthesis events are dropped past their bound and counted,
 * stdin is paused past the byte bound and resumed once stdout drains.
 */
import { PassThrough, Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/agent/log.js";
import { StdioSession } from "../../src/stdio/session.js";
import { closeAll, startAgent } from "../agent/harness.js";
import { obs } from "./helpers.js";

afterEach(closeAll);

/** A stdout whose writes complete only once `release()` is called. */
function stuckOutput() {
  const chunks: Buffer[] = [];
  const held: (() => void)[] = [];
  let open = false;
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      if (open) cb();
      else held.push(() => cb());
    },
  });
  return {
    stream,
    lines: () => Buffer.concat(chunks).toString("utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>),
    release() {
      open = true;
      for (const cb of held.splice(0)) cb();
    },
  };
}

describe("stdio flow control", () => {
  it("while stdout is stuck: the loop runs, acks queue, synthesis events past the bound are dropped and counted, stdin pauses; all acks arrive once it drains", async () => {
    const agent = await startAgent({ synth: { minContributors: 1, minIntervalMs: 0, minDelta: 0 } });
    const input = new PassThrough();
    const out = stuckOutput();
    const session = new StdioSession(agent, {
      framing: "ndjson",
      input,
      output: out.stream,
      logger: createLogger({ level: "silent" }),
      maxQueuedEvents: 50,
      maxQueuedBytes: 256 * 1024,
      parentPollMs: 0,
    });
    const N = 5000;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    // Written in chunks, as a pipe would deliver them.
    const text = Array.from({ length: N }, (_, i) => JSON.stringify(obs(i, { problemClass: `p${i % 20}` }))).join("\n") + "\n";
    for (let p = 0; p < text.length; p += 16_384) input.write(text.slice(p, p + 16_384));
    await new Promise((r) => setTimeout(r, 200));
    clearInterval(timer);
    expect(ticks, "the event loop kept running").toBeGreaterThan(20);
    expect(session.counters.backedUp).toBeGreaterThan(0);
    expect(session.counters.inputPaused, "stdin paused past maxQueuedBytes").toBeGreaterThan(0);
    expect(input.isPaused()).toBe(true);
    expect(session.counters.dropped.synthesis, "synthesis events dropped past maxQueuedEvents").toBeGreaterThan(0);
    const acksSoFar = session.counters.acks;
    expect(acksSoFar).toBeLessThan(N); // the rest waits in the paused stdin

    out.release();
    await new Promise((r) => setTimeout(r, 300));
    input.write(`${JSON.stringify({ op: "stats", id: "s" })}\n`);
    await new Promise((r) => setTimeout(r, 100));
    const lines = out.lines();
    const acks = lines.filter((m) => m.event === "ack" && m.op === "observe");
    expect(acks.length).toBe(N);
    expect(acks.map((m) => m.id)).toEqual(Array.from({ length: N }, (_, i) => i));
    const stats = lines.find((m) => m.id === "s") as { stdio: { dropped: { synthesis: number }; events: { synthesis: number } } };
    expect(stats.stdio.dropped.synthesis).toBe(session.counters.dropped.synthesis);
    const synth = lines.filter((m) => m.event === "synthesis").length;
    expect(synth).toBe(stats.stdio.events.synthesis);
    input.end();
    expect(await session.done).toBe(0);
  });
});

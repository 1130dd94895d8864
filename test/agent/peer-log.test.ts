/** PeerLog's rate limits, on a fake clock: a flapping or absent peer cannot flood the log. */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/agent/log.js";
import { PeerLog, STATE_LINES, UNREACHABLE_REPEAT_MS } from "../../src/agent/peer-log.js";

function setup() {
  let t = 1_000_000;
  const out: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "info", stream: { write: (s: string) => out.push(JSON.parse(s) as Record<string, unknown>) }, now: () => t });
  return { log: new PeerLog(logger, () => t), out, advance: (ms: number) => (t += ms) };
}

describe("PeerLog", () => {
  it("unreachable: one line, then at most one a minute with the attempts between; none while up", () => {
    const { log, out, advance } = setup();
    for (let i = 0; i < 50; i++) {
      log.unreachable("p", "tcp://10.0.0.1:5600", 5000);
      advance(1000);
    }
    // t = 0 s: first line; 60 s later the next (49 more attempts by then: only 50 in all, so none yet at 49 s)
    expect(out.map((l) => [l.msg, l.attempts])).toEqual([["peer unreachable", 1]]);
    advance(UNREACHABLE_REPEAT_MS);
    log.unreachable("p", "tcp://10.0.0.1:5600", 5000);
    expect(out.map((l) => [l.msg, l.attempts, l.sinceS])).toEqual([
      ["peer unreachable", 1, 0],
      ["peer unreachable", 50, 110],
    ]);
    log.state("p", "tcp://10.0.0.1:5600", true);
    log.unreachable("p", "tcp://10.0.0.1:5600", 5000);
    expect(out.at(-1)).toMatchObject({ msg: "peer up", peer: "p", endpoint: "tcp://10.0.0.1:5600" });
    // Down again: the next failed attempt is said at once.
    log.state("p", "tcp://10.0.0.1:5600", false);
    log.unreachable("p", "tcp://10.0.0.1:5600", 100);
    expect(out.slice(-2).map((l) => [l.msg, l.attempts])).toEqual([
      ["peer down", undefined],
      ["peer unreachable", 1],
    ]);
  });

  it("up/down: at most STATE_LINES a minute per peer, then the count of those left out", () => {
    const { log, out, advance } = setup();
    for (let i = 0; i < 100; i++) log.state("p", "e", i % 2 === 0);
    log.state("q", "e2", true); // another peer has its own budget
    expect(out.filter((l) => l.peer === "p")).toHaveLength(STATE_LINES);
    expect(out.filter((l) => l.peer === "q")).toHaveLength(1);
    advance(60_000);
    log.state("p", "e", true);
    expect(out.at(-1)).toMatchObject({ msg: "peer up", peer: "p", suppressed: 100 - STATE_LINES });
    log.state("p", "e", false);
    expect(out.at(-1)!.suppressed).toBeUndefined();
  });
});

/**
 * `qis-edge run` under systemd's Type=notify, on real processes: a real AF_UNIX datagram socket
 * (test/fixtures/notify_socket.py) stands in for systemd's, and the datagrams the agent sends
 * there are checked byte for byte: STATUS=starting while it starts, READY=1 once its sockets are
 * bound and its store open, WATCHDOG=1 every half WATCHDOG_USEC, STOPPING=1 at SIGTERM; nothing
 * without NOTIFY_SOCKET; one warning and no datagram without the native addon.
 * CLI tests run bin/qis-edge.js on dist/: `npx tsc -p tsconfig.build.json` first.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { bin, runAgent, stopAll, tempDir, type LogLine, type RunningAgent } from "../cli/run-agent.js";
import { nativeNotify } from "../../src/packet/native.js";
import { openNotifySocket, stopNotifySockets, type Datagram } from "./notify-socket.js";

afterEach(async () => {
  await stopAll();
  await stopNotifySockets();
});

const STARTING = "STATUS=starting: binding the sockets and opening the store";
const isReady = (d: Datagram): boolean => d.data.startsWith("READY=1\n");
const systemdLines = (a: RunningAgent): LogLine[] => a.lines().filter((l) => l.msg.startsWith("systemd"));

async function stop(agent: RunningAgent): Promise<number | null> {
  agent.child.kill("SIGTERM");
  return agent.exit;
}

function readyStatus(ready: LogLine): string {
  const endpoints = ready.endpoints as { pub: string };
  return `READY=1\nSTATUS=ready: node ${String(ready.nodeId)}, pub ${endpoints.pub}, 0 peers`;
}

// Without a compiler the addon is absent and only the fallback can be tested; CI requires it (.ci/run).
const haveNative = nativeNotify !== null || process.env.QIS_EDGE_REQUIRE_NATIVE === "1";

describe.runIf(haveNative)("qis-edge run with NOTIFY_SOCKET (native addon)", () => {
  it("says READY=1 only once the sockets are bound, pings WATCHDOG=1 every half WATCHDOG_USEC, and STOPPING=1 at SIGTERM", async () => {
    const dir = tempDir();
    const sock = await openNotifySocket(join(dir, "notify.sock"));
    // The start gate holds the agent before it opens anything (docs/operations.md).
    const gate = join(dir, "gate");
    writeFileSync(gate, "");
    const agent = runAgent([], { NOTIFY_SOCKET: sock.address, WATCHDOG_USEC: "200000", QIS_EDGE_TEST_START_GATE: gate }, dir);
    await sock.waitFor((d) => d.data === STARTING);
    await sleep(400);
    expect(sock.datagrams.map((d) => d.data)).toEqual([STARTING]);
    expect(agent.lines().some((l) => l.msg === "ready")).toBe(false);

    rmSync(gate);
    const ready = await agent.waitFor((l) => l.msg === "ready");
    const readyDatagram = await sock.waitFor(isReady);
    expect(readyDatagram.data).toBe(readyStatus(ready));

    // 100 ms pings: wait for 10 of them.
    await sock.waitFor((d) => sock.datagrams.filter((x) => x.data === "WATCHDOG=1").length >= 10 && d.data === "WATCHDOG=1", 10_000);
    expect(await stop(agent)).toBe(0);
    await sock.waitFor((d) => d.data.startsWith("STOPPING=1"));
    await sleep(300); // nothing may follow STOPPING=1

    const data = sock.datagrams.map((d) => d.data);
    const pings = sock.datagrams.filter((d) => d.data === "WATCHDOG=1");
    expect(data[0]).toBe(STARTING);
    expect(data[1]).toBe(readyStatus(ready));
    expect(data.slice(2, -1)).toEqual(pings.map(() => "WATCHDOG=1"));
    expect(data.at(-1)).toBe("STOPPING=1\nSTATUS=stopping: SIGTERM");
    // The cadence: 100 ms apart (timers on a loaded 2-core machine run late, never early by much).
    const gaps = pings.slice(1).map((p, i) => p.ms - pings[i]!.ms).sort((a, b) => a - b);
    const median = gaps[Math.floor(gaps.length / 2)]!;
    expect(median).toBeGreaterThanOrEqual(90);
    expect(median).toBeLessThan(180);
    expect(gaps[0]).toBeGreaterThanOrEqual(50);
    expect(pings[0]!.ms - readyDatagram.ms).toBeGreaterThanOrEqual(80);
    expect(systemdLines(agent)).toEqual([]);
  });

  it("sends to an abstract-namespace NOTIFY_SOCKET (@name), with no pings without WATCHDOG_USEC", async () => {
    const sock = await openNotifySocket(`@qis-edge-test-${randomBytes(6).toString("hex")}`);
    const agent = runAgent([], { NOTIFY_SOCKET: sock.address });
    const ready = await agent.waitFor((l) => l.msg === "ready");
    await sock.waitFor(isReady);
    await sleep(500);
    expect(await stop(agent)).toBe(0);
    await sock.waitFor((d) => d.data.startsWith("STOPPING=1"));
    expect(sock.datagrams.map((d) => d.data)).toEqual([STARTING, readyStatus(ready), "STOPPING=1\nSTATUS=stopping: SIGTERM"]);
  });

  it("does not ping a watchdog meant for another process (WATCHDOG_PID)", async () => {
    const dir = tempDir();
    const sock = await openNotifySocket(join(dir, "notify.sock"));
    const agent = runAgent([], { NOTIFY_SOCKET: sock.address, WATCHDOG_USEC: "100000", WATCHDOG_PID: String(process.pid) }, dir);
    await sock.waitFor(isReady);
    await sleep(500);
    expect(await stop(agent)).toBe(0);
    await sock.waitFor((d) => d.data.startsWith("STOPPING=1"));
    expect(sock.datagrams.map((d) => d.data.split("\n")[0])).toEqual([STARTING, "READY=1", "STOPPING=1"]);
  });

  it("pings when WATCHDOG_PID is its own pid", async () => {
    const dir = tempDir();
    const sock = await openNotifySocket(join(dir, "notify.sock"));
    // The agent's pid is known only once it runs: a shell sets WATCHDOG_PID=$$, then execs node in its place.
    const child = spawn("/bin/sh", ["-c", 'WATCHDOG_PID=$$ exec "$0" "$@"', process.execPath, bin, "run"], {
      cwd: dir,
      env: { ...process.env, NOTIFY_SOCKET: sock.address, WATCHDOG_USEC: "100000", QIS_EDGE_STATE_DIR: join(dir, "state"), QIS_EDGE_STORE_FILE: "none" },
      stdio: "ignore",
    });
    const exit = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      await sock.waitFor(isReady);
      await sock.waitFor((d) => d.data === "WATCHDOG=1");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exit).toBe(0);
  });

  it("with --stdio: READY=1, and STOPPING=1 when the supervisor closes stdin", async () => {
    const dir = tempDir();
    const sock = await openNotifySocket(join(dir, "notify.sock"));
    const agent = runAgent(["--stdio"], { NOTIFY_SOCKET: sock.address }, dir);
    const ready = await agent.waitFor((l) => l.msg === "ready");
    await sock.waitFor(isReady);
    agent.child.stdin.end();
    expect(await agent.exit).toBe(0);
    await sock.waitFor((d) => d.data.startsWith("STOPPING=1"));
    expect(sock.datagrams.map((d) => d.data)).toEqual([STARTING, readyStatus(ready), "STOPPING=1\nSTATUS=stopping: the stdio session ended"]);
  });

  it("sends nothing when NOTIFY_SOCKET is unset", async () => {
    const dir = tempDir();
    const sock = await openNotifySocket(join(dir, "notify.sock"));
    const agent = runAgent([], { WATCHDOG_USEC: "100000" }, dir);
    await agent.waitFor((l) => l.msg === "ready");
    await sleep(400);
    expect(await stop(agent)).toBe(0);
    await sleep(200);
    expect(sock.datagrams).toEqual([]);
    expect(systemdLines(agent)).toEqual([]);
  });

  it("logs a socket that is gone once (ERR_NOTIFY_SEND, ENOENT), not once per ping", async () => {
    const dir = tempDir();
    const agent = runAgent([], { NOTIFY_SOCKET: join(dir, "no-such.sock"), WATCHDOG_USEC: "40000" }, dir);
    await agent.waitFor((l) => l.msg === "ready");
    await sleep(500); // ~25 pings
    expect(await stop(agent)).toBe(0);
    const lines = systemdLines(agent);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warn", msg: "systemd notify failed", code: "ERR_NOTIFY_SEND", cause: "ENOENT", socket: join(dir, "no-such.sock"), message: STARTING });
  });

  it("says so when a socket that was gone is back (systemd notify sent again)", async () => {
    const dir = tempDir();
    const path = join(dir, "late.sock");
    const agent = runAgent([], { NOTIFY_SOCKET: path, WATCHDOG_USEC: "100000" }, dir);
    await agent.waitFor((l) => l.msg === "systemd notify failed");
    await agent.waitFor((l) => l.msg === "ready");
    const sock = await openNotifySocket(path);
    await sock.waitFor((d) => d.data === "WATCHDOG=1");
    const back = await agent.waitFor((l) => l.msg === "systemd notify sent again");
    expect(back).toMatchObject({ level: "info", socket: path });
    expect(back.failed).toBeGreaterThanOrEqual(2); // STATUS=starting and READY=1 at least
    expect(await stop(agent)).toBe(0);
    expect(systemdLines(agent).map((l) => l.msg)).toEqual(["systemd notify failed", "systemd notify sent again"]);
  });

  it("refuses a NOTIFY_SOCKET it cannot send to (ERR_NOTIFY_SOCKET) and runs on", async () => {
    for (const value of ["vsock:2:1234", "relative/notify.sock", `/${"x".repeat(107)}`]) {
      const agent = runAgent([], { NOTIFY_SOCKET: value });
      await agent.waitFor((l) => l.msg === "ready");
      expect(await stop(agent)).toBe(0);
      const lines = systemdLines(agent);
      expect(lines, value).toHaveLength(1);
      expect(lines[0], value).toMatchObject({ level: "warn", msg: "systemd notify unavailable", code: "ERR_NOTIFY_SOCKET", socket: value });
    }
  });

  it("says READY=1 but does not ping on a bad WATCHDOG_USEC (ERR_NOTIFY_WATCHDOG)", async () => {
    const dir = tempDir();
    const sock = await openNotifySocket(join(dir, "notify.sock"));
    const agent = runAgent([], { NOTIFY_SOCKET: sock.address, WATCHDOG_USEC: "30s" }, dir);
    await sock.waitFor(isReady);
    await sleep(300);
    expect(await stop(agent)).toBe(0);
    await sock.waitFor((d) => d.data.startsWith("STOPPING=1"));
    expect(sock.datagrams.map((d) => d.data.split("\n")[0])).toEqual([STARTING, "READY=1", "STOPPING=1"]);
    expect(systemdLines(agent)).toMatchObject([{ level: "warn", msg: "systemd watchdog not pinged", code: "ERR_NOTIFY_WATCHDOG" }]);
  });
});

describe("qis-edge run with NOTIFY_SOCKET and no native addon (QIS_EDGE_NO_NATIVE=1)", () => {
  it("logs one warning (ERR_NOTIFY_NATIVE), sends nothing, and runs and stops as usual", async () => {
    const dir = tempDir();
    const sock = await openNotifySocket(join(dir, "notify.sock"));
    const agent = runAgent([], { NOTIFY_SOCKET: sock.address, WATCHDOG_USEC: "100000", QIS_EDGE_NO_NATIVE: "1" }, dir);
    const ready = await agent.waitFor((l) => l.msg === "ready");
    expect(ready.native).toBe(false);
    await sleep(400);
    expect(await stop(agent)).toBe(0);
    await sleep(200);
    expect(sock.datagrams).toEqual([]);
    const lines = systemdLines(agent);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warn", msg: "systemd notify unavailable", code: "ERR_NOTIFY_NATIVE", socket: sock.address });
    expect(String(lines[0]!.reason)).toMatch(/QIS_EDGE_NO_NATIVE=1.*Type=notify unit times out its start.*Type=exec with WatchdogSec=0/);
  });
});

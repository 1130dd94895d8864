/**
 * The control server in-process, on a real agent and a real Unix socket: what a client leaves
 * behind when it goes away (nothing: its listeners, its subscriptions), the subscriptions shared
 * by several clients, and a closing server ending its clients' sessions.
 */
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/agent/log.js";
import { ControlClient, ControlRequestError } from "../../src/control/client.js";
import { ControlServer } from "../../src/control/server.js";
import { closeAll, startAgent, tempDir, waitFor } from "../agent/harness.js";

afterEach(closeAll);

const silent = createLogger({ level: "silent" });

async function setUp(maxClients = 8) {
  const agent = await startAgent({ subscribe: ["qis.hvac.>"] });
  const dir = tempDir("qis-ctl-");
  const server = await ControlServer.open(agent, { path: join(dir, "control.sock"), maxClients, stateDir: dir }, silent, () => import("../../src/stdio/session.js").then((m) => m.StdioSession));
  return { agent, server, path: server.path };
}

const listeners = (a: Awaited<ReturnType<typeof startAgent>>) => ["synthesis", "peer", "uplink", "error", "packet"].map((e) => a.listenerCount(e));

describe("control server", () => {
  it("a client that disconnects leaves no listener and no subscription behind", async () => {
    const { agent, server, path } = await setUp();
    const before = listeners(agent);
    const c = await ControlClient.connect(path);
    const ack = await c.request("subscribe", { pattern: "qis.iot.>" });
    expect(ack).toMatchObject({ event: "ack", op: "subscribe", pattern: "qis.iot.>", patterns: ["qis.iot.>"], packetFilters: ["qis.iot.>"] });
    expect(agent.patterns).toEqual(["qis.hvac.>", "qis.iot.>"]);
    expect(server.clients).toBe(1);
    expect(listeners(agent)).not.toEqual(before);
    c.destroy(); // no goodbye: a killed client
    await waitFor(() => server.clients === 0, () => `clients ${server.clients}`);
    expect(agent.patterns).toEqual(["qis.hvac.>"]);
    expect(listeners(agent)).toEqual(before);
    expect(server.heldPatterns.size).toBe(0);
  });

  it("a pattern two clients hold stays until the last one goes; one the agent had before never goes", async () => {
    const { agent, server, path } = await setUp();
    const c1 = await ControlClient.connect(path);
    const c2 = await ControlClient.connect(path);
    await c1.request("subscribe", { pattern: "qis.iot.>" });
    await c2.request("subscribe", { pattern: "qis.iot.>" });
    await c2.request("subscribe", { pattern: "qis.hvac.>" }); // configured: not the client's to remove
    expect(server.heldPatterns.get("qis.iot.>")).toBe(2);
    await c1.end();
    await waitFor(() => server.clients === 1, () => `clients ${server.clients}`);
    expect(agent.patterns).toEqual(["qis.hvac.>", "qis.iot.>"]);
    expect(await c2.request("unsubscribe", { pattern: "qis.iot.>" })).toMatchObject({ removed: true, patterns: ["qis.hvac.>"] });
    expect(agent.patterns).toEqual(["qis.hvac.>"]);
    await c2.end();
    await waitFor(() => server.clients === 0, () => `clients ${server.clients}`);
    expect(agent.patterns).toEqual(["qis.hvac.>"]);
  });

  it("a pattern a reload put in the config meanwhile stays when the client that added it leaves", async () => {
    const { agent, server, path } = await setUp();
    const c = await ControlClient.connect(path);
    await c.request("subscribe", { pattern: "qis.iot.>" });
    agent.config.subscribe = [...agent.config.subscribe, "qis.iot.>"]; // what applyReload does
    await c.end();
    await waitFor(() => server.clients === 0, () => `clients ${server.clients}`);
    expect(agent.patterns).toEqual(["qis.hvac.>", "qis.iot.>"]);
  });

  it("requests answered in order on each connection; a bad one is an error with its code; the agent stays open after clients leave", async () => {
    const { agent, path } = await setUp();
    const c = await ControlClient.connect(path);
    expect(c.ready).toMatchObject({ event: "ready", nodeId: agent.nodeId, versions: { protocol: 1 } });
    const err = await c.request("query", { limit: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlRequestError);
    expect((err as ControlRequestError).code).toBe("ERR_STDIO_REQUEST");
    await expect(c.request("subscribe", { pattern: "qis.**" })).rejects.toMatchObject({ code: "ERR_PATTERN_WILDCARD" });
    expect(await c.request("shutdown")).toMatchObject({ event: "ack", op: "shutdown" }); // ends this session only
    await new Promise((r) => setTimeout(r, 100));
    expect(agent.closed).toBe(false);
    expect(agent.observe({ domain: "hvac", problemClass: "x", outcomeDelta: 0.1, confidence: 0.5, nObservations: 1 }).cursor).toBe(1);
  });

  it("close() ends every session (the client sees the end) and removes the socket file", async () => {
    const { server, path } = await setUp();
    const raw: Socket = connect(path);
    await once(raw, "data");
    const closed = once(raw, "close");
    await server.close();
    await closed;
    await expect(ControlClient.connect(path)).rejects.toMatchObject({ code: "ERR_NO_AGENT" });
  });
});

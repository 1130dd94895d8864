/**
 * Reload in this process (src/agent/reload.ts, runtime.ts): what a plan applies live and what it
 * says needs a restart, the synthesis thresholds taking effect at once, and the CURVE allowlist
 * following the peers. test/cli/reload.test.ts does the same through SIGHUP on real processes.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveConfig, type AgentConfig } from "../../src/agent/config.js";
import { writeNewKeyFile } from "../../src/agent/keys.js";
import { applyReload, planReload } from "../../src/agent/reload.js";
import { runtimeOf } from "../../src/agent/runtime.js";
import { SynthEngine } from "../../src/synth/index.js";
import { catchError } from "../catch-error.js";
import { closeAll, observation, startAgent, tempDir, testConfig, waitFor } from "./harness.js";

afterEach(closeAll);

const resolve = (file: Record<string, unknown>): AgentConfig => resolveConfig(file, { env: {} });

describe("planReload", () => {
  it("lists what needs a restart by path, without values, and what applies live", () => {
    const base = testConfig({ peers: [{ name: "x", pub: "tcp://127.0.0.1:7000" }, { name: "old", pub: "tcp://127.0.0.1:7100", codec: "legacy" }] });
    const current = resolve(base);
    const next = resolve({
      ...base,
      store: { capacity: 99, bind: "tcp://127.0.0.1:7001" },
      peers: [{ name: "y", pub: "tcp://127.0.0.1:7002" }],
      subscribe: ["qis.hvac.>"],
      log: { level: "debug" },
      synth: { minDelta: 0.2, maxAddresses: 10, maxObservations: 5 },
      uplinks: { mqtt: { url: "mqtt://127.0.0.1:1883", username: "u", password: "secret" } },
    });
    const plan = planReload(current, next);
    expect(plan.restart.sort()).toEqual(["/peers (legacy peers)", "/store/bind", "/store/capacity", "/synth/maxAddresses", "/uplinks/mqtt"]);
    expect(JSON.stringify(plan.restart)).not.toContain("secret");
    expect(plan.peers.map((p) => p.name)).toEqual(["y"]);
    expect(plan.subscribe).toEqual({ previous: ["qis.>"], next: ["qis.hvac.>"] });
    expect(plan.logLevel).toBe("debug");
    expect(plan.synth).toEqual({ minDelta: 0.2, maxObservations: 5 });
    expect(planReload(current, resolve(base))).toEqual({ peers: current.peers.slice(0, 1), subscribe: { previous: ["qis.>"], next: ["qis.>"] }, logLevel: null, synth: {}, restart: [] });
  });
});

describe("applyReload", () => {
  it("a lower synth.minContributors makes a lone node's observation a synthesis at once", async () => {
    const a = await startAgent();
    const syntheses: string[] = [];
    a.on("synthesis", (e: { address: string }) => syntheses.push(e.address));
    a.observe(observation("hvac", "energy-anomaly", 0.3, 0.9, 5));
    expect(syntheses).toEqual([]); // minContributors 2: one node is not enough
    const r = applyReload(a, planReload(a.config, resolve({ ...testConfig(), stateDir: a.config.stateDir, synth: { minContributors: 1, minIntervalMs: 0 } })));
    expect(r.synth.sort()).toEqual(["minContributors", "minIntervalMs"]);
    expect(a.config.synth.minContributors).toBe(1);
    a.observe(observation("hvac", "energy-anomaly", 0.35, 0.9, 5));
    expect(syntheses).toEqual(["qis.hvac.energy-anomaly"]);
    expect(a.store.stats().size).toBe(3); // the store kept both observations, and the synthesis
  });

  it("thresholds out of bounds are refused by the engine and change nothing", () => {
    const e = new SynthEngine({ nodeId: new Uint8Array(16).fill(1), maxNodesPerAddress: 4 });
    const good = { alertThreshold: 0.5, confidenceScale: 3, minDelta: 0.1, minIntervalMs: 10, minContributors: 4, ttlS: 60 };
    e.retune(good);
    expect(e.config).toMatchObject(good);
    for (const [k, v] of [["minContributors", 5], ["alertThreshold", 2], ["confidenceScale", 0], ["minIntervalMs", Number.NaN], ["ttlS", 1.5]] as const) {
      expect(catchError(() => e.retune({ ...good, [k]: v }), Error)).toMatchObject({ code: "ERR_SYNTH_CONFIG" });
    }
    expect(e.config).toMatchObject(good);
  });

  it("a removed peer's key leaves the allowlist unless security.allow names it; unchanged peers stay connected", async () => {
    const dir = tempDir();
    const key = (n: string) => writeNewKeyFile(join(dir, `${n}.key`)).publicKey;
    const [kx, ky, kz] = [key("x"), key("y"), key("z")];
    const peer = (name: string, publicKey: string, port: number) => ({ name, pub: `tcp://127.0.0.1:${port}`, publicKey });
    const file = testConfig({ security: { secretKeyFile: join(dir, "me.key"), allow: [kz] }, peers: [peer("x", kx, 7201), peer("y", ky, 7202), peer("z", kz, 7203)] });
    const a = await startAgent(file);
    const zap = a.allowlist!;
    expect([kx, ky, kz].every((k) => zap.allowed.has(k))).toBe(true);
    const y = a.peers.find((p) => p.name === "y");
    const r = applyReload(a, planReload(a.config, resolve({ ...file, peers: [peer("y", ky, 7202), peer("w", kx, 7204)] })));
    expect(r.peers).toMatchObject({ added: ["w"], removed: ["x", "z"], changed: [] });
    expect(a.peers.find((p) => p.name === "y")).toBe(y); // the same link, not a new one
    expect(zap.allowed.has(kx)).toBe(true); // w has it
    expect(zap.allowed.has(kz)).toBe(true); // security.allow has it
    applyReload(a, planReload(a.config, resolve({ ...file, peers: [peer("y", ky, 7205)] })));
    expect(zap.allowed.has(kx)).toBe(false);
    expect(a.peers.map((p) => [p.name, p.settings.pub])).toEqual([["y", "tcp://127.0.0.1:7205"]]);
    expect(a.peers[0]).not.toBe(y); // its endpoint changed: reconnected
  });

  it("a reload keeps discovered peers; the runtime API refuses a taken name", async () => {
    const b = await startAgent();
    const a = await startAgent();
    const rt = runtimeOf(a);
    rt.addPeer({ name: "discovered-b", pub: b.endpoints.pub, store: b.endpoints.store, publicKey: null }, "discovery");
    applyReload(a, planReload(a.config, resolve({ ...testConfig(), stateDir: a.config.stateDir, peers: [{ name: "c", pub: "tcp://127.0.0.1:7301" }] })));
    expect(rt.peers().map((p) => [p.name, p.origin])).toEqual([["discovered-b", "discovery"], ["c", "config"]]);
    expect(rt.removePeer("discovered-b", "config", "x")).toBe(false); // not a configured one
    expect(catchError(() => rt.addPeer({ name: "c", pub: "tcp://127.0.0.1:7302", store: null, publicKey: null }, "discovery"), Error)).toMatchObject({ code: "ERR_PEER_EXISTS" });
    await waitFor(() => a.peers.find((p) => p.name === "discovered-b")?.up === true, () => "discovered-b up");
    b.observe(observation("hvac", "energy-anomaly", 0.3, 0.9, 5));
    await waitFor(() => a.stats().received === 1, () => JSON.stringify(a.stats().peers));
    expect(rt.removePeer("discovered-b", "discovery", "expired")).toBe(true);
    expect(a.peers.map((p) => p.name)).toEqual(["c"]);
  });
});

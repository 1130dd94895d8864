/**
 * Discovery and reload together, in this process (multicast on loopback): a discovered agent
 * that a reload then configures is linked once, through the config; one the config drops again
 * is discovered again at its next beacon.
 */
import { afterEach, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/agent/config.js";
import { applyReload, planReload } from "../../src/agent/reload.js";
import { runtimeOf } from "../../src/agent/runtime.js";
import { closeAll, startAgent, testConfig, waitFor } from "./harness.js";

afterEach(closeAll);

describe("discovery with reload", () => {
  it("a discovered peer configured by a reload is linked once; dropped from the config, it is discovered again", async () => {
    const r = (n: number): number => 1 + Math.floor(Math.random() * n);
    const discovery = { enabled: true, allowInsecure: true, interface: "127.0.0.1", group: `239.255.${r(250)}.${r(250)}`, port: 20_000 + r(40_000), minIntervalMs: 100, maxIntervalMs: 200 };
    const a = await startAgent({ discovery });
    const file = testConfig({ discovery });
    const b = await startAgent(file);
    const rt = runtimeOf(b);
    const links = (): string[] => rt.peers().map((p) => `${p.origin}:${p.name}`);
    await waitFor(() => links().length === 1, () => JSON.stringify(b.stats().discovery));
    expect(links()).toEqual([`discovery:discovered-${a.nodeId}`]);

    const configured = { ...file, stateDir: b.config.stateDir, peers: [{ name: "a", pub: a.endpoints.pub, store: a.endpoints.store }] };
    applyReload(b, planReload(b.config, resolveConfig(configured, { env: {} })));
    await waitFor(() => links().length === 1 && links()[0] === "config:a", () => links().join(", "));
    await new Promise((res) => setTimeout(res, 500)); // a few more of A's beacons
    expect(links()).toEqual(["config:a"]);
    expect(b.stats().discovery).toMatchObject({ peers: 0, discovered: 1 });

    applyReload(b, planReload(b.config, resolveConfig({ ...configured, peers: [] }, { env: {} })));
    await waitFor(() => links()[0] === `discovery:discovered-${a.nodeId}`, () => links().join(", "));
    expect(b.stats().discovery).toMatchObject({ peers: 1, discovered: 2, expired: 0 });
  });
});

/** RunMetrics' /healthz across an agent's life, in process over loopback: starting, ready, stopping. */
import { afterEach, describe, expect, it } from "vitest";
import { createAgent } from "../../src/agent/agent.js";
import { resolveConfig } from "../../src/agent/config.js";
import { createLogger } from "../../src/agent/log.js";
import { RunMetrics } from "../../src/cli/run-metrics.js";
import { closeAll, testConfig } from "../agent/harness.js";
import { http } from "./http.js";

afterEach(closeAll);

describe("/healthz", () => {
  it("503 starting, 200 once the agent is attached, 503 stopping from the signal on, then the listener is gone", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "info", stream: { write: (s: string) => lines.push(s) } });
    const config = resolveConfig(testConfig({ metrics: { listen: "127.0.0.1:0" } }), { env: {} });
    const metrics = (await RunMetrics.open(config, logger))!;
    const url = JSON.parse(lines[0]!).url as string;
    expect((await http(`${url}/healthz`)).status).toBe(503);
    const agent = await createAgent(config, { logger });
    metrics.attach(agent);
    expect(await http(`${url}/healthz`)).toMatchObject({ status: 200, body: '{"status":"ready"}\n' });
    metrics.stopping();
    expect(await http(`${url}/healthz`)).toMatchObject({ status: 503, body: '{"status":"stopping","reason":"shutting down"}\n' });
    expect((await http(`${url}/metrics`)).body).toContain("qis_edge_agent_ready 0\n");
    await agent.close();
    // Closed without stopping() (a library closing its agent): not ready either, and no stats.
    const page = await http(`${url}/metrics`);
    expect(page.body).toContain("qis_edge_agent_ready 0\n");
    expect(page.body).not.toContain("qis_edge_packets_observed_total");
    await metrics.close();
    await expect(http(`${url}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("metrics.listen null: no listener at all", async () => {
    const config = resolveConfig(testConfig(), { env: {} });
    expect(await RunMetrics.open(config, createLogger({ level: "silent" }))).toBe(null);
  });
});

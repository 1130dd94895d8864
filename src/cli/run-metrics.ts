/**
 * `run`'s metrics and health listener (config `metrics.listen`, docs/operations.md). It starts
 * before the agent, so that /healthz says 503 "starting" until the sockets are bound and the
 * store is open, then 200, and 503 "stopping" from the signal on. The listener's module (and
 * node:http) is imported only when metrics are on.
 */
import type { Agent } from "../agent/agent.js";
import type { AgentConfig } from "../agent/config.js";
import type { Logger } from "../agent/log.js";
import { packageVersion } from "../agent/version.js";
import { parseListen } from "../metrics/listen.js";
import type { MetricsSnapshot } from "../metrics/render.js";
import type { Health, MetricsServer } from "../metrics/server.js";

export class RunMetrics {
  #agent: Agent | null = null;
  #phase: "starting" | "ready" | "stopping" = "starting";
  #server: MetricsServer | null = null;

  /** null when metrics are off; rejects with ERR_METRICS_LISTEN when the listener cannot bind. */
  static async open(config: AgentConfig, logger: Logger): Promise<RunMetrics | null> {
    const listen = config.metrics.listen === null ? null : parseListen(config.metrics.listen);
    if (listen === null) return null;
    const { startMetricsServer } = await import("../metrics/server.js");
    const m = new RunMetrics();
    m.#server = await startMetricsServer(listen, { snapshot: () => m.#snapshot(), health: () => m.#health() }, logger);
    logger.info("metrics listening", { url: m.#server.url, paths: ["/metrics", "/healthz"] });
    return m;
  }

  /** The agent is open: its sockets are bound and its store is open. */
  attach(agent: Agent): void {
    this.#agent = agent;
    this.#phase = "ready";
  }

  stopping(): void {
    this.#phase = "stopping";
  }

  close(): Promise<void> {
    return this.#server?.close() ?? Promise.resolve();
  }

  #snapshot(): MetricsSnapshot {
    const a = this.#agent;
    const open = a !== null && !a.closed;
    return { version: packageVersion(), nodeId: a?.nodeId ?? null, ready: this.#health().ok, stats: open ? a.stats() : null };
  }

  #health(): Health {
    if (this.#phase === "starting") return { ok: false, status: "starting", reason: "binding the sockets and opening the store" };
    if (this.#phase === "stopping" || this.#agent === null || this.#agent.closed) return { ok: false, status: "stopping", reason: "shutting down" };
    return { ok: true, status: "ready" };
  }
}

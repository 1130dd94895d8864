/**
 * `run`'s control socket (config `control`, docs/operations.md "Control socket"). Its path is
 * checked before the agent starts, so that a bad one stops the start before anything is bound;
 * it listens once the agent is open. Its module (a sidecar in the bundle), and node:net, are
 * imported only when control.enabled is true.
 */
import type { Agent } from "../agent/agent.js";
import type { AgentConfig } from "../agent/config.js";
import type { Logger } from "../agent/log.js";
import type { ControlOptions, ControlServer } from "../control/server.js";

export class RunControl {
  readonly #module: typeof import("../control/server.js");
  readonly #options: ControlOptions;
  #server: ControlServer | null = null;

  private constructor(module: typeof import("../control/server.js"), options: ControlOptions) {
    this.#module = module;
    this.#options = options;
  }

  /** null when control.enabled is false; rejects with a ControlError for a path that cannot be a socket. */
  static async check(config: AgentConfig): Promise<RunControl | null> {
    if (!config.control.enabled) return null;
    const module = await import("../control/server.js");
    const options = { path: config.control.path ?? `${config.stateDir}/control.sock`, maxClients: config.control.maxClients, stateDir: config.stateDir };
    await module.checkControlPath(options, { probe: false });
    return new RunControl(module, options);
  }

  /** Listens (replacing a stale socket; ERR_CONTROL_IN_USE when a live agent answers on the path). */
  async open(agent: Agent, logger: Logger): Promise<void> {
    this.#server = await this.#module.ControlServer.open(agent, this.#options, logger, loadSession);
  }

  /** Ends every client's session and removes the socket file. */
  close(): Promise<void> {
    return this.#server?.close() ?? Promise.resolve();
  }
}

/** The stdio session, imported at the control socket's first client (not with the server). */
const loadSession = (): Promise<typeof import("../stdio/session.js").StdioSession> => import("../stdio/session.js").then((m) => m.StdioSession);

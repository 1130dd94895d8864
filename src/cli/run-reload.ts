/**
 * `qis-edge run`'s SIGHUP: reads the --config file again (with the same environment overrides
 * and --log-level), checks it as `config check` and a start would (schema, cross-checks,
 * preflight), and applies it to the running agent (src/agent/reload.ts). A config with
 * problems is refused, every problem logged, and the running one kept. Without --config there
 * is nothing to re-read (the environment of a running process does not change): logged, ignored.
 * Node's default for SIGHUP is to exit: the handler is installed before the agent starts, and
 * a SIGHUP that comes before the agent is ready is applied once it is.
 */
import type { Agent } from "../agent/agent.js";
import { ConfigError, loadConfigFile } from "../agent/config.js";
import type { Logger, LogLevel } from "../agent/log.js";
import { QisError } from "../errors.js";

export interface ReloadOptions {
  file: string | undefined;
  /** --log-level: wins over the file, as at start */
  level: LogLevel | undefined;
  logger: Logger;
}

export class SighupReload {
  readonly #o: ReloadOptions;
  #agent: Agent | null = null;
  /** a SIGHUP came while none could be applied (before start, or during a reload) */
  #pending = false;
  #running = false;
  readonly #onSignal = (): void => this.request();

  constructor(options: ReloadOptions) {
    this.#o = options;
    process.on("SIGHUP", this.#onSignal);
  }

  /** The agent is up: reloads apply to it from now on (one requested earlier runs now). */
  attach(agent: Agent): void {
    this.#agent = agent;
    if (this.#pending) this.request();
  }

  detach(): void {
    process.off("SIGHUP", this.#onSignal);
    this.#agent = null;
  }

  request(): void {
    const log = this.#o.logger;
    if (this.#o.file === undefined) {
      log.warn("reload ignored", { signal: "SIGHUP", reason: "no --config file to read again: this agent runs on defaults and the environment, which a running process cannot re-read; restart it to change them" });
      return;
    }
    if (this.#agent === null || this.#running) {
      this.#pending = true;
      return;
    }
    this.#pending = false;
    this.#running = true;
    void this.#reload(this.#agent, this.#o.file).finally(() => {
      this.#running = false;
      if (this.#pending && this.#agent !== null) this.request();
    });
  }

  async #reload(agent: Agent, file: string): Promise<void> {
    const log = this.#o.logger;
    log.info("reloading", { signal: "SIGHUP", file });
    try {
      const next = loadConfigFile(file, { env: process.env });
      if (this.#o.level !== undefined) next.log.level = this.#o.level;
      const { preflightProblems } = await import("../agent/preflight.js");
      const problems = await preflightProblems(next);
      if (problems.length > 0) throw new ConfigError(file, problems);
      if (agent.closed) return;
      const { applyReload, planReload } = await import("../agent/reload.js");
      const before = log.level;
      const r = applyReload(agent, planReload(agent.config, next));
      // Said at the level in effect before: a reload to "warn" still confirms itself.
      const after = log.level;
      log.level = before;
      log.info("reloaded", {
        file,
        peers: { added: r.peers.added, removed: r.peers.removed, changed: r.peers.changed },
        subscribe: r.subscribe,
        ...(r.logLevel !== null ? { logLevel: r.logLevel } : {}),
        synth: r.synth,
      });
      log.level = after;
      for (const f of r.peers.failed) log.error("reload: peer not added", { peer: f.peer, code: f.code, reason: f.reason });
      for (const f of r.failed) log.error("reload: not applied", f);
      if (r.restart.length > 0) log.warn("reload: restart needed", { paths: r.restart, reason: "these keys are applied at start only: the agent keeps running with their old values until it is restarted" });
    } catch (err) {
      if (err instanceof ConfigError) {
        log.error("reload refused", { code: err.code, file, problems: err.problems, reason: "the running config is kept" });
      } else if (err instanceof QisError) {
        log.error("reload failed", { code: err.code, file, reason: err.message });
      } else {
        log.error("reload failed", { code: "ERR_INTERNAL", file, err });
      }
    }
  }
}

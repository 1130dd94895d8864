/**
 * `qis-edge run`: one agent until SIGINT/SIGTERM. Logs are JSON lines on stderr; stdout stays
 * free for the stdio protocol.
 */
import { parseArgs } from "node:util";
import { createAgent } from "../agent/agent.js";
import { ConfigError, loadConfigFile, type AgentConfig } from "../agent/config.js";
import { createLogger, type LogLevel } from "../agent/log.js";
import { UsageError } from "../errors.js";
import type { CommandContext } from "./main.js";

export const runHelp = `Usage: qis-edge run [--config FILE] [--log-level LEVEL]

Runs one agent: binds its PUB and store endpoints, connects to its peers, catches up from their
stores, stores and synthesizes what arrives, and publishes its own and synthesized packets.
Without --config it runs on defaults: a node id created and kept in ./.qis-edge, PUB and store
on free loopback ports (printed in the "ready" log line), no peers.

Options:
  -c, --config FILE       the agent's JSON config (see "qis-edge config --help", docs/config.md)
  -l, --log-level LEVEL   debug | info | warn | error | silent (default: the config's, else info)
  -h, --help              show this help

Environment overrides (they win over the file): QIS_EDGE_NODE_ID, QIS_EDGE_STATE_DIR,
QIS_EDGE_PUB_BIND, QIS_EDGE_STORE_BIND, QIS_EDGE_STORE_CAPACITY, QIS_EDGE_STORE_FILE,
QIS_EDGE_PEERS, QIS_EDGE_SUBSCRIBE, QIS_EDGE_LOG_LEVEL.

Logs: one JSON object per line on stderr ({"time","level","msg",...}); the "ready" line names
the node id and the bound endpoints.
SIGINT / SIGTERM close the sockets and the store and exit 0.

Exit status: 0 after a signal, 2 bad config or usage (every problem listed) or a start failure
(e.g. an endpoint already in use).
`;

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** Prints a config error with one line per problem (the CLI's one-line rule fits badly here). */
export function printConfigError(err: ConfigError, stderr: NodeJS.WritableStream): void {
  stderr.write(`ERR_CONFIG: ${err.source}: ${err.problems.length} problem${err.problems.length === 1 ? "" : "s"}\n`);
  for (const p of err.problems) stderr.write(`  ${p.path || "/"}: expected ${p.expected}, found ${p.found}\n`);
}

export function loadRunConfig(file: string | undefined, level: string | undefined, ctx: CommandContext): AgentConfig | null {
  if (level !== undefined && !LEVELS.includes(level as LogLevel)) throw new UsageError(`--log-level: "${level}" is not one of ${LEVELS.join(", ")}`);
  let config: AgentConfig;
  try {
    config = loadConfigFile(file ?? null, { env: process.env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    printConfigError(err, ctx.stderr);
    return null;
  }
  if (level !== undefined) config.log.level = level as LogLevel;
  return config;
}

export async function runCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      "log-level": { type: "string", short: "l" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    ctx.stdout.write(runHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`run takes no arguments, got "${positionals[0]}"`);
  const config = loadRunConfig(values.config, values["log-level"], ctx);
  if (config === null) return 2;
  const logger = createLogger({ level: config.log.level, stream: ctx.stderr });
  const agent = await createAgent(config, { logger });
  agent.on("error", () => undefined); // already logged by the agent; listening keeps it from throwing
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info("stopping", { signal });
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await agent.close();
  // Should a socket or timer outlive close(), do not hang the supervisor's restart.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}

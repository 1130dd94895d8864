/**
 * `qis-edge run`: one agent until SIGINT/SIGTERM. Logs are JSON lines on stderr; stdout stays
 * free for the stdio protocol (`--stdio`: requests on stdin, protocol messages on stdout, until
 * stdin closes; src/stdio, docs/stdio.md).
 */
import { existsSync } from "node:fs";
import { createAgent, type Agent } from "../agent/agent.js";
import { ConfigError, loadConfigFile, type AgentConfig } from "../agent/config.js";
import { createLogger, type Logger, type LogLevel } from "../agent/log.js";
import { QisError, UsageError } from "../errors.js";
import { parseCommandArgs } from "./args.js";
import { FRAMINGS, type Framing } from "../stdio/framings.js";
import type { CommandContext } from "./main.js";
import { RunControl } from "./run-control.js";
import { RunMetrics } from "./run-metrics.js";
import type { SystemdNotify } from "../systemd/notify.js";
import { writeStartFailure } from "./start-failure.js";
import { SighupReload } from "./run-reload.js";

export const runHelp = `Usage: qis-edge run [--config FILE] [--log-level LEVEL] [--stdio [--framing ndjson|cbor]]

Runs one agent: binds its PUB and store endpoints, connects to its peers, catches up from their
stores, stores and synthesizes what arrives, and publishes its own and synthesized packets.
Without --config it runs on defaults: a node id created and kept in ./.qis-edge, PUB and store
on free loopback ports (printed in the "ready" log line), no peers.

Beyond the LAN, "uplinks.mqtt" in the config publishes the agent's own packets to an MQTT
broker through a durable outbox (STATEDIR/outbox-mqtt.bin: nothing lost across broker outages,
restarts or kill -9) and stores and synthesizes what its "down" patterns bring (docs/uplink.md):
  {"uplinks": {"mqtt": {"url": "mqtts://broker.example.com:8883", "username": "site-7",
    "passwordFile": "/etc/qis-edge/mqtt-password", "down": ["qis.hvac.>"]}}}
(examples/agent-mqtt.json). "uplinks.nats" does the same through a NATS JetStream stream
(STATEDIR/outbox-nats.bin; the stream QIS_OUTCOMES over qis.iot.> created when absent), and
pulls its "down" patterns through durable consumers that resume where they left off:
  {"uplinks": {"nats": {"servers": ["tls://nats.example.com:4222"],
    "credsFile": "/etc/qis-edge/site-7.creds", "down": ["qis.iot.hvac.>"]}}}
(examples/agent-nats.json). Their state is logged ("uplink connected", "uplink offline"), sent
as "uplink" events with --stdio, and in the "stats" under uplinks.mqtt and uplinks.nats.

Options:
  -c, --config FILE       the agent's JSON config (see "qis-edge config --help", docs/config.md)
  -l, --log-level LEVEL   debug | info | warn | error | silent (default: the config's, else info)
      --stdio             driven by a supervisor: requests on stdin, protocol messages (acks,
                          errors, events) on stdout, logs on stderr; ends when stdin closes
                          (docs/stdio.md)
      --framing F         with --stdio: ndjson (default; one JSON object per line) or cbor
                          (4-byte big-endian length + one CBOR map per message)
  -h, --help              show this help

Environment overrides (they win over the file): QIS_EDGE_NODE_ID, QIS_EDGE_STATE_DIR,
QIS_EDGE_PUB_BIND, QIS_EDGE_STORE_BIND, QIS_EDGE_STORE_CAPACITY, QIS_EDGE_STORE_FILE,
QIS_EDGE_PEERS, QIS_EDGE_SUBSCRIBE, QIS_EDGE_LOG_LEVEL, QIS_EDGE_METRICS_LISTEN,
QIS_EDGE_CONTROL_PATH.

Logs: one JSON object per line on stderr ({"time","level","msg",...}); the "ready" line names
the version, the node id and the bound endpoints; "peer up", "peer down" and "peer unreachable"
(with the endpoint) at info; a "stats" line every log.statsIntervalS (default 60 s).
Metrics: with metrics.listen (e.g. QIS_EDGE_METRICS_LISTEN=127.0.0.1:9464), GET /metrics in the
Prometheus text format and GET /healthz (200 ready, 503 starting or stopping); off by default,
loopback only unless metrics.allowRemote. See docs/operations.md.
Control socket: STATEDIR/control.sock (mode 0600; config control.*), the stdio protocol for the
client commands qis-edge observe, watch, query, stats and peers; "control": {"enabled": false}
turns it off.
SIGHUP reloads the --config file (with the same environment overrides): qis peers, subscriptions,
log.level and the synthesis thresholds change live, without dropping the store or unchanged
peers' connections; an invalid file is refused ("reload refused", every problem logged) and the
running config kept; keys applied at start only are logged as "reload: restart needed".
Without --config, SIGHUP is logged and ignored.
SIGINT / SIGTERM close the sockets and the store and exit 0. With --stdio, so do the end of
stdin, a "shutdown" request and the death of the parent process (no orphan).
Under systemd (Type=notify, NOTIFY_SOCKET set): READY=1 once the sockets are bound and the
store is open, WATCHDOG=1 every half WATCHDOG_USEC, STOPPING=1 at the signal; this needs the
native addon (docs/operations.md, "systemd").

Exit status: 0 after a signal, 2 bad config or usage (every problem listed) or a start failure
(e.g. an endpoint already in use: one JSON line at level "fatal" with its code, the config key
and the endpoint or file).
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
  const { values, positionals } = parseCommandArgs("run", argv, {
    config: { type: "string", short: "c" },
    "log-level": { type: "string", short: "l" },
    stdio: { type: "boolean" },
    framing: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    ctx.stdout.write(runHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`run takes no arguments, got "${positionals[0]}"`);
  if (values.framing !== undefined && !values.stdio) throw new UsageError("--framing goes with --stdio");
  const framing = values.framing ?? "ndjson";
  if (!FRAMINGS.includes(framing as Framing)) throw new UsageError(`--framing: "${framing}" is not one of ${FRAMINGS.join(", ")}`);
  const config = loadRunConfig(values.config, values["log-level"], ctx);
  if (config === null) return 2;
  // What the machine would refuse (state dir, store file, keys, bind hosts, limits): the lines of `config check`.
  const { preflightProblems } = await import("../agent/preflight.js");
  const problems = await preflightProblems(config);
  if (problems.length > 0) {
    printConfigError(new ConfigError(values.config ?? "defaults", problems), ctx.stderr);
    return 2;
  }
  const logger = createLogger({ level: config.log.level, stream: ctx.stderr });
  // Handlers first: a supervisor may signal as soon as it reads the "ready" line.
  let stopped: (signal: string) => void = () => undefined;
  const stop = new Promise<string>((resolve) => (stopped = resolve));
  if (!values.stdio) {
    process.once("SIGINT", () => stopped("SIGINT"));
    process.once("SIGTERM", () => stopped("SIGTERM"));
  }
  // SIGHUP re-reads --config (./run-reload.ts); installed now, as Node's default is to exit.
  const reload = new SighupReload({ file: values.config, level: values["log-level"] as LogLevel | undefined, logger });
  // Loaded before the agent starts: the session must listen from the agent's first event on.
  const stdio = values.stdio ? await import("../stdio/session.js") : null;
  // Under systemd's Type=notify only (docs/operations.md, "systemd"): READY=1, watchdog, STOPPING=1.
  const systemd = process.env.NOTIFY_SOCKET ? (await import("../systemd/notify.js")).SystemdNotify.open(process.env, logger) : null;
  const started = await start(config, logger, ctx);
  if (started === null) return 2;
  const { agent, metrics, control } = started;
  reload.attach(agent);
  systemd?.ready(agent);
  if (stdio !== null) return runStdio(stdio.StdioSession, agent, metrics, control, framing as Framing, logger, ctx, systemd);
  agent.on("error", () => undefined); // already logged by the agent; listening keeps it from throwing
  const signal = await stop;
  logger.info("stopping", { signal });
  reload.detach();
  systemd?.stopping(signal);
  metrics?.stopping();
  await control?.close();
  await agent.close();
  await metrics?.close();
  // Should a socket or timer outlive close(), do not hang the supervisor's restart.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}

/**
 * `run --stdio`: the agent as a supervisor's child. Exits (process.exit, so that no socket or
 * timer can keep an orphan alive) once the session is over and stdout has taken the last messages.
 */
async function runStdio(StdioSession: typeof import("../stdio/session.js").StdioSession, agent: Agent, metrics: RunMetrics | null, control: RunControl | null, framing: Framing, logger: Logger, ctx: CommandContext, systemd: SystemdNotify | null): Promise<number> {
  const session = new StdioSession(agent, { framing, input: ctx.stdin, output: ctx.stdout, logger });
  const stop = (signal: string): void => {
    systemd?.stopping(signal);
    void session.end(signal);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const code = await session.done;
  systemd?.stopping("the stdio session ended");
  await control?.close();
  metrics?.stopping();
  await metrics?.close();
  process.exit(code);
}

/**
 * The metrics listener (when configured), then the agent, then the control socket (its path
 * checked before the agent starts). A start failure is one JSON "fatal" line naming what failed
 * (./start-failure.ts), and null: exit 2.
 */
async function start(config: AgentConfig, logger: Logger, ctx: CommandContext): Promise<{ agent: Agent; metrics: RunMetrics | null; control: RunControl | null } | null> {
  let metrics: RunMetrics | null = null;
  let agent: Agent | null = null;
  try {
    metrics = await RunMetrics.open(config, logger);
    const control = await RunControl.check(config);
    await startGate(process.env.QIS_EDGE_TEST_START_GATE);
    agent = await createAgent(config, { logger });
    await control?.open(agent, logger);
    metrics?.attach(agent);
    return { agent, metrics, control };
  } catch (err) {
    if (!(err instanceof QisError)) throw err;
    await agent?.close();
    await metrics?.close();
    writeStartFailure(err, config, ctx.stderr);
    return null;
  }
}

/**
 * A test hook (docs/operations.md): while the file named by QIS_EDGE_TEST_START_GATE exists,
 * the agent waits before it opens its store and binds its sockets, with the metrics listener
 * already up, so that a test can see /healthz answer 503 "starting" on a real process.
 */
async function startGate(file: string | undefined): Promise<void> {
  if (file === undefined || file === "") return;
  while (existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 20));
}

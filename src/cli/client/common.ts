/**
 * What the client commands (observe, watch, query, stats, peers) share: the options that find
 * the agent's control socket, and the connection (src/control/client.ts).
 *
 * The socket is found, first match wins: --socket PATH; else the config's control.path, the
 * config being --config FILE (or the defaults) with the QIS_EDGE_* environment overrides and
 * --state-dir DIR as its stateDir. So `qis-edge stats` run where `qis-edge run` was run finds
 * ./.qis-edge/control.sock, as `run` made it.
 */
import { resolve } from "node:path";
import { ConfigError, loadConfigFile } from "../../agent/config.js";
import { ControlClient } from "../../control/client.js";
import { ControlError, ControlErrorCode } from "../../control/errors.js";
import { UsageError } from "../../errors.js";

export const LOCATE_OPTIONS = {
  "state-dir": { type: "string", short: "s" },
  config: { type: "string", short: "c" },
  socket: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export const LOCATE_HELP = `The agent (first that applies; default ./.qis-edge/control.sock):
      --socket PATH       its control socket
  -s, --state-dir DIR     its state dir (DIR/control.sock)
  -c, --config FILE       its config (control.path)
  -h, --help              show this help
No agent there: ERR_NO_AGENT with the path tried, exit 2.`;

export interface LocateValues {
  "state-dir"?: string;
  config?: string;
  socket?: string;
}

/** The socket's path and how it was found (for the error when nothing answers there). */
export function locateControl(v: LocateValues, env: NodeJS.ProcessEnv = process.env): { path: string; foundBy: string } {
  if (v.socket !== undefined) return { path: resolve(v.socket), foundBy: "--socket" };
  const configEnv = v["state-dir"] === undefined ? env : { ...env, QIS_EDGE_STATE_DIR: v["state-dir"] };
  let config;
  try {
    config = loadConfigFile(v.config ?? null, { env: configEnv });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const lines = err.problems.map((p) => `${p.path || "/"}: expected ${p.expected}, found ${p.found}`);
    throw new UsageError(`cannot find the agent's control socket: ${err.source}: ${lines.join("; ")}`, { cause: err });
  }
  const foundBy = v["state-dir"] !== undefined ? `--state-dir ${v["state-dir"]}` : v.config !== undefined ? `--config ${v.config}` : `the state dir ${config.stateDir}`;
  const path = config.control.path ?? resolve(config.stateDir, "control.sock");
  if (!config.control.enabled) throw new ControlError(ControlErrorCode.NO_AGENT, path, `the config has control.enabled false: its agent opens no control socket (${foundBy})`);
  return { path, foundBy };
}

export async function connectControl(v: LocateValues): Promise<ControlClient> {
  const { path, foundBy } = locateControl(v);
  return ControlClient.connect(path, { foundBy });
}

/** A non-negative integer option, or a usage error naming it. */
export function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name}: expected an integer in ${min}..${max}, got "${value}"`);
  return n;
}

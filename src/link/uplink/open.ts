/**
 * What every broker adapter does the same way when the agent opens it: read the files and
 * secrets its config names (never logging a secret), and start an OutboxUplink over its
 * transport with the outbox file in the state dir. src/link/mqtt/index.ts and
 * src/link/nats/index.ts build their transports and call these.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compilePattern } from "../../address/index.js";
import type { Logger } from "../../agent/log.js";
import { UplinkError } from "./errors.js";
import { Outbox } from "./outbox.js";
import type { UplinkSink, UplinkTransport } from "./types.js";
import { OutboxUplink } from "./uplink.js";

/** What the agent hands an adapter's open function. */
export interface UplinkContext {
  nodeId: string;
  stateDir: string;
  sink: UplinkSink | null;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

/** The keys every uplink's config has (uplinks.mqtt, uplinks.nats). */
export interface OutboxUplinkConfig {
  batch: number;
  drainRate: number;
  up: readonly string[];
  down: readonly string[];
  outbox: { file: string | null; capacity: number; sync: boolean };
}

type FileCode = "ERR_UPLINK_TLS" | "ERR_UPLINK_CREDENTIALS";

/** A file the config of uplink `name` names (a TLS file, a secret), read whole. */
export function readUplinkFile(name: string, broker: string, what: string, path: string, code: FileCode): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UplinkError(code, name, `uplinks.${name} (${broker}): cannot read the ${what} file ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/**
 * A secret given in the config, in a file (one trailing newline dropped) or in an environment
 * variable (`<what>Env`), or null when none is; an empty file or variable is an error.
 */
export function readUplinkSecret(
  name: string,
  broker: string,
  what: string,
  from: { value: string | null; file: string | null; envName: string | null },
  env: NodeJS.ProcessEnv,
): string | null {
  if (from.value !== null) return from.value;
  if (from.file !== null) {
    const text = readUplinkFile(name, broker, what, from.file, "ERR_UPLINK_CREDENTIALS").toString("utf8").replace(/\r?\n$/, "");
    if (text === "") throw new UplinkError("ERR_UPLINK_CREDENTIALS", name, `uplinks.${name} (${broker}): the ${what} file ${JSON.stringify(from.file)} is empty`);
    return text;
  }
  if (from.envName !== null) {
    const v = env[from.envName];
    if (v === undefined || v === "") throw new UplinkError("ERR_UPLINK_CREDENTIALS", name, `uplinks.${name} (${broker}): the environment variable ${from.envName} (${what}Env) is not set or empty`);
    return v;
  }
  return null;
}

/** Opens the outbox `outbox-<name>.bin` (resuming what it holds) and starts the transport. Throws ERR_OUTBOX_FILE. */
export function startOutboxUplink(transport: UplinkTransport, c: OutboxUplinkConfig, ctx: UplinkContext): OutboxUplink {
  const name = transport.name;
  const outbox = new Outbox({ name, path: c.outbox.file ?? join(ctx.stateDir, `outbox-${name}.bin`), capacity: c.outbox.capacity, sync: c.outbox.sync });
  const uplink = new OutboxUplink(transport, outbox, {
    batch: c.batch,
    drainRate: c.drainRate,
    up: c.up.map((p) => compilePattern(p)),
    sink: c.down.length > 0 ? ctx.sink : null,
    ...(ctx.logger !== undefined ? { logger: ctx.logger } : {}),
  });
  uplink.start();
  return uplink;
}

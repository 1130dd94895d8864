/**
 * `uplinks.nats`: an Uplink to a NATS JetStream stream. The agent imports this module
 * dynamically, only when `uplinks.nats` is configured: the NATS client is never loaded by an
 * agent without it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compilePattern } from "../../address/index.js";
import type { NatsUplinkConfig } from "../../agent/config-defaults.js";
import type { Logger } from "../../agent/log.js";
import { UplinkError } from "../uplink/errors.js";
import { Outbox } from "../uplink/outbox.js";
import type { UplinkSink } from "../uplink/types.js";
import { OutboxUplink } from "../uplink/uplink.js";
import { consumerName } from "./names.js";
import { NatsTransport, serversName, type NatsTransportOptions } from "./transport.js";

export { NatsTransport, messageId, serversName, streamDifferences } from "./transport.js";
export { consumerName, consumerSuffix } from "./names.js";

export interface NatsUplinkContext {
  nodeId: string;
  stateDir: string;
  sink: UplinkSink | null;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

function readFile(what: string, path: string, broker: string, code: "ERR_UPLINK_TLS" | "ERR_UPLINK_CREDENTIALS"): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UplinkError(code, "nats", `uplinks.nats (${broker}): cannot read the ${what} file ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** A secret from the config, its file (one trailing newline dropped) or its environment variable; never logged. */
function secret(what: string, value: string | null, file: string | null, envName: string | null, env: NodeJS.ProcessEnv, broker: string): string | null {
  if (value !== null) return value;
  if (file !== null) {
    const text = readFile(what, file, broker, "ERR_UPLINK_CREDENTIALS").toString("utf8").replace(/\r?\n$/, "");
    if (text === "") throw new UplinkError("ERR_UPLINK_CREDENTIALS", "nats", `uplinks.nats (${broker}): the ${what} file ${JSON.stringify(file)} is empty`);
    return text;
  }
  if (envName !== null) {
    const v = env[envName];
    if (v === undefined || v === "") throw new UplinkError("ERR_UPLINK_CREDENTIALS", "nats", `uplinks.nats (${broker}): the environment variable ${envName} (${what}Env) is not set or empty`);
    return v;
  }
  return null;
}

/** The credentials the config names, read now (files, environment). Throws ERR_UPLINK_CREDENTIALS. */
export function natsAuth(c: NatsUplinkConfig, env: NodeJS.ProcessEnv): NatsTransportOptions["auth"] {
  const broker = serversName(c.servers);
  if (c.user !== null) {
    const pass = secret("password", c.password, c.passwordFile, c.passwordEnv, env, broker);
    return { user: c.user, pass: pass ?? "" };
  }
  const token = secret("token", c.token, c.tokenFile, c.tokenEnv, env, broker);
  if (token !== null) return { token };
  if (c.nkeySeedFile !== null) {
    const seed = readFile("NKey seed", c.nkeySeedFile, broker, "ERR_UPLINK_CREDENTIALS").toString("utf8").trim();
    if (!/^S[A-Z2-7]{50,}$/.test(seed)) throw new UplinkError("ERR_UPLINK_CREDENTIALS", "nats", `uplinks.nats (${broker}): the NKey seed file ${JSON.stringify(c.nkeySeedFile)} does not hold a seed (a line starting with "S", as nk -gen user writes it)`);
    return { nkeySeed: new TextEncoder().encode(seed) };
  }
  if (c.credsFile !== null) {
    const creds = readFile("creds", c.credsFile, broker, "ERR_UPLINK_CREDENTIALS");
    if (!creds.includes("BEGIN NATS USER JWT") || !creds.includes("BEGIN USER NKEY SEED"))
      throw new UplinkError("ERR_UPLINK_CREDENTIALS", "nats", `uplinks.nats (${broker}): the creds file ${JSON.stringify(c.credsFile)} is not a NATS .creds file (a user JWT and an NKey seed)`);
    return { creds: new Uint8Array(creds) };
  }
  return null;
}

export function natsTransportOptions(c: NatsUplinkConfig, nodeId: string, env: NodeJS.ProcessEnv): NatsTransportOptions {
  const broker = serversName(c.servers);
  const files = c.tls.ca !== null || c.tls.cert !== null || c.tls.key !== null;
  // Read now so that a missing file is a clear error at start, not a failed connection.
  for (const [what, p] of [
    ["TLS CA", c.tls.ca],
    ["TLS certificate", c.tls.cert],
    ["TLS key", c.tls.key],
  ] as const)
    if (p !== null) readFile(what, p, broker, "ERR_UPLINK_TLS");
  const tls: NatsTransportOptions["tls"] =
    files || c.tls.required ? { ...(c.tls.ca !== null ? { ca: c.tls.ca } : {}), ...(c.tls.cert !== null ? { cert: c.tls.cert } : {}), ...(c.tls.key !== null ? { key: c.tls.key } : {}) } : null;
  return {
    servers: c.servers,
    name: c.name ?? `qis-edge-${nodeId}`,
    auth: natsAuth(c, env),
    tls,
    stream: { ...c.stream },
    consumers: c.down.map((p) => ({ name: consumerName(nodeId, p), subject: p })),
    consumer: { ...c.consumer },
    inflight: c.inflight,
    ackTimeoutMs: c.ackTimeoutMs,
    reconnect: { ...c.reconnect },
  };
}

/** Opens the outbox (resuming what it holds) and starts connecting. Throws ERR_OUTBOX_FILE, ERR_UPLINK_TLS, ERR_UPLINK_CREDENTIALS. */
export function openNatsUplink(c: NatsUplinkConfig, ctx: NatsUplinkContext): OutboxUplink {
  const transport = new NatsTransport(natsTransportOptions(c, ctx.nodeId, ctx.env ?? process.env));
  const outbox = new Outbox({ name: "nats", path: c.outbox.file ?? join(ctx.stateDir, "outbox-nats.bin"), capacity: c.outbox.capacity, sync: c.outbox.sync });
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

/**
 * `uplinks.nats`: an Uplink to a NATS JetStream stream. The agent imports this module
 * dynamically, only when `uplinks.nats` is configured: the NATS client is never loaded by an
 * agent without it.
 */
import type { NatsUplinkConfig } from "../../agent/config-defaults.js";
import { UplinkError } from "../uplink/errors.js";
import { readUplinkFile, readUplinkSecret, startOutboxUplink, type UplinkContext } from "../uplink/open.js";
import type { OutboxUplink } from "../uplink/uplink.js";
import { consumerName } from "./names.js";
import { NatsTransport, serversName, type NatsTransportOptions } from "./transport.js";

export { NatsTransport, messageId, serversName, streamDifferences } from "./transport.js";
export { consumerName, consumerSuffix } from "./names.js";

export type NatsUplinkContext = UplinkContext;

/** A secret from the config, its file or its environment variable; never logged. */
function secret(what: string, value: string | null, file: string | null, envName: string | null, env: NodeJS.ProcessEnv, broker: string): string | null {
  return readUplinkSecret("nats", broker, what, { value, file, envName }, env);
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
    const seed = readUplinkFile("nats", broker, "NKey seed", c.nkeySeedFile, "ERR_UPLINK_CREDENTIALS").toString("utf8").trim();
    if (!/^S[A-Z2-7]{50,}$/.test(seed)) throw new UplinkError("ERR_UPLINK_CREDENTIALS", "nats", `uplinks.nats (${broker}): the NKey seed file ${JSON.stringify(c.nkeySeedFile)} does not hold a seed (a line starting with "S", as nk -gen user writes it)`);
    return { nkeySeed: new TextEncoder().encode(seed) };
  }
  if (c.credsFile !== null) {
    const creds = readUplinkFile("nats", broker, "creds", c.credsFile, "ERR_UPLINK_CREDENTIALS");
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
    if (p !== null) readUplinkFile("nats", broker, what, p, "ERR_UPLINK_TLS");
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
    referenceJson: c.codec === "reference-json" ? { ...c.referenceJson, conclusions: { ...c.referenceJson.conclusions } } : null,
  };
}

/** Opens the outbox (resuming what it holds) and starts connecting. Throws ERR_OUTBOX_FILE, ERR_UPLINK_TLS, ERR_UPLINK_CREDENTIALS. */
export function openNatsUplink(c: NatsUplinkConfig, ctx: NatsUplinkContext): OutboxUplink {
  return startOutboxUplink(new NatsTransport(natsTransportOptions(c, ctx.nodeId, ctx.env ?? process.env)), c, ctx);
}

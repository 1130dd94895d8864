/**
 * `uplinks.mqtt`: an Uplink to an MQTT broker. The agent imports this module dynamically, only
 * when `uplinks.mqtt` is configured: MQTT.js is never loaded by an agent without it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compilePattern } from "../../address/index.js";
import type { MqttUplinkConfig } from "../../agent/config-defaults.js";
import type { Logger } from "../../agent/log.js";
import { UplinkError } from "../uplink/errors.js";
import { Outbox } from "../uplink/outbox.js";
import type { UplinkSink } from "../uplink/types.js";
import { OutboxUplink } from "../uplink/uplink.js";
import { MqttTransport, brokerName, type MqttTransportOptions } from "./transport.js";

export { MqttTransport, brokerName } from "./transport.js";

export interface MqttUplinkContext {
  nodeId: string;
  stateDir: string;
  sink: UplinkSink | null;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

function readSecret(what: string, path: string, broker: string, code: "ERR_UPLINK_TLS" | "ERR_UPLINK_CREDENTIALS"): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UplinkError(code, "mqtt", `uplinks.mqtt (${broker}): cannot read the ${what} file ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** The password from the config, its file (one trailing newline dropped) or its environment variable; never logged. */
export function mqttPassword(c: MqttUplinkConfig, env: NodeJS.ProcessEnv): Buffer | null {
  const broker = brokerName(c.url);
  if (c.password !== null) return Buffer.from(c.password, "utf8");
  if (c.passwordFile !== null) {
    const text = readSecret("password", c.passwordFile, broker, "ERR_UPLINK_CREDENTIALS").toString("utf8").replace(/\r?\n$/, "");
    if (text === "") throw new UplinkError("ERR_UPLINK_CREDENTIALS", "mqtt", `uplinks.mqtt (${broker}): the password file ${JSON.stringify(c.passwordFile)} is empty`);
    return Buffer.from(text, "utf8");
  }
  if (c.passwordEnv !== null) {
    const v = env[c.passwordEnv];
    if (v === undefined || v === "") throw new UplinkError("ERR_UPLINK_CREDENTIALS", "mqtt", `uplinks.mqtt (${broker}): the environment variable ${c.passwordEnv} (passwordEnv) is not set or empty`);
    return Buffer.from(v, "utf8");
  }
  return null;
}

export function mqttTransportOptions(c: MqttUplinkConfig, nodeId: string, env: NodeJS.ProcessEnv): MqttTransportOptions {
  const broker = brokerName(c.url);
  const tls: MqttTransportOptions["tls"] = { rejectUnauthorized: c.tls.rejectUnauthorized };
  if (c.tls.ca !== null) tls.ca = readSecret("TLS CA", c.tls.ca, broker, "ERR_UPLINK_TLS");
  if (c.tls.cert !== null) tls.cert = readSecret("TLS certificate", c.tls.cert, broker, "ERR_UPLINK_TLS");
  if (c.tls.key !== null) tls.key = readSecret("TLS key", c.tls.key, broker, "ERR_UPLINK_TLS");
  return {
    url: c.url,
    clientId: c.clientId ?? `qis-edge-${nodeId}`,
    username: c.username,
    password: mqttPassword(c, env),
    tls,
    protocol: c.protocol,
    qos: c.qos,
    topicPrefix: c.topicPrefix,
    down: c.down.map((p) => compilePattern(p).mqttFilter),
    inflight: c.inflight,
    json: c.json,
    keepaliveS: c.keepaliveS,
    sessionExpiryS: c.sessionExpiryS,
    reconnect: c.reconnect,
  };
}

/** Opens the outbox (resuming what it holds) and starts connecting. Throws ERR_OUTBOX_FILE, ERR_UPLINK_TLS, ERR_UPLINK_CREDENTIALS. */
export function openMqttUplink(c: MqttUplinkConfig, ctx: MqttUplinkContext): OutboxUplink {
  const transport = new MqttTransport(mqttTransportOptions(c, ctx.nodeId, ctx.env ?? process.env));
  const outbox = new Outbox({ name: "mqtt", path: c.outbox.file ?? join(ctx.stateDir, "outbox-mqtt.bin"), capacity: c.outbox.capacity, sync: c.outbox.sync });
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

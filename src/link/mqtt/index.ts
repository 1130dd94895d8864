/**
 * `uplinks.mqtt`: an Uplink to an MQTT broker. The agent imports this module dynamically, only
 * when `uplinks.mqtt` is configured: MQTT.js is never loaded by an agent without it.
 */
import { compilePattern } from "../../address/index.js";
import type { MqttUplinkConfig } from "../../agent/config-defaults.js";
import { readUplinkFile, readUplinkSecret, startOutboxUplink, type UplinkContext } from "../uplink/open.js";
import type { OutboxUplink } from "../uplink/uplink.js";
import { MqttTransport, brokerName, type MqttTransportOptions } from "./transport.js";

export { MqttTransport, brokerName } from "./transport.js";

export type MqttUplinkContext = UplinkContext;

/** The password from the config, its file (one trailing newline dropped) or its environment variable; never logged. */
export function mqttPassword(c: MqttUplinkConfig, env: NodeJS.ProcessEnv): Buffer | null {
  const text = readUplinkSecret("mqtt", brokerName(c.url), "password", { value: c.password, file: c.passwordFile, envName: c.passwordEnv }, env);
  return text === null ? null : Buffer.from(text, "utf8");
}

export function mqttTransportOptions(c: MqttUplinkConfig, nodeId: string, env: NodeJS.ProcessEnv): MqttTransportOptions {
  const broker = brokerName(c.url);
  const tls: MqttTransportOptions["tls"] = { rejectUnauthorized: c.tls.rejectUnauthorized };
  if (c.tls.ca !== null) tls.ca = readUplinkFile("mqtt", broker, "TLS CA", c.tls.ca, "ERR_UPLINK_TLS");
  if (c.tls.cert !== null) tls.cert = readUplinkFile("mqtt", broker, "TLS certificate", c.tls.cert, "ERR_UPLINK_TLS");
  if (c.tls.key !== null) tls.key = readUplinkFile("mqtt", broker, "TLS key", c.tls.key, "ERR_UPLINK_TLS");
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
  return startOutboxUplink(new MqttTransport(mqttTransportOptions(c, ctx.nodeId, ctx.env ?? process.env)), c, ctx);
}

import { assertSyntax } from "./address.js";
import { MQTT_DIALECT, NATS_DIALECT } from "./grammar.js";

/** `qis.hvac.energy-anomaly` → `qis/hvac/energy-anomaly`; the address is validated first. */
export function addressToMqttTopic(address: string): string {
  assertSyntax(address, NATS_DIALECT, false);
  return address.replaceAll(".", "/");
}

/**
 * `qis/hvac/energy-anomaly` → `qis.hvac.energy-anomaly`. The topic is validated as a topic,
 * so a level containing `.` (`qis/a.b/c`) is refused instead of becoming two tokens, and
 * errors name the level as it appears in the topic. Wildcards (`+`, `#`) give
 * ERR_ADDRESS_WILDCARD: a topic filter is not an address.
 */
export function mqttTopicToAddress(topic: string): string {
  assertSyntax(topic, MQTT_DIALECT, false);
  return topic.replaceAll("/", ".");
}

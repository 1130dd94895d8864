/** Names derived for NATS: shared by the config checks and the uplink (no NATS client here). */

/** `qis.iot.>` → `qis-iot-all` (`*` → `any`): the pattern's part of a durable consumer's name (no `.`, `*` or `>` in NATS names). */
export function consumerSuffix(pattern: string): string {
  return pattern
    .split(".")
    .map((t) => (t === "*" ? "any" : t === ">" ? "all" : t))
    .join("-");
}

/** The durable consumer of a down pattern: `<node id>-<pattern, . as ->`, as the reference router derives `<agent>-<domain>-<problem-class>`. */
export function consumerName(nodeId: string, pattern: string): string {
  return `${nodeId}-${consumerSuffix(pattern)}`;
}

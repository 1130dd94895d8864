/** Names derived for NATS: shared by the config checks and the uplink (no NATS client here). */

/** What codec "reference-json" publishes by default, and all it can: the reference router's subjects qis.iot.<domain>.<problem_class>. */
export const REFERENCE_JSON_UP = "qis.iot.*.>";

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

/**
 * Whether every subject `pattern` matches is also matched by `subject` (NATS wildcards: `*` one
 * token, `>` one or more at the end): an up pattern outside the stream's subjects would have no
 * stream to take its publishes.
 */
export function subjectCovers(subject: string, pattern: string): boolean {
  const s = subject.split(".");
  const p = pattern.split(".");
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ">") return i < p.length;
    if (i >= p.length) return false;
    if (p[i] === ">") return false;
    if (s[i] !== "*" && s[i] !== p[i]) return false;
    if (s[i] === "*" && p[i] === ">") return false;
  }
  return s.length === p.length;
}

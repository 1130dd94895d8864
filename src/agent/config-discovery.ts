/**
 * What the schema cannot say about `discovery` (docs/discovery.md), checked with the rest of
 * the config so that `config check` refuses what `run` would.
 */
import { CONFIG_DEFAULTS } from "./config-defaults.js";
import { usesCurve } from "./config-security.js";

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => v !== null && typeof v === "object" && !Array.isArray(v);
const D = CONFIG_DEFAULTS.discovery;

export function discoveryProblems(merged: Rec, at: (keys: (string | number)[], expected: string, found: string) => void): void {
  const d = isRec(merged.discovery) ? merged.discovery : null;
  if (d === null) return;
  const lo = Number.isInteger(d.minIntervalMs) ? (d.minIntervalMs as number) : D.minIntervalMs;
  const hi = Number.isInteger(d.maxIntervalMs) ? (d.maxIntervalMs as number) : D.maxIntervalMs;
  if (lo > hi) {
    if (d.maxIntervalMs !== undefined) at(["discovery", "maxIntervalMs"], `an integer >= discovery.minIntervalMs (${lo})`, String(hi));
    else at(["discovery", "minIntervalMs"], `an integer <= discovery.maxIntervalMs (${hi})`, String(lo));
  }
  if (d.enabled !== true) return;
  const pub = isRec(merged.pub) && typeof merged.pub.bind === "string" ? merged.pub.bind : CONFIG_DEFAULTS.pub.bind;
  // A beacon names ports; the peer connects to the beacon's source address with them.
  if (!pub.startsWith("tcp://")) at(["pub", "bind"], "a tcp:// endpoint when discovery.enabled (a beacon announces a TCP port)", JSON.stringify(pub));
  const store = isRec(merged.store) && merged.store.bind !== undefined ? merged.store.bind : CONFIG_DEFAULTS.store.bind;
  if (typeof store === "string" && !store.startsWith("tcp://")) at(["store", "bind"], "a tcp:// endpoint or null when discovery.enabled (a beacon announces a TCP port)", JSON.stringify(store));
  const security = isRec(merged.security) ? merged.security : {};
  if (!usesCurve(security) && d.allowInsecure !== true) {
    at(
      ["discovery", "allowInsecure"],
      "true when discovery.enabled without CURVE keys (a discovered peer is connected only when its key is on the allowlist; plain links have no key to check): set security.secretKeyFile, or knowingly discovery.allowInsecure",
      String(d.allowInsecure ?? false),
    );
  }
}

/**
 * The security rules a config must follow (docs/security.md), checked with the rest of the
 * config so that `config check` refuses what `run` would:
 *  - secure by default: without CURVE keys, every endpoint binds loopback (or ipc/inproc),
 *    unless `security.mode` is "insecure";
 *  - with CURVE, every qis peer names its public key (it authenticates the peer, and lets it in);
 *  - "insecure" and a key file contradict each other.
 */
type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => v !== null && typeof v === "object" && !Array.isArray(v);

/** Whether a bind endpoint can be reached from this host only. */
export function isLocalBind(endpoint: string): boolean {
  if (endpoint.startsWith("ipc://") || endpoint.startsWith("inproc://")) return true;
  const m = /^tcp:\/\/(.+):(?:\*|[0-9]+)$/.exec(endpoint);
  if (m === null) return false;
  const host = m[1]!.toLowerCase();
  return host === "localhost" || host === "[::1]" || /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host);
}

/** Whether the (merged, file syntax) config secures its links with CURVE. */
export function usesCurve(security: Rec): boolean {
  return security.mode === "curve" || (security.mode !== "insecure" && typeof security.secretKeyFile === "string");
}

/** The bind keys, in config order, and their defaults when absent. */
const BINDS: [string, string, string | null][] = [
  ["pub", "bind", "tcp://127.0.0.1:*"],
  ["store", "bind", "tcp://127.0.0.1:*"],
  ["legacy", "pub", null],
  ["legacy", "rep", null],
];

export function securityProblems(merged: Rec, at: (keys: (string | number)[], expected: string, found: string) => void): void {
  const security = isRec(merged.security) ? merged.security : {};
  if (security.mode === "insecure" && typeof security.secretKeyFile === "string") {
    at(["security", "secretKeyFile"], 'null when security.mode is "insecure" (plain links use no key)', JSON.stringify(security.secretKeyFile));
  }
  const curve = usesCurve(security);
  if (!curve && security.mode !== "insecure") {
    for (const [k1, k2, dflt] of BINDS) {
      const sub = isRec(merged[k1]) ? (merged[k1] as Rec) : {};
      const v = sub[k2] === undefined ? dflt : sub[k2];
      if (typeof v !== "string" || isLocalBind(v)) continue;
      at(
        [k1, k2],
        'a loopback endpoint (tcp://127.0.0.1:PORT, tcp://[::1]:PORT, ipc://, inproc://): plain links may not bind others; set security.secretKeyFile (CURVE) or, knowingly, security.mode "insecure"',
        JSON.stringify(v),
      );
    }
  }
  if (curve && Array.isArray(merged.peers)) {
    merged.peers.forEach((p, i) => {
      if (!isRec(p) || p.codec === "legacy" || typeof p.publicKey === "string") return;
      at(["peers", i, "publicKey"], "the peer's CURVE public key (links are secured: security.secretKeyFile or mode \"curve\")", "nothing");
    });
  }
}

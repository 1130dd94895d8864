/**
 * A new config applied to a running agent (SIGHUP, docs/operations.md "Reload"): what can
 * change live is applied (qis peers, subscriptions, the log level, synthesis thresholds); every
 * other difference is listed by JSON path as needing a restart, and left as it runs. The store,
 * synthesis's state and the connections of unchanged peers stay.
 */
import { LIVE_SYNTH_KEYS, type SynthThresholds } from "../synth/index.js";
import type { Agent } from "./agent.js";
import type { AgentConfig, LogLevel, PeerConfig } from "./config.js";
import { runtimeOf } from "./runtime.js";

/** Admission settings read at each packet (admission.ts): applied by writing them into the running config. */
const LIVE_ADMISSION_KEYS = ["maxObservations", "maxFutureSkewMs", "peerNodesPerAddress", "peerNewAddressesPerMinute"] as const;
const LIVE_SYNTH = new Set<string>([...LIVE_SYNTH_KEYS, ...LIVE_ADMISSION_KEYS]);

export interface ReloadPlan {
  /** the qis peers the new config lists */
  peers: PeerConfig[];
  subscribe: { previous: string[]; next: string[] };
  logLevel: LogLevel | null;
  /** synth keys with a new value, and the values */
  synth: Record<string, number>;
  /** JSON paths whose change needs a restart (values are not given: they may be secrets) */
  restart: string[];
}

export interface ReloadResult {
  peers: { added: string[]; removed: string[]; changed: string[]; failed: { peer: string; code: string; reason: string }[] };
  subscribe: { added: string[]; removed: string[] };
  logLevel: LogLevel | null;
  synth: string[];
  restart: string[];
  failed: { what: string; code: string; reason: string }[];
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => v !== null && typeof v === "object" && !Array.isArray(v);
const esc = (k: string): string => k.replaceAll("~", "~0").replaceAll("/", "~1");

/** The paths under `path` where a and b differ (a whole list is one path), skipping `live`. */
function differences(a: unknown, b: unknown, path: string, live: (path: string) => boolean, out: string[]): void {
  if (live(path)) return;
  if (isRec(a) && isRec(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) differences(a[k], b[k], `${path}/${esc(k)}`, live, out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path);
}

const legacyPeers = (peers: readonly PeerConfig[]): PeerConfig[] => peers.filter((p) => p.codec === "legacy");

/** What applying `next` to an agent running `current` does. */
export function planReload(current: AgentConfig, next: AgentConfig): ReloadPlan {
  const restart: string[] = [];
  const live = (path: string): boolean => path === "/peers" || path === "/subscribe" || path === "/log/level" || (path.startsWith("/synth/") && LIVE_SYNTH.has(path.slice(7)));
  differences(current, next, "", live, restart);
  // Legacy peers' links are opened with the legacy sockets, at start only.
  if (JSON.stringify(legacyPeers(current.peers)) !== JSON.stringify(legacyPeers(next.peers))) restart.push("/peers (legacy peers)");
  const synth: Record<string, number> = {};
  for (const k of LIVE_SYNTH) {
    const v = (next.synth as unknown as Record<string, number>)[k]!;
    if ((current.synth as unknown as Record<string, number>)[k] !== v) synth[k] = v;
  }
  return {
    peers: next.peers.filter((p) => p.codec !== "legacy"),
    subscribe: { previous: current.subscribe, next: next.subscribe },
    logLevel: current.log.level === next.log.level ? null : next.log.level,
    synth,
    restart,
  };
}

/**
 * Applies a plan to the agent, part by part: a part that fails (a peer over the socket limit,
 * thresholds the engine refuses) is reported in the result and the others still applied.
 * `agent.config` then holds what runs, so that the next reload is compared with it.
 */
export function applyReload(agent: Agent, plan: ReloadPlan): ReloadResult {
  const runtime = runtimeOf(agent);
  const config = agent.config;
  const failed: ReloadResult["failed"] = [];
  const peers = runtime.setPeers(plan.peers, "config");
  const failedPeers = new Set(peers.failed.map((f) => f.peer));
  config.peers = [...legacyPeers(config.peers), ...plan.peers.filter((p) => !failedPeers.has(p.name))];
  let subscribe = { added: [] as string[], removed: [] as string[] };
  try {
    subscribe = runtime.setSubscriptions(plan.subscribe.previous, plan.subscribe.next);
    config.subscribe = [...plan.subscribe.next];
  } catch (err) {
    failed.push({ what: "subscribe", code: (err as { code?: string }).code ?? "ERR_INTERNAL", reason: (err as Error).message });
  }
  if (plan.logLevel !== null) {
    agent.log.level = plan.logLevel;
    config.log.level = plan.logLevel;
  }
  const synth = Object.keys(plan.synth);
  const s = config.synth as unknown as Record<string, number>;
  if (synth.length > 0) {
    const thresholds = Object.fromEntries(LIVE_SYNTH_KEYS.map((k) => [k, plan.synth[k] ?? s[k]])) as unknown as SynthThresholds;
    try {
      agent.synth.retune(thresholds);
      for (const k of synth) s[k] = plan.synth[k]!;
    } catch (err) {
      failed.push({ what: "synth", code: (err as { code?: string }).code ?? "ERR_INTERNAL", reason: (err as Error).message });
      synth.length = 0;
    }
  }
  return { peers, subscribe, logLevel: plan.logLevel, synth, restart: plan.restart, failed };
}

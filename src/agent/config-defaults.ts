/**
 * The agent config's shape and defaults, apart from its schema (src/agent/config-schema.ts), so
 * that resolving a config without a file never loads typebox (docs/devices.md, "Idle memory").
 */
import { DEFAULTS as SYNTH } from "../synth/defaults.js";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface PeerConfig {
  name: string;
  pub: string;
  store: string | null;
  codec: "qis" | "legacy";
}

export interface AgentConfig {
  nodeId: string | null;
  stateDir: string;
  pub: { bind: string };
  store: { bind: string | null; capacity: number; file: string | null; syncWrites: boolean };
  peers: PeerConfig[];
  subscribe: string[];
  batch: { size: number; lingerMs: number };
  hwm: { send: number; receive: number };
  catchUp: { pageSize: number; timeoutMs: number; retryMinMs: number; retryMaxMs: number };
  synth: {
    maxAddresses: number;
    maxContributions: number;
    maxNodes: number;
    maxNodesPerAddress: number;
    maxHops: number;
    alertThreshold: number;
    confidenceScale: number;
    minDelta: number;
    minIntervalMs: number;
    minContributors: number;
    ttlS: number;
    sweepIntervalMs: number;
  };
  legacy: { pub: string | null; rep: string | null; replyLimit: number; ttlS: number };
  log: { level: LogLevel; statsIntervalS: number };
  metrics: { listen: string | null; allowRemote: boolean };
}

const deepFreeze = <T>(v: T): T => {
  if (v !== null && typeof v === "object") for (const x of Object.values(v)) deepFreeze(x);
  return Object.freeze(v);
};

/** Every default, in one place: the schema's `default`s and resolveConfig both read it. Frozen. */
export const CONFIG_DEFAULTS: AgentConfig = deepFreeze({
  nodeId: null,
  stateDir: ".qis-edge",
  pub: { bind: "tcp://127.0.0.1:*" },
  store: { bind: "tcp://127.0.0.1:*", capacity: 65_536, file: null, syncWrites: false },
  peers: [],
  subscribe: ["qis.>"],
  batch: { size: 64, lingerMs: 0 },
  hwm: { send: 1000, receive: 1000 },
  catchUp: { pageSize: 256, timeoutMs: 2000, retryMinMs: 100, retryMaxMs: 10_000 },
  synth: {
    maxAddresses: SYNTH.maxAddresses,
    maxContributions: SYNTH.maxContributions,
    maxNodes: SYNTH.maxNodes,
    maxNodesPerAddress: SYNTH.maxNodesPerAddress,
    maxHops: SYNTH.maxHops,
    alertThreshold: SYNTH.alertThreshold,
    confidenceScale: SYNTH.confidenceScale,
    minDelta: SYNTH.minDelta,
    minIntervalMs: SYNTH.minIntervalMs,
    minContributors: SYNTH.minContributors,
    ttlS: SYNTH.ttlS,
    sweepIntervalMs: 1000,
  },
  // ttlS: the codec's DEFAULT_LEGACY_TTL_S (not imported: this module must stay free of the legacy modules).
  legacy: { pub: null, rep: null, replyLimit: 50, ttlS: 3600 },
  log: { level: "info", statsIntervalS: 60 },
  metrics: { listen: null, allowRemote: false },
});

export interface ConfigProblem {
  /** JSON pointer into the file ("" = the whole file), "env:NAME", or "FILE:LINE:COLUMN" for a JSON syntax error */
  path: string;
  expected: string;
  found: string;
}

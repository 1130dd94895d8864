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
  /** the peer's CURVE public key (Z85); null: none configured */
  publicKey?: string | null;
}

export type SecurityMode = "auto" | "curve" | "insecure";

export interface AgentConfig {
  nodeId: string | null;
  stateDir: string;
  pub: { bind: string };
  store: { bind: string | null; capacity: number; file: string | null; syncWrites: boolean };
  peers: PeerConfig[];
  subscribe: string[];
  batch: { size: number; lingerMs: number };
  hwm: { send: number; receive: number };
  catchUp: { pageSize: number; timeoutMs: number; retryMinMs: number; retryMaxMs: number; maxPages: number };
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
    /** peers' n_observations counted at most this (weight ≤ confidence·ln(1 + maxObservations)) */
    maxObservations: number;
    /** peers' packets stamped further ahead than this are refused from synthesis */
    maxFutureSkewMs: number;
    /** share of maxAddresses that addresses introduced by peers may hold at once */
    peerAddressShare: number;
    /** distinct node ids one peer may bring to one address */
    peerNodesPerAddress: number;
    /** addresses one peer may introduce per minute */
    peerNewAddressesPerMinute: number;
  };
  legacy: { pub: string | null; rep: string | null; replyLimit: number; ttlS: number };
  log: { level: LogLevel; statsIntervalS: number };
  uplinks: { mqtt: MqttUplinkConfig | null; nats: NatsUplinkConfig | null };
  security: {
    /** auto: CURVE when secretKeyFile is set, else plain links (loopback binds only) */
    mode: SecurityMode;
    /** the secret key file (resolved against stateDir); null: none (mode "curve" then uses stateDir/curve.key) */
    secretKeyFile: string | null;
    /** more client keys let in besides the peers': Z85 keys, or files of keys (one per line) */
    allow: string[];
    /** signed packets (src/security/): this node's Ed25519 key file, resolved against stateDir; null: packets go unsigned */
    signing: { keyFile: string | null };
    /** trusted signing keys and the node ids each may sign for; `file` (resolved against the working directory) adds more */
    trust: { keys: { publicKey: string; nodeIds: string[]; name?: string }[]; file: string | null };
    /** address patterns whose packets must carry a valid signature, on every link */
    requireSigned: string[];
    /** only validly signed packets of peers reach synthesis (and so consensus alerts) */
    alertsRequireSigned: boolean;
    /** verdicts cached by (node id, seq), 500 bytes each */
    verifyCacheSize: number;
  };
  metrics: { listen: string | null; allowRemote: boolean };
  /** LAN discovery by UDP multicast beacons (docs/discovery.md); off unless enabled */
  discovery: DiscoveryConfig;
  /** `run`'s control socket (docs/operations.md); `path` null: STATEDIR/control.sock (resolved by resolveConfig) */
  control: { enabled: boolean; path: string | null; maxClients: number };
}

export interface DiscoveryConfig {
  enabled: boolean;
  /** an IPv4 multicast group */
  group: string;
  port: number;
  /** the IPv4 address of the interface beacons are sent and received on; null: the system's choice */
  interface: string | null;
  /** a beacon every minIntervalMs..maxIntervalMs (a random draw each time) */
  minIntervalMs: number;
  maxIntervalMs: number;
  /** discovered peers connected at once at most */
  maxPeers: number;
  /** connect discovered peers over plain links (no CURVE key to check them against) */
  allowInsecure: boolean;
}

/** `uplinks.mqtt` resolved (docs/uplink.md): every key filled in, paths absolute. */
export interface MqttUplinkConfig {
  url: string;
  /** null: "qis-edge-<node id>" */
  clientId: string | null;
  username: string | null;
  password: string | null;
  passwordFile: string | null;
  passwordEnv: string | null;
  tls: { ca: string | null; cert: string | null; key: string | null; rejectUnauthorized: boolean };
  protocol: "3.1.1" | "5";
  qos: 0 | 1 | 2;
  topicPrefix: string;
  up: string[];
  down: string[];
  batch: number;
  inflight: number;
  drainRate: number;
  json: boolean;
  keepaliveS: number;
  sessionExpiryS: number;
  reconnect: { minMs: number; maxMs: number };
  outbox: { file: string | null; capacity: number; sync: boolean };
}

/** `uplinks.nats` resolved (docs/uplink.md, JetStream): every key filled in, paths absolute. */
export interface NatsUplinkConfig {
  /** nats://HOST[:PORT], tls://HOST[:PORT] or HOST[:PORT] */
  servers: string[];
  /** the client's name on the server; null: "qis-edge-<node id>" */
  name: string | null;
  user: string | null;
  password: string | null;
  passwordFile: string | null;
  passwordEnv: string | null;
  token: string | null;
  tokenFile: string | null;
  tokenEnv: string | null;
  /** an NKey seed (SU...) in a file */
  nkeySeedFile: string | null;
  /** a .creds file (JWT and NKey seed) */
  credsFile: string | null;
  tls: { ca: string | null; cert: string | null; key: string | null; required: boolean };
  stream: {
    name: string;
    subjects: string[];
    maxBytes: number;
    maxAgeS: number;
    discard: "old" | "new";
    storage: "file" | "memory";
    replicas: number;
    duplicateWindowS: number;
    /** an existing stream with other settings is updated to these (else reported and used as it is) */
    update: boolean;
  };
  up: string[];
  down: string[];
  consumer: { ackWaitS: number; maxAckPending: number; fetch: number };
  batch: number;
  inflight: number;
  drainRate: number;
  /** how long a publish waits for its PubAck before it counts as not acknowledged */
  ackTimeoutMs: number;
  reconnect: { minMs: number; maxMs: number };
  outbox: { file: string | null; capacity: number; sync: boolean };
  /** what a message holds: our 512-byte packets, or the reference router's JSON packets (one per message) */
  codec: "qis" | "reference-json";
  /** the mapping of the reference router's JSON packets (codec "reference-json"; docs/uplink.md) */
  referenceJson: { ttlS: number; conclusions: Record<string, number>; defaultDelta: number };
}

/** The defaults of `uplinks.nats` (all but `servers`, which is required): the stream as the reference router's (QIS_OUTCOMES over qis.iot.>). */
export const NATS_DEFAULTS: Omit<NatsUplinkConfig, "servers"> = {
  name: null,
  user: null,
  password: null,
  passwordFile: null,
  passwordEnv: null,
  token: null,
  tokenFile: null,
  tokenEnv: null,
  nkeySeedFile: null,
  credsFile: null,
  tls: { ca: null, cert: null, key: null, required: false },
  stream: {
    name: "QIS_OUTCOMES",
    subjects: ["qis.iot.>"],
    maxBytes: 50 * 1024 * 1024,
    maxAgeS: 86_400,
    discard: "old",
    storage: "file",
    replicas: 1,
    duplicateWindowS: 120,
    update: false,
  },
  up: ["qis.iot.>"],
  down: [],
  consumer: { ackWaitS: 30, maxAckPending: 1000, fetch: 256 },
  batch: 64,
  inflight: 128,
  drainRate: 20_000,
  ackTimeoutMs: 5000,
  reconnect: { minMs: 500, maxMs: 30_000 },
  outbox: { file: null, capacity: 65_536, sync: false },
  codec: "qis",
  // A day, as long as the reference's stream keeps a packet (max_age 24 h).
  referenceJson: { ttlS: 86_400, conclusions: {}, defaultDelta: 0 },
};

/** The defaults of `uplinks.mqtt` (all but `url`, which is required). */
export const MQTT_DEFAULTS: Omit<MqttUplinkConfig, "url"> = {
  clientId: null,
  username: null,
  password: null,
  passwordFile: null,
  passwordEnv: null,
  tls: { ca: null, cert: null, key: null, rejectUnauthorized: true },
  protocol: "5",
  qos: 1,
  topicPrefix: "",
  up: ["qis.>"],
  down: [],
  batch: 64,
  inflight: 16,
  drainRate: 20_000,
  json: false,
  keepaliveS: 60,
  sessionExpiryS: 86_400,
  reconnect: { minMs: 500, maxMs: 30_000 },
  outbox: { file: null, capacity: 65_536, sync: false },
};

const deepFreeze = <T>(v: T): T => {
  if (v !== null && typeof v === "object") for (const x of Object.values(v)) deepFreeze(x);
  return Object.freeze(v);
};

deepFreeze(MQTT_DEFAULTS);
deepFreeze(NATS_DEFAULTS);

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
  catchUp: { pageSize: 256, timeoutMs: 2000, retryMinMs: 100, retryMaxMs: 10_000, maxPages: 16_384 },
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
    maxObservations: 1000,
    maxFutureSkewMs: 300_000,
    peerAddressShare: 0.75,
    peerNodesPerAddress: 8,
    peerNewAddressesPerMinute: 256,
  },
  // ttlS: the codec's DEFAULT_LEGACY_TTL_S (not imported: this module must stay free of the legacy modules).
  legacy: { pub: null, rep: null, replyLimit: 50, ttlS: 3600 },
  log: { level: "info", statsIntervalS: 60 },
  // No uplink: the file has no uplinks.mqtt or uplinks.nats (the schema has no null for them);
  // resolveConfig sets them to null then.
  uplinks: {} as AgentConfig["uplinks"],
  security: {
    mode: "auto",
    secretKeyFile: null,
    allow: [],
    signing: { keyFile: null },
    trust: { keys: [], file: null },
    requireSigned: [],
    alertsRequireSigned: false,
    verifyCacheSize: 1024,
  },
  metrics: { listen: null, allowRemote: false },
  discovery: { enabled: false, group: "239.255.81.1", port: 5681, interface: null, minIntervalMs: 1000, maxIntervalMs: 5000, maxPeers: 32, allowInsecure: false },
  control: { enabled: true, path: null, maxClients: 8 },
});

export interface ConfigProblem {
  /** JSON pointer into the file ("" = the whole file), "env:NAME", or "FILE:LINE:COLUMN" for a JSON syntax error */
  path: string;
  expected: string;
  found: string;
}

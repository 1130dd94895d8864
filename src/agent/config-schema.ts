/**
 * The TypeBox schema of the agent config file and the checks made with it: every problem of a
 * file or of an environment value, in words (JSON path, what was expected, what was found).
 * Reached only through src/agent/schemas.ts: an agent given no config file and no environment
 * override never loads it (the bundle does not even run typebox then).
 */
import Type, { type Static, type TProperties } from "typebox";
import { Settings } from "typebox/system";
import { Check, Errors } from "typebox/value";
import { CONFIG_DEFAULTS, MQTT_DEFAULTS, NATS_DEFAULTS, type ConfigProblem } from "./config-defaults.js";
import { pointer, type EnvOverride } from "./config-env.js";

const PORT = "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
const HOST = "(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]+\\])";
const BIND = `^(?:tcp://(?:\\*|${HOST}):(?:\\*|${PORT})|ipc://.+|inproc://.+)$`;
const CONNECT = `^(?:tcp://${HOST}:${PORT}|ipc://.+|inproc://.+)$`;
const NODE_ID = "^[0-9a-fA-F]{32}$";
const LISTEN = `^(?:\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?:0|${PORT})$`;
const MQTT_URL = `^(?:mqtts?|wss?)://${HOST}(?::${PORT})?(?:/[^@\\s]*)?$`;
const NATS_SERVER = `^(?:(?:nats|tls)://)?${HOST}(?::${PORT})?$`;
const STREAM_NAME = "^[A-Za-z0-9_-]{1,64}$";
const TOPIC_PREFIX = "^(?:[^+#/\\u0000]+(?:/[^+#/\\u0000]+)*)?$";
const ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$";
const Z85_KEY = "^[0-9a-zA-Z.\\-:+=^!/*?&<>()\\[\\]{}@%$#]{40}$";
const ED25519_KEY = "^[0-9a-fA-F]{64}$";
const TRUSTED_NODE = "^(?:[0-9a-fA-F]{32}|\\*)$";
const IPV4 = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
const MULTICAST = `^(?:22[4-9]|23[0-9])(?:\\.${IPV4}){3}$`;
const IPV4_ADDR = `^${IPV4}(?:\\.${IPV4}){3}$`;
/** What a pattern means, in words, for "expected ..." (a regex is no help to a reader). */
const PATTERN_TEXT = new Map([
  [BIND, "a ZeroMQ bind endpoint: tcp://HOST:PORT, tcp://HOST:* (a free port), ipc://PATH or inproc://NAME"],
  [CONNECT, "a ZeroMQ endpoint to connect to: tcp://HOST:PORT, ipc://PATH or inproc://NAME"],
  [NODE_ID, "32 hex digits (16 bytes)"],
  [LISTEN, "HOST:PORT to listen on, e.g. 127.0.0.1:9464 or [::1]:9464 (port 0: a free port)"],
  [MQTT_URL, "a broker URL: mqtt://HOST[:PORT], mqtts://HOST[:PORT], ws://HOST[:PORT]/PATH or wss://... (no user or password in it: use username and password)"],
  [NATS_SERVER, "a NATS server: nats://HOST[:PORT], tls://HOST[:PORT] or HOST[:PORT] (no user or password in it: use user and password)"],
  [STREAM_NAME, "a JetStream stream name: 1 to 64 letters, digits, _ or -"],
  [TOPIC_PREFIX, 'MQTT topic levels joined by "/" (e.g. "site-7/edge"), without "+", "#" or an empty level, or ""'],
  [ENV_NAME, "an environment variable name (letters, digits, _)"],
  [Z85_KEY, "a CURVE public key: 40 characters of Z85 (qis-edge keygen prints one)"],
  [ED25519_KEY, "an Ed25519 public key: 64 hex digits"],
  [TRUSTED_NODE, 'a node id (32 hex digits) or "*" (any node)'],
  [MULTICAST, "an IPv4 multicast group (224.0.0.0 to 239.255.255.255; 239.x.x.x for a site's own use)"],
  [IPV4_ADDR, "an IPv4 address of this machine's interface, e.g. 192.168.1.20 or 127.0.0.1"],
]);

const D = CONFIG_DEFAULTS;
const dflt = (v: unknown): string => ` Default: ${JSON.stringify(v)}.`;
const bind = (what: string, d: string | null, nullable: boolean) =>
  nullable
    ? Type.Union([Type.String({ pattern: BIND }), Type.Null()], { default: d, description: `${what}${dflt(d)}` })
    : Type.String({ pattern: BIND, default: d, description: `${what}${dflt(d)}` });
const int = (min: number, max: number, d: number, what: string) =>
  Type.Optional(Type.Integer({ minimum: min, maximum: max, default: d, description: `${what} (${min}..${max}).${dflt(d)}` }));
const num = (min: number, max: number, d: number, what: string) =>
  Type.Optional(Type.Number({ minimum: min, maximum: max, default: d, description: `${what} (${min}..${max}).${dflt(d)}` }));
const obj = <P extends TProperties>(description: string, properties: P) =>
  Type.Optional(Type.Object(properties, { additionalProperties: false, description }));
const CONNECT_T = Type.String({ pattern: CONNECT });
const Z85_KEY_T = Type.String({ pattern: Z85_KEY });
const M = MQTT_DEFAULTS;
const file = (what: string) =>
  Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, description: `${what}; relative to the working directory. Default: null.` }));

const MqttSchema = Type.Object(
  {
    url: Type.String({ pattern: MQTT_URL, description: "The broker: mqtt://HOST[:PORT] (1883), mqtts://HOST[:PORT] (TLS, 8883), ws:// or wss://HOST[:PORT]/PATH. Required." }),
    clientId: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()], { default: null, description: 'MQTT client id, unique per broker. null: "qis-edge-<node id>". Default: null.' }),
    ),
    username: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Null()], { default: null, description: "User name for the broker. Default: null." })),
    password: Type.Optional(Type.Union([Type.String({ maxLength: 65535 }), Type.Null()], { default: null, description: "Password, in the file itself (prefer passwordFile or passwordEnv). Never logged. Default: null." })),
    passwordFile: file("A file holding the password (one trailing newline ignored); never logged"),
    passwordEnv: Type.Optional(
      Type.Union([Type.String({ pattern: ENV_NAME }), Type.Null()], { default: null, description: "The environment variable holding the password; never logged. Default: null." }),
    ),
    tls: obj("TLS for mqtts:// and wss:// (PEM files).", {
      ca: file("CA certificate(s) the broker's certificate must chain to (default: the system's)"),
      cert: file("Client certificate, for brokers that authenticate clients by certificate"),
      key: file("The client certificate's private key"),
      rejectUnauthorized: Type.Optional(Type.Boolean({ default: true, description: "Refuse a broker whose certificate does not verify. Default: true." })),
    }),
    protocol: Type.Optional(Type.Enum(["3.1.1", "5"], { default: M.protocol, description: `MQTT protocol version.${dflt(M.protocol)}` })),
    qos: Type.Optional(
      Type.Enum([0, 1, 2], { default: M.qos, description: `QoS of the packets published; 0 gives no delivery guarantee (a packet leaves the outbox once written to the socket).${dflt(M.qos)}` }),
    ),
    topicPrefix: Type.Optional(
      Type.String({ pattern: TOPIC_PREFIX, maxLength: 128, default: M.topicPrefix, description: `Prefix of every topic: PREFIX/qis/... (packets), PREFIX/json/qis/... (JSON).${dflt(M.topicPrefix)}` }),
    ),
    up: Type.Optional(
      Type.Array(Type.String(), { maxItems: 256, default: M.up, description: `Address patterns of this agent's own packets (observations and syntheses) published to the broker.${dflt(M.up)}` }),
    ),
    down: Type.Optional(
      Type.Array(Type.String(), { maxItems: 256, default: M.down, description: `Address patterns subscribed at the broker; what arrives is stored and synthesized like packets from peers. Non-empty: a persistent session.${dflt(M.down)}` }),
    ),
    batch: int(1, 1024, M.batch, "Packets per MQTT message at most (all of one address)"),
    inflight: int(1, 65_535, M.inflight, "Messages published and not yet acknowledged, at most (also capped by an MQTT 5 broker's receive maximum)"),
    drainRate: int(0, 10_000_000, M.drainRate, "Packets published per second at most, e.g. while the backlog drains after an outage; 0: no limit"),
    json: Type.Optional(Type.Boolean({ default: M.json, description: `Also publish each packet as JSON on PREFIX/json/qis/... (QoS 0, best effort) for dashboards.${dflt(M.json)}` })),
    keepaliveS: int(0, 65_535, M.keepaliveS, "MQTT keepalive in seconds; 0: off"),
    sessionExpiryS: int(0, 0xffff_ffff, M.sessionExpiryS, "MQTT 5: how long the broker keeps our session (and what arrives for it) while we are away, with down patterns"),
    reconnect: obj("Reconnect delays: doubling from minMs up to maxMs, each drawn at random from the upper half of its step.", {
      minMs: int(10, 3_600_000, M.reconnect.minMs, "First delay"),
      maxMs: int(10, 3_600_000, M.reconnect.maxMs, "Longest delay; at least minMs"),
    }),
    outbox: obj("The durable outbox: packets wait here until the broker acknowledged them.", {
      file: file(`The outbox file. null: STATEDIR/outbox-mqtt.bin`),
      capacity: int(1, 4_194_304, M.outbox.capacity, "Packets held at most (528 bytes each on disk); when full the oldest are dropped, counted and logged"),
      sync: Type.Optional(Type.Boolean({ default: M.outbox.sync, description: `fdatasync after each append batch: accepted packets also survive a power loss (slower; without it they survive a crash or kill -9).${dflt(M.outbox.sync)}` })),
    }),
  },
  { additionalProperties: false },
);

const N = NATS_DEFAULTS;
const nullableString = (what: string, max = 65535) => Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: max }), Type.Null()], { default: null, description: `${what} Default: null.` }));
const envName = (what: string) => Type.Optional(Type.Union([Type.String({ pattern: ENV_NAME }), Type.Null()], { default: null, description: `Variable holding the ${what}. Default: null.` }));

const NatsSchema = Type.Object(
  {
    servers: Type.Array(Type.String({ pattern: NATS_SERVER }), {
      minItems: 1,
      maxItems: 64,
      description: "NATS servers of one cluster (port 4222 by default). Required.",
    }),
    name: nullableString('Client name. null: "qis-edge-<node id>".', 256),
    user: nullableString("User name.", 1024),
    password: Type.Optional(Type.Union([Type.String({ maxLength: 65535 }), Type.Null()], { default: null, description: "Password (prefer passwordFile or passwordEnv). Default: null." })),
    passwordFile: file("Password file"),
    passwordEnv: envName("password"),
    token: nullableString("Token (prefer tokenFile or tokenEnv)."),
    tokenFile: file("Token file"),
    tokenEnv: envName("token"),
    nkeySeedFile: file("NKey user seed file"),
    credsFile: file(".creds file (user JWT and NKey seed)"),
    tls: obj("TLS (PEM files); any of them makes the connection TLS.", {
      ca: file("CA certificate(s); default: the system's"),
      cert: file("Client certificate"),
      key: file("Its private key"),
      required: Type.Optional(Type.Boolean({ default: N.tls.required, description: `TLS without any file.${dflt(N.tls.required)}` })),
    }),
    stream: obj("The JetStream stream, created when absent; if it differs, reported and used as it is (unless update).", {
      name: Type.Optional(Type.String({ pattern: STREAM_NAME, default: N.stream.name, description: `Name.${dflt(N.stream.name)}` })),
      subjects: Type.Optional(Type.Array(Type.String(), { minItems: 1, maxItems: 256, default: N.stream.subjects, description: `Subjects; they must cover up.${dflt(N.stream.subjects)}` })),
      maxBytes: int(1, Number.MAX_SAFE_INTEGER, N.stream.maxBytes, "Bytes held at most"),
      maxAgeS: int(0, 0xffff_ffff, N.stream.maxAgeS, "Max age in s; 0: none"),
      discard: Type.Optional(Type.Enum(["old", "new"], { default: N.stream.discard, description: `When full: drop the oldest, or refuse new.${dflt(N.stream.discard)}` })),
      storage: Type.Optional(Type.Enum(["file", "memory"], { default: N.stream.storage, description: `Storage.${dflt(N.stream.storage)}` })),
      replicas: int(1, 5, N.stream.replicas, "Replicas"),
      duplicateWindowS: int(1, 0xffff_ffff, N.stream.duplicateWindowS, "Message id memory in s (≤ maxAgeS)"),
      update: Type.Optional(Type.Boolean({ default: N.stream.update, description: `Update a differing stream.${dflt(N.stream.update)}` })),
    }),
    up: Type.Optional(
      Type.Array(Type.String(), { maxItems: 256, default: N.up, description: `Own packets published.${dflt(N.up)}` }),
    ),
    down: Type.Optional(
      Type.Array(Type.String(), {
        maxItems: 256,
        default: N.down,
        description: `Patterns pulled, each by a durable consumer.${dflt(N.down)}`,
      }),
    ),
    consumer: obj("The durable consumers.", {
      ackWaitS: int(1, 86_400, N.consumer.ackWaitS, "Redelivery delay in s"),
      maxAckPending: int(1, 1_000_000, N.consumer.maxAckPending, "Unacked messages at most"),
      fetch: int(1, 10_000, N.consumer.fetch, "Messages per pull"),
    }),
    batch: int(1, 1024, N.batch, "Packets per message at most"),
    inflight: int(1, 65_535, N.inflight, "Publishes awaiting PubAck at most"),
    drainRate: int(0, 10_000_000, N.drainRate, "Packets/s at most; 0: no limit"),
    ackTimeoutMs: int(100, 600_000, N.ackTimeoutMs, "PubAck timeout"),
    reconnect: obj("Reconnect backoff.", {
      minMs: int(10, 3_600_000, N.reconnect.minMs, "First delay"),
      maxMs: int(10, 3_600_000, N.reconnect.maxMs, "Longest delay"),
    }),
    outbox: obj("The durable outbox.", {
      file: file(`null: STATEDIR/outbox-nats.bin`),
      capacity: int(1, 4_194_304, N.outbox.capacity, "Packets held at most"),
      sync: Type.Optional(Type.Boolean({ default: N.outbox.sync, description: `fdatasync per append batch.${dflt(N.outbox.sync)}` })),
    }),
    codec: Type.Optional(
      Type.Enum(["qis", "reference-json"], { default: N.codec, description: `"qis": 512-byte packets; "reference-json": the reference router's JSON, one packet a message.${dflt(N.codec)}` }),
    ),
    referenceJson: obj("Reading the reference router's JSON packets (codec reference-json).", {
      ttlS: int(0, 0xffff_ffff, N.referenceJson.ttlS, "ttl_s of a reference packet; 0: none"),
      // Checked in config.ts (natsProblems): a schema of arbitrary keys costs the bundle 40 kB of typebox.
      conclusions: Type.Optional(Type.Unknown({ default: N.referenceJson.conclusions, description: "outcome_delta (-1..1) by conclusion text (1..512 characters; 1024 at most). Default: {}." })),
      defaultDelta: num(-1, 1, N.referenceJson.defaultDelta, "outcome_delta of another conclusion"),
    }),
  },
  { additionalProperties: false },
);

const PeerSchema = Type.Object(
  {
    pub: Type.String({ pattern: CONNECT, description: "The peer's packet publisher, which we subscribe to. Required." }),
    store: Type.Optional(
      Type.Union([CONNECT_T, Type.Null()], { default: null, description: "The peer's store endpoint, asked for missed packets (catch-up). null: no catch-up from this peer. Default: null." }),
    ),
    codec: Type.Optional(
      Type.Enum(["qis", "legacy"], {
        default: "qis",
        description:
          'Wire format: "qis" (batches of 512-byte packets) or "legacy" (a reference-Python node: topic qis.DOMAIN.dBUCKET, payload the !ffidd struct then domain|node|ctx text; docs/legacy.md). A legacy peer takes no "store". Default: "qis".',
      }),
    ),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "A name for logs, unique among the peers. Default: the pub endpoint." })),
    publicKey: Type.Optional(
      Type.String({
        pattern: Z85_KEY,
        description: "The peer's CURVE public key (Z85, `qis-edge keygen --show` on the peer). Required for qis peers when links are secured; it is also let in (allowlist).",
      }),
    ),
  },
  { additionalProperties: false },
);

export const AgentConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: "The JSON Schema this file follows (for editors; `qis-edge config schema` prints it). Ignored by the agent." })),
    nodeId: Type.Optional(
      Type.Union([Type.String({ pattern: NODE_ID }), Type.Null()], {
        default: null,
        description: "This node's 16-byte id as 32 hex digits. null: the id kept in stateDir/node-id (created on first start). Default: null.",
      }),
    ),
    stateDir: Type.Optional(
      Type.String({ minLength: 1, default: D.stateDir, description: `Directory for the node id and the lock; relative to the working directory. One per agent.${dflt(D.stateDir)}` }),
    ),
    pub: obj("Where this agent publishes its packets.", { bind: Type.Optional(bind("Bind endpoint of the packet publisher; peers subscribe to it.", D.pub.bind, false)) }),
    store: obj("The local packet store.", {
      bind: Type.Optional(bind("Bind endpoint where peers query the store (catch-up); null: not served.", D.store.bind, true)),
      capacity: int(1, 4_194_304, D.store.capacity, "Packets held; the oldest is dropped when full. 512 bytes each"),
      file: Type.Optional(
        Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, description: "File backing the store, so packets survive a restart; relative to the working directory. null: memory only. Default: null." }),
      ),
      syncWrites: Type.Optional(Type.Boolean({ default: false, description: "fdatasync after every insert (durable on power loss, slower). Default: false." })),
    }),
    peers: Type.Optional(Type.Array(PeerSchema, { maxItems: 1024, default: [], description: "Agents to subscribe to. Default: []." })),
    subscribe: Type.Optional(
      Type.Array(Type.String(), { maxItems: 256, default: D.subscribe, description: 'Address patterns to receive from peers: qis.TOKEN..., "*" one token, ">" the rest.' + dflt(D.subscribe) }),
    ),
    batch: obj("How packets are grouped into ZeroMQ messages.", {
      size: int(1, 1024, D.batch.size, "Packets per ZeroMQ message at most"),
      lingerMs: int(0, 1000, D.batch.lingerMs, "How long a partial batch waits for more packets; 0: sent at the end of the current event-loop turn"),
    }),
    hwm: obj("ZeroMQ high-water marks: messages queued per socket before ZeroMQ drops (pub) or stops reading (sub).", {
      send: int(0, 1_000_000, D.hwm.send, "Send high-water mark in messages; 0: unlimited"),
      receive: int(0, 1_000_000, D.hwm.receive, "Receive high-water mark in messages; 0: unlimited"),
    }),
    catchUp: obj("Asking peers' stores for packets missed while disconnected.", {
      pageSize: int(1, 4096, D.catchUp.pageSize, "Packets per store query"),
      timeoutMs: int(1, 600_000, D.catchUp.timeoutMs, "How long to wait for a reply"),
      retryMinMs: int(1, 3_600_000, D.catchUp.retryMinMs, "First retry delay after a failed query; doubles up to retryMaxMs"),
      retryMaxMs: int(1, 3_600_000, D.catchUp.retryMaxMs, "Longest retry delay; at least retryMinMs"),
      maxPages: int(1, 1_000_000, D.catchUp.maxPages, "Pages fetched from one peer per catch-up at most; a peer whose store keeps answering is then marked and asked again after a growing pause (retryMinMs..retryMaxMs)"),
    }),
    synth: obj("Local synthesis (docs/synth.md).", {
      maxAddresses: int(1, 1 << 20, D.synth.maxAddresses, "Distinct addresses held at once"),
      maxContributions: int(1, 1 << 24, D.synth.maxContributions, "Live contributions held at once"),
      maxNodes: int(1, 1 << 20, D.synth.maxNodes, "Distinct contributing nodes, over all addresses"),
      maxNodesPerAddress: int(1, 1024, D.synth.maxNodesPerAddress, "Distinct contributing nodes per address"),
      maxHops: int(0, 255, D.synth.maxHops, "Largest hop count accepted and emitted; 0: never re-synthesize"),
      alertThreshold: num(0, 1, D.synth.alertThreshold, "A domain's consensus alerts when its strength is strictly above this (as the reference NATS router)"),
      confidenceScale: Type.Optional(
        Type.Number({ exclusiveMinimum: 0, default: D.synth.confidenceScale, description: `k in confidence = (1 - exp(-W/k)) * (1 - sigma) (> 0).${dflt(D.synth.confidenceScale)}` }),
      ),
      minDelta: num(0, 2, D.synth.minDelta, "Emit only when the estimate moved at least this much since the last emission"),
      minIntervalMs: Type.Optional(Type.Number({ minimum: 0, default: D.synth.minIntervalMs, description: `Least ms between two emissions for one address (>= 0).${dflt(D.synth.minIntervalMs)}` })),
      minContributors: int(1, 1024, D.synth.minContributors, "Emit only for addresses with this many contributing nodes; at most maxNodesPerAddress (the default becomes 1 when that is 1)"),
      ttlS: int(0, 0xffff_ffff, D.synth.ttlS, "ttl_s of synthesized packets; 0: never expire"),
      sweepIntervalMs: int(10, 60_000, D.synth.sweepIntervalMs, "How often expired contributions are swept"),
      maxObservations: int(1, 0xffff_ffff, D.synth.maxObservations, "A peer's packet counts as at most this many observations: its weight is at most confidence·ln(1 + maxObservations)"),
      maxFutureSkewMs: int(0, 86_400_000, D.synth.maxFutureSkewMs, "Peers' packets stamped further than this ahead of our clock are refused from synthesis"),
      peerAddressShare: num(0, 1, D.synth.peerAddressShare, "Share of maxAddresses that addresses introduced by peers may hold at once; the rest is kept for local observations"),
      peerNodesPerAddress: int(1, 1024, D.synth.peerNodesPerAddress, "Distinct node ids one peer may bring to one address (a relaying gateway brings its fleet's)"),
      peerNewAddressesPerMinute: int(1, 1_000_000, D.synth.peerNewAddressesPerMinute, "Addresses one peer may introduce to synthesis per minute"),
    }),
    legacy: obj("Links to reference-Python nodes (docs/legacy.md).", {
      pub: Type.Optional(
        bind(
          "Bind endpoint publishing our own observations and syntheses in the legacy wire format (two frames: topic qis.DOMAIN.dBUCKET, payload the !ffidd struct then domain|node|ctx text); null: off.",
          D.legacy.pub,
          true,
        ),
      ),
      rep: Type.Optional(bind("Bind endpoint answering legacy store queries (a topic prefix in, a JSON array out); null: off.", D.legacy.rep, true)),
      replyLimit: int(1, 10_000, D.legacy.replyLimit, "Packets per legacy query reply at most"),
      ttlS: int(
        0,
        0xffff_ffff,
        D.legacy.ttlS,
        "ttl_s given to packets from legacy peers (their wire has none): a packet whose timestamp is older than this on arrival is dropped and reported; 0: never expire",
      ),
    }),
    log: obj("Logging: one JSON object per line on stderr.", {
      level: Type.Optional(Type.Enum(["debug", "info", "warn", "error", "silent"], { default: D.log.level, description: `Least severe level written.${dflt(D.log.level)}` })),
      statsIntervalS: int(0, 86_400, D.log.statsIntervalS, 'Seconds between two "stats" lines at info; 0: none'),
    }),
    uplinks: obj("Reaching beyond the LAN through a broker (docs/uplink.md).", {
      mqtt: Type.Optional({ ...MqttSchema, description: "An MQTT broker. Absent: none (MQTT.js is then never loaded)." } as typeof MqttSchema),
      nats: Type.Optional({ ...NatsSchema, description: "A NATS JetStream stream (docs/uplink.md). Absent: none." } as typeof NatsSchema),
    }),
    security: obj("Peer link security: CURVE encryption and an allowlist of client keys (docs/security.md).", {
      mode: Type.Optional(
        Type.Enum(["auto", "curve", "insecure"], {
          default: D.security.mode,
          description: `"auto": CURVE when secretKeyFile is set, else plain links, which may bind loopback only; "curve": CURVE (key in stateDir/curve.key unless secretKeyFile says otherwise); "insecure": plain links on any bind (warned at start).${dflt(D.security.mode)}`,
        }),
      ),
      secretKeyFile: Type.Optional(
        Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
          default: null,
          description: "This agent's CURVE secret key file (relative paths: in stateDir). Created with mode 0600 on first start when missing (never overwritten); `qis-edge keygen` writes one. Default: null.",
        }),
      ),
      allow: Type.Optional(
        Type.Array(Type.String({ minLength: 1 }), {
          maxItems: 1024,
          default: [],
          description: "Client keys let in besides the peers' publicKeys: a Z85 key, or a file (relative to the working directory) of keys, one per line; # starts a comment at the start of a line or after a space (Z85 keys may contain #). Default: [].",
        }),
      ),
      signing: obj("Signing this node's packets (docs/security.md).", {
        keyFile: Type.Optional(
          Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
            default: null,
            description: "Ed25519 signing key, PEM (relative: in stateDir); created 0600 when missing. Default: null (unsigned).",
          }),
        ),
      }),
      trust: obj("Trusted signing keys and the node ids each may sign for.", {
        keys: Type.Optional(
          Type.Array(
            Type.Object(
              {
                publicKey: Type.String({ pattern: ED25519_KEY }),
                nodeIds: Type.Array(Type.String({ pattern: TRUSTED_NODE }), { minItems: 1, maxItems: 4096 }),
                name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
              },
              { additionalProperties: false },
            ),
            { maxItems: 4096, default: [], description: "Default: []." },
          ),
        ),
        file: Type.Optional(
          Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, description: 'JSON { "keys": [...] } of more trusted keys. Default: null.' }),
        ),
      }),
      requireSigned: Type.Optional(
        Type.Array(Type.String({ minLength: 1 }), { maxItems: 256, default: [], description: "Address patterns whose packets must be validly signed. Default: []." }),
      ),
      alertsRequireSigned: Type.Optional(
        Type.Boolean({ default: D.security.alertsRequireSigned, description: `Only validly signed peer packets reach synthesis.${dflt(D.security.alertsRequireSigned)}` }),
      ),
      verifyCacheSize: int(0, 65_536, D.security.verifyCacheSize, "Signature verdicts cached, 500 bytes each"),
    }),
    metrics: obj("Prometheus metrics and a health check over HTTP (docs/operations.md). Off unless listen is set.", {
      listen: Type.Optional(
        Type.Union([Type.String({ pattern: LISTEN }), Type.Null()], {
          default: D.metrics.listen,
          description: `HOST:PORT serving GET /metrics and GET /healthz; a loopback address unless allowRemote; null: off.${dflt(D.metrics.listen)}`,
        }),
      ),
      allowRemote: Type.Optional(
        Type.Boolean({ default: D.metrics.allowRemote, description: `Allow a listen address other than loopback (the endpoint has no authentication).${dflt(D.metrics.allowRemote)}` }),
      ),
    }),
    discovery: obj("LAN discovery: UDP multicast beacons (TTL 1) announcing this agent; discovered peers are connected when their CURVE key is allowed (docs/discovery.md). Off unless enabled.", {
      enabled: Type.Optional(Type.Boolean({ default: D.discovery.enabled, description: `Send and listen to beacons.${dflt(D.discovery.enabled)}` })),
      group: Type.Optional(Type.String({ pattern: MULTICAST, default: D.discovery.group, description: `IPv4 multicast group.${dflt(D.discovery.group)}` })),
      port: int(1, 65_535, D.discovery.port, "UDP port of the group"),
      interface: Type.Optional(
        Type.Union([Type.String({ pattern: IPV4_ADDR }), Type.Null()], { default: null, description: "IPv4 address of the interface to send and listen on; null: the system's choice (the default route's). Default: null." }),
      ),
      minIntervalMs: int(100, 60_000, D.discovery.minIntervalMs, "Shortest time between two beacons (each is drawn in minIntervalMs..maxIntervalMs)"),
      maxIntervalMs: int(100, 60_000, D.discovery.maxIntervalMs, "Longest time between two beacons; a peer is dropped after 3 of its own longest intervals without a beacon"),
      maxPeers: int(1, 256, D.discovery.maxPeers, "Discovered peers connected at once"),
      allowInsecure: Type.Optional(
        Type.Boolean({ default: D.discovery.allowInsecure, description: `Connect discovered peers over plain links, without a CURVE key to check (loopback binds, or security.mode "insecure").${dflt(D.discovery.allowInsecure)}` }),
      ),
    }),
    control: obj("`run`'s control socket: the stdio protocol (NDJSON) on a Unix socket, mode 0600, for observe, watch, query, stats and peers (docs/operations.md).", {
      enabled: Type.Optional(Type.Boolean({ default: D.control.enabled, description: `Open the control socket.${dflt(D.control.enabled)}` })),
      path: Type.Optional(
        Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, description: "The socket's path, relative to stateDir (at most 107 bytes once resolved). null: stateDir/control.sock. Default: null." }),
      ),
      maxClients: int(1, 64, D.control.maxClients, "Clients connected at once; more are refused with ERR_CONTROL_BUSY"),
    }),
  },
  { additionalProperties: false, title: "qis-edge agent config", description: "Every key is optional; unknown keys are errors. See docs/config.md." },
);

export type AgentConfigFile = Static<typeof AgentConfigSchema>;

/** The JSON Schema of the file, for editors (`"$schema": "./agent.schema.json"`). */
export function configJsonSchema(): object {
  return { $schema: "https://json-schema.org/draft/2020-12/schema", ...(JSON.parse(JSON.stringify(AgentConfigSchema)) as object) };
}

/** The top-level keys, in the schema's (and docs/config.md's) order. */
export const TOP_KEYS: readonly string[] = Object.keys(AgentConfigSchema.properties);

// ---------------------------------------------------------------------------------------------
// Problems

const MAX_PROBLEMS = 1000;
type Schema = Record<string, unknown>;

function describeSchema(s: Schema): string {
  if (s === (AgentConfigSchema as unknown)) return "an object (an agent config)";
  if (Array.isArray(s.anyOf)) return (s.anyOf as Schema[]).map(describeSchema).join(" or ");
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  const range = (kind: string): string =>
    s.exclusiveMinimum !== undefined ? `${kind} greater than ${String(s.exclusiveMinimum)}` : s.maximum === undefined ? `${kind} >= ${String(s.minimum)}` : `${kind} in ${String(s.minimum)}..${String(s.maximum)}`;
  switch (s.type) {
    case "integer":
      return range("an integer");
    case "number":
      return range("a number");
    case "boolean":
      return "true or false";
    case "null":
      return "null";
    case "string":
      return PATTERN_TEXT.get(s.pattern as string) ?? (s.minLength === 1 ? "a non-empty string" : "a string");
    case "array":
      return `a list (at most ${String(s.maxItems)}) of ${describeSchema(s.items as Schema)}`;
    default:
      return `an object with the keys ${Object.keys(s.properties as object).join(", ")}`;
  }
}

/** A JSON value in a few words, for "found ...". */
function describeFound(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (Array.isArray(v)) return `a list of ${v.length} item${v.length === 1 ? "" : "s"}`;
  if (v !== null && typeof v === "object") return "an object";
  return String(v);
}

function schemaAt(schemaPath: string): Schema {
  let s = AgentConfigSchema as unknown as Schema;
  for (const part of schemaPath.split("/").slice(1)) s = s[part] as Schema;
  return s;
}

function valueAt(input: unknown, path: string): unknown {
  let v = input;
  for (const part of path.split("/").slice(1)) v = (v as Record<string, unknown>)[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  return v;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

function unknownKey(objectSchema: Schema, key: string): ConfigProblem["expected"] {
  const known = Object.keys(objectSchema.properties as object).filter((k) => k !== "$schema");
  const near = known.find((k) => k.toLowerCase() === key.toLowerCase()) ?? known.find((k) => editDistance(k, key) <= 2);
  return `one of the keys ${known.join(", ")}${near === undefined ? "" : ` (did you mean "${near}"?)`}`;
}

/** The schema's verdict on the file, one problem per location. */
export function schemaProblems(input: unknown): ConfigProblem[] {
  // Checked by walking the schema, not by a compiled validator: a config is checked once, and
  // a compiled one stays resident for the agent's life (~4 MiB of RSS, measured; docs/devices.md).
  if (Check(AgentConfigSchema, input)) return [];
  // TypeBox stops at 8 errors by default; we want all of them. Set and restored around the call
  // (synchronous), since the setting is process-wide.
  const before = Settings.Get().maxErrors;
  Settings.Set({ maxErrors: MAX_PROBLEMS });
  let errors;
  try {
    errors = Errors(AgentConfigSchema, input);
  } finally {
    Settings.Set({ maxErrors: before });
  }
  const found = new Map<string, { depth: number; problem: ConfigProblem }>();
  const add = (path: string, depth: number, expected: string, foundText: string): void => {
    const prior = found.get(path);
    if (prior === undefined || prior.depth > depth) found.set(path, { depth, problem: { path, expected, found: foundText } });
  };
  for (const e of errors) {
    const params = e.params as { additionalProperties?: string[]; requiredProperties?: string[] };
    if (e.keyword === "additionalProperties") {
      for (const key of params.additionalProperties ?? []) add(`${e.instancePath}${pointer([key])}`, 0, unknownKey(schemaAt(e.schemaPath), key), `an unknown key "${key}"`);
    } else if (e.keyword === "required") {
      for (const key of params.requiredProperties ?? []) add(`${e.instancePath}${pointer([key])}`, 0, describeSchema(schemaAt(`${e.schemaPath}/properties/${key}`)), "nothing (the key is required)");
    } else if (!(e.keyword === "boolean" && e.schemaPath.endsWith("/additionalProperties"))) {
      // Several errors at one location (a union's branches): the outermost schema describes it best.
      add(e.instancePath, e.schemaPath.split("/").length, describeSchema(schemaAt(e.schemaPath)), describeFound(valueAt(input, e.instancePath)));
    }
  }
  return [...found.values()].map((f) => f.problem);
}

type Rec = Record<string, unknown>;

/** Checks each env value against the schema of the key it overrides. */
export function envProblems(overrides: EnvOverride[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const o of overrides) {
    const path = `env:${o.name}`;
    if (o.name === "QIS_EDGE_PEERS") {
      (o.value as Rec[]).forEach((peer, i) => {
        for (const k of ["pub", "store"] as const) {
          if (peer[k] !== undefined && !Check(CONNECT_T, peer[k])) problems.push({ path, expected: `[legacy:]PUB[|STORE[|KEY]],...: ${describeSchema(CONNECT_T as unknown as Schema)}`, found: `item ${i + 1} ${describeFound(peer[k])}` });
        }
        if (peer.publicKey !== undefined && !Check(Z85_KEY_T, peer.publicKey)) {
          problems.push({ path, expected: `[legacy:]PUB[|STORE[|KEY]],...: KEY ${PATTERN_TEXT.get(Z85_KEY)!}`, found: `item ${i + 1} ${describeFound(peer.publicKey)}` });
        }
      });
      continue;
    }
    let s = AgentConfigSchema as unknown as Schema;
    for (const k of o.key) s = (s.properties as Rec)[k] as Schema;
    if (!Check(s as never, o.value)) problems.push({ path, expected: describeSchema(s), found: JSON.stringify(o.raw) });
  }
  return problems;
}

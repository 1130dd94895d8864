/**
 * The running agent: the whole outcome-routing loop on one device.
 *
 *   observe() → packet → store → synthesis → PUB ──▶ peers
 *   peers ──▶ SUB / catch-up → verify → store (dedup) → synthesis
 *   synthesis → synthesized packet → store → PUB (re-enters the loop; never echoed)
 *
 * Everything is in this process and single-threaded: the store and the engine are called from
 * one place at a time, so no locks. Events: "packet" (every stored packet, when someone listens),
 * "synthesis", "peer", "caught-up", "error" (only emitted when someone listens: a bad peer
 * must not crash an agent nobody is watching; it is logged either way).
 */
import { randomBytes } from "../util/random.js";
import { EventEmitter } from "node:events";
import { compilePattern, type AddressPattern } from "../address/index.js";
import { QisError } from "../errors.js";
import { codec, nativeStatus, PACKET_SIZE, PacketView, type PacketFields } from "../packet/index.js";
import { expiryOf, InsertStatus, PacketStore, type StoredPacket } from "../store/index.js";
import { SynthEngine, type DomainConsensus, type SynthPacket } from "../synth/index.js";
import { ZmqPublisher } from "../link/zmq/publisher.js";
import { StoreServer } from "../link/zmq/store-server.js";
import { MAX_BATCH, ZmqPeer, type PeerSink } from "../link/zmq/peer.js";
import type { AgentConfig, PeerConfig } from "./config.js";
import { lockStateDir, loadOrCreateNodeId } from "./node-id.js";
import { silentLogger, type Logger } from "./log.js";
import { ObservationError, parseObservation, observationToFields } from "./observation.js";
import { SequenceCounter } from "./sequence.js";
import { LegacyLinks, type LegacySink } from "./legacy-links.js";
import { agentStats, type AgentStats } from "./stats.js";
import { AgentStartError, binding } from "./start-error.js";
import { packageVersion } from "./version.js";
import { PeerLog } from "./peer-log.js";
import { statsLine } from "./stats-line.js";
import type { OutboxUplink } from "../link/uplink/uplink.js";
import type { UplinkStateEvent } from "../link/uplink/types.js";
import { openLinkSecurity, type LinkSecurity } from "./link-security.js";
import { ADMIT, ADMIT_CLAMPED, clampedCopy, REFUSED, SynthAdmission } from "./admission.js";
import { openSignatures } from "./signatures.js";
import type { PacketSecurity } from "../security/packet-security.js";
import type { ZapHandler } from "../link/zmq/zap.js";
import type { Discovery } from "./discovery/discovery.js";
import { explainHeldBack } from "./synth-debug.js";

export interface AgentOptions {
  /** where the agent logs (createLogger); default none: a library writes nothing unless given one */
  logger?: Logger;
  /** the clock (ms since the epoch) for the store and the engine; default Date.now */
  now?: () => number;
}

export interface ObserveResult {
  address: string;
  seq: number;
  /** the packet's cursor in the local store */
  cursor: number;
}

export interface PacketEvent {
  /** "local" (observe/publish), "synthesis", or the peer's name */
  source: string;
  cursor: number;
  /** the packet, valid during the listener call only (the view is reused) */
  view: PacketView;
}

export interface SynthesisEvent {
  address: string;
  domain: string;
  estimate: number;
  confidence: number;
  nObservations: number;
  hops: number;
  seq: number;
  consensus: DomainConsensus | undefined;
}

export interface PeerEvent {
  name: string;
  endpoint: string;
  up: boolean;
}

export interface AgentEndpoints {
  pub: string;
  store: string | null;
  legacyPub: string | null;
  legacyRep: string | null;
}

/** observeMany stores and synthesizes this many observations per batch. */
const OBSERVE_CHUNK = 256;
const ZERO_CODES = new Uint8Array(OBSERVE_CHUNK);

function expired(address: string, seq: number): QisError {
  return new QisError("ERR_OBSERVATION_EXPIRED", `observation ${address} seq ${seq} expired before it was stored (timestampMs + ttlS·1000 ≤ now)`);
}

/** Pending synthesis events are capped: the engine emits at most once per address per minIntervalMs anyway. */
const SYNTH_EVENT_QUEUE = 4096;

export class Agent extends EventEmitter {
  readonly nodeId: string;
  readonly nodeIdBytes: Buffer;
  /** this run's random id: peers see it change when we restart */
  readonly epoch: number;
  readonly config: AgentConfig;
  readonly log: Logger;
  endpoints!: AgentEndpoints;

  readonly store: PacketStore;
  readonly synth: SynthEngine;
  #publisher!: ZmqPublisher;
  #storeServer: StoreServer | null = null;
  readonly #peers: ZmqPeer[] = [];
  #legacy!: LegacyLinks;
  /** brokers beyond the LAN (uplinks.*); their modules are loaded only when configured */
  readonly #uplinks: OutboxUplink[] = [];
  /** LAN discovery (discovery.enabled; loaded only then) */
  discovery: Discovery | null = null;
  /** the agent's ZeroMQ context, CURVE keys and ZAP handler */
  #security: LinkSecurity | null = null;
  /** signing and signature checks (src/security/), loaded only when configured */
  #signatures: PacketSecurity | null = null;
  readonly #patterns = new Map<string, AddressPattern>();
  readonly #seq: SequenceCounter;
  /** the clock of the store and the engine */
  readonly #now: () => number;
  readonly #lock: { release(): void };
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #peerLog: PeerLog;
  /** scratch for one local packet */
  readonly #scratch = Buffer.alloc(PACKET_SIZE);
  readonly #synthScratch = Buffer.alloc(PACKET_SIZE);
  /** what peers' packets synthesis takes (admission.ts) */
  readonly admission: SynthAdmission;
  readonly #clampScratch = Buffer.alloc(PACKET_SIZE);
  /** per-packet InsertStatus of one batch (live batches ≤ MAX_BATCH, catch-up pages ≤ pageSize) */
  readonly #statuses: Uint8Array;
  readonly #legacyCode = new Uint8Array(1);
  /** observeMany's packets, a chunk at a time */
  readonly #batchBuf = Buffer.alloc(OBSERVE_CHUNK * PACKET_SIZE);
  readonly #view = new PacketView();
  #synthEvents: SynthesisEvent[] = [];
  /** synthesized packets not yet stored and published */
  #synthPackets: SynthPacket[] = [];
  #closed = false;
  /** set when the "ready" line is logged: a "closed" line only ever follows one */
  #ready = false;
  readonly counters = { observed: 0, published: 0, received: 0, duplicates: 0, synthesized: 0, synthEventsDropped: 0 };

  private constructor(config: AgentConfig, options: AgentOptions) {
    super();
    this.config = config;
    // A library is silent unless given a logger: `qis-edge run` passes one built from config.log.
    this.log = options.logger ?? silentLogger;
    this.#peerLog = new PeerLog(this.log);
    this.#lock = lockStateDir(config.stateDir);
    try {
      this.nodeId = config.nodeId ?? loadOrCreateNodeId(config.stateDir).nodeId;
    } catch (err) {
      this.#lock.release();
      throw err;
    }
    this.nodeIdBytes = Buffer.from(this.nodeId, "hex");
    this.epoch = randomBytes(4).readUInt32LE(0);
    this.#seq = new SequenceCounter();
    this.#statuses = new Uint8Array(Math.max(MAX_BATCH, config.catchUp.pageSize));
    const now = options.now ?? Date.now;
    this.#now = now;
    try {
      this.store = new PacketStore({
        capacity: config.store.capacity,
        now,
        ...(config.store.file !== null ? { file: config.store.file, syncWrites: config.store.syncWrites } : {}),
      });
    } catch (err) {
      this.#lock.release();
      throw err;
    }
    const s = config.synth;
    this.synth = new SynthEngine({
      nodeId: this.nodeIdBytes,
      now,
      maxAddresses: s.maxAddresses,
      maxContributions: s.maxContributions,
      maxNodes: s.maxNodes,
      maxNodesPerAddress: s.maxNodesPerAddress,
      maxHops: s.maxHops,
      alertThreshold: s.alertThreshold,
      confidenceScale: s.confidenceScale,
      minDelta: s.minDelta,
      minIntervalMs: s.minIntervalMs,
      minContributors: s.minContributors,
      ttlS: s.ttlS,
      nextSeq: this.#seq.next,
      onEmit: (p) => this.#onSynthesized(p),
    });
    // Every packet from a link passes the gate, whatever node id it names: ids are authenticated
    // only by signatures, where verified (src/security/), so "ours" could be forged.
    this.admission = new SynthAdmission(s);
    for (const p of config.subscribe) this.#patterns.set(p, compilePattern(p));
  }

  /** Opens the sockets; rejects (and releases everything) when an endpoint cannot be bound. */
  static async create(config: AgentConfig, options: AgentOptions = {}): Promise<Agent> {
    const agent = new Agent(config, options);
    try {
      await agent.#open();
    } catch (err) {
      await agent.close();
      if (err instanceof AgentStartError) throw err;
      throw new QisError("ERR_AGENT_START", `agent could not start: ${(err as Error).message}`, { cause: err });
    }
    return agent;
  }

  async #open(): Promise<void> {
    const c = this.config;
    this.#security = await openLinkSecurity(c, this.log);
    const env = this.#security.env;
    this.#signatures = await openSignatures(c, { nodeId: this.nodeIdBytes, logger: this.log, maxBatch: this.#statuses.length, onError: (err, peer) => this.#error(err, { peer }) });
    this.#publisher = await binding("pub.bind", c.pub.bind, () =>
      ZmqPublisher.bind(c.pub.bind, { batchSize: c.batch.size, lingerMs: c.batch.lingerMs, sendHwm: c.hwm.send, epoch: this.epoch, env }),
    );
    const storeBind = c.store.bind;
    if (storeBind !== null) {
      this.#storeServer = await binding("store.bind", storeBind, () =>
        StoreServer.bind(storeBind, this.store, {
          env,
          epoch: this.epoch,
          maxReply: c.catchUp.pageSize,
          onError: (err) => this.#error(err, { where: "store-server" }),
        }),
      );
    }
    this.#legacy = await LegacyLinks.open(c, this.store, this.#legacySink());
    if (c.uplinks.mqtt !== null) {
      // Dynamic: an agent without an uplink never loads MQTT.js (idle memory, start time).
      const { openMqttUplink } = await import("../link/mqtt/index.js");
      this.#addUplink(openMqttUplink(c.uplinks.mqtt, { nodeId: this.nodeId, stateDir: c.stateDir, sink: this.#uplinkSink(), logger: this.log }));
    }
    if (c.uplinks.nats !== null) {
      // Dynamic: an agent without it never loads the NATS client.
      const { openNatsUplink } = await import("../link/nats/index.js");
      this.#addUplink(openNatsUplink(c.uplinks.nats, { nodeId: this.nodeId, stateDir: c.stateDir, sink: this.#uplinkSink(), logger: this.log }));
    }
    this.endpoints = {
      pub: this.#publisher.endpoint,
      store: this.#storeServer?.endpoint ?? null,
      legacyPub: this.#legacy.pubEndpoint,
      legacyRep: this.#legacy.repEndpoint,
    };
    for (const p of c.peers) if (p.codec !== "legacy") this.#startPeer(p);
    this.#legacy.startSubscribers(c.peers.filter((p) => p.codec === "legacy"), [...this.#patterns.values()]);
    if (c.discovery.enabled) {
      const { Discovery } = await import("./discovery/discovery.js");
      this.discovery = await binding("discovery", `udp://${c.discovery.group}:${c.discovery.port}`, () => Discovery.open(this, this.#now));
    }
    const sweep = setInterval(() => this.#sweep(), c.synth.sweepIntervalMs);
    sweep.unref();
    this.#timers.push(sweep);
    if (c.log.statsIntervalS > 0 && this.log !== silentLogger) {
      const stats = setInterval(() => {
        if (!this.#closed && this.log.enabled("info")) this.log.info("stats", statsLine(this.stats()));
      }, c.log.statsIntervalS * 1000);
      stats.unref();
      this.#timers.push(stats);
    }
    this.#ready = true;
    this.log.info("ready", {
      version: packageVersion(),
      nodeId: this.nodeId,
      epoch: this.epoch,
      endpoints: this.endpoints,
      peers: c.peers.map((p) => p.name),
      subscribe: [...this.#patterns.keys()],
      ...(this.#uplinks.length > 0 ? { uplinks: this.#uplinks.map((u) => `${u.name} ${u.broker}`) } : {}),
      native: nativeStatus.loaded,
      security: this.#security.mode,
      publicKey: this.#security.publicKey,
      ...(this.#signatures?.signingKey ? { signingKeyId: this.#signatures.signingKey.keyIdHex } : {}),
    });
  }

  // ===========================================================================================
  // Local input

  /** Validates an observation, turns it into this node's next packet, stores, synthesizes and publishes it. */
  observe(input: unknown): ObserveResult {
    this.#assertOpen();
    const buf = this.#scratch;
    const { address, seq } = this.#encodeObservation(input, buf, 0);
    // The store refuses an expired packet, and nothing else of ours (a fresh seq, just
    // encoded); so, with expiry checked here, the packet will be stored at the next cursor and
    // can leave first: on an idle link the send is the latency a peer sees.
    if (expiryOf(buf, 0) <= this.#now()) throw expired(address, seq);
    const cursor = this.store.cursor + 1;
    this.#send(buf, 0, cursor, "local", false);
    const status = this.store.insert(buf, 0);
    if (status !== InsertStatus.STORED) throw expired(address, seq); // the clock moved past its expiry meanwhile
    this.counters.observed++;
    this.counters.published++;
    this.synth.addAt(buf, 0);
    if (this.log.enabled("debug")) explainHeldBack(this.synth, this.log, "local", buf, 1, null, this.#synthPackets);
    if (this.listenerCount("packet") > 0) this.#emitPacket("local", buf, 0, cursor);
    this.#flushSynthEvents();
    this.#flushUplinks();
    return { address, seq, cursor };
  }

  /**
   * observe() for many observations at once (what the stdio protocol does with a chunk of
   * requests): one store batch and one synthesis batch instead of one call each. Each result is
   * the ObserveResult or the error observe() would have thrown; a bad one does not stop the rest.
   */
  observeMany(inputs: readonly unknown[]): (ObserveResult | QisError)[] {
    this.#assertOpen();
    const results: (ObserveResult | QisError)[] = new Array(inputs.length);
    const buf = this.#batchBuf;
    const max = buf.length / PACKET_SIZE;
    const index: number[] = [];
    const made: { address: string; seq: number }[] = [];
    for (let start = 0; start < inputs.length; start += max) {
      const end = Math.min(inputs.length, start + max);
      index.length = 0;
      made.length = 0;
      for (let i = start; i < end; i++) {
        try {
          made.push(this.#encodeObservation(inputs[i], buf, index.length * PACKET_SIZE));
          index.push(i);
        } catch (err) {
          if (!(err instanceof QisError)) throw err;
          results[i] = err;
        }
      }
      const n = index.length;
      const statuses = this.#statuses;
      let cursor = this.store.cursor;
      // Just encoded here: their verdicts are 0 (ZERO_CODES), no need to verify them again.
      this.store.insertBatch(buf, n, ZERO_CODES, statuses);
      const emitPackets = this.listenerCount("packet") > 0;
      let stored = 0;
      for (let k = 0; k < n; k++) {
        const { address, seq } = made[k]!;
        if (statuses[k] !== InsertStatus.STORED) {
          results[index[k]!] = expired(address, seq);
          continue;
        }
        stored++;
        cursor++;
        this.#send(buf, k * PACKET_SIZE, cursor, "local", emitPackets);
        results[index[k]!] = { address, seq, cursor };
      }
      this.counters.observed += stored;
      this.counters.published += stored;
      this.#synthesizeStored(buf, n, statuses);
      if (this.log.enabled("debug")) explainHeldBack(this.synth, this.log, "local", buf, n, statuses, this.#synthPackets);
      this.#flushSynthEvents();
      this.#flushUplinks();
    }
    return results;
  }

  /** Validates an observation and encodes it as this node's next packet at buf[offset]. */
  #encodeObservation(input: unknown, buf: Buffer, offset: number): { address: string; seq: number } {
    const obs = parseObservation(input);
    if (obs.nodeId !== undefined || obs.seq !== undefined)
      throw new ObservationError([{ path: obs.nodeId !== undefined ? "/nodeId" : "/seq", message: "is set by the agent: leave it out" }]);
    const seq = this.#seq.next();
    const fields: PacketFields = observationToFields(obs, { nodeId: this.nodeIdBytes, seq });
    codec.encode(fields, buf, offset);
    this.#signatures?.sign(buf, offset);
    return { address: fields.address, seq };
  }

  /**
   * Publishes already-encoded packets (count × 512 bytes, e.g. from a local pipeline):
   * verified, stored, synthesized and sent like observations. Returns how many were stored
   * (invalid, duplicate and expired ones are counted and skipped).
   */
  publish(packets: Uint8Array, count = Math.floor(packets.length / PACKET_SIZE)): number {
    this.#assertOpen();
    let stored = 0;
    for (let start = 0; start < count; start += this.#statuses.length) {
      const n = Math.min(this.#statuses.length, count - start);
      const part = packets.subarray(start * PACKET_SIZE, (start + n) * PACKET_SIZE);
      let cursor = this.store.cursor;
      const statuses = this.#statuses;
      const storedHere = this.store.insertBatch(part, n, undefined, statuses);
      this.#synthesizeStored(part, n, statuses);
      const emitPackets = this.listenerCount("packet") > 0;
      for (let i = 0; i < n; i++) {
        if (statuses[i] !== InsertStatus.STORED) continue;
        this.#send(part, i * PACKET_SIZE, ++cursor, "local", emitPackets);
      }
      stored += storedHere;
      this.counters.published += storedHere;
      this.#flushSynthEvents();
      this.#flushUplinks();
    }
    return stored;
  }

  /**
   * One of our packets (stored, or about to be at `cursor`) out to peers, legacy subscribers and
   * uplinks. Only our own packets (local and synthesized) reach this: what came from peers or
   * down from a broker is never sent up again (no loops between agents sharing a broker).
   */
  #send(buf: Uint8Array, offset: number, cursor: number, source: string, emitPacket: boolean): void {
    this.#publisher.publish(buf, offset, cursor);
    this.#legacy.publish(buf, offset);
    for (let i = 0; i < this.#uplinks.length; i++) this.#uplinks[i]!.publish(buf, offset);
    if (emitPacket) this.#emitPacket(source, buf, offset, cursor);
  }

  /** Writes what the uplinks took to their outboxes: accepted from here on. Throws ERR_OUTBOX_IO. */
  #flushUplinks(): void {
    for (let i = 0; i < this.#uplinks.length; i++) this.#uplinks[i]!.flush();
  }

  #addUplink(uplink: OutboxUplink): void {
    this.#uplinks.push(uplink);
    uplink.on("state", (e: UplinkStateEvent) => this.emit("uplink", e));
    uplink.on("error", (err: Error) => this.#error(err, { uplink: uplink.name }));
  }

  /** Packets from a broker: verified by the uplink (codes), then like packets from a peer. */
  #uplinkSink() {
    // null: the agent is closing and stored nothing (a JetStream message is then not acknowledged).
    return { deliver: (source: string, packets: Uint8Array, count: number, codes: Uint8Array) => this.#ingest(source, packets, count, codes, true) !== null };
  }

  get uplinks(): readonly OutboxUplink[] {
    return this.#uplinks;
  }

  /** Feeds the packets that insertBatch stored to synthesis, one addBatch per run of them. */
  #synthesizeStored(packets: Uint8Array, count: number, statuses: Uint8Array): void {
    let runStart = -1;
    for (let i = 0; i <= count; i++) {
      if (i < count && statuses[i] === InsertStatus.STORED) {
        if (runStart < 0) runStart = i;
      } else if (runStart >= 0) {
        this.synth.addBatch(packets, runStart * PACKET_SIZE, i - runStart);
        runStart = -1;
      }
    }
  }

  // ===========================================================================================
  // From peers

  #peerSink(): PeerSink {
    return {
      // Catch-up relays other nodes' packets, and a plain link authenticates no one: trust boundaries.
      deliver: (peer, packets, count, codes, source) => this.#ingest(peer.name, packets, count, codes, source === "catch-up" || peer.settings.publicKey === null),
      invalid: (peer, code, reason, packets) => {
        this.log.warn("invalid from peer", { peer: peer.name, code, reason, packets });
        this.#error(new QisError(code, `peer ${peer.name}: ${reason}`), { peer: peer.name });
      },
      up: (peer) => this.#peerState(peer.name, peer.settings.pub, true),
      down: (peer) => this.#peerState(peer.name, peer.settings.pub, false),
      unreachable: (peer, retryMs) => this.#peerLog.unreachable(peer.name, peer.settings.pub, retryMs),
      caughtUp: (peer, packets) => {
        this.log.debug("caught up", { peer: peer.name, packets });
        this.emit("caught-up", { peer: peer.name, packets });
      },
      error: (peer, err) => this.#error(err, { peer: peer.name }),
    };
  }

  #legacySink(): LegacySink {
    return {
      packet: (peer, buf, offset) => {
        if (this.#closed) return false;
        // decodeLegacy wrote and sealed the packet itself: its verdict is 0 (a signature check may have set it).
        this.#legacyCode[0] = 0;
        const status = this.#ingest(peer, buf.subarray(offset, offset + PACKET_SIZE), 1, this.#legacyCode, true);
        return status === InsertStatus.EXPIRED;
      },
      invalid: (peer, err) => {
        this.log.warn("invalid from legacy peer", { peer, code: err.code, reason: err.message });
        // A stdio supervisor sees only the error: it names the peer too.
        this.#error(new QisError(err.code, `legacy peer ${peer}: ${err.message}`, { cause: err }), { peer });
      },
      // Rate-limited by LegacyLinks: one report per peer per EXPIRED_REPORT_MS at most.
      expired: (peer, packets, ageMs) => {
        const ttlS = this.config.legacy.ttlS;
        const oldestS = Math.round(ageMs / 1000);
        this.log.warn("expired legacy packets", { peer, packets, oldestS, ttlS });
        const what = `${packets} packet${packets === 1 ? "" : "s"} already expired on arrival (up to ${oldestS} s old, legacy.ttlS ${ttlS} s)`;
        this.#error(new QisError("ERR_LEGACY_EXPIRED", `legacy peer ${peer}: ${what}, dropped: is its clock behind?`), { peer });
      },
      peer: (name, endpoint, up) => this.#peerState(name, endpoint, up),
      unreachable: (name, endpoint, retryMs) => this.#peerLog.unreachable(name, endpoint, retryMs),
      now: this.#now,
    };
  }

  /** Verified packets from a peer (codes[i] 0 = valid): store, dedup, synthesize. */
  /**
   * Stores, synthesizes and announces `count` packets; returns the first one's InsertStatus,
   * read before any listener runs (a listener may reuse the status buffer by publishing).
   */
  #ingest(source: string, packets: Uint8Array, count: number, codes: Uint8Array, boundary: boolean): InsertStatus | null {
    if (this.#closed) return null;
    this.#signatures?.check(source, boundary, packets, count, codes);
    const statuses = this.#statuses;
    let cursor = this.store.cursor;
    const stored = this.store.insertBatch(packets, count, codes, statuses);
    const first = statuses[0] as InsertStatus;
    this.counters.received += stored;
    if (stored < count) for (let i = 0; i < count; i++) if (statuses[i] === InsertStatus.DUPLICATE) this.counters.duplicates++;
    this.#synthesizeAdmitted(source, packets, count, statuses);
    if (this.log.enabled("debug")) explainHeldBack(this.synth, this.log, source, packets, count, statuses, this.#synthPackets);
    if (this.listenerCount("packet") > 0) {
      for (let i = 0; i < count; i++) if (statuses[i] === InsertStatus.STORED) this.#emitPacket(source, packets, i * PACKET_SIZE, ++cursor);
    }
    this.#flushSynthEvents();
    return first;
  }

  /** #synthesizeStored for a peer's packets: only those the admission gate lets through. */
  #synthesizeAdmitted(peer: string, packets: Uint8Array, count: number, statuses: Uint8Array): void {
    const now = this.#now();
    let runStart = -1;
    for (let i = 0; i <= count; i++) {
      const signed = this.#signatures === null || this.#signatures.synthOk[i] === 1;
      const v = i < count && statuses[i] === InsertStatus.STORED && signed ? this.admission.check(peer, packets, i * PACKET_SIZE, now) : REFUSED;
      if (v === ADMIT) {
        if (runStart < 0) runStart = i;
        continue;
      }
      if (runStart >= 0) {
        this.synth.addBatch(packets, runStart * PACKET_SIZE, i - runStart);
        runStart = -1;
      }
      if (v === ADMIT_CLAMPED) this.synth.addAt(clampedCopy(packets, i * PACKET_SIZE, this.config.synth.maxObservations, this.#clampScratch), 0);
    }
  }

  // ===========================================================================================
  // Synthesis

  /** Called by the engine, synchronously, for each synthesized packet (the object is reused). */
  #onSynthesized(p: Readonly<SynthPacket>): void {
    // Its fields are all numbers and strings (nodeId is ours, never changed): a shallow copy
    // holds it until #flushSynthEvents encodes, stores and publishes it, after the events.
    this.#synthPackets.push({ ...p });
    if (this.#synthEvents.length >= SYNTH_EVENT_QUEUE) {
      this.counters.synthEventsDropped++;
      return;
    }
    const dot = p.address.indexOf(".", 4);
    this.#synthEvents.push({
      address: p.address,
      domain: p.address.slice(4, dot < 0 ? undefined : dot),
      estimate: p.outcomeDelta,
      confidence: p.confidence,
      nObservations: p.nObservations,
      hops: p.hops,
      seq: p.seq,
      consensus: undefined,
    });
  }

  /**
   * Emits the queued synthesis events, now that the engine is free to answer consensus() (the
   * local listener first: it is the latency that matters), then encodes, stores and publishes
   * the synthesized packets.
   */
  #flushSynthEvents(): void {
    if (this.#synthPackets.length === 0) return;
    const events = this.#synthEvents;
    const packets = this.#synthPackets;
    this.#synthEvents = [];
    this.#synthPackets = [];
    if (this.listenerCount("synthesis") > 0 || this.log.enabled("debug")) {
      for (const e of events) {
        e.consensus = this.synth.consensus(e.domain);
        this.log.debug("synthesis", { address: e.address, estimate: e.estimate, confidence: e.confidence, n: e.nObservations });
        this.emit("synthesis", e);
      }
    }
    const emitPackets = this.listenerCount("packet") > 0;
    const buf = this.#synthScratch;
    for (const p of packets) {
      codec.encode(p, buf, 0);
      this.#signatures?.sign(buf, 0);
      if (this.store.insert(buf, 0) !== InsertStatus.STORED) continue;
      this.counters.synthesized++;
      this.#send(buf, 0, this.store.cursor, "synthesis", emitPackets);
    }
  }

  #sweep(): void {
    if (this.#closed) return;
    try {
      this.store.sweep();
      this.synth.sweep();
      this.admission.sweep(this.#now());
      this.#flushSynthEvents();
    } catch (err) {
      this.#error(err, { where: "sweep" });
    }
  }

  // ===========================================================================================
  // Queries, subscriptions, stats

  /** Packets of the local store matching `pattern`, after cursor `since`, at most `limit`. */
  query(pattern: string | null, since = 0, limit = 100): { packets: StoredPacket[]; next: number } {
    this.#assertOpen();
    const packets = this.store.collect(pattern, since, limit);
    const last = packets.at(-1);
    return { packets, next: packets.length === limit && last !== undefined ? last.cursor : this.store.cursor };
  }

  /**
   * Connects to one more qis peer at run time (e.g. one found by discovery); `name` must be new.
   * Legacy peers are configured at start only.
   */
  addPeer(peer: { pub: string; store?: string | null; name?: string; publicKey?: string | null }): void {
    this.#assertOpen();
    const name = peer.name ?? peer.pub;
    if (this.#peers.some((p) => p.name === name)) throw new QisError("ERR_PEER_EXISTS", `a peer named "${name}" is already connected`);
    this.#startPeer({ name, pub: peer.pub, store: peer.store ?? null, codec: "qis", publicKey: peer.publicKey ?? null });
    // A peer we subscribe to is let in too, like a configured one.
    if (peer.publicKey) this.#security?.zap?.allow(peer.publicKey);
  }

  /** Disconnects a qis peer, configured or added at run time; false when none has that name (runtime.ts keeps the allowlist). */
  removePeer(name: string): boolean {
    this.#assertOpen();
    const i = this.#peers.findIndex((p) => p.name === name);
    if (i < 0) return false;
    this.#peers.splice(i, 1)[0]!.close();
    return true;
  }

  /** The CURVE allowlist (ZAP); null with plain links. */
  get allowlist(): ZapHandler | null {
    return this.#security?.zap ?? null;
  }

  #startPeer(p: PeerConfig): void {
    const c = this.config;
    const settings = { name: p.name, pub: p.pub, store: p.store, publicKey: p.publicKey ?? null, receiveHwm: c.hwm.receive, ...c.catchUp };
    let peer: ZmqPeer;
    try {
      peer = new ZmqPeer(settings, [...this.#patterns.values()], this.#peerSink(), this.#security!.env);
    } catch (cause) {
      if (cause instanceof QisError) throw cause;
      // libzmq's EMFILE: the context's maxSockets (sized at start, docs/security.md "Limits") or the open-file limit.
      throw new QisError("ERR_SOCKET_LIMIT", `cannot open the sockets for peer ${p.name}: ${(cause as Error).message} (this agent's context holds ${this.#security!.env.context.maxSockets} sockets)`, { cause });
    }
    this.#peers.push(peer);
    peer.start();
  }

  /** Adds a subscription pattern at run time (to every peer; catch-up for it follows). */
  subscribe(pattern: string): void {
    this.#assertOpen();
    if (this.#patterns.has(pattern)) return;
    const p = compilePattern(pattern);
    this.#patterns.set(pattern, p);
    for (const peer of this.#peers) peer.subscribe(p);
    this.#legacy.subscribe(p);
  }

  unsubscribe(pattern: string): boolean {
    this.#assertOpen();
    if (!this.#patterns.delete(pattern)) return false;
    for (const peer of this.#peers) peer.unsubscribe(pattern);
    this.#legacy.unsubscribe(pattern);
    return true;
  }

  get patterns(): string[] {
    return [...this.#patterns.keys()];
  }

  get peers(): readonly ZmqPeer[] {
    return this.#peers;
  }

  stats(): AgentStats {
    return agentStats(this, this.#publisher, this.#storeServer, this.#peers, this.#legacy, this.#uplinks, this.#security, this.#signatures?.stats() ?? null);
  }

  /** Sends whatever the publisher holds now, without waiting for the end of the turn. */
  flush(): void {
    this.#publisher?.flush();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.discovery?.close();
    for (const peer of this.#peers) peer.close();
    this.#publisher?.close();
    this.#storeServer?.close();
    this.#legacy?.close();
    for (const u of this.#uplinks) {
      try {
        await u.close();
      } catch (err) {
        this.log.error("uplink close failed", { uplink: u.name, err });
      }
    }
    this.#security?.zap?.close();
    try {
      this.store.close();
    } finally {
      this.#lock.release();
    }
    if (this.#ready) this.log.info("closed", { nodeId: this.nodeId });
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ===========================================================================================

  #assertOpen(): void {
    if (this.#closed) throw new QisError("ERR_AGENT_CLOSED", "the agent is closed");
  }

  #emitPacket(source: string, buf: Uint8Array, offset: number, cursor: number): void {
    this.emit("packet", { source, cursor, view: this.#view.at(buf, offset) } satisfies PacketEvent);
  }

  #peerState(name: string, endpoint: string, up: boolean): void {
    this.#peerLog.state(name, endpoint, up);
    this.emit("peer", { name, endpoint, up } satisfies PeerEvent);
  }

  #error(err: unknown, context: Record<string, unknown>): void {
    if (!(err instanceof QisError)) this.log.error("unexpected error", { ...context, err });
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }
}

export function createAgent(config: AgentConfig, options?: AgentOptions): Promise<Agent> {
  return Agent.create(config, options);
}

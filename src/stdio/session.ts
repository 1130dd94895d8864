/**
 * A stdio session: an agent driven by a supervisor over stdin/stdout (docs/stdio.md).
 *
 * Every request (every non-blank line, every frame) gets exactly one `ack` or one `error`, in
 * request order. Requests are handled synchronously as their bytes arrive (consecutive
 * observations of one input chunk go to the agent as one observeMany batch); what they produce
 * is collected and written with one write() per input chunk (or per event-loop turn for events
 * from peers and timers).
 *
 * Flow control: the output stream is never waited on. While it is backed up (write() returned
 * false and no "drain" yet) messages queue in memory: acks and errors always; packet and
 * synthesis events up to `maxQueuedEvents`, past which they are dropped and counted
 * (stats().stdio.dropped). When the queue passes `maxQueuedBytes` stdin is paused, so a
 * supervisor that never reads stdout stalls itself, not the agent and not its memory.
 *
 * The session ends on stdin EOF, a `shutdown` request, the parent's death (stdin EOF, a broken
 * stdout, or process.ppid changing) and SIGINT/SIGTERM: the agent is flushed and closed, the
 * queued output written (when someone is still reading) and `done` resolves with the exit code.
 * A session of the control socket (src/control/server.ts, `ownsAgent: false`) ends the same way
 * but leaves the agent open, and drops only the subscriptions it made.
 */
import type { UplinkStateEvent } from "../link/uplink/types.js";
import { readFileSync } from "node:fs";
import type { Agent, ObserveResult, PacketEvent, PeerEvent, SynthesisEvent } from "../agent/agent.js";
import type { Logger } from "../agent/log.js";
import { ObservationError } from "../agent/observation.js";
import { compilePattern, type AddressPattern } from "../address/index.js";
import { QisError } from "../errors.js";
import { nativeStatus, packetToJson, readPacket } from "../packet/index.js";
import { createReader, createWriter, MAX_MESSAGE_BYTES, NdjsonWriter, type CborWriter, type Framing, type MessageSink, type Reader } from "./framing.js";
import {
  checkers,
  ErrorCode,
  OPS,
  PROTOCOL_VERSION,
  QUERY_LIMIT_DEFAULT,
  STATS_EVERY_MIN,
  type Problem,
  type RequestId,
} from "./protocol.js";

export interface StdioOptions {
  framing: Framing;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream & { writableLength?: number };
  logger: Logger;
  /** packet/synthesis events held while stdout is backed up; more are dropped (default 10,000) */
  maxQueuedEvents?: number;
  /** output held while stdout is backed up before stdin is paused (default 8 MiB) */
  maxQueuedBytes?: number;
  /** how often process.ppid is checked, ms (default 500; 0: never) */
  parentPollMs?: number;
  /** how long the end waits for stdout to take the last messages, ms (default 500) */
  drainTimeoutMs?: number;
  maxMessageBytes?: number;
  /** false: the session is one of several clients (src/control): its end leaves the agent open (default true) */
  ownsAgent?: boolean;
  /** where subscribe/unsubscribe go (default: the agent); a control client's are counted per client (src/control/subscriptions.ts) */
  subscriptions?: SessionSubscriptions;
  /** `packet` events for the agent's own observations too (a control client's watch sees other clients' observations) */
  localPackets?: boolean;
}

/** The agent's subscriptions as a session changes them. */
export interface SessionSubscriptions {
  subscribe(pattern: string): void;
  unsubscribe(pattern: string): boolean;
  readonly patterns: string[];
  /** the session ended: drop what it subscribed */
  release?(): void;
}

export interface StdioCounters {
  requests: number;
  acks: number;
  errors: number;
  events: { packet: number; synthesis: number; peer: number; uplink: number; stats: number };
  dropped: { packet: number; synthesis: number };
  /** times stdout was backed up (write() returned false) */
  backedUp: number;
  /** times stdin was paused because the queue passed maxQueuedBytes */
  inputPaused: number;
}

const pkgVersion = ((): string => {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
})();

const OP_LIST = OPS.join(", ");
const U32 = 0xffff_ffff;
/** Observations handed to the agent in one observeMany call at most. */
const OBSERVE_BATCH = 256;

export class StdioSession {
  readonly #agent: Agent;
  readonly #framing: Framing;
  readonly #in: NodeJS.ReadableStream;
  readonly #out: StdioOptions["output"];
  readonly #log: Logger;
  readonly #reader: Reader;
  readonly #writer: ReturnType<typeof createWriter>;
  /** the ndjson writer, when that is the framing (fast path for observe acks) */
  readonly #nd: NdjsonWriter | null;
  readonly #cbor: boolean;
  readonly #maxQueuedEvents: number;
  readonly #maxQueuedBytes: number;
  readonly #drainTimeoutMs: number;
  readonly #maxMessageBytes: number;
  readonly #ownsAgent: boolean;
  readonly #subs: SessionSubscriptions;
  readonly #localPackets: boolean;
  readonly counters: StdioCounters = {
    requests: 0,
    acks: 0,
    errors: 0,
    events: { packet: 0, synthesis: 0, peer: 0, uplink: 0, stats: 0 },
    dropped: { packet: 0, synthesis: 0 },
    backedUp: 0,
    inputPaused: 0,
  };
  /** packet event filters, by pattern text */
  readonly #filters = new Map<string, AddressPattern>();
  /** stdout returned false; waiting for "drain" */
  #blocked = false;
  #queuedEvents = 0;
  #pausedInput = false;
  #flushScheduled = false;
  #ending = false;
  #pendingObserves: { obs: Record<string, unknown>; id: RequestId | undefined; n: number }[] = [];
  #statsTimer: NodeJS.Timeout | null = null;
  #parentTimer: NodeJS.Timeout | null = null;
  #resolve!: (code: number) => void;
  /** resolves with the exit code once the session is over and the agent closed */
  readonly done: Promise<number>;

  constructor(agent: Agent, options: StdioOptions) {
    this.#agent = agent;
    this.#framing = options.framing;
    this.#in = options.input;
    this.#out = options.output;
    this.#log = options.logger;
    this.#maxQueuedEvents = options.maxQueuedEvents ?? 10_000;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 8 << 20;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 500;
    this.#maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.#ownsAgent = options.ownsAgent ?? true;
    this.#subs = options.subscriptions ?? agent;
    this.#localPackets = options.localPackets ?? false;
    this.#writer = createWriter(this.#framing);
    this.#nd = this.#writer instanceof NdjsonWriter ? this.#writer : null;
    this.#cbor = this.#framing === "cbor";
    const sink: MessageSink = {
      message: (value, n) => this.#request(value, n),
      bad: (code, reason, n, problems) => {
        this.counters.requests++;
        this.#error(code, reason, n, undefined, undefined, problems);
      },
    };
    this.#reader = createReader(this.#framing, sink, this.#maxMessageBytes);
    this.done = new Promise((resolve) => (this.#resolve = resolve));

    agent.on("synthesis", this.#onSynthesis);
    agent.on("peer", this.#onPeer);
    agent.on("uplink", this.#onUplink);
    agent.on("error", this.#onAgentError);
    this.#out.on("drain", this.#onDrain);
    this.#out.on("error", this.#onOutputError);
    this.#in.on("data", this.#onData);
    this.#in.on("end", this.#onEnd);
    this.#in.on("error", this.#onInputError);
    const poll = options.parentPollMs ?? 500;
    if (poll > 0) {
      const parent = process.ppid;
      this.#parentTimer = setInterval(() => {
        if (process.ppid !== parent) void this.end("parent gone", { drain: false });
      }, poll);
      this.#parentTimer.unref();
    }
    this.#ready();
  }

  // ===========================================================================================
  // Input

  readonly #onData = (chunk: Buffer | string): void => {
    if (this.#ending) return;
    this.#reader.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    this.#drainObserves();
    this.#flush();
  };

  readonly #onEnd = (): void => {
    if (this.#ending) return;
    this.#reader.end();
    this.#drainObserves();
    void this.end("stdin closed");
  };

  readonly #onInputError = (err: Error): void => {
    this.#log.warn("stdin error", { err });
    void this.end("stdin error", { drain: false });
  };

  #request(msg: unknown, n: number): void {
    if (this.#ending) return; // after shutdown: not answered
    this.counters.requests++;
    if (typeof msg !== "object" || msg === null || Array.isArray(msg) || msg instanceof Uint8Array || msg instanceof Map) {
      this.#error(ErrorCode.NOT_OBJECT, `expected a ${this.#cbor ? "CBOR map with text keys" : "JSON object"}, got ${describe(msg)}`, n, undefined, undefined, undefined);
      return;
    }
    const m = msg as Record<string, unknown>;
    const op = m.op;
    const id = m.id as RequestId | undefined;
    // (IdSchema, inlined: this runs for every request)
    if (id !== undefined && !(typeof id === "number" ? Number.isSafeInteger(id) : typeof id === "string" && id.length <= 256)) {
      this.#error(ErrorCode.REQUEST, "invalid id: expected a string (at most 256 characters) or an integer", n, undefined, typeof op === "string" ? op : undefined, [
        { path: "/id", message: "must be a string of at most 256 characters or a safe integer" },
      ]);
      return;
    }
    if (op === "observe") {
      this.#observe(m, id, n);
      return;
    }
    this.#drainObserves();
    if (typeof op !== "string") {
      this.#error(ErrorCode.OP, op === undefined ? `no "op": expected one of ${OP_LIST}` : `"op" must be a string, one of ${OP_LIST}`, n, id, undefined, [{ path: "/op", message: "required: one of " + OP_LIST }]);
      return;
    }
    try {
      switch (op) {
        case "query":
          return this.#query(m, id, n);
        case "subscribe":
          return this.#subscribe(m, id, n);
        case "unsubscribe":
          return this.#unsubscribe(m, id, n);
        case "stats":
          return this.#stats(m, id, n);
        case "flush":
          if (!this.#valid(checkers.flush, m, id, n, op)) return;
          this.#agent.flush();
          return this.#ack(id, op, {});
        case "shutdown":
          if (!this.#valid(checkers.shutdown, m, id, n, op)) return;
          this.#ack(id, op, {});
          void this.end("shutdown request");
          return;
        default:
          this.#error(ErrorCode.OP, `unknown op ${JSON.stringify(op.length > 40 ? `${op.slice(0, 40)}...` : op)}: expected one of ${OP_LIST}`, n, id, undefined, [
            { path: "/op", message: `must be one of ${OP_LIST}` },
          ]);
      }
    } catch (err) {
      this.#caught(err, n, id, op);
    }
  }

  /** The hot path: copy the observation's fields, hand them to the agent, ack. */
  #observe(m: Record<string, unknown>, id: RequestId | undefined, n: number): void {
    const obs: Record<string, unknown> = {};
    for (const k in m) {
      if (k === "op" || k === "id") continue;
      if (k === "__proto__") {
        this.#error(ErrorCode.REQUEST, 'invalid observation: "__proto__" is not a field', n, id, "observe", [{ path: "/__proto__", message: "is not a field of an observation" }]);
        return;
      }
      obs[k] = m[k];
    }
    this.#pendingObserves.push({ obs, id, n });
    if (this.#pendingObserves.length >= OBSERVE_BATCH) this.#drainObserves();
  }

  /**
   * Observations are handed to the agent in batches (observeMany: one store and one synthesis
   * batch), collected while a chunk of input is parsed. Anything else that answers (another
   * request, an error, the end of the chunk) drains them first, so answers stay in request order.
   */
  #drainObserves(): void {
    const batch = this.#pendingObserves;
    if (batch.length === 0) return;
    this.#pendingObserves = [];
    let results: ReturnType<Agent["observeMany"]>;
    try {
      results = this.#agent.observeMany(batch.map((b) => b.obs));
    } catch (err) {
      for (const b of batch) this.#caught(err, b.n, b.id, "observe");
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const r = results[i]!;
      const b = batch[i]!;
      if (r instanceof Error) this.#caught(r, b.n, b.id, "observe");
      else this.#ackObserve(b.id, r);
    }
  }

  #ackObserve(id: RequestId | undefined, r: ObserveResult): void {
    this.counters.acks++;
    if (this.#nd !== null) {
      // Addresses are [a-z0-9_.-] only: no escaping needed.
      this.#nd.addJson(
        id === undefined
          ? `{"event":"ack","op":"observe","address":"${r.address}","seq":${r.seq},"cursor":${r.cursor}}`
          : `{"event":"ack","op":"observe","id":${typeof id === "number" ? id : JSON.stringify(id)},"address":"${r.address}","seq":${r.seq},"cursor":${r.cursor}}`,
      );
    } else {
      (this.#writer as CborWriter).addObserveAck(id, r.address, r.seq, r.cursor);
    }
    this.#checkBacklog();
  }

  #query(m: Record<string, unknown>, id: RequestId | undefined, n: number): void {
    if (!this.#valid(checkers.query, m, id, n, "query")) return;
    const q = m as { pattern?: string | null; since?: number; limit?: number };
    const { packets, next } = this.#agent.query(q.pattern ?? null, q.since ?? 0, q.limit ?? QUERY_LIMIT_DEFAULT);
    this.#ack(id, "query", { packets: packets.map((p) => ({ cursor: p.cursor, ...this.#packetJson(p.packet) })), next });
  }

  #subscribe(m: Record<string, unknown>, id: RequestId | undefined, n: number): void {
    if (!this.#valid(checkers.subscribe, m, id, n, "subscribe")) return;
    const r = m as { pattern: string; packets?: boolean };
    const compiled = compilePattern(r.pattern); // throws AddressError (its code) for a bad pattern
    this.#subs.subscribe(r.pattern);
    if (r.packets !== false) this.#setFilter(r.pattern, compiled);
    this.#ack(id, "subscribe", { pattern: r.pattern, patterns: this.#subs.patterns, packetFilters: [...this.#filters.keys()] });
  }

  #unsubscribe(m: Record<string, unknown>, id: RequestId | undefined, n: number): void {
    if (!this.#valid(checkers.unsubscribe, m, id, n, "unsubscribe")) return;
    const pattern = (m as { pattern: string }).pattern;
    const removed = this.#subs.unsubscribe(pattern);
    const filtered = this.#setFilter(pattern, null);
    this.#ack(id, "unsubscribe", { pattern, removed: removed || filtered, patterns: this.#subs.patterns, packetFilters: [...this.#filters.keys()] });
  }

  #stats(m: Record<string, unknown>, id: RequestId | undefined, n: number): void {
    if (!this.#valid(checkers.stats, m, id, n, "stats")) return;
    const every = (m as { every?: number }).every;
    if (every !== undefined) {
      if (this.#statsTimer !== null) clearInterval(this.#statsTimer);
      this.#statsTimer = null;
      if (every > 0) {
        this.#statsTimer = setInterval(() => {
          if (this.#ending) return;
          this.counters.events.stats++;
          this.#writer.add({ event: "stats", ...this.#statsBody() });
          this.#scheduleFlush();
        }, Math.max(STATS_EVERY_MIN, every));
        this.#statsTimer.unref();
      }
    }
    this.#ack(id, "stats", this.#statsBody());
  }

  #statsBody(): { stats: unknown; stdio: unknown } {
    return {
      stats: this.#agent.stats(),
      stdio: {
        framing: this.#framing,
        ...this.counters,
        queuedBytes: this.#writer.pending + (this.#out.writableLength ?? 0),
        queuedEvents: this.#queuedEvents,
        maxQueuedEvents: this.#maxQueuedEvents,
        packetFilters: [...this.#filters.keys()],
      },
    };
  }

  #valid<T>(c: { check(v: unknown): v is T; problems(v: unknown): Problem[] }, m: Record<string, unknown>, id: RequestId | undefined, n: number, op: string): m is Record<string, unknown> & T {
    if (c.check(m)) return true;
    const problems = c.problems(m);
    this.#error(ErrorCode.REQUEST, `invalid ${op} request: ${problems.map((p) => `${p.path || "/"} ${p.message}`).join("; ")}`, n, id, op, problems);
    return false;
  }

  #caught(err: unknown, n: number, id: RequestId | undefined, op: string): void {
    if (err instanceof ObservationError) {
      const problems = err.problems.flatMap(unknownKeys);
      this.#error(err.code, `invalid observation: ${problems.map((p) => `${p.path || "/"} ${p.message}`).join("; ")}`, n, id, op, problems);
    } else if (err instanceof QisError) {
      this.#error(err.code, err.message, n, id, op, undefined);
    } else {
      this.#log.error("request failed", { op, line: n, err });
      this.#error("ERR_INTERNAL", `internal error: ${(err as Error)?.message ?? String(err)}`, n, id, op, undefined);
    }
  }

  // ===========================================================================================
  // Output

  #ready(): void {
    const a = this.#agent;
    this.#writer.add({
      event: "ready",
      nodeId: a.nodeId,
      epoch: a.epoch,
      endpoints: a.endpoints,
      framing: this.#framing,
      maxMessageBytes: this.#maxMessageBytes,
      versions: { protocol: PROTOCOL_VERSION, qisEdge: pkgVersion, node: process.versions.node },
      native: nativeStatus.loaded,
      ...(nativeStatus.loaded ? { crc: nativeStatus.crc } : { nativeReason: nativeStatus.reason }),
      pid: process.pid,
    });
    this.#flush();
  }

  #ack(id: RequestId | undefined, op: string, body: object): void {
    this.counters.acks++;
    this.#writer.add(id === undefined ? { event: "ack", op, ...body } : { event: "ack", op, id, ...body });
    this.#checkBacklog();
  }

  #error(code: string, reason: string, line: number, id: RequestId | undefined, op: string | undefined, problems: readonly Problem[] | undefined): void {
    this.#drainObserves();
    this.counters.errors++;
    const e: Record<string, unknown> = { event: "error", code, reason, line };
    if (id !== undefined) e.id = id;
    if (op !== undefined) e.op = op;
    if (problems !== undefined) e.problems = problems;
    this.#writer.add(e);
    this.#checkBacklog();
  }

  /** Room for one more packet/synthesis event? Counts the drop when not. */
  #eventRoom(kind: "packet" | "synthesis"): boolean {
    if (this.#ending) return false;
    if (this.#blocked) {
      if (this.#queuedEvents >= this.#maxQueuedEvents) {
        this.counters.dropped[kind]++;
        return false;
      }
      this.#queuedEvents++;
    }
    this.counters.events[kind]++;
    return true;
  }

  readonly #onSynthesis = (e: SynthesisEvent): void => {
    if (!this.#eventRoom("synthesis")) return;
    this.#writer.add({
      event: "synthesis",
      address: e.address,
      domain: e.domain,
      estimate: e.estimate,
      confidence: e.confidence,
      nObservations: e.nObservations,
      hops: e.hops,
      seq: this.#u64(e.seq),
      consensus: e.consensus ?? null,
    });
    this.#scheduleFlush();
  };

  readonly #onPacket = (e: PacketEvent): void => {
    if ((e.source === "local" && !this.#localPackets) || this.#filters.size === 0) return;
    const v = e.view;
    let match = false;
    for (const p of this.#filters.values()) {
      if (p.matchBytes(v.buf, v.addressOffset, v.addressLength)) {
        match = true;
        break;
      }
    }
    if (!match || !this.#eventRoom("packet")) return;
    this.#writer.add({ event: "packet", source: e.source, cursor: e.cursor, packet: this.#packetJson(e.view.buf, e.view.offset) });
    this.#scheduleFlush();
  };

  readonly #onPeer = (e: PeerEvent): void => {
    if (this.#ending) return;
    this.counters.events.peer++;
    this.#writer.add({ event: "peer", name: e.name, endpoint: e.endpoint, up: e.up });
    this.#scheduleFlush();
  };

  /** An uplink's state changed: {name, broker, state, code?, reason?} (docs/uplink.md). */
  readonly #onUplink = (e: UplinkStateEvent): void => {
    if (this.#ending) return;
    this.counters.events.uplink++;
    this.#writer.add({ event: "uplink", ...e });
    this.#scheduleFlush();
  };

  readonly #onAgentError = (err: unknown): void => {
    if (this.#ending) return;
    const e = err as QisError;
    this.#writer.add({ event: "error", source: "agent", code: e.code ?? "ERR_INTERNAL", reason: e.message ?? String(err) });
    this.#scheduleFlush();
  };

  /** Adds or (pattern null) removes a packet event filter; listens to the agent only while there is one. */
  #setFilter(pattern: string, compiled: AddressPattern | null): boolean {
    const had = this.#filters.size > 0;
    let changed: boolean;
    if (compiled === null) changed = this.#filters.delete(pattern);
    else {
      changed = !this.#filters.has(pattern);
      this.#filters.set(pattern, compiled);
    }
    const has = this.#filters.size > 0;
    if (has && !had) this.#agent.on("packet", this.#onPacket);
    if (!has && had) this.#agent.off("packet", this.#onPacket);
    return changed;
  }

  #packetJson(buf: Uint8Array, offset = 0): Record<string, unknown> {
    const json = packetToJson(readPacket(buf, offset)) as unknown as Record<string, unknown>;
    if (this.#cbor) {
      json.seq = this.#u64(json.seq as number);
      json.timestampMs = this.#u64(json.timestampMs as number);
    }
    return json;
  }

  /** Integers past 32 bits as CBOR uint64 (cbor-x would write a float64 for a number). */
  #u64(x: number): number | bigint {
    return this.#cbor && x > U32 && Number.isSafeInteger(x) ? BigInt(x) : x;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  /** Hands what this turn produced to stdout, unless stdout is backed up. */
  #flush(): void {
    if (this.#blocked) return;
    const chunk = this.#writer.take();
    this.#queuedEvents = 0;
    if (chunk === null) return;
    let ok: boolean;
    try {
      ok = this.#out.write(chunk);
    } catch (err) {
      this.#onOutputError(err as Error);
      return;
    }
    if (!ok) {
      this.#blocked = true;
      this.counters.backedUp++;
    }
  }

  #checkBacklog(): void {
    if (this.#blocked && !this.#pausedInput && this.#writer.pending > this.#maxQueuedBytes) {
      this.#pausedInput = true;
      this.counters.inputPaused++;
      this.#in.pause();
    }
  }

  readonly #onDrain = (): void => {
    this.#blocked = false;
    this.#flush();
    if (!this.#blocked && this.#pausedInput) {
      this.#pausedInput = false;
      if (!this.#ending) this.#in.resume();
    }
  };

  readonly #onOutputError = (err: Error): void => {
    // EPIPE: nobody reads our stdout any more (the supervisor died or closed it).
    if (!this.#ending) this.#log.warn("stdout error: ending the session", { err });
    void this.end("stdout error", { drain: false });
  };

  // ===========================================================================================
  // End

  /** Stops reading, flushes and closes the agent, writes what is queued; `done` resolves with 0. */
  async end(why: string, { drain = true } = {}): Promise<void> {
    if (this.#ending) return;
    this.#ending = true;
    this.#log.info("stdio session ending", { why, requests: this.counters.requests });
    this.#in.off("data", this.#onData);
    this.#in.pause();
    if (this.#statsTimer !== null) clearInterval(this.#statsTimer);
    if (this.#parentTimer !== null) clearInterval(this.#parentTimer);
    const a = this.#agent;
    a.off("synthesis", this.#onSynthesis);
    a.off("peer", this.#onPeer);
    a.off("uplink", this.#onUplink);
    a.off("packet", this.#onPacket);
    this.#subs.release?.();
    if (this.#ownsAgent) {
      try {
        if (!a.closed) a.flush();
        await a.close();
      } catch (err) {
        this.#log.error("agent close failed", { err });
      }
    }
    a.off("error", this.#onAgentError);
    if (drain) await this.#drain();
    this.#resolve(0);
  }

  /** Waits (at most drainTimeoutMs) until stdout has taken everything queued. */
  async #drain(): Promise<void> {
    const deadline = Date.now() + this.#drainTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.#blocked) this.#flush();
      if (!this.#blocked && this.#writer.pending === 0 && (this.#out.writableLength ?? 0) === 0) return;
      await new Promise((r) => setTimeout(r, 5));
    }
    this.#log.warn("stdout not drained at exit", { queuedBytes: this.#writer.pending + (this.#out.writableLength ?? 0) });
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "a byte string";
  if (v instanceof Map) return "a map with non-text keys";
  return `a ${typeof v}`;
}

const EXTRA = "must not have additional properties: ";
/** The agent reports unknown keys as one problem at the object; a path per key says more. */
function unknownKeys(p: Problem): Problem[] {
  if (!p.message.startsWith(EXTRA)) return [p];
  return p.message
    .slice(EXTRA.length)
    .split(", ")
    .map((k) => ({ path: `${p.path}/${k.replaceAll("~", "~0").replaceAll("/", "~1")}`, message: "is not a field of an observation" }));
}

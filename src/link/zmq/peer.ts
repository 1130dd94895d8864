/**
 * One peer: a SUB connected to its PUB endpoint (one prefix filter per pattern, exact match
 * after it) and, when it has one, a DEALER to its store endpoint for catch-up.
 *
 * Catch-up (docs/delivery.md): per pattern we keep a watermark, the peer's store cursor up to
 * which we hold every matching packet. We ask the store for everything after it on every
 * (re)connect and when the peer restarted (its epoch changed); when a batch header shows that
 * we missed a batch (its `prev` lies beyond both the watermark and the last batch we saw on that
 * address), only the missed cursor range (catch-up-plan.ts). Every packet, live or caught up, is verified and its address checked here;
 * the sink stores, deduplicates and synthesizes.
 */
import * as zmq from "zeromq";
import type { AddressPattern } from "../../address/index.js";
import { codec, PACKET_SIZE, OFFSETS, VERDICT_CODES } from "../../packet/index.js";
import { StoreClient, type Page } from "./store-client.js";
import { clientOptions, type LinkEnv } from "./socket-env.js";
import { decodeBatchHeader, Kind, WireError, type BatchHeader } from "./wire.js";
import { LIVE_MAX_FRAME, MAX_BATCH } from "./limits.js";
import { CatchUpPlan, type CatchUpDue } from "./catch-up-plan.js";
import { SettleTimer } from "./catch-up-settle.js";

export { MAX_BATCH } from "./limits.js";
/** Verdict code for a valid packet whose address is not the one it came under. */
export const ADDRESS_MISMATCH = 255;
/** Addresses whose last batch cursor we remember per peer; beyond it we forget (and may re-fetch). */
const MAX_LANES = 4096;

export interface PeerSettings {
  name: string;
  pub: string;
  store: string | null;
  receiveHwm: number;
  pageSize: number;
  timeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** pages fetched per catch-up at most (over all patterns); beyond it the peer is marked and backed off */
  maxPages: number;
  /** the peer's CURVE public key (Z85); null: a plain link */
  publicKey?: string | null;
}

export interface PeerSink {
  /** count packets at packets[i·512]; codes[i] is 0 for a valid packet, else why it is not */
  deliver(peer: ZmqPeer, packets: Uint8Array, count: number, codes: Uint8Array, source: "live" | "catch-up"): void;
  /** a message or packets refused: `code` is stable (ERR_WIRE_*, ERR_PACKET_*, ERR_ADDRESS_MISMATCH) */
  invalid(peer: ZmqPeer, code: string, reason: string, packets: number): void;
  up(peer: ZmqPeer): void;
  down(peer: ZmqPeer): void;
  /** a connection attempt failed (refused, unreachable); ZeroMQ tries again in retryMs */
  unreachable?(peer: ZmqPeer, retryMs: number): void;
  caughtUp(peer: ZmqPeer, packets: number): void;
  /** something unexpected (a bug or the sink throwing); the link goes on */
  error(peer: ZmqPeer, err: unknown): void;
}

export interface PeerCounters {
  messages: number;
  packets: number;
  invalidMessages: number;
  invalidPackets: number;
  gaps: number;
  catchUps: number;
  caughtUpPackets: number;
  queryFailures: number;
  /** replies refused: more packets than asked, or a `next`/`head` that does not move forward */
  badReplies: number;
  /** catch-ups stopped at maxPages */
  pageCaps: number;
  /** handshakes the peer refused (our key is not on its allowlist) */
  refusals: number;
}

/** Why catch-up from a peer was stopped: the peer is marked with it until a catch-up completes. */
export const CatchUpProblem = {
  PAGE_CAP: "ERR_CATCHUP_PAGE_CAP",
  PAGING: "ERR_WIRE_PAGING",
} as const;

export class ZmqPeer {
  readonly name: string;
  readonly settings: PeerSettings;
  readonly counters: PeerCounters = { messages: 0, packets: 0, invalidMessages: 0, invalidPackets: 0, gaps: 0, catchUps: 0, caughtUpPackets: 0, queryFailures: 0, badReplies: 0, pageCaps: 0, refusals: 0 };
  up = false;
  /** the code of the last catch-up problem (a page cap, a bad reply) until a catch-up completes cleanly; null: none */
  catchUpProblem: string | null = null;
  readonly #sub: zmq.Subscriber;
  readonly #client: StoreClient | null;
  readonly #sink: PeerSink;
  readonly #patterns = new Map<string, AddressPattern>();
  /** per pattern: the peer's store cursor up to which we hold every match */
  readonly #marks = new Map<string, number>();
  /** per address (latin-1 of its bytes): the last cursor of the last batch seen */
  readonly #lanes = new Map<string, number>();
  #epoch: number | null = null;
  /** what the next catch-up fetches */
  readonly #plan = new CatchUpPlan();
  readonly #settle = new SettleTimer(() => this.#settleGaps());
  #catchUpRunning = false;
  #catchUpAgain = false;
  /** consecutive catch-ups that ended with a problem: the next one waits retryMinMs·2^n (≤ retryMaxMs) */
  #strikes = 0;
  #backoffTimer: NodeJS.Timeout | null = null;
  /** consecutive handshakes the peer refused (ZAP: our key is not on its allowlist) */
  #refusals = 0;
  #relinkTimer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #codes: Uint8Array;
  readonly #header: BatchHeader = { kind: 0, epoch: 0, prev: 0, last: 0 };

  constructor(settings: PeerSettings, patterns: readonly AddressPattern[], sink: PeerSink, env?: LinkEnv) {
    this.name = settings.name;
    this.settings = settings;
    this.#sink = sink;
    this.#codes = new Uint8Array(Math.max(MAX_BATCH, settings.pageSize));
    const security = clientOptions(env, settings.publicKey ?? null, settings.name);
    this.#sub = new zmq.Subscriber({
      ...security,
      receiveHighWaterMark: settings.receiveHwm,
      // A larger frame drops the connection before libzmq allocates it (docs/security.md).
      maxMessageSize: LIVE_MAX_FRAME,
      linger: 0,
      // ZeroMQ reconnects by itself, doubling the interval up to the cap.
      reconnectInterval: 100,
      reconnectMaxInterval: 5000,
      // Notice a peer that vanished without closing its TCP connection (power cut).
      heartbeatInterval: 1000,
      heartbeatTimeout: 3000,
    });
    for (const p of patterns) this.#addPattern(p);
    this.#client = settings.store === null ? null : new StoreClient(settings.store, { pageSize: settings.pageSize, socket: security });
  }

  /** Connects and starts the receive and event loops. */
  start(): void {
    // The event observer must exist before connect(), or it can miss the first handshake.
    void this.#events();
    void this.#receive();
    this.#sub.connect(this.settings.pub);
  }

  subscribe(pattern: AddressPattern): void {
    if (this.#patterns.has(pattern.pattern)) return;
    this.#addPattern(pattern);
    if (this.up) this.requestCatchUp();
  }

  unsubscribe(pattern: string): void {
    const p = this.#patterns.get(pattern);
    if (p === undefined) return;
    this.#patterns.delete(pattern);
    this.#marks.delete(pattern);
    // A prefix shared with another pattern stays: ZeroMQ counts subscriptions, so remove ours once.
    this.#sub.unsubscribe(p.literalPrefix);
  }

  get patterns(): string[] {
    return [...this.#patterns.keys()];
  }

  get epoch(): number | null {
    return this.#epoch;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#backoffTimer !== null) clearTimeout(this.#backoffTimer);
    if (this.#relinkTimer !== null) clearTimeout(this.#relinkTimer);
    this.#settle.close();
    this.#sub.close();
    this.#client?.close();
  }

  /**
   * The peer refused our key. libzmq then stops reconnecting, so that a stranger costs one
   * handshake; but we may be added to the peer's allowlist later: connect again after
   * retryMinMs·2ⁿ, at most retryMaxMs, the store link too.
   */
  #refused(): void {
    this.counters.refusals++;
    this.#sink.invalid(this, "ERR_PEER_REFUSED", `${this.settings.pub} refused our CURVE key: is our public key in its peers or security.allow?`, 0);
    if (this.#relinkTimer !== null) return;
    const s = this.settings;
    const wait = Math.min(s.retryMaxMs, s.retryMinMs * 2 ** Math.min(this.#refusals++, 20));
    this.#relinkTimer = setTimeout(() => {
      this.#relinkTimer = null;
      if (this.#closed) return;
      try {
        this.#sub.disconnect(s.pub);
      } catch {
        // already gone with the refused session
      }
      this.#sub.connect(s.pub);
      this.#client?.relink();
    }, wait);
    this.#relinkTimer.unref();
  }

  #addPattern(p: AddressPattern): void {
    this.#patterns.set(p.pattern, p);
    this.#sub.subscribe(p.literalPrefix);
  }

  async #events(): Promise<void> {
    try {
      for await (const ev of this.#sub.events) {
        // Events still queued when the peer was closed (removed at run time, the agent closing) are not news.
        if (this.#closed) break;
        if (ev.type === "handshake") {
          this.#refusals = 0;
          this.up = true;
          this.#sink.up(this);
          this.requestCatchUp();
        } else if (ev.type === "handshake:error:auth") {
          this.#refused();
        } else if (ev.type === "disconnect") {
          if (this.up) {
            this.up = false;
            this.#sink.down(this);
          }
        } else if (ev.type === "connect:retry") {
          this.#sink.unreachable?.(this, ev.interval);
        } else if (ev.type === "end") break;
      }
    } catch (err) {
      if (!this.#closed) this.#sink.error(this, err);
    }
  }

  async #receive(): Promise<void> {
    try {
      for await (const frames of this.#sub) {
        try {
          this.#onMessage(frames);
        } catch (err) {
          this.#sink.error(this, err);
        }
      }
    } catch (err) {
      if (!this.#closed) this.#sink.error(this, err);
    }
  }

  #onMessage(frames: Buffer[]): void {
    this.counters.messages++;
    const [addressFrame, headerFrame] = frames;
    let packets = frames[2];
    if (addressFrame === undefined || headerFrame === undefined || frames.length > 3) {
      this.#refuseMessage("ERR_WIRE_FRAMES", `a message has 2 or 3 frames (address, header[, packets]): got ${frames.length}`, 0);
      return;
    }
    const h = this.#header;
    try {
      decodeBatchHeader(headerFrame, h);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.#refuseMessage(err.code, err.message, packets === undefined ? 0 : Math.floor(packets.length / PACKET_SIZE));
      return;
    }
    const address = addressFrame.toString("latin1");
    let matched = false;
    for (const p of this.#patterns.values()) {
      if (p.match(address)) {
        matched = true;
        break;
      }
    }
    // The prefix filter let through an address that the pattern as a whole does not match.
    if (!matched) return;
    if (h.kind === Kind.TAIL) {
      if (packets !== undefined) this.#refuseMessage("ERR_WIRE_FRAMES", "a tail marker carries no packets", 0);
      else this.#track(address, h.epoch, h.prev, h.prev);
      return;
    }
    if (packets === undefined || packets.length === 0 || packets.length % PACKET_SIZE !== 0 || packets.length > MAX_BATCH * PACKET_SIZE) {
      this.#refuseMessage("ERR_WIRE_BATCH", `a batch carries 1..${MAX_BATCH} whole 512-byte packets: got ${packets?.length ?? 0} bytes`, 0);
      return;
    }
    this.#track(address, h.epoch, h.prev, h.last);
    this.#settle.batch(performance.now());
    packets = aligned(packets);
    const count = packets.length / PACKET_SIZE;
    const codes = this.#codes;
    codec.verifyBatch(packets, codes);
    for (let i = 0; i < count; i++) if (codes[i] === 0 && !sameAddress(packets, i * PACKET_SIZE, addressFrame)) codes[i] = ADDRESS_MISMATCH;
    this.#hand(packets, count, "live");
  }

  /** Gap detection: see the file comment. */
  #track(address: string, epoch: number, prev: number, last: number): void {
    if (this.#epoch !== epoch) {
      const restarted = this.#epoch !== null;
      this.#epoch = epoch;
      if (restarted) {
        // The peer restarted: its cursors start again (or continue from its store file).
        this.#marks.clear();
        this.#lanes.clear();
        this.#plan.clear();
        this.requestCatchUp();
      }
    }
    const lane = this.#lanes.get(address) ?? 0;
    const seen = Math.max(this.#watermark(), lane);
    if (prev > seen) {
      this.counters.gaps++;
      this.#plan.gap(seen, prev);
      this.#settle.gap(performance.now());
      this.#runCatchUp();
    } else if (prev === 0 && lane > 0) {
      // The publisher forgot the address (its maxLanes) and restarted its chain: a batch
      // dropped just before left no trace in the chain, so only a full catch-up finds it.
      this.requestCatchUp();
    }
    if (this.#lanes.size >= MAX_LANES && !this.#lanes.has(address)) this.#lanes.clear();
    this.#lanes.set(address, Math.max(seen, last));
  }

  /** After gaps: everything beyond the last cursor seen on each known address (catch-up-settle.ts). */
  #settleGaps(): void {
    let from = Infinity;
    for (const last of this.#lanes.values()) if (last < from) from = last;
    this.#plan.gap(Math.max(this.#watermark(), from === Infinity ? 0 : from), Infinity);
    this.#runCatchUp();
  }

  #watermark(): number {
    let w = Infinity;
    for (const p of this.#patterns.keys()) w = Math.min(w, this.#marks.get(p) ?? 0);
    return w === Infinity ? 0 : w;
  }

  /** Verified packets (codes set) to the sink, counting the invalid ones. */
  #hand(packets: Uint8Array, count: number, source: "live" | "catch-up"): void {
    const codes = this.#codes;
    let bad = 0;
    let firstBad = 0;
    for (let i = 0; i < count; i++) if (codes[i] !== 0 && bad++ === 0) firstBad = codes[i]!;
    this.counters.packets += count - bad;
    if (bad > 0) {
      this.counters.invalidPackets += bad;
      const code = firstBad === ADDRESS_MISMATCH ? "ERR_ADDRESS_MISMATCH" : (VERDICT_CODES[firstBad] ?? `verdict ${firstBad}`);
      this.#sink.invalid(this, code, `${bad} of ${count} packets refused (first: ${code})`, bad);
    }
    if (bad < count) this.#sink.deliver(this, packets, count, codes, source);
  }

  #refuseMessage(code: string, reason: string, packets: number): void {
    this.counters.invalidMessages++;
    this.counters.invalidPackets += packets;
    this.#sink.invalid(this, code, reason, packets);
  }

  /** A full catch-up (from the watermarks): starts it, or asks the running one to go round again. */
  requestCatchUp(): void {
    this.#plan.needFull();
    this.#runCatchUp();
  }

  #runCatchUp(): void {
    if (this.#client === null || this.#closed) return;
    if (this.#catchUpRunning) {
      this.#catchUpAgain = true;
      return;
    }
    // Backing off after a problem: the timer starts the catch-up (a peer cannot make us page faster).
    if (this.#backoffTimer !== null) return;
    this.#catchUpRunning = true;
    void this.#catchUp().finally(() => {
      this.#catchUpRunning = false;
    });
  }

  async #catchUp(): Promise<void> {
    const budget = { total: 0, pages: 0 };
    let due: CatchUpDue | null = null;
    try {
      do {
        this.#catchUpAgain = false;
        this.counters.catchUps++;
        due = this.#plan.take();
        for (const [text, pattern] of [...this.#patterns]) {
          if (this.#closed) return;
          const got = await this.#catchUpPattern(text, pattern, budget, due);
          if (got < 0) break; // the peer restarted under us: start over
        }
        due = null;
        // Gaps seen while this ran may lie beyond what the store had when it answered.
      } while ((this.#catchUpAgain || this.#plan.pending) && !this.#closed);
      this.#strikes = 0;
      this.catchUpProblem = null;
      this.#sink.caughtUp(this, budget.total);
    } catch (err) {
      if (this.#closed) return;
      if (due !== null) this.#plan.putBack(due);
      if (err instanceof CatchUpStop) this.#backOff(err);
      else this.#sink.error(this, err);
    }
  }

  /** Marks the peer, reports why, and schedules the next catch-up after a growing pause. */
  #backOff(stop: CatchUpStop): void {
    this.catchUpProblem = stop.code;
    this.#sink.invalid(this, stop.code, stop.message, 0);
    const s = this.settings;
    const wait = Math.min(s.retryMaxMs, s.retryMinMs * 2 ** Math.min(this.#strikes++, 20));
    this.#catchUpAgain = false;
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = null;
      this.#runCatchUp();
    }, wait);
    this.#backoffTimer.unref();
  }

  /**
   * Pages through one pattern, from its watermark to the head (a full catch-up) or through the
   * missed ranges only; returns the packets received, or -1 when the epoch changed. The watermark
   * moves only over pages that started at it.
   */
  async #catchUpPattern(text: string, pattern: AddressPattern, budget: { total: number; pages: number }, due: CatchUpDue): Promise<number> {
    let got = 0;
    const limit = this.settings.pageSize;
    for (const [from, until] of due.full ? [[0, Infinity] as const] : due.ranges) {
      const mark = this.#marks.get(text) ?? 0;
      let since = Math.max(mark, from);
      if (since >= until) continue;
      const fromMark = since === mark;
      for (;;) {
        if (budget.pages >= this.settings.maxPages) {
          // Keep what we have: the next catch-up goes on from here.
          if (fromMark) this.#marks.set(text, since);
          this.counters.pageCaps++;
          throw new CatchUpStop(CatchUpProblem.PAGE_CAP, `catch-up stopped after ${budget.pages} pages (catchUp.maxPages); the peer's store keeps answering`);
        }
        budget.pages++;
        const page = await this.#queryWithRetry(text, since, limit);
        if (page === null || !this.#patterns.has(text)) return got;
        const { reply, packets } = page;
        if (this.#epoch !== null && reply.epoch !== this.#epoch) {
          this.#marks.clear();
          this.#lanes.clear();
          this.#epoch = reply.epoch;
          this.#plan.clear();
          this.#plan.needFull();
          return -1;
        }
        this.#epoch = reply.epoch;
        // Within one epoch the peer's cursors only grow: a page must move forward and stay within the head.
        if (reply.next > reply.head || reply.next < since || (reply.count > 0 && reply.next === since)) {
          if (fromMark) this.#marks.set(text, since);
          this.counters.badReplies++;
          throw new CatchUpStop(CatchUpProblem.PAGING, `store reply to since ${since}: next ${reply.next}, head ${reply.head}, ${reply.count} packets: pages must move forward (since < next ≤ head)`);
        }
        if (reply.count > 0) this.#deliverPage(aligned(packets), reply.count, pattern);
        got += reply.count;
        budget.total += reply.count;
        this.counters.caughtUpPackets += reply.count;
        since = reply.next;
        // Server pages may be shorter than asked (its own maxReply): go on until we reach its head.
        if (reply.next >= reply.head || reply.count === 0 || reply.next >= until) break;
      }
      if (fromMark) this.#marks.set(text, since);
    }
    return got;
  }

  #deliverPage(packets: Uint8Array, count: number, pattern: AddressPattern): void {
    const codes = this.#codes;
    codec.verifyBatch(packets, codes);
    for (let i = 0; i < count; i++) {
      const o = i * PACKET_SIZE;
      if (codes[i] === 0 && !pattern.matchBytes(packets, o + OFFSETS.address, packets[o + OFFSETS.address_len]!)) codes[i] = ADDRESS_MISMATCH;
    }
    this.#hand(packets, count, "catch-up");
  }

  /** One page, retried with capped, jittered backoff until it comes or the peer is closed. */
  async #queryWithRetry(pattern: string, since: number, limit: number): Promise<Page | null> {
    const s = this.settings;
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        return await this.#client!.query(pattern, since, limit, s.timeoutMs);
      } catch (err) {
        if (this.#closed) return null;
        this.counters.queryFailures++;
        const code = (err as { code?: string }).code;
        if (err instanceof WireError) {
          // A malformed or oversized reply: the peer misbehaves; back off, then try again.
          this.counters.badReplies++;
          throw new CatchUpStop(err.code, err.message);
        }
        // A refused query (bad pattern, ...) will be refused again: report it, do not loop.
        if (code !== "ERR_QUERY_TIMEOUT" && code !== "ERR_QUERY_SEND") {
          this.#sink.invalid(this, code ?? "ERR_QUERY", (err as Error).message, 0);
          return null;
        }
        const cap = Math.min(s.retryMaxMs, s.retryMinMs * 2 ** Math.min(attempt, 20));
        await sleep(cap / 2 + Math.random() * (cap / 2));
      }
    }
    return null;
  }
}

/** Ends a catch-up early: the peer is marked with `code` and backed off. */
class CatchUpStop extends WireError {}

function sameAddress(packets: Uint8Array, o: number, address: Buffer): boolean {
  const len = packets[o + OFFSETS.address_len]!;
  if (len !== address.length) return false;
  const a = o + OFFSETS.address;
  for (let i = 0; i < len; i++) if (packets[a + i] !== address[i]) return false;
  return true;
}

/**
 * ZeroMQ hands over large frames as Buffers over libzmq's own memory, which may start at any
 * address; the codec and the store read packets through Float64Array/Int32Array views. x86-64
 * and arm64 tolerate unaligned reads, 32-bit ARM raises SIGBUS: copy there.
 */
const COPY_FRAMES = process.arch === "arm";

function aligned<T extends Uint8Array>(frame: T): T | Buffer {
  return COPY_FRAMES ? Buffer.from(frame) : frame;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * The agent's PUB socket: packets go out in batches, one ZeroMQ message per address
 * (address frame, batch header, k × 512 bytes), so that SUB prefix filters still work and a
 * loaded link moves tens of packets per message.
 *
 * When a batch is sent: as soon as it is full; at once when the link was idle (nothing sent for
 * 1 ms, nothing pending); else at the end of the current event-loop turn (lingerMs 0: a burst
 * produced in one turn is coalesced) or after lingerMs. Each batch names the store cursor of the previous batch on its address,
 * and idle addresses get tail markers, so that a subscriber can tell when PUB dropped a batch
 * at the high-water mark and fetch it from our store (docs/delivery.md).
 */
import * as zmq from "zeromq";
import { OFFSETS, PACKET_SIZE } from "../../packet/index.js";
import { copyPacket, f64View } from "../../store/copy.js";
import { encodeBatchHeader, Kind } from "./wire.js";
import { SUBSCRIPTION_MAX_FRAME } from "./limits.js";
import { serverOptions, type LinkEnv } from "./socket-env.js";

export interface PublisherOptions {
  /** packets per message, 1..1024 */
  batchSize: number;
  /** 0 = flush at the end of the event-loop turn */
  lingerMs: number;
  /** ZMQ_SNDHWM in messages (0 = unlimited) */
  sendHwm: number;
  /** this agent run's random id, in every header */
  epoch: number;
  /** tail markers for idle addresses every this many ms (default 200) */
  tailIntervalMs?: number;
  /** distinct addresses tracked at once (default 4096) */
  maxLanes?: number;
  /** the agent's context and CURVE keys */
  env?: LinkEnv;
}

/** One address's outgoing state. */
interface Lane {
  /** the 16-byte address hash, the lane's identity */
  readonly hash: Buffer;
  readonly address: Buffer;
  /** the pending batch, allocated per batch: ZeroMQ sends large frames zero-copy and keeps them */
  buf: Buffer | null;
  buf64: Float64Array | null;
  count: number;
  /** store cursor of the last packet of the last batch sent on this lane (0 = none) */
  prev: number;
  /** store cursor of the last packet in the pending batch */
  last: number;
  /** tail markers still to send (each batch re-arms it: the marker may itself be dropped) */
  markers: number;
  /** hash-bucket chain */
  next: Lane | null;
}

const HASH_AT = OFFSETS.address_hash;
const ADDR_AT = OFFSETS.address;
const LEN_AT = OFFSETS.address_len;
const TAIL_MARKERS = 2;
/**
 * A packet arriving when nothing was sent for this long (ms) and nothing is pending goes out at
 * once, alone: light traffic pays no batching delay. Under load the first packet of a burst
 * goes alone and the rest are batched.
 */
const IDLE_MS = 1;

export class ZmqPublisher {
  readonly endpoint: string;
  readonly #sock: zmq.Publisher;
  readonly #opts: Required<Omit<PublisherOptions, "env">>;
  readonly #lanes = new Map<number, Lane>();
  #laneCount = 0;
  #recent: Lane | null = null;
  /** the last source buffer and its Float64Array view (copies without a view per packet) */
  #src: Uint8Array | null = null;
  #src64: Float64Array | null = null;
  /** performance.now() of the last batch sent */
  #lastSend = 0;
  /** lanes with a pending batch, in the order they got their first packet */
  #pending: Lane[] = [];
  #flushScheduled = false;
  readonly #tailTimer: NodeJS.Timeout;
  #closed = false;
  /** counters */
  packets = 0;
  messages = 0;
  sendErrors = 0;

  private constructor(sock: zmq.Publisher, endpoint: string, opts: Required<Omit<PublisherOptions, "env">>) {
    this.#sock = sock;
    this.endpoint = endpoint;
    this.#opts = opts;
    this.#tailTimer = setInterval(() => this.#sendTails(), opts.tailIntervalMs);
    this.#tailTimer.unref();
  }

  static async bind(endpoint: string, options: PublisherOptions): Promise<ZmqPublisher> {
    const { env, ...rest } = options;
    const opts = { tailIntervalMs: 200, maxLanes: 4096, ...rest };
    // sendTimeout 0: a send never waits (PUB drops at the HWM instead), so un-awaited sends
    // never pile up in zeromq.js (EBUSY); linger 0: close() does not hang on a dead peer.
    // maxMessageSize: subscribers send only subscriptions (a prefix); more drops the connection.
    const sock = new zmq.Publisher({ ...serverOptions(env), sendHighWaterMark: opts.sendHwm, sendTimeout: 0, linger: 0, maxMessageSize: SUBSCRIPTION_MAX_FRAME });
    try {
      await sock.bind(endpoint);
    } catch (cause) {
      sock.close();
      throw cause;
    }
    return new ZmqPublisher(sock, sock.lastEndpoint ?? endpoint, opts);
  }

  /**
   * Queues the verified packet at src[offset, offset + 512) (copied now: the caller may reuse
   * its buffer), `cursor` being its cursor in our store.
   */
  publish(src: Uint8Array, offset: number, cursor: number): void {
    if (this.#closed) return;
    const lane = this.#lane(src, offset);
    if (this.#pending.length === 0 && performance.now() - this.#lastSend > IDLE_MS) {
      this.#sendAlone(lane, src, offset, cursor);
      return;
    }
    if (lane.buf === null) {
      lane.buf = Buffer.allocUnsafeSlow(this.#opts.batchSize * PACKET_SIZE);
      lane.buf64 = f64View(lane.buf);
      this.#pending.push(lane);
    }
    if (src !== this.#src) {
      this.#src = src;
      this.#src64 = f64View(src);
    }
    copyPacket(src, this.#src64, offset, lane.buf, lane.buf64, lane.count * PACKET_SIZE);
    lane.count++;
    lane.last = cursor;
    this.packets++;
    if (lane.count === this.#opts.batchSize) this.#send(lane);
    else this.#scheduleFlush();
  }

  /**
   * An idle link (nothing pending, nothing sent for IDLE_MS): the packet goes out at once, in a
   * message of its own, from a pooled 512-byte buffer rather than a fresh batch buffer, so that
   * light traffic pays neither batching delay nor a batch-sized allocation.
   */
  #sendAlone(lane: Lane, src: Uint8Array, offset: number, cursor: number): void {
    const one = Buffer.allocUnsafe(PACKET_SIZE);
    one.set(src.subarray(offset, offset + PACKET_SIZE));
    this.packets++;
    this.#sendBatch(lane, one, cursor);
  }

  /** Sends every pending batch now. */
  flush(): void {
    // Let go of the caller's buffer: the view would keep a whole batch buffer alive until the next publish.
    this.#src = null;
    this.#src64 = null;
    const pending = this.#pending;
    this.#pending = [];
    for (const lane of pending) if (lane.count > 0) this.#send(lane);
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    clearInterval(this.#tailTimer);
    this.#sock.close();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    const run = (): void => {
      this.#flushScheduled = false;
      this.flush();
    };
    if (this.#opts.lingerMs === 0) setImmediate(run);
    else setTimeout(run, this.#opts.lingerMs);
  }

  /** Sends the lane's pending batch. */
  #send(lane: Lane): void {
    const buf = lane.buf!;
    const bytes = lane.count * PACKET_SIZE;
    this.#sendBatch(lane, bytes === buf.length ? buf : buf.subarray(0, bytes), lane.last);
    lane.buf = null;
    lane.buf64 = null;
    lane.count = 0;
  }

  /** One batch message on the lane: its packets, `last` the cursor of the last one; re-arms the tail markers. */
  #sendBatch(lane: Lane, packets: Buffer, last: number): void {
    this.#write([lane.address, encodeBatchHeader(Kind.BATCH, this.#opts.epoch, lane.prev, last), packets]);
    lane.prev = last;
    lane.markers = TAIL_MARKERS;
    this.#lastSend = performance.now();
  }

  #sendTails(): void {
    if (this.#closed) return;
    for (const head of this.#lanes.values()) {
      for (let lane: Lane | null = head; lane !== null; lane = lane.next) {
        if (lane.markers === 0 || lane.count > 0) continue;
        lane.markers--;
        this.#write([lane.address, encodeBatchHeader(Kind.TAIL, this.#opts.epoch, lane.prev, lane.prev)]);
      }
    }
  }

  #write(frames: Buffer[]): void {
    this.messages++;
    // PUB never blocks: a full queue drops the message, which subscribers detect (prev chain).
    this.#sock.send(frames).catch(() => {
      this.sendErrors++;
    });
  }

  #lane(src: Uint8Array, offset: number): Lane {
    const h = offset + HASH_AT;
    // Runs of one address are common (a sensor's burst): try the last lane first.
    const recent = this.#recent;
    if (recent !== null && sameHash(recent.hash, src, h)) return recent;
    const lane = this.#findLane(src, offset, h);
    this.#recent = lane;
    return lane;
  }

  #findLane(src: Uint8Array, offset: number, h: number): Lane {
    const key = (src[h]! | (src[h + 1]! << 8) | (src[h + 2]! << 16) | (src[h + 3]! << 24)) >>> 0;
    const head = this.#lanes.get(key);
    for (let l = head ?? null; l !== null; l = l.next) if (sameHash(l.hash, src, h)) return l;
    if (this.#laneCount >= this.#opts.maxLanes) this.#evictIdle();
    const a = offset + ADDR_AT;
    const lane: Lane = {
      hash: Buffer.from(src.subarray(h, h + 16)),
      address: Buffer.from(src.subarray(a, a + src[offset + LEN_AT]!)),
      buf: null,
      buf64: null,
      count: 0,
      prev: 0,
      last: 0,
      markers: 0,
      next: this.#lanes.get(key) ?? null,
    };
    this.#lanes.set(key, lane);
    this.#laneCount++;
    return lane;
  }

  /**
   * At maxLanes: send what is pending and forget every lane (rare: maxLanes distinct addresses
   * in use at once). A forgotten lane restarts its chain at prev 0, which a subscriber reads as
   * "no gap"; a batch dropped just before is still fetched by the next catch-up of that peer.
   */
  #evictIdle(): void {
    this.flush();
    this.#lanes.clear();
    this.#laneCount = 0;
    this.#recent = null;
  }
}

function sameHash(hash: Buffer, src: Uint8Array, at: number): boolean {
  for (let i = 0; i < 16; i++) if (hash[i] !== src[at + i]) return false;
  return true;
}

/**
 * Answers the reference Python nodes' store queries (REQ/REP) from our PacketStore: the request
 * is a legacy topic prefix (UTF-8), the reply the JSON array of the last `replyLimit` packets
 * whose legacy topic starts with it, oldest first, each
 * `{"domain": …, "outcome_delta": …, "confidence": …, "n_observations": …}`, formatted as
 * Python's json.dumps does (docs/legacy.md); n_observations clamped to the i32 the legacy PUB
 * sends (legacyCount).
 */
import * as zmq from "zeromq";
import { LEGACY_MAX_FRAME } from "../zmq/limits.js";
import { readF32, readU32 } from "../../packet/bytes.js";
import { OFFSETS } from "../../packet/index.js";
import { shortestF32 } from "../../packet/json.js";
import type { PacketStore } from "../../store/index.js";
import { isValidAddress } from "../../address/index.js";
import { LegacyError, LegacyErrorCode, legacyCount, writeLegacyTopic } from "./codec.js";

export interface LegacyStoreServerOptions {
  /** packets per reply, 1..10000 (default 50, as the reference nodes) */
  replyLimit?: number;
}

/** Longest request (topic prefix) accepted, in bytes. */
export const MAX_LEGACY_REQUEST = 256;
const MAX_REPLY_LIMIT = 10_000;
const EMPTY = "[]";
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Python's repr() of a float: shortest round-trip digits, `.0` on integers, `1e-05` exponents. */
export function pythonFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${Object.is(x, -0) ? "-0" : String(x)}.0`;
  // toExponential() without an argument gives the shortest round-trip digits, as repr() does.
  const [mantissa, expText] = x.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exp < -4 || exp >= 16) {
    const e = Math.abs(exp);
    return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ""}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" : ""}${e}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  if (digits.length > exp + 1) return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return `${sign}${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
}

export class LegacyStoreServer {
  readonly endpoint: string;
  readonly #sock: zmq.Reply;
  readonly #store: PacketStore;
  readonly #limit: number;
  // The last `limit` matches of a query, as a ring (all allocated here).
  readonly #delta: Float64Array;
  readonly #confidence: Float64Array;
  readonly #count: Float64Array;
  readonly #domain: Uint8Array;
  readonly #domainLen: Uint8Array;
  readonly #topic = new Uint8Array(128);
  #served = 0;
  #badRequests = 0;
  #closed = false;

  private constructor(sock: zmq.Reply, endpoint: string, store: PacketStore, limit: number) {
    this.#sock = sock;
    this.endpoint = endpoint;
    this.#store = store;
    this.#limit = limit;
    this.#delta = new Float64Array(limit);
    this.#confidence = new Float64Array(limit);
    this.#count = new Float64Array(limit);
    this.#domain = new Uint8Array(limit * 32);
    this.#domainLen = new Uint8Array(limit);
    void this.#serve();
  }

  static async bind(endpoint: string, store: PacketStore, options: LegacyStoreServerOptions = {}): Promise<LegacyStoreServer> {
    if (typeof endpoint !== "string" || endpoint.length === 0)
      throw new LegacyError(LegacyErrorCode.ARGUMENT, "LegacyStoreServer.bind: endpoint must be a non-empty string");
    if (typeof store !== "object" || store === null || typeof store.query !== "function")
      throw new LegacyError(LegacyErrorCode.ARGUMENT, "LegacyStoreServer.bind: store must be a PacketStore");
    const limit = options.replyLimit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REPLY_LIMIT)
      throw new LegacyError(LegacyErrorCode.ARGUMENT, `LegacyStoreServer.bind: replyLimit ${String(limit)}: expected an integer in 1..${MAX_REPLY_LIMIT}`);
    const sock = new zmq.Reply({ linger: 0, maxMessageSize: LEGACY_MAX_FRAME });
    try {
      await sock.bind(endpoint);
    } catch (error) {
      sock.close();
      throw error;
    }
    return new LegacyStoreServer(sock, sock.lastEndpoint ?? endpoint, store, limit);
  }

  /** Requests answered (bad ones included). */
  get served(): number {
    return this.#served;
  }

  /** Requests answered `[]` because they were not one UTF-8 frame of at most 256 bytes (or the store failed). */
  get badRequests(): number {
    return this.#badRequests;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
  }

  async #serve(): Promise<void> {
    const sock = this.#sock;
    try {
      for await (const frames of sock) {
        // A REP socket must answer every request, or the REQ peer stalls: anything wrong is `[]`.
        let reply: string;
        try {
          reply = this.#answer(frames);
        } catch {
          this.#badRequests++;
          reply = EMPTY;
        }
        this.#served++;
        try {
          await sock.send(reply);
        } catch {
          if (this.#closed) return;
        }
      }
    } catch {
      // Closing ends the loop; any other socket failure ends it too (nothing to answer with).
    }
  }

  #answer(frames: Buffer[]): string {
    const request = frames[0];
    if (frames.length !== 1 || request === undefined || request.length > MAX_LEGACY_REQUEST) {
      this.#badRequests++;
      return EMPTY;
    }
    let prefix: string;
    try {
      prefix = utf8.decode(request);
    } catch {
      this.#badRequests++;
      return EMPTY;
    }
    return this.#query(request, prefix);
  }

  #query(prefix: Uint8Array, prefixText: string): string {
    const limit = this.#limit;
    const topic = this.#topic;
    const pattern = patternFor(prefixText);
    if (pattern === undefined) return EMPTY;
    let n = 0;
    this.#store.query(pattern, 0, Infinity, (buf, offset) => {
      const len = writeLegacyTopic(buf, offset, topic);
      // len - 10: the domain token, which a valid address keeps within 32 bytes.
      if (len < prefix.length || len - 10 > 32) return;
      for (let i = 0; i < prefix.length; i++) if (topic[i] !== prefix[i]) return;
      const slot = n % limit;
      n++;
      this.#delta[slot] = readF32(buf, offset + OFFSETS.outcome_delta);
      this.#confidence[slot] = readF32(buf, offset + OFFSETS.confidence);
      this.#count[slot] = legacyCount(readU32(buf, offset + OFFSETS.n_observations));
      // The domain is topic[4, len - 6).
      const domainLen = len - 10;
      this.#domainLen[slot] = domainLen;
      this.#domain.set(topic.subarray(4, 4 + domainLen), slot * 32);
    });
    if (n === 0) return EMPTY;
    const count = Math.min(n, limit);
    const parts: string[] = new Array<string>(count);
    for (let k = 0; k < count; k++) {
      const slot = (n - count + k) % limit;
      const domain = Buffer.from(this.#domain.buffer, slot * 32, this.#domainLen[slot]!).toString("latin1");
      parts[k] =
        `{"domain": ${JSON.stringify(domain)}, "outcome_delta": ${pythonFloat(shortestF32(this.#delta[slot]!))}, ` +
        `"confidence": ${pythonFloat(shortestF32(this.#confidence[slot]!))}, "n_observations": ${this.#count[slot]!}}`;
    }
    return `[${parts.join(", ")}]`;
  }
}

/**
 * The narrowest store pattern that holds every packet whose legacy topic can start with
 * `prefix`: `qis.<domain>.>` once the prefix names a whole domain token, null (every packet)
 * while it does not, undefined when no legacy topic of ours can start with it.
 */
function patternFor(prefix: string): string | null | undefined {
  if (!prefix.startsWith("qis.")) return "qis.".startsWith(prefix) ? null : undefined;
  const end = prefix.indexOf(".", 4);
  if (end < 0) return null;
  const pattern = `qis.${prefix.slice(4, end)}.>`;
  return isValidAddress(`qis.${prefix.slice(4, end)}.x`) ? pattern : undefined;
}

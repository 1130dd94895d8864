/**
 * The ZAP handler (ZeroMQ RFC 27) that makes CURVE an allowlist: libzmq asks it about every
 * CURVE client connecting to a socket of its context. zeromq.js has none, and without one a
 * CURVE server accepts any client key. It is a ROUTER on inproc://zeromq.zap.01 of the agent's
 * own context, bound before any other socket of that context (libzmq looks for it when a
 * socket's session starts).
 *
 * Request  [identity, "", "1.0", request id, domain, address, routing id, mechanism, credentials...]
 * Reply    [identity, "", "1.0", request id, status code, status text, user id, metadata]
 */
import * as zmq from "zeromq";
import { z85Encode } from "./z85.js";

export const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
/** Keys whose denials are counted one by one; beyond it they are counted together ("other"). */
const MAX_DENIED_KEYS = 1024;

export interface ZapOptions {
  /** called on the 1st, 10th, 100th... denial of a key: logs stay bounded under a flood */
  onDenied?: (key: string, address: string, count: number) => void;
}

export class ZapHandler {
  readonly #sock: zmq.Router;
  readonly #allowed: Set<string>;
  readonly #opts: ZapOptions;
  /** denials per client key (Z85) */
  readonly denied = new Map<string, number>();
  allowedCount = 0;
  #closed = false;

  private constructor(sock: zmq.Router, allowed: Iterable<string>, opts: ZapOptions) {
    this.#sock = sock;
    this.#allowed = new Set(allowed);
    this.#opts = opts;
    void this.#loop();
  }

  /** Binds the handler on `context`: call before creating any other socket on it. */
  static async bind(context: zmq.Context, allowed: Iterable<string>, opts: ZapOptions = {}): Promise<ZapHandler> {
    const sock = new zmq.Router({ context, linger: 0, sendTimeout: 0 });
    await sock.bind(ZAP_ENDPOINT);
    return new ZapHandler(sock, allowed, opts);
  }

  allow(key: string): void {
    this.#allowed.add(key);
  }

  /** Lets a key in no more from the next handshake on (a connection already made stays). */
  disallow(key: string): void {
    this.#allowed.delete(key);
  }

  get allowed(): ReadonlySet<string> {
    return this.#allowed;
  }

  /** Denials: total, and per key (at most MAX_DENIED_KEYS of them, the rest under "other"). */
  get deniedTotal(): number {
    let n = 0;
    for (const v of this.denied.values()) n += v;
    return n;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
  }

  async #loop(): Promise<void> {
    try {
      for await (const frames of this.#sock) {
        const reply = this.#answer(frames);
        if (reply !== null) await this.#sock.send(reply).catch(() => undefined);
      }
    } catch {
      // closed
    }
  }

  #answer(frames: Buffer[]): (Buffer | string)[] | null {
    const [identity, empty, version, requestId, , address, , mechanism, key] = frames;
    if (identity === undefined || empty === undefined || requestId === undefined || mechanism === undefined) return null;
    const reply = (code: string, text: string): (Buffer | string)[] => [identity, empty, "1.0", requestId, code, text, "", ""];
    if (version?.toString() !== "1.0") return reply("500", "unsupported ZAP version");
    const mech = mechanism.toString();
    // Plain sockets of this context (NULL) are not ours to judge: they are plain by design.
    if (mech === "NULL") return reply("200", "OK");
    if (mech !== "CURVE" || key === undefined || key.length !== 32) return reply("400", "CURVE only");
    const z85 = z85Encode(key);
    if (this.#allowed.has(z85)) {
      this.allowedCount++;
      return reply("200", "OK");
    }
    const slot = this.denied.has(z85) || this.denied.size < MAX_DENIED_KEYS ? z85 : "other";
    const count = (this.denied.get(slot) ?? 0) + 1;
    this.denied.set(slot, count);
    if (isPowerOf10(count)) this.#opts.onDenied?.(z85, address?.toString() ?? "", count);
    return reply("400", "key not allowed");
  }
}

function isPowerOf10(n: number): boolean {
  while (n >= 10 && n % 10 === 0) n /= 10;
  return n === 1;
}

/**
 * A DEALER connected to one peer's store endpoint: query(pattern, since, limit) → one page.
 * A request unanswered after timeoutMs is rejected (ERR_QUERY_TIMEOUT) and the caller retries;
 * a late answer to it is recognised by its request id and ignored.
 */
import * as zmq from "zeromq";
import { QisError } from "../../errors.js";
import { decodeAnswer, encodeQuery, WireError, type QueryReply } from "./wire.js";
import { replyMaxFrame } from "./limits.js";
import type { LinkSocketOptions } from "./socket-env.js";

export interface Page {
  reply: QueryReply;
  packets: Uint8Array;
}

export interface StoreClientOptions {
  /** the largest `limit` this client asks for: bounds the frames it accepts */
  pageSize: number;
  /** context and CURVE options (socket-env.ts) */
  socket?: LinkSocketOptions;
}

interface Pending {
  limit: number;
  resolve(page: Page): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class StoreClient {
  readonly endpoint: string;
  readonly #sock: zmq.Dealer;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  /** answers that could not be parsed, or matched no pending request */
  badAnswers = 0;

  constructor(endpoint: string, options: StoreClientOptions) {
    this.endpoint = endpoint;
    // The DEALER queues requests while the peer is away (immediate = false, the default) and
    // linger 0 discards them at close.
    this.#sock = new zmq.Dealer({
      ...options.socket,
      sendTimeout: 0,
      linger: 0,
      reconnectInterval: 100,
      reconnectMaxInterval: 5000,
      maxMessageSize: replyMaxFrame(options.pageSize),
    });
    this.#sock.connect(endpoint);
    void this.#loop();
  }

  query(pattern: string, since: number, limit: number, timeoutMs: number): Promise<Page> {
    if (this.#closed) return Promise.reject(new QisError("ERR_LINK_CLOSED", "store client closed"));
    const id = this.#nextId;
    this.#nextId = (this.#nextId % 0xffff_ffff) + 1;
    return new Promise<Page>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new QisError("ERR_QUERY_TIMEOUT", `no answer from store ${this.endpoint} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { limit, resolve, reject, timer });
      this.#sock.send(encodeQuery(id, since, limit, pattern)).catch((cause: unknown) => {
        // EAGAIN: the request queue to this peer is full; the caller retries after a pause.
        const p = this.#pending.get(id);
        if (p === undefined) return;
        this.#pending.delete(id);
        clearTimeout(p.timer);
        p.reject(new QisError("ERR_QUERY_SEND", `cannot send a query to store ${this.endpoint}`, { cause }));
      });
    });
  }

  /** Connects again (after the peer refused our key, libzmq does not retry by itself). */
  relink(): void {
    if (this.#closed) return;
    try {
      this.#sock.disconnect(this.endpoint);
    } catch {
      // the refused session took the endpoint with it
    }
    this.#sock.connect(this.endpoint);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new QisError("ERR_LINK_CLOSED", "store client closed"));
    }
    this.#pending.clear();
    this.#sock.close();
  }

  async #loop(): Promise<void> {
    try {
      for await (const frames of this.#sock) this.#onAnswer(frames);
    } catch {
      // closed
    }
  }

  #onAnswer(frames: Buffer[]): void {
    let answer;
    try {
      answer = decodeAnswer(frames);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.badAnswers++;
      return;
    }
    const id = answer.ok ? answer.reply.id : answer.id;
    const p = this.#pending.get(id);
    if (p === undefined) {
      this.badAnswers++;
      return;
    }
    this.#pending.delete(id);
    clearTimeout(p.timer);
    if (answer.ok && answer.reply.count > p.limit) {
      p.reject(new WireError("ERR_WIRE_REPLY_SIZE", `store ${this.endpoint} answered ${answer.reply.count} packets to a query for at most ${p.limit}`));
    } else if (answer.ok) p.resolve({ reply: answer.reply, packets: answer.packets });
    else p.reject(new QisError(answer.code, `store ${this.endpoint}: ${answer.message}`));
  }
}

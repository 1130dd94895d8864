/**
 * A client of an agent's control socket (./server.ts): connects, waits for the session's
 * `ready` event, then sends requests of the stdio protocol (docs/stdio.md) and matches each ack
 * or error to its request by order (the protocol answers every request exactly once, in order).
 * Events (`packet`, `synthesis`, `peer`, agent errors, …) go to `onEvent`.
 */
import { connect, type Socket } from "node:net";
import { QisError } from "../errors.js";
import { ControlError, ControlErrorCode } from "./errors.js";

export type Message = Record<string, unknown>;

/** The agent answered a request with an `error`: its code, reason and problems. */
export class ControlRequestError extends QisError {
  readonly problems: { path: string; message: string }[] | undefined;
  readonly reply: Message;
  constructor(reply: Message) {
    super(typeof reply.code === "string" ? reply.code : "ERR_INTERNAL", typeof reply.reason === "string" ? reply.reason : "the agent refused the request");
    this.reply = reply;
    this.problems = Array.isArray(reply.problems) ? (reply.problems as { path: string; message: string }[]) : undefined;
  }
}

/** Longest line accepted from the agent (a query of 1,000 packets is ~700 kB). */
const MAX_LINE = 16 << 20;
const READY_TIMEOUT_MS = 5000;

export interface ConnectOptions {
  /** how the path was found, for the error when no agent answers ("--state-dir /var/lib/qis-edge") */
  foundBy?: string;
}

export class ControlClient {
  readonly path: string;
  /** the session's `ready` event: nodeId, endpoints, versions, pid, … */
  readonly ready: Message;
  onEvent: (m: Message) => void = () => undefined;
  /** called once when the connection ends; `err` when the agent went away with requests unanswered or sent bad data */
  onClose: (err: ControlError | null) => void = () => undefined;
  readonly #socket: Socket;
  readonly #waiting: { resolve: (m: Message) => void; reject: (e: Error) => void }[] = [];
  #closed = false;
  #ended = false;

  private constructor(path: string, socket: Socket, ready: Message) {
    this.path = path;
    this.#socket = socket;
    this.ready = ready;
  }

  static connect(path: string, options: ConnectOptions = {}): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      let client: ControlClient | null = null;
      let buf = "";
      const fail = (e: ControlError): void => {
        clearTimeout(timer);
        socket.destroy();
        if (client === null) reject(e);
        else client.#lost(e);
      };
      const timer = setTimeout(() => fail(lost(path, `no "ready" from the agent within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
      socket.setEncoding("utf8");
      socket.on("error", (e: NodeJS.ErrnoException) => {
        if (client !== null) return fail(lost(path, `connection error: ${e.code ?? e.message}`, e));
        clearTimeout(timer);
        reject(connectError(path, e, options.foundBy));
      });
      socket.on("data", (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() === "") continue;
          let m: Message;
          try {
            m = JSON.parse(line) as Message;
          } catch {
            return fail(lost(path, `the agent sent a line that is not JSON: ${line.slice(0, 80)}`));
          }
          if (client !== null) client.#message(m);
          else if (m.event === "ready") {
            clearTimeout(timer);
            client = new ControlClient(path, socket, m);
            resolve(client);
          } else if (m.event === "error") {
            clearTimeout(timer);
            socket.destroy();
            reject(new ControlError(typeof m.code === "string" ? m.code : ControlErrorCode.LOST, path, `${String(m.reason)} (${path})`));
          } else return fail(lost(path, `expected a "ready" event first, got ${line.slice(0, 80)}`));
        }
        if (buf.length > MAX_LINE) fail(lost(path, `a line from the agent longer than ${MAX_LINE} bytes`));
      });
      socket.on("close", () => {
        clearTimeout(timer);
        if (client === null) reject(lost(path, "the agent closed the connection before it was ready"));
        else client.#lost(client.#waiting.length > 0 || !client.#ended ? lost(path, "the agent closed the connection: it stopped") : null);
      });
    });
  }

  /** Sends one request; resolves with its ack, rejects with a ControlRequestError for its error. */
  request(op: string, body: Message = {}): Promise<Message> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(lost(this.path, "the connection is closed"));
      this.#waiting.push({ resolve, reject });
      this.#socket.write(`${JSON.stringify({ ...body, op })}\n`);
    });
  }

  /** Requests waiting for their answer. */
  get inFlight(): number {
    return this.#waiting.length;
  }

  /** Writes a request line without waiting for the answer (the answer still comes, to `answered`). */
  send(op: string, body: Message, answered: (reply: Message) => void): boolean {
    this.#waiting.push({ resolve: answered, reject: (e) => answered((e as ControlRequestError).reply ?? { event: "error", code: (e as QisError).code, reason: e.message }) });
    return this.#socket.write(`${JSON.stringify({ ...body, op })}\n`);
  }

  /** Resolves when the socket can take more (after send() returned false). */
  drained(): Promise<void> {
    return new Promise((resolve) => this.#socket.once("drain", resolve));
  }

  /** Ends our side; the agent answers what it has, then closes. Resolves when it has. */
  end(): Promise<void> {
    this.#ended = true;
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#socket.once("close", () => resolve());
      this.#socket.end();
    });
  }

  /** Closes at once (Ctrl-C). */
  destroy(): void {
    this.#ended = true;
    this.#socket.destroy();
  }

  #message(m: Message): void {
    if ((m.event === "ack" || m.event === "error") && m.source !== "agent") {
      const w = this.#waiting.shift();
      if (w === undefined) return;
      if (m.event === "ack") w.resolve(m);
      else w.reject(new ControlRequestError(m));
      return;
    }
    this.onEvent(m);
  }

  #lost(err: ControlError | null): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waiting.splice(0)) w.reject(err ?? lost(this.path, "the connection is closed"));
    this.onClose(err);
  }
}

function lost(path: string, why: string, cause?: unknown): ControlError {
  return new ControlError(ControlErrorCode.LOST, path, `${why} (control socket ${path})`, { cause });
}

/** What a failed connect means to the person who typed the command. */
function connectError(path: string, e: NodeJS.ErrnoException, foundBy: string | undefined): ControlError {
  const via = foundBy === undefined ? "" : ` (found through ${foundBy})`;
  switch (e.code) {
    case "ENOENT":
      return new ControlError(ControlErrorCode.NO_AGENT, path, `no agent runs here: no control socket at ${path}${via}; start one with "qis-edge run", or point to it with --state-dir or --config`, { cause: e });
    case "ECONNREFUSED":
      return new ControlError(ControlErrorCode.NO_AGENT, path, `no agent answers on ${path}${via}: the socket is left from an agent that stopped`, { cause: e });
    case "EACCES":
    case "EPERM":
      return new ControlError(ControlErrorCode.ACCESS, path, `permission denied on ${path}${via}: the socket is mode 0600, for the agent's user only`, { cause: e });
    default:
      return new ControlError(ControlErrorCode.NO_AGENT, path, `cannot connect to ${path}${via}: ${e.code ?? e.message}`, { cause: e });
  }
}

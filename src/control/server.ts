/**
 * `run`'s control socket (config `control`, docs/operations.md "Control socket"): a Unix socket,
 * mode 0600, in the state dir by default, on which each client is one session of the stdio
 * protocol (src/stdio/session.ts, ndjson framing) on the running agent. The client commands
 * (`qis-edge observe`, `watch`, `query`, `stats`, `peers`) are such clients; so is `socat` or
 * `nc -U`.
 *
 * Bounded: at most control.maxClients sessions (one more is sent one ERR_CONTROL_BUSY line and
 * closed), each with the protocol's line limit and a smaller output queue than stdio's (a
 * client that does not read loses packet and synthesis events first, then stops being read).
 * A client that goes away ends its session: its listeners and subscriptions go with it.
 *
 * The module (and node:net) is imported by `run` only when control.enabled is true (in the
 * bundle it is a sidecar, qis-edge-control.cjs). The stdio session's module (with typebox's
 * compiled request checks and cbor-x, ~7 MiB of RSS) is loaded at the first client, through the
 * `loadSession` the caller passes (an import of it here would make the bundle load it with the
 * sidecar): an agent nobody has connected to does not pay for it.
 */
import { chmodSync, lstatSync, mkdirSync, renameSync, statSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import type { Agent } from "../agent/agent.js";
import type { Logger } from "../agent/log.js";
import type { StdioSession } from "../stdio/session.js";
import { ControlError, ControlErrorCode, MAX_SOCKET_PATH_BYTES } from "./errors.js";
import { SharedSubscriptions } from "./subscriptions.js";

export interface ControlOptions {
  path: string;
  maxClients: number;
  /** the agent's state dir: created if it is the socket's directory and missing */
  stateDir: string;
}

/** Per client: what may wait for a client that does not read, before events are dropped / input paused. */
const CLIENT_QUEUE = { maxQueuedEvents: 1000, maxQueuedBytes: 1 << 20, drainTimeoutMs: 1000 } as const;
/** How long a live check waits for the socket's owner to accept. */
const PROBE_MS = 1000;

/**
 * The checks that need no agent: a path that fits sun_path, in a directory that exists, that is
 * not some other kind of file, and (probe) on which no live agent answers. `run` checks without
 * the probe before the agent starts (a second agent on the same state dir is then told
 * ERR_STATE_LOCKED, the real problem) and with it just before it listens.
 */
export async function checkControlPath(o: ControlOptions, { probe = true } = {}): Promise<"free" | "stale"> {
  const { path } = o;
  const tmp = tempPath(path);
  const bytes = Math.max(Buffer.byteLength(path), Buffer.byteLength(tmp));
  if (bytes > MAX_SOCKET_PATH_BYTES)
    throw new ControlError(ControlErrorCode.PATH, path, `control.path ${path} is too long for a Unix socket (${bytes} bytes with its temporary name; at most ${MAX_SOCKET_PATH_BYTES}): set a shorter control.path`);
  const dir = dirname(path);
  if (dir !== o.stateDir && !isDir(dir)) throw new ControlError(ControlErrorCode.PATH, path, `control.path ${path}: its directory ${dir} does not exist`);
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "free";
    throw new ControlError(ControlErrorCode.PATH, path, `control.path ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  if (!st.isSocket()) throw new ControlError(ControlErrorCode.PATH, path, `control.path ${path} exists and is not a socket: not replaced (remove it, or set another control.path)`);
  const live = probe ? await answers(path) : false;
  if (live === true) throw new ControlError(ControlErrorCode.IN_USE, path, `another agent answers on control.path ${path}: stop it first, or give this one another control.path`);
  if (typeof live === "string") throw new ControlError(ControlErrorCode.PATH, path, `control.path ${path}: cannot tell whether an agent answers there (${live})`);
  return "stale";
}

export class ControlServer {
  readonly path: string;
  readonly #server: Server;
  readonly #agent: Agent;
  readonly #log: Logger;
  readonly #max: number;
  readonly #subs: SharedSubscriptions;
  readonly #sessions = new Set<StdioSession>();
  readonly #sockets = new Set<Socket>();
  /** the socket file's inode: removed at close only if it is still ours */
  readonly #ino: number;
  #next = 1;
  /** clients accepted whose session is not made yet (the session module is loading) */
  #starting = 0;
  readonly #loadSession: () => Promise<typeof StdioSession>;
  #session: Promise<typeof StdioSession> | null = null;
  #closing: Promise<void> | null = null;
  /** clients accepted and refused (ERR_CONTROL_BUSY) since start */
  readonly counters = { accepted: 0, refused: 0 };

  private constructor(server: Server, agent: Agent, logger: Logger, o: ControlOptions, ino: number, loadSession: () => Promise<typeof StdioSession>) {
    this.#loadSession = loadSession;
    this.path = o.path;
    this.#server = server;
    this.#agent = agent;
    this.#log = logger;
    this.#max = o.maxClients;
    this.#ino = ino;
    this.#subs = new SharedSubscriptions(agent);
    // One "synthesis", "peer", "uplink" and "error" listener per client, besides run's own.
    agent.setMaxListeners(Math.max(agent.getMaxListeners(), 10 + o.maxClients));
    server.on("connection", this.#onConnection);
  }

  /**
   * Checks the path (checkControlPath), replaces a stale socket, listens. The socket is bound
   * under a temporary name, made 0600 and renamed into place, so that no client ever finds it
   * with wider permissions.
   */
  static async open(agent: Agent, o: ControlOptions, logger: Logger, loadSession: () => Promise<typeof StdioSession>): Promise<ControlServer> {
    const state = await checkControlPath(o);
    if (o.stateDir === dirname(o.path)) mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    const tmp = tempPath(o.path);
    rmSocket(tmp);
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) => reject(new ControlError(ControlErrorCode.PATH, o.path, `cannot listen on control.path ${o.path}: ${e.code ?? e.message}`, { cause: e })));
      server.listen(tmp, () => resolve());
    });
    try {
      chmodSync(tmp, 0o600);
      if (state === "stale") logger.info("stale control socket replaced", { path: o.path });
      renameSync(tmp, o.path);
    } catch (e) {
      server.close();
      rmSocket(tmp);
      throw new ControlError(ControlErrorCode.PATH, o.path, `cannot put the control socket at ${o.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    server.on("error", (e) => logger.error("control socket error", { path: o.path, err: e }));
    const s = new ControlServer(server, agent, logger, o, statSync(o.path).ino, loadSession);
    logger.info("control listening", { path: o.path, maxClients: o.maxClients });
    return s;
  }

  get clients(): number {
    return this.#sessions.size;
  }

  /** Patterns added to the agent for clients, with how many hold each. */
  get heldPatterns(): ReadonlyMap<string, number> {
    return this.#subs.held;
  }

  readonly #onConnection = (socket: Socket): void => {
    socket.on("error", () => undefined); // a reset client: the session ends on "close" below
    if (this.#closing !== null || this.#sessions.size + this.#starting >= this.#max) {
      this.counters.refused++;
      const reason = this.#closing !== null ? "the agent is stopping" : `${this.#max} clients are connected already (control.maxClients)`;
      this.#log.warn("control client refused", { reason });
      socket.end(`${JSON.stringify({ event: "error", code: ControlErrorCode.BUSY, reason })}\n`);
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    this.counters.accepted++;
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
    this.#starting++;
    socket.pause();
    this.#session ??= this.#loadSession();
    void this.#session.then(
      (Session) => {
        this.#starting--;
        if (socket.destroyed || this.#closing !== null) return void socket.destroy();
        this.#startSession(Session, socket);
        socket.resume();
      },
      (err: unknown) => {
        this.#starting--;
        this.#log.error("control client: cannot load the session module", { err });
        socket.destroy();
      },
    );
  };

  #startSession(Session: typeof StdioSession, socket: Socket): void {
    const client = this.#next++;
    const log = demoted(this.#log.child({ client }));
    log.debug("control client connected", { clients: this.#sessions.size + 1 });
    const session = new Session(this.#agent, {
      framing: "ndjson",
      input: socket,
      output: socket,
      logger: log,
      ownsAgent: false,
      subscriptions: this.#subs.forClient(),
      localPackets: true,
      parentPollMs: 0,
      ...CLIENT_QUEUE,
    });
    this.#sessions.add(session);
    socket.on("close", () => void session.end("client gone", { drain: false }));
    void session.done.then(() => {
      this.#sessions.delete(session);
      log.debug("control client gone", { clients: this.#sessions.size, requests: session.counters.requests });
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  /** Stops accepting, ends every session (what is queued for a client is still sent, ≤ 1 s), removes the socket file. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#removeFile();
      await Promise.all([...this.#sessions].map((s) => s.end("agent stopping").then(() => s.done)));
      for (const s of this.#sockets) s.destroy();
      await closed;
    })();
    return this.#closing;
  }

  #removeFile(): void {
    try {
      if (statSync(this.path).ino === this.#ino) unlinkSync(this.path);
    } catch {
      // gone already, or replaced by someone else's: not ours to remove
    }
  }
}

/** The name the socket is bound under before it is made 0600 and renamed into place. */
function tempPath(path: string): string {
  return join(dirname(path), `.c${process.pid}`);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function rmSocket(p: string): void {
  try {
    if (lstatSync(p).isSocket()) unlinkSync(p);
  } catch {
    // not there
  }
}

/** Whether something accepts connections on the socket at `path`; the error code when that cannot be told (EACCES). */
function answers(path: string): Promise<boolean | string> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (live: boolean | string): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(live);
    };
    // Refused or gone: a crashed agent's socket. No answer within PROBE_MS: assume a live, busy one.
    const timer = setTimeout(() => done(true), PROBE_MS);
    s.once("connect", () => done(true));
    s.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" || e.code === "ENOENT" ? false : (e.code ?? e.message)));
  });
}

/**
 * A client's session logs (its start and end, a client that went away) at debug: clients come
 * and go all day, and a reset connection is not the agent's problem. Errors stay errors.
 */
function demoted(log: Logger): Logger {
  return {
    get level() {
      return log.level;
    },
    set level(l) {
      log.level = l;
    },
    debug: (m, f) => log.debug(m, f),
    info: (m, f) => log.debug(m, f),
    warn: (m, f) => log.debug(m, f),
    error: (m, f) => log.error(m, f),
    child: (f) => demoted(log.child(f)),
    enabled: (l) => log.enabled(l),
  };
}

/**
 * The sockets and file descriptors a config needs, so that an agent either starts with limits
 * that fit or is refused up front by `config check` with the real limit (docs/security.md).
 */
import { readFileSync } from "node:fs";
import type { AgentConfig } from "./config.js";

/** libzmq's hard ceiling for ZMQ_MAX_SOCKETS (zmq.Context.maxSocketsLimit, 65535 in 4.3). */
export const ZMQ_MAX_SOCKETS_LIMIT = 65_535;
/** Sockets kept free for peers added at run time (Agent.addPeer). */
export const RUNTIME_PEER_SOCKETS = 256;
/** File descriptors an idle agent process holds besides its links (measured: ~25), with room. */
const NODE_FDS = 64;
/** libzmq's default ZMQ_MAX_SOCKETS: never set lower. */
const ZMQ_DEFAULT_SOCKETS = 1023;

export interface SocketBudget {
  /** sockets on the agent's context (ZAP, PUB, ROUTER; per qis peer SUB, its 2 monitor sockets, DEALER) */
  sockets: number;
  /** what the context's maxSockets is set to */
  maxSockets: number;
  /** file descriptors the peer links take at least: a mailbox per socket, a connection per link, listeners */
  fds: number;
}

export function socketBudget(c: Pick<AgentConfig, "peers" | "store" | "legacy">): SocketBudget {
  let sockets = 2; // ZAP handler, PUB
  let fds = 2 + 1; // their mailboxes, the PUB listener
  if (c.store.bind !== null) {
    sockets++;
    fds += 2;
  }
  for (const p of c.peers) {
    // A qis peer: its SUB, the pair of PAIR sockets that watch the SUB's events (libzmq's
    // monitor and zeromq.js's observer), and a DEALER when it has a store; a legacy peer the
    // same on the legacy context. Each socket has a mailbox fd; each SUB and DEALER a connection.
    const withStore = p.store !== null && p.codec !== "legacy";
    const n = 3 + (withStore ? 1 : 0);
    if (p.codec !== "legacy") sockets += n;
    fds += n + (withStore ? 2 : 1);
  }
  fds += (c.legacy.pub === null ? 0 : 2) + (c.legacy.rep === null ? 0 : 2);
  // Node's own (stdio, libuv's epoll and eventfds, the store file, the context's threads).
  fds += NODE_FDS;
  return { sockets, maxSockets: Math.min(ZMQ_MAX_SOCKETS_LIMIT, Math.max(ZMQ_DEFAULT_SOCKETS, sockets + RUNTIME_PEER_SOCKETS)), fds };
}

/** This process's soft RLIMIT_NOFILE (Node raises it to the hard limit at start), or null when unknown. */
export function openFileLimit(): number | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === "unlimited" ? null : Number(soft);
  } catch {
    return null;
  }
}

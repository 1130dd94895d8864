/**
 * `qis-edge run` under systemd's Type=notify (docs/operations.md, "systemd"): READY=1 once the
 * sockets are bound and the store is open, WATCHDOG=1 from the event loop every half
 * WATCHDOG_USEC (so a blocked loop gets the service restarted), STOPPING=1 at the signal, and
 * STATUS= lines for `systemctl status`. Loaded only when NOTIFY_SOCKET is set.
 *
 * The datagram is sent by the native addon (native/notify.c): Node has no AF_UNIX datagram
 * sockets. Without the addon there is no fallback, on purpose: `systemd-notify` would send from
 * its own short-lived process, which NotifyAccess=main refuses and which systemd may not
 * attribute to the unit at all once it has exited (sd_notify(3)); one warning says so instead.
 */
import { constants } from "node:os";
import type { Agent } from "../agent/agent.js";
import type { Logger } from "../agent/log.js";
import { nativeNotify, nativeStatus, type NativeNotify } from "../packet/native.js";
import { notifySocketAddress, SystemdEnvError, watchdogRequest, type WatchdogRequest } from "./env.js";

const WATCHDOG = Buffer.from("WATCHDOG=1");
/** The environment systemd hands a service for this; unset once read, so no child inherits it. */
const VARIABLES = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] as const;

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(constants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

/** STATUS= text is one line: systemd shows it as it is. */
function statusLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}

export class SystemdNotify {
  readonly socket: string;
  readonly watchdog: WatchdogRequest | null;
  readonly #address: Uint8Array;
  readonly #sender: NativeNotify;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | null = null;
  /** the errno of the last send (0: it went out); a failure is logged when it differs from this */
  #lastErrno = 0;
  #failures = 0;
  #stopping = false;

  /**
   * Reads (and unsets) NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from `env`. Null when
   * NOTIFY_SOCKET is unset, or, after one warning line, when it cannot be used (ERR_NOTIFY_SOCKET)
   * or there is no native sender (ERR_NOTIFY_NATIVE). A bad watchdog variable is warned about
   * (ERR_NOTIFY_WATCHDOG) and leaves the notifications without pings. Sends STATUS=starting.
   */
  static open(env: NodeJS.ProcessEnv, logger: Logger, sender: NativeNotify | null = nativeNotify, pid = process.pid): SystemdNotify | null {
    const [socket, usec, watchdogPid] = VARIABLES.map((name) => env[name]);
    for (const name of VARIABLES) delete env[name];
    if (socket === undefined || socket === "") return null;
    if (sender === null) {
      const why = nativeStatus.loaded ? "the native addon predates systemd notify (rebuild it: npm run build:native)" : `the native addon is not loaded: ${nativeStatus.reason}`;
      logger.warn("systemd notify unavailable", {
        code: "ERR_NOTIFY_NATIVE",
        socket,
        reason: `NOTIFY_SOCKET is set but ${why}; Node cannot send Unix datagrams, so systemd gets no READY=1 nor watchdog pings: a Type=notify unit times out its start. Install the addon (qis-edge selftest --require-native) or run the unit as Type=exec with WatchdogSec=0 (docs/operations.md)`,
      });
      return null;
    }
    let address: Uint8Array;
    try {
      address = notifySocketAddress(socket, sender.pathMax);
    } catch (err) {
      if (!(err instanceof SystemdEnvError)) throw err;
      logger.warn("systemd notify unavailable", { code: err.code, socket, reason: err.message });
      return null;
    }
    let watchdog: WatchdogRequest | null = null;
    try {
      watchdog = watchdogRequest(usec, watchdogPid, pid);
    } catch (err) {
      if (!(err instanceof SystemdEnvError)) throw err;
      logger.warn("systemd watchdog not pinged", { code: err.code, reason: err.message });
    }
    const notify = new SystemdNotify(socket, address, watchdog, sender, logger);
    notify.status("starting: binding the sockets and opening the store");
    return notify;
  }

  private constructor(socket: string, address: Uint8Array, watchdog: WatchdogRequest | null, sender: NativeNotify, logger: Logger) {
    this.socket = socket;
    this.#address = address;
    this.watchdog = watchdog;
    this.#sender = sender;
    this.#log = logger;
  }

  status(text: string): void {
    this.#send(`STATUS=${statusLine(text)}`);
  }

  /** The agent is open: READY=1 with a STATUS naming it, then the watchdog pings start. */
  ready(agent: Agent): void {
    const peers = agent.config.peers.length;
    this.#send(`READY=1\nSTATUS=${statusLine(`ready: node ${agent.nodeId}, pub ${agent.endpoints.pub}, ${peers} peer${peers === 1 ? "" : "s"}`)}`);
    this.#log.debug("systemd notified", { socket: this.socket, watchdogIntervalMs: this.watchdog?.intervalMs ?? null });
    if (this.watchdog === null || this.#timer !== null) return;
    this.#timer = setInterval(() => this.#sendBytes(WATCHDOG), this.watchdog.intervalMs);
    this.#timer.unref();
  }

  /** Shutting down: the pings stop (systemd stops watching at STOPPING=1), then STOPPING=1, once. */
  stopping(why: string): void {
    this.close();
    if (this.#stopping) return;
    this.#stopping = true;
    this.#send(`STOPPING=1\nSTATUS=${statusLine(`stopping: ${why}`)}`);
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #send(message: string): void {
    this.#sendBytes(Buffer.from(message, "utf8"));
  }

  /** One datagram; a failure is logged once per errno, not once per ping. */
  #sendBytes(message: Uint8Array): void {
    const errno = this.#sender.send(this.#address, message);
    if (errno === this.#lastErrno) {
      if (errno !== 0) this.#failures++;
      return;
    }
    if (errno !== 0) {
      this.#failures++;
      this.#log.warn("systemd notify failed", { code: "ERR_NOTIFY_SEND", cause: errnoName(errno), socket: this.socket, message: Buffer.from(message).toString("utf8").split("\n")[0] });
    } else {
      this.#log.info("systemd notify sent again", { socket: this.socket, failed: this.#failures });
      this.#failures = 0;
    }
    this.#lastErrno = errno;
  }
}

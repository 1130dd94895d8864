/**
 * What systemd tells a Type=notify service through its environment (sd_notify(3),
 * sd_watchdog_enabled(3)): where to send notifications (NOTIFY_SOCKET) and how often to ping the
 * watchdog (WATCHDOG_USEC, for WATCHDOG_PID). Everything is checked here, so that the C sender
 * (native/notify.c) can trust the bytes it gets.
 */
import { QisError } from "../errors.js";

/** A NOTIFY_SOCKET, WATCHDOG_USEC or WATCHDOG_PID value qis-edge cannot use; `code` says which. */
export class SystemdEnvError extends QisError {
  constructor(code: "ERR_NOTIFY_SOCKET" | "ERR_NOTIFY_WATCHDOG", message: string) {
    super(code, message);
    this.name = "SystemdEnvError";
  }
}

/**
 * NOTIFY_SOCKET as the sun_path bytes of the address: "/run/systemd/notify" as it is, and the
 * abstract-namespace form "@name" with its "@" turned into the leading NUL byte. `pathMax` is
 * sizeof(sun_path) (108 on Linux). Other forms (relative paths, systemd ≥ 254's "vsock:…" for
 * virtual machines) are refused with ERR_NOTIFY_SOCKET.
 */
export function notifySocketAddress(value: string, pathMax: number): Uint8Array {
  if (!value.startsWith("/") && !value.startsWith("@"))
    throw new SystemdEnvError("ERR_NOTIFY_SOCKET", `NOTIFY_SOCKET="${value}" is neither an absolute path nor an abstract "@name" (qis-edge sends to AF_UNIX datagram sockets only)`);
  if (value.length < 2) throw new SystemdEnvError("ERR_NOTIFY_SOCKET", `NOTIFY_SOCKET="${value}" names no socket`);
  const bytes = Buffer.from(value, "utf8");
  if (value.startsWith("@")) bytes[0] = 0;
  // A path needs room for its terminating NUL in sun_path; an abstract name does not.
  const max = value.startsWith("@") ? pathMax : pathMax - 1;
  if (bytes.length > max) throw new SystemdEnvError("ERR_NOTIFY_SOCKET", `NOTIFY_SOCKET is ${bytes.length} bytes long; an AF_UNIX address takes at most ${max}`);
  if (!value.startsWith("@") && bytes.includes(0)) throw new SystemdEnvError("ERR_NOTIFY_SOCKET", "NOTIFY_SOCKET holds a NUL byte");
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The watchdog systemd asked for: ping every `intervalMs` (half its timeout, as sd_watchdog_enabled(3) advises). */
export interface WatchdogRequest {
  /** WATCHDOG_USEC: the timeout after which systemd acts (WatchdogSec=) */
  timeoutUs: number;
  intervalMs: number;
}

/**
 * The watchdog for this process, or null when none is asked for: WATCHDOG_USEC unset, or
 * WATCHDOG_PID set to another process (a parent's watchdog this process inherited). A
 * WATCHDOG_USEC or WATCHDOG_PID that is not a positive integer is ERR_NOTIFY_WATCHDOG.
 */
export function watchdogRequest(usec: string | undefined, pid: string | undefined, ownPid: number): WatchdogRequest | null {
  if (usec === undefined || usec === "") return null;
  if (pid !== undefined && pid !== "") {
    if (!/^[1-9][0-9]{0,9}$/.test(pid)) throw new SystemdEnvError("ERR_NOTIFY_WATCHDOG", `WATCHDOG_PID="${pid}" is not a process id`);
    if (Number(pid) !== ownPid) return null;
  }
  // Up to 2^53 µs: more than any timer can wait, and still an exact number.
  if (!/^[1-9][0-9]{0,15}$/.test(usec) || !Number.isSafeInteger(Number(usec)))
    throw new SystemdEnvError("ERR_NOTIFY_WATCHDOG", `WATCHDOG_USEC="${usec}" is not a positive number of microseconds`);
  const timeoutUs = Number(usec);
  // setInterval takes at most 2^31-1 ms; a watchdog of 24+ days is pinged that often anyway.
  const intervalMs = Math.min(Math.max(1, Math.floor(timeoutUs / 2000)), 2 ** 31 - 1);
  return { timeoutUs, intervalMs };
}

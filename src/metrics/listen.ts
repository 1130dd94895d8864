/**
 * `metrics.listen`: "HOST:PORT" for the metrics and health listener. Pure (no node:http here):
 * the config check uses it, and an agent without metrics must not load the server.
 *
 * The endpoint has no authentication and names the node id and the peers: it listens on
 * loopback unless the config says `metrics.allowRemote: true` (docs/operations.md).
 */

export interface ListenAddress {
  /** as node:net wants it: an IPv6 address without brackets */
  host: string;
  /** 0: a free port, chosen when the listener binds */
  port: number;
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** "127.0.0.1:9464", "[::1]:9464", "localhost:9464" → host and port; null when it is not HOST:PORT. */
export function parseListen(text: string): ListenAddress | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):(\d{1,5})$/.exec(text);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65_535) return null;
  return { host: m[1] ?? m[2]!, port };
}

/** Whether `host` can only be reached from this machine: localhost, 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = V4.exec(h.startsWith("::ffff:") ? h.slice(7) : h);
  return v4 !== null && v4[1] === "127" && v4.slice(2).every((o) => Number(o) <= 255);
}

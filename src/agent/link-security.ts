/**
 * Sets up what secures an agent's peer links (docs/security.md): its own ZeroMQ context, sized
 * for the sockets the config needs; with CURVE, its key pair (created on first start) and the
 * ZAP handler enforcing the allowlist (the peers' keys and security.allow).
 */
import { readFileSync } from "node:fs";
import * as zmq from "zeromq";
import { QisError } from "../errors.js";
import { ZapHandler } from "../link/zmq/zap.js";
import { Z85_KEY } from "../link/zmq/z85.js";
import type { LinkEnv } from "../link/zmq/socket-env.js";
import type { AgentConfig } from "./config.js";
import { isLocalBind } from "./config-security.js";
import { KeyError, loadOrCreateKeys } from "./keys.js";
import type { Logger } from "./log.js";
import { socketBudget } from "./limits.js";

export interface LinkSecurity {
  env: LinkEnv;
  zap: ZapHandler | null;
  /** this agent's public key (Z85); null: plain links */
  publicKey: string | null;
  mode: "curve" | "plain";
}

/** Whether the resolved config secures its links with CURVE. */
export function curveConfigured(c: Pick<AgentConfig, "security">): boolean {
  return c.security.mode !== "insecure" && c.security.secretKeyFile !== null;
}

/** The keys `security.allow` names: Z85 keys as they are, files read (one key per line; "#" comments a line, or the rest of one after a space). */
export function readAllowList(entries: readonly string[]): string[] {
  const keys: string[] = [];
  for (const entry of entries) {
    if (Z85_KEY.test(entry)) {
      keys.push(entry);
      continue;
    }
    let text: string;
    try {
      text = readFileSync(entry, "utf8");
    } catch (cause) {
      throw new KeyError("ERR_ALLOW_FILE", `security.allow: cannot read ${entry}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
    }
    text.split("\n").forEach((raw, i) => {
      // Z85 has "#" in its alphabet, so a key may start with one: a line's first word is a key
      // when it is 40 characters of Z85, with nothing after it but a "# comment"; otherwise a
      // line starting with "#" is a comment.
      const line = raw.trim();
      const [first = "", next] = line.split(/\s+/, 2);
      if (Z85_KEY.test(first) && (next === undefined || next.startsWith("#"))) {
        keys.push(first);
        return;
      }
      if (line === "" || line.startsWith("#")) return;
      throw new KeyError("ERR_ALLOW_FILE", `security.allow: ${entry}:${i + 1}: expected a CURVE public key (40 characters of Z85), found ${JSON.stringify(line.slice(0, 60))}`);
    });
  }
  return keys;
}

/** The plain binds a config may not make without keys (none when all are loopback or mode is "insecure"). */
export function exposedBinds(c: AgentConfig): string[] {
  if (curveConfigured(c) || c.security.mode === "insecure") return [];
  return [c.pub.bind, c.store.bind, c.legacy.pub, c.legacy.rep].filter((b): b is string => b !== null && !isLocalBind(b));
}

export async function openLinkSecurity(c: AgentConfig, log: Logger): Promise<LinkSecurity> {
  const exposed = exposedBinds(c);
  if (exposed.length > 0) {
    throw new QisError("ERR_SECURITY_REQUIRED", `plain links may bind loopback only, not ${exposed.join(", ")}: set security.secretKeyFile (CURVE) or, knowingly, security.mode "insecure"`);
  }
  const budget = socketBudget(c);
  const context = new zmq.Context({ maxSockets: budget.maxSockets });
  if (!curveConfigured(c)) {
    if (c.security.mode === "insecure") log.warn("insecure peer links", { reason: 'security.mode "insecure": links are plain; anyone who reaches the endpoints can read, publish and query the store', endpoints: [c.pub.bind, c.store.bind] });
    return { env: { context, curve: null }, zap: null, publicKey: null, mode: "plain" };
  }
  if (!zmq.capability.curve) {
    throw new QisError("ERR_CURVE_UNAVAILABLE", `this libzmq ${zmq.version} was built without CURVE (zmq.capability.curve is false): install a libzmq linked with libsodium, or set security.mode "insecure"`);
  }
  const plainLegacy = [c.legacy.pub, c.legacy.rep].filter((b): b is string => b !== null && !isLocalBind(b));
  if (plainLegacy.length > 0) log.warn("plain legacy endpoints", { endpoints: plainLegacy, reason: "the reference nodes have no CURVE: anyone who reaches these reads our packets and queries the store" });
  const file = c.security.secretKeyFile!;
  const keys = loadOrCreateKeys(file);
  if (keys.created) log.info("curve key created", { file, publicKey: keys.publicKey });
  const allowed = new Set([...c.peers.flatMap((p) => (p.codec !== "legacy" && p.publicKey ? [p.publicKey] : [])), ...readAllowList(c.security.allow)]);
  // The handler must be bound before any other socket of the context.
  const zap = await ZapHandler.bind(context, allowed, {
    onDenied: (key, address, count) => log.warn("peer key denied", { key, address, count }),
  });
  return { env: { context, curve: { publicKey: keys.publicKey, secretKey: keys.secretKey } }, zap, publicKey: keys.publicKey, mode: "curve" };
}

/**
 * What `run` would refuse that the schema cannot see: the state dir, the store file, the key
 * files, bind hosts and the limits of this machine (docs/security.md, "Limits"). `config
 * check` and `run` both call it, so that they refuse the same configs with the same lines.
 * It reads, never writes.
 */
import { accessSync, constants, statSync } from "node:fs";
import { dirname } from "node:path";
import { QisError } from "../errors.js";
import type { AgentConfig, ConfigProblem } from "./config-defaults.js";
import { MAX_SOCKET_PATH_BYTES } from "../control/errors.js";
import { readKeyFile } from "./keys.js";
import { readAllowList } from "./link-security.js";
import { openFileLimit, socketBudget, ZMQ_MAX_SOCKETS_LIMIT } from "./limits.js";
import { signaturesConfigured } from "./signatures.js";

type Kind = "dir" | "file" | "missing" | "other";

function kindOf(path: string): Kind {
  try {
    const s = statSync(path);
    return s.isDirectory() ? "dir" : s.isFile() ? "file" : "other";
  } catch {
    return "missing";
  }
}

/** The nearest existing ancestor of a path to be created, when it is not a directory. */
function blockedBy(path: string): string | null {
  for (let p = dirname(path); ; p = dirname(p)) {
    const k = kindOf(p);
    if (k === "dir") return null;
    if (k !== "missing") return p;
    if (dirname(p) === p) return null;
  }
}

/** Loopback and wildcard addresses: bindable on every machine. */
const ANY_MACHINE = /^(?:127(?:\.\d{1,3}){3}|0\.0\.0\.0|::1?)$/;
/** An IP literal, v4 or v6 (dns.lookup then answers with the literal itself). */
const IP_LITERAL = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%.+)?)$/;

/**
 * Why libzmq could not bind this endpoint's host, or null. node:os and node:dns are loaded only
 * for a host that is not loopback or a wildcard: `run` calls this on every start, and node:net
 * (for isIP) alone cost an idle agent 1.6 MiB of RSS.
 */
async function bindHostProblem(endpoint: string): Promise<string | null> {
  const m = /^tcp:\/\/(.+):(?:\*|[0-9]+)$/.exec(endpoint);
  if (m === null || m[1] === "*") return null;
  const host = m[1]!.replace(/^\[(.*)\]$/, "$1");
  if (ANY_MACHINE.test(host)) return null;
  const { networkInterfaces } = await import("node:os");
  const interfaces = networkInterfaces();
  if (interfaces[host] !== undefined) return null;
  const local = new Set(Object.values(interfaces).flatMap((list) => (list ?? []).map((a) => a.address)));
  const isLocal = (ip: string): boolean => local.has(ip) || ANY_MACHINE.test(ip);
  if (IP_LITERAL.test(host)) return isLocal(host) ? null : `${host} is not an address of this machine`;
  try {
    const { lookup } = await import("node:dns/promises");
    const addrs = await lookup(host, { all: true });
    if (addrs.some((a) => isLocal(a.address))) return null;
    return `${host} resolves to ${addrs.map((a) => a.address).join(", ")}, not an address of this machine`;
  } catch (e) {
    return `${host} does not resolve (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

/** The files an uplink's config names (credentials, TLS), by JSON path: `run` reads each at start. */
function uplinkFiles(c: AgentConfig): [string, string | null][] {
  const files: [string, string | null][] = [];
  const m = c.uplinks.mqtt;
  if (m !== null) files.push(["/uplinks/mqtt/passwordFile", m.passwordFile], ["/uplinks/mqtt/tls/ca", m.tls.ca], ["/uplinks/mqtt/tls/cert", m.tls.cert], ["/uplinks/mqtt/tls/key", m.tls.key]);
  const n = c.uplinks.nats;
  if (n !== null) {
    files.push(["/uplinks/nats/passwordFile", n.passwordFile], ["/uplinks/nats/tokenFile", n.tokenFile], ["/uplinks/nats/nkeySeedFile", n.nkeySeedFile], ["/uplinks/nats/credsFile", n.credsFile]);
    files.push(["/uplinks/nats/tls/ca", n.tls.ca], ["/uplinks/nats/tls/cert", n.tls.cert], ["/uplinks/nats/tls/key", n.tls.key]);
  }
  return files;
}

/** Why a file `run` must read cannot be read, or null. */
function unreadable(path: string): string | null {
  const k = kindOf(path);
  if (k === "missing") return `${path}, which does not exist`;
  if (k !== "file") return `${path}, which is not a regular file`;
  try {
    accessSync(path, constants.R_OK);
    return null;
  } catch (e) {
    return `${path}, which cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

export async function preflightProblems(c: AgentConfig): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  const add = (path: string, expected: string, found: string): void => {
    problems.push({ path, expected, found });
  };
  const stateKind = kindOf(c.stateDir);
  if (stateKind !== "dir" && stateKind !== "missing") add("/stateDir", "a directory, or a path where one can be created", `${c.stateDir}, which is not a directory`);
  else if (stateKind === "missing") {
    const b = blockedBy(c.stateDir);
    if (b !== null) add("/stateDir", "a directory, or a path where one can be created", `${c.stateDir}, under ${b}, which is not a directory`);
  }
  if (c.store.file !== null) {
    const k = kindOf(c.store.file);
    if (k === "dir") add("/store/file", "a store file, or a path where one can be created", `${c.store.file}, which is a directory`);
    else if (k === "other") add("/store/file", "a store file, or a path where one can be created", `${c.store.file}, which is not a regular file`);
    else if (k === "missing" && kindOf(dirname(c.store.file)) !== "dir" && dirname(c.store.file) !== c.stateDir) {
      add("/store/file", "a store file, or a path where one can be created", `${c.store.file}, whose directory ${dirname(c.store.file)} does not exist`);
    }
  }
  const keyFile = c.security.mode === "insecure" ? null : c.security.secretKeyFile;
  if (keyFile !== null) {
    const k = kindOf(keyFile);
    if (k === "missing") {
      if (kindOf(dirname(keyFile)) !== "dir" && dirname(keyFile) !== c.stateDir) add("/security/secretKeyFile", "a key file, or a path where one can be created", `${keyFile}, whose directory ${dirname(keyFile)} does not exist`);
    } else {
      try {
        readKeyFile(keyFile);
      } catch (e) {
        add("/security/secretKeyFile", "a readable CURVE secret key file (qis-edge keygen writes one)", (e as QisError).message);
      }
    }
  }
  c.security.allow.forEach((entry, i) => {
    try {
      readAllowList([entry]);
    } catch (e) {
      add(`/security/allow/${i}`, "a CURVE public key or a readable file of them", (e as QisError).message);
    }
  });
  if (signaturesConfigured(c.security)) {
    const { signingProblems } = await import("../security/index.js");
    signingProblems(c.security, c.stateDir, add);
  }
  for (const [path, file] of uplinkFiles(c)) {
    const why = file === null ? null : unreadable(file);
    if (why !== null) add(path, "a readable file", why);
  }
  if (c.control.enabled && c.control.path !== null) {
    const why = controlPathProblem(c.control.path, c.stateDir);
    if (why !== null) add("/control/path", `a path for a Unix socket (at most ${MAX_SOCKET_PATH_BYTES} bytes) in a directory that exists`, why);
  }
  const binds: [string, string | null][] = [
    ["/pub/bind", c.pub.bind],
    ["/store/bind", c.store.bind],
    ["/legacy/pub", c.legacy.pub],
    ["/legacy/rep", c.legacy.rep],
  ];
  for (const [path, endpoint] of binds) {
    if (endpoint === null) continue;
    const why = await bindHostProblem(endpoint);
    if (why !== null) add(path, "an endpoint on a host this machine can bind: one of its addresses, an interface name or *", `${JSON.stringify(endpoint)}: ${why}`);
  }
  const iface = c.discovery.enabled ? c.discovery.interface : null;
  const ifaceWhy = iface === null ? null : await bindHostProblem(`tcp://${iface}:*`);
  if (ifaceWhy !== null) add("/discovery/interface", "an IPv4 address of one of this machine's interfaces", `${JSON.stringify(iface)}: ${ifaceWhy}`);
  const budget = socketBudget(c);
  if (budget.sockets > ZMQ_MAX_SOCKETS_LIMIT) {
    add("/peers", `at most ${ZMQ_MAX_SOCKETS_LIMIT} ZeroMQ sockets (libzmq's limit per context)`, `${c.peers.length} peers, which need ${budget.sockets}`);
  }
  const files = openFileLimit();
  if (files !== null && budget.fds > files) {
    add("/peers", `peers whose links fit in this process's open-file limit (${files}, ulimit -n; systemd: LimitNOFILE=)`, `${c.peers.length} peers, which need about ${budget.fds} file descriptors`);
  }
  return problems;
}

/** Why control.path cannot be the control socket (src/control/server.ts checks the same at start), or null. */
function controlPathProblem(path: string, stateDir: string): string | null {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) return `${path}, ${bytes} bytes long`;
  const k = kindOf(path);
  if (k === "file" || k === "dir") return `${path}, which exists and is not a socket`;
  if (kindOf(dirname(path)) !== "dir" && dirname(path) !== stateDir) return `${path}, whose directory ${dirname(path)} does not exist`;
  return null;
}

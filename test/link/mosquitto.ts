/**
 * A real Mosquitto broker for tests (Debian's `mosquitto`, installed by scripts/system-deps.sh),
 * never a mock: started on a free loopback port with a temporary config in its own temporary
 * directory (anonymous, password file or TLS with a CA and certificates made by openssl there),
 * waited for until it accepts connections, racing an early exit, and stopped, restarted or
 * killed by the test. `stop()` of every broker and the removal of its directory: `closeBrokers()`.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, ServerProcess } from "./server-process.js";

export { freePort } from "./server-process.js";

const run = promisify(execFile);
export const MOSQUITTO = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => existsSync(p)) ?? "mosquitto";
const HINT = "install it with scripts/system-deps.sh (as root) or apt-get install mosquitto mosquitto-clients";

export interface BrokerOptions {
  /** a password file with this one user; anonymous clients refused */
  user?: { name: string; password: string };
  /** TLS only (a CA and a server certificate for 127.0.0.1/localhost made in the broker's directory) */
  tls?: boolean;
  /** with tls: clients must present a certificate from the same CA (client.crt/client.key are made for them) */
  clientCert?: boolean;
  /** keep sessions and queued messages across stop()/start() (saved on a clean stop) */
  persistence?: boolean;
}

export interface Broker {
  port: number;
  /** mqtt://127.0.0.1:PORT (mqtts:// with tls) */
  url: string;
  dir: string;
  /** with tls: the CA certificate's path */
  caFile: string | null;
  running(): boolean;
  start(): Promise<void>;
  /** SIGTERM, and waits for the exit (Mosquitto saves its persistence file then) */
  stop(): Promise<void>;
  kill(): Promise<void>;
  log(): string;
}

const brokers: Broker[] = [];

/** A port free right now on 127.0.0.1 (the OS picks it: bind to 0). */
export async function makeTls(dir: string): Promise<void> {
  const o = (...args: string[]) => run("openssl", args, { cwd: dir });
  await o("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=qis-edge test CA", "-keyout", "ca.key", "-out", "ca.crt");
  await o("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr");
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await o("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt");
  await o("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=qis-edge test client", "-keyout", "client.key", "-out", "client.csr");
  await o("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", "client.crt");
}

export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), "qis-mosquitto-"));
  const port = await freePort();
  const lines = [`listener ${port} 127.0.0.1`, "max_queued_messages 0", "max_inflight_messages 0", "log_dest stdout", "log_type error", "log_type warning"];
  // Run as root, Mosquitto drops to the "mosquitto" user, who cannot read this directory.
  lines.push(`user ${userInfo().username}`);
  if (options.user !== undefined) {
    try {
      await run("mosquitto_passwd", ["-b", "-c", join(dir, "passwd"), options.user.name, options.user.password]);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`mosquitto_passwd failed (${(e as Error).message}): ${HINT}`);
    }
    lines.push("allow_anonymous false", `password_file ${join(dir, "passwd")}`);
  } else lines.push("allow_anonymous true");
  if (options.tls) {
    await makeTls(dir);
    lines.push(`cafile ${join(dir, "ca.crt")}`, `certfile ${join(dir, "server.crt")}`, `keyfile ${join(dir, "server.key")}`);
    if (options.clientCert) lines.push("require_certificate true");
  }
  if (options.persistence) lines.push("persistence true", `persistence_location ${dir}/`, "autosave_interval 0");
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(conf, `${lines.join("\n")}\n`);

  const proc = new ServerProcess("mosquitto", MOSQUITTO, ["-c", conf], port, HINT);
  const broker: Broker = {
    port,
    url: `${options.tls ? "mqtts" : "mqtt"}://127.0.0.1:${port}`,
    dir,
    caFile: options.tls ? join(dir, "ca.crt") : null,
    running: () => proc.running(),
    log: () => proc.log(),
    start: () => proc.start(),
    stop: () => proc.stop(),
    kill: () => proc.kill(),
  };
  brokers.push(broker);
  await broker.start();
  return broker;
}

/** Kills every broker started and removes its directory (afterEach/afterAll). */
export async function closeBrokers(): Promise<void> {
  for (const b of brokers.splice(0)) {
    await b.kill();
    rmSync(b.dir, { recursive: true, force: true });
  }
}

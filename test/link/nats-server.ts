/**
 * A real NATS server with JetStream for tests (Debian's `nats-server`, installed by
 * scripts/system-deps.sh), never a mock: started with `-js` on a free loopback port and a
 * store directory in its own temporary directory (anonymous, or one user with a password, or a
 * token), waited for until it accepts connections, racing an early exit, and stopped, restarted
 * or killed by the test. The store survives stop()/start(): a restarted server keeps its stream.
 * `kill()` of every server and the removal of its directory: `closeNatsServers()`.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTls } from "./mosquitto.js";
import { freePort, ServerProcess } from "./server-process.js";

export const NATS_SERVER = ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p)) ?? "nats-server";
const HINT = "install it with scripts/system-deps.sh (as root) or apt-get install nats-server";

export interface NatsServerOptions {
  /** one user with this password; anonymous clients refused */
  user?: { name: string; password: string };
  /** a token; anonymous clients refused */
  token?: string;
  /** one user authenticated by this NKey public key (U...); anonymous clients refused */
  nkey?: string;
  /** TLS (a CA and a server certificate for 127.0.0.1 made in the server's directory: ca.crt, client.crt, client.key) */
  tls?: boolean;
  /** with tls: clients must present a certificate from the same CA */
  clientCert?: boolean;
  /** max_payload in bytes (default the server's, 1 MiB) */
  maxPayload?: number;
}

export interface NatsServer {
  port: number;
  /** nats://127.0.0.1:PORT */
  url: string;
  dir: string;
  running(): boolean;
  /** the running server's process id (for SIGSTOP/SIGCONT); null when stopped */
  pid(): number | null;
  start(): Promise<void>;
  /** SIGTERM (a clean shutdown), and waits for the exit */
  stop(): Promise<void>;
  /** SIGKILL, and waits for the exit */
  kill(): Promise<void>;
  log(): string;
}

const servers: NatsServer[] = [];

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), "qis-nats-"));
  const port = await freePort();
  const lines = [`listen: "127.0.0.1:${port}"`, `jetstream { store_dir: "${join(dir, "store")}" }`];
  if (options.user !== undefined) lines.push(`authorization { user: "${options.user.name}", password: "${options.user.password}" }`);
  if (options.token !== undefined) lines.push(`authorization { token: "${options.token}" }`);
  if (options.nkey !== undefined) lines.push(`authorization { users: [ { nkey: "${options.nkey}" } ] }`);
  if (options.tls) {
    await makeTls(dir);
    lines.push(`tls { cert_file: "${join(dir, "server.crt")}", key_file: "${join(dir, "server.key")}", ca_file: "${join(dir, "ca.crt")}"${options.clientCert ? ", verify: true" : ""} }`);
  }
  if (options.maxPayload !== undefined) lines.push(`max_payload: ${options.maxPayload}`);
  const conf = join(dir, "nats.conf");
  writeFileSync(conf, `${lines.join("\n")}\n`);

  const proc = new ServerProcess("nats-server", NATS_SERVER, ["-c", conf], port, HINT);
  const server: NatsServer = {
    port,
    url: `nats://127.0.0.1:${port}`,
    dir,
    running: () => proc.running(),
    pid: () => proc.pid(),
    log: () => proc.log(),
    start: () => proc.start(),
    stop: () => proc.stop(),
    kill: () => proc.kill(),
  };
  servers.push(server);
  await server.start();
  return server;
}

/** Kills every server started and removes its directory (afterEach/afterAll). */
export async function closeNatsServers(): Promise<void> {
  for (const s of servers.splice(0)) {
    await s.kill();
    rmSync(s.dir, { recursive: true, force: true });
  }
}

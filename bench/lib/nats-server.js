/**
 * A nats-server with JetStream for the benchmarks (what test/link/nats-server.ts is for the
 * tests, without the credential variants): a free loopback port, a temporary store directory.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startServer } from "./server-process.js";

const BIN = ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p)) ?? "nats-server";

export async function startNatsServer() {
  const server = await startServer({
    name: "nats",
    bin: BIN,
    confName: "nats.conf",
    config: (port, dir) => `listen: "127.0.0.1:${port}"\njetstream { store_dir: "${join(dir, "store")}" }\n`,
  });
  return Object.assign(server, { url: `nats://127.0.0.1:${server.port}` });
}

/**
 * A nats-server with JetStream for the benchmarks (what test/link/nats-server.ts is for the
 * tests, without the credential variants): a free loopback port, a temporary store directory.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p)) ?? "nats-server";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const accepts = (port) =>
  new Promise((resolve) => {
    const c = createConnection({ port, host: "127.0.0.1" });
    c.once("connect", () => (c.destroy(), resolve(true)));
    c.once("error", () => resolve(false));
  });

export async function startNatsServer() {
  const dir = mkdtempSync(join(tmpdir(), "qis-bench-nats-"));
  const port = await freePort();
  const conf = join(dir, "nats.conf");
  writeFileSync(conf, `listen: "127.0.0.1:${port}"\njetstream { store_dir: "${join(dir, "store")}" }\n`);
  let child = null;
  let exited = Promise.resolve();
  const server = {
    port,
    url: `nats://127.0.0.1:${port}`,
    async start() {
      child = spawn(BIN, ["-c", conf], { stdio: "ignore" });
      exited = new Promise((r) => child.once("exit", r));
      let gone = false;
      void exited.then(() => (gone = true));
      const deadline = Date.now() + 10_000;
      while (!(await accepts(port))) {
        if (gone || Date.now() > deadline) throw new Error(`nats-server did not start on 127.0.0.1:${port} (installed? scripts/system-deps.sh as root installs it)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (child === null || child.exitCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

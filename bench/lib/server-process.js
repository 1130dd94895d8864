/**
 * A broker for the benchmarks (Mosquitto, nats-server) in a temporary directory: its config
 * file written there, the process started on a free loopback port and waited for until it
 * accepts connections, stopped and started again, and removed with its directory by close().
 * test/link/server-process.ts is the tests' richer twin (output kept, kill, early-exit reasons).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

/**
 * Starts `bin -c <dir>/<confName>`, the config being `config(port, dir)`; resolves to
 * { port, dir, pid(), start(), stop(), close() } once it accepts connections.
 */
export async function startServer({ name, bin, confName, config }) {
  const dir = mkdtempSync(join(tmpdir(), `qis-bench-${name}-`));
  const port = await freePort();
  const conf = join(dir, confName);
  writeFileSync(conf, config(port, dir));
  let child = null;
  let exited = Promise.resolve();
  const server = {
    port,
    dir,
    pid: () => child?.pid,
    async start() {
      child = spawn(bin, ["-c", conf], { stdio: "ignore" });
      exited = new Promise((r) => child.once("exit", r));
      let gone = false;
      void exited.then(() => (gone = true));
      const deadline = Date.now() + 10_000;
      while (!(await accepts(port))) {
        if (gone || Date.now() > deadline) throw new Error(`${name} did not start on 127.0.0.1:${port} (installed? scripts/system-deps.sh as root installs it)`);
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
  try {
    await server.start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return server;
}

/**
 * A Mosquitto broker for the benchmarks (what test/link/mosquitto.ts is for the tests, without
 * the password and TLS variants): a free loopback port, a temporary config, stop/start.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

const BIN = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => existsSync(p)) ?? "mosquitto";

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

export async function startMosquitto() {
  const dir = mkdtempSync(join(tmpdir(), "qis-bench-mosquitto-"));
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, "allow_anonymous true", "max_queued_messages 0", `user ${userInfo().username}`, "log_dest none", ""].join("\n"));
  let child = null;
  let exited = Promise.resolve();
  const broker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    pid: () => child?.pid,
    async start() {
      child = spawn(BIN, ["-c", conf], { stdio: "ignore" });
      exited = new Promise((r) => child.once("exit", r));
      let gone = false;
      void exited.then(() => (gone = true));
      const deadline = Date.now() + 10_000;
      while (!(await accepts(port))) {
        if (gone || Date.now() > deadline) throw new Error(`mosquitto did not start on 127.0.0.1:${port} (installed? scripts/system-deps.sh as root installs it)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (child === null || child.exitCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
    async close() {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}

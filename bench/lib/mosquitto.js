/**
 * A Mosquitto broker for the benchmarks (what test/link/mosquitto.ts is for the tests, without
 * the password and TLS variants): a free loopback port, a temporary config, stop/start.
 */
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { startServer } from "./server-process.js";

const BIN = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => existsSync(p)) ?? "mosquitto";

export async function startMosquitto() {
  const server = await startServer({
    name: "mosquitto",
    bin: BIN,
    confName: "mosquitto.conf",
    // Run as root, Mosquitto drops to the "mosquitto" user unless told to stay.
    config: (port) => [`listener ${port} 127.0.0.1`, "allow_anonymous true", "max_queued_messages 0", `user ${userInfo().username}`, "log_dest none", ""].join("\n"),
  });
  return Object.assign(server, { url: `mqtt://127.0.0.1:${server.port}` });
}

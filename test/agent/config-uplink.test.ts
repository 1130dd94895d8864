/** `uplinks.mqtt` in the config: defaults, paths, and every malformed value refused with its path. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, MQTT_DEFAULTS, resolveConfig, type AgentConfig } from "../../src/agent/config.js";
import { catchError } from "../catch-error.js";
import { runCli } from "../cli/run-cli.js";

const cwd = "/srv/agent";
const resolve = (input: unknown): AgentConfig => resolveConfig(input, { env: {}, cwd });
const problems = (input: unknown) => catchError(() => resolve(input), ConfigError).problems;
const mqtt = (over: Record<string, unknown>) => ({ uplinks: { mqtt: { url: "mqtt://broker.local", ...over } } });

describe("uplinks.mqtt", () => {
  it("is null by default (no uplink), and fills every default around a url, with absolute paths", () => {
    expect(resolve({}).uplinks).toEqual({ mqtt: null, nats: null });
    expect(resolve({ uplinks: {} }).uplinks).toEqual({ mqtt: null, nats: null });
    expect(resolve(mqtt({})).uplinks.mqtt).toEqual({ ...MQTT_DEFAULTS, url: "mqtt://broker.local" });
    const c = resolve(mqtt({ username: "u", passwordFile: "secrets/pw", tls: { ca: "ca.pem" }, outbox: { file: "ob.bin", capacity: 10 }, reconnect: { maxMs: 1000 } })).uplinks.mqtt!;
    expect(c.passwordFile).toBe("/srv/agent/secrets/pw");
    expect(c.tls).toEqual({ ca: "/srv/agent/ca.pem", cert: null, key: null, rejectUnauthorized: true });
    expect(c.outbox).toEqual({ file: "/srv/agent/ob.bin", capacity: 10, sync: false });
    expect(c.reconnect).toEqual({ minMs: 500, maxMs: 1000 });
  });

  it("accepts each URL scheme and both protocol versions", () => {
    for (const url of ["mqtt://h", "mqtt://10.0.0.1:1883", "mqtts://broker.example.com:8883", "ws://h:8080/mqtt", "wss://h/mqtt", "mqtt://[::1]:1883"]) {
      expect(() => resolve(mqtt({ url })), url).not.toThrow();
    }
    expect(resolve(mqtt({ protocol: "3.1.1", qos: 0 })).uplinks.mqtt).toMatchObject({ protocol: "3.1.1", qos: 0 });
  });

  // Each malformed value and the path it must be reported at.
  const BAD: [string, Record<string, unknown>, string][] = [
    ["no url", { uplinks: { mqtt: {} } }, "/uplinks/mqtt/url"],
    ["tcp:// url", mqtt({ url: "tcp://h:1883" }), "/uplinks/mqtt/url"],
    ["url with credentials", mqtt({ url: "mqtt://u:p@h" }), "/uplinks/mqtt/url"],
    ["url with a bad port", mqtt({ url: "mqtt://h:99999" }), "/uplinks/mqtt/url"],
    ["url not a string", mqtt({ url: 5 }), "/uplinks/mqtt/url"],
    ["mqtt a list", { uplinks: { mqtt: [] } }, "/uplinks/mqtt"],
    ["unknown key", mqtt({ urll: "x" }), "/uplinks/mqtt/urll"],
    ["unknown uplink", { uplinks: { amqp: {} } }, "/uplinks/amqp"],
    ["empty clientId", mqtt({ clientId: "" }), "/uplinks/mqtt/clientId"],
    ["username a number", mqtt({ username: 1 }), "/uplinks/mqtt/username"],
    ["password a number", mqtt({ username: "u", password: 1 }), "/uplinks/mqtt/password"],
    ["empty passwordFile", mqtt({ username: "u", passwordFile: "" }), "/uplinks/mqtt/passwordFile"],
    ["passwordEnv not a name", mqtt({ username: "u", passwordEnv: "A-B" }), "/uplinks/mqtt/passwordEnv"],
    ["two password sources", mqtt({ username: "u", password: "p", passwordEnv: "PW" }), "/uplinks/mqtt/passwordEnv"],
    ["a password without user", mqtt({ password: "p" }), "/uplinks/mqtt/password"],
    ["tls not an object", mqtt({ tls: true }), "/uplinks/mqtt/tls"],
    ["tls.ca empty", mqtt({ tls: { ca: "" } }), "/uplinks/mqtt/tls/ca"],
    ["tls.cert without key", mqtt({ tls: { cert: "c.pem" } }), "/uplinks/mqtt/tls/key"],
    ["tls.rejectUnauthorized a string", mqtt({ tls: { rejectUnauthorized: "no" } }), "/uplinks/mqtt/tls/rejectUnauthorized"],
    ["protocol 4", mqtt({ protocol: "4" }), "/uplinks/mqtt/protocol"],
    ["protocol a number", mqtt({ protocol: 5 }), "/uplinks/mqtt/protocol"],
    ["qos 3", mqtt({ qos: 3 }), "/uplinks/mqtt/qos"],
    ["qos a string", mqtt({ qos: "1" }), "/uplinks/mqtt/qos"],
    ["topicPrefix with #", mqtt({ topicPrefix: "a/#" }), "/uplinks/mqtt/topicPrefix"],
    ["topicPrefix with +", mqtt({ topicPrefix: "+" }), "/uplinks/mqtt/topicPrefix"],
    ["topicPrefix with an empty level", mqtt({ topicPrefix: "a//b" }), "/uplinks/mqtt/topicPrefix"],
    ["topicPrefix ending in /", mqtt({ topicPrefix: "a/" }), "/uplinks/mqtt/topicPrefix"],
    ["up not a list", mqtt({ up: "qis.>" }), "/uplinks/mqtt/up"],
    ["up a bad pattern", mqtt({ up: ["qis.>", "hvac.#"] }), "/uplinks/mqtt/up/1"],
    ["down a bad pattern", mqtt({ down: ["qis..x"] }), "/uplinks/mqtt/down/0"],
    ["down a number", mqtt({ down: [1] }), "/uplinks/mqtt/down/0"],
    ["batch 0", mqtt({ batch: 0 }), "/uplinks/mqtt/batch"],
    ["batch 1025", mqtt({ batch: 1025 }), "/uplinks/mqtt/batch"],
    ["batch 1.5", mqtt({ batch: 1.5 }), "/uplinks/mqtt/batch"],
    ["inflight 0", mqtt({ inflight: 0 }), "/uplinks/mqtt/inflight"],
    ["drainRate -1", mqtt({ drainRate: -1 }), "/uplinks/mqtt/drainRate"],
    ["json a string", mqtt({ json: "yes" }), "/uplinks/mqtt/json"],
    ["keepaliveS -1", mqtt({ keepaliveS: -1 }), "/uplinks/mqtt/keepaliveS"],
    ["sessionExpiryS too big", mqtt({ sessionExpiryS: 2 ** 32 }), "/uplinks/mqtt/sessionExpiryS"],
    ["reconnect.minMs 0", mqtt({ reconnect: { minMs: 0 } }), "/uplinks/mqtt/reconnect/minMs"],
    ["reconnect.maxMs < minMs", mqtt({ reconnect: { minMs: 5000, maxMs: 1000 } }), "/uplinks/mqtt/reconnect/maxMs"],
    ["reconnect.minMs > default maxMs", mqtt({ reconnect: { minMs: 60_000 } }), "/uplinks/mqtt/reconnect/minMs"],
    ["outbox.capacity 0", mqtt({ outbox: { capacity: 0 } }), "/uplinks/mqtt/outbox/capacity"],
    ["outbox.file empty", mqtt({ outbox: { file: "" } }), "/uplinks/mqtt/outbox/file"],
    ["outbox.sync a number", mqtt({ outbox: { sync: 1 } }), "/uplinks/mqtt/outbox/sync"],
    ["outbox unknown key", mqtt({ outbox: { size: 1 } }), "/uplinks/mqtt/outbox/size"],
  ];
  it.each(BAD)("refuses %s at its path", (_what, input, path) => {
    expect(problems(input).map((p) => p.path)).toEqual([path]);
  });

  it("config check lists each problem with its path and exits 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qis-config-uplink-"));
    try {
      const f = join(dir, "agent.json");
      writeFileSync(f, JSON.stringify(mqtt({ url: "tcp://x:1", qos: 3, up: ["qis.>", "x.#"], reconnect: { minMs: 0 } })));
      const r = await runCli(["config", "check", f]);
      expect(r.code).toBe(2);
      for (const p of ["/uplinks/mqtt/url", "/uplinks/mqtt/qos", "/uplinks/mqtt/up/1", "/uplinks/mqtt/reconnect/minMs"]) expect(r.stderr).toContain(p);
      expect(r.stderr).toContain("a broker URL: mqtt://HOST[:PORT]");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("run --help shows an MQTT uplink example and points to docs/uplink.md", async () => {
    const r = await runCli(["run", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toContain('"uplinks": {"mqtt": {"url": "mqtts://');
    expect(r.stdout.toString()).toContain("docs/uplink.md");
    expect(r.stdout.toString()).toContain("examples/agent-mqtt.json");
  });
});

describe("uplink files on this machine", () => {
  it("config check and run refuse, with the same lines, a credential or TLS file that run could not read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qis-uplink-files-"));
    try {
      writeFileSync(join(dir, "pw"), "secret\n");
      const config = join(dir, "agent.json");
      const body = {
        stateDir: join(dir, "state"),
        uplinks: {
          mqtt: { url: "mqtt://127.0.0.1:1", username: "u", passwordFile: join(dir, "pw"), tls: { ca: dir, cert: join(dir, "missing.crt"), key: join(dir, "pw") } },
          nats: { servers: ["nats://127.0.0.1:2"], tokenFile: join(dir, "no-token") },
        },
      };
      writeFileSync(config, JSON.stringify(body));
      const lines = [
        `ERR_CONFIG: ${config}: 3 problems`,
        `  /uplinks/mqtt/tls/ca: expected a readable file, found ${dir}, which is not a regular file`,
        `  /uplinks/mqtt/tls/cert: expected a readable file, found ${join(dir, "missing.crt")}, which does not exist`,
        `  /uplinks/nats/tokenFile: expected a readable file, found ${join(dir, "no-token")}, which does not exist`,
        "",
      ].join("\n");
      const check = await runCli(["config", "check", "--ignore-env", config]);
      expect(check.stderr).toBe(lines);
      expect(check.code).toBe(2);
      const run = await runCli(["run", "--config", config], undefined, { QIS_EDGE_PEERS: "" });
      expect(run.stderr).toBe(lines);
      expect(run.code).toBe(2);
      const schemaOnly = await runCli(["config", "check", "--ignore-env", "--schema-only", config]);
      expect(schemaOnly.stdout.toString()).toBe(`ok (schema only): ${config}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

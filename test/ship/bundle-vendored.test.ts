/**
 * The bundle carries typebox (with the schemas built on it) and cbor-x as vendored text, evaluated
 * on first use (scripts/bundle.js, VENDORS; docs/devices.md, "Idle memory"). An idle agent must
 * evaluate neither, even with a config file and environment overrides (the generated check,
 * src/agent/config-check.ts, judges a valid config); and every path that does need them must
 * behave exactly as the unbundled dist/ does. (The stdio session, both framings, runs from the
 * bundle in test/stdio/session.test.ts.) MQTT.js is vendored too: evaluated by an agent with
 * uplinks.mqtt only.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bin, root } from "../cli/run-cli.js";
import { runProcess } from "../run-process.js";
import { closeBrokers, startBroker } from "../link/mosquitto.js";
import { closeNatsServers, startNatsServer } from "../link/nats-server.js";
import { exitCode, waitForReady } from "./agent-process.js";

const BUNDLE = join(root, "dist", "qis-edge.mjs");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "qis-vendored-"));
  dirs.push(d);
  return d;
};
/** Environment without the caller's QIS_EDGE_* settings. */
const cleanEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("QIS_EDGE_")) delete env[k];
  return { ...env, ...extra };
};
/** Prints the vendors this process evaluated, on SIGUSR2 (the bundle lists them under a global symbol). */
const REPORT = `data:text/javascript,${encodeURIComponent(`process.on("SIGUSR2", () => process.stdout.write(JSON.stringify(globalThis[Symbol.for("qis-edge.vendored")] ?? []) + "\\n"))`)}`;

describe("an idle agent from the bundle", () => {
  // The control socket (on by default) is a sidecar of our own: its server only, not the stdio
  // session with typebox and cbor-x, which wait for its first client.
  for (const [control, loaded] of [
    [true, ["qis-sidecar:control"]],
    [false, []],
  ] as const) {
    it(`evaluates no vendored library, with a valid config file and environment overrides (control.enabled ${control})`, async () => {
      const dir = tempDir();
      const config = join(dir, "agent.json");
      writeFileSync(config, JSON.stringify({ store: { capacity: 1024 }, synth: { maxAddresses: 256 }, log: { level: "info" }, control: { enabled: control } }));
      const env = cleanEnv({ QIS_EDGE_STATE_DIR: dir, QIS_EDGE_PUB_BIND: "tcp://127.0.0.1:*", QIS_EDGE_STORE_BIND: "tcp://127.0.0.1:*", QIS_EDGE_STORE_FILE: "none" });
      const child = spawn(process.execPath, ["--import", REPORT, BUNDLE, "run", "--config", config], { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      const started = waitForReady(child);
      const ready = await started.ready;
      child.kill("SIGUSR2");
      for (let i = 0; i < 100 && !out.includes("\n"); i++) await new Promise((r) => setTimeout(r, 20));
      child.kill("SIGTERM");
      expect(await exitCode(child)).toBe(0);
      expect(ready, started.log()).toBe(true);
      expect(JSON.parse(out.trim())).toEqual(loaded);
    }, 30_000);
  }
});

describe("what needs the vendored libraries behaves as dist/ does", () => {
  const both = async (args: string[], input?: string, env: NodeJS.ProcessEnv = {}) => {
    const results = [];
    for (const entry of [bin, BUNDLE]) results.push(await runProcess(process.execPath, [entry, ...args], { cwd: root, input: input ?? "", env: cleanEnv(env) }));
    return results;
  };

  it("config schema: the same JSON Schema", async () => {
    const [dist, bundle] = await both(["config", "schema"]);
    expect(bundle!.status).toBe(0);
    expect(bundle!.stdout.toString()).toBe(dist!.stdout.toString());
    expect(JSON.parse(bundle!.stdout.toString())).toMatchObject({ title: "qis-edge agent config" });
  });

  it("a bad config file and a bad environment value: the same problems, exit 2", async () => {
    const dir = tempDir();
    const config = join(dir, "agent.json");
    writeFileSync(config, JSON.stringify({ store: { capacity: 0 }, bogus: 1, pub: { bind: "tcp://nowhere" } }));
    const [dist, bundle] = await both(["run", "--config", config], undefined, { QIS_EDGE_STATE_DIR: dir, QIS_EDGE_LOG_LEVEL: "loud" });
    expect(bundle!.status).toBe(2);
    expect(bundle!.stderr.toString()).toBe(dist!.stderr.toString());
    expect(bundle!.stderr.toString()).toMatch(/^ERR_CONFIG: .*4 problems/);
    expect(bundle!.stderr.toString()).toContain("env:QIS_EDGE_LOG_LEVEL");
  });

  it("pack: the same 512 bytes for an observation, the same ERR_OBSERVATION for a bad one", async () => {
    const good = JSON.stringify({ domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: -0.5, confidence: 0.9, nObservations: 12, timestampMs: 1_700_000_000_000, nodeId: "00112233445566778899aabbccddeeff", seq: 7 });
    const [d1, b1] = await both(["pack"], good);
    expect(b1!.status).toBe(0);
    expect(b1!.stdout.length).toBe(512);
    expect(b1!.stdout.equals(d1!.stdout)).toBe(true);
    const bad = JSON.stringify({ domain: "hvac", problemClass: "x", outcomeDelta: 2, confidence: "high", nObservations: 1.5, colour: "red" });
    const [d2, b2] = await both(["pack"], bad);
    expect(b2!.status).toBe(d2!.status);
    expect(b2!.stderr.toString()).toBe(d2!.stderr.toString());
    expect(b2!.stderr.toString()).toBe(
      [
        "ERR_OBSERVATION: invalid observation: 4 problems",
        "  /: must not have additional properties: colour",
        "  /outcomeDelta: must be <= 1",
        "  /confidence: must be number",
        "  /nObservations: must be integer",
        "",
      ].join("\n"),
    );
  });
});

describe("an agent from the bundle with uplinks.mqtt", () => {
  afterAll(() => closeBrokers());

  it("loads the MQTT sidecar (qis-edge-mqtt.cjs) only then, and connects to Mosquitto", async () => {
    const broker = await startBroker();
    const dir = tempDir();
    const config = join(dir, "agent.json");
    writeFileSync(config, JSON.stringify({ log: { level: "info" }, control: { enabled: false }, uplinks: { mqtt: { url: broker.url } } }));
    const env = cleanEnv({ QIS_EDGE_STATE_DIR: dir, QIS_EDGE_STORE_FILE: "none" });
    const child = spawn(process.execPath, ["--import", REPORT, BUNDLE, "run", "--config", config], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const started = waitForReady(child);
    expect(await started.ready, started.log()).toBe(true);
    for (let i = 0; i < 200 && !started.log().includes('"msg":"uplink connected"'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(started.log()).toContain(`"msg":"uplink connected","uplink":"mqtt","broker":"${broker.url}"`);
    child.kill("SIGUSR2");
    for (let i = 0; i < 100 && !out.includes("\n"); i++) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM");
    expect(await exitCode(child)).toBe(0);
    expect(JSON.parse(out.trim())).toEqual(["qis-sidecar:mqtt"]);
  }, 30_000);
});

describe("an agent from the bundle with uplinks.nats", () => {
  afterAll(() => closeNatsServers());

  it("loads the NATS sidecar (qis-edge-nats.cjs) only then, and connects to nats-server", async () => {
    const server = await startNatsServer();
    const dir = tempDir();
    const config = join(dir, "agent.json");
    writeFileSync(config, JSON.stringify({ log: { level: "info" }, control: { enabled: false }, uplinks: { nats: { servers: [server.url] } } }));
    const env = cleanEnv({ QIS_EDGE_STATE_DIR: dir, QIS_EDGE_STORE_FILE: "none" });
    const child = spawn(process.execPath, ["--import", REPORT, BUNDLE, "run", "--config", config], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const started = waitForReady(child);
    expect(await started.ready, started.log()).toBe(true);
    for (let i = 0; i < 200 && !started.log().includes('"msg":"uplink connected"'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(started.log()).toContain(`"msg":"uplink connected","uplink":"nats","broker":"${server.url}"`);
    child.kill("SIGUSR2");
    for (let i = 0; i < 100 && !out.includes("\n"); i++) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM");
    expect(await exitCode(child)).toBe(0);
    expect(JSON.parse(out.trim())).toEqual(["qis-sidecar:nats"]);
  }, 30_000);
});

describe("an agent from the bundle with discovery.enabled", () => {
  it("loads the discovery sidecar (qis-edge-discovery.cjs) only then, and beacons", async () => {
    const dir = tempDir();
    const config = join(dir, "agent.json");
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    writeFileSync(config, JSON.stringify({ log: { level: "info" }, control: { enabled: false }, discovery: { enabled: true, allowInsecure: true, interface: "127.0.0.1", group: "239.255.77.77", port } }));
    const env = cleanEnv({ QIS_EDGE_STATE_DIR: dir, QIS_EDGE_STORE_FILE: "none" });
    const child = spawn(process.execPath, ["--import", REPORT, BUNDLE, "run", "--config", config], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const started = waitForReady(child);
    expect(await started.ready, started.log()).toBe(true);
    expect(started.log()).toContain(`"msg":"discovery on","group":"239.255.77.77","port":${port}`);
    child.kill("SIGUSR2");
    for (let i = 0; i < 100 && !out.includes("\n"); i++) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM");
    expect(await exitCode(child)).toBe(0);
    expect(JSON.parse(out.trim())).toEqual(["qis-sidecar:discovery"]);
  }, 30_000);
});

describe("an agent from the bundle with security.signing", () => {
  it("loads the signing sidecar (qis-edge-signing.cjs) only then, and signs", async () => {
    const dir = tempDir();
    const config = join(dir, "agent.json");
    writeFileSync(config, JSON.stringify({ log: { level: "info" }, control: { enabled: false }, security: { signing: { keyFile: "signing.key" } } }));
    const env = cleanEnv({ QIS_EDGE_STATE_DIR: dir, QIS_EDGE_STORE_FILE: "none" });
    const child = spawn(process.execPath, ["--import", REPORT, BUNDLE, "run", "--config", config], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const started = waitForReady(child);
    expect(await started.ready, started.log()).toBe(true);
    expect(started.log()).toMatch(/"msg":"signing key created".*"keyId":"[0-9a-f]{16}"/);
    expect(started.log()).toMatch(/"msg":"ready".*"signingKeyId":"[0-9a-f]{16}"/);
    child.kill("SIGUSR2");
    for (let i = 0; i < 100 && !out.includes("\n"); i++) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM");
    expect(await exitCode(child)).toBe(0);
    expect(JSON.parse(out.trim())).toEqual(["qis-sidecar:signing"]);
  }, 30_000);
});

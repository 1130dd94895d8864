/** `uplinks.nats` in the config: defaults, paths, and every malformed value refused with its path. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, NATS_DEFAULTS, resolveConfig, type AgentConfig } from "../../src/agent/config.js";
import { catchError } from "../catch-error.js";
import { runCli } from "../cli/run-cli.js";

const cwd = "/srv/agent";
const resolve = (input: unknown): AgentConfig => resolveConfig(input, { env: {}, cwd });
const problems = (input: unknown) => catchError(() => resolve(input), ConfigError).problems;
const nats = (over: Record<string, unknown>) => ({ uplinks: { nats: { servers: ["nats://n1.local:4222"], ...over } } });

describe("uplinks.nats", () => {
  it("is null by default, and fills every default (the reference's stream) around the servers, with absolute paths", () => {
    expect(resolve({}).uplinks.nats).toBeNull();
    expect(resolve(nats({})).uplinks.nats).toEqual({ ...NATS_DEFAULTS, servers: ["nats://n1.local:4222"] });
    expect(NATS_DEFAULTS.stream).toEqual({ name: "QIS_OUTCOMES", subjects: ["qis.iot.>"], maxBytes: 52_428_800, maxAgeS: 86_400, discard: "old", storage: "file", replicas: 1, duplicateWindowS: 120, update: false });
    const c = resolve(nats({ user: "u", passwordFile: "secrets/pw", tls: { ca: "ca.pem" }, outbox: { file: "ob.bin" }, stream: { maxBytes: 1000 } })).uplinks.nats!;
    expect(c.passwordFile).toBe("/srv/agent/secrets/pw");
    expect(c.tls).toEqual({ ca: "/srv/agent/ca.pem", cert: null, key: null, required: false });
    expect(c.outbox).toEqual({ file: "/srv/agent/ob.bin", capacity: 65_536, sync: false });
    expect(c.stream).toEqual({ ...NATS_DEFAULTS.stream, maxBytes: 1000 });
    expect(resolve(nats({ credsFile: "u.creds" })).uplinks.nats!.credsFile).toBe("/srv/agent/u.creds");
    expect(resolve(nats({ nkeySeedFile: "u.nk" })).uplinks.nats!.nkeySeedFile).toBe("/srv/agent/u.nk");
    expect(resolve(nats({ tokenEnv: "NATS_TOKEN" })).uplinks.nats!.tokenEnv).toBe("NATS_TOKEN");
    expect(resolve(nats({ servers: ["tls://a:4443", "b", "[::1]:4222"] })).uplinks.nats!.servers).toEqual(["tls://a:4443", "b", "[::1]:4222"]);
  });

  it("knows which subjects cover which up patterns", async () => {
    const { subjectCovers } = await import("../../src/link/nats/names.js");
    expect(subjectCovers("qis.>", "qis.iot.>")).toBe(true);
    expect(subjectCovers("qis.iot.>", "qis.iot.hvac.x")).toBe(true);
    expect(subjectCovers("qis.iot.>", "qis.iot")).toBe(false);
    expect(subjectCovers("qis.iot.>", "qis.>")).toBe(false);
    expect(subjectCovers("qis.*.x", "qis.a.x")).toBe(true);
    expect(subjectCovers("qis.*.x", "qis.*.x")).toBe(true);
    expect(subjectCovers("qis.*.x", "qis.>")).toBe(false);
    expect(subjectCovers("qis.*", "qis.a.b")).toBe(false);
    expect(subjectCovers("qis.a", "qis.a")).toBe(true);
    expect(resolve(nats({ up: ["qis.iot.a.*", "qis.iot.>"] })).uplinks.nats!.up).toEqual(["qis.iot.a.*", "qis.iot.>"]);
    expect(resolve(nats({ stream: { subjects: ["qis.>"] }, up: ["qis.hvac.>"] })).uplinks.nats!.up).toEqual(["qis.hvac.>"]);
  });

  // Each malformed value and the path it must be reported at.
  const BAD: [string, Record<string, unknown>, string][] = [
    ["no servers", { uplinks: { nats: {} } }, "/uplinks/nats/servers"],
    ["servers empty", nats({ servers: [] }), "/uplinks/nats/servers"],
    ["servers a string", nats({ servers: "nats://a" }), "/uplinks/nats/servers"],
    ["a server with credentials", nats({ servers: ["nats://u:p@a:4222"] }), "/uplinks/nats/servers/0"],
    ["a server with another scheme", nats({ servers: ["a:1", "mqtt://a"] }), "/uplinks/nats/servers/1"],
    ["a server with a bad port", nats({ servers: ["a:70000"] }), "/uplinks/nats/servers/0"],
    ["unknown key", nats({ server: "x" }), "/uplinks/nats/server"],
    ["name empty", nats({ name: "" }), "/uplinks/nats/name"],
    ["user a number", nats({ user: 1, password: "p" }), "/uplinks/nats/user"],
    ["password without user", nats({ password: "p" }), "/uplinks/nats/password"],
    ["user without password", nats({ user: "u" }), "/uplinks/nats/user"],
    ["two password sources", nats({ user: "u", password: "p", passwordEnv: "PW" }), "/uplinks/nats/passwordEnv"],
    ["passwordEnv not a name", nats({ user: "u", passwordEnv: "A-B" }), "/uplinks/nats/passwordEnv"],
    ["two token sources", nats({ token: "t", tokenFile: "f" }), "/uplinks/nats/tokenFile"],
    ["token empty", nats({ token: "" }), "/uplinks/nats/token"],
    ["user and token", nats({ user: "u", password: "p", token: "t" }), "/uplinks/nats/token"],
    ["token and creds", nats({ tokenEnv: "T", credsFile: "u.creds" }), "/uplinks/nats/credsFile"],
    ["nkey and creds", nats({ nkeySeedFile: "s", credsFile: "c" }), "/uplinks/nats/credsFile"],
    ["credsFile empty", nats({ credsFile: "" }), "/uplinks/nats/credsFile"],
    ["tls.cert without key", nats({ tls: { cert: "c.pem" } }), "/uplinks/nats/tls/key"],
    ["tls.required a string", nats({ tls: { required: "yes" } }), "/uplinks/nats/tls/required"],
    ["stream.name with a dot", nats({ stream: { name: "A.B" } }), "/uplinks/nats/stream/name"],
    ["stream.subjects empty", nats({ stream: { subjects: [] } }), "/uplinks/nats/stream/subjects"],
    ["stream.subjects a bad pattern", nats({ stream: { subjects: ["qis.>", "a b"] } }), "/uplinks/nats/stream/subjects/1"],
    ["stream.maxBytes 0", nats({ stream: { maxBytes: 0 } }), "/uplinks/nats/stream/maxBytes"],
    ["stream.maxAgeS -1", nats({ stream: { maxAgeS: -1 } }), "/uplinks/nats/stream/maxAgeS"],
    ["stream.discard", nats({ stream: { discard: "oldest" } }), "/uplinks/nats/stream/discard"],
    ["stream.storage", nats({ stream: { storage: "disk" } }), "/uplinks/nats/stream/storage"],
    ["stream.replicas 6", nats({ stream: { replicas: 6 } }), "/uplinks/nats/stream/replicas"],
    ["stream.duplicateWindowS > maxAgeS", nats({ stream: { maxAgeS: 60, duplicateWindowS: 120 } }), "/uplinks/nats/stream/duplicateWindowS"],
    ["stream.maxAgeS < default duplicate window", nats({ stream: { maxAgeS: 60 } }), "/uplinks/nats/stream/maxAgeS"],
    ["stream.update a number", nats({ stream: { update: 1 } }), "/uplinks/nats/stream/update"],
    ["stream unknown key", nats({ stream: { max_bytes: 1 } }), "/uplinks/nats/stream/max_bytes"],
    ["up a bad pattern", nats({ up: ["qis.iot.>", "hvac.#"] }), "/uplinks/nats/up/1"],
    ["down a bad pattern", nats({ down: ["qis..x"] }), "/uplinks/nats/down/0"],
    ["up outside the stream's subjects", nats({ up: ["qis.iot.>", "qis.hvac.>"] }), "/uplinks/nats/up/1"],
    ["up wider than the stream's subjects", nats({ up: ["qis.>"] }), "/uplinks/nats/up/0"],
    ["stream subjects leaving out the default up", nats({ stream: { subjects: ["qis.iot.hvac.>"] } }), "/uplinks/nats/stream/subjects"],
    ["down two patterns of one consumer name", nats({ down: ["qis.a-b.c", "qis.a.b-c"] }), "/uplinks/nats/down/1"],
    ["consumer.ackWaitS 0", nats({ consumer: { ackWaitS: 0 } }), "/uplinks/nats/consumer/ackWaitS"],
    ["consumer.maxAckPending 0", nats({ consumer: { maxAckPending: 0 } }), "/uplinks/nats/consumer/maxAckPending"],
    ["consumer.fetch 1.5", nats({ consumer: { fetch: 1.5 } }), "/uplinks/nats/consumer/fetch"],
    ["batch 1025", nats({ batch: 1025 }), "/uplinks/nats/batch"],
    ["inflight 0", nats({ inflight: 0 }), "/uplinks/nats/inflight"],
    ["drainRate -1", nats({ drainRate: -1 }), "/uplinks/nats/drainRate"],
    ["ackTimeoutMs 10", nats({ ackTimeoutMs: 10 }), "/uplinks/nats/ackTimeoutMs"],
    ["reconnect.maxMs < minMs", nats({ reconnect: { minMs: 5000, maxMs: 1000 } }), "/uplinks/nats/reconnect/maxMs"],
    ["outbox.capacity 0", nats({ outbox: { capacity: 0 } }), "/uplinks/nats/outbox/capacity"],
    ["codec unknown", nats({ codec: "json" }), "/uplinks/nats/codec"],
    ["reference-json up outside qis.iot.*.>", nats({ codec: "reference-json", up: ["qis.iot.*.>", "qis.iot.hvac"] }), "/uplinks/nats/up/1"],
    ["reference-json up qis.iot.>", nats({ codec: "reference-json", up: ["qis.iot.>"] }), "/uplinks/nats/up/0"],
    ["referenceJson conclusion delta 2", nats({ referenceJson: { conclusions: { wear: 2 } } }), "/uplinks/nats/referenceJson/conclusions/wear"],
    ["referenceJson defaultDelta -1.5", nats({ referenceJson: { defaultDelta: -1.5 } }), "/uplinks/nats/referenceJson/defaultDelta"],
    ["referenceJson unknown key", nats({ referenceJson: { ttl: 1 } }), "/uplinks/nats/referenceJson/ttl"],
    ["referenceJson conclusions an array", nats({ referenceJson: { conclusions: [] } }), "/uplinks/nats/referenceJson/conclusions"],
    ["referenceJson conclusion empty text", nats({ referenceJson: { conclusions: { "": 1 } } }), "/uplinks/nats/referenceJson/conclusions/"],
  ];

  it("codec reference-json: up defaults to what the reference has subjects for; conclusions kept as given", () => {
    const c = resolve(nats({ codec: "reference-json", referenceJson: { conclusions: { "bearing wear": 1, normal: -1 }, ttlS: 60 } })).uplinks.nats!;
    expect(c.up).toEqual(["qis.iot.*.>"]);
    expect(c.referenceJson).toEqual({ ttlS: 60, conclusions: { "bearing wear": 1, normal: -1 }, defaultDelta: 0 });
    expect(resolve(nats({ codec: "reference-json", up: ["qis.iot.pm.>"] })).uplinks.nats!.up).toEqual(["qis.iot.pm.>"]);
    expect(resolve(nats({})).uplinks.nats!.referenceJson).toEqual({ ttlS: 86_400, conclusions: {}, defaultDelta: 0 });
  });
  it.each(BAD)("refuses %s at its path", (_what, input, path) => {
    expect(problems(input).map((p) => p.path)).toEqual([path]);
  });

  it("config check lists each problem with its path and exits 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qis-config-nats-"));
    try {
      const f = join(dir, "agent.json");
      writeFileSync(f, JSON.stringify(nats({ servers: ["nats://u:p@x"], token: "t", tokenEnv: "T", stream: { discard: "x" } })));
      const r = await runCli(["config", "check", f]);
      expect(r.code).toBe(2);
      for (const p of ["/uplinks/nats/servers/0", "/uplinks/nats/tokenEnv", "/uplinks/nats/stream/discard"]) expect(r.stderr).toContain(p);
      expect(r.stderr).toContain("a NATS server: nats://HOST[:PORT]");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("run --help shows a NATS uplink example and points to examples/agent-nats.json", async () => {
    const r = await runCli(["run", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toContain('{"uplinks": {"nats": {"servers": ["tls://');
    expect(r.stdout.toString()).toContain("examples/agent-nats.json");
  });
});

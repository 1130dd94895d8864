/**
 * src/agent/config-check.ts is typebox's check of the config schema, generated ahead of time so
 * that a valid config is checked without loading typebox. It must be current and must agree
 * with typebox on every input: a config it passes is never checked again.
 */
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { Check } from "typebox/value";
import { describe, expect, it } from "vitest";
import { checkConfig } from "../../src/agent/config-check.js";
import { AgentConfigSchema } from "../../src/agent/config-schema.js";
import { CONFIG_DEFAULTS, MQTT_DEFAULTS, NATS_DEFAULTS } from "../../src/agent/config.js";
import { runText } from "../run-process.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const agree = (v: unknown): void => expect(checkConfig(v), JSON.stringify(v)).toBe(Check(AgentConfigSchema, v));

type Rec = Record<string, unknown>;
/** Every key path of the defaults, objects included. */
function paths(v: unknown, at: string[] = []): string[][] {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return [at];
  return [at, ...Object.entries(v as Rec).flatMap(([k, x]) => paths(x, [...at, k]))];
}
function withValue(base: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = { ...(base as Rec) };
  copy[path[0]!] = withValue(copy[path[0]!], path.slice(1), value);
  return copy;
}
// With an MQTT and a NATS uplink, so that their keys are walked too (the defaults have none).
const DEFAULTS = JSON.parse(
  JSON.stringify({ ...CONFIG_DEFAULTS, uplinks: { mqtt: { url: "mqtt://127.0.0.1:1883", ...MQTT_DEFAULTS }, nats: { servers: ["nats://127.0.0.1:4222"], ...NATS_DEFAULTS } } }),
) as Rec;
const ODD = [null, true, 0, -1, 0.5, 1e9, Number.MAX_SAFE_INTEGER + 2, "", "x", "tcp://127.0.0.1:*", "tcp://[::1]:5600", "ipc:///tmp/q", "\uD83D\uDE00", [], [1], {}, { bogus: 1 }];

describe("the generated config check", () => {
  it("is what the current schema generates (else: npm run gen:config-check)", async () => {
    const r = await runText(process.execPath, ["scripts/gen-config-check.js", "--check"], { cwd: root });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it("agrees with typebox on the defaults, {}, the shipped configs and every key set to odd values", () => {
    agree(DEFAULTS);
    agree(JSON.parse(JSON.stringify(CONFIG_DEFAULTS)));
    agree({});
    const shipped = [
      ...readdirSync(`${root}targets`).filter((f) => f.endsWith(".agent.json")).map((f) => `${root}targets/${f}`),
      `${root}examples/agent.json`,
      `${root}examples/agent-mqtt.json`,
      `${root}examples/agent-nats.json`,
    ];
    for (const f of shipped) {
      const c = JSON.parse(readFileSync(f, "utf8")) as unknown;
      expect(checkConfig(c), f).toBe(true);
      agree(c);
    }
    let checked = 0;
    for (const p of paths(DEFAULTS)) {
      for (const v of ODD) {
        agree(withValue(DEFAULTS, p, v));
        checked++;
      }
      agree(withValue(DEFAULTS, [...p, "unknownKey"], 1));
    }
    expect(checked).toBeGreaterThan(700);
    // a few that must be refused
    expect(checkConfig({ store: { capacity: 0 } })).toBe(false);
    expect(checkConfig({ pub: { bind: "tcp://host" } })).toBe(false);
    expect(checkConfig({ peers: [{ pub: "tcp://127.0.0.1:5600", extra: 1 }] })).toBe(false);
    expect(checkConfig({ stateDir: "" })).toBe(false);
    expect(checkConfig([])).toBe(false);
  });

  it("agrees with typebox on random JSON under random keys", () => {
    const keyPaths = paths(DEFAULTS);
    fc.assert(
      fc.property(fc.constantFrom(...keyPaths), fc.jsonValue({ maxDepth: 3 }), (p, v) => {
        agree(withValue(DEFAULTS, p, v));
      }),
      { numRuns: 2000 },
    );
  });
});

/**
 * What a plain `qis-edge run` leaves out to keep an idle agent small (docs/devices.md, "Idle
 * memory"): the legacy links' modules without a legacy link, the schemas (and typebox) until a
 * config is invalid or an observation arrives (test/agent/config-check.test.ts checks the
 * generated check that judges valid configs; test/ship/ has the bundle's side).
 */
import { describe, expect, it } from "vitest";
import { CONFIG_DEFAULTS, ConfigError, resolveConfig } from "../../src/agent/config.js";
import { usesLegacy } from "../../src/agent/legacy-links.js";
import { ObservationError, parseObservation } from "../../src/agent/observation.js";

const legacy = (pub: string | null, rep: string | null) => ({ pub, rep, replyLimit: 50 });
const peer = (codec: "qis" | "legacy") => ({ name: "p", pub: "tcp://127.0.0.1:5600", store: null, codec });

describe("legacy links are loaded only when configured", () => {
  it("usesLegacy: a legacy PUB, a legacy REP or a legacy peer; nothing else", () => {
    expect(usesLegacy({ legacy: legacy(null, null), peers: [] })).toBe(false);
    expect(usesLegacy({ legacy: legacy(null, null), peers: [peer("qis")] })).toBe(false);
    expect(usesLegacy({ legacy: legacy("tcp://127.0.0.1:*", null), peers: [] })).toBe(true);
    expect(usesLegacy({ legacy: legacy(null, "tcp://127.0.0.1:*"), peers: [] })).toBe(true);
    expect(usesLegacy({ legacy: legacy(null, null), peers: [peer("qis"), peer("legacy")] })).toBe(true);
    expect(usesLegacy(CONFIG_DEFAULTS)).toBe(false);
  });
});

describe("schemas loaded on first use", () => {
  it("no file: defaults and env still resolve, and a bad env value is still refused", () => {
    expect(resolveConfig(undefined, { env: {} })).toMatchObject({ store: { capacity: CONFIG_DEFAULTS.store.capacity } });
    expect(resolveConfig(undefined, { env: { QIS_EDGE_STORE_CAPACITY: "1024" } }).store.capacity).toBe(1024);
    expect(() => resolveConfig(undefined, { env: { QIS_EDGE_STORE_CAPACITY: "0" } })).toThrow(ConfigError);
  });

  it("a bad file is explained by the schema, every problem listed, on the first and later calls", () => {
    for (let i = 0; i < 2; i++) {
      let err: unknown;
      try {
        resolveConfig({ store: { capacity: 0 }, bogus: 1 }, { env: {} });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.path).sort()).toEqual(["/bogus", "/store/capacity"]);
    }
  });

  it("observations: valid ones pass, invalid ones list their problems (first and later calls)", () => {
    const ok = { domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: 0.1, confidence: 0.5, nObservations: 3 };
    expect(parseObservation(ok)).toBe(ok);
    expect(() => parseObservation({ ...ok, confidence: 2 })).toThrow(ObservationError);
    expect(parseObservation(ok)).toBe(ok);
  });
});

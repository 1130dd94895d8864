/** `metrics.listen`, `metrics.allowRemote` and `log.statsIntervalS` in the config and the environment. */
import { describe, expect, it } from "vitest";
import { CONFIG_DEFAULTS, ConfigError, resolveConfig } from "../../src/agent/config.js";
import { isLoopback, parseListen } from "../../src/metrics/listen.js";

function problems(input: unknown, env: NodeJS.ProcessEnv = {}): { path: string; expected: string; found: string }[] {
  try {
    resolveConfig(input, { env });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("metrics config", () => {
  it("is off by default; a stats line every 60 s", () => {
    expect(CONFIG_DEFAULTS.metrics).toEqual({ listen: null, allowRemote: false });
    expect(resolveConfig(undefined, { env: {} }).metrics).toEqual({ listen: null, allowRemote: false });
    expect(resolveConfig(undefined, { env: {} }).log.statsIntervalS).toBe(60);
  });

  it("takes loopback HOST:PORT addresses, port 0 included", () => {
    for (const listen of ["127.0.0.1:9464", "127.0.0.2:0", "[::1]:9464", "localhost:65535"]) expect(resolveConfig({ metrics: { listen } }, { env: {} }).metrics.listen).toBe(listen);
  });

  it("refuses any other address unless allowRemote, naming the key", () => {
    for (const listen of ["0.0.0.0:9464", "[::]:9464", "192.168.1.20:9464", "gateway.local:9464"]) {
      expect(problems({ metrics: { listen } })).toEqual([
        { path: "/metrics/listen", expected: "a loopback address (127.0.0.1, [::1], localhost) unless metrics.allowRemote is true", found: JSON.stringify(listen) },
      ]);
      expect(resolveConfig({ metrics: { listen, allowRemote: true } }, { env: {} }).metrics).toEqual({ listen, allowRemote: true });
    }
  });

  it("refuses what is not HOST:PORT, and a bad statsIntervalS", () => {
    const expected = "HOST:PORT to listen on, e.g. 127.0.0.1:9464 or [::1]:9464 (port 0: a free port) or null";
    for (const listen of ["9464", "http://127.0.0.1:9464", "127.0.0.1:65536", "127.0.0.1:", ":9464"]) {
      expect(problems({ metrics: { listen } })).toEqual([{ path: "/metrics/listen", expected, found: JSON.stringify(listen) }]);
    }
    expect(problems({ metrics: { port: 1 }, log: { statsIntervalS: -1 } }).map((p) => p.path)).toEqual(["/log/statsIntervalS", "/metrics/port"]);
  });

  it("QIS_EDGE_METRICS_LISTEN overrides the file; none turns metrics off; its value is checked too", () => {
    expect(resolveConfig({ metrics: { listen: "127.0.0.1:1" } }, { env: { QIS_EDGE_METRICS_LISTEN: "[::1]:2" } }).metrics.listen).toBe("[::1]:2");
    expect(resolveConfig({ metrics: { listen: "127.0.0.1:1" } }, { env: { QIS_EDGE_METRICS_LISTEN: "none" } }).metrics.listen).toBe(null);
    expect(problems(undefined, { QIS_EDGE_METRICS_LISTEN: "0.0.0.0:9464" })).toEqual([
      { path: "env:QIS_EDGE_METRICS_LISTEN", expected: "a loopback address (127.0.0.1, [::1], localhost) unless metrics.allowRemote is true", found: '"0.0.0.0:9464"' },
    ]);
    expect(problems(undefined, { QIS_EDGE_METRICS_LISTEN: "loopback" }).map((p) => p.path)).toEqual(["env:QIS_EDGE_METRICS_LISTEN"]);
  });

  it("parseListen and isLoopback", () => {
    expect(parseListen("[::1]:9464")).toEqual({ host: "::1", port: 9464 });
    expect(parseListen("localhost:0")).toEqual({ host: "localhost", port: 0 });
    expect(parseListen("127.0.0.1:99999")).toBe(null);
    expect(parseListen("127.0.0.1")).toBe(null);
    expect(["127.0.0.1", "127.255.0.9", "::1", "localhost", "LOCALHOST", "::ffff:127.0.0.1"].every(isLoopback)).toBe(true);
    expect(["0.0.0.0", "::", "128.0.0.1", "127.0.0.256", "localhost.example", "10.0.0.1"].some(isLoopback)).toBe(false);
  });
});

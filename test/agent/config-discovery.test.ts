/** `discovery` in the config (docs/config.md, docs/discovery.md): defaults, bounds, cross-checks, and `config check` on a real file. */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, resolveConfig } from "../../src/agent/config.js";
import { preflightProblems } from "../../src/agent/preflight.js";
import { catchError } from "../catch-error.js";
import { runCli } from "../cli/run-cli.js";

const resolve = (input: unknown) => resolveConfig(input, { env: {}, cwd: "/tmp" });
const problems = (input: unknown) => catchError(() => resolve(input), ConfigError).problems.map((p) => [p.path, p.expected]);
const on = { enabled: true, allowInsecure: true };

describe("discovery config", () => {
  it("is off by default, with its group, port and intervals", () => {
    expect(resolve({}).discovery).toEqual({ enabled: false, group: "239.255.81.1", port: 5681, interface: null, minIntervalMs: 1000, maxIntervalMs: 5000, maxPeers: 32, allowInsecure: false });
    expect(resolve({ discovery: { ...on, group: "239.1.2.3", port: 7446, interface: "127.0.0.1", minIntervalMs: 100, maxIntervalMs: 100 } }).discovery.group).toBe("239.1.2.3");
  });

  it("refuses what is out of bounds, each problem at its path", () => {
    const paths = problems({ discovery: { group: "192.168.1.1", port: 0, interface: "eth0", minIntervalMs: 99, maxIntervalMs: 60_001, maxPeers: 0, colour: 1 } }).map(([p]) => p);
    expect(paths.sort()).toEqual(["colour", "group", "port", "interface", "minIntervalMs", "maxIntervalMs", "maxPeers"].map((k) => `/discovery/${k}`).sort());
  });

  it("cross-checks: intervals in order, TCP endpoints to announce, a key to check or allowInsecure", () => {
    expect(problems({ discovery: { minIntervalMs: 3000, maxIntervalMs: 2000 } })).toEqual([["/discovery/maxIntervalMs", "an integer >= discovery.minIntervalMs (3000)"]]);
    expect(problems({ discovery: { minIntervalMs: 6000 } })).toEqual([["/discovery/minIntervalMs", "an integer <= discovery.maxIntervalMs (5000)"]]);
    expect(problems({ pub: { bind: "ipc:///tmp/x" }, store: { bind: "inproc://s" }, discovery: on }).map(([p]) => p)).toEqual(["/pub/bind", "/store/bind"]);
    const [[path, expected]] = problems({ discovery: { enabled: true } }) as [[string, string]];
    expect(path).toBe("/discovery/allowInsecure");
    expect(expected).toContain("security.secretKeyFile");
    // With CURVE keys, the allowlist decides: no allowInsecure needed.
    expect(resolve({ security: { secretKeyFile: "k.key" }, discovery: { enabled: true } }).discovery.enabled).toBe(true);
    // Off, nothing is asked of the rest.
    expect(resolve({ pub: { bind: "ipc:///tmp/x" }, discovery: { enabled: false } }).discovery.enabled).toBe(false);
  });

  it("preflight: the interface must be an address of this machine", async () => {
    const c = resolve({ stateDir: "/tmp/none", discovery: { ...on, interface: "192.0.2.123" } });
    expect((await preflightProblems(c)).map((p) => p.path)).toEqual(["/discovery/interface"]);
    expect(await preflightProblems(resolve({ stateDir: "/tmp/none", discovery: { ...on, interface: "127.0.0.1" } }))).toEqual([]);
  });

  it("config check names the problems of a file", async () => {
    const dir = process.env.TMPDIR!;
    const file = join(dir, "agent.json");
    writeFileSync(file, JSON.stringify({ stateDir: join(dir, "state"), discovery: { enabled: true, group: "10.0.0.1" } }));
    const r = await runCli(["config", "check", file]);
    expect(r.code).toBe(2);
    const text = r.stderr.toString();
    expect(text).toContain("ERR_CONFIG");
    expect(text).toContain("/discovery/group: expected an IPv4 multicast group");
    expect(text).toContain("/discovery/allowInsecure: expected true when discovery.enabled");
    rmSync(file);
  });
});

/**
 * Limits that tell the truth (issue 19): a config that `run` would refuse on this machine is
 * refused by `config check` first, with the same lines; the sockets a config needs are
 * computed and the agent's ZeroMQ context is sized to fit.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bin, root } from "../cli/run-cli.js";
import { socketBudget } from "../../src/agent/limits.js";
import { resolveConfig } from "../../src/agent/config.js";
import { closeAll, startAgent, tempDir } from "./harness.js";

afterEach(closeAll);

/** The CLI under a shell, so that a test can lower `ulimit -n` for it alone. */
function cli(args: string[], ulimit?: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const script = `${ulimit === undefined ? "" : `ulimit -n ${ulimit} && `}exec '${process.execPath}' '${bin}' ${quoted}`;
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", script], { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, QIS_EDGE_LOG_LEVEL: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function configFile(dir: string, config: Record<string, unknown>): string {
  const f = join(dir, "agent.json");
  writeFileSync(f, JSON.stringify(config));
  return f;
}

describe("config check finds what run would refuse, with the same lines", () => {
  it("a state dir that is a file, a store file that is a directory, a bind host that is not this machine's", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "state"), "not a directory");
    mkdirSync(join(dir, "store.bin"));
    const f = configFile(dir, {
      stateDir: join(dir, "state"),
      store: { file: join(dir, "store.bin"), bind: null },
      pub: { bind: "tcp://192.0.2.1:5600" },
      security: { mode: "insecure" },
    });
    const check = await cli(["config", "check", f]);
    expect(check.code).toBe(2);
    expect(check.stderr.split("\n")).toEqual([
      `ERR_CONFIG: ${f}: 3 problems`,
      `  /stateDir: expected a directory, or a path where one can be created, found ${join(dir, "state")}, which is not a directory`,
      `  /store/file: expected a store file, or a path where one can be created, found ${join(dir, "store.bin")}, which is a directory`,
      `  /pub/bind: expected an endpoint on a host this machine can bind: one of its addresses, an interface name or *, found "tcp://192.0.2.1:5600": 192.0.2.1 is not an address of this machine`,
      "",
    ]);
    const run = await cli(["run", "--config", f]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(check.stderr);
  });

  it("a key file that is not a key is refused by both too", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "curve.key"), "nonsense\n");
    const f = configFile(dir, { stateDir: dir, security: { secretKeyFile: "curve.key" } });
    const check = await cli(["config", "check", f]);
    expect(check.stderr).toMatch(/\/security\/secretKeyFile: expected a readable CURVE secret key file/);
    const run = await cli(["run", "--config", f]);
    expect([run.code, run.stderr]).toEqual([2, check.stderr]);
  });
});

describe("1,000 peers", () => {
  const peers = Array.from({ length: 1000 }, (_, i) => ({ name: `p${i}`, pub: `tcp://127.0.0.1:${40000 + 2 * i}`, store: `tcp://127.0.0.1:${40001 + 2 * i}` }));

  it("start: the context is sized for their 4,000 sockets (libzmq's default is 1,023)", async () => {
    const budget = socketBudget(resolveConfig({ peers }, { env: {} }));
    expect(budget.sockets).toBe(4003);
    expect(budget.maxSockets).toBe(4259);
    const fdsBefore = readdirSync("/proc/self/fd").length;
    const a = await startAgent({ peers, catchUp: { retryMinMs: 60_000, retryMaxMs: 60_000 } });
    expect(a.stats().peers).toHaveLength(1000);
    const used = readdirSync("/proc/self/fd").length - fdsBefore;
    // The estimate config check uses is not below what the links really take.
    expect(used, `${used} fds used, ${budget.fds} estimated`).toBeLessThanOrEqual(budget.fds);
    expect(used).toBeGreaterThan(budget.fds / 2);
    await a.close();
  }, 60_000);

  it("are refused by config check, and by run with the same lines, when the open-file limit is too low", async () => {
    const dir = tempDir();
    const f = configFile(dir, { stateDir: join(dir, "state"), peers });
    const ok = await cli(["config", "check", f]);
    expect([ok.code, ok.stdout]).toEqual([0, `ok: ${f}\n`]);
    const check = await cli(["config", "check", f], 1024);
    expect(check.code).toBe(2);
    expect(check.stderr).toBe(
      `ERR_CONFIG: ${f}: 1 problem\n  /peers: expected peers whose links fit in this process's open-file limit (1024, ulimit -n; systemd: LimitNOFILE=), found 1000 peers, which need about 6069 file descriptors\n`,
    );
    const run = await cli(["run", "--config", f], 1024);
    expect([run.code, run.stderr]).toEqual([2, check.stderr]);
  }, 30_000);
});

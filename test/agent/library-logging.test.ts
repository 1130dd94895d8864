/**
 * A library stays silent unless given a logger: createAgent in a child process (so that its
 * real stderr can be read) writes nothing there through start, observe, a refused observation
 * and close, even with `log.level: "debug"` in its config; given a logger, it logs through it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { root } from "../cli/run-cli.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const library = pathToFileURL(join(root, "dist/index.js")).href;

/** The script the child runs: `withLogger` passes createLogger({ level: "debug" }) (on stderr). */
function script(stateDir: string, withLogger: boolean): string {
  return `
    import { createAgent, createLogger, resolveConfig } from ${JSON.stringify(library)};
    const config = resolveConfig({ stateDir: ${JSON.stringify(stateDir)}, log: { level: "debug" } }, { env: {} });
    const agent = await createAgent(config, ${withLogger ? '{ logger: createLogger({ level: "debug" }) }' : "{}"});
    const r = agent.observe({ domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: 0.18, confidence: 0.87, nObservations: 42 });
    let refused = "";
    try { agent.observe({ domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: 2, confidence: 0.87, nObservations: 42 }); } catch (e) { refused = e.code; }
    agent.flush();
    await agent.close();
    process.stdout.write(JSON.stringify({ address: r.address, refused }));
  `;
}

function runNode(source: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", source], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("createAgent from the library", () => {
  it("writes nothing to stderr without a logger (start, observe, a refused observation, close)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qis-liblog-"));
    dirs.push(dir);
    const r = await runNode(script(dir, false));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ address: "qis.hvac.energy-anomaly", refused: "ERR_OBSERVATION" });
  });

  it("logs through the logger it is given", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qis-liblog-"));
    dirs.push(dir);
    const r = await runNode(script(dir, true));
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split("\n").map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.map((l) => l.msg)).toContain("closed");
    expect(JSON.parse(r.stdout)).toEqual({ address: "qis.hvac.energy-anomaly", refused: "ERR_OBSERVATION" });
  });
});

/**
 * The systemd unit every package ships (scripts/systemd-unit.js, written by scripts/package.js):
 * Type=notify with a watchdog and a reload, checked by `systemd-analyze verify` (Debian's
 * systemd package, installed by scripts/system-deps.sh) for every target. verify exits 0 even
 * on a key it cannot parse, so its output must be empty; a broken unit shows it does speak.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runText } from "../run-process.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { systemdUnit, WATCHDOG_SEC } = (await import(join(root, "scripts", "systemd-unit.js"))) as {
  systemdUnit(o: { version: string; profile: unknown }): string;
  WATCHDOG_SEC: number;
};
interface Profile {
  name: string;
  node: { flags: string[] };
  systemd: { MemoryMax: string };
}
const profiles: Profile[] = readdirSync(join(root, "targets"))
  .filter((f) => f.endsWith(".json") && !f.endsWith(".agent.json"))
  .map((f) => JSON.parse(readFileSync(join(root, "targets", f), "utf8")) as Profile);
const dir = mkdtempSync(join(tmpdir(), "qis-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function verify(text: string): Promise<{ status: number | null; output: string }> {
  const file = join(dir, "qis-edge.service");
  writeFileSync(file, text);
  const r = await runText("systemd-analyze", ["verify", "--man=no", file], { timeoutMs: 30_000 });
  if (r.error) throw new Error(`systemd-analyze is missing (apt-get install systemd; scripts/system-deps.sh): ${r.error.message}`);
  return { status: r.status, output: r.stdout + r.stderr };
}

describe("the packaged systemd unit", () => {
  it.each(profiles.map((p) => [p.name, p] as const))("%s: Type=notify, a watchdog, reload by SIGHUP, and systemd-analyze verify says nothing", async (_name, profile) => {
    const unit = systemdUnit({ version: "0.1.0", profile });
    for (const line of [
      "Type=notify",
      "NotifyAccess=main",
      `WatchdogSec=${WATCHDOG_SEC}`,
      "ExecReload=/bin/kill -HUP $MAINPID",
      "Restart=on-failure",
      "User=qis-edge",
      `MemoryMax=${profile.systemd.MemoryMax}`,
      `ExecStart=/usr/bin/env node ${profile.node.flags.join(" ")} /opt/qis-edge/qis-edge.mjs run --config /etc/qis-edge/agent.json`,
    ])
      expect(unit.split("\n"), line).toContain(line);
    expect(await verify(unit)).toEqual({ status: 0, output: "" });
  });

  it("is checked for real: verify reports a unit it cannot parse", async () => {
    const unit = systemdUnit({ version: "0.1.0", profile: profiles[0] }).replace("Type=notify", "Type=notifyy");
    expect((await verify(unit)).output).toMatch(/Failed to parse service type, ignoring: notifyy/);
  });
});

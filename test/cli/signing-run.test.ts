/**
 * `qis-edge run` with and without signing: node:crypto (and src/security/) is loaded only by an
 * agent configured to sign or verify (idle memory), and the first start creates the key file
 * and logs it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runAgent, stopAll, tempDir } from "./run-agent.js";

afterEach(async () => {
  await stopAll();
});

describe("qis-edge run and signing", () => {
  it("loads node:crypto only when signing is configured; creates and logs the key on first start", async () => {
    const dir = tempDir();
    const probe = join(dir, "probe.cjs");
    writeFileSync(probe, 'process.on("SIGUSR2", () => process.stderr.write(JSON.stringify({ msg: "probe", level: "test", crypto: process.moduleLoadList.filter((m) => /^NativeModule crypto$/.test(m)) }) + "\\n"));\n');
    const plain = join(dir, "plain.json");
    const signing = join(dir, "signing.json");
    writeFileSync(plain, JSON.stringify({ log: { level: "info" } }));
    writeFileSync(signing, JSON.stringify({ log: { level: "info" }, security: { signing: { keyFile: "signing.key" } } }));
    for (const [config, signs] of [[plain, false], [signing, true]] as const) {
      const a = runAgent(["--config", config], { NODE_OPTIONS: `--require ${probe}` }, dir);
      const ready = await a.waitFor((l) => l.msg === "ready");
      expect(ready.signingKeyId !== undefined).toBe(signs);
      if (signs) {
        const created = a.lines().find((l) => l.msg === "signing key created")!;
        expect(created.file).toBe(join(dir, "state", "signing.key"));
        expect(created.keyId).toBe(ready.signingKeyId);
        expect(created.publicKey).toMatch(/^[0-9a-f]{64}$/);
      }
      a.child.kill("SIGUSR2");
      const probed = await a.waitFor((l) => l.msg === "probe");
      expect((probed.crypto as string[]).length > 0).toBe(signs);
      a.child.kill("SIGTERM");
      expect(await a.exit).toBe(0);
    }
  });
});

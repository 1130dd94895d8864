/** `qis-edge keygen` as a real process: the key files, their modes, --show, refusals. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { publicKeyOf } from "../../src/agent/keys.js";
import { runCli } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qis-keygen-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("qis-edge keygen", () => {
  it("writes the secret key (0600) and FILE.pub, prints the public key; --show prints it again", async () => {
    const file = join(dir, "agent.key");
    const r = await runCli(["keygen", file]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const pub = r.stdout.toString().trim();
    expect(pub).toMatch(/^.{40}$/);
    const secret = readFileSync(file, "utf8");
    expect(secret).toMatch(/^.{40}\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${file}.pub`, "utf8")).toBe(`${pub}\n`);
    expect(publicKeyOf(secret.trim())).toBe(pub);
    const show = await runCli(["keygen", "--show", file]);
    expect([show.code, show.stdout.toString()]).toEqual([0, `${pub}\n`]);
  });

  it("never overwrites a key file; --show refuses a file that is not a key; usage errors exit 2", async () => {
    const file = join(dir, "taken.key");
    writeFileSync(file, "precious\n");
    const r = await runCli(["keygen", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ERR_KEY_EXISTS: .*taken\.key exists/);
    expect(readFileSync(file, "utf8")).toBe("precious\n");
    const show = await runCli(["keygen", "--show", file]);
    expect(show.code).toBe(2);
    expect(show.stderr).toMatch(/^ERR_KEY_INVALID: /);
    const missing = await runCli(["keygen", "--show", join(dir, "none.key")]);
    expect(missing.stderr).toMatch(/^ERR_KEY_FILE: cannot read/);
    const none = await runCli(["keygen"]);
    expect([none.code, none.stderr]).toEqual([2, "ERR_USAGE: keygen takes one FILE (the secret key file), got 0 arguments\n"]);
    const help = await runCli(["keygen", "--help"]);
    expect(help.stdout.toString()).toMatch(/^Usage: qis-edge keygen FILE/);
  });
});

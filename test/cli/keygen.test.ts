/** `qis-edge keygen` as a real process: the key files, their modes, --show, refusals. */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { publicKeyOf } from "../../src/agent/keys.js";
import { readSigningKey } from "../../src/security/signing-key.js";
import { runCli } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qis-keygen-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("qis-edge keygen", () => {
  it("writes the secret key (0600) and FILE.pub, prints the public key; --show prints it again", async () => {
    const file = join(dir, "agent.key");
    const r = await runCli(["keygen", file]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [pub, signingPub] = r.stdout.toString().split("\n");
    expect(pub).toMatch(/^.{40}$/);
    // Beside the CURVE pair: the Ed25519 signing key (PEM, 0600) and its public key in hex.
    expect(signingPub).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(`${file}.sign`, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(statSync(`${file}.sign`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${file}.sign.pub`, "utf8")).toBe(`${signingPub}\n`);
    expect(readSigningKey(`${file}.sign`).publicKeyHex).toBe(signingPub);
    const showSigning = await runCli(["keygen", "--show", `${file}.sign`]);
    expect([showSigning.code, showSigning.stdout.toString()]).toEqual([0, `${signingPub}\n`]);
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
    // A signing key already beside FILE: nothing is written, not even the CURVE pair.
    const beside = join(dir, "beside.key");
    writeFileSync(`${beside}.sign`, "precious\n");
    const r2 = await runCli(["keygen", beside]);
    expect([r2.code, r2.stderr]).toEqual([2, `ERR_KEY_EXISTS: ${beside}.sign exists: a key file is never overwritten (move it away first)\n`]);
    expect(existsSync(beside)).toBe(false);
    const help = await runCli(["keygen", "--help"]);
    expect(help.stdout.toString()).toMatch(/^Usage: qis-edge keygen FILE/);
  });

  it("--signing writes only a signing key (a key to rotate to), never over an existing file", async () => {
    const file = join(dir, "next.sign");
    const r = await runCli(["keygen", "--signing", file]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const pub = r.stdout.toString().trim();
    expect(readSigningKey(file).publicKeyHex).toBe(pub);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${file}.pub`, "utf8")).toBe(`${pub}\n`);
    const again = await runCli(["keygen", "--signing", file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^ERR_KEY_EXISTS: /);
    const curve = join(dir, "curve-only.key");
    writeFileSync(curve, "-----BEGIN PRIVATE KEY-----\nnot a key\n");
    const bad = await runCli(["keygen", "--show", curve]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^ERR_KEY_INVALID: .*does not hold a PEM private key/);
  });
});

/**
 * npm (11.x) asks for every dependency's install script to be approved in package.json's
 * `allowScripts`, warns on a fresh install when one is not, and will skip unapproved scripts
 * once it enforces the rule. Ours need theirs: zeromq test-loads its binary, esbuild installs
 * its platform binary, cbor-extract builds cbor-x's native decoder. The lock file marks every
 * package with an install script (`hasInstallScript`), so the check needs no npm command.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const read = (f: string): unknown => JSON.parse(readFileSync(root + f, "utf8"));

describe("allowScripts in package.json", () => {
  it("approves exactly the locked packages that have install scripts", () => {
    const lock = read("package-lock.json") as { packages: Record<string, { hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages)
      .filter(([path, p]) => path !== "" && p.hasInstallScript === true)
      .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length))
      .sort();
    const allow = (read("package.json") as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
    expect(withScripts).toEqual(["cbor-extract", "esbuild", "zeromq"]);
    expect(Object.keys(allow).sort()).toEqual(withScripts);
    for (const name of withScripts) expect(allow[name], name).toBe(true);
  });
});

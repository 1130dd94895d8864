/**
 * Bad options read the same on every command, in our words: the old CLI passed on Node's
 * parseArgs text ("Unknown option '--foo'. To specify a positional argument … '-- "--foo"),
 * with its unbalanced quote and no command named.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

describe("option errors", () => {
  it.each([["pack"], ["inspect"], ["run"], ["config", "check"], ["selftest"], ["demo"]])("an unknown option for qis-edge %s", async (...command) => {
    const r = await runCli([...command, "--foo"], "");
    expect(r.stderr).toBe(`ERR_USAGE: unknown option --foo for 'qis-edge ${command[0]}' (see qis-edge ${command[0]} --help)\n`);
    expect(r.stdout.length).toBe(0);
    expect(r.code).toBe(2);
  });

  it.each([
    [["--foo"], "ERR_USAGE: unknown option --foo for 'qis-edge' (see qis-edge --help)"],
    [["pack", "-x"], "ERR_USAGE: unknown option -x for 'qis-edge pack' (see qis-edge pack --help)"],
    [["pack", "-o"], "ERR_USAGE: option -o needs a value for 'qis-edge pack' (see qis-edge pack --help)"],
    [["run", "--config"], "ERR_USAGE: option --config needs a value for 'qis-edge run' (see qis-edge run --help)"],
    [["inspect", "--hex=yes"], `ERR_USAGE: option --hex takes no value (got "yes") for 'qis-edge inspect' (see qis-edge inspect --help)`],
    [["pack", "-o", "--hex"], `ERR_USAGE: option -o needs a value, got the option-like "--hex" (write --output=--hex if it is meant) for 'qis-edge pack' (see qis-edge pack --help)`],
    [["frobnicate"], `ERR_USAGE: unknown command "frobnicate" (see qis-edge --help)`],
  ])("%j", async (args, message) => {
    const r = await runCli(args, "");
    expect(r.stderr).toBe(`${message}\n`);
    expect(r.code).toBe(2);
  });
});

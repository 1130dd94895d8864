import { ENV_OVERRIDES } from "../agent/config-env.js";
import { ConfigError, loadConfigFile } from "../agent/config.js";
import { configSchema } from "../agent/schemas.js";
import { UsageError } from "../errors.js";
import { parseCommandArgs } from "./args.js";
import type { CommandContext } from "./main.js";

const envLines = ENV_OVERRIDES.map((o) => `  ${o.name.padEnd(24)} ${o.key.join(".").padEnd(15)} ${o.help}`).join("\n");

export const configHelp = `Usage: qis-edge config schema
       qis-edge config check FILE [--ignore-env] [--schema-only]
       qis-edge config show [FILE] [--ignore-env]

The agent's configuration is one JSON file (qis-edge run --config FILE); every key is optional
and unknown keys are errors. docs/config.md lists every key with its default and bounds.

  schema        print the file's JSON Schema, with descriptions and defaults; save it and put
                "$schema": "./agent.schema.json" in the file for completion in an editor
  check FILE    validate FILE and the QIS_EDGE_* variables below, as run would: the schema,
                then this machine (state dir and store file usable, key files and uplink
                credential and TLS files readable, bind hosts local, peers within the socket
                and open-file limits); prints "ok: FILE" (exit 0), or every problem, one per
                line, on stderr (exit 2)
  show [FILE]   print the resolved config (file + environment + defaults) as JSON

Options:
      --ignore-env  leave the QIS_EDGE_* variables out
      --schema-only check: the schema and the rules across keys, not this machine (a
                    device's config checked on a build machine); prints "ok (schema only): FILE"
  -h, --help        show this help

Environment overrides (they win over the file; an empty value counts as unset):
${envLines}

  QIS_EDGE_PEERS replaces the file's peers: comma-separated, each the peer's pub endpoint and
  optionally "|" and its store endpoint, e.g. tcp://10.0.0.2:5600|tcp://10.0.0.2:5601, and
  optionally "|" and its CURVE public key (PUB|STORE|KEY, or PUB||KEY without a store); or
  "legacy:" and a reference-Python node's pub endpoint (no store), e.g. legacy:tcp://10.0.0.7:5556.
  "none" is null: for store.bind not served, for store.file memory only.

Exit status: 0 ok, 2 an invalid config or usage.

Example:
  qis-edge config check examples/agent.json
  QIS_EDGE_STORE_CAPACITY=1000 qis-edge config show examples/agent.json
`;

function printProblems(err: ConfigError, stderr: NodeJS.WritableStream): void {
  // One header and one line per problem: the same layout as `qis-edge run`.
  stderr.write(`ERR_CONFIG: ${err.source}: ${err.problems.length} problem${err.problems.length === 1 ? "" : "s"}\n`);
  for (const p of err.problems) stderr.write(`  ${p.path || "/"}: expected ${p.expected}, found ${p.found}\n`);
}

export async function configCommand(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs("config", argv, { "ignore-env": { type: "boolean" }, "schema-only": { type: "boolean" }, help: { type: "boolean", short: "h" } });
  const [action, file, ...extra] = positionals;
  if (values.help || action === "help") {
    ctx.stdout.write(configHelp);
    return 0;
  }
  const env = values["ignore-env"] ? {} : process.env;
  switch (action) {
    case "schema":
      if (file !== undefined) throw new UsageError("config schema takes no argument");
      ctx.stdout.write(`${JSON.stringify(configSchema().configJsonSchema(), null, 2)}\n`);
      return 0;
    case "check":
    case "show": {
      if (file === undefined && action === "check") throw new UsageError("config check needs a FILE");
      if (extra.length > 0) throw new UsageError(`config ${action} takes one FILE, got ${extra.length + 1}`);
      try {
        const config = loadConfigFile(file ?? null, { env });
        if (values["schema-only"] && action !== "check") throw new UsageError("--schema-only goes with config check");
        if (action === "check" && !values["schema-only"]) {
          // What run would refuse on this machine, beyond the schema (the same lines as run).
          const { preflightProblems } = await import("../agent/preflight.js");
          const problems = await preflightProblems(config);
          if (problems.length > 0) throw new ConfigError(file!, problems);
        }
        const ok = values["schema-only"] ? `ok (schema only): ${file}` : `ok: ${file}`;
        ctx.stdout.write(action === "check" ? `${ok}\n` : `${JSON.stringify(config, null, 2)}\n`);
        return 0;
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        printProblems(e, ctx.stderr);
        return 2;
      }
    }
    case undefined:
      throw new UsageError("config needs an action: schema, check FILE or show [FILE]; run qis-edge config --help");
    default:
      throw new UsageError(`config: unknown action "${action}" (schema, check, show)`);
  }
}

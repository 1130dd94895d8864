import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../errors.js";
import type { CommandContext } from "./main.js";

export const keygenHelp = `Usage: qis-edge keygen FILE
       qis-edge keygen --show FILE

Writes a new CURVE key pair for an agent (docs/security.md): FILE gets the secret key (Z85,
one line, mode 0600) and FILE.pub the public key; the public key is printed on stdout. Put
FILE in the agent's config as security.secretKeyFile, and the public key in each peer's
config as this agent's "publicKey". An existing FILE is never overwritten. (An agent whose
configured key file does not exist creates it on first start and logs its public key.)

Options:
      --show      print the public key of the existing secret key FILE (writes nothing)
  -h, --help      show this help

Exit status: 0 done; 2 usage, FILE exists (keygen) or is not a key (--show), or cannot be
written, with one line "CODE: reason" on stderr (ERR_KEY_EXISTS, ERR_KEY_FILE, ERR_KEY_INVALID).
`;

export async function keygen(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { show: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    ctx.stdout.write(keygenHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`keygen takes one FILE (the secret key file), got ${positionals.length} arguments`);
  const { readKeyFile, writeNewKeyFile } = await import("../agent/keys.js");
  const file = resolve(positionals[0]!);
  const keys = values.show ? readKeyFile(file) : writeNewKeyFile(file);
  ctx.stdout.write(`${keys.publicKey}\n`);
  return 0;
}

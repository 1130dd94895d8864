import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../errors.js";
import type { CommandContext } from "./main.js";

export const keygenHelp = `Usage: qis-edge keygen FILE
       qis-edge keygen --signing FILE
       qis-edge keygen --show FILE

Writes a new CURVE key pair for an agent (docs/security.md): FILE gets the secret key (Z85,
one line, mode 0600) and FILE.pub the public key; beside them, FILE.sign gets an Ed25519
signing key (PEM, 0600) and FILE.sign.pub its public key (hex). Prints both public keys, one
per line. FILE goes in security.secretKeyFile, its public key in the peers' "publicKey";
FILE.sign in security.signing.keyFile, its public key in the other nodes' security.trust.
An existing file is never overwritten. (A configured key file that does not exist is
created on first start.)

Options:
      --signing   write only an Ed25519 signing key (FILE and FILE.pub): a key to rotate to
      --show      print the public key of the existing CURVE or signing key FILE
  -h, --help      show this help

Exit status: 0 done; 2 usage, a file exists (keygen) or FILE is not a key (--show), or cannot be
written, with one line "CODE: reason" on stderr (ERR_KEY_EXISTS, ERR_KEY_FILE, ERR_KEY_INVALID).
`;

export async function keygen(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { show: { type: "boolean" }, signing: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    ctx.stdout.write(keygenHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`keygen takes one FILE (the secret key file), got ${positionals.length} arguments`);
  if (values.show && values.signing) throw new UsageError("--show and --signing exclude each other (--show tells either kind of key)");
  const file = resolve(positionals[0]!);
  const signing = await import("../security/index.js");
  if (values.signing) {
    ctx.stdout.write(`${signing.newSigningKey(file)}\n`);
    return 0;
  }
  const { readKeyFile, writeNewKeyFile } = await import("../agent/keys.js");
  if (values.show) {
    ctx.stdout.write(`${signing.signingPublicKeyOf(file) ?? readKeyFile(file).publicKey}\n`);
    return 0;
  }
  // Refuse before writing anything: a half-written pair would be worse than none.
  signing.newSigningKey(`${file}.sign`, "check-only");
  const keys = writeNewKeyFile(file);
  ctx.stdout.write(`${keys.publicKey}\n${signing.newSigningKey(`${file}.sign`)}\n`);
  return 0;
}

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { existsSync, readFileSync } from "node:fs";
import { QisError, UsageError } from "../errors.js";
import type { CommandContext } from "./main.js";

export const keygenHelp = `Usage: qis-edge keygen FILE
       qis-edge keygen --signing FILE
       qis-edge keygen --show FILE

Writes a new CURVE key pair for an agent (docs/security.md): FILE gets the secret key (Z85,
one line, mode 0600) and FILE.pub the public key. Beside it, FILE.sign gets a new Ed25519
signing key (PEM, mode 0600) and FILE.sign.pub its public key (64 hex digits). stdout: the
CURVE public key, then the signing public key, one per line.
Put FILE in the agent's config as security.secretKeyFile and the CURVE public key in each
peer's config as this agent's "publicKey"; put FILE.sign as security.signing.keyFile and the
signing public key in the other nodes' security.trust, with this node's id. An existing file
is never overwritten. (An agent whose configured key file does not exist creates it on first
start and logs its public key.)

Options:
      --signing   write only an Ed25519 signing key: FILE (PEM, 0600) and FILE.pub (hex), e.g.
                  a new key to rotate to; prints the public key
      --show      print the public key of the existing CURVE or signing key FILE (writes nothing)
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
  const signing = await import("../security/signing-key.js");
  if (values.signing) {
    ctx.stdout.write(`${signing.writeNewSigningKey(file).publicKeyHex}\n`);
    return 0;
  }
  const { readKeyFile, writeNewKeyFile } = await import("../agent/keys.js");
  if (values.show) {
    const pem = readFirstLine(file).startsWith("-----BEGIN");
    ctx.stdout.write(`${pem ? signing.readSigningKey(file).publicKeyHex : readKeyFile(file).publicKey}\n`);
    return 0;
  }
  // Refuse before writing anything: a half-written pair would be worse than none.
  if (existsSync(`${file}.sign`)) throw new QisError("ERR_KEY_EXISTS", `${file}.sign exists: a key file is never overwritten (move it away first)`);
  const keys = writeNewKeyFile(file);
  const sig = signing.writeNewSigningKey(`${file}.sign`);
  ctx.stdout.write(`${keys.publicKey}\n${sig.publicKeyHex}\n`);
  return 0;
}

/** The file's first line, or "" when it cannot be read (the key readers then say why). */
function readFirstLine(file: string): string {
  try {
    return readFileSync(file, "utf8").trimStart().split("\n", 1)[0]!;
  } catch {
    return "";
  }
}

import { parseArgs } from "node:util";
import { UsageError } from "../errors.js";
import { codec, packetToJson, PacketError } from "../packet/index.js";
import { parseHex, readInput } from "./io.js";
import type { CommandContext } from "./main.js";

export const inspectHelp = `Usage: qis-edge inspect FILE|- [--hex]

Verifies one 512-byte outcome packet (from FILE, or stdin for -) and prints it as JSON.

Options:
      --hex       the input is hex text (as written by pack --hex), not binary
  -h, --help      show this help

Exit status:
  0  the packet is valid; its fields are printed on stdout as JSON with "verdict": "OK"
  1  the packet is invalid; stderr has one line: the error code and the reason,
     e.g. "ERR_PACKET_CRC: CRC-32C mismatch: the packet is corrupt (field crc32c)"
  2  usage error or unreadable input
`;

export async function inspect(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { hex: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    ctx.stdout.write(inspectHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("inspect takes one input: FILE, or - for stdin");
  const raw = await readInput(positionals[0], ctx.stdin);
  const bytes = values.hex ? parseHex(raw.toString("latin1"), "input") : raw;
  try {
    const packet = codec.decode(bytes);
    ctx.stdout.write(`${JSON.stringify({ verdict: "OK", ...packetToJson(packet) }, null, 2)}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof PacketError)) throw e;
    ctx.stderr.write(`${e.code}: ${e.message}\n`);
    return 1;
  }
}

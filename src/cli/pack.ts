import { writeFile } from "node:fs/promises";
import { observationToFields, parseObservation } from "../agent/observation.js";
import { UsageError } from "../errors.js";
import { parseCommandArgs } from "./args.js";
import { codec, PACKET_SIZE } from "../packet/index.js";
import { parseHex, readInput } from "./io.js";
import { assertUtf8Observation } from "./utf8-input.js";
import type { CommandContext } from "./main.js";

export const packHelp = `Usage: qis-edge pack [FILE|-] [--hex] [-o OUT]

Reads one observation as JSON (from FILE, or stdin when FILE is - or absent) and writes the
512-byte outcome packet: binary to stdout or OUT, or hex text with --hex.

Observation fields (unknown fields are refused):
  domain          string, required       first address token, e.g. "hvac"
  problemClass    string, required       second address token, e.g. "energy-anomaly"
  tokens          string[] (<= 5)        further address tokens
  outcomeDelta    number -1..1, required
  confidence      number 0..1, required
  nObservations   integer >= 0, required
  timestampMs     integer                default: now
  ttlS            integer                seconds, default 3600, 0 = never expires
  nodeId          32 hex digits          default: a random id (or --node-id)
  seq             integer                default: 0
  context         number[] (<= 16)
  conclusion      string                 cut to 172 bytes of UTF-8 on a character boundary
  contextHash     32 hex digits

Options:
  -o, --output FILE   write the packet to FILE instead of stdout
      --hex           write hex text (1024 digits and a newline) instead of binary
      --node-id HEX   node id to use when the observation has none
  -h, --help          show this help

Exit status: 0 written, 2 bad input or usage: the error code and the reason on stderr; an
invalid observation lists every problem, one per line ("  /outcomeDelta: must be <= 1").

Example:
  echo '{"domain":"hvac","problemClass":"energy-anomaly","outcomeDelta":0.18,"confidence":0.87,"nObservations":42}' \\
    | qis-edge pack > p.bin
`;

export async function pack(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs("pack", argv, {
    output: { type: "string", short: "o" },
    hex: { type: "boolean" },
    "node-id": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    ctx.stdout.write(packHelp);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`pack takes one input, got ${positionals.length}`);
  const input = await readInput(positionals[0], ctx.stdin);
  assertUtf8Observation(input);
  let json: unknown;
  try {
    json = JSON.parse(input.toString("utf8"));
  } catch (e) {
    throw new UsageError(`input is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const observation = parseObservation(json);
  let nodeId: Uint8Array | undefined;
  if (values["node-id"] !== undefined) {
    nodeId = parseHex(values["node-id"], "--node-id");
    if (nodeId.length !== 16) throw new UsageError("--node-id: expected 32 hex digits (16 bytes)");
  }
  const fields = observationToFields(observation, nodeId === undefined ? undefined : { nodeId, seq: 0 });
  const packet = Buffer.alloc(PACKET_SIZE);
  codec.encode(fields, packet);
  const out = values.hex ? `${packet.toString("hex")}\n` : packet;
  if (values.output !== undefined) {
    await writeFile(values.output, out);
  } else {
    if (!values.hex && ctx.stdout.isTTY) throw new UsageError("refusing to write a binary packet to a terminal: use --hex or -o FILE");
    ctx.stdout.write(out);
  }
  return 0;
}

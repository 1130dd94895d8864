import { UsageError } from "../errors.js";
import { parseCommandArgs } from "./args.js";
import { codec, packetToJson, PacketError, PACKET_SIZE, type Packet } from "../packet/index.js";
import { parseHex, readInput } from "./io.js";
import type { CommandContext } from "./main.js";

export const inspectHelp = `Usage: qis-edge inspect [FILE|-] [--hex] [--trust TRUSTFILE]

Verifies one 512-byte outcome packet (from FILE, or stdin when FILE is - or absent) and prints
it as JSON. "expiresAt" is when the packet's TTL runs out (timestampMs + ttlS·1000; null for
ttlS 0, which never expires) and "expired" whether that is not after now.

Options:
      --hex       the input is hex text (as written by pack --hex), not binary
      --trust F   check the signature against the trust file F (docs/security.md): the
                  output's "signatureVerdict" says "valid …" or "unsigned …"
  -h, --help      show this help

Exit status:
  0  the packet is valid; its fields are printed on stdout as JSON with "verdict": "OK".
     An expired packet is still valid (its bytes are intact; an agent would drop it on
     arrival): it is printed with "expired": true, and a note on stderr says since when
  1  the packet is invalid; stderr has one line: the error code and the reason,
     e.g. "ERR_PACKET_CRC: CRC-32C mismatch: the packet is corrupt (field crc32c)";
     with --trust, a signature that fails: "ERR_PACKET_SIGNATURE: bad signature: …"
  2  usage error or unreadable input

Example:
  qis-edge pack --hex < obs.json | qis-edge inspect --hex
`;

export async function inspect(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs("inspect", argv, { hex: { type: "boolean" }, trust: { type: "string" }, help: { type: "boolean", short: "h" } });
  if (values.help) {
    ctx.stdout.write(inspectHelp);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`inspect takes one input (FILE, or stdin when - or absent), got ${positionals.length}`);
  const raw = await readInput(positionals[0], ctx.stdin);
  const bytes = values.hex ? parseHexInput(raw) : raw;
  let packet: Packet;
  try {
    packet = codec.decode(bytes);
  } catch (e) {
    if (!(e instanceof PacketError)) throw e;
    const hint = !values.hex && e.code === "ERR_PACKET_LENGTH" ? hexHint(raw) : "";
    ctx.stderr.write(`${e.code}: ${e.message}${hint}\n`);
    return 1;
  }
  let signature: string | undefined;
  if (values.trust !== undefined) {
    const sig = (await import("../security/index.js")).signatureVerdict(bytes, values.trust);
    if (!sig.ok) {
      ctx.stderr.write(`ERR_PACKET_SIGNATURE: ${sig.text}\n`);
      return 1;
    }
    signature = sig.text;
  }
  const expiry = expiryOf(packet, Date.now());
  const json: Record<string, unknown> = { verdict: "OK", ...(signature !== undefined ? { signatureVerdict: signature } : {}) };
  for (const [k, v] of Object.entries(packetToJson(packet))) {
    json[k] = v;
    if (k === "ttlS") Object.assign(json, { expiresAt: expiry.at, expired: expiry.expired });
  }
  ctx.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  if (expiry.expired) ctx.stderr.write(`note: the packet expired at ${expiry.at ?? `${expiry.atMs} ms`} (timestampMs + ttlS·1000); an agent drops it on arrival\n`);
  return 0;
}

/** Expired as the store and the synthesis engine see it: ttlS > 0 and timestampMs + ttlS·1000 ≤ now. */
function expiryOf(p: Packet, now: number): { at: string | null; atMs: number | null; expired: boolean } {
  if (p.ttlS === 0) return { at: null, atMs: null, expired: false };
  const atMs = p.timestampMs + p.ttlS * 1000;
  const d = new Date(atMs);
  return { at: Number.isNaN(d.getTime()) ? null : d.toISOString(), atMs, expired: atMs <= now };
}

/** Binary read as hex text: say so when the input is exactly a binary packet's size. */
function parseHexInput(raw: Buffer): Buffer {
  try {
    return parseHex(raw.toString("latin1"), "input");
  } catch (e) {
    if (raw.length === PACKET_SIZE) throw new UsageError(`input: not hex text, but ${PACKET_SIZE} bytes: a binary packet? (drop --hex)`, { cause: e });
    throw e;
  }
}

/** A length error on what is plainly hex text (pack --hex output, say) points to --hex. */
function hexHint(raw: Buffer): string {
  const text = raw.toString("latin1");
  if (!/^[0-9a-fA-F\s]+$/.test(text)) return "";
  const digits = text.replace(/\s+/g, "").length;
  if (digits === 2 * PACKET_SIZE) return `; the input is hex text (${digits} hex digits): use --hex`;
  return digits > 0 ? `; the input looks like hex text (${digits} hex digits; a packet is ${2 * PACKET_SIZE}): --hex reads hex` : "";
}

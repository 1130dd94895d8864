/**
 * 16-byte ids for the reference nodes' text ids (a legacy node's node_id / context_hash, the
 * NATS router's agent_id): the bytes themselves when the text is 32 hex digits (either case),
 * else the first 16 bytes of MurmurHash3_x86_128 (seed 0) of its UTF-8. One mapping for both
 * wires, so the same reference node has the same node id here whichever way it arrives.
 */
import { murmur3x86_128 } from "../packet/murmur3.js";

const HEX32 = /^[0-9a-fA-F]{32}$/;
const encoder = new TextEncoder();

/** The 16-byte id of `text`; `emptyIsZero`: "" gives 16 zero bytes (an absent context hash). */
export function foreignIdBytes(text: string, emptyIsZero = false): Uint8Array {
  const out = new Uint8Array(16);
  if (text.length === 0 && emptyIsZero) return out;
  if (HEX32.test(text)) out.set(Buffer.from(text, "hex"));
  else {
    const bytes = encoder.encode(text);
    murmur3x86_128(bytes, 0, bytes.length, out, 0);
  }
  return out;
}

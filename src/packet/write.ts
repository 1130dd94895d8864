/**
 * Encoding drivers: stage packets (stage.ts), then let a backend pack and seal the records
 * (`CodecBackend.encode`), STAGE_RECORDS at a time so the records stay in cache and a
 * Node-API call is paid once per 128 packets. No allocation per packet.
 */
import type { CodecBackend } from "./backend.js";
import { PACKET_SIZE } from "./layout.js";
import { packUnsealed } from "./pack.js";
import { fieldError, SLOTS_PER_PACKET, STAGE_RECORDS, Staging, stageList } from "./stage.js";
import type { PacketFields } from "./types.js";

const shared = new Staging();
/**
 * A one-packet list for the single-packet calls. Its element goes back to a placeholder after
 * use (it must not keep the caller's object alive); assigning rather than resizing the array
 * keeps it allocation-free.
 */
const PLACEHOLDER = {} as PacketFields;
const one: PacketFields[] = [PLACEHOLDER];

/** The shared staging area, or a fresh one if a caller's getter re-entered encode. */
function acquire(): Staging {
  const st = shared.busy ? new Staging() : shared;
  st.busy = true;
  return st;
}

/**
 * Encodes list.length packets into buf from `offset` (bounds checked by the caller). On a bad
 * packet the packets before it are complete and sealed, its slot is zeroed (nothing
 * half-written), and a PacketError with its index is thrown.
 */
export function encodeList(backend: CodecBackend, list: readonly PacketFields[], buf: Uint8Array, offset: number): void {
  const st = acquire();
  const table = st.table;
  let done = 0; // packets packed
  try {
    while (done < list.length) {
      // The strings of everything packed so far are no longer needed: start the cache over.
      if (table.free < SLOTS_PER_PACKET) table.reset();
      const n = stageList(list, done, Math.min(STAGE_RECORDS, list.length - done), st);
      backend.encode(buf, offset + done * PACKET_SIZE, n, st.bytes, table.bytes);
      done += n;
    }
  } catch (e) {
    const bad = done + st.at;
    if (bad < list.length) {
      backend.encode(buf, offset + done * PACKET_SIZE, st.at, st.bytes, table.bytes);
      buf.fill(0, offset + bad * PACKET_SIZE, offset + (bad + 1) * PACKET_SIZE);
    }
    throw fieldError(e, bad);
  } finally {
    st.busy = false;
  }
}

/** Stages `p` alone into record 0 of st. */
function stageOne(p: PacketFields, st: Staging): void {
  if (st.table.free < SLOTS_PER_PACKET) st.table.reset();
  one[0] = p;
  try {
    stageList(one, 0, 1, st);
  } finally {
    one[0] = PLACEHOLDER;
  }
}

/** Encodes one packet at `offset`; on a bad field the slot is zeroed and a PacketError thrown. */
export function encodeOne(backend: CodecBackend, p: PacketFields, buf: Uint8Array, offset: number): void {
  const st = acquire();
  try {
    stageOne(p, st);
    backend.encode(buf, offset, 1, st.bytes, st.table.bytes);
  } catch (e) {
    buf.fill(0, offset, offset + PACKET_SIZE);
    throw fieldError(e, undefined);
  } finally {
    st.busy = false;
  }
}

/**
 * Validates a PacketFields and writes every field but the CRC (left zero) at `o`, address
 * hash included. Kept for callers of the old two-step API; encode / encodeBatch seal as well.
 * On a bad field the slot is zeroed and a PacketError names it.
 */
export function writeFields(p: PacketFields, b: Uint8Array, o: number, index?: number): void {
  const st = acquire();
  try {
    stageOne(p, st);
    packUnsealed(b, o, 0, st.i32, st.f64, st.table.words);
  } catch (e) {
    b.fill(0, o, o + PACKET_SIZE);
    throw fieldError(e, index);
  } finally {
    st.busy = false;
  }
}

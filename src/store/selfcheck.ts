/**
 * The C and TypeScript insert paths of the store on one device, compared (`qis-edge selftest`,
 * check "store"): a fixed pseudo-random stream of batches (duplicates, invalid verdicts,
 * packets expired on arrival, evictions, expiries) into a store of each, in lockstep, and after
 * every batch every bound array, the scalars and the counters must be equal to the bit. The
 * C was compiled for this device, so this is where a miscompiled or misaligned access shows.
 * test/store/native.test.ts is the thorough version of this.
 */
import { codec, PACKET_SIZE } from "../packet/index.js";
import { prng } from "../util/prng.js";
import { NATIVE_STORE, partsDifference } from "./native.js";
import { PacketStore } from "./store.js";

const BATCHES = 200;
const PER_BATCH = 32;

/** Returns what was compared; throws an Error naming the first difference. */
export function compareStorePaths(): string {
  if (!NATIVE_STORE) return "TypeScript path only (the native addon is not loaded)";
  const r = prng(0x570e_c4ec);
  let now = 1_795_000_000_000;
  const nodeIds = Array.from({ length: 8 }, (_, i) => new Uint8Array(16).fill(i + 1));
  const seqs = new Array<number>(8).fill(0);
  const stores = [true, false].map((native) => new PacketStore({ capacity: 300, now: () => now, seed: 0x5eed, native }));
  const buf = new Uint8Array(PER_BATCH * PACKET_SIZE);
  const codes = new Uint8Array(PER_BATCH);
  const statuses = [new Uint8Array(PER_BATCH), new Uint8Array(PER_BATCH)];
  for (let b = 0; b < BATCHES; b++) {
    for (let i = 0; i < PER_BATCH; i++) {
      const g = Math.floor(r() * 8);
      codec.encode(
        {
          timestampMs: now - Math.floor(r() * (r() < 0.1 ? 200_000 : 100)),
          ttlS: [0, 1, 2, 5, 10, 30, 60, 90, 120, 300][Math.floor(r() * 10)]!,
          nObservations: 1,
          outcomeDelta: 0.5,
          confidence: 0.5,
          seq: r() < 0.1 ? seqs[g]! : ++seqs[g]!,
          nodeId: nodeIds[g]!,
          address: `qis.d${Math.floor(r() * 4)}.c${Math.floor(r() * 40)}`,
        },
        buf,
        i * PACKET_SIZE,
      );
      codes[i] = r() < 0.03 ? 1 : 0;
    }
    const stored = stores.map((s, k) => s.insertBatch(buf, PER_BATCH, codes, statuses[k]));
    if (stored[0] !== stored[1] || statuses[0]!.some((x, i) => x !== statuses[1]![i]))
      throw new Error(`batch ${b}: the C path stored ${stored[0]} packets, the TypeScript path ${stored[1]} (or their statuses differ)`);
    now += Math.floor(r() * 3000);
    const [x, y] = stores.map((s) => s.comparableState());
    const d = partsDifference(x!.parts, x!.regs, y!.parts, y!.regs);
    if (d !== undefined) throw new Error(`batch ${b}: the C and TypeScript paths differ: ${d}`);
  }
  const s = stores[0]!.stats();
  return `C and TypeScript paths bit-identical over ${(BATCHES * PER_BATCH).toLocaleString("en")} packets (${s.stored} stored, ${s.evicted} evicted, ${s.expired} expired, ${s.duplicates} duplicates)`;
}

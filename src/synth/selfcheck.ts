/**
 * The C and TypeScript paths of the engine on one device, compared (`qis-edge selftest`, check
 * "synth"): a fixed pseudo-random stream into an engine of each, in lockstep, and after every
 * batch every bound array, the scalars and the counters must be equal to the bit. Run on the
 * device because that is where the addon was compiled: a compiler that fused a multiply-add, or
 * an FPU that rounds differently, shows up here and nowhere else.
 * test/synth/native.test.ts is the thorough version of this, with streams that reach every rule.
 */
import { codec, FLAG_SYNTHESIZED, PACKET_SIZE } from "../packet/index.js";
import { SynthEngine } from "./engine.js";
import { prng } from "../util/prng.js";
import { NATIVE_SYNTH, stateDifference } from "./native.js";

const BATCHES = 200;
const PER_BATCH = 32;

/** Returns what was compared; throws an Error naming the first difference. */
export function compareSynthPaths(): string {
  if (!NATIVE_SYNTH) return "TypeScript path only (the native addon is not loaded)";
  const r = prng(0x5e1f_c4ec);
  let now = 1_795_000_000_000;
  const nodeIds = Array.from({ length: 12 }, (_, i) => new Uint8Array(16).fill(i + 1));
  const seqs = new Array<number>(12).fill(0);
  const make = (native: boolean): SynthEngine =>
    new SynthEngine({ nodeId: new Uint8Array(16).fill(0xee), now: () => now, maxAddresses: 16, maxContributions: 256, maxNodes: 10, maxNodesPerAddress: 6, seed: 0x5eed, native });
  const engines = [make(true), make(false)];
  const buf = new Uint8Array(PER_BATCH * PACKET_SIZE);
  for (let b = 0; b < BATCHES; b++) {
    for (let i = 0; i < PER_BATCH; i++) {
      const g = Math.floor(r() * 12);
      const synth = r() < 0.2;
      codec.encode(
        {
          flags: synth ? FLAG_SYNTHESIZED : 0,
          hops: synth ? 1 + Math.floor(r() * 3) : 0,
          timestampMs: now - Math.floor(r() * (r() < 0.1 ? 20_000 : 100)),
          ttlS: [0, 1, 2, 5, 10, 30, 60, 90, 120, 300][Math.floor(r() * 10)]!,
          nObservations: r() < 0.3 ? Math.floor(r() * 4_294_967_295) : Math.floor(r() * 5000),
          outcomeDelta: r() * 2 - 1,
          confidence: r(),
          seq: r() < 0.1 ? seqs[g]! : ++seqs[g]!,
          nodeId: nodeIds[g]!,
          address: `qis.d${Math.floor(r() * 4)}.c${Math.floor(r() * 6)}`,
        },
        buf,
        i * PACKET_SIZE,
      );
    }
    const added = engines.map((e) => e.addBatch(buf, 0, PER_BATCH));
    if (added[0] !== added[1]) throw new Error(`batch ${b}: the C path added ${added[0]} packets, the TypeScript path ${added[1]}`);
    now += Math.floor(r() * 2000);
    const d = stateDifference(engines[0]!, engines[1]!);
    if (d !== undefined) throw new Error(`batch ${b}: the C and TypeScript paths differ: ${d}`);
  }
  const c = engines[0]!.counters;
  return `C and TypeScript paths bit-identical over ${(BATCHES * PER_BATCH).toLocaleString("en")} packets (${c.added} added, ${c.expired} expired, ${c.duplicates} duplicates, ${c.droppedEarly} dropped early)`;
}

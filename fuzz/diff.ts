/** The differential fuzzer, long run: `npx vite-node fuzz/diff.ts [RUNS] [SEED]` (scripts/fuzz.sh runs it). */
import { runDifferential } from "../test/packet/fuzz-diff.js";
import { backends } from "../src/packet/index.js";

const runs = Number(process.argv[2] ?? 10_000_000);
const seed = Number(process.argv[3] ?? Date.now() % 0xffff_ffff);
const t0 = performance.now();
const r = runDifferential(runs, seed);
const s = (performance.now() - t0) / 1000;
const paths = backends.native === null ? "TypeScript only (no addon)" : "C vs TypeScript";
process.stdout.write(
  `differential (${paths}, seed ${seed}): ${r.inputs.toLocaleString("en")} inputs (${r.valid.toLocaleString("en")} valid), ${r.legacyInputs.toLocaleString("en")} legacy messages (${r.legacyDecoded.toLocaleString("en")} decoded) in ${s.toFixed(1)} s; verdicts ${JSON.stringify(r.verdicts)}\n`,
);
if (r.mismatch !== null) {
  process.stdout.write(`MISMATCH: ${r.mismatch.what}\ninput: ${r.mismatch.input}\n`);
  process.exit(1);
}

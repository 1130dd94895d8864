/**
 * The fuzzers' figures (scripts/fuzz.sh, `npm run fuzz`): libFuzzer with ASan and UBSan on the C
 * decoders, and the differential fuzzer (C vs TypeScript vs legacy), QIS_BENCH_FUZZ_RUNS inputs
 * each (default 10,000,000). Needs clang (the script installs Debian's when missing).
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";

const RUNS = Number(process.env.QIS_BENCH_FUZZ_RUNS ?? 10_000_000);
const t0 = Date.now();
const r = spawnSync("bash", ["scripts/fuzz.sh", String(RUNS)], { encoding: "utf8", maxBuffer: 1 << 26 });
const out = `${r.stdout}\n${r.stderr}`;
process.stderr.write(out);
const lines = out.split("\n").filter((l) => /^(fuzz: libFuzzer: \d+ inputs|differential \(|MISMATCH|fuzz: differential: done)/.test(l));
const md = [
  `\`npm run fuzz -- ${RUNS}\` (scripts/fuzz.sh): ${r.status === 0 ? "**no finding**" : `**finding** (exit ${r.status})`} in ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
  "",
  ...lines.map((l) => `- ${l.replace(/^fuzz: /, "")}`),
];
if (process.env.QIS_BENCH_OUT) writeFileSync(process.env.QIS_BENCH_OUT, JSON.stringify({ title: "Fuzzing the decoders (`npm run fuzz`)", markdown: md.join("\n") }));
process.stdout.write(md.join("\n") + "\n");
if (r.status !== 0) process.exit(1);

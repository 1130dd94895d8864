#!/usr/bin/env bash
# npm run fuzz [-- RUNS]: the decoders under fuzzing (issue 19; not part of npm test).
#   1. libFuzzer with ASan and UBSan on the C verify/unpack/seal/UTF-8 paths (fuzz/verify_fuzzer.c),
#      built with Debian's clang (installed with apt-get when missing), seeded from test/vectors;
#   2. the differential fuzzer (test/packet/fuzz-diff.ts): C vs TypeScript verdicts and fields,
#      and the legacy decoder, on the same mutated inputs.
# RUNS (default 10,000,000) inputs each. Prints each run's figures; exit 1 on a finding
# (libFuzzer leaves the crashing input in fuzz/out/).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-10000000}"
say() { printf 'fuzz: %s\n' "$*" >&2; }

apt_install() {
  say "installing $* (apt-get)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y --no-install-recommends "$@" >/dev/null; else sudo apt-get install -y --no-install-recommends "$@" >/dev/null; fi
}
CLANG="$(command -v clang || command -v clang-14 || true)"
[ -n "$CLANG" ] || { apt_install clang; CLANG="$(command -v clang || command -v clang-14)"; }
# libFuzzer and the sanitizers' runtimes are compiler-rt, a separate package in Debian.
RT_DIR="$("$CLANG" -print-runtime-dir 2>/dev/null || true)"
if [ ! -f "$RT_DIR/libclang_rt.fuzzer-x86_64.a" ] && [ ! -f "$RT_DIR/libclang_rt.fuzzer-aarch64.a" ]; then
  V="$("$CLANG" -dumpversion | cut -d. -f1)"
  apt_install "libclang-rt-$V-dev"
fi

OUT=fuzz/out
mkdir -p "$OUT/corpus"
# Seeds: every vector of test/vectors, as raw bytes.
node -e '
  const fs = require("fs");
  for (const f of ["valid", "invalid"])
    for (const v of JSON.parse(fs.readFileSync(`test/vectors/${f}.json`, "utf8")).vectors)
      fs.writeFileSync(`fuzz/out/corpus/${f}-${v.name}`, Buffer.from(v.hex, "hex"));
'
say "building fuzz/verify_fuzzer.c with $($CLANG --version | head -1)"
"$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $( [ "$(uname -m)" = x86_64 ] && echo -msse4.2 ) \
  -o "$OUT/verify_fuzzer" fuzz/verify_fuzzer.c native/verify.c native/crc32c.c native/murmur3.c -lm
say "libFuzzer: $RUNS runs"
START=$(date +%s)
"$OUT/verify_fuzzer" -runs="$RUNS" -max_len=600 -print_final_stats=1 -artifact_prefix="$OUT/" "$OUT/corpus" 2>"$OUT/libfuzzer.log" || { tail -40 "$OUT/libfuzzer.log" >&2; say "libFuzzer found a problem: see $OUT/"; exit 1; }
say "libFuzzer: $(grep -E '^stat::number_of_executed_units' "$OUT/libfuzzer.log" | awk '{print $2}') inputs in $(( $(date +%s) - START )) s, no finding; $(grep -E '^#[0-9]+.*DONE' "$OUT/libfuzzer.log" | tail -1)"

say "differential: $RUNS inputs"
START=$(date +%s)
npx vite-node fuzz/diff.ts "$RUNS"
say "differential: done in $(( $(date +%s) - START )) s"

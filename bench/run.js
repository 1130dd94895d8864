#!/usr/bin/env node
/**
 * Runs the benchmarks and rewrites BENCHMARKS.md.
 *
 *   npm run bench              build, then every benchmark
 *   node bench/run.js codec    only bench/codec.js; the other sections of BENCHMARKS.md are kept
 *
 * A benchmark is `bench/<name>.js` or `bench/<name>/index.js` (folders without index.js, like
 * bench/lib, are helpers). Each runs in its own `node --expose-gc` child process, so JIT state
 * and heap do not leak from one into the next, and writes its result as JSON to the file named
 * by QIS_BENCH_OUT: { title, machine?: {label: value}, markdown }. This script adds the date and
 * the machine, and replaces the benchmark's section between its markers. Benchmarks report;
 * they never fail on a missed target (a crashing benchmark does make this exit non-zero).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { machine } from "./lib/harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const mdPath = join(root, "BENCHMARKS.md");

const HEADER = `# Benchmarks

Measured figures of qis-edge, written by \`bench/run.js\`: do not edit by hand. Regenerate all of
them with \`npm run bench\` (builds \`dist/\` first; build the addon with \`npm run build:native\`),
or one benchmark with \`npm run build && node bench/run.js <name>\` (e.g. \`codec\`), which
replaces only that benchmark's section. Each benchmark runs in its own Node process.
Figures depend on the machine and on its load: compare numbers from the same section (same
run) with each other, not across machines.
`;

function discover() {
  const found = [];
  for (const entry of readdirSync(here).sort()) {
    const p = join(here, entry);
    if (entry === "run.js" || entry.startsWith("_") || entry.startsWith(".")) continue;
    if (entry.endsWith(".js") && statSync(p).isFile()) found.push({ name: entry.slice(0, -3), file: p });
    else if (statSync(p).isDirectory() && existsSync(join(p, "index.js"))) found.push({ name: entry, file: join(p, "index.js") });
  }
  return found;
}

const start = (name) => `<!-- bench:${name}:start -->`;
const end = (name) => `<!-- bench:${name}:end -->`;

/** Existing sections by name, in file order. */
function readSections() {
  const sections = new Map();
  if (!existsSync(mdPath)) return sections;
  const text = readFileSync(mdPath, "utf8");
  const re = /<!-- bench:([\w.-]+):start -->[\s\S]*?<!-- bench:\1:end -->/g;
  for (let m; (m = re.exec(text)); ) sections.set(m[1], m[0]);
  return sections;
}

function crcPath() {
  try {
    const out = spawnSync(process.execPath, ["--input-type=module", "-e", "import { codecInfo } from './dist/index.js'; console.log(JSON.stringify(codecInfo()))"], {
      cwd: root,
      encoding: "utf8",
    });
    const info = JSON.parse(out.stdout);
    return info.native ? `native addon, \`${info.crc}\`` : `TypeScript table (addon not loaded: ${info.reason})`;
  } catch {
    return "unknown (dist/ not built?)";
  }
}

function section(name, result, startedAt, seconds) {
  const mc = machine();
  const hasSse42 = /\bsse4_2\b/.test(mc.cpuFlags);
  const hasArmCrc = /\bcrc32\b/.test(mc.cpuFlags);
  const facts = [
    ["Date", `${startedAt.toISOString().replace(/\.\d+Z$/, "Z")} (took ${seconds.toFixed(0)} s)`],
    ["CPU", `${mc.cpu}${mc.mhz ? ` @ ${mc.mhz} MHz` : ""}, ${mc.cores} cores (${mc.arch}; ${hasSse42 ? "SSE4.2" : hasArmCrc ? "ARMv8 CRC32" : "no CRC instructions"})`],
    ["RAM", `${mc.ramGiB} GiB`],
    ["OS", mc.os],
    ["Node", `${mc.node} (V8 ${mc.v8})`],
    ["CRC-32C path", crcPath()],
    ["Load average when written", `${mc.load} (shared machine)`],
    ...Object.entries(result.machine ?? {}),
  ];
  return [
    start(name),
    `## ${result.title ?? name}`,
    "",
    ...facts.map(([k, v]) => `- **${k}**: ${v}`),
    "",
    result.markdown.trim(),
    "",
    end(name),
  ].join("\n");
}

function main() {
  const all = discover();
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !all.some((b) => b.name === w));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(", ")}; available: ${all.map((b) => b.name).join(", ")}`);
    process.exit(2);
  }
  const chosen = wanted.length > 0 ? all.filter((b) => wanted.includes(b.name)) : all;
  const fresh = new Map(); // name -> new section text
  const tmp = mkdtempSync(join(tmpdir(), "qis-bench-"));
  let crashed = 0;
  try {
    for (const b of chosen) {
      const outFile = join(tmp, `${b.name}.json`);
      const startedAt = new Date();
      console.error(`\n== bench ${b.name} (${b.file.slice(root.length + 1)})`);
      const t0 = process.hrtime.bigint();
      const child = spawnSync(process.execPath, ["--expose-gc", b.file], {
        cwd: root,
        stdio: "inherit",
        env: { ...process.env, QIS_BENCH_OUT: outFile },
      });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (child.status !== 0 || !existsSync(outFile)) {
        crashed++;
        console.error(`bench ${b.name} failed (exit ${child.status ?? child.signal}); its section in BENCHMARKS.md is left as it was`);
        continue;
      }
      const result = JSON.parse(readFileSync(outFile, "utf8"));
      fresh.set(b.name, section(b.name, result, startedAt, seconds));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  // Read the file again only now, so that a section another run wrote meanwhile is kept too.
  const sections = readSections();
  for (const [name, text] of fresh) sections.set(name, text);
  // Sections in discovery order, then any whose script no longer exists (kept, not dropped).
  const order = [...all.map((b) => b.name).filter((n) => sections.has(n)), ...[...sections.keys()].filter((n) => !all.some((b) => b.name === n))];
  const staged = `${mdPath}.${process.pid}.tmp`;
  writeFileSync(staged, `${HEADER}\n${order.map((n) => sections.get(n)).join("\n\n")}\n`);
  renameSync(staged, mdPath); // readers never see a half-written file
  console.error(`\nwrote ${mdPath.slice(root.length + 1)} (${fresh.size} of ${chosen.length} benchmark(s) updated)`);
  process.exit(crashed > 0 ? 1 : 0);
}

main();

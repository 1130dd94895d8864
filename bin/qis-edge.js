#!/usr/bin/env node
// The installed entry point: runs the compiled CLI from dist/ (built by `npm install` / `npm run build`).
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("ERR_NOT_BUILT: dist/ is missing; run `npm run build` (npm install does it)\n");
  process.exit(2);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
// Let stdout drain (a pipe may be slower than us) before the exit code is set.
process.exitCode = code;

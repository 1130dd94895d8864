#!/usr/bin/env node
// The installed entry point: runs the compiled CLI from dist/ (built by `npm install` / `npm run build`).
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/entry.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("ERR_NOT_BUILT: dist/ is missing; run `npm run build` (npm install does it)\n");
  process.exit(2);
}
// Sets process.exitCode and lets stdout drain; a closed stdout (`| head`) ends quietly (src/cli/entry.ts).
const { runCliProcess } = await import(entry.href);
await runCliProcess(process.argv.slice(2));

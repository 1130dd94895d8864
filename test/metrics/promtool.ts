/** `promtool check metrics` (Debian's prometheus package; scripts/system-deps.sh installs it). */
import { runProcess } from "../run-process.js";

export async function promtoolCheck(page: string): Promise<{ problems: string[]; output: string }> {
  const r = await runProcess("promtool", ["check", "metrics"], { input: page, timeoutMs: 15_000 });
  if (r.error !== undefined) throw new Error(`promtool is missing: apt-get install -y --no-install-recommends prometheus (scripts/system-deps.sh does as root): ${r.error.message}`);
  const output = `${r.stdout.toString()}${r.stderr.toString()}`;
  // Exit 0 and no lint lines: accepted. Lint findings are printed one per line with exit 3.
  const problems = output.split("\n").filter((l) => l.trim() !== "");
  if (r.status !== 0 && problems.length === 0) problems.push(`exit ${String(r.status)}`);
  return { problems, output };
}

/**
 * `qis-edge watch PATTERN`: what a running agent receives and synthesizes for PATTERN, as JSON
 * lines, until Ctrl-C. The agent subscribes to PATTERN for as long as the watch runs (peers then
 * send it matching packets), and drops that subscription when the watch ends unless it had it
 * before (src/control/subscriptions.ts).
 */
import { compilePattern } from "../../address/index.js";
import { UsageError } from "../../errors.js";
import type { Message } from "../../control/client.js";
import { parseCommandArgs } from "../args.js";
import { connectControl, intOption, LOCATE_HELP, LOCATE_OPTIONS } from "./common.js";
import type { CommandContext } from "../main.js";

export const watchHelp = `Usage: qis-edge watch PATTERN [-n COUNT] [--state-dir DIR | --config FILE | --socket PATH]

Prints, one JSON object per line, every packet the running agent stores for an address matching
PATTERN (from a peer, an uplink, another client's observe, or its own synthesis) and every
synthesis it makes for such an address, until Ctrl-C (or SIGTERM), then exits 0. PATTERN is an
address pattern: qis.hvac.> (everything under qis.hvac), qis.*.energy-anomaly, or qis.> for all.
While it runs the agent subscribes to PATTERN, so that its peers send matching packets.

Lines (the stdio protocol's events, docs/stdio.md):
  {"event":"packet","source":"PEER|local|synthesis|mqtt|nats","cursor":N,"packet":{...}}
  {"event":"synthesis","address":"...","domain":"...","estimate":E,"confidence":C,
   "nObservations":N,"hops":H,"seq":S,"consensus":{...}|null}

Options:
  -n, --count COUNT       exit 0 after COUNT lines
${LOCATE_HELP}
Exit 2 also when the agent goes away (ERR_CONTROL_LOST).
`;

export async function watch(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs("watch", argv, { ...LOCATE_OPTIONS, count: { type: "string", short: "n" } });
  if (values.help) {
    ctx.stdout.write(watchHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "watch needs a PATTERN, e.g. qis.> (everything)" : `watch takes one PATTERN, got ${positionals.length}`);
  const pattern = positionals[0]!;
  const matcher = compilePattern(pattern); // ERR_ADDRESS_* for a bad one, before connecting
  const count = intOption(values.count, "count", 1, Number.MAX_SAFE_INTEGER);
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const stop = (): void => finish(0);
  // From here on Ctrl-C ends the watch with exit 0, also while it connects.
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let client: Awaited<ReturnType<typeof connectControl>>;
  try {
    client = await connectControl(values);
  } catch (err) {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    throw err;
  }
  let printed = 0;
  const print = (m: Message): void => {
    ctx.stdout.write(`${JSON.stringify(m)}\n`);
    if (count !== undefined && ++printed >= count) finish(0);
  };
  client.onEvent = (m) => {
    if (m.event === "packet") print(m);
    else if (m.event === "synthesis" && typeof m.address === "string" && matcher.match(m.address)) print(m);
  };
  let lost: Error | null = null;
  client.onClose = (err) => {
    lost = err;
    finish(err === null ? 0 : 2);
  };
  // A reader that went away (watch ... | head -3): stop rather than watch for nobody.
  ctx.stdout.once("error", stop);
  ctx.stdout.once("close", stop);
  try {
    await Promise.race([client.request("subscribe", { pattern, packets: true }), finished]);
    const code = await finished;
    if (lost !== null) throw lost;
    return code;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    client.destroy();
  }
}

/**
 * `qis-edge query`, `stats` and `peers`: one request each to a running agent's control socket,
 * the answer printed.
 */
import { compilePattern } from "../../address/index.js";
import { UsageError } from "../../errors.js";
import { parseCommandArgs } from "../args.js";
import { connectControl, intOption, LOCATE_HELP, LOCATE_OPTIONS } from "./common.js";
import type { CommandContext } from "../main.js";

export const queryHelp = `Usage: qis-edge query [PATTERN] [--since CURSOR] [--limit N] [--state-dir DIR | --config FILE | --socket PATH]

Prints the packets the running agent's store holds for addresses matching PATTERN (default: all),
in store order, one JSON object per line: {"cursor":N, ...the packet as qis-edge inspect shows it}.
When the page is full (N packets), stderr says how to ask for the next one (--since NEXT).

Options:
      --since CURSOR      only packets after this store cursor (default 0)
      --limit N           at most N packets, 1..1000 (default 100)
${LOCATE_HELP}
`;

export const statsHelp = `Usage: qis-edge stats [--state-dir DIR | --config FILE | --socket PATH]

Prints the running agent's counters as JSON (indented on a terminal, one line in a pipe), as the
stdio protocol's "stats" ack (docs/stdio.md).

${LOCATE_HELP}
`;

export const peersHelp = `Usage: qis-edge peers [--state-dir DIR | --config FILE | --socket PATH]

The running agent's qis peers: a table on a terminal (name, up, endpoint, packets, invalid,
gaps, catch-ups, problem), a JSON array in a pipe (every counter).

${LOCATE_HELP}
`;

export async function query(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs("query", argv, { ...LOCATE_OPTIONS, since: { type: "string" }, limit: { type: "string" } });
  if (values.help) {
    ctx.stdout.write(queryHelp);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`query takes one PATTERN, got ${positionals.length}`);
  const pattern = positionals[0] ?? null;
  if (pattern !== null) compilePattern(pattern); // ERR_ADDRESS_* before connecting
  const since = intOption(values.since, "since", 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const limit = intOption(values.limit, "limit", 1, 1000) ?? 100;
  const client = await connectControl(values);
  try {
    const ack = await client.request("query", { pattern, since, limit });
    const packets = ack.packets as unknown[];
    ctx.stdout.write(packets.map((p) => `${JSON.stringify(p)}\n`).join(""));
    if (packets.length === limit) ctx.stderr.write(`${limit} packets (a full page): the next page with --since ${String(ack.next)}\n`);
    return 0;
  } finally {
    client.destroy();
  }
}

async function statsOf(argv: string[], ctx: CommandContext, command: "stats" | "peers", help: string): Promise<Record<string, unknown> | null> {
  const { values, positionals } = parseCommandArgs(command, argv, LOCATE_OPTIONS);
  if (values.help) {
    ctx.stdout.write(help);
    return null;
  }
  if (positionals.length > 0) throw new UsageError(`${command} takes no arguments, got "${positionals[0]}"`);
  const client = await connectControl(values);
  try {
    return (await client.request("stats")).stats as Record<string, unknown>;
  } finally {
    client.destroy();
  }
}

export async function stats(argv: string[], ctx: CommandContext): Promise<number> {
  const s = await statsOf(argv, ctx, "stats", statsHelp);
  if (s !== null) ctx.stdout.write(`${ctx.stdout.isTTY ? JSON.stringify(s, null, 2) : JSON.stringify(s)}\n`);
  return 0;
}

export async function peers(argv: string[], ctx: CommandContext): Promise<number> {
  const s = await statsOf(argv, ctx, "peers", peersHelp);
  if (s === null) return 0;
  const list = s.peers as Record<string, unknown>[];
  if (!ctx.stdout.isTTY) {
    ctx.stdout.write(`${JSON.stringify(list)}\n`);
    return 0;
  }
  if (list.length === 0) {
    ctx.stdout.write("no peers\n");
    return 0;
  }
  ctx.stdout.write(peerTable(list));
  return 0;
}

/** The table `peers` prints on a terminal. */
export function peerTable(list: readonly Record<string, unknown>[]): string {
  const head = ["NAME", "UP", "PUB", "PACKETS", "INVALID", "GAPS", "CATCH-UPS", "PROBLEM"];
  const rows = list.map((p) => [
    String(p.name),
    p.up === true ? "up" : "down",
    String(p.pub),
    String(p.packets),
    String(p.invalidPackets),
    String(p.gaps),
    String(p.catchUps),
    p.catchUpProblem === null || p.catchUpProblem === undefined ? "-" : String(p.catchUpProblem),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set([3, 4, 5, 6]);
  const line = (r: string[]): string =>
    `${r
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd()}\n`;
  return [head, ...rows].map(line).join("");
}

/**
 * `qis-edge observe`: observations into a running agent, through its control socket. Each JSON
 * object read becomes one `observe` request, sent as soon as it is read (a pipe from a sensor
 * script works as well as a file); the agent's answers are printed as they come.
 */
import { createReadStream } from "node:fs";
import { UsageError } from "../../errors.js";
import type { Message } from "../../control/client.js";
import { connectControl, LOCATE_HELP, LOCATE_OPTIONS } from "./common.js";
import { JsonValueSplitter, type JsonPiece } from "./json-values.js";
import { parseCommandArgs } from "../args.js";
import type { CommandContext } from "../main.js";

export const observeHelp = `Usage: qis-edge observe [--json FILE|-] [-q] [--state-dir DIR | --config FILE | --socket PATH]

Sends observations to the running agent (its control socket), which stores each as this node's
next packet, synthesizes and publishes it, as the stdio protocol's "observe" does. The input is
JSON: one object, several (one per line, or spread over lines), or arrays of them. Each is sent
as soon as it is read: a sensor script can pipe into it for as long as it runs.
An observation: {"domain":"hvac","problemClass":"energy-anomaly","outcomeDelta":0.18,
"confidence":0.87,"nObservations":42} (every field: qis-edge pack --help).

For each observation stored, one JSON line on stdout: {"address","seq","cursor"} (node id +
seq identify the packet everywhere; cursor is its place in the agent's store). Each refused one:
its code and problems on stderr, naming its place in the input (observation N, line L).

Options:
      --json FILE         read the observations from FILE; "-" or absent: stdin
  -q, --quiet             print nothing for stored observations
${LOCATE_HELP}
Exit 2 also when an observation was refused (the others are stored).
`;

/** Requests sent and not yet answered before reading pauses. */
const MAX_IN_FLIGHT = 1024;
const MAX_VALUE_BYTES = 16 << 20;

export async function observe(argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs("observe", argv, { ...LOCATE_OPTIONS, json: { type: "string" }, quiet: { type: "boolean", short: "q" } });
  if (values.help) {
    ctx.stdout.write(observeHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`observe takes no arguments, got "${positionals[0]}" (the observations come from --json FILE or stdin)`);
  const file = values.json;
  const input: NodeJS.ReadableStream & { isTTY?: boolean } = file === undefined || file === "-" ? ctx.stdin : createReadStream(file);
  if (input === ctx.stdin && ctx.stdin.isTTY) throw new UsageError("no input: give --json FILE or pipe observations to stdin");
  if (input !== ctx.stdin) await opened(input, file!);
  const client = await connectControl(values);
  const splitter = new JsonValueSplitter(MAX_VALUE_BYTES);
  let count = 0;
  let stored = 0;
  let refused = 0;
  const answered = (n: number, line: number) => (m: Message) => {
    if (m.event === "ack") {
      stored++;
      if (!values.quiet) ctx.stdout.write(`${JSON.stringify({ address: m.address, seq: m.seq, cursor: m.cursor })}\n`);
      return;
    }
    refused++;
    const problems = Array.isArray(m.problems) ? (m.problems as { path: string; message: string }[]) : [];
    const head = `${String(m.code)}: observation ${n} (line ${line}): ${problems.length > 0 ? `${problems.length} problem${problems.length === 1 ? "" : "s"}` : String(m.reason)}`;
    ctx.stderr.write(`${[head, ...problems.map((p) => `  ${p.path || "/"}: ${p.message}`)].join("\n")}\n`);
  };
  const sendOne = (value: unknown, line: number): boolean => {
    const n = ++count;
    const problem = notAnObservation(value);
    if (problem !== null) {
      answered(n, line)({ event: "error", code: "ERR_OBSERVATION", reason: problem.message, problems: [problem] });
      return true;
    }
    return client.send("observe", { ...(value as Message), id: n }, answered(n, line));
  };
  const handle = async (pieces: JsonPiece[]): Promise<void> => {
    for (const p of pieces) {
      if (!p.ok) {
        refused++;
        count++;
        ctx.stderr.write(`ERR_USAGE: input line ${p.line}: ${p.reason}\n`);
        continue;
      }
      const items = Array.isArray(p.value) ? p.value : [p.value];
      for (const item of items) if (!sendOne(item, p.line)) await client.drained();
    }
    pieces.length = 0;
  };
  let lostError: Error | null = null;
  client.onClose = (err) => (lostError = err);
  const pieces: JsonPiece[] = [];
  input.setEncoding?.("utf8");
  for await (const chunk of input) {
    splitter.push(typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8"), pieces);
    await handle(pieces);
    while (client.inFlight > MAX_IN_FLIGHT && lostError === null) await new Promise((r) => setTimeout(r, 5));
    if (lostError !== null) throw lostError;
  }
  splitter.end(pieces);
  await handle(pieces);
  await client.end();
  if (lostError !== null) throw lostError;
  if (count === 0) throw new UsageError("no observation in the input");
  if (refused > 0) {
    ctx.stderr.write(`${refused} of ${count} observation${count === 1 ? "" : "s"} refused, ${stored} stored\n`);
    return 2;
  }
  return 0;
}

/** A value that cannot be an observation's request: said here, as the agent would. */
function notAnObservation(v: unknown): { path: string; message: string } | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { path: "", message: "must be a JSON object (an observation)" };
  for (const k of ["op", "id"]) if (Object.hasOwn(v, k)) return { path: `/${k}`, message: "is not a field of an observation" };
  return null;
}

function opened(stream: NodeJS.ReadableStream, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", (e: NodeJS.ErrnoException) => reject(new UsageError(`cannot read ${file}: ${e.code ?? e.message}`, { cause: e })));
  });
}

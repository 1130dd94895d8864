/**
 * The qis-edge command line. Each command parses its own options (./args.ts) and has its own
 * --help. Exit status: 0 success, 1 the command's negative answer (e.g. an invalid packet), 2
 * usage or input errors, printed as "CODE: reason" on stderr (one line, or a header and one
 * line per problem when there are several); 141 when stdout was closed under us (./entry.ts).
 */
import { readFileSync } from "node:fs";
import { QisError } from "../errors.js";

export interface CommandContext {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

type Command = (argv: string[], ctx: CommandContext) => Promise<number>;

/**
 * Commands are imported on use: start-up time matters on a Pi, and e.g. `inspect` need not
 * load the schema compiler that `pack` uses.
 */
const commands: Record<string, { load: () => Promise<{ run: Command; help: string }>; summary: string }> = {
  pack: {
    summary: "observation JSON -> 512-byte outcome packet",
    load: async () => import("./pack.js").then((m) => ({ run: m.pack, help: m.packHelp })),
  },
  inspect: {
    summary: "verify a packet and print it as JSON",
    load: async () => import("./inspect.js").then((m) => ({ run: m.inspect, help: m.inspectHelp })),
  },
  run: {
    summary: "run an agent: peer links, store, synthesis (--stdio for a supervisor)",
    load: async () => import("./run.js").then((m) => ({ run: m.runCommand, help: m.runHelp })),
  },
  config: {
    summary: "print the config JSON Schema, or check a config file",
    load: async () => import("./config.js").then((m) => ({ run: m.configCommand, help: m.configHelp })),
  },
  keygen: {
    summary: "write a CURVE key pair for secured peer links (--show: print the public key)",
    load: async () => import("./keygen.js").then((m) => ({ run: m.keygen, help: m.keygenHelp })),
  },
  observe: {
    summary: "send observations to the running agent (its control socket)",
    load: async () => import("./client/index.js").then((m) => ({ run: m.observe, help: m.observeHelp })),
  },
  watch: {
    summary: "print the running agent's packets and syntheses for a pattern until Ctrl-C",
    load: async () => import("./client/index.js").then((m) => ({ run: m.watch, help: m.watchHelp })),
  },
  query: {
    summary: "print packets from the running agent's store",
    load: async () => import("./client/index.js").then((m) => ({ run: m.query, help: m.queryHelp })),
  },
  stats: {
    summary: "print the running agent's counters as JSON",
    load: async () => import("./client/index.js").then((m) => ({ run: m.stats, help: m.statsHelp })),
  },
  peers: {
    summary: "the running agent's peers: a table on a terminal, JSON in a pipe",
    load: async () => import("./client/index.js").then((m) => ({ run: m.peers, help: m.peersHelp })),
  },
  selftest: {
    summary: "check on this device what a flash needs: addon, codec, ZeroMQ, store file",
    load: async () => import("./selftest.js").then((m) => ({ run: m.selftest, help: m.selftestHelp })),
  },
  demo: {
    summary: "a local 3-agent swarm on loopback, shown live in the terminal",
    load: async () => import("./demo.js").then((m) => ({ run: m.demo, help: m.demoHelp })),
  },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: qis-edge <command> [options]

qis-edge ${version()}: outcome routing for edge devices. Observations are distilled into
512-byte outcome packets, addressed by problem type and shared with peers.

Commands:
${lines.join("\n")}

Run "qis-edge <command> --help" for a command's options.
Options: -h, --help   this help;  -v, --version   print the version

Exit status: 0 success, 1 the command's negative answer (e.g. an invalid packet), 2 usage or
input errors ("CODE: reason" on stderr), 141 stdout closed before the command was done (e.g.
piped into head; nothing is printed about it, as for a tool stopped by SIGPIPE).
`;
}

export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    const cmd = topic === undefined ? undefined : commands[topic];
    ctx.stdout.write(cmd ? (await cmd.load()).help : mainHelp());
    return 0;
  }
  if (name === "-v" || name === "--version") {
    ctx.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = commands[name];
  if (command === undefined) {
    const what = name.startsWith("-") ? `unknown option ${name} for 'qis-edge'` : `unknown command "${name}"`;
    ctx.stderr.write(`ERR_USAGE: ${what} (see qis-edge --help)\n`);
    return 2;
  }
  try {
    return await (await command.load()).run(rest, ctx);
  } catch (e) {
    if (e instanceof QisError) {
      ctx.stderr.write(describeError(e));
      return 2;
    }
    // A command that calls parseArgs itself rather than parseCommandArgs: Node's first sentence.
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
      ctx.stderr.write(`ERR_USAGE: ${(e as Error).message.split(". ")[0]} for 'qis-edge ${name}' (see qis-edge ${name} --help)\n`);
      return 2;
    }
    throw e;
  }
}

/**
 * "CODE: message", or, for an error that lists its problems (an observation's, say), a header
 * and one problem per line: the layout of `config check` and `run`'s config errors.
 */
function describeError(e: QisError): string {
  const problems = (e as { problems?: unknown }).problems;
  if (!Array.isArray(problems) || problems.length === 0 || !problems.every(isProblem)) return `${e.code}: ${e.message}\n`;
  // The message's own lead ("invalid observation: …") heads the list.
  const what = e.message.split(": ")[0]!;
  const lines = problems.map((p) => `  ${p.path || "/"}: ${p.message}\n`);
  return `${e.code}: ${what}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${lines.join("")}`;
}

function isProblem(p: unknown): p is { path: string; message: string } {
  return typeof p === "object" && p !== null && typeof (p as { path?: unknown }).path === "string" && typeof (p as { message?: unknown }).message === "string";
}

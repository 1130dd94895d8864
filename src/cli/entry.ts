/**
 * The CLI as a process (bin/qis-edge.js and the bundle's entry both call runCliProcess): main()
 * on the process's own streams, and what happens when a reader goes away.
 *
 * `qis-edge selftest | head -1`: head exits after one line and our next write fails with EPIPE.
 * A C tool would die of SIGPIPE; Node ignores that signal and raises an 'error' event instead,
 * which, unhandled, crashed with a stack trace. Here, for every command at once: the error is
 * noted, later writes are dropped (a destroyed stream discards them), the command runs to its
 * end (so that its finally blocks remove temporary files and close sockets), and the exit
 * status is 141 (128 + SIGPIPE, what a shell reports for a tool killed by SIGPIPE), unless the
 * command had a failure status of its own to report.
 */
import { main, type CommandContext } from "./main.js";

/** 128 + SIGPIPE (13) */
export const EXIT_OUTPUT_CLOSED = 141;
/** an output error other than a closed pipe (EIO, ENOSPC, …): said on stderr if it still works */
export const EXIT_OUTPUT_FAILED = 2;

export async function runCliProcess(argv: string[] = process.argv.slice(2)): Promise<void> {
  let outputClosed = false;
  let outputFailure: string | null = null;
  let commandCode: number | null = null;
  const finalCode = (code: number): number => {
    if (outputFailure !== null) return code === 0 ? EXIT_OUTPUT_FAILED : code;
    return outputClosed && code === 0 ? EXIT_OUTPUT_CLOSED : code;
  };
  const watch = (stream: NodeJS.WriteStream, name: string): void => {
    // The listener stays after main() returns: a write's EPIPE may be reported a tick later.
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") outputClosed = true;
      else if (outputFailure === null) {
        outputFailure = `${e.code ?? "error"}: ${e.message}`;
        if (stream !== process.stderr) process.stderr.write(`ERR_OUTPUT: cannot write to ${name}: ${outputFailure}\n`);
      }
      if (commandCode !== null) process.exitCode = finalCode(commandCode);
    });
  };
  watch(process.stdout, "stdout");
  watch(process.stderr, "stderr");
  const ctx: CommandContext = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  commandCode = await main(argv, ctx);
  // Not process.exit(): stdout may still be draining into a slow pipe.
  process.exitCode = finalCode(commandCode);
}

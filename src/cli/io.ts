/** Small I/O helpers shared by the commands. */
import { readFile } from "node:fs/promises";
import { UsageError } from "../errors.js";

/** Reads a whole file, or stdin for "-" / no path. Errors name the file. */
export async function readInput(path: string | undefined, stdin: NodeJS.ReadableStream = process.stdin): Promise<Buffer> {
  if (path === undefined || path === "-") {
    if ((stdin as { isTTY?: boolean }).isTTY) throw new UsageError("no input: give a FILE or pipe data to stdin");
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(path);
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** Parses hex text (whitespace ignored); UsageError names what is wrong. */
export function parseHex(text: string, what: string): Buffer {
  const clean = text.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new UsageError(`${what}: not hex text (an even number of 0-9a-f digits)`);
  return Buffer.from(clean, "hex");
}

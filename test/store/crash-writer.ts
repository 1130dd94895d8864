/**
 * Child process of the crash test (file.test.ts), run with vite-node:
 *   crash-writer.ts <file> <capacity> <single|batch>
 * Inserts packets seq 1, 2, 3… (node 1, five addresses) into a file-backed store as fast as it
 * can, and after each insert (single) or each 7-packet batch (batch) writes the highest seq
 * stored so far as one line on stdout (before inserting more), until it is killed.
 */
import { writeSync } from "node:fs";
import { codec, PACKET_SIZE } from "../../src/packet/index.js";
import { PacketStore } from "../../src/store/index.js";
import { fields, T0 } from "./helpers-fields.js";

const [file, capacity, mode] = process.argv.slice(2);
const store = new PacketStore({ capacity: Number(capacity), file: file!, now: () => T0 });
const per = mode === "batch" ? 7 : 1;
const buf = Buffer.alloc(per * PACKET_SIZE);
for (let seq = 1; ; seq += per) {
  for (let i = 0; i < per; i++) codec.encode(fields({ seq: seq + i, address: `qis.crash.a${(seq + i) % 5}` }), buf, i * PACKET_SIZE);
  if (per === 1) store.insert(buf);
  else store.insertBatch(buf);
  report(`${seq + per - 1}\n`);
}

/** A blocking write of one line: stdout is a non-blocking pipe, so retry while it is full. */
function report(line: string): void {
  for (;;) {
    try {
      writeSync(1, line);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
    }
  }
}

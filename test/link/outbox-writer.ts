/**
 * Child process of the outbox's kill -9 test (outbox.test.ts), run with vite-node:
 *   outbox-writer.ts <file>
 * Appends packets seq 1, 2, 3… (node 1) to an outbox, 7 per commit, as fast as it can, and after
 * each commit writes the highest seq committed as one line on stdout, until it is killed.
 */
import { writeSync } from "node:fs";
import { Outbox } from "../../src/link/uplink/outbox.js";
import { codec, PACKET_SIZE } from "../../src/packet/index.js";
import { fields } from "../store/helpers-fields.js";

const [file] = process.argv.slice(2);
const outbox = new Outbox({ name: "crash", path: file!, capacity: 1 << 20, sync: false });
const buf = Buffer.alloc(PACKET_SIZE);
for (let seq = 1; ; seq += 7) {
  for (let i = 0; i < 7; i++) {
    codec.encode(fields({ seq: seq + i, address: `qis.crash.a${(seq + i) % 5}` }), buf, 0);
    outbox.stage(buf, 0);
  }
  outbox.commit();
  report(`${seq + 6}\n`);
}

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

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UplinkError } from "../../src/link/uplink/errors.js";
import { Outbox } from "../../src/link/uplink/outbox.js";
import { PACKET_SIZE } from "../../src/packet/index.js";
import { FILE_HEADER_SIZE, RECORD_SIZE } from "../../src/store/format.js";
import { catchError } from "../catch-error.js";
import { identityAt, packet } from "../store/helpers.js";

const dirs: string[] = [];
const open: Outbox[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempFile(): string {
  const d = mkdtempSync(join(tmpdir(), "qis-outbox-"));
  dirs.push(d);
  return join(d, "outbox.bin");
}
function outbox(path: string, capacity = 16, sync = false): Outbox {
  const o = new Outbox({ name: "test", path, capacity, sync });
  open.push(o);
  return o;
}
function append(o: Outbox, from: number, to: number): void {
  for (let s = from; s < to; s++) o.stage(packet({ seq: s }), 0);
  o.commit();
}
/** seqs of a take(), in order */
function takeSeqs(o: Outbox, max: number): { seqs: number[]; cursors: number[] } {
  const b = o.take(max);
  const seqs: number[] = [];
  for (let i = 0; i < b.count; i++) seqs.push(Number(identityAt(b.packets, i * PACKET_SIZE).split(":")[1]));
  return { seqs, cursors: Array.from(b.cursors.subarray(0, b.count)) };
}

describe("Outbox", () => {
  it("hands out what was appended, oldest first, exact bytes, and forgets it only when acknowledged", () => {
    const o = outbox(tempFile());
    append(o, 1, 6);
    expect(o.size).toBe(5);
    const b = o.take(3);
    expect(b.count).toBe(3);
    expect(Buffer.compare(b.packets.subarray(0, PACKET_SIZE), packet({ seq: 1 }))).toBe(0);
    const first = Array.from(b.cursors.subarray(0, 3));
    expect(first).toEqual([1, 2, 3]);
    expect(o.inFlight).toBe(3);
    expect(o.backlog).toBe(2);
    // An ack out of order: 2 leaves; 1 and 3 were not acknowledged and come again.
    o.ack([2]);
    o.release([1, 3]);
    expect(takeSeqs(o, 10).seqs).toEqual([1, 3, 4, 5]);
    expect(o.counters.resent).toBe(2);
    o.ack([1, 3, 4, 5]);
    expect(o.size).toBe(0);
    expect(o.take(10).count).toBe(0);
    expect(o.counters).toMatchObject({ appended: 5, acked: 5, dropped: 0 });
  });

  it("resumes after a restart with exactly the unacknowledged packets (acked ones zeroed from the tail)", () => {
    const path = tempFile();
    const o = outbox(path);
    append(o, 1, 11);
    const { cursors } = takeSeqs(o, 10);
    o.ack(cursors.slice(0, 4)); // 1..4 leave the file (at the next trim)
    o.ack([cursors[6]!]); // 7 acked out of order: kept on disk until 5 and 6 are
    o.trim();
    o.close();
    const again = outbox(path);
    expect(again.resumed).toBe(6);
    expect(takeSeqs(again, 100).seqs).toEqual([5, 6, 7, 8, 9, 10]);
    expect(again.counters.resent).toBe(0);
  });

  it("when full drops the oldest, counts them and says so once per append", () => {
    const o = outbox(tempFile(), 8);
    const drops: number[] = [];
    o.onDrop = (n) => drops.push(n);
    append(o, 1, 9);
    expect(drops).toEqual([]);
    append(o, 9, 12);
    expect(drops).toEqual([3]);
    expect(o.counters.dropped).toBe(3);
    expect(o.size).toBe(8);
    expect(takeSeqs(o, 100).seqs).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    // In flight when overwritten: dropped too, and its late ack is ignored.
    append(o, 12, 14);
    expect(o.counters.dropped).toBe(5);
    o.ack([1, 4, 5, 6]);
    expect(o.counters.acked).toBe(1); // only 6: 1, 4 and 5 had left the ring
  });

  it("wraps around the ring across restarts", () => {
    const path = tempFile();
    let o = outbox(path, 8);
    for (let round = 0; round < 5; round++) {
      append(o, round * 5 + 1, round * 5 + 6);
      const t = takeSeqs(o, 3);
      o.ack(t.cursors);
      o.close();
      open.splice(open.indexOf(o), 1);
      o = outbox(path, 8);
    }
    // 25 appended, 5 per round; the 3 oldest acked each round; the ring (8) drops the oldest
    // when a round overfills it (7, 11, 12, 16, 17): 21..25 are left.
    expect(takeSeqs(o, 100).seqs).toEqual([21, 22, 23, 24, 25]);
    expect(o.counters.corrupt).toBe(0);
  });

  it("skips a record damaged on disk, counted, and sends the rest", () => {
    const path = tempFile();
    const o = outbox(path);
    append(o, 1, 4);
    o.close();
    const buf = readFileSync(path);
    const at = FILE_HEADER_SIZE + RECORD_SIZE + 200; // in the packet of record 2
    buf[at] = buf[at]! ^ 0xff;
    writeFileSync(path, buf);
    const again = outbox(path);
    expect(again.counters.corrupt).toBe(1);
    expect(takeSeqs(again, 10).seqs).toEqual([1, 3]);
  });

  it("refuses a store file, a file of another capacity, and an unwritable path, with ERR_OUTBOX_FILE", () => {
    const path = tempFile();
    outbox(path, 16).close();
    open.length = 0;
    const e1 = catchError(() => outbox(path, 32), UplinkError);
    expect(e1.code).toBe("ERR_OUTBOX_FILE");
    expect(e1.message).toContain("capacity 16");
    writeFileSync(path, Buffer.concat([Buffer.from("QISSTORE"), Buffer.alloc(100)]));
    expect(catchError(() => outbox(path, 16), UplinkError).message).toContain("bad magic");
    expect(catchError(() => outbox(join(path, "x", "y"), 16), UplinkError).code).toBe("ERR_OUTBOX_FILE");
  });

  it("is sized capacity × 528 bytes + the header, and sync mode works", () => {
    const path = tempFile();
    const o = outbox(path, 100, true);
    append(o, 1, 50);
    expect(statSync(path).size).toBe(FILE_HEADER_SIZE + 100 * RECORD_SIZE);
    expect(o.size).toBe(49);
  });

  it("keeps everything commit() returned from, through kill -9 mid-write", async () => {
    const path = tempFile();
    const writer = join(import.meta.dirname, "outbox-writer.ts");
    const viteNode = join(import.meta.dirname, "..", "..", "node_modules", "vite-node", "vite-node.mjs");
    const p = spawn(process.execPath, [viteNode, writer, path], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const last = (): number => Number(out.trim().split("\n").at(-1) ?? 0);
    const deadline = Date.now() + 30_000;
    while (last() < 20_000) {
      if (p.exitCode !== null || Date.now() > deadline) throw new Error(`the writer stopped early: ${err}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    p.kill("SIGKILL");
    await new Promise((r) => p.once("exit", r));
    const reported = last();
    const o = outbox(path, 1 << 20);
    // Everything reported is there, in order, nothing else; at most the commit being written when killed on top.
    expect(o.resumed).toBeGreaterThanOrEqual(reported);
    expect(o.resumed - reported).toBeLessThanOrEqual(7);
    expect(o.counters.corrupt).toBe(0);
    const t = takeSeqs(o, o.resumed);
    expect(t.seqs).toEqual(Array.from({ length: o.resumed }, (_, i) => i + 1));
  }, 45_000);
});

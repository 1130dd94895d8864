import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { codec, Verdict } from "../../src/packet/index.js";
import {
  FILE_HEADER,
  FILE_HEADER_SIZE,
  fileSize,
  PacketStore,
  RECORD,
  RECORD_SIZE,
  recordPosition,
  type StoredPacket,
} from "../../src/store/index.js";
import { writeRecordHeader } from "../../src/store/format.js";
import { batch, catchStoreError, clock, nodeId, packet, seqs, T0, tempDirs } from "./helpers.js";

const tempDir = tempDirs();
const at = (now: number) => () => now;

function same(a: StoredPacket[], b: StoredPacket[]): void {
  expect(a.map((p) => p.cursor)).toEqual(b.map((p) => p.cursor));
  for (let i = 0; i < a.length; i++) expect(Buffer.compare(a[i]!.packet, b[i]!.packet)).toBe(0);
}

/** Overwrites `bytes` at `position` in the file. */
function poke(path: string, position: number, bytes: Uint8Array): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, position);
  } finally {
    closeSync(fd);
  }
}

/** A file-backed store of capacity 8 holding seq 5..12 (cursors 5..12), closed. */
function filledFile(): { path: string; before: StoredPacket[] } {
  const path = join(tempDir(), "store.qis");
  const store = new PacketStore({ capacity: 8, file: path, now: at(T0) });
  store.insertBatch(batch(Array.from({ length: 12 }, (_, i) => ({ seq: i + 1, address: `qis.a.b${i % 3}` }))));
  const before = store.collect();
  store.close();
  return { path, before };
}

describe("file mode: reopening", () => {
  it("creates the file at its full size and reopens with the same packets, order and cursors", () => {
    const path = join(tempDir(), "s.qis");
    const c = clock(T0);
    const store = new PacketStore({ capacity: 8, file: path, now: c.now });
    expect(statSync(path).size).toBe(fileSize(8));
    expect(fileSize(8)).toBe(FILE_HEADER_SIZE + 8 * RECORD_SIZE);
    store.insertBatch(batch(Array.from({ length: 11 }, (_, i) => ({ seq: i, address: `qis.a.b${i % 3}`, ttl: i % 2 ? 0 : 3600 }))));
    store.insert(packet({ seq: 3 })); // duplicate: no cursor, nothing written
    store.insert(packet({ seq: 11, node: 2, address: "qis.x.y" }));
    const before = store.collect();
    expect(before.map((p) => p.cursor)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    store.close();

    const again = new PacketStore({ capacity: 8, file: path, now: c.now });
    same(again.collect(), before);
    expect(again.cursor).toBe(12);
    expect(again.stats()).toMatchObject({ size: 8, loaded: 8, corruptOnLoad: 0, expired: 0, stored: 0, addresses: 4 });
    expect(seqs(again, "qis.a.b1")).toEqual([4, 7, 10]);
    expect(again.lookup(nodeId(1), 7)).toBe(8);
    expect(again.insert(packet({ seq: 7 }))).toBe(1); // the identity index was rebuilt
    // The ring continues where it stopped: cursor 13 replaces cursor 5.
    expect(again.insert(packet({ seq: 100 }))).toBe(0);
    const after = again.collect();
    expect(after.map((p) => p.cursor)).toEqual([6, 7, 8, 9, 10, 11, 12, 13]);
    again.close();
    const third = new PacketStore({ capacity: 8, file: path, now: c.now });
    same(third.collect(), after);
    third.close();
  });

  it("sees every completed write without close (as after kill -9)", () => {
    const path = join(tempDir(), "s.qis");
    const store = new PacketStore({ capacity: 16, file: path, now: at(T0) });
    store.insertBatch(batch(Array.from({ length: 20 }, (_, i) => ({ seq: i }))));
    store.insert(packet({ seq: 20 }));
    const other = new PacketStore({ capacity: 16, file: path, now: at(T0) });
    same(other.collect(), store.collect());
    other.close();
    store.close();
  });

  it("drops packets that expired while the store was closed, counting them, and keeps the cursor", () => {
    const path = join(tempDir(), "s.qis");
    const store = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    store.insertBatch(batch([{ seq: 1, ttl: 60 }, { seq: 2 }, { seq: 3, ttl: 120 }, { seq: 4, ttl: 60 }]));
    store.close();
    const later = new PacketStore({ capacity: 8, file: path, now: at(T0 + 90_000) });
    expect(seqs(later)).toEqual([2, 3]);
    expect(later.stats()).toMatchObject({ expired: 2, loaded: 2, corruptOnLoad: 0, cursor: 4 });
    expect(later.insert(packet({ seq: 1, ts: T0 + 90_000, ttl: 60 }))).toBe(0); // its identity is free again
    expect(later.cursor).toBe(5);
    later.close();
  });

  it("an empty store file has cursor 0; an existing empty file is initialised", () => {
    const path = join(tempDir(), "s.qis");
    new PacketStore({ capacity: 4, file: path }).close();
    const s = new PacketStore({ capacity: 4, file: path });
    expect(s.stats()).toMatchObject({ size: 0, cursor: 0, corruptOnLoad: 0 });
    s.close();
    const empty = join(tempDir(), "empty.qis");
    writeFileSync(empty, "");
    const e = new PacketStore({ capacity: 4, file: empty });
    expect(statSync(empty).size).toBe(fileSize(4));
    e.close();
  });

  it("fsyncs when asked (syncWrites, sync())", () => {
    const path = join(tempDir(), "s.qis");
    const store = new PacketStore({ capacity: 4, file: path, syncWrites: true, now: at(T0) });
    store.insert(packet({ seq: 1 }));
    store.insertBatch(batch([{ seq: 2 }, { seq: 3 }]));
    store.sync();
    store.close();
    expect(seqs(new PacketStore({ capacity: 4, file: path, now: at(T0) }))).toEqual([1, 2, 3]);
  });
});

describe("file mode: torn and damaged records", () => {
  // filledFile(): capacity 8; cursor c lives in slot (c - 1) % 8; the newest, cursor 12, in slot 3.
  const slotOf = (cursor: number) => (cursor - 1) % 8;

  it("a file truncated in the middle of the newest record loses only that packet", () => {
    const path = join(tempDir(), "s.qis");
    const store = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    store.insertBatch(batch(Array.from({ length: 5 }, (_, i) => ({ seq: i + 1 }))));
    const before = store.collect();
    store.close();
    truncateSync(path, recordPosition(4) + 300); // cursor 5 is torn
    const s = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    same(s.collect(), before.slice(0, -1));
    expect(s.stats()).toMatchObject({ corruptOnLoad: 1, cursor: 4, size: 4 });
    expect(statSync(path).size).toBe(fileSize(8)); // extended again
    expect(s.insert(packet({ seq: 50 }))).toBe(0);
    expect(s.cursor).toBe(5);
    s.close();
    const t = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    expect(t.stats()).toMatchObject({ corruptOnLoad: 0, size: 5, cursor: 5 });
    t.close();
  });

  it("truncating a wrapped file loses the torn record and every record after the cut (empty, not corrupt)", () => {
    const { path, before } = filledFile();
    truncateSync(path, recordPosition(slotOf(12)) + 300); // slot 3 torn; slots 4..7 (cursors 5..8) gone
    const s = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    same(s.collect(), before.filter((p) => p.cursor >= 9 && p.cursor <= 11));
    expect(s.stats()).toMatchObject({ corruptOnLoad: 1, cursor: 11, size: 3 });
    s.close();
  });

  it("a file truncated at a record boundary is fine: the missing records are empty", () => {
    const path = join(tempDir(), "s.qis");
    const store = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    store.insertBatch(batch([{ seq: 1 }, { seq: 2 }, { seq: 3 }]));
    store.close();
    truncateSync(path, recordPosition(2));
    const s = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    expect(seqs(s)).toEqual([1, 2]);
    expect(s.stats()).toMatchObject({ corruptOnLoad: 0, cursor: 2 });
    s.close();
  });

  it.each([
    ["garbage over part of the packet", (p: string, pos: number) => poke(p, pos + RECORD.packet + 100, Buffer.from("garbage!garbage!"))],
    ["zeros over the end of the packet", (p: string, pos: number) => poke(p, pos + 200, Buffer.alloc(RECORD_SIZE - 200))],
    ["zeros over the record header", (p: string, pos: number) => poke(p, pos, Buffer.alloc(RECORD.packet))],
    ["a changed cursor", (p: string, pos: number) => poke(p, pos + RECORD.cursor, Buffer.from([9]))],
    ["one flipped bit in the packet CRC", (p: string, pos: number) => poke(p, pos + RECORD.packet + 508, Buffer.from([readFileSync(p)[pos + RECORD.packet + 508]! ^ 1]))],
  ])("%s in a middle record loses only that packet, counted in corruptOnLoad", (_name, damage) => {
    const { path, before } = filledFile();
    damage(path, recordPosition(slotOf(8)));
    const s = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    same(s.collect(), before.filter((p) => p.cursor !== 8));
    expect(s.stats()).toMatchObject({ corruptOnLoad: 1, cursor: 12, size: 7 });
    for (const p of s.collect()) expect(codec.verdict(p.packet)).toBe(Verdict.OK);
    s.close();
    // The damaged record was cleared: the next open finds nothing wrong.
    const t = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    expect(t.stats()).toMatchObject({ corruptOnLoad: 0, size: 7 });
    t.close();
  });

  it("a record of all zeros is an empty slot, not a corrupt one", () => {
    const { path, before } = filledFile();
    poke(path, recordPosition(slotOf(8)), Buffer.alloc(RECORD_SIZE));
    const s = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    same(s.collect(), before.filter((p) => p.cursor !== 8));
    expect(s.stats().corruptOnLoad).toBe(0);
    s.close();
  });

  function recordOf(path: string, cursor: number): Buffer {
    const pos = recordPosition(slotOf(cursor));
    return Buffer.from(readFileSync(path).subarray(pos, pos + RECORD_SIZE));
  }

  it("an intact record in another cursor's slot is dropped as corrupt", () => {
    const { path, before } = filledFile();
    poke(path, recordPosition(slotOf(9)), recordOf(path, 8)); // cursor 8 (slot 7) now also in slot 0
    const s = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    expect(s.stats().corruptOnLoad).toBe(1);
    same(s.collect(), before.filter((p) => p.cursor !== 9));
    s.close();
  });

  it("an intact record older than the newest `capacity` cursors (stale) is dropped as corrupt", () => {
    const { path, before } = filledFile();
    const rec = recordOf(path, 9);
    writeRecordHeader(rec, 0, 1); // cursor 1 belongs in slot 0 too, but 1 ≤ 12 - 8
    poke(path, recordPosition(slotOf(9)), rec);
    const s = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    expect(s.stats()).toMatchObject({ corruptOnLoad: 1, cursor: 12 });
    same(s.collect(), before.filter((p) => p.cursor !== 9));
    s.close();
  });

  it("a second intact record of one identity is dropped as corrupt; the older one stays", () => {
    const { path, before } = filledFile();
    const rec = recordOf(path, 10);
    writeRecordHeader(rec, 0, 11); // cursor 10's packet, as cursor 11
    poke(path, recordPosition(slotOf(11)), rec);
    const s = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    expect(s.stats().corruptOnLoad).toBe(1);
    same(s.collect(), before.filter((p) => p.cursor !== 11));
    s.close();
  });
});

describe("file mode: bad files", () => {
  function headerOf(capacity: number): Buffer {
    const path = join(tempDir(), `h${capacity}.qis`);
    new PacketStore({ capacity, file: path }).close();
    return readFileSync(path).subarray(0, FILE_HEADER_SIZE);
  }

  it("a file of random garbage is ERR_STORE_FILE (bad-magic) and is left alone", () => {
    const path = join(tempDir(), "garbage.qis");
    const garbage = Buffer.alloc(10_000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 2654435761) >>> 23;
    writeFileSync(path, garbage);
    const e = catchStoreError(() => new PacketStore({ capacity: 8, file: path }));
    expect(e).toMatchObject({ code: "ERR_STORE_FILE", reason: "bad-magic", path });
    expect(e.message).toContain(path);
    expect(Buffer.compare(readFileSync(path), garbage)).toBe(0);
  });

  it("a truncated header is ERR_STORE_FILE (truncated-header)", () => {
    const path = join(tempDir(), "short.qis");
    writeFileSync(path, headerOf(8).subarray(0, 30));
    expect(catchStoreError(() => new PacketStore({ capacity: 8, file: path }))).toMatchObject({ code: "ERR_STORE_FILE", reason: "truncated-header" });
  });

  it("a damaged header is ERR_STORE_FILE (header-crc)", () => {
    const path = join(tempDir(), "crc.qis");
    const h = Buffer.from(headerOf(8));
    h[FILE_HEADER.capacity] = 9;
    writeFileSync(path, h);
    expect(catchStoreError(() => new PacketStore({ capacity: 9, file: path }))).toMatchObject({ code: "ERR_STORE_FILE", reason: "header-crc" });
  });

  it("another format version is ERR_STORE_FILE (unsupported-version)", () => {
    const path = join(tempDir(), "v2.qis");
    const h = Buffer.from(headerOf(8));
    h.writeUInt32LE(2, FILE_HEADER.version);
    h.writeUInt32LE(codec.crc32c(h, 0, FILE_HEADER.crc32c), FILE_HEADER.crc32c);
    writeFileSync(path, h);
    expect(catchStoreError(() => new PacketStore({ capacity: 8, file: path }))).toMatchObject({ code: "ERR_STORE_FILE", reason: "unsupported-version" });
  });

  it("a file made for another capacity is ERR_STORE_FILE naming both capacities, and is left alone", () => {
    const { path } = filledFile();
    const bytes = readFileSync(path);
    const e = catchStoreError(() => new PacketStore({ capacity: 16, file: path }));
    expect(e).toMatchObject({ code: "ERR_STORE_FILE", reason: "capacity-mismatch", path });
    expect(e.message).toMatch(/capacity 8\b.*capacity 16\b/);
    expect(Buffer.compare(readFileSync(path), bytes)).toBe(0);
  });

  it("a directory or an unreachable path is ERR_STORE_FILE", () => {
    const dir = tempDir();
    expect(catchStoreError(() => new PacketStore({ capacity: 8, file: dir })).code).toBe("ERR_STORE_FILE");
    expect(catchStoreError(() => new PacketStore({ capacity: 8, file: join(dir, "no", "such", "dir", "s.qis") }))).toMatchObject({
      code: "ERR_STORE_FILE",
      reason: "open-failed",
    });
    expect(existsSync(join(dir, "no"))).toBe(false);
  });

  it("trailing bytes after the last record are ignored", () => {
    const { path, before } = filledFile();
    poke(path, fileSize(8), Buffer.from("trailing"));
    const s = new PacketStore({ capacity: 8, file: path, now: at(T0) });
    same(s.collect(), before);
    expect(s.stats().corruptOnLoad).toBe(0);
    s.close();
  });
});

describe("file mode: a real crash", () => {
  const writer = join(import.meta.dirname, "crash-writer.ts");
  const viteNode = join(import.meta.dirname, "..", "..", "node_modules", "vite-node", "vite-node.mjs");

  /** Runs the writer until it has reported `atLeast`, kills it with SIGKILL, returns the last seq it reported. */
  function runAndKill(path: string, capacity: number, mode: string, atLeast: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [viteNode, writer, path, String(capacity), mode], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      let killed = false;
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk: string) => {
        out += chunk;
        if (!killed && out.split("\n").length > atLeast) {
          killed = true;
          child.kill("SIGKILL");
        }
      });
      child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
      child.on("error", reject);
      child.on("close", (code, signal) => {
        if (signal !== "SIGKILL") return reject(new Error(`writer exited with ${code}/${signal}: ${err}`));
        const lines = out.split("\n").filter((l) => /^\d+$/.test(l)); // a torn last line is not a report
        resolve(Number(lines[lines.length - 1]));
      });
    });
  }

  it.each([
    ["single", 1],
    ["batch", 7],
  ])("after SIGKILL mid-stream (%s inserts), every reported packet is there and at most the in-flight one is extra", async (mode, per) => {
    const path = join(tempDir(), "crash.qis");
    const capacity = 1000;
    const reported = await runAndKill(path, capacity, mode, 3000);
    expect(reported).toBeGreaterThanOrEqual(3000);
    const s = new PacketStore({ capacity, file: path, now: at(T0) });
    const got = s.collect();
    const stats = s.stats();
    s.close();
    expect(stats.corruptOnLoad).toBeLessThanOrEqual(1);
    // Reported seq r means seq 1..r were stored; the in-flight insert may have made it too.
    const last = got[got.length - 1]!.cursor;
    expect(last).toBeGreaterThanOrEqual(reported);
    expect(last).toBeLessThanOrEqual(reported + per);
    // Cursor = seq (no duplicates were sent); the newest `capacity` are all there, in order.
    expect(got.map((p) => p.cursor)).toEqual(Array.from({ length: capacity }, (_, i) => last - capacity + 1 + i));
    for (const p of got) {
      expect(codec.verdict(p.packet)).toBe(Verdict.OK);
      expect(p.packet.readUIntLE(32, 6)).toBe(p.cursor);
    }
  }, 30_000);
});

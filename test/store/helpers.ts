import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { codec, OFFSETS, PACKET_SIZE } from "../../src/packet/index.js";
import { StoreError, type PacketStore, type StorePattern } from "../../src/store/index.js";
import { catchError } from "../catch-error.js";
import { fields, T0, type Spec } from "./helpers-fields.js";

export { fields, nodeId, T0, type Spec } from "./helpers-fields.js";

export function packet(s: Spec): Buffer {
  const b = Buffer.alloc(PACKET_SIZE);
  codec.encode(fields(s), b);
  return b;
}

export function batch(specs: readonly Spec[]): Buffer {
  const b = Buffer.alloc(specs.length * PACKET_SIZE);
  codec.encodeBatch(specs.map(fields), b);
  return b;
}

/** "node:seq" of a packet in a buffer. */
export function identityAt(buf: Uint8Array, offset: number): string {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return `${b.readUInt32LE(offset + OFFSETS.node_id)}:${b.readUIntLE(offset + OFFSETS.seq, 6)}`;
}

/** [cursor, "node:seq", address] of every packet a query returns. */
export function results(store: PacketStore, pattern: StorePattern = null, since = 0, limit = Infinity): [number, string, string][] {
  return store.collect(pattern, since, limit).map((p) => [p.cursor, identityAt(p.packet, 0), p.packet.toString("utf8", 96, 96 + p.packet[7]!)]);
}

/** Seqs (node 1 unless told) of what a query returns. */
export function seqs(store: PacketStore, pattern: StorePattern = null, since = 0, limit = Infinity): number[] {
  return store.collect(pattern, since, limit).map((p) => p.packet.readUIntLE(OFFSETS.seq, 6));
}

export const catchStoreError = (fn: () => unknown): StoreError => catchError(fn, StoreError);

/** A fresh temp dir per test, removed afterwards. */
export function tempDirs(): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    while (dirs.length > 0) rmSync(dirs.pop()!, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), "qis-store-"));
    dirs.push(d);
    return d;
  };
}

/** A clock tests move by hand. */
export function clock(start = T0): { now: () => number; set(t: number): void; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    set(v) {
      t = v;
    },
    advance(ms) {
      t += ms;
    },
  };
}

/**
 * The one place that owns the native addon: loads it with node-gyp-build (a prebuild for this
 * platform, or build/Release from `npm install`), checks that its packet struct has our layout,
 * and otherwise falls back to the TypeScript backend. QIS_EDGE_NO_NATIVE=1 forces the fallback.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { QisError } from "../errors.js";
import type { CodecBackend } from "./backend.js";
import { SLOT_HASH, SLOT_LENGTH, SLOT_SIZE } from "./intern.js";
import { OFFSETS, PACKET_SIZE } from "./layout.js";
import { STAGE } from "./stage.js";

/** What the addon's layout().stage must say: stage.ts's record offsets and intern.ts's slot layout. */
export const STAGE_LAYOUT: Readonly<Record<string, number>> = { ...STAGE, slot_size: SLOT_SIZE, slot_length: SLOT_LENGTH, slot_hash: SLOT_HASH };

interface AddonLayout {
  size: number;
  littleEndian: boolean;
  hwCrc: boolean;
  hwCrcName: string;
  offsets: Record<string, number>;
  /** The staging record and string-slot layout (native/encode.h). */
  stage?: Record<string, number>;
  /** How many arrays, dims and regs the synthesis path binds (native/synth.h). */
  synth?: BoundLayout;
  /** The same for the store's insert path (native/store.h). */
  store?: BoundLayout;
  /** The systemd notify sender (native/notify.h): the most sun_path bytes an address takes. */
  notify?: { pathMax: number };
}

export interface BoundLayout {
  arrays: number;
  dims: number;
  regs: number;
}

/** The synthesis engine's C path (native/synth.h); src/synth/native.ts is its only user. */
export interface NativeSynth {
  layout: BoundLayout;
  /** Binds an engine's arrays (in native/synth.h order) and dimensions; returns the handle. */
  bind(arrays: readonly (Int32Array | Float64Array | Uint8Array)[], dims: Int32Array): object;
  /** Sweeps (sweep = 1) then adds up to count packets at buf[byteOffset + i·512]; returns how many it took. */
  run(handle: object, buf: Uint8Array, byteOffset: number, count: number, sweep: number): number;
}

/** The store's in-memory insert path in C (native/store.h); src/store/native.ts is its only user. */
export interface NativeStoreBinding {
  layout: BoundLayout;
  /** Binds a store's arrays (in native/store.h order) and dimensions; returns the handle. */
  bind(arrays: readonly (Int32Array | Float64Array | Uint8Array)[], dims: Int32Array): object;
  /**
   * Sweeps (sweep = 1), then stores the count packets at buf[byteOffset + i·512] whose
   * codes[codesOffset + i] is 0, writing statuses[statusesOffset + i] when statuses is not null;
   * returns how many it stored.
   */
  run(
    handle: object, buf: Uint8Array, byteOffset: number, count: number, sweep: number,
    codes: Uint8Array, codesOffset: number, statuses: Uint8Array | null, statusesOffset: number,
  ): number;
}

/** The systemd notify datagram in C (native/notify.h); src/systemd/notify.ts is its only user. */
export interface NativeNotify {
  /** The most bytes `path` may have (sizeof sun_path). */
  pathMax: number;
  /**
   * Sends `message` as one datagram to the AF_UNIX socket whose sun_path bytes are `path` (a
   * leading 0 byte for the abstract namespace), without blocking; returns 0 or the errno.
   */
  send(path: Uint8Array, message: Uint8Array): number;
}

interface Addon extends Omit<CodecBackend, "name"> {
  layout(): AddonLayout;
  synthBind: NativeSynth["bind"];
  synthRun: NativeSynth["run"];
  storeBind: NativeStoreBinding["bind"];
  storeRun: NativeStoreBinding["run"];
  sdNotify: NativeNotify["send"];
}

export interface NativeStatus {
  /** the addon is loaded and in use */
  loaded: boolean;
  /** why it is not, when it is not */
  reason: string;
  /** the CRC-32C implementation the addon chose: "sse4.2", "armv8-crc" or "table" */
  crc: string;
  /** where it was loaded from */
  path: string;
}

/** The package root: src/packet/ and dist/packet/ both sit two levels below it. */
function packageRoot(): string {
  return process.env.QIS_EDGE_ADDON_DIR ?? join(dirname(fileURLToPath(import.meta.url)), "..", "..");
}

/** The addon's struct must match layout.ts exactly; a drift is a build bug, so fail loudly. */
export function assertLayout(layout: AddonLayout): void {
  const problems: string[] = [];
  if (layout.size !== PACKET_SIZE) problems.push(`sizeof(qis_packet) is ${layout.size}, expected ${PACKET_SIZE}`);
  for (const [field, offset] of Object.entries(OFFSETS)) {
    if (layout.offsets[field] !== offset)
      problems.push(`offsetof(qis_packet, ${field}) is ${layout.offsets[field]}, expected ${offset}`);
  }
  for (const [field, offset] of Object.entries(STAGE_LAYOUT)) {
    if (layout.stage?.[field] !== offset) problems.push(`staging record ${field} is ${layout.stage?.[field]}, expected ${offset}`);
  }
  if (!layout.littleEndian) problems.push("the addon reports a big-endian host");
  if (problems.length > 0)
    throw new QisError("ERR_NATIVE_LAYOUT", `native addon packet layout differs from docs/packet.md: ${problems.join("; ")}`);
}

interface Loaded {
  backend: CodecBackend | null;
  synth: NativeSynth | null;
  store: NativeStoreBinding | null;
  notify: NativeNotify | null;
  status: NativeStatus;
}

function load(): Loaded {
  const status: NativeStatus = { loaded: false, reason: "", crc: "", path: "" };
  if (process.env.QIS_EDGE_NO_NATIVE === "1") {
    status.reason = "disabled by QIS_EDGE_NO_NATIVE=1";
    return { backend: null, synth: null, store: null, notify: null, status };
  }
  const root = packageRoot();
  let addon: Addon;
  try {
    const require = createRequire(import.meta.url);
    const nodeGypBuild = require("node-gyp-build") as { (dir: string): unknown; resolve(dir: string): string };
    status.path = nodeGypBuild.resolve(root);
    addon = nodeGypBuild(root) as Addon;
  } catch (e) {
    status.reason = `not available (${(e as Error).message.split("\n")[0]}); run npm run build:native`;
    return { backend: null, synth: null, store: null, notify: null, status };
  }
  const layout = addon.layout();
  assertLayout(layout);
  status.loaded = true;
  status.crc = layout.hwCrcName;
  const backend: CodecBackend = {
    name: "native",
    crc32c: addon.crc32c,
    murmur128: addon.murmur128,
    encode: addon.encode,
    seal: addon.seal,
    verify: addon.verify,
    verifyOne: addon.verifyOne,
    unpack: addon.unpack,
  };
  // An addon built before the synthesis or store path existed still serves the codec.
  const synth = layout.synth === undefined ? null : { layout: layout.synth, bind: addon.synthBind, run: addon.synthRun };
  const store = layout.store === undefined ? null : { layout: layout.store, bind: addon.storeBind, run: addon.storeRun };
  const notify = layout.notify === undefined ? null : { pathMax: layout.notify.pathMax, send: addon.sdNotify };
  return { backend, synth, store, notify, status };
}

const loaded = load();

/** The native backend, or null when the addon is absent or disabled. */
export const nativeBackend: CodecBackend | null = loaded.backend;
export const nativeStatus: Readonly<NativeStatus> = loaded.status;
/** The synthesis engine's C path, or null (src/synth/native.ts checks its layout). */
export const nativeSynth: NativeSynth | null = loaded.synth;
/** The store's C insert path, or null (src/store/native.ts checks its layout). */
export const nativeStore: NativeStoreBinding | null = loaded.store;
/** The systemd notify sender, or null (an addon absent, disabled or built before it existed). */
export const nativeNotify: NativeNotify | null = loaded.notify;

/**
 * Refuses an addon whose bound-state layout (native/<owner>.h: how many arrays, dims and regs
 * it binds) differs from the TypeScript owner's (`owner`: "synth" or "store").
 */
export function assertBoundLayout(owner: string, layout: BoundLayout, expected: BoundLayout): void {
  if (layout.arrays !== expected.arrays || layout.dims !== expected.dims || layout.regs !== expected.regs)
    throw new QisError(
      "ERR_NATIVE_LAYOUT",
      `native addon ${owner} layout differs from src/${owner}/native.ts: ${layout.arrays}/${layout.dims}/${layout.regs} arrays/dims/regs, expected ${expected.arrays}/${expected.dims}/${expected.regs}`,
    );
}

/**
 * Where two owners' bound states first differ, or undefined when they are equal to the bit:
 * the arrays byte for byte, then the first `regs` entries (`header` names the C header whose
 * enums number them). How a C path is compared with its TypeScript one.
 */
export function boundDifference(
  header: string,
  ax: readonly ArrayBufferView[], ay: readonly ArrayBufferView[],
  rx: Float64Array, ry: Float64Array, regs: number,
): string | undefined {
  for (let k = 0; k < ax.length; k++) {
    const bx = new Uint8Array(ax[k]!.buffer, ax[k]!.byteOffset, ax[k]!.byteLength);
    const by = new Uint8Array(ay[k]!.buffer, ay[k]!.byteOffset, ay[k]!.byteLength);
    if (Buffer.compare(bx, by) === 0) continue;
    let i = 0;
    while (bx[i] === by[i]) i++;
    return `bound array ${k} (${header}, the arrays' enum) differs first at byte ${i}`;
  }
  for (let i = 0; i < regs; i++)
    if (!Object.is(rx[i], ry[i])) return `scalar ${i} (${header}, the regs' enum) is ${rx[i]} against ${ry[i]}`;
  return undefined;
}

/**
 * Invalid UTF-8 in a request, found and named. Node's decoders replace a bad sequence with
 * U+FFFD without a word (and cbor-x sometimes swallows the bytes after it), so `hv\xedac`
 * became the domain "hv\uFFFDac" and then the address qis.hv-ac. Requests are checked before
 * they are parsed, and the problem is reported with the JSON pointer of the field holding the
 * bad bytes, the same in both framings (docs/stdio.md, "Text fields"). Only the error path
 * does more than one scan.
 */
import { invalidUtf8At } from "../packet/utf8.js";

export interface InvalidUtf8 {
  /** offset of the first bad byte from the start of the line or frame */
  offset: number;
  /** that byte */
  byte: number;
  /** JSON pointer of the member (or element) holding it, when the message parses ("" = the whole) */
  path: string | undefined;
  /** the bad bytes are in the member's key, not its value */
  inKey: boolean;
}

/** JSON pointer escaping of one key (RFC 6901). */
function segment(key: string): string {
  return `/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

const hexByte = (b: number): string => `0x${b.toString(16).padStart(2, "0")}`;

/** One line for a reason, e.g. `invalid UTF-8 at byte 14 (0xed), in /domain`. */
export function describeInvalidUtf8(p: InvalidUtf8, where: string): string {
  const field = p.path === undefined ? "" : `, in ${p.inKey ? "a key at " : ""}${p.path || "/"}`;
  return `invalid UTF-8 at byte ${p.offset} of the ${where} (${hexByte(p.byte)})${field}`;
}

/** The problem entry for it, when a field is known. */
export function invalidUtf8Problem(p: InvalidUtf8, where: string): { path: string; message: string }[] | undefined {
  if (p.path === undefined) return undefined;
  return [{ path: p.path, message: `${p.inKey ? "has a key that is" : "is"} not valid UTF-8 (byte ${hexByte(p.byte)} at offset ${p.offset} of the ${where})` }];
}

// ---------------------------------------------------------------------------------------------
// JSON

/**
 * `buf[start, end)` decoded with every byte of a bad sequence as U+DC80..U+DCFF (the
 * "surrogateescape" of Python): valid UTF-8 never decodes to a lone surrogate, so the strings
 * holding one are the ones the bad bytes were in.
 */
function decodeEscaped(buf: Uint8Array, start: number, end: number): string {
  let out = "";
  let at = start;
  while (at < end) {
    const bad = invalidUtf8At(buf, at, end - at);
    if (bad < 0) {
      out += Buffer.from(buf.buffer, buf.byteOffset + at, end - at).toString("utf8");
      break;
    }
    out += Buffer.from(buf.buffer, buf.byteOffset + at, bad - at).toString("utf8");
    out += String.fromCharCode(0xdc00 | buf[bad]!);
    at = bad + 1;
  }
  return out;
}

function hasEscapedByte(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff && !(i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff)) return true;
  }
  return false;
}

const readable = (key: string): string => key.replace(/[\udc80-\udcff]/g, "\ufffd");

/** [path, inKey] of the first string (key or value) holding an escaped byte, or undefined. */
function findEscaped(v: unknown, path: string): [string, boolean] | undefined {
  if (typeof v === "string") return hasEscapedByte(v) ? [path, false] : undefined;
  if (typeof v !== "object" || v === null) return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = findEscaped(v[i], `${path}/${i}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(v)) {
    const at = path + segment(readable(key));
    if (hasEscapedByte(key)) return [at, true];
    const found = findEscaped((v as Record<string, unknown>)[key], at);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The first invalid UTF-8 in the JSON text `buf[start, end)`, or null when it is all well-formed. */
export function findInvalidUtf8Json(buf: Uint8Array, start: number, end: number): InvalidUtf8 | null {
  const bad = invalidUtf8At(buf, start, end - start);
  if (bad < 0) return null;
  let path: string | undefined;
  let inKey = false;
  try {
    const found = findEscaped(JSON.parse(decodeEscaped(buf, start, end)), "");
    if (found !== undefined) [path, inKey] = found;
  } catch {
    // not JSON either: the byte offset is all there is to say
  }
  return { offset: bad - start, byte: buf[bad]!, path, inKey };
}

// ---------------------------------------------------------------------------------------------
// CBOR

/** Nesting deeper than this is left to cbor-x (which refuses it or decodes it). */
const MAX_DEPTH = 64;
const MALFORMED = -2;

let cb: Uint8Array = new Uint8Array(0);
let cp = 0;
let cend = 0;
let found: InvalidUtf8 | null = null;
let frameStart = 0;

/** The argument of the head at cp (advanced past it), -1 for indefinite, MALFORMED otherwise. */
function head(info: number): number {
  if (info < 24) return info;
  let n = 0;
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : info === 31 ? 0 : -1;
  if (size < 0) return MALFORMED;
  if (size === 0) return -1;
  if (cp + size > cend) return MALFORMED;
  for (let k = 0; k < size; k++) n = n * 256 + cb[cp + k]!;
  cp += size;
  return Number.isSafeInteger(n) ? n : MALFORMED;
}

/** Checks text bytes [cp, cp + n); false when the frame ends first. */
function text(n: number, path: string, inKey: boolean): boolean {
  if (n > cend - cp) return false;
  const bad = invalidUtf8At(cb, cp, n);
  if (bad >= 0 && found === null) found = { offset: bad - frameStart, byte: cb[bad]!, path, inKey };
  cp += n;
  return true;
}

/**
 * Walks one item at cp. Returns the item's text when it is a well-formed text string (a map
 * key then names its member), "" for anything else, or null when the frame is malformed.
 */
function item(path: string, inKey: boolean, depth: number): string | null {
  if (cp >= cend || depth > MAX_DEPTH) return null;
  const initial = cb[cp++]!;
  const major = initial >> 5;
  const n = head(initial & 31);
  if (n === MALFORMED) return null;
  switch (major) {
    case 0:
    case 1:
      return n < 0 ? null : String(major === 0 ? n : -1 - n);
    case 2:
    case 3: {
      if (n >= 0) {
        if (major === 2) {
          if (n > cend - cp) return null;
          cp += n;
          return "";
        }
        const from = cp;
        const before = found;
        if (!text(n, path, inKey)) return null;
        return found === before ? Buffer.from(cb.buffer, cb.byteOffset + from, n).toString("utf8") : "";
      }
      // indefinite length: definite chunks of the same major type until a break
      for (;;) {
        if (cp >= cend) return null;
        if (cb[cp] === 0xff) {
          cp++;
          return "";
        }
        const chunk = cb[cp++]!;
        const m = head(chunk & 31);
        if (chunk >> 5 !== major || m < 0) return null;
        if (major === 3 ? !text(m, path, inKey) : m > cend - cp) return null;
        if (major === 2) cp += m;
      }
    }
    case 4:
      for (let i = 0; n < 0 || i < n; i++) {
        if (n < 0 && cp < cend && cb[cp] === 0xff) {
          cp++;
          return "";
        }
        if (item(`${path}/${i}`, false, depth + 1) === null) return null;
      }
      return "";
    case 5:
      for (let i = 0; n < 0 || i < n; i++) {
        if (n < 0 && cp < cend && cb[cp] === 0xff) {
          cp++;
          return "";
        }
        const keyAt = cp;
        const key = item(path, true, depth + 1);
        if (key === null) return null;
        // a key with bad bytes was reported under the map's path: name its member instead
        if (found !== null && found.inKey && found.path === path && found.offset >= keyAt - frameStart)
          found = { ...found, path: path + segment(readableUtf8(keyAt)) };
        if (item(path + segment(key), false, depth + 1) === null) return null;
      }
      return "";
    case 6:
      return n < 0 ? null : item(path, inKey, depth + 1) === null ? null : "";
    default:
      // simple values and floats: the head carried them; a break outside an indefinite item is malformed
      return (initial & 31) === 31 ? null : "";
  }
}

/** A text key at `at` decoded with replacement characters, for naming its member. */
function readableUtf8(at: number): string {
  const initial = cb[at]!;
  if (initial >> 5 !== 3) return "";
  const save = cp;
  cp = at + 1;
  const n = head(initial & 31);
  const s = n >= 0 && n <= cend - cp ? Buffer.from(cb.buffer, cb.byteOffset + cp, n).toString("utf8") : "";
  cp = save;
  return s;
}

/**
 * The first text string with invalid UTF-8 in the CBOR item `buf[start, end)` (RFC 8949 makes
 * such a string invalid CBOR), or null. A malformed frame returns whatever was found before the
 * malformation, else null, and is left to the decoder to refuse.
 */
export function findInvalidUtf8Cbor(buf: Uint8Array, start: number, end: number): InvalidUtf8 | null {
  cb = buf;
  cp = start;
  cend = end;
  frameStart = start;
  found = null;
  try {
    item("", false, 0);
    return found;
  } finally {
    cb = new Uint8Array(0);
    found = null;
  }
}

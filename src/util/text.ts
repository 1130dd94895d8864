/**
 * What free text from a caller may hold (docs/address.md, "Control characters"): no control
 * character (Unicode category Cc: C0 U+0000..U+001F, DEL U+007F, C1 U+0080..U+009F) and no lone
 * UTF-16 surrogate, which has no UTF-8 form. A NUL or an escape sequence in a name is a caller's
 * bug (a C string cut short, a line read with its newline, bytes decoded with the wrong charset)
 * and must be surfaced, not folded into a separator. Free prose (a conclusion) may also hold
 * tab, line feed and carriage return.
 */

/** Code units worth a closer look: every control character and every surrogate (paired ones included). */
const SUSPECT = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;

/** Which whitespace controls a text may hold: none (identifiers) or tab, LF and CR (prose). */
export type TextKind = "identifier" | "prose";

export interface TextFault {
  /** index (UTF-16 unit) of the first bad character */
  index: number;
  /** "control" for a control character, "surrogate" for a lone surrogate */
  kind: "control" | "surrogate";
  /** e.g. "the control character U+0000 at index 2" */
  what: string;
}

function hex4(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The first control character or lone surrogate in `s` (see above), or null. Cheap when there is none. */
export function findTextFault(s: string, kind: TextKind): TextFault | null {
  if (!SUSPECT.test(s)) return null;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) {
      if (kind === "prose" && (c === 0x09 || c === 0x0a || c === 0x0d)) continue;
      return { index: i, kind: "control", what: `the control character ${hex4(c)} at index ${i}` };
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return { index: i, kind: "surrogate", what: `a lone UTF-16 surrogate ${hex4(c)} at index ${i} (not Unicode text: it has no UTF-8 form)` };
    }
  }
  return null;
}

/** The rule a TextKind follows, for messages. */
export function textRule(kind: TextKind): string {
  return kind === "identifier"
    ? "no control characters (U+0000..U+001F, U+007F..U+009F) in an identifier"
    : "no control characters but tab, line feed and carriage return";
}

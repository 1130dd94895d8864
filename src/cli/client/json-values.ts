/**
 * Splits a stream of text into top-level JSON values, as they complete: newline-delimited
 * objects, objects spread over several lines, arrays, or a mix, so that `qis-edge observe`
 * reads a one-off file and an endless sensor pipe alike and sends each observation as soon as
 * its closing brace arrives. Only brackets outside strings are counted; each value's text is
 * then parsed by JSON.parse. Text between values that is not whitespace is reported and skipped
 * to the end of its line.
 */
export type JsonPiece = { ok: true; value: unknown; line: number } | { ok: false; reason: string; line: number };

export class JsonValueSplitter {
  readonly #max: number;
  #text = "";
  #depth = 0;
  #inString = false;
  #escape = false;
  /** the line (from 1) where the current value started, and the line being read */
  #start = 1;
  #line = 1;
  #skipping = false;

  /** `maxValueBytes`: a longer value is reported and skipped (memory stays bounded). */
  constructor(maxValueBytes: number) {
    this.#max = maxValueBytes;
  }

  push(chunk: string, out: JsonPiece[]): void {
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      if (ch === "\n") this.#line++;
      if (this.#skipping) {
        if (ch === "\n") this.#skipping = false;
        continue;
      }
      if (this.#depth === 0) {
        if (ch === "{" || ch === "[") {
          this.#depth = 1;
          this.#text = ch;
          this.#start = this.#line;
        } else if (ch !== " " && ch !== "\t" && ch !== "\r" && ch !== "\n") {
          out.push({ ok: false, reason: `expected a JSON object or array, found ${JSON.stringify(ch)}`, line: this.#line });
          this.#skipping = true;
        }
        continue;
      }
      this.#text += ch;
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (ch === "\\") this.#escape = true;
        else if (ch === '"') this.#inString = false;
      } else if (ch === '"') this.#inString = true;
      else if (ch === "{" || ch === "[") this.#depth++;
      else if (ch === "}" || ch === "]") {
        if (--this.#depth === 0) this.#complete(out);
      }
      if (this.#depth > 0 && this.#text.length > this.#max) {
        out.push({ ok: false, reason: `a JSON value longer than ${this.#max} bytes`, line: this.#start });
        this.#reset();
        this.#skipping = ch !== "\n";
      }
    }
  }

  /** The input ended: a value still open is reported. */
  end(out: JsonPiece[]): void {
    if (this.#depth > 0) out.push({ ok: false, reason: "the input ended inside a JSON value", line: this.#start });
    this.#reset();
  }

  #complete(out: JsonPiece[]): void {
    const text = this.#text;
    const line = this.#start;
    this.#reset();
    try {
      out.push({ ok: true, value: JSON.parse(text), line });
    } catch (e) {
      out.push({ ok: false, reason: `not JSON: ${(e as Error).message}`, line });
    }
  }

  #reset(): void {
    this.#text = "";
    this.#depth = 0;
    this.#inString = false;
    this.#escape = false;
  }
}

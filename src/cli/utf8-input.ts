/**
 * JSON input read as bytes (a file or stdin) must be UTF-8: Node's decoder would put U+FFFD for
 * bad bytes without a word, and `"domain": "hv\xedac"` would become the address qis.hv-ac.
 */
import { ObservationError } from "../agent/observation.js";
import { UsageError } from "../errors.js";
import { describeInvalidUtf8, findInvalidUtf8Json, invalidUtf8Problem } from "../stdio/utf8-locate.js";

/**
 * Throws unless `input` is well-formed UTF-8: an ObservationError naming the field that holds
 * the bad bytes (`/domain is not valid UTF-8 (byte 0xed at offset 13 of the input)`), or a
 * UsageError with the byte offset when they are outside any field.
 */
export function assertUtf8Observation(input: Buffer): void {
  const invalid = findInvalidUtf8Json(input, 0, input.length);
  if (invalid === null) return;
  const problems = invalidUtf8Problem(invalid, "input");
  if (problems !== undefined) throw new ObservationError(problems);
  throw new UsageError(`input is not UTF-8 text: ${describeInvalidUtf8(invalid, "input")}`);
}

import { AddressError } from "../../src/address/index.js";
import { catchError } from "../catch-error.js";

/** Runs `fn`, asserts it threw an AddressError and returns it for field-by-field assertions. */
export const catchAddressError = (fn: () => unknown): AddressError => catchError(fn, AddressError);

/** The fields a test compares: code, input, token and tokenIndex (absent ones stay absent). */
export function errorFields(error: AddressError): Record<string, unknown> {
  const fields: Record<string, unknown> = { code: error.code, input: error.input };
  if ("token" in error) fields["token"] = error.token;
  if ("tokenIndex" in error) fields["tokenIndex"] = error.tokenIndex;
  return fields;
}

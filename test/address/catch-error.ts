import { expect } from "vitest";
import { AddressError } from "../../src/address/index.js";

/** Runs `fn`, asserts it threw an AddressError and returns it for field-by-field assertions. */
export function catchAddressError(fn: () => unknown): AddressError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AddressError);
    return error as AddressError;
  }
  throw new Error("expected an AddressError, but nothing was thrown");
}

/** The fields a test compares: code, input, token and tokenIndex (absent ones stay absent). */
export function errorFields(error: AddressError): Record<string, unknown> {
  const fields: Record<string, unknown> = { code: error.code, input: error.input };
  if ("token" in error) fields["token"] = error.token;
  if ("tokenIndex" in error) fields["tokenIndex"] = error.tokenIndex;
  return fields;
}

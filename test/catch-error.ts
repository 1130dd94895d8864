import { expect } from "vitest";

/**
 * Runs `fn`, asserts it threw an instance of `type` and returns it for field-by-field
 * assertions. Fails when nothing was thrown. Shared by every suite's named wrapper.
 */
export function catchError<T extends Error>(fn: () => unknown, type: abstract new (...args: never[]) => T): T {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as T;
  }
  throw new Error(`expected a ${type.name}, but nothing was thrown`);
}

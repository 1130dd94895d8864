import { QisError } from "../errors.js";

/**
 * Every code a `StoreError` carries. Stable: callers and tests branch on them (docs/store.md
 * "Errors"). A bad query pattern is not a store error: it is the address module's
 * `AddressError`, passed through unchanged.
 */
export const StoreErrorCode = {
  /** `capacity` is not an integer in 1..MAX_CAPACITY. */
  CAPACITY: "ERR_STORE_CAPACITY",
  /** The store file cannot be opened, is not a store file, is damaged beyond its records, or was made for another capacity. */
  FILE: "ERR_STORE_FILE",
  /** Writing or syncing the store file failed after it was opened (disk full, I/O error). */
  IO: "ERR_STORE_IO",
  /** The store was closed. */
  CLOSED: "ERR_STORE_CLOSED",
  /** An argument has the wrong type or range (buffer, offset, count, since, limit, option). */
  ARGUMENT: "ERR_STORE_ARGUMENT",
  /** A query visitor tried to change the store (insert, sweep, close) while the query runs. */
  BUSY: "ERR_STORE_BUSY",
} as const;

export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export interface StoreErrorDetail {
  /** the store file, for file errors */
  path?: string | undefined;
  /** a short machine-friendly reason for file errors, e.g. "capacity-mismatch" */
  reason?: StoreFileProblem | undefined;
  cause?: unknown;
}

/** Why a store file was refused (`StoreError.reason` with code ERR_STORE_FILE). */
export type StoreFileProblem =
  | "open-failed"
  | "read-failed"
  | "not-a-file"
  | "truncated-header"
  | "bad-magic"
  | "header-crc"
  | "unsupported-version"
  | "record-size"
  | "capacity-mismatch"
  | "init-failed";

export class StoreError extends QisError {
  declare readonly code: StoreErrorCode;
  readonly path: string | undefined;
  readonly reason: StoreFileProblem | undefined;

  constructor(code: StoreErrorCode, message: string, detail: StoreErrorDetail = {}) {
    super(code, message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.path = detail.path;
    this.reason = detail.reason;
  }
}

/**
 * The base of every error qis-edge throws on purpose. `code` is stable and is what callers and
 * tests branch on; the message is for people and may change. `cause` carries the lower-level
 * error when there is one.
 */
export class QisError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A command-line usage or input problem: the CLI prints it as one line and exits 2. */
export class UsageError extends QisError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_USAGE", message, options);
  }
}

/**
 * Why an agent could not start, said so that an operator can act on it: which config key's
 * endpoint could not be bound, with the system's reason (EADDRINUSE, EACCES, ...).
 */
import { QisError } from "../errors.js";

export class AgentStartError extends QisError {
  /** the config key whose endpoint failed, e.g. "pub.bind", "legacy.rep" */
  readonly where: string;
  readonly endpoint: string;

  constructor(where: string, endpoint: string, cause: unknown) {
    super("ERR_AGENT_START", `agent could not start: cannot bind ${where} ${endpoint}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.where = where;
    this.endpoint = endpoint;
  }
}

/** Runs `open` (a bind of `endpoint`), naming `where` in the error when it fails. */
export async function binding<T>(where: string, endpoint: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    throw new AgentStartError(where, endpoint, err);
  }
}

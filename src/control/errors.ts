/** Errors of the control socket, on the agent's side and the client's (docs/operations.md, "Control socket"). */
import { QisError } from "../errors.js";

export const ControlErrorCode = {
  /** control.path cannot be a socket: too long for sun_path, a file that is not a socket, a directory that is missing */
  PATH: "ERR_CONTROL_PATH",
  /** another live agent answers on control.path */
  IN_USE: "ERR_CONTROL_IN_USE",
  /** control.maxClients clients are connected already (sent to the refused client, then closed) */
  BUSY: "ERR_CONTROL_BUSY",
  /** a client: no agent answers on the path (no socket, or a stale one) */
  NO_AGENT: "ERR_NO_AGENT",
  /** a client: the socket exists but this user may not connect (it is mode 0600: the agent's user only) */
  ACCESS: "ERR_CONTROL_ACCESS",
  /** a client: the agent closed the connection, or spoke something other than the protocol */
  LOST: "ERR_CONTROL_LOST",
} as const;

export class ControlError extends QisError {
  /** the config key at fault, for run's fatal line */
  readonly where = "control.path";
  /** the socket's path */
  readonly file: string;

  constructor(code: string, file: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.file = file;
  }
}

/** sun_path holds 108 bytes on Linux, its NUL included. */
export const MAX_SOCKET_PATH_BYTES = 107;

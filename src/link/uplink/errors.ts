/**
 * Errors of the uplinks (docs/uplink.md). Each `code` is stable: tests, supervisors reading the
 * stdio "error" events and log processors branch on it.
 *
 *   ERR_OUTBOX_FILE      the outbox file cannot be opened, is not an outbox file or has another capacity
 *   ERR_OUTBOX_IO        a write or fdatasync of the outbox failed (the packets were not accepted)
 *   ERR_UPLINK_AUTH      the broker refused our credentials (retries continue)
 *   ERR_UPLINK_CONNECT   the broker cannot be reached or closed the connection (retries continue)
 *   ERR_UPLINK_TLS       a TLS file (ca, cert, key) cannot be read
 *   ERR_UPLINK_CREDENTIALS  a password file or environment variable is missing or empty
 *   ERR_UPLINK_PAYLOAD   a message that came down is not whole valid packets of its topic's address (dropped)
 *   ERR_UPLINK_PUBLISH   the broker or the client refused a publish (the packets stay in the outbox)
 *   ERR_UPLINK_STREAM    NATS: the JetStream stream or a consumer differs from the config, or cannot be created or updated
 */
import { QisError } from "../../errors.js";

export type UplinkErrorCode =
  | "ERR_OUTBOX_FILE"
  | "ERR_OUTBOX_IO"
  | "ERR_UPLINK_AUTH"
  | "ERR_UPLINK_CONNECT"
  | "ERR_UPLINK_TLS"
  | "ERR_UPLINK_CREDENTIALS"
  | "ERR_UPLINK_PAYLOAD"
  | "ERR_UPLINK_PUBLISH"
  | "ERR_UPLINK_STREAM";

export class UplinkError extends QisError {
  declare readonly code: UplinkErrorCode;
  /** the uplink's name ("mqtt") */
  readonly uplink: string;
  constructor(code: UplinkErrorCode, uplink: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.uplink = uplink;
  }
}

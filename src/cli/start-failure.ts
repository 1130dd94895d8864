/**
 * `run`'s start failure: one JSON line at level "fatal" on stderr (the stream the logs use),
 * with the error's stable code, which config key failed (`where`) and its endpoint or file.
 */
import { join } from "node:path";
import type { AgentConfig } from "../agent/config.js";
import { fatalLine } from "../agent/log.js";
import type { QisError } from "../errors.js";

/** `where` and `endpoint`/`file` of a start failure, from the error and the config it ran with. */
export function startFailureFields(err: QisError, config: AgentConfig): Record<string, unknown> {
  const e = err as QisError & { where?: unknown; endpoint?: unknown; path?: unknown; file?: unknown };
  const fields: Record<string, unknown> = { code: err.code };
  if (typeof e.where === "string") {
    fields.where = e.where;
    if (typeof e.endpoint === "string") fields.endpoint = e.endpoint;
    else if (typeof e.file === "string") fields.file = e.file;
  } else if (err.code === "ERR_STORE_FILE" || err.code === "ERR_STORE_IO") {
    fields.where = "store.file";
    fields.file = typeof e.path === "string" ? e.path : config.store.file;
  } else if (err.code === "ERR_NODE_ID") {
    fields.where = "stateDir";
    fields.file = join(config.stateDir, "node-id");
  } else if (err.code === "ERR_STATE_LOCKED" || err.code === "ERR_STATE_DIR") {
    fields.where = "stateDir";
    fields.file = config.stateDir;
  }
  const cause = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  if (typeof cause === "string") fields.cause = cause;
  fields.reason = err.message;
  return fields;
}

export function writeStartFailure(err: QisError, config: AgentConfig, stderr: NodeJS.WritableStream): void {
  if (config.log.level === "silent") return;
  stderr.write(fatalLine("start failed", startFailureFields(err, config)));
}

import { QisError } from "../errors.js";
import type { CommandContext } from "./main.js";

export const selftestHelp = "Usage: qis-edge selftest\n";

/** Placeholder until issue 6 lands: fails loudly rather than passing. */
export async function selftest(_argv: string[], _ctx: CommandContext): Promise<number> {
  throw new QisError("ERR_NOT_IMPLEMENTED", "selftest is not implemented yet");
}

/**
 * Whether this agent signs or verifies packets (docs/security.md, "Signed packets"), and if so
 * the PacketSecurity doing it. src/security/ and node:crypto are imported only then: an agent
 * without any of these keys does not load them (idle memory).
 */
import type { AgentConfig } from "./config.js";
import type { Logger } from "./log.js";
import type { QisError } from "../errors.js";
import type { PacketSecurity } from "../security/packet-security.js";

export function signaturesConfigured(s: AgentConfig["security"]): boolean {
  return s.signing.keyFile !== null || s.trust.keys.length > 0 || s.trust.file !== null || s.requireSigned.length > 0 || s.alertsRequireSigned;
}

export async function openSignatures(
  config: AgentConfig,
  o: { nodeId: Buffer; logger: Logger; maxBatch: number; onError(err: QisError, source: string): void },
): Promise<PacketSecurity | null> {
  if (!signaturesConfigured(config.security)) return null;
  const { PacketSecurity } = await import("../security/index.js");
  return new PacketSecurity(config.security, o);
}

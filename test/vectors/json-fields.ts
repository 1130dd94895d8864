/** PacketFields <-> JSON for the vector files: byte fields as hex strings. */
import type { PacketFields } from "../../src/packet/index.js";

export type FieldsJson = Record<string, unknown>;

const BYTE_FIELDS = ["nodeId", "contextHash", "keyId", "signature"] as const;

export function fieldsToJson(f: PacketFields): FieldsJson {
  const out: FieldsJson = { ...f };
  for (const k of BYTE_FIELDS) {
    const v = f[k];
    if (v !== undefined) out[k] = Buffer.from(v).toString("hex");
  }
  if (f.context !== undefined) out.context = Array.from(f.context);
  return out;
}

export function fieldsFromJson(j: FieldsJson): PacketFields {
  const out = { ...j } as Record<string, unknown>;
  for (const k of BYTE_FIELDS) {
    const v = j[k];
    if (typeof v === "string") out[k] = Buffer.from(v, "hex");
  }
  return out as unknown as PacketFields;
}

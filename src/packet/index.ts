export type { CodecBackend } from "./backend.js";
export { backends, codec, codecInfo, PacketCodec, verdictError, type CodecOps } from "./codec.js";
export { PacketError, Verdict, VERDICT_CODES, verdictCode, type PacketErrorCode, type VerdictCode } from "./errors.js";
export * from "./layout.js";
export { nativeStatus, type NativeStatus } from "./native.js";
export { PacketView, readPacket } from "./read.js";
export type { Packet, PacketFields } from "./types.js";
export { packetToJson, type PacketJson } from "./json.js";

/**
 * The codec backends every packet suite runs against. The native one is required when
 * QIS_EDGE_REQUIRE_NATIVE=1 (set by .ci/run, where a compiler exists): a missing addon then
 * fails the run instead of silently testing the fallback twice.
 */
import { backends, nativeStatus, PacketCodec, type CodecBackend } from "../../src/packet/index.js";

if (process.env.QIS_EDGE_REQUIRE_NATIVE === "1" && backends.native === null) {
  throw new Error(`QIS_EDGE_REQUIRE_NATIVE=1 but the native addon is not loaded: ${nativeStatus.reason}`);
}
if (backends.native === null) {
  console.warn(`[qis-edge tests] native addon not loaded (${nativeStatus.reason}): native suites are skipped`);
}

export const available: CodecBackend[] = backends.native === null ? [backends.fallback] : [backends.native, backends.fallback];

export const suites: [string, PacketCodec][] = available.map((b) => [b.name, PacketCodec.using(b)]);

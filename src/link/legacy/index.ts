/** Links to the reference Python ZeroMQ nodes ("codec": "legacy" peers; docs/legacy.md). */
export {
  DEFAULT_LEGACY_TTL_S,
  decodeLegacy,
  encodeLegacy,
  LEGACY_STRUCT_SIZE,
  LegacyError,
  LegacyErrorCode,
  legacyCount,
  legacyPrefixes,
  legacyTopicFor,
  MAX_LEGACY_TEXT,
} from "./codec.js";
export { LegacyPublisher, type LegacyPublisherOptions } from "./publisher.js";
export { LegacyStoreServer, MAX_LEGACY_REQUEST, pythonFloat, type LegacyStoreServerOptions } from "./store-server.js";
export { LegacySubscriber, type LegacySubscriberOptions } from "./subscriber.js";

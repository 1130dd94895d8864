/** Semantic addresses: building, validating, bucket tokens and pattern matching (docs/address.md). */
export { AddressError, AddressErrorCode, type AddressErrorDetails } from "./errors.js";
export { MAX_ADDRESS_BYTES, MAX_DEPTH, MAX_TOKEN_BYTES, MIN_DEPTH, ROOT_TOKEN } from "./grammar.js";
export { normalizeToken } from "./normalize.js";
export { buildAddress, isValidAddress, MAX_EXTRA_TOKENS, parseAddress } from "./address.js";
export { bucketToken, bucketTokenToLegacy, legacyBucket, legacyToBucketToken } from "./bucket.js";
export { compilePattern, type AddressPattern } from "./pattern.js";
export { addressToMqttTopic, mqttTopicToAddress } from "./mqtt.js";

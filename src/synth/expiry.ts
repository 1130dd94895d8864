/**
 * The engine's expiry order (docs/synth.md, "Expiry"): the ExpiryQueue shared with the packet
 * store, in src/util/expiry.ts.
 */
export { ExpiryQueue, MAX_WALK, QUEUES } from "../util/expiry.js";

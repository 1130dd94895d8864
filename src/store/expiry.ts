/**
 * The 4-ary expiry heap, shared with the synthesis engine (src/util/heap.ts). The store itself
 * keeps its expiry order in an ExpiryQueue (src/util/expiry.ts: per-ttl sorted lists, this heap
 * for the out-of-order rest).
 */
export { ExpiryHeap } from "../util/heap.js";

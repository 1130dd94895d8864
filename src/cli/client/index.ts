/**
 * The client commands of a running agent's control socket (docs/operations.md, "Control
 * socket"): observe, watch, query, stats, peers. In the bundle they are one sidecar
 * (qis-edge-client.cjs, scripts/bundle.js SIDECARS), loaded only when one of them runs; its
 * exports are `export const`s because that is what the bundle reads a sidecar's names from.
 */
import * as o from "./observe.js";
import * as r from "./read.js";
import * as w from "./watch.js";

export const observe = o.observe;
export const observeHelp = o.observeHelp;
export const watch = w.watch;
export const watchHelp = w.watchHelp;
export const query = r.query;
export const queryHelp = r.queryHelp;
export const stats = r.stats;
export const statsHelp = r.statsHelp;
export const peers = r.peers;
export const peersHelp = r.peersHelp;

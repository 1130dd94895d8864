/**
 * The synthesis engine's defaults, apart from its config checks (src/synth/config.ts): the agent's
 * config defaults (and the vendored config schema, scripts/bundle.js) need only these numbers.
 */
export const DEFAULTS = {
  maxAddresses: 1024,
  maxContributions: 16_384,
  maxNodes: 4096,
  maxNodesPerAddress: 32,
  maxHops: 3,
  alertThreshold: 0.6,
  confidenceScale: 10,
  minDelta: 0.05,
  minIntervalMs: 1000,
  minContributors: 2,
  ttlS: 3600,
  seqStart: 0,
} as const;

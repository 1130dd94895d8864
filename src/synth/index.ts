/** Local synthesis: per-address estimates, per-domain consensus, synthesized packets (docs/synth.md). */
export { MIN_WEIGHT, SIGN_EPSILON, SynthEngine } from "./engine.js";
export { DEFAULTS as SYNTH_DEFAULTS, type SynthConfig, type ResolvedConfig as ResolvedSynthConfig } from "./config.js";
export { SynthError, SynthErrorCode, type SynthErrorDetail } from "./errors.js";
export { LIVE_SYNTH_KEYS, type SynthThresholds } from "./retune.js";
export {
  AddOutcome,
  type AddressEstimate,
  type ClassEstimate,
  type DomainConsensus,
  type SynthCounters,
  type SynthPacket,
  type SynthSnapshot,
} from "./types.js";

/**
 * The engine settings that can change while it runs (a SIGHUP reload, docs/operations.md):
 * thresholds read at each emission or read, as opposed to the sizes its tables were allocated
 * with (maxAddresses, maxContributions, maxNodes, maxNodesPerAddress) and maxHops, which the
 * native path is bound with.
 */
import type { ResolvedConfig } from "./config.js";
import { describeValue, SynthError, SynthErrorCode } from "./errors.js";

export interface SynthThresholds {
  alertThreshold: number;
  confidenceScale: number;
  minDelta: number;
  minIntervalMs: number;
  minContributors: number;
  ttlS: number;
}

export const LIVE_SYNTH_KEYS: readonly (keyof SynthThresholds)[] = ["alertThreshold", "confidenceScale", "minDelta", "minIntervalMs", "minContributors", "ttlS"];

/** The same bounds as resolveConfig's; throws ERR_SYNTH_CONFIG naming the key. */
export function checkThresholds(t: SynthThresholds, config: Pick<ResolvedConfig, "maxNodesPerAddress">): SynthThresholds {
  const fail = (key: string, expected: string, v: unknown): never => {
    const found = describeValue(v);
    throw new SynthError(SynthErrorCode.CONFIG, `config.${key}: expected ${expected}, found ${found}`, { key, expected, found });
  };
  const real = (key: keyof SynthThresholds, ok: (v: number) => boolean, expected: string): void => {
    const v = t[key];
    if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) fail(key, expected, v);
  };
  real("alertThreshold", (v) => v >= 0 && v <= 1, "a finite number in 0..1");
  real("confidenceScale", (v) => v > 0, "a finite number greater than 0");
  real("minDelta", (v) => v >= 0 && v <= 2, "a finite number in 0..2");
  real("minIntervalMs", (v) => v >= 0, "a finite number of ms, at least 0");
  const per = config.maxNodesPerAddress;
  real("minContributors", (v) => Number.isInteger(v) && v >= 1 && v <= per, `an integer in 1..${per}`);
  real("ttlS", (v) => Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff, "an integer in 0..4294967295");
  const out = {} as SynthThresholds;
  for (const k of LIVE_SYNTH_KEYS) out[k] = t[k];
  return out;
}

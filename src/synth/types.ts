/** Public shapes of the synthesis engine (docs/synth.md). */
import type { PacketFields } from "../packet/index.js";

/** The fields of a synthesized packet: what `onEmit` receives and what `drain` encodes. */
export interface SynthPacket extends PacketFields {
  /** always FLAG_SYNTHESIZED */
  flags: number;
  /** 1 + the largest hop count among the address's live contributions; never above maxHops */
  hops: number;
}

/** What `add` did with a packet. Every value but ADDED leaves the estimates unchanged. */
export const AddOutcome = {
  /** counted (it may still have been dropped early at once if it expires first; see `droppedEarly`) */
  ADDED: 0,
  /** this node's own synthesized packet (never echoed back into its estimates) */
  SELF: 1,
  /** hops > maxHops */
  HOP_LIMIT: 2,
  /** already expired on arrival: timestamp_ms + ttl_s·1000 ≤ now */
  STALE: 3,
  /** a live contribution with the same node id and seq is already counted */
  DUPLICATE: 4,
  /** a synthesized packet from a node whose raw packets for this address are counted */
  SHADOWED: 5,
  /** a synthesized packet not newer than the one already counted from the same node for this address */
  OUTDATED: 6,
  /** a new address while maxAddresses addresses hold live contributions */
  ADDRESS_REFUSED: 7,
  /** the address does not follow the grammar (qis.<domain>.<problem-class>…) */
  ADDRESS_INVALID: 8,
  /** the address hash equals a known address's hash but the bytes differ (a MurmurHash3 collision) */
  ADDRESS_COLLISION: 9,
  /** a new node beyond maxNodesPerAddress for this address, or beyond maxNodes overall */
  NODE_REFUSED: 10,
} as const;

export type AddOutcome = (typeof AddOutcome)[keyof typeof AddOutcome];

/** The engine's counters (monotonic since construction). */
export interface SynthCounters {
  /** packets offered to add() */
  offered: number;
  /** contributions counted (AddOutcome.ADDED) */
  added: number;
  /** contributions removed at their expiry */
  expired: number;
  /** contributions removed before their expiry because maxContributions was reached */
  droppedEarly: number;
  /** own synthesized packets ignored */
  selfIgnored: number;
  /** emissions suppressed because the packet would have had hops > maxHops */
  hopLimited: number;
  /** packets refused because their hops > maxHops */
  hopRefused: number;
  /** packets refused because they had already expired on arrival */
  stale: number;
  /** packets refused as duplicates of a live contribution (same node id and seq) */
  duplicates: number;
  /** synthesized packets ignored because the sender's raw packets for the address are counted */
  shadowed: number;
  /** summaries removed or ignored because a newer summary, or raw evidence, from the same node replaced them */
  superseded: number;
  /** packets refused because maxAddresses was reached */
  addressesRefused: number;
  /** packets refused because their address breaks the grammar */
  addressesInvalid: number;
  /** packets refused because their address hash collides with another address */
  addressCollisions: number;
  /** packets refused because maxNodesPerAddress or maxNodes was reached */
  nodesRefused: number;
  /** synthesized packets produced (onEmit calls, or entries queued for drain) */
  emitted: number;
  /** queued emissions overwritten by a newer one for the same address before drain() (drain mode) */
  coalesced: number;
  /** queued emissions lost because the queue (maxAddresses entries) was full (drain mode) */
  queueOverflow: number;
}

/** The estimate of one address, from its live contributions. */
export interface AddressEstimate {
  address: string;
  domain: string;
  problemClass: string;
  /** Σ w·delta / Σ w; null while Σ w = 0 (no contribution, or only weightless ones) */
  estimate: number | null;
  /** Σ w */
  weight: number;
  /** live contributions (weightless ones included) */
  packets: number;
  /** live contributions that are synthesized packets (other nodes' summaries) */
  synthesized: number;
  /** Σ n_observations (exact; emitted packets saturate it at 2^32 − 1) */
  observations: number;
  /** distinct nodes with a live contribution */
  nodes: number;
  /** smallest and largest timestamp_ms among live contributions (null when none) */
  windowStartMs: number | null;
  windowEndMs: number | null;
  /** largest hop count among live contributions (null when none) */
  maxHops: number | null;
  /** weighted standard deviation σ of the deltas (null while Σ w = 0) */
  spread: number | null;
  /** the confidence a synthesized packet would carry now: (1 − exp(−W/k)) × (1 − σ); 0 while Σ w = 0 */
  confidence: number;
}

/** One problem class of a domain: every address qis.<domain>.<class>[.…] rolled up. */
export interface ClassEstimate {
  problemClass: string;
  /** Σ w·delta / Σ w over the class's addresses; null while Σ w = 0 */
  estimate: number | null;
  weight: number;
  packets: number;
  /** −1, 0 or +1 (0 also while the estimate is null) */
  sign: -1 | 0 | 1;
}

/** A domain's consensus over its problem classes (docs/synth.md, "Consensus"). */
export interface DomainConsensus {
  domain: string;
  /** sign of Σ_c W_c·e_c: −1, 0 or +1 (0 when |Σ W_c·e_c| / Σ W_c ≤ 1e-12, or Σ W_c = 0) */
  direction: -1 | 0 | 1;
  /** classes whose estimate has the sign `direction` (among the `decided` ones) */
  votes: number;
  /** classes with at least one live contribution */
  classes: number;
  /** classes with Σ w > 0 (an estimate) */
  decided: number;
  /** |Σ_c W_c·e_c| / Σ_c W_c in 0..1 (0 when Σ W_c = 0) */
  strength: number;
  /** strength > alertThreshold (strictly, by more than 1e-12), and Σ W_c > 0 */
  alert: boolean;
  /** Σ_c W_c·e_c / Σ_c W_c: the weighted estimate of the whole domain; null while Σ W_c = 0 */
  estimate: number | null;
  /** Σ_c W_c */
  weight: number;
  /** the classes with at least one live contribution, by name */
  perClass: ClassEstimate[];
}

export interface SynthSnapshot {
  /** the clock reading the snapshot was taken at (after a sweep) */
  atMs: number;
  /** live contributions / maxContributions */
  live: number;
  capacity: number;
  /** addresses with at least one live contribution, by address */
  addresses: AddressEstimate[];
  /** domains with at least one live contribution, by name */
  domains: DomainConsensus[];
  counters: SynthCounters;
}

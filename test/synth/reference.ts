/**
 * A deliberately straightforward reference of the synthesis engine's documented behaviour
 * (docs/synth.md): it keeps the list of live contributions and recomputes every estimate,
 * count, window and consensus from that list, with plain loops and no incremental state.
 * Only the emission bookkeeping (last emitted estimate and time, held-back addresses) is state,
 * because the rules are defined on it.
 */
import { parseAddress } from "../../src/address/index.js";
import { MIN_WEIGHT, SIGN_EPSILON } from "../../src/synth/index.js";

export interface RefPacket {
  address: string;
  /** node id as a number (tests map it to a 16-byte id); `own` is this node */
  node: number;
  seq: number;
  synth: boolean;
  hops: number;
  ts: number;
  ttlS: number;
  /** as stored in the packet (already f32-rounded) */
  delta: number;
  confidence: number;
  n: number;
}

export interface RefContribution extends RefPacket {
  w: number;
  exp: number;
  order: number;
}

export interface RefConfig {
  own: number;
  maxAddresses: number;
  maxContributions: number;
  maxNodes: number;
  maxNodesPerAddress: number;
  maxHops: number;
  alertThreshold: number;
  confidenceScale: number;
  minDelta: number;
  minIntervalMs: number;
  minContributors: number;
}

export interface RefEstimate {
  estimate: number | null;
  weight: number;
  packets: number;
  synthesized: number;
  observations: number;
  nodes: number;
  windowStartMs: number;
  windowEndMs: number;
  maxHops: number;
  confidence: number;
}

export interface RefConsensus {
  direction: number;
  votes: number;
  classes: number;
  decided: number;
  strength: number;
  alert: boolean;
  estimate: number | null;
  weight: number;
}

export interface RefEmission {
  address: string;
  hops: number;
  delta: number;
  confidence: number;
  nObservations: number;
  timestampMs: number;
}

const sign = (e: number): number => (e > SIGN_EPSILON ? 1 : e < -SIGN_EPSILON ? -1 : 0);

export class Reference {
  live: RefContribution[] = [];
  order = 0;
  counters = {
    added: 0,
    expired: 0,
    droppedEarly: 0,
    selfIgnored: 0,
    hopLimited: 0,
    hopRefused: 0,
    stale: 0,
    duplicates: 0,
    shadowed: 0,
    superseded: 0,
    addressesRefused: 0,
    nodesRefused: 0,
    emitted: 0,
  };
  // emission bookkeeping, per address
  emitted = new Map<string, { e: number; t: number }>();
  changed = new Set<string>();
  pending = new Set<string>();

  constructor(readonly cfg: RefConfig) {}

  of(address: string): RefContribution[] {
    return this.live.filter((c) => c.address === address);
  }

  /** Removes expired contributions; returns the addresses touched. */
  sweep(now: number, touched: Set<string>): void {
    const keep: RefContribution[] = [];
    for (const c of this.live) {
      if (c.exp <= now) {
        this.counters.expired++;
        touched.add(c.address);
      } else keep.push(c);
    }
    this.live = keep;
  }

  private remove(c: RefContribution, touched: Set<string>): void {
    this.live = this.live.filter((x) => x !== c);
    touched.add(c.address);
  }

  /** The whole of one add(): sweep, the packet's fate, then the emission checks. Returns the outcome name and emissions. */
  add(p: RefPacket, now: number): { outcome: string; emissions: RefEmission[] } {
    const touched = new Set<string>();
    this.sweep(now, touched);
    const outcome = this.ingest(p, now, touched);
    return { outcome, emissions: this.checks(now, touched) };
  }

  /** sweep(now) as a step. */
  sweepStep(now: number): RefEmission[] {
    const touched = new Set<string>();
    this.sweep(now, touched);
    return this.checks(now, touched);
  }

  private ingest(p: RefPacket, now: number, touched: Set<string>): string {
    const k = this.counters;
    if (p.synth && p.node === this.cfg.own) {
      k.selfIgnored++;
      return "SELF";
    }
    if (p.hops > this.cfg.maxHops) {
      k.hopRefused++;
      return "HOP_LIMIT";
    }
    const exp = p.ttlS === 0 ? Infinity : p.ts + p.ttlS * 1000;
    if (exp <= now) {
      k.stale++;
      return "STALE";
    }
    if (this.live.some((c) => c.node === p.node && c.seq === p.seq)) {
      k.duplicates++;
      return "DUPLICATE";
    }
    const mine = this.live.filter((c) => c.address === p.address && c.node === p.node);
    const raw = mine.filter((c) => !c.synth);
    const summary = mine.find((c) => c.synth);
    let replaced: RefContribution | undefined;
    if (p.synth) {
      if (raw.length > 0) {
        k.shadowed++;
        return "SHADOWED";
      }
      if (summary !== undefined) {
        if (!(p.ts > summary.ts || (p.ts === summary.ts && p.seq > summary.seq))) {
          k.superseded++;
          return "OUTDATED";
        }
        replaced = summary;
      }
    } else replaced = summary;
    if (mine.length === 0) {
      const nodes = new Set(this.live.map((c) => c.node));
      const here = new Set(this.of(p.address).map((c) => c.node));
      if ((!nodes.has(p.node) && nodes.size >= this.cfg.maxNodes) || here.size >= this.cfg.maxNodesPerAddress) {
        k.nodesRefused++;
        return "NODE_REFUSED";
      }
    }
    const addresses = new Set(this.live.map((c) => c.address));
    if (!addresses.has(p.address) && addresses.size >= this.cfg.maxAddresses) {
      k.addressesRefused++;
      return "ADDRESS_REFUSED";
    }
    const w0 = p.confidence * Math.log1p(p.n);
    const c: RefContribution = { ...p, w: w0 < MIN_WEIGHT ? 0 : w0, exp, order: this.order++ };
    this.live.push(c);
    touched.add(p.address);
    k.added++;
    if (replaced !== undefined) {
      this.remove(replaced, touched);
      k.superseded++;
    }
    if (this.live.length > this.cfg.maxContributions) {
      let first = this.live[0]!;
      for (const x of this.live) if (x.exp < first.exp || (x.exp === first.exp && x.order < first.order)) first = x;
      this.remove(first, touched);
      k.droppedEarly++;
    }
    return "ADDED";
  }

  estimate(address: string): RefEstimate | undefined {
    const cs = this.of(address);
    if (cs.length === 0) return undefined;
    let W = 0;
    let S = 0;
    let Q = 0;
    for (const c of cs) {
      W += c.w;
      S += c.w * c.delta;
      Q += c.w * c.delta * c.delta;
    }
    const e = W > 0 ? S / W : null;
    let confidence = 0;
    if (e !== null) {
      const sigma = Math.min(1, Math.sqrt(Math.max(0, Q / W - e * e)));
      confidence = (1 - Math.exp(-W / this.cfg.confidenceScale)) * (1 - sigma);
    }
    return {
      estimate: e,
      weight: W,
      packets: cs.length,
      synthesized: cs.filter((c) => c.synth).length,
      observations: cs.reduce((s, c) => s + c.n, 0),
      nodes: new Set(cs.map((c) => c.node)).size,
      windowStartMs: Math.min(...cs.map((c) => c.ts)),
      windowEndMs: Math.max(...cs.map((c) => c.ts)),
      maxHops: Math.max(...cs.map((c) => c.hops)),
      confidence,
    };
  }

  addresses(): string[] {
    return [...new Set(this.live.map((c) => c.address))].sort();
  }

  consensus(domain: string): RefConsensus | undefined {
    const cs = this.live.filter((c) => parseAddress(c.address)[1] === domain);
    if (cs.length === 0) return undefined;
    const classes = new Map<string, { W: number; S: number }>();
    for (const c of cs) {
      const cl = parseAddress(c.address)[2]!;
      const acc = classes.get(cl) ?? { W: 0, S: 0 };
      acc.W += c.w;
      acc.S += c.w * c.delta;
      classes.set(cl, acc);
    }
    let W = 0;
    let S = 0;
    const signs: number[] = [];
    for (const { W: w, S: s } of classes.values()) {
      W += w;
      S += s; // = W_c · e_c
      if (w > 0) signs.push(sign(s / w));
    }
    const e = W > 0 ? S / W : null;
    const direction = e === null ? 0 : sign(e);
    const strength = e === null ? 0 : Math.abs(e);
    return {
      direction,
      votes: signs.filter((s) => s === direction).length,
      classes: classes.size,
      decided: signs.length,
      strength,
      alert: e !== null && strength - this.cfg.alertThreshold > 1e-12,
      estimate: e,
      weight: W,
    };
  }

  domains(): string[] {
    return [...new Set(this.live.map((c) => parseAddress(c.address)[1]!))].sort();
  }

  /** The emission rule over the touched addresses, then the held-back ones that are due. */
  private checks(now: number, touched: Set<string>): RefEmission[] {
    const out: RefEmission[] = [];
    for (const a of touched) this.changed.add(a);
    for (const a of touched) this.check(a, now, true, out);
    for (const a of [...this.pending]) {
      const last = this.emitted.get(a);
      if (last !== undefined && now - last.t >= this.cfg.minIntervalMs) this.check(a, now, false, out);
    }
    return out;
  }

  private check(a: string, now: number, changed: boolean, out: RefEmission[]): void {
    const est = this.estimate(a);
    const drop = (): void => void this.pending.delete(a);
    if (est === undefined || est.estimate === null) return drop();
    if (est.nodes < this.cfg.minContributors) return drop();
    const last = this.emitted.get(a);
    if (last !== undefined && (!this.changed.has(a) || !(Math.abs(est.estimate - last.e) >= this.cfg.minDelta))) return drop();
    const hops = est.maxHops + 1;
    if (hops > this.cfg.maxHops) {
      if (changed) this.counters.hopLimited++;
      return drop();
    }
    if (last !== undefined && now - last.t < this.cfg.minIntervalMs) {
      this.pending.add(a);
      return;
    }
    drop();
    this.emitted.set(a, { e: est.estimate, t: now });
    this.changed.delete(a);
    this.counters.emitted++;
    out.push({
      address: a,
      hops,
      delta: Math.max(-1, Math.min(1, est.estimate)),
      confidence: est.confidence,
      nObservations: Math.min(est.observations, 0xffffffff),
      timestampMs: Math.floor(now),
    });
  }
}

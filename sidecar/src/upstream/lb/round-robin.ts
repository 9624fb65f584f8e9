// Smooth weighted round robin (nginx's algorithm): even interleaving by endpoint weight, random starting offset.

import type { Host } from '../host/host.ts';
import type { LbRegistry } from './lb-registry.ts';
import type { LoadBalancer, PickContext } from './load-balancer.ts';

/**
 * Each pick adds every eligible host's weight to its running score, takes the highest score and subtracts the
 * total from it. Over any window of sum(weights) picks each host is chosen exactly `weight` times, spread out
 * (weights 5,1,1 give a a b a c a a, not a a a a a b c). Ties are broken in scan order, and the scan starts at a
 * random offset so a fleet of sidecars does not send its first requests to the same host. Scores of hosts that
 * stay across an `update` that only adds hosts are kept, so such endpoint changes do not reset the rotation; a
 * removal starts the scores over (what stays no longer sums to zero).
 */
export class RoundRobinBalancer implements LoadBalancer {
  private hosts: readonly Host[] = [];
  private scores: number[] = [];
  private offset = 0;
  /** Every host is eligible, healthy or not (the level is in panic). */
  private panic = false;
  private readonly random: () => number;

  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  update(hosts: readonly Host[], panic = false): void {
    this.panic = panic;
    const previous = new Map<Host, number>();
    for (let i = 0; i < this.hosts.length; i++) previous.set(this.hosts[i] as Host, this.scores[i] ?? 0);
    const sizeChanged = hosts.length !== this.hosts.length;
    const kept = new Set(hosts);
    const removed = this.hosts.some((h) => !kept.has(h));
    this.hosts = hosts.slice();
    // A removed host takes its share of the running scores with it: the others' scores no longer balance out and
    // one of them would be picked several times in a row (weights 8,1,1, drop the 8: b b b c …). Start over then.
    this.scores = this.hosts.map((h) => (removed ? 0 : (previous.get(h) ?? 0)));
    if (sizeChanged || this.offset >= hosts.length) this.offset = Math.floor(this.random() * hosts.length) || 0;
  }

  pick(ctx: PickContext): Host | undefined {
    const avoid = ctx.avoid;
    if (avoid !== undefined && avoid.size > 0) {
      const fresh = this.choose(avoid);
      if (fresh !== undefined) return fresh;
    }
    return this.choose(undefined);
  }

  /** One smooth-WRR step over the eligible hosts not in `avoid`; no state changes when none is eligible. */
  private choose(avoid: ReadonlySet<Host> | undefined): Host | undefined {
    const hosts = this.hosts;
    const scores = this.scores;
    const n = hosts.length;
    let total = 0;
    let best = -1;
    let bestScore = 0;
    for (let k = 0; k < n; k++) {
      const i = (this.offset + k) % n;
      const host = hosts[i] as Host;
      if ((!host.healthy && !this.panic) || avoid?.has(host)) continue;
      const weight = Math.max(host.weight, 1);
      const score = (scores[i] as number) + weight;
      scores[i] = score;
      total += weight;
      if (best < 0 || score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    if (best < 0) return undefined;
    scores[best] = bestScore - total;
    return hosts[best];
  }
}

/** Registers ROUND_ROBIN. */
export function setup(registry: LbRegistry): void {
  registry.register('ROUND_ROBIN', () => new RoundRobinBalancer());
}

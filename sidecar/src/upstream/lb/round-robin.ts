// Smooth weighted round robin (nginx's algorithm): even interleaving by endpoint weight, random starting offset.

import type { Host } from '../host/host.ts';
import type { LbRegistry } from './lb-registry.ts';
import type { LoadBalancer, PickContext } from './load-balancer.ts';
import { SmoothWrr } from './smooth-wrr.ts';

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
  private readonly wrr = new SmoothWrr();
  private offset = 0;
  /** Every host is eligible, healthy or not (the level is in panic). */
  private panic = false;
  private readonly random: () => number;

  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  update(hosts: readonly Host[], panic = false): void {
    this.panic = panic;
    const sizeChanged = hosts.length !== this.hosts.length;
    const kept = new Set(hosts);
    const removed = this.hosts.some((h) => !kept.has(h));
    // A removed host takes its share of the running scores with it: the others' scores no longer balance out and
    // one of them would be picked several times in a row (weights 8,1,1, drop the 8: b b b c …). Start over then.
    this.wrr.rebase(this.hosts, hosts, removed);
    this.hosts = hosts.slice();
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
    const wrr = this.wrr;
    const n = hosts.length;
    wrr.begin();
    for (let k = 0; k < n; k++) {
      const i = (this.offset + k) % n;
      const host = hosts[i] as Host;
      if ((!host.healthy && !this.panic) || avoid?.has(host)) continue;
      wrr.offer(i, Math.max(host.weight, 1));
    }
    const best = wrr.end();
    return best < 0 ? undefined : hosts[best];
  }
}

/** Registers ROUND_ROBIN. */
export function setup(registry: LbRegistry): void {
  registry.register('ROUND_ROBIN', () => new RoundRobinBalancer());
}

// Least request (Envoy's LEAST_REQUEST): power of N choices on active requests, or EDF on weight / (active + 1)^bias.

import type { Host } from '../host/host.ts';
import { type EdfEntry, EdfScheduler } from './edf-scheduler.ts';
import type { LbRegistry } from './lb-registry.ts';
import { type LoadBalancer, lbConfigNumber, type PickContext } from './load-balancer.ts';
import { type Rng, sharedRng } from './rng.ts';

export const DEFAULT_CHOICE_COUNT = 2;
export const DEFAULT_ACTIVE_REQUEST_BIAS = 1;

export interface LeastRequestOptions {
  /** Hosts sampled per pick when all weights are equal (Envoy's choice_count, default 2). */
  choiceCount?: number;
  /** Exponent of (active + 1) dividing the weight when weights differ (Envoy's active_request_bias, default 1). */
  activeRequestBias?: number;
  rng?: Rng;
}

/**
 * As Envoy does it:
 * - all healthy weights equal: sample `choiceCount` hosts at random (with replacement) and take the one with the
 *   fewest active requests (ties: the first sampled). A host stuck with many active requests is only picked when
 *   every sample is that host (≈ 1/N^choiceCount of picks).
 * - weights differ: earliest-deadline-first scheduling where a host, when it is picked, is rescheduled with
 *   effective weight = weight / (active_requests + 1)^bias, so busy hosts come round less often; with bias 0 this is
 *   plain weighted round robin, and with no requests in flight the shares are exactly the weights.
 * Hosts in ctx.avoid (and hosts gone unhealthy since the last update) are skipped while another host is left; in
 * panic (see LoadBalancer.update) every host is eligible.
 */
export class LeastRequestBalancer implements LoadBalancer {
  private readonly choiceCount: number;
  private readonly bias: number;
  private readonly rng: Rng;
  private hosts: Host[] = [];
  private equalWeights = true;
  private readonly scheduler = new EdfScheduler<Host>();
  private readonly skipped: EdfEntry<Host>[] = [];

  /** Every host given to update() is eligible, healthy or not (the level is in panic). */
  private panic = false;

  constructor(options: LeastRequestOptions = {}) {
    const choices = Math.floor(options.choiceCount ?? DEFAULT_CHOICE_COUNT);
    this.choiceCount = Number.isFinite(choices) && choices >= 1 ? choices : DEFAULT_CHOICE_COUNT;
    const bias = options.activeRequestBias ?? DEFAULT_ACTIVE_REQUEST_BIAS;
    this.bias = Number.isFinite(bias) && bias >= 0 ? bias : DEFAULT_ACTIVE_REQUEST_BIAS;
    this.rng = options.rng ?? sharedRng;
  }

  update(hosts: readonly Host[], panic = false): void {
    this.panic = panic;
    this.hosts = hosts.filter((h) => panic || h.healthy);
    const first = this.hosts[0]?.weight;
    this.equalWeights = this.hosts.every((h) => h.weight === first);
    this.scheduler.clear();
    if (!this.equalWeights) {
      // A random phase per host, so a fleet of sidecars does not start in lockstep.
      for (const h of this.hosts) this.scheduler.add(h, this.effectiveWeight(h), this.rng.next());
    }
  }

  pick(ctx: PickContext): Host | undefined {
    if (this.hosts.length === 0) return undefined;
    const avoid = ctx.avoid !== undefined && ctx.avoid.size > 0 ? ctx.avoid : undefined;
    return this.equalWeights ? this.pickUnweighted(avoid) : this.pickWeighted(avoid);
  }

  /** weight / (active + 1)^bias. */
  effectiveWeight(host: Host): number {
    const weight = Math.max(host.weight, 1);
    if (this.bias === 0) return weight;
    const load = host.stats.activeRequests + 1;
    return this.bias === 1 ? weight / load : weight / load ** this.bias;
  }

  private pickUnweighted(avoid: ReadonlySet<Host> | undefined): Host | undefined {
    const hosts = this.hosts;
    let best: Host | undefined;
    for (let c = 0; c < this.choiceCount; c++) {
      const host = hosts[this.rng.below(hosts.length)] as Host;
      if ((!host.healthy && !this.panic) || avoid?.has(host)) return this.pickAmongEligible(avoid);
      if (best === undefined || host.stats.activeRequests < best.stats.activeRequests) best = host;
    }
    return best;
  }

  /** The slow path of the unweighted pick: the same sampling over the hosts healthy now and not avoided. */
  private pickAmongEligible(avoid: ReadonlySet<Host> | undefined): Host | undefined {
    let eligible = this.hosts.filter((h) => (this.panic || h.healthy) && !avoid?.has(h));
    if (eligible.length === 0) eligible = this.hosts.filter((h) => this.panic || h.healthy);
    if (eligible.length === 0) return undefined;
    let best: Host | undefined;
    for (let c = 0; c < this.choiceCount; c++) {
      const host = eligible[this.rng.below(eligible.length)] as Host;
      if (best === undefined || host.stats.activeRequests < best.stats.activeRequests) best = host;
    }
    return best;
  }

  private pickWeighted(avoid: ReadonlySet<Host> | undefined): Host | undefined {
    const scheduler = this.scheduler;
    const skipped = this.skipped;
    let chosen: EdfEntry<Host> | undefined;
    let fallback: EdfEntry<Host> | undefined;
    for (let entry = scheduler.pop(); entry !== undefined; entry = scheduler.pop()) {
      const host = entry.item;
      if (!host.healthy && !this.panic) {
        skipped.push(entry);
      } else if (avoid?.has(host)) {
        if (fallback === undefined) fallback = entry;
        else skipped.push(entry);
      } else {
        chosen = entry;
        break;
      }
    }
    if (chosen === undefined) {
      chosen = fallback;
    } else if (fallback !== undefined) {
      skipped.push(fallback);
    }
    for (const entry of skipped) scheduler.restore(entry);
    skipped.length = 0;
    if (chosen === undefined) return undefined;
    scheduler.readd(chosen, this.effectiveWeight(chosen.item));
    return chosen.item;
  }
}

/** Registers LEAST_REQUEST (lbConfig { choiceCount } from the CDS decoder; activeRequestBias when given). */
export function setup(registry: LbRegistry): void {
  registry.register(
    'LEAST_REQUEST',
    (config) =>
      new LeastRequestBalancer({
        choiceCount: lbConfigNumber(config, 'choiceCount', DEFAULT_CHOICE_COUNT),
        activeRequestBias: lbConfigNumber(config, 'activeRequestBias', DEFAULT_ACTIVE_REQUEST_BIAS),
      }),
  );
}

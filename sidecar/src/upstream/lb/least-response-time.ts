// Least response time: power of two choices over peak-EWMA cost = latency estimate × (active requests + 1), as Linkerd.
import type { Host } from '../host/host.ts';
import { latencyEstimate, PEAK_EWMA_DECAY_MS } from '../host/latency.ts';
import type { LbRegistry } from './lb-registry.ts';
import { type LoadBalancer, lbConfigNumber, type PickContext } from './load-balancer.ts';
import { type Rng, sharedRng } from './rng.ts';

/** The estimate of a host nobody has observed, when its rival has none either (Linkerd's default RTT). */
export const DEFAULT_RTT_MS = 30;

export interface LeastResponseTimeOptions {
  /** Decay time constant of the estimates, default 10 s (must match what recordLatency was given). */
  decayMs?: number;
  rng?: Rng;
  /** The clock recordLatency's `nowMs` comes from; performance.now() by default. */
  now?: () => number;
}

/**
 * Each pick samples two distinct healthy hosts, with probability proportional to their weights, and takes the
 * cheaper one, cost = estimate × (active + 1), with the estimates latency.ts keeps (fed by recordLatency from the
 * HTTP path); on a tie the first sampled wins, so idle hosts with equal estimates share picks by weight. A host whose
 * responses take 10× longer costs 10× more at equal load: it wins only against a rival with ≥ 10× its queue, or once
 * its estimate has decayed and it is due a fresh measurement. Hosts never observed borrow their rival's estimate
 * (DEFAULT_RTT_MS when neither has one) and win ties, so a new host is tried at once, while its growing queue stops a
 * stampede onto it. Hosts in ctx.avoid and hosts gone unhealthy since the last update are not sampled while another
 * host is left; in panic (see LoadBalancer.update) every host is eligible.
 */
export class LeastResponseTimeBalancer implements LoadBalancer {
  private readonly decayMs: number;
  private readonly rng: Rng;
  private readonly now: () => number;
  private hosts: Host[] = [];
  private cumulative: Float64Array = new Float64Array(0);
  private equal = true;

  /** Every host given to update() is eligible, healthy or not (the level is in panic). */
  private panic = false;

  constructor(options: LeastResponseTimeOptions = {}) {
    const decay = options.decayMs ?? PEAK_EWMA_DECAY_MS;
    this.decayMs = Number.isFinite(decay) && decay > 0 ? decay : PEAK_EWMA_DECAY_MS;
    this.rng = options.rng ?? sharedRng;
    this.now = options.now ?? performance.now.bind(performance);
  }

  update(hosts: readonly Host[], panic = false): void {
    this.panic = panic;
    this.hosts = hosts.filter((h) => panic || h.healthy);
    this.cumulative = new Float64Array(this.hosts.length);
    const first = this.hosts[0]?.weight;
    let total = 0;
    this.equal = true;
    for (let i = 0; i < this.hosts.length; i++) {
      const w = (this.hosts[i] as Host).weight;
      if (w !== first) this.equal = false;
      total += Math.max(w, 1);
      this.cumulative[i] = total;
    }
  }

  pick(ctx: PickContext): Host | undefined {
    const avoid = ctx.avoid !== undefined && ctx.avoid.size > 0 ? ctx.avoid : undefined;
    const hosts = this.hosts;
    if (hosts.length >= 2) {
      const i = this.sample(-1);
      const a = hosts[i] as Host;
      const b = hosts[this.sample(i)] as Host;
      if ((this.panic || a.healthy) && (this.panic || b.healthy) && !avoid?.has(a) && !avoid?.has(b))
        return this.cheaper(a, b);
    }
    return this.pickAmong(avoid) ?? (avoid !== undefined ? this.pickAmong(undefined) : undefined);
  }

  /** A host index drawn by weight, never `exclude` (−1: none); needs two hosts or more when excluding. */
  private sample(exclude: number): number {
    const n = this.hosts.length;
    if (this.equal) {
      const k = this.rng.below(exclude < 0 ? n : n - 1);
      return exclude >= 0 && k >= exclude ? k + 1 : k;
    }
    const cumulative = this.cumulative;
    const total = cumulative[n - 1] as number;
    let r: number;
    if (exclude < 0) {
      r = this.rng.next() * total;
    } else {
      const end = cumulative[exclude] as number;
      const start = exclude === 0 ? 0 : (cumulative[exclude - 1] as number);
      r = this.rng.next() * (total - (end - start));
      if (r >= start) r += end - start;
    }
    let a = 0;
    let b = n - 1;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if ((cumulative[mid] as number) > r) b = mid;
      else a = mid + 1;
    }
    return a === exclude ? (a + 1) % n : a;
  }

  /** The slow path: a weighted draw of two among the hosts healthy now and not avoided. */
  private pickAmong(avoid: ReadonlySet<Host> | undefined): Host | undefined {
    const eligible = this.hosts.filter((h) => (this.panic || h.healthy) && !avoid?.has(h));
    if (eligible.length <= 1) return eligible[0];
    const a = weightedDraw(eligible, undefined, this.rng);
    const b = weightedDraw(eligible, a, this.rng);
    return this.cheaper(a, b);
  }

  private cheaper(a: Host, b: Host): Host {
    const now = this.now();
    const ea = latencyEstimate(a, now, this.decayMs);
    const eb = latencyEstimate(b, now, this.decayMs);
    const costA = (ea ?? eb ?? DEFAULT_RTT_MS) * (a.stats.activeRequests + 1);
    const costB = (eb ?? ea ?? DEFAULT_RTT_MS) * (b.stats.activeRequests + 1);
    if (costA !== costB) return costA < costB ? a : b;
    return eb === undefined && ea !== undefined ? b : a;
  }
}

/** A host of `hosts` (at least two) drawn by weight, never `exclude`. */
function weightedDraw(hosts: readonly Host[], exclude: Host | undefined, rng: Rng): Host {
  let total = 0;
  for (const h of hosts) if (h !== exclude) total += Math.max(h.weight, 1);
  let r = rng.next() * total;
  let last = hosts[0] as Host;
  for (const h of hosts) {
    if (h === exclude) continue;
    last = h;
    r -= Math.max(h.weight, 1);
    if (r < 0) return h;
  }
  return last;
}

/** Registers LEAST_RESPONSE_TIME (selected by cluster metadata lb_algorithm; lbConfig { decayMs } when given). */
export function setup(registry: LbRegistry): void {
  registry.register(
    'LEAST_RESPONSE_TIME',
    (config) => new LeastResponseTimeBalancer({ decayMs: lbConfigNumber(config, 'decayMs', PEAK_EWMA_DECAY_MS) }),
  );
}

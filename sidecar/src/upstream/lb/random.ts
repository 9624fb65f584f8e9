// Weighted random: each pick draws a host with probability weight / total weight (one RNG draw, binary search).
import type { Host } from '../host/host.ts';
import type { LbRegistry } from './lb-registry.ts';
import type { LoadBalancer, PickContext } from './load-balancer.ts';
import { type Rng, sharedRng } from './rng.ts';

/** Draws tried before falling back to a scan of the eligible hosts (when the draws keep hitting avoided ones). */
const REDRAWS = 4;

/**
 * The healthy hosts (all hosts in panic) of the last update() with their cumulative weights; a pick draws
 * r ∈ [0, total) and takes the first host whose cumulative weight exceeds r (equal weights: a plain index draw). A
 * drawn host that went unhealthy since, or is in ctx.avoid, is redrawn a few times, then the pick draws among the
 * eligible hosts only.
 */
export class RandomBalancer implements LoadBalancer {
  private readonly rng: Rng;
  private hosts: Host[] = [];
  private cumulative: Float64Array = new Float64Array(0);
  private total = 0;
  private equal = true;

  /** Every host given to update() is eligible, healthy or not (the level is in panic). */
  private panic = false;

  constructor(rng: Rng = sharedRng) {
    this.rng = rng;
  }

  update(hosts: readonly Host[], panic = false): void {
    this.panic = panic;
    this.hosts = hosts.filter((h) => panic || h.healthy);
    this.cumulative = new Float64Array(this.hosts.length);
    let total = 0;
    const first = this.hosts[0]?.weight;
    let equal = true;
    for (let i = 0; i < this.hosts.length; i++) {
      const w = (this.hosts[i] as Host).weight;
      if (w !== first) equal = false;
      total += Math.max(w, 1);
      this.cumulative[i] = total;
    }
    this.total = total;
    this.equal = equal;
  }

  pick(ctx: PickContext): Host | undefined {
    const hosts = this.hosts;
    if (hosts.length === 0) return undefined;
    const avoid = ctx.avoid !== undefined && ctx.avoid.size > 0 ? ctx.avoid : undefined;
    for (let k = 0; k < REDRAWS; k++) {
      const host = hosts[this.draw()] as Host;
      if ((this.panic || host.healthy) && !avoid?.has(host)) return host;
    }
    return this.drawAmong(avoid) ?? (avoid !== undefined ? this.drawAmong(undefined) : undefined);
  }

  private draw(): number {
    if (this.equal) return this.rng.below(this.hosts.length);
    const cumulative = this.cumulative;
    const r = this.rng.next() * this.total;
    let a = 0;
    let b = cumulative.length - 1;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if ((cumulative[mid] as number) > r) b = mid;
      else a = mid + 1;
    }
    return a;
  }

  /** The slow path: a weighted draw among the hosts that are healthy now and not avoided. */
  private drawAmong(avoid: ReadonlySet<Host> | undefined): Host | undefined {
    let total = 0;
    for (const h of this.hosts) if ((this.panic || h.healthy) && !avoid?.has(h)) total += Math.max(h.weight, 1);
    if (total === 0) return undefined;
    let r = this.rng.next() * total;
    let last: Host | undefined;
    for (const h of this.hosts) {
      if ((!h.healthy && !this.panic) || avoid?.has(h)) continue;
      last = h;
      r -= Math.max(h.weight, 1);
      if (r < 0) return h;
    }
    return last;
  }
}

/** Registers RANDOM. */
export function setup(registry: LbRegistry): void {
  registry.register('RANDOM', () => new RandomBalancer());
}

// Zone-aware routing: a wrapper balancer that keeps traffic in the sidecar's own zone while that zone has enough healthy capacity.
import type { Host } from '../host/host.ts';
import type { LoadBalancer, PickContext } from './load-balancer.ts';
import { type Rng, sharedRng } from './rng.ts';

/** One zone's hosts behind their own instance of the cluster's policy. */
interface ZoneState {
  zone: string;
  hosts: Host[];
  balancer: LoadBalancer;
}

/**
 * A simpler cousin of Envoy's zone aware routing. With availability = healthy weight / total weight:
 * - the local zone's availability ≥ the cluster's: every pick stays in the local zone;
 * - below it: the local zone keeps local/cluster availability of the picks (its fair share of what is healthy) and
 *   the rest spills over to the other zones in proportion to their healthy weight;
 * - no local zone configured, no host in it, one zone only, nothing healthy locally, or the level in panic: the
 *   whole set, as if unwrapped.
 * Picks within a zone go to an instance of the inner policy over that zone's hosts (`make`), so round robin, least
 * request and the others keep their semantics per zone; when the zone has nothing eligible (or only avoided hosts)
 * the pick falls back to the instance over all hosts (`all`). The plan is recomputed on update(), which the cluster
 * calls on endpoint and health changes. Consistent-hash policies are not wrapped (see LoadBalancer.hashBased).
 */
export class LocalityAwareBalancer implements LoadBalancer {
  private readonly localZone: string;
  private readonly all: LoadBalancer;
  private readonly make: () => LoadBalancer;
  private readonly rng: Rng;
  private zones = new Map<string, ZoneState>();
  private local: ZoneState | undefined;
  /** Probability of staying local; only meaningful while `local` is set. */
  private localShare = 1;
  private others: ZoneState[] = [];
  private othersCumulative: Float64Array = new Float64Array(0);

  constructor(localZone: string, all: LoadBalancer, make: () => LoadBalancer, rng: Rng = sharedRng) {
    this.localZone = localZone;
    this.all = all;
    this.make = make;
    this.rng = rng;
  }

  update(hosts: readonly Host[], panic = false): void {
    this.all.update(hosts, panic);
    if (panic) {
      // Envoy: a priority in panic balances across all its hosts, zones aside.
      this.plan(true);
      return;
    }
    const grouped = new Map<string, Host[]>();
    for (const h of hosts) {
      const list = grouped.get(h.zone);
      if (list === undefined) grouped.set(h.zone, [h]);
      else list.push(h);
    }
    const next = new Map<string, ZoneState>();
    for (const [zone, list] of grouped) {
      const state = this.zones.get(zone) ?? { zone, hosts: list, balancer: this.make() };
      state.hosts = list;
      state.balancer.update(list);
      next.set(zone, state);
    }
    this.zones = next;
    this.plan();
  }

  /** The current plan (tests, admin): the share of picks kept local and the share spilled to each other zone. */
  routing(): { localShare: number; spill: Record<string, number> } | undefined {
    if (this.local === undefined) return undefined;
    const spill: Record<string, number> = {};
    const total = this.spillTotal();
    let previous = 0;
    this.others.forEach((z, i) => {
      const c = this.othersCumulative[i] as number;
      spill[z.zone] = ((1 - this.localShare) * (c - previous)) / total;
      previous = c;
    });
    return { localShare: this.localShare, spill };
  }

  pick(ctx: PickContext): Host | undefined {
    const local = this.local;
    if (local === undefined) return this.all.pick(ctx);
    let zone: ZoneState = local;
    if (this.localShare < 1) {
      const r = this.rng.next();
      if (r >= this.localShare)
        zone = this.otherZone(((r - this.localShare) / (1 - this.localShare)) * this.spillTotal());
    }
    const host = zone.balancer.pick(ctx);
    if (host === undefined || ctx.avoid?.has(host)) return this.all.pick(ctx);
    return host;
  }

  private spillTotal(): number {
    const c = this.othersCumulative;
    return c.length === 0 ? 0 : (c[c.length - 1] as number);
  }

  private otherZone(r: number): ZoneState {
    const c = this.othersCumulative;
    for (let i = 0; i < c.length; i++) if (r < (c[i] as number)) return this.others[i] as ZoneState;
    return this.others[this.others.length - 1] as ZoneState;
  }

  private plan(panic = false): void {
    this.local = undefined;
    this.others = [];
    this.othersCumulative = new Float64Array(0);
    this.localShare = 1;
    if (panic) return;
    const local = this.zones.get(this.localZone);
    if (this.localZone === '' || local === undefined || this.zones.size < 2) return;
    let total = 0;
    let healthy = 0;
    const healthyByZone = new Map<ZoneState, number>();
    for (const z of this.zones.values()) {
      let h = 0;
      for (const host of z.hosts) {
        const w = Math.max(host.weight, 1);
        total += w;
        if (host.healthy) h += w;
      }
      healthy += h;
      healthyByZone.set(z, h);
    }
    const localHealthy = healthyByZone.get(local) ?? 0;
    if (localHealthy === 0) return;
    let localTotal = 0;
    for (const host of local.hosts) localTotal += Math.max(host.weight, 1);
    this.local = local;
    const localAvailability = localHealthy / localTotal;
    const clusterAvailability = healthy / total;
    if (localAvailability >= clusterAvailability) return;
    const others = [...this.zones.values()].filter((z) => z !== local && (healthyByZone.get(z) ?? 0) > 0);
    if (others.length === 0) return;
    this.localShare = localAvailability / clusterAvailability;
    this.others = others;
    this.othersCumulative = new Float64Array(others.length);
    let acc = 0;
    others.forEach((z, i) => {
      acc += healthyByZone.get(z) ?? 0;
      this.othersCumulative[i] = acc;
    });
  }
}

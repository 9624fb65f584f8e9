// Least connections: the host with the fewest active connections per unit of weight; ties share by weight in turn.
import type { Host } from '../host/host.ts';
import type { LbRegistry } from './lb-registry.ts';
import type { LoadBalancer, PickContext } from './load-balancer.ts';
import { SmoothWrr } from './smooth-wrr.ts';

/**
 * Each pick scans the healthy hosts for the lowest activeConnections / weight, then runs one smooth weighted round
 * robin step (nginx's algorithm, as in round-robin.ts) among the hosts tied at that minimum. So idle hosts (all at 0
 * connections, e.g. HTTP/1.1 keep-alive pools that are all warm) share picks exactly by weight and in rotation,
 * while a host holding more connections than its weight warrants is passed over until the others catch up. Suits
 * long-lived connections (TCP proxy, CONNECT tunnels, HTTP/2 sessions); O(hosts) per pick like round robin.
 */
export class LeastConnectionsBalancer implements LoadBalancer {
  private hosts: readonly Host[] = [];
  private readonly wrr = new SmoothWrr();
  /** Every host is eligible, healthy or not (the level is in panic). */
  private panic = false;

  update(hosts: readonly Host[], panic = false): void {
    this.panic = panic;
    this.wrr.rebase(this.hosts, hosts, false);
    this.hosts = hosts.slice();
  }

  pick(ctx: PickContext): Host | undefined {
    const avoid = ctx.avoid;
    if (avoid !== undefined && avoid.size > 0) {
      const fresh = this.choose(avoid);
      if (fresh !== undefined) return fresh;
    }
    return this.choose(undefined);
  }

  private choose(avoid: ReadonlySet<Host> | undefined): Host | undefined {
    const hosts = this.hosts;
    const n = hosts.length;
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const host = hosts[i] as Host;
      if ((!host.healthy && !this.panic) || avoid?.has(host)) continue;
      const ratio = host.stats.activeConnections / Math.max(host.weight, 1);
      if (ratio < min) min = ratio;
    }
    if (min === Number.POSITIVE_INFINITY) return undefined;
    const wrr = this.wrr;
    wrr.begin();
    for (let i = 0; i < n; i++) {
      const host = hosts[i] as Host;
      if ((!host.healthy && !this.panic) || avoid?.has(host)) continue;
      const weight = Math.max(host.weight, 1);
      if (host.stats.activeConnections / weight === min) wrr.offer(i, weight);
    }
    return hosts[wrr.end()];
  }
}

/** Registers LEAST_CONNECTIONS (a Trellis refinement of LEAST_REQUEST, selected by cluster metadata lb_algorithm). */
export function setup(registry: LbRegistry): void {
  registry.register('LEAST_CONNECTIONS', () => new LeastConnectionsBalancer());
}

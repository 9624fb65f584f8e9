// One upstream cluster: its hosts (kept across endpoint updates), priority levels, load balancer, circuit breaker.
import type { Logger } from 'pino';
import type { ClusterConfig, LocalityEndpoints } from '../config/model.ts';
import { pickPriority, priorityPlan } from '../health/host-health.ts';
import type { Stats } from '../stats.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import type { Cluster, ClusterStats } from './cluster.ts';
import { hashHalves, mod64 } from './hash64.ts';
import type { Host } from './host.ts';
import type { LbRegistry } from './lb-registry.ts';
import type { LoadBalancer, PickContext } from './load-balancer.ts';
import { LocalityAwareBalancer } from './locality.ts';
import { type Rng, sharedRng } from './rng.ts';
import { hostKey, UpstreamHost } from './upstream-host.ts';

/** The hosts of one priority and their balancer; the priority plan says how much traffic each level takes. */
interface PriorityLevel {
  priority: number;
  hosts: UpstreamHost[];
  balancer: LoadBalancer;
}

export interface UpstreamClusterOptions {
  registry: LbRegistry;
  stats: Stats;
  logger?: Logger | undefined;
  /** The sidecar's zone (--zone): zone-aware routing prefers its hosts (see locality.ts); '' or absent = off. */
  localZone?: string | undefined;
  /** Priority draws (and zone-aware spill-over); the shared generator by default. */
  rng?: Rng | undefined;
}

export class UpstreamCluster implements Cluster {
  readonly name: string;
  config: ClusterConfig;
  readonly stats: ClusterStats = { upstreamRequests: 0, upstreamConnections: 0, overflow: 0, noHealthyHost: 0 };
  readonly breaker: CircuitBreaker;
  private readonly options: UpstreamClusterOptions;
  private readonly byKey = new Map<string, UpstreamHost>();
  private levels: PriorityLevel[] = [];
  /** Percent of picks per level (Envoy's priority load, overprovisioning factor 1.4), in level order. */
  private loads: number[] = [];
  private localZone: string;
  private readonly rng: Rng;
  /** A host's health changed since the balancers and loads were computed (set by UpstreamHost.onHealthChange). */
  private healthDirty = false;
  private readonly markHealthDirty = (): void => {
    this.healthDirty = true;
  };
  private readonly hashParts = new Uint32Array(2);
  private readonly statNames: { overflow: string; cxOverflow: string; noHealthy: string; retryOverflow: string };
  private readonly unregister: (() => void)[] = [];

  constructor(config: ClusterConfig, options: UpstreamClusterOptions) {
    this.name = config.name;
    this.config = config;
    this.options = options;
    this.localZone = options.localZone ?? '';
    this.rng = options.rng ?? sharedRng;
    this.breaker = new CircuitBreaker(config.circuitBreakers);
    const p = `cluster.${config.name}.`;
    this.statNames = {
      overflow: `${p}upstream_rq_pending_overflow`,
      cxOverflow: `${p}upstream_cx_overflow`,
      noHealthy: `${p}upstream_cx_none_healthy`,
      retryOverflow: `${p}upstream_rq_retry_overflow`,
    };
    const s = options.stats;
    this.unregister.push(
      s.gauge(`${p}membership_total`, () => this.byKey.size),
      s.gauge(`${p}membership_healthy`, () => this.healthyCount()),
      s.gauge(`${p}upstream_rq_active`, () => this.breaker.activeRequests),
      s.gauge(`${p}upstream_cx_active`, () => this.sumHosts('activeConnections')),
      s.gauge(`${p}circuit_breakers.default.rq_open`, () => this.breaker.requestsOpen()),
    );
  }

  /** Applies a new ClusterConfig; the balancers are rebuilt only when the policy or its config changed. */
  updateConfig(config: ClusterConfig): void {
    const previous = this.config;
    this.config = config;
    this.breaker.limits = new CircuitBreaker(config.circuitBreakers).limits;
    if (previous.lbPolicy !== config.lbPolicy || !sameJson(previous.lbConfig, config.lbConfig)) this.rebuildBalancers();
  }

  /** The sidecar's zone for zone-aware routing ('' turns it off); the balancers are rebuilt when it changes. */
  setLocalZone(zone: string): void {
    if (zone === this.localZone) return;
    this.localZone = zone;
    this.rebuildBalancers();
  }

  /**
   * Replaces the endpoint set. Hosts whose `address:port` remains are kept (same object, same stats, same balancer
   * state); returns the hosts that left.
   */
  setEndpoints(localities: readonly LocalityEndpoints[]): UpstreamHost[] {
    const seen = new Set<string>();
    const byPriority = new Map<number, UpstreamHost[]>();
    let changed = false;
    for (const locality of localities) {
      const placement = { zone: locality.zone, priority: locality.priority };
      for (const endpoint of locality.endpoints) {
        const key = hostKey(endpoint.address, endpoint.port);
        if (seen.has(key)) continue;
        seen.add(key);
        let host = this.byKey.get(key);
        if (host === undefined) {
          host = new UpstreamHost(endpoint, placement);
          host.onHealthChange = this.markHealthDirty;
          this.byKey.set(key, host);
          changed = true;
        } else if (host.apply(endpoint, placement)) {
          changed = true;
        }
        const list = byPriority.get(placement.priority);
        if (list === undefined) byPriority.set(placement.priority, [host]);
        else list.push(host);
      }
    }
    const removed: UpstreamHost[] = [];
    for (const [key, host] of this.byKey) {
      if (!seen.has(key)) {
        this.byKey.delete(key);
        host.onHealthChange = undefined;
        removed.push(host);
      }
    }
    if (changed || removed.length > 0 || !sameOrder(this.levels, byPriority)) this.rebuildLevels(byPriority);
    return removed;
  }

  /**
   * A host from the level the priority plan draws (by ctx.hash when there is one, so a key keeps its level), else
   * from the first level, in order, that has one for this request (not in ctx.avoid when possible).
   */
  pick(ctx: PickContext): Host | undefined {
    if (this.healthDirty) this.refreshHealth();
    const levels = this.levels;
    const host =
      levels.length === 1
        ? (levels[0] as PriorityLevel).balancer.pick(ctx)
        : levels.length > 1
          ? this.pickLevel(ctx)
          : undefined;
    if (host !== undefined) return host;
    this.stats.noHealthyHost++;
    this.options.stats.inc(this.statNames.noHealthy);
    return undefined;
  }

  /** Percent of picks each priority takes now, keyed by priority (tests, admin). */
  priorityLoads(): Map<number, number> {
    if (this.healthDirty) this.refreshHealth();
    return new Map(this.levels.map((l, i) => [l.priority, this.loads[i] ?? 0]));
  }

  hosts(): readonly Host[] {
    return [...this.byKey.values()];
  }

  tryAcquireRequest(): boolean {
    if (this.breaker.tryAcquireRequest()) return true;
    this.stats.overflow++;
    this.options.stats.inc(this.statNames.overflow);
    return false;
  }

  releaseRequest(): void {
    this.breaker.releaseRequest();
  }

  tryAcquireConnection(): boolean {
    if (this.breaker.tryAcquireConnection()) return true;
    this.stats.overflow++;
    this.options.stats.inc(this.statNames.cxOverflow);
    return false;
  }

  releaseConnection(): void {
    this.breaker.releaseConnection();
  }

  tryAcquireRetry(): boolean {
    if (this.breaker.tryAcquireRetry()) return true;
    this.options.stats.inc(this.statNames.retryOverflow);
    return false;
  }

  releaseRetry(): void {
    this.breaker.releaseRetry();
  }

  healthyCount(): number {
    let n = 0;
    for (const host of this.byKey.values()) if (host.healthy) n++;
    return n;
  }

  /** Unregisters this cluster's gauges (the cluster left the config). */
  close(): void {
    for (const off of this.unregister.splice(0)) off();
  }

  private sumHosts(field: 'activeConnections' | 'activeRequests'): number {
    let n = 0;
    for (const host of this.byKey.values()) n += host.stats[field];
    return n;
  }

  private pickLevel(ctx: PickContext): Host | undefined {
    const levels = this.levels;
    let roll: number;
    if (ctx.hash === undefined) {
      roll = this.rng.next() * 100;
    } else {
      hashHalves(ctx.hash, this.hashParts);
      roll = mod64(this.hashParts[0] as number, this.hashParts[1] as number, 100);
    }
    const chosen = levels[pickPriority(this.loads, roll)] as PriorityLevel;
    const host = chosen.balancer.pick(ctx);
    const avoid = ctx.avoid;
    if (host !== undefined && !avoid?.has(host)) return host;
    let fallback = host;
    for (const level of levels) {
      if (level === chosen) continue;
      const other = level.balancer.pick(ctx);
      if (other === undefined) continue;
      if (!avoid?.has(other)) return other;
      fallback ??= other;
    }
    return fallback;
  }

  /** A balancer of the cluster's policy, wrapped for zone-aware routing when a local zone is set. */
  private newBalancer(): LoadBalancer {
    const make = (): LoadBalancer =>
      this.options.registry.create(this.config.lbPolicy, this.config.lbConfig, {
        cluster: this.name,
        logger: this.options.logger,
      });
    const inner = make();
    if (this.localZone === '' || inner.hashBased === true) return inner;
    return new LocalityAwareBalancer(this.localZone, inner, make, this.rng);
  }

  private rebuildBalancers(): void {
    for (const level of this.levels) {
      level.balancer = this.newBalancer();
      level.balancer.update(level.hosts);
    }
  }

  /** Health changed since the last plan: balancers see the new healthy sets, priorities get new loads. */
  private refreshHealth(): void {
    this.healthDirty = false;
    for (const level of this.levels) level.balancer.update(level.hosts);
    this.planPriorities();
  }

  /** Envoy's priority load without panic mode (a level with no healthy host takes no traffic). */
  private planPriorities(): void {
    const counts = this.levels.map((l) => {
      let healthy = 0;
      for (const h of l.hosts) if (h.healthy) healthy++;
      return { healthy, total: l.hosts.length };
    });
    this.loads = priorityPlan(counts, 0).load;
  }

  private rebuildLevels(byPriority: Map<number, UpstreamHost[]>): void {
    const old = new Map(this.levels.map((l) => [l.priority, l.balancer]));
    this.levels = [...byPriority.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([priority, hosts]) => {
        const balancer = old.get(priority) ?? this.newBalancer();
        balancer.update(hosts);
        return { priority, hosts, balancer };
      });
    this.healthDirty = false;
    this.planPriorities();
  }
}

function sameOrder(levels: readonly PriorityLevel[], next: Map<number, UpstreamHost[]>): boolean {
  if (levels.length !== next.size) return false;
  for (const level of levels) {
    const hosts = next.get(level.priority);
    if (hosts === undefined || hosts.length !== level.hosts.length) return false;
    for (let i = 0; i < hosts.length; i++) if (hosts[i] !== level.hosts[i]) return false;
  }
  return true;
}

function sameJson(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

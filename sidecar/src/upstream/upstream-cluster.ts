// One upstream cluster: its hosts (kept across endpoint updates), priority levels, load balancer, circuit breaker.
import type { Logger } from 'pino';
import type { ClusterConfig, LocalityEndpoints } from '../config/model.ts';
import type { Stats } from '../stats.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import type { Cluster, ClusterStats } from './cluster.ts';
import type { Host } from './host.ts';
import type { LbRegistry } from './lb-registry.ts';
import type { LoadBalancer, PickContext } from './load-balancer.ts';
import { hostKey, UpstreamHost } from './upstream-host.ts';

/** The hosts of one priority and their balancer; lower priorities take traffic while they have a healthy host. */
interface PriorityLevel {
  priority: number;
  hosts: UpstreamHost[];
  balancer: LoadBalancer;
}

export interface UpstreamClusterOptions {
  registry: LbRegistry;
  stats: Stats;
  logger?: Logger | undefined;
}

export class UpstreamCluster implements Cluster {
  readonly name: string;
  config: ClusterConfig;
  readonly stats: ClusterStats = { upstreamRequests: 0, upstreamConnections: 0, overflow: 0, noHealthyHost: 0 };
  readonly breaker: CircuitBreaker;
  private readonly options: UpstreamClusterOptions;
  private readonly byKey = new Map<string, UpstreamHost>();
  private levels: PriorityLevel[] = [];
  private readonly statNames: { overflow: string; cxOverflow: string; noHealthy: string; retryOverflow: string };
  private readonly unregister: (() => void)[] = [];

  constructor(config: ClusterConfig, options: UpstreamClusterOptions) {
    this.name = config.name;
    this.config = config;
    this.options = options;
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
    if (previous.lbPolicy !== config.lbPolicy || !sameJson(previous.lbConfig, config.lbConfig)) {
      for (const level of this.levels) {
        level.balancer = this.newBalancer();
        level.balancer.update(level.hosts);
      }
    }
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
        removed.push(host);
      }
    }
    if (changed || removed.length > 0 || !sameOrder(this.levels, byPriority)) this.rebuildLevels(byPriority);
    return removed;
  }

  pick(ctx: PickContext): Host | undefined {
    const levels = this.levels;
    for (let i = 0; i < levels.length; i++) {
      const host = (levels[i] as PriorityLevel).balancer.pick(ctx);
      if (host !== undefined) return host;
    }
    this.stats.noHealthyHost++;
    this.options.stats.inc(this.statNames.noHealthy);
    return undefined;
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

  private newBalancer(): LoadBalancer {
    return this.options.registry.create(this.config.lbPolicy, this.config.lbConfig, {
      cluster: this.name,
      logger: this.options.logger,
    });
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

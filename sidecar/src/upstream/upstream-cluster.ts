// One upstream cluster: its hosts (kept across endpoint updates), their health (EDS, active health checks, outlier
// detection), priority levels with the panic threshold, load balancer, circuit breaker.
import type { Logger } from 'pino';
import type { Stats } from '../common/stats.ts';
import type { ClusterConfig, LocalityEndpoints } from '../config/model.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { type Cluster, type ClusterStats, newClusterStats } from './cluster.ts';
import type { Dialer } from './dialer.ts';
import { ClusterHealth, type ClusterHealthOptions, type HostHealthState } from './health/cluster-health.ts';
import type { ProbeConnection } from './health/prober.ts';
import type { Host } from './host/host.ts';
import { hostKey, UpstreamHost } from './host/upstream-host.ts';
import type { LbRegistry } from './lb/lb-registry.ts';
import type { LoadBalancer, PickContext } from './lb/load-balancer.ts';
import { LocalityAwareBalancer } from './lb/locality.ts';
import { PrioritySet } from './lb/priority-set.ts';
import { type Rng, sharedRng } from './lb/rng.ts';
import type { OutlierResult } from './outlier/outlier-detector.ts';

/** Test hooks for the cluster's health checker and outlier detector (probers, clocks, first health). */
export type ClusterHealthHooks = Pick<ClusterHealthOptions, 'createProber' | 'now' | 'random' | 'initialHealth'>;

export interface UpstreamClusterOptions {
  registry: LbRegistry;
  stats: Stats;
  logger?: Logger | undefined;
  /** The sidecar's zone (--zone): zone-aware routing prefers its hosts (see locality.ts); '' or absent = off. */
  localZone?: string | undefined;
  /** Priority draws (and zone-aware spill-over); the shared generator by default. */
  rng?: Rng | undefined;
  health?: ClusterHealthHooks | undefined;
  /** How connections to hosts open (mesh mTLS where a transport socket says so): health checks use it too. */
  dialer?: Dialer | undefined;
}

export class UpstreamCluster implements Cluster {
  readonly name: string;
  config: ClusterConfig;
  readonly stats: ClusterStats = newClusterStats();
  readonly breaker: CircuitBreaker;
  /** Active health checks and outlier detection, as configured; they set the hosts' health flags. */
  readonly health: ClusterHealth;
  private readonly options: UpstreamClusterOptions;
  private readonly byKey = new Map<string, UpstreamHost>();
  private readonly levels: PrioritySet;
  private localZone: string;
  private readonly rng: Rng;
  /** A host's health changed since the balancers and loads were computed (set by UpstreamHost.onHealthChange). */
  private healthDirty = false;
  private readonly markHealthDirty = (): void => {
    this.healthDirty = true;
  };
  private readonly statNames: { overflow: string; cxOverflow: string; noHealthy: string; retryOverflow: string };
  private readonly unregister: (() => void)[] = [];

  constructor(config: ClusterConfig, options: UpstreamClusterOptions) {
    this.name = config.name;
    this.config = config;
    this.options = options;
    this.localZone = options.localZone ?? '';
    this.rng = options.rng ?? sharedRng;
    this.breaker = new CircuitBreaker(config.circuitBreakers);
    this.levels = new PrioritySet(() => this.newBalancer(), this.rng);
    this.health = new ClusterHealth(config, {
      ...options.health,
      stats: options.stats,
      logger: options.logger,
      // Until the cluster carries traffic, health checks run at no_traffic_interval (Envoy).
      hadTraffic: () => this.stats.upstreamRequests > 0 || this.stats.upstreamConnections > 0,
      // Checks reach a host the way traffic does (Envoy: the cluster's transport socket), so a host that takes mTLS
      // only is checked over mTLS.
      ...(options.dialer === undefined
        ? {}
        : { connect: (host: Host) => probeConnection(options.dialer as Dialer, this, host) }),
    });
    this.health.onChange((host, state) => this.applyHealth(host, state));
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

  /**
   * Applies a new ClusterConfig: health checks and outlier detection follow it (hosts keep their verdicts where the
   * config keeps them), the plan is redone with the new panic threshold, and the balancers are rebuilt only when the
   * policy or its config changed.
   */
  updateConfig(config: ClusterConfig): void {
    const previous = this.config;
    this.config = config;
    this.breaker.limits = new CircuitBreaker(config.circuitBreakers).limits;
    this.health.update(config);
    this.syncHealthFlags();
    if (previous.lbPolicy !== config.lbPolicy || !sameJson(previous.lbConfig, config.lbConfig)) this.rebuildBalancers();
    else this.healthDirty = true;
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
    if (changed || removed.length > 0) {
      this.health.setHosts([...this.byKey.values()]);
      this.syncHealthFlags();
    }
    if (changed || removed.length > 0 || !this.levels.sameAs(byPriority)) {
      this.levels.setLevels(byPriority);
      this.replan();
    }
    return removed;
  }

  /**
   * A host from the level the priority plan draws (by ctx.hash when there is one, so a key keeps its level), else
   * from the first level, in order, that has one for this request (not in ctx.avoid when possible). A level in panic
   * balances over all its hosts, healthy or not.
   */
  pick(ctx: PickContext): Host | undefined {
    if (this.healthDirty) this.replan();
    const host = this.levels.pick(ctx);
    if (host !== undefined) return host;
    this.stats.noHealthyHost++;
    this.options.stats.inc(this.statNames.noHealthy);
    return undefined;
  }

  /** Percent of picks each priority takes now, keyed by priority (tests, admin). */
  priorityLoads(): Map<number, number> {
    if (this.healthDirty) this.replan();
    return this.levels.loadsByPriority();
  }

  /** Whether each priority is in panic now (balancing over all its hosts), keyed by priority (tests, admin). */
  priorityPanic(): Map<number, boolean> {
    if (this.healthDirty) this.replan();
    return this.levels.panicByPriority();
  }

  /** One upstream result of `host` (HTTP status or local-origin outcome) for outlier detection; cheap without it. */
  recordResult(host: Host, result: OutlierResult): void {
    this.health.recordResult(host, result);
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

  /** Stops health checking and outlier detection and unregisters this cluster's gauges (it left the config). */
  close(): void {
    this.health.close();
    for (const off of this.unregister.splice(0)) off();
  }

  private sumHosts(field: 'activeConnections' | 'activeRequests'): number {
    let n = 0;
    for (const host of this.byKey.values()) n += host.stats[field];
    return n;
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
    this.levels.replaceBalancers();
    this.replan();
  }

  /** Priority loads and panic from the hosts' health now; every balancer gets its level's view. */
  private replan(): void {
    this.healthDirty = false;
    this.levels.plan(this.health.panicThresholdPercent);
  }

  /** A health-check or outlier verdict changed: the host's flags follow (UpstreamHost marks the plan dirty). */
  private applyHealth(host: Host, state: HostHealthState): void {
    const own = this.byKey.get(host.key);
    if (own === undefined || own !== host) return;
    own.setHealthFlag('failed_active_hc', !state.activeHealthy);
    own.setHealthFlag('failed_outlier_check', state.ejected);
  }

  /** Every host's flags from the current verdicts (after the checker or detector came, went, or got new hosts). */
  private syncHealthFlags(): void {
    for (const host of this.byKey.values()) this.applyHealth(host, this.health.state(host));
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** A dialed connection as a health check takes it. */
function probeConnection(dialer: Dialer, cluster: Cluster, host: Host): ProbeConnection {
  const dialed = dialer.dial(cluster, host);
  return { socket: dialed.socket, ready: dialed.ready, tls: dialed.tls !== undefined };
}

// One cluster's active health checker: a check loop per host (HTTP, TCP or gRPC), each host's active-HC health,
// change and per-check listeners, and Envoy-named stats (cluster.<name>.health_check.*).
import type { Logger } from 'pino';
import type { Stats } from '../../common/stats.ts';
import type { HealthCheckConfig } from '../../config/model.ts';
import type { Host } from '../host/host.ts';
import { createProber } from './create-prober.ts';
import type { HealthTransition, ProbeResult } from './health-check-state.ts';
import { HostCheckSession, type SessionOwner } from './host-check-session.ts';
import type { ProbeConnection, ProberFactory } from './prober.ts';

/** A host's active health flipped. */
export type HealthListener = (host: Host, healthy: boolean) => void;
/** Every completed check, with the host's health after it. */
export type CheckListener = (host: Host, result: ProbeResult, healthy: boolean) => void;

export interface HealthCheckerOptions {
  stats: Stats;
  logger?: Logger | undefined;
  random?: () => number;
  /** Whether the cluster has carried traffic; until it has, Envoy checks at no_traffic_interval. Absent = always. */
  hadTraffic?: () => boolean;
  /**
   * How a new host starts: 'healthy' (default; failing checks take it out) or 'unhealthy' (Envoy: no traffic until its
   * first check passes, which alone makes it healthy).
   */
  initialHealth?: 'healthy' | 'unhealthy';
  /** Replaces the HTTP / TCP / gRPC probers (tests). */
  createProber?: ProberFactory;
  /** Opens a connection to a host the way its cluster does (mesh mTLS where it takes it); absent: plaintext. */
  connect?: (host: Host) => ProbeConnection;
}

export class HealthChecker implements SessionOwner {
  readonly clusterName: string;
  config: HealthCheckConfig;
  readonly createProber: ProberFactory;
  readonly random: () => number;
  readonly connectTo: ((host: Host) => ProbeConnection) | undefined;
  private readonly sessions = new Map<Host, HostCheckSession>();
  private readonly changeListeners = new Set<HealthListener>();
  private readonly checkListeners = new Set<CheckListener>();
  private readonly options: HealthCheckerOptions;
  private readonly names: Record<
    'attempt' | 'success' | 'failure' | 'network' | 'healthyEdge' | 'unhealthyEdge',
    string
  >;
  private readonly unregisterGauge: () => void;

  constructor(clusterName: string, config: HealthCheckConfig, options: HealthCheckerOptions) {
    this.clusterName = clusterName;
    this.config = config;
    this.options = options;
    this.createProber = options.createProber ?? createProber;
    this.connectTo = options.connect;
    this.random = options.random ?? Math.random;
    const p = `cluster.${clusterName}.health_check.`;
    this.names = {
      attempt: `${p}attempt`,
      success: `${p}success`,
      failure: `${p}failure`,
      network: `${p}network_failure`,
      healthyEdge: `${p}healthy_edge`,
      unhealthyEdge: `${p}unhealthy_edge`,
    };
    this.unregisterGauge = options.stats.gauge(`${p}healthy`, () => this.healthyCount());
  }

  /** The cluster's current hosts (after every EDS change): new hosts start checking, hosts that left stop. */
  setHosts(hosts: Iterable<Host>): void {
    const keep = new Set(hosts);
    for (const [host, session] of this.sessions) {
      if (keep.has(host)) continue;
      session.stop();
      this.sessions.delete(host);
    }
    const healthy = this.options.initialHealth !== 'unhealthy';
    for (const host of keep) {
      if (this.sessions.has(host)) continue;
      const session = new HostCheckSession(host, this, healthy);
      this.sessions.set(host, session);
      session.start();
    }
  }

  /** Active-HC health of a host; hosts this checker does not track count as healthy. */
  isHealthy(host: Host): boolean {
    return this.sessions.get(host)?.state.healthy ?? true;
  }

  onChange(listener: HealthListener): () => void {
    this.changeListeners.add(listener);
    return () => {
      this.changeListeners.delete(listener);
    };
  }

  onCheck(listener: CheckListener): () => void {
    this.checkListeners.add(listener);
    return () => {
      this.checkListeners.delete(listener);
    };
  }

  /** New check config: every host's loop restarts with it, keeping its health. */
  updateConfig(config: HealthCheckConfig): void {
    if (sameConfig(config, this.config)) return;
    this.config = config;
    for (const session of this.sessions.values()) {
      session.stop();
      session.start();
    }
  }

  hadTraffic(): boolean {
    return this.options.hadTraffic?.() ?? true;
  }

  healthyCount(): number {
    let n = 0;
    for (const session of this.sessions.values()) if (session.state.healthy) n++;
    return n;
  }

  /** Stops every check loop (the cluster left the config). */
  close(): void {
    for (const session of this.sessions.values()) session.stop();
    this.sessions.clear();
    this.unregisterGauge();
    this.changeListeners.clear();
    this.checkListeners.clear();
  }

  checkStarted(): void {
    this.options.stats.inc(this.names.attempt);
  }

  checkDone(session: HostCheckSession, result: ProbeResult, transition: HealthTransition): void {
    const { stats, logger } = this.options;
    const host = session.host;
    const healthy = session.state.healthy;
    if (result.ok) stats.inc(this.names.success);
    else {
      stats.inc(this.names.failure);
      if (result.kind === 'network') stats.inc(this.names.network);
    }
    for (const listener of [...this.checkListeners]) this.call(() => listener(host, result, healthy));
    if (transition !== 'changed') return;
    stats.inc(healthy ? this.names.healthyEdge : this.names.unhealthyEdge);
    logger?.info(
      { cluster: this.clusterName, host: host.key, ...(result.ok ? {} : { reason: result.detail }) },
      healthy ? 'health check: host healthy' : 'health check: host unhealthy',
    );
    for (const listener of [...this.changeListeners]) this.call(() => listener(host, healthy));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.logger?.error({ err, cluster: this.clusterName }, 'health check listener failed');
    }
  }
}

function sameConfig(a: HealthCheckConfig, b: HealthCheckConfig): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

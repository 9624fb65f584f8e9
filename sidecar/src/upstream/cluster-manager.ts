// Builds and updates the upstream clusters from each SidecarConfig (CDS + EDS); the ClusterLookup the data path uses.
import type { Logger } from 'pino';
import { Stats } from '../common/stats.ts';
import type { ClusterConfig, LocalityEndpoints, SidecarConfig } from '../config/model.ts';
import type { ClusterLookup } from './cluster.ts';
import type { Dialer } from './dialer.ts';
import type { Host } from './host/host.ts';
import { type LbRegistry, setup as setupLbPolicies } from './lb/lb-registry.ts';
import { UpstreamCluster } from './upstream-cluster.ts';

export interface ClusterManagerOptions {
  stats?: Stats;
  logger?: Logger;
  /** Balancer policies; defaults to a registry with the built-in policies set up. */
  lbRegistry?: LbRegistry;
  /** The sidecar's locality zone (--zone): zone-aware routing keeps traffic there while it has capacity. */
  localZone?: string;
  /** How connections to hosts open (health checks use it; the pools get it from the sidecar too). */
  dialer?: Dialer;
}

type HostsRemovedListener = (cluster: string, hosts: readonly Host[]) => void;

const NO_ENDPOINTS: readonly LocalityEndpoints[] = [];

export class ClusterManager implements ClusterLookup {
  private readonly clusters = new Map<string, UpstreamCluster>();
  /** The endpoint list each cluster was last built from, to skip unchanged clusters cheaply. */
  private readonly applied = new Map<string, readonly LocalityEndpoints[]>();
  private readonly listeners = new Set<HostsRemovedListener>();
  private readonly stats: Stats;
  private readonly logger: Logger | undefined;
  private readonly registry: LbRegistry;
  private localZone: string;
  private readonly dialer: Dialer | undefined;

  constructor(options: ClusterManagerOptions = {}) {
    this.dialer = options.dialer;
    this.stats = options.stats ?? new Stats();
    this.logger = options.logger;
    this.registry = options.lbRegistry ?? setupLbPolicies();
    this.localZone = options.localZone ?? '';
  }

  /** Changes the local zone of every cluster (and of the ones built later); '' turns zone-aware routing off. */
  setLocalZone(zone: string): void {
    this.localZone = zone;
    for (const cluster of this.clusters.values()) cluster.setLocalZone(zone);
  }

  /**
   * Brings the clusters in line with `config`: new clusters are built, changed ones updated in place (hosts that
   * remain keep their object, stats and balancer state), removed ones dropped. Hosts that left are announced
   * through onHostsRemoved after the whole update is applied.
   */
  update(config: SidecarConfig): void {
    const removed: [string, readonly Host[]][] = [];
    for (const [name, clusterConfig] of config.clusters) {
      let cluster = this.clusters.get(name);
      if (cluster === undefined) {
        cluster = new UpstreamCluster(clusterConfig, {
          registry: this.registry,
          stats: this.stats,
          logger: this.logger,
          localZone: this.localZone,
          dialer: this.dialer,
        });
        this.clusters.set(name, cluster);
      } else if (cluster.config !== clusterConfig) {
        cluster.updateConfig(clusterConfig);
      }
      const localities = endpointsOf(clusterConfig, config);
      if (this.applied.get(name) === localities) continue;
      this.applied.set(name, localities);
      const gone = cluster.setEndpoints(localities);
      if (gone.length > 0) removed.push([name, gone]);
    }
    for (const [name, cluster] of this.clusters) {
      if (config.clusters.has(name)) continue;
      this.clusters.delete(name);
      this.applied.delete(name);
      cluster.close();
      const gone = cluster.hosts();
      if (gone.length > 0) removed.push([name, gone]);
    }
    for (const [name, hosts] of removed) this.emitRemoved(name, hosts);
  }

  get(name: string): UpstreamCluster | undefined {
    return this.clusters.get(name);
  }

  /** Every cluster, sorted by name (admin pages). */
  list(): UpstreamCluster[] {
    return [...this.clusters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  onHostsRemoved(listener: HostsRemovedListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private emitRemoved(cluster: string, hosts: readonly Host[]): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(cluster, hosts);
      } catch (err) {
        this.logger?.error({ err, cluster }, 'hosts-removed listener failed');
      }
    }
  }
}

/** A cluster's endpoints: its EDS assignment (by service name, else cluster name) or its static endpoints. */
function endpointsOf(cluster: ClusterConfig, config: SidecarConfig): readonly LocalityEndpoints[] {
  if (cluster.discovery === 'static') return cluster.staticEndpoints;
  const edsName = cluster.edsServiceName !== '' ? cluster.edsServiceName : cluster.name;
  return config.endpoints.get(edsName)?.localities ?? NO_ENDPOINTS;
}

// Test fixtures: a ClusterLookup over real ports — hosts, a round-robin cluster with a request breaker, host removal.
import type { ClusterConfig } from '../config/model.ts';
import { type Cluster, type ClusterLookup, type ClusterStats, newClusterStats } from '../upstream/cluster.ts';
import { type Host, newHostStats } from '../upstream/host/host.ts';
import type { PickContext } from '../upstream/lb/load-balancer.ts';

export class TestHost implements Host {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly weight = 1;
  readonly zone = 'z1';
  readonly priority = 0;
  healthy = true;
  readonly stats = newHostStats();

  constructor(port: number, address = '127.0.0.1') {
    this.address = address;
    this.port = port;
    this.key = `${address}:${port}`;
  }
}

/** Round-robin over healthy hosts, skipping avoided ones while another is available; a counting request breaker. */
export class TestCluster implements Cluster {
  readonly name: string;
  readonly config: ClusterConfig;
  readonly stats: ClusterStats = newClusterStats();
  hostList: TestHost[];
  activeRequests = 0;
  private next = 0;

  constructor(name: string, hosts: TestHost[], config: Partial<ClusterConfig> = {}) {
    this.name = name;
    this.hostList = hosts;
    this.config = {
      name,
      discovery: 'static',
      edsServiceName: name,
      staticEndpoints: [],
      lbPolicy: 'ROUND_ROBIN',
      lbConfig: {},
      connectTimeoutMs: 1000,
      protocol: 'http1',
      circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
      metadata: {},
      version: '1',
      ...config,
    };
  }

  pick(ctx: PickContext): Host | undefined {
    const hosts = this.hostList;
    let fallback: TestHost | undefined;
    for (let i = 0; i < hosts.length; i++) {
      const host = hosts[(this.next + i) % hosts.length] as TestHost;
      if (!host.healthy) continue;
      if (ctx.avoid?.has(host) === true) {
        fallback ??= host;
        continue;
      }
      this.next = (this.next + i + 1) % hosts.length;
      return host;
    }
    if (fallback === undefined) this.stats.noHealthyHost++;
    return fallback;
  }

  hosts(): readonly Host[] {
    return this.hostList;
  }

  tryAcquireRequest(): boolean {
    if (this.activeRequests >= this.config.circuitBreakers.maxRequests) {
      this.stats.overflow++;
      return false;
    }
    this.activeRequests++;
    return true;
  }

  releaseRequest(): void {
    this.activeRequests--;
  }
}

export class TestClusters implements ClusterLookup {
  readonly clusters = new Map<string, TestCluster>();
  private readonly removedListeners = new Set<(cluster: string, hosts: readonly Host[]) => void>();

  /** Adds a cluster over 127.0.0.1 ports. */
  add(name: string, ports: number[], config: Partial<ClusterConfig> = {}): TestCluster {
    const cluster = new TestCluster(
      name,
      ports.map((p) => new TestHost(p)),
      config,
    );
    this.clusters.set(name, cluster);
    return cluster;
  }

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  /** Takes hosts out of a cluster and announces it, like an EDS update would. */
  removeHosts(name: string, ports: number[]): void {
    const cluster = this.clusters.get(name);
    if (cluster === undefined) return;
    const removed = cluster.hostList.filter((h) => ports.includes(h.port));
    cluster.hostList = cluster.hostList.filter((h) => !ports.includes(h.port));
    for (const l of this.removedListeners) l(name, removed);
  }

  onHostsRemoved(listener: (cluster: string, hosts: readonly Host[]) => void): () => void {
    this.removedListeners.add(listener);
    return () => this.removedListeners.delete(listener);
  }
}

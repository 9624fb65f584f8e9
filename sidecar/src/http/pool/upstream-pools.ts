// Per-host upstream connection pools (H1Pool for HTTP/1.1, one h2 session for HTTP/2), closed when hosts leave.

import type { Stats } from '../../common/stats.ts';
import { countUpstreamBytes } from '../../listeners/connection-bytes.ts';
import type { Cluster, ClusterLookup } from '../../upstream/cluster.ts';
import { type Dialed, type Dialer, PLAINTEXT } from '../../upstream/dialer.ts';
import type { Host } from '../../upstream/host/host.ts';
import { clusterStatNames } from '../codec/http-stats.ts';
import { H1Pool } from './h1-pool.ts';
import { H2Connection } from './h2-connection.ts';

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/**
 * Idle keep-alive connections are closed after this unless the cluster's HttpProtocolOptions idle_timeout says
 * otherwise (below node's 5 s server default, so we close first; Envoy's own default is 1 h).
 */
const KEEP_ALIVE_TIMEOUT_MS = 4000;
/** Envoy's default max_connections when a cluster sets none. */
const DEFAULT_MAX_CONNECTIONS = 1024;
const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;

interface ClusterPools {
  h1: Map<string, H1Pool>;
  h2: Map<string, H2Connection>;
}

export class UpstreamPools {
  private readonly byCluster = new Map<string, ClusterPools>();
  private readonly stats: Stats;
  private readonly unsubscribe: () => void;
  /** Pools retired (host removed) but possibly still finishing requests. */
  private readonly retiring = new Set<Promise<void>>();

  private readonly dialer: Dialer;

  /** `dialer`: how connections open (mesh mTLS where a cluster says so; default plaintext). */
  constructor(clusters: ClusterLookup, stats: Stats, dialer: Dialer = PLAINTEXT) {
    this.stats = stats;
    this.dialer = dialer;
    this.unsubscribe = clusters.onHostsRemoved((cluster, hosts) => this.retire(cluster, hosts));
  }

  /** The keep-alive pool of an HTTP/1.1 host, created on first use. */
  h1(cluster: Cluster, host: Host): H1Pool {
    const pools = this.poolsOf(cluster.name);
    let pool = pools.h1.get(host.key);
    if (pool === undefined) {
      pool = this.createPool(cluster, host);
      pools.h1.set(host.key, pool);
    }
    return pool;
  }

  /** The multiplexed session holder of an HTTP/2 host, created on first use. */
  h2(cluster: Cluster, host: Host): H2Connection {
    const pools = this.poolsOf(cluster.name);
    let conn = pools.h2.get(host.key);
    if (conn === undefined) {
      conn = new H2Connection(cluster, host, this.stats, this.dialer);
      pools.h2.set(host.key, conn);
    }
    return conn;
  }

  /** Closes every pool: waits for in-flight requests up to graceMs, then destroys what is left. */
  async close(graceMs: number): Promise<void> {
    this.unsubscribe();
    const all: { h1: H1Pool[]; h2: H2Connection[] } = { h1: [], h2: [] };
    for (const pools of this.byCluster.values()) {
      all.h1.push(...pools.h1.values());
      all.h2.push(...pools.h2.values());
    }
    this.byCluster.clear();
    const graceful = Promise.all([
      ...all.h1.map((p) => p.close()),
      ...all.h2.map((c) => c.close()),
      ...this.retiring,
    ]).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const finished = await Promise.race([graceful, timeout]);
    clearTimeout(timer);
    if (!finished) {
      for (const p of all.h1) p.destroy();
      for (const c of all.h2) c.destroy();
    }
  }

  /** Hosts left a cluster: forget their pools and close them once their in-flight requests are done. */
  private retire(cluster: string, hosts: readonly Host[]): void {
    const pools = this.byCluster.get(cluster);
    if (pools === undefined) return;
    for (const host of hosts) {
      const pool = pools.h1.get(host.key);
      if (pool !== undefined) {
        pools.h1.delete(host.key);
        this.track(pool.close());
      }
      const conn = pools.h2.get(host.key);
      if (conn !== undefined) {
        pools.h2.delete(host.key);
        this.track(conn.close());
      }
    }
  }

  private track(p: Promise<void>): void {
    const done = p
      .catch(() => undefined)
      .then(() => {
        this.retiring.delete(done);
      });
    this.retiring.add(done);
  }

  private poolsOf(cluster: string): ClusterPools {
    let pools = this.byCluster.get(cluster);
    if (pools === undefined) {
      pools = { h1: new Map(), h2: new Map() };
      this.byCluster.set(cluster, pools);
    }
    return pools;
  }

  /**
   * A connection of its own for a CONNECT tunnel (half-close allowed), through the same dialer as the pools: mesh mTLS
   * where the cluster's transport socket says so for this endpoint, so tunnels reach STRICT services too.
   */
  dialTunnel(cluster: Cluster, host: Host): Dialed {
    return this.dialer.dial(cluster, host, { allowHalfOpen: true });
  }

  private createPool(cluster: Cluster, host: Host): H1Pool {
    const { maxConnections: max, maxPendingRequests: pending } = cluster.config.circuitBreakers;
    const names = clusterStatNames(cluster.name);
    return new H1Pool({
      dial: () => this.dialer.dial(cluster, host),
      connectTimeoutMs: cluster.config.connectTimeoutMs || DEFAULT_CONNECT_TIMEOUT_MS,
      idleTimeoutMs: cluster.config.idleTimeoutMs ?? KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: max > 0 && Number.isFinite(max) ? max : DEFAULT_MAX_CONNECTIONS,
      maxPending: pending >= 0 && Number.isFinite(pending) ? pending : DEFAULT_MAX_CONNECTIONS,
      acquireConnection: () => cluster.tryAcquireConnection?.() !== false,
      releaseConnection: () => cluster.releaseConnection?.(),
      maxHeadBytes: MAX_RESPONSE_HEAD_BYTES,
      onConnect: (socket) => {
        host.stats.activeConnections++;
        cluster.stats.upstreamConnections++;
        countUpstreamBytes(this.stats, cluster.name, socket);
      },
      onDisconnect: () => {
        host.stats.activeConnections--;
      },
      onConnectFailure: () => {
        this.stats.inc(names.cxConnectFail);
      },
    });
  }
}

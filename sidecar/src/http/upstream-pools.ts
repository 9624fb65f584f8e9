// Per-host upstream connection pools (undici Pool for HTTP/1.1, one h2 session for HTTP/2), closed when hosts leave.
import net from 'node:net';
import { Pool } from 'undici';
import type { Stats } from '../stats.ts';
import type { Cluster, ClusterLookup } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host.ts';
import { H2Connection } from './h2-connection.ts';
import { clusterStatNames } from './http-stats.ts';

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Idle keep-alive connections are closed after this (below node's 5s server default, so we close first). */
const KEEP_ALIVE_TIMEOUT_MS = 4000;

interface ClusterPools {
  h1: Map<string, Pool>;
  h2: Map<string, H2Connection>;
}

export class UpstreamPools {
  private readonly byCluster = new Map<string, ClusterPools>();
  private readonly stats: Stats;
  private readonly unsubscribe: () => void;
  /** Pools retired (host removed) but possibly still finishing requests. */
  private readonly retiring = new Set<Promise<void>>();

  constructor(clusters: ClusterLookup, stats: Stats) {
    this.stats = stats;
    this.unsubscribe = clusters.onHostsRemoved((cluster, hosts) => this.retire(cluster, hosts));
  }

  /** The keep-alive pool of an HTTP/1.1 host, created on first use. */
  h1(cluster: Cluster, host: Host): Pool {
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
      conn = new H2Connection(cluster, host, this.stats);
      pools.h2.set(host.key, conn);
    }
    return conn;
  }

  /** Closes every pool: waits for in-flight requests up to graceMs, then destroys what is left. */
  async close(graceMs: number): Promise<void> {
    this.unsubscribe();
    const all: { h1: Pool[]; h2: H2Connection[] } = { h1: [], h2: [] };
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
      await Promise.all(all.h1.map((p) => p.destroy().catch(() => undefined)));
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

  private createPool(cluster: Cluster, host: Host): Pool {
    const origin = net.isIPv6(host.address)
      ? `http://[${host.address}]:${host.port}`
      : `http://${host.address}:${host.port}`;
    const maxConnections = cluster.config.circuitBreakers.maxConnections;
    const pool = new Pool(origin, {
      connections: maxConnections > 0 && Number.isFinite(maxConnections) ? maxConnections : null,
      pipelining: 1,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { timeout: cluster.config.connectTimeoutMs || DEFAULT_CONNECT_TIMEOUT_MS, noDelay: true },
    });
    const names = clusterStatNames(cluster.name);
    pool.on('connect', () => {
      host.stats.activeConnections++;
      cluster.stats.upstreamConnections++;
    });
    pool.on('disconnect', () => {
      host.stats.activeConnections--;
    });
    pool.on('connectionError', () => {
      this.stats.inc(names.cxConnectFail);
    });
    return pool;
  }
}

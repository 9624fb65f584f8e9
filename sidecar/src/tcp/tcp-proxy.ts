// The L4 TCP proxy network filter: each accepted connection goes to a weighted cluster's host, bytes both ways.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { type DownstreamAddresses, downstreamAddresses, newConnectionId } from '../common/connection-id.ts';
import type { Stats } from '../common/stats.ts';
import type { TcpProxyConfig } from '../config/model.ts';
import type { ConnectionHandler, ConnectionHandlerFactory } from '../listeners/connection-handler.ts';
import type { LogWriters } from '../observers/access-log/log-writers.ts';
import type { Cluster, ClusterLookup } from '../upstream/cluster.ts';
import { type Dialed, type Dialer, PLAINTEXT } from '../upstream/dialer.ts';
import type { Host } from '../upstream/host/host.ts';
import { pickWeightedCluster } from '../upstream/lb/weighted-cluster.ts';
import { TcpAccessLog } from './tcp-access-log.ts';
import { type SessionOwner, type SessionStats, TcpSession } from './tcp-session.ts';

/** What the TCP proxy needs from the rest of the sidecar. */
export interface TcpDeps {
  clusters: ClusterLookup;
  stats: Stats;
  logger: Logger;
  /** Access log outputs by path (the proxy's `access_log`); absent = TCP access logs are not written. */
  accessLogWriters?: LogWriters;
  /** How upstream connections open (mesh mTLS where a cluster says so); absent = plaintext. */
  dialer?: Dialer;
}

interface ClusterStatNames {
  upstreamTotal: string;
  upstreamConnectFail: string;
  upstreamConnectTimeout: string;
  upstreamRx: string;
  upstreamTx: string;
}

export class TcpProxyHandler implements ConnectionHandler, SessionOwner {
  private readonly config: TcpProxyConfig;
  private readonly deps: TcpDeps;
  private readonly sessions = new Set<TcpSession>();
  private readonly prefix: string;
  private readonly cxTotal: string;
  private readonly noRoute: string;
  private readonly clusterStats = new Map<string, SessionStats>();
  /** The listener's `access_log` (undefined when none): a line per connection. */
  private readonly accessLog: TcpAccessLog | undefined;
  /** Downstream addresses of open sessions, captured at accept when there is an access log. */
  private readonly addresses = new WeakMap<TcpSession, DownstreamAddresses>();
  /** Set once drain() was called: resolves when the last session has closed. */
  private drained: Promise<void> | undefined;
  private deadline: number | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private readonly idleWaiters: (() => void)[] = [];

  /** Opens upstream connections (the sidecar's dialer: mesh mTLS where the cluster says so). */
  dial(cluster: Cluster, host: Host): Dialed {
    return (this.deps.dialer ?? PLAINTEXT).dial(cluster, host, { allowHalfOpen: true });
  }

  constructor(config: TcpProxyConfig, deps: TcpDeps) {
    this.config = config;
    this.deps = deps;
    this.prefix = `tcp.${config.statPrefix}.`;
    this.cxTotal = `${this.prefix}downstream_cx_total`;
    this.noRoute = `${this.prefix}downstream_cx_no_route`;
    const writers = deps.accessLogWriters;
    this.accessLog =
      config.accessLogs.length === 0 || writers === undefined
        ? undefined
        : new TcpAccessLog(config.accessLogs, writers, `tcp_proxy ${config.statPrefix} access_log`);
  }

  handle(socket: Socket): void {
    const deps = this.deps;
    deps.stats.inc(this.cxTotal);
    if (this.drained !== undefined) {
      socket.destroy();
      return;
    }
    const name = pickWeightedCluster(this.config.clusters, this.config.totalWeight);
    const cluster = name === undefined ? undefined : deps.clusters.get(name);
    if (cluster === undefined) {
      deps.stats.inc(this.noRoute);
      deps.logger.debug({ cluster: name, statPrefix: this.config.statPrefix }, 'tcp proxy: no such cluster');
      this.refuse(socket, 'NC', name);
      return;
    }
    if (cluster.tryAcquireConnection?.() === false) {
      this.refuse(socket, 'UO', cluster.name);
      return;
    }
    const host = cluster.pick({});
    if (host === undefined) {
      cluster.releaseConnection?.();
      this.refuse(socket, 'UH', cluster.name);
      return;
    }
    const session = new TcpSession(
      socket,
      {
        cluster,
        host,
        connectTimeoutMs: cluster.config.connectTimeoutMs,
        idleTimeoutMs: this.config.idleTimeoutMs,
      },
      this.statsFor(cluster.name),
      this,
    );
    this.sessions.add(session);
    if (this.accessLog !== undefined) this.addresses.set(session, downstreamAddresses(socket));
  }

  /** Closes a connection the proxy cannot serve, with its access log line (flag NC, UO or UH). */
  private refuse(socket: Socket, flags: string, cluster: string | undefined): void {
    const startMs = performance.now();
    const addresses = this.accessLog === undefined ? undefined : downstreamAddresses(socket);
    socket.destroy();
    if (addresses === undefined) return;
    this.accessLog?.log({
      connectionId: newConnectionId(),
      addresses,
      startTime: Date.now(),
      startMs,
      bytesReceived: 0,
      bytesSent: 0,
      flags,
      cluster,
      upstreamHost: undefined,
    });
  }

  activeConnections(): number {
    return this.sessions.size;
  }

  /**
   * Takes no new connections; open ones may finish until graceMs, then they are closed. A later call with an
   * earlier deadline tightens it (drain(0) closes everything now); all calls resolve when the last one is closed.
   */
  drain(graceMs: number): Promise<void> {
    if (this.drained === undefined) {
      this.drained =
        this.sessions.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    const deadline = Date.now() + graceMs;
    if (this.sessions.size > 0 && (this.deadline === undefined || deadline < this.deadline)) {
      this.deadline = deadline;
      clearTimeout(this.drainTimer);
      if (graceMs <= 0) this.closeAll();
      else this.drainTimer = setTimeout(this.closeAll, graceMs);
    }
    return this.drained;
  }

  sessionClosed(session: TcpSession): void {
    this.sessions.delete(session);
    const addresses = this.addresses.get(session);
    if (addresses !== undefined)
      this.accessLog?.log({
        connectionId: session.connectionId,
        addresses,
        startTime: session.startTime,
        startMs: session.startMs,
        bytesReceived: session.bytesReceived,
        bytesSent: session.bytesSent,
        flags: session.flags,
        cluster: session.cluster.name,
        upstreamHost: session.host.key,
      });
    if (this.sessions.size > 0) return;
    clearTimeout(this.drainTimer);
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private readonly closeAll = (): void => {
    this.drainTimer = undefined;
    for (const session of this.sessions) session.destroy();
  };

  private statsFor(cluster: string): SessionStats {
    let s = this.clusterStats.get(cluster);
    if (s === undefined) {
      const c = `cluster.${cluster}.`;
      const names: ClusterStatNames = {
        upstreamTotal: `${c}upstream_cx_total`,
        upstreamConnectFail: `${c}upstream_cx_connect_fail`,
        upstreamConnectTimeout: `${c}upstream_cx_connect_timeout`,
        upstreamRx: `${c}upstream_cx_rx_bytes_total`,
        upstreamTx: `${c}upstream_cx_tx_bytes_total`,
      };
      s = {
        sink: this.deps.stats,
        downstreamRx: `${this.prefix}downstream_cx_rx_bytes_total`,
        downstreamTx: `${this.prefix}downstream_cx_tx_bytes_total`,
        idleTimeout: `${this.prefix}idle_timeout`,
        ...names,
      };
      this.clusterStats.set(cluster, s);
    }
    return s;
  }
}

/** ConnectionHandlerFactory for listeners whose filter is `{ type: 'tcp' }`. */
export const createTcpHandler: ConnectionHandlerFactory<TcpDeps> = (listener, deps) => {
  if (listener.filter.type !== 'tcp') {
    throw new Error(`listener ${listener.name}: the TCP proxy needs a 'tcp' filter, got '${listener.filter.type}'`);
  }
  return new TcpProxyHandler(listener.filter.tcp, deps);
};

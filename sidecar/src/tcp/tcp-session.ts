// One proxied TCP connection: connect upstream with a timeout, pipe both ways with half-close, count bytes, and tell
// outlier detection how the connect went.
import type { Socket } from 'node:net';
import { newConnectionId } from '../common/connection-id.ts';
import type { Stats } from '../common/stats.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { Dialed } from '../upstream/dialer.ts';
import type { Host } from '../upstream/host/host.ts';

/** Stat names and the sink a session reports to (precomputed per handler / per cluster, not per connection). */
export interface SessionStats {
  sink: Stats;
  /** tcp.<prefix>.* */
  downstreamRx: string;
  downstreamTx: string;
  idleTimeout: string;
  /** cluster.<name>.* */
  upstreamTotal: string;
  upstreamConnectFail: string;
  upstreamConnectTimeout: string;
  upstreamRx: string;
  upstreamTx: string;
}

export interface SessionOwner {
  /** Called once when both sockets are closed. */
  sessionClosed(session: TcpSession): void;
  /** Opens the upstream socket (net.connect; tests substitute one that never connects). */
  /** Opens the upstream connection (plaintext or mesh mTLS, by the cluster's transport socket for the host). */
  dial(cluster: Cluster, host: Host): Dialed;
}

/**
 * Lifecycle: the downstream socket stays paused (the kernel and the stream buffer hold early bytes) until the
 * upstream connects; then `pipe` forwards data both ways, and a FIN from one side becomes `end()` on the other
 * (both sockets are allowHalfOpen). The session ends when both sockets have closed; an error or reset on either
 * side destroys the other. Connect failures close the downstream. The connect outcome ('success', 'connect-failure'
 * or 'timeout') goes to the cluster's outlier detection (Cluster.recordResult), as Envoy's TCP proxy reports it.
 */
export class TcpSession {
  readonly downstream: Socket;
  readonly upstream: Socket;
  readonly cluster: Cluster;
  readonly host: Host;
  /** %CONNECTION_ID% in access logs. */
  readonly connectionId = newConnectionId();
  /** Date.now() and performance.now() at accept, for access logs. */
  readonly startTime = Date.now();
  readonly startMs = performance.now();
  /** Bytes from the client (sent upstream) and to it. */
  bytesReceived = 0;
  bytesSent = 0;
  /** Envoy response flag for the access log: 'UF' when the upstream connect failed or timed out. */
  flags = '';
  private readonly stats: SessionStats;
  private readonly owner: SessionOwner;
  private connectTimer: NodeJS.Timeout | undefined;
  private connected = false;
  private openSockets = 2;
  private done = false;

  constructor(
    downstream: Socket,
    target: { cluster: Cluster; host: Host; connectTimeoutMs: number; idleTimeoutMs: number },
    stats: SessionStats,
    owner: SessionOwner,
  ) {
    this.downstream = downstream;
    this.cluster = target.cluster;
    this.host = target.host;
    this.stats = stats;
    this.owner = owner;
    this.host.stats.activeConnections++;
    this.cluster.stats.upstreamConnections++;
    stats.sink.inc(stats.upstreamTotal);

    downstream.on('error', this.onDownstreamError);
    downstream.on('close', this.onDownstreamClose);
    if (target.idleTimeoutMs > 0) downstream.setTimeout(target.idleTimeoutMs, this.onIdle);

    const dialed = owner.dial(this.cluster, this.host);
    this.upstream = dialed.socket;
    this.upstream.setNoDelay(true);
    this.upstream.on('error', this.onUpstreamError);
    this.upstream.on('close', this.onUpstreamClose);
    this.upstream.once(dialed.ready, this.onConnect);
    if (target.connectTimeoutMs > 0) this.connectTimer = setTimeout(this.onConnectTimeout, target.connectTimeoutMs);
  }

  /** Closes both sides now (drain deadline, shutdown). */
  destroy(): void {
    this.downstream.destroy();
    this.upstream.destroy();
  }

  private readonly onConnect = (): void => {
    this.clearConnectTimer();
    this.connected = true;
    this.cluster.recordResult?.(this.host, { localOrigin: 'success' });
    const { downstream, upstream } = this;
    downstream.setNoDelay(true);
    downstream.on('data', this.onDownstreamData);
    upstream.on('data', this.onUpstreamData);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  };

  private readonly onDownstreamData = (chunk: Buffer): void => {
    const s = this.stats;
    this.bytesReceived += chunk.length;
    s.sink.inc(s.downstreamRx, chunk.length);
    s.sink.inc(s.upstreamTx, chunk.length);
  };

  private readonly onUpstreamData = (chunk: Buffer): void => {
    const s = this.stats;
    this.bytesSent += chunk.length;
    s.sink.inc(s.upstreamRx, chunk.length);
    s.sink.inc(s.downstreamTx, chunk.length);
  };

  private readonly onConnectTimeout = (): void => {
    this.connectTimer = undefined;
    if (this.connected) return;
    this.stats.sink.inc(this.stats.upstreamConnectTimeout);
    this.cluster.recordResult?.(this.host, { localOrigin: 'timeout' });
    this.connectFailed();
  };

  private readonly onUpstreamError = (): void => {
    if (!this.connected) {
      this.clearConnectTimer();
      this.cluster.recordResult?.(this.host, { localOrigin: 'connect-failure' });
      this.connectFailed();
      return;
    }
    this.host.stats.failures++;
    this.downstream.destroy();
  };

  private readonly onDownstreamError = (): void => {
    this.upstream.destroy();
  };

  private readonly onIdle = (): void => {
    this.stats.sink.inc(this.stats.idleTimeout);
    this.destroy();
  };

  private readonly onDownstreamClose = (): void => {
    // A clean close means both directions finished; anything else (reset, destroy) takes the upstream with it.
    if (!this.connected || !this.upstream.writableEnded) this.upstream.destroy();
    this.socketClosed();
  };

  private readonly onUpstreamClose = (): void => {
    this.clearConnectTimer();
    if (!this.connected || !this.downstream.writableEnded) this.downstream.destroy();
    this.socketClosed();
  };

  private connectFailed(): void {
    this.flags = 'UF';
    this.stats.sink.inc(this.stats.upstreamConnectFail);
    this.host.stats.failures++;
    this.upstream.destroy();
    this.downstream.destroy();
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== undefined) {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    }
  }

  private socketClosed(): void {
    if (--this.openSockets > 0 || this.done) return;
    this.done = true;
    this.host.stats.activeConnections--;
    this.cluster.releaseConnection?.();
    this.owner.sessionClosed(this);
  }
}

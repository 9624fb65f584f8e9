// One multiplexed HTTP/2 (h2c) session to an upstream host, reopened after GOAWAY, close or error.

import http2, { type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import net from 'node:net';
import type { Stats } from '../../common/stats.ts';
import { countUpstreamBytes } from '../../listeners/connection-bytes.ts';
import type { Cluster } from '../../upstream/cluster.ts';
import { type Dialer, PLAINTEXT } from '../../upstream/dialer.ts';
import type { Host } from '../../upstream/host/host.ts';
import { clusterStatNames } from '../codec/http-stats.ts';

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** An upstream session with no activity for this long is closed (gracefully); the next request reconnects. */
const IDLE_TIMEOUT_MS = 60_000;

/** Sessions that completed the connection (so a failed stream on one is a reset, not a connect failure). */
const connectedSessions = new WeakSet<ClientHttp2Session>();

export function sessionConnected(session: ClientHttp2Session): boolean {
  return connectedSessions.has(session);
}

export class H2Connection {
  private session: ClientHttp2Session | undefined;
  private closed = false;
  private readonly live = new Set<ClientHttp2Session>();
  private readonly cluster: Cluster;
  private readonly host: Host;
  private readonly stats: Stats;

  private readonly dialer: Dialer;

  constructor(cluster: Cluster, host: Host, stats: Stats, dialer: Dialer = PLAINTEXT) {
    this.cluster = cluster;
    this.host = host;
    this.stats = stats;
    this.dialer = dialer;
  }

  /** Opens a stream, connecting first when there is no usable session (node queues the stream until connected). */
  request(
    headers: OutgoingHttpHeaders,
    endStream: boolean,
  ): { stream: ClientHttp2Stream; session: ClientHttp2Session } {
    const session = this.current();
    return { stream: session.request(headers, { endStream }), session };
  }

  /** Graceful close: GOAWAY, in-flight streams finish, then the sockets close. */
  close(): Promise<void> {
    this.closed = true;
    this.session = undefined;
    const waits = [...this.live].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.destroyed) resolve();
          else s.close(() => resolve());
        }),
    );
    return Promise.all(waits).then(() => undefined);
  }

  /** Destroys every session now (in-flight streams are reset). */
  destroy(): void {
    this.closed = true;
    this.session = undefined;
    for (const s of this.live) s.destroy();
  }

  private current(): ClientHttp2Session {
    const s = this.session;
    if (s !== undefined && !s.closed && !s.destroyed) return s;
    return this.connect();
  }

  private connect(): ClientHttp2Session {
    const { address, port } = this.host;
    const timeoutMs = this.cluster.config.connectTimeoutMs || DEFAULT_CONNECT_TIMEOUT_MS;
    const dialed = this.dialer.dial(this.cluster, this.host, { alpn: ['h2'] });
    const scheme = dialed.tls === undefined ? 'http' : 'https';
    const authority = net.isIPv6(address) ? `${scheme}://[${address}]:${port}` : `${scheme}://${address}:${port}`;
    const socket: net.Socket | undefined = dialed.socket;
    const session = http2.connect(authority, { createConnection: () => dialed.socket });
    this.session = session;
    this.live.add(session);
    const names = clusterStatNames(this.cluster.name);
    const timer = setTimeout(() => {
      const err = Object.assign(new Error('upstream connect timeout'), { code: 'ETIMEDOUT' });
      session.destroy(err);
    }, timeoutMs);
    timer.unref();
    session.once('connect', () => {
      clearTimeout(timer);
      connectedSessions.add(session);
      this.host.stats.activeConnections++;
      this.cluster.stats.upstreamConnections++;
      if (socket !== undefined) countUpstreamBytes(this.stats, this.cluster.name, socket);
    });
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    session.setTimeout(IDLE_TIMEOUT_MS, () => {
      forget();
      session.close();
    });
    session.on('goaway', forget);
    session.on('error', () => {
      forget();
      if (!connectedSessions.has(session)) this.stats.inc(names.cxConnectFail);
    });
    session.once('close', () => {
      clearTimeout(timer);
      forget();
      this.live.delete(session);
      if (connectedSessions.has(session)) this.host.stats.activeConnections--;
    });
    if (this.closed) session.close();
    return session;
  }
}

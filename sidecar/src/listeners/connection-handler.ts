// What a listener hands each accepted connection to: the HTTP connection manager or the TCP proxy.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { LogWriters } from '../access-log/log-writers.ts';
import type { ListenerConfig, RouteConfig } from '../config/model.ts';
import type { ExchangeObserverFactory } from '../http/exchange-observer.ts';
import type { UpstreamPools } from '../http/upstream-pools.ts';
import type { Stats } from '../stats.ts';
import type { ClusterLookup } from '../upstream/cluster.ts';

export interface ConnectionHandler {
  /** Takes ownership of an accepted socket. */
  handle(socket: Socket): void;
  /** Stops taking new requests on open connections, waits for in-flight ones up to graceMs, then closes. */
  drain(graceMs: number): Promise<void>;
  /** Active downstream connections (for /stats and drain). */
  activeConnections(): number;
}

/** Everything a handler needs from the rest of the sidecar; routes are looked up at request time. */
export interface HandlerDeps {
  clusters: ClusterLookup;
  /** The current RouteConfiguration by RDS name (changes live; a request keeps the one it started with). */
  routeConfig(name: string): RouteConfig | undefined;
  stats: Stats;
  logger: Logger;
  /** Observers of HTTP requests (tracing, access logs, metrics); none = nothing observed. */
  observers?: readonly ExchangeObserverFactory[];
  /** Access log outputs by path (TCP proxy `access_log`); absent = TCP access logs are not written. */
  accessLogWriters?: LogWriters;
  /**
   * Upstream connection pools every HTTP listener shares, owned by the sidecar: warm connections survive a listener
   * change. Absent: each HTTP connection manager has pools of its own, closed when it drains.
   */
  pools?: UpstreamPools;
}

export type ConnectionHandlerFactory = (listener: ListenerConfig, deps: HandlerDeps) => ConnectionHandler;

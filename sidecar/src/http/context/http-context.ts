// What every exchange on one HTTP listener shares: config, deps, stat names, upstream pools and the drain state.
import type { Socket } from 'node:net';
import type { Stats } from '../../common/stats.ts';
import type { HttpConnectionManagerConfig, ListenerConfig } from '../../config/model.ts';
import { HttpStatNames } from '../codec/http-stats.ts';
import { FilterChain } from '../filter/chain.ts';
import type { HttpFilterRegistry } from '../filter/registry.ts';
import { REQUEST_BUFFER_LIMIT } from '../message/replayable-body.ts';
import { UpstreamPools } from '../pool/upstream-pools.ts';
import type { CompiledRoute } from '../routing/route-table.ts';
import { RouteTable } from '../routing/route-table.ts';
import { type ExchangeObserver, observerFor } from './exchange-observer.ts';
import type { HttpDeps } from './http-deps.ts';

const kInflight = Symbol('inflight');

/** An in-flight request on an HTTP/1.1 connection, told when the connection goes away under it. */
export interface ConnectionBound {
  downstreamClosed(): void;
}

interface TrackedSocket extends Socket {
  [kInflight]?: ConnectionBound[];
}

export class HttpContext {
  readonly listener: ListenerConfig;
  readonly hcm: HttpConnectionManagerConfig;
  readonly deps: HttpDeps;
  readonly stats: Stats;
  readonly names: HttpStatNames;
  readonly pools: UpstreamPools;
  /** The pools are this connection manager's own (closed when it drains), not the sidecar's shared ones. */
  readonly ownsPools: boolean;
  /** Watches every request on this listener (undefined: nothing observes it, the cheap path). */
  readonly observer: ExchangeObserver | undefined;
  /** The HTTP filters before the router (undefined: the router alone, the fast path). */
  readonly filters: FilterChain | undefined;
  /** Request body bytes read before routing and kept for retries (listener per_connection_buffer_limit_bytes). */
  readonly bufferLimitBytes: number;
  /** Requests routed through this listener and not finished yet (`downstream_rq_active`). */
  activeRequests = 0;
  /** Set by drain(): HTTP/1.1 responses carry Connection: close, idle connections are closed. */
  draining = false;
  /** Called when a drained HTTP/1.1 connection has no request left in flight. */
  onSocketIdle: ((socket: Socket) => void) | undefined;
  private readonly hcmUpgrades: ReadonlySet<string>;
  private readonly tunnels = new WeakSet<Socket>();

  /** `filters`: the HTTP filter types; absent = a connection manager with HTTP filters cannot be built. */
  constructor(
    listener: ListenerConfig,
    hcm: HttpConnectionManagerConfig,
    deps: HttpDeps,
    filters?: HttpFilterRegistry,
  ) {
    this.listener = listener;
    this.hcm = hcm;
    this.deps = deps;
    this.stats = deps.stats;
    this.names = new HttpStatNames(hcm.statPrefix);
    this.pools = deps.pools ?? new UpstreamPools(deps.clusters, deps.stats);
    this.ownsPools = deps.pools === undefined;
    this.observer = deps.observers === undefined ? undefined : observerFor(deps.observers, listener, hcm);
    this.filters = FilterChain.compile(hcm.httpFilters, filters, {
      stats: deps.stats,
      statPrefix: hcm.statPrefix,
      logger: deps.logger,
    });
    this.bufferLimitBytes = listener.bufferLimitBytes ?? REQUEST_BUFFER_LIMIT;
    this.hcmUpgrades = new Set(hcm.upgrades.map((u) => u.toLowerCase()));
    this.onSocketIdle = undefined;
  }

  /** The compiled routes in force now: inline, or the current RDS config (undefined when not (yet) known). */
  routeTable(): RouteTable | undefined {
    const config =
      this.hcm.routeConfig ??
      (this.hcm.routeConfigName === undefined ? undefined : this.deps.routeConfig(this.hcm.routeConfigName));
    return config === undefined ? undefined : RouteTable.for(config);
  }

  /** An upgrade ('websocket', 'connect') is allowed when the connection manager or the route enables it. */
  upgradeAllowed(route: CompiledRoute, type: 'websocket' | 'connect'): boolean {
    return this.hcmUpgrades.has(type) || route.upgrades.has(type);
  }

  /**
   * Per-connection in-flight requests (HTTP/1.1): one 'close' listener per connection tells them all when it dies
   * (cheaper than a listener per response), and drain can close idle keep-alive connections at once.
   */
  requestStarted(socket: Socket, request: ConnectionBound): void {
    const s = socket as TrackedSocket;
    const list = s[kInflight];
    if (list === undefined) s[kInflight] = [request];
    else list.push(request);
  }

  requestFinished(socket: Socket, request: ConnectionBound): void {
    const list = (socket as TrackedSocket)[kInflight];
    if (list === undefined) return;
    if (list.length === 1 && list[0] === request) list.pop();
    else {
      const i = list.indexOf(request);
      if (i >= 0) list.splice(i, 1);
    }
    if (list.length === 0 && this.draining) this.onSocketIdle?.(socket);
  }

  /** The connection closed: every request still on it is over. */
  static socketClosed(socket: Socket): void {
    const list = (socket as TrackedSocket)[kInflight];
    if (list === undefined || list.length === 0) return;
    (socket as TrackedSocket)[kInflight] = [];
    for (const request of list) request.downstreamClosed();
  }

  /** Marks a connection that left HTTP (upgrade, CONNECT): drain must not close it as idle. */
  markTunnel(socket: Socket): void {
    this.tunnels.add(socket);
  }

  isTunnel(socket: Socket): boolean {
    return this.tunnels.has(socket);
  }

  static inflight(socket: Socket): number {
    return (socket as TrackedSocket)[kInflight]?.length ?? 0;
  }
}

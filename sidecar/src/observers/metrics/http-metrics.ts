// Built-in request metrics of every HTTP listener (an ExchangeObserverFactory): latency histograms downstream, per
// upstream attempt and per route, active requests, per-route and per-endpoint status classes, body bytes per cluster.

import type { Histogram } from '../../common/histogram.ts';
import type { Stats } from '../../common/stats.ts';
import type { HttpConnectionManagerConfig, ListenerConfig } from '../../config/model.ts';
import type {
  AttemptOutcome,
  ExchangeObserver,
  ExchangeObserverFactory,
  ExchangeSummary,
  ObservedRequest,
  RequestObserver,
} from '../../http/context/exchange-observer.ts';
import type { HeaderList } from '../../http/message/header-list.ts';
import type { CompiledRoute } from '../../http/routing/route-table.ts';
import type { Host } from '../../upstream/host/host.ts';

const CLASSES = ['0', '1', '2', '3', '4', '5'] as const;

/** Status class index: 1-5, 0 for anything else (0 = no response). */
export function statusClass(status: number): number {
  const c = (status / 100) | 0;
  return c >= 1 && c <= 5 ? c : 0;
}

/** `cluster.<name>.upstream_rq_time` and body bytes through the HTTP router (created once per cluster name). */
class ClusterMetrics {
  readonly rqTime: Histogram;
  rxBodyBytes = 0;
  txBodyBytes = 0;

  constructor(stats: Stats, cluster: string) {
    const p = `cluster.${cluster}.`;
    this.rqTime = stats.histogram(`${p}upstream_rq_time`);
    stats.counterFn(`${p}upstream_rq_rx_body_bytes_total`, () => this.rxBodyBytes);
    stats.counterFn(`${p}upstream_rq_tx_body_bytes_total`, () => this.txBodyBytes);
  }
}

/** `vhost.<vhost>.route.<route>.*`, tagged envoy_virtual_host / envoy_route (names may hold any character). */
class RouteMetrics {
  readonly rqTime: Histogram;
  readonly classes = [0, 0, 0, 0, 0, 0];
  total = 0;

  constructor(stats: Stats, vhost: string, route: string) {
    const p = `vhost.${vhost}.route.${route}.`;
    const labels = [
      ['envoy_virtual_host', vhost],
      ['envoy_route', route],
    ] as const;
    this.rqTime = stats.histogram(`${p}upstream_rq_time`);
    stats.tag(`${p}upstream_rq_time`, { family: 'envoy_vhost_route_upstream_rq_time', labels });
    stats.counterFn(`${p}upstream_rq_total`, () => this.total);
    stats.tag(`${p}upstream_rq_total`, { family: 'envoy_vhost_route_upstream_rq_total', labels });
    for (let c = 1; c < CLASSES.length; c++) {
      const name = `${p}upstream_rq_${CLASSES[c]}xx`;
      stats.counterFn(name, () => this.classes[c] as number);
      stats.tag(name, {
        family: 'envoy_vhost_route_upstream_rq_xx',
        labels: [...labels, ['envoy_response_code_class', CLASSES[c] as string]],
      });
    }
  }

  record(status: number, ms: number): void {
    this.total++;
    const c = statusClass(status);
    if (c !== 0) this.classes[c] = (this.classes[c] as number) + 1;
    this.rqTime.observe(ms);
  }
}

/** One connection manager stat prefix: `http.<prefix>.downstream_rq_time` (downstream_rq_active is the handler's). */
class ListenerMetrics implements ExchangeObserver {
  readonly rqTime: Histogram;
  readonly owner: HttpMetrics;

  constructor(owner: HttpMetrics, stats: Stats, statPrefix: string) {
    this.owner = owner;
    const p = `http.${statPrefix}.`;
    this.rqTime = stats.histogram(`${p}downstream_rq_time`);
  }

  begin(_request: ObservedRequest): RequestObserver {
    return new RequestMetrics(this);
  }
}

/** One request's state: its cluster's metrics and when the current attempt started. */
class RequestMetrics implements RequestObserver {
  private readonly listener: ListenerMetrics;
  private cluster: ClusterMetrics | undefined = undefined;
  private attemptStartMs = 0;

  constructor(listener: ListenerMetrics) {
    this.listener = listener;
  }

  routed(_route: CompiledRoute | undefined, cluster: string | undefined): void {
    if (cluster !== undefined) this.cluster = this.listener.owner.cluster(cluster);
  }

  attemptStart(_host: Host, _attempt: number, _headers: HeaderList): void {
    this.attemptStartMs = performance.now();
  }

  attemptEnd(host: Host, outcome: AttemptOutcome): void {
    if (!('status' in outcome)) return;
    this.cluster?.rqTime.observe(performance.now() - this.attemptStartMs);
    const classes = host.stats.responseClasses;
    const c = statusClass(outcome.status);
    classes[c] = (classes[c] as number) + 1;
  }

  end(summary: ExchangeSummary): void {
    const listener = this.listener;
    const ms = summary.endMs - summary.startMs;
    listener.rqTime.observe(ms);
    const cluster = this.cluster;
    if (cluster !== undefined) {
      cluster.txBodyBytes += summary.bytesReceived;
      cluster.rxBodyBytes += summary.bytesSent;
    }
    const vhost = summary.virtualHost;
    if (vhost !== undefined && vhost !== '') listener.owner.route(vhost, summary.routeName).record(summary.status, ms);
  }
}

/**
 * The metrics observer factory (one per Stats): listener, cluster and route metrics are created once per name and
 * shared by every listener with that stat prefix (stats are by name, as in Envoy, so a listener replaced by a config
 * update keeps counting into the same series).
 */
export class HttpMetrics implements ExchangeObserverFactory {
  private readonly stats: Stats;
  private readonly listeners = new Map<string, ListenerMetrics>();
  private readonly clusters = new Map<string, ClusterMetrics>();
  private readonly vhosts = new Map<string, Map<string, RouteMetrics>>();

  constructor(stats: Stats) {
    this.stats = stats;
  }

  forHttp(_listener: ListenerConfig, hcm: HttpConnectionManagerConfig): ExchangeObserver {
    let l = this.listeners.get(hcm.statPrefix);
    if (l === undefined) {
      l = new ListenerMetrics(this, this.stats, hcm.statPrefix);
      this.listeners.set(hcm.statPrefix, l);
    }
    return l;
  }

  cluster(name: string): ClusterMetrics {
    let c = this.clusters.get(name);
    if (c === undefined) {
      c = new ClusterMetrics(this.stats, name);
      this.clusters.set(name, c);
    }
    return c;
  }

  route(vhost: string, route: string): RouteMetrics {
    let routes = this.vhosts.get(vhost);
    if (routes === undefined) {
      routes = new Map();
      this.vhosts.set(vhost, routes);
    }
    let r = routes.get(route);
    if (r === undefined) {
      r = new RouteMetrics(this.stats, vhost, route);
      routes.set(route, r);
    }
    return r;
  }
}

// top's arithmetic: per-service request rate, success rate, latency percentiles and upstream split from two snapshots.
import { type MeshSnapshot, type ProxySnapshot, type SnapshotSample, TOP_METRICS } from './mesh-snapshot.ts';

export interface UpstreamShare {
  /** The outbound cluster callers used, e.g. orders|8080|v1. */
  cluster: string;
  rps: number;
  /** Fraction (0-1) of the service's upstream requests that went to this cluster. */
  share: number;
}

export interface ServiceStats {
  service: string;
  /** Proxies of the service that answered in the second snapshot. */
  proxies: number;
  /** Requests per second its proxies served (inbound). */
  rps: number;
  /** Fraction (0-1) of those that were not 5xx; null without requests. */
  successRate: number | null;
  /** Inbound request time percentiles (ms) from histogram bucket deltas; null without the histogram or requests. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** How callers' requests to the service split over its clusters (ports, subsets), largest first. */
  upstreams: UpstreamShare[];
  /** Hosts of the service currently ejected by outlier detection, summed over callers. */
  ejectionsActive: number;
  /** TCP services: connections per second its proxies accepted (inbound); null when it has no inbound TCP proxy. */
  tcpCxPerSecond: number | null;
  /** TCP services: bytes per second both ways through those connections; null as above. */
  tcpBytesPerSecond: number | null;
}

function seriesKey(s: SnapshotSample): string {
  const labels = Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${s.name}{${labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
}

/**
 * Counter increases of one proxy between snapshots: a series absent before counts from 0 (Envoy-style stats appear
 * on first use); a value that went down (the proxy restarted) counts from 0 again.
 */
function increases(before: ProxySnapshot, after: ProxySnapshot): SnapshotSample[] {
  const old = new Map(before.samples.map((s) => [seriesKey(s), s.value]));
  return after.samples.map((s) => {
    const prev = old.get(seriesKey(s)) ?? 0;
    return { ...s, value: s.value >= prev ? s.value - prev : s.value };
  });
}

/** The service a cluster name belongs to (`svc|port[|subset]`); undefined for the inbound cluster and others. */
export function serviceOfCluster(cluster: string): string | undefined {
  const parts = cluster.split('|');
  if (parts.length < 2 || parts[0] === 'inbound' || !/^\d+$/.test(parts[1] ?? '')) return undefined;
  return parts[0];
}

/**
 * Prometheus' histogram_quantile over cumulative buckets ({le, count}): linear interpolation inside the bucket that
 * holds the rank; the +Inf bucket answers with the highest finite bound. Null when there is no observation.
 */
export function histogramQuantile(q: number, buckets: readonly { le: number; count: number }[]): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (sorted.length === 0 || total <= 0 || sorted.at(-1)?.le !== Number.POSITIVE_INFINITY) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [i, b] of sorted.entries()) {
    if (b.count >= rank) {
      if (b.le === Number.POSITIVE_INFINITY) return i === 0 ? null : (sorted[i - 1]?.le ?? null);
      if (b.count === lowerCount) return b.le;
      return lowerBound + ((b.le - lowerBound) * (rank - lowerCount)) / (b.count - lowerCount);
    }
    lowerBound = b.le;
    lowerCount = b.count;
  }
  return null;
}

interface Accumulator {
  proxies: number;
  requests: number;
  failures: number;
  buckets: Map<number, number>;
  clusters: Map<string, number>;
  ejections: number;
  /** Inbound TCP proxy series seen (the service is served over TCP), connections and bytes in the interval. */
  tcp: boolean;
  tcpConnections: number;
  tcpBytes: number;
}

function accumulator(): Accumulator {
  return {
    proxies: 0,
    requests: 0,
    failures: 0,
    buckets: new Map(),
    clusters: new Map(),
    ejections: 0,
    tcp: false,
    tcpConnections: 0,
    tcpBytes: 0,
  };
}

function isInbound(s: SnapshotSample): boolean {
  return s.labels['envoy_http_conn_manager_prefix'] === 'inbound';
}

function isInboundTcp(s: SnapshotSample): boolean {
  return s.labels['envoy_tcp_prefix'] === 'inbound';
}

/** Per-service figures over the interval between `before` and `after` (sorted by service name). */
export function serviceStats(before: MeshSnapshot, after: MeshSnapshot): ServiceStats[] {
  const seconds = (after.atMs - before.atMs) / 1000;
  const byService = new Map<string, Accumulator>();
  const acc = (service: string): Accumulator => {
    let a = byService.get(service);
    if (!a) {
      a = accumulator();
      byService.set(service, a);
    }
    return a;
  };
  const previous = new Map(before.proxies.filter((p) => p.error === '').map((p) => [p.nodeId, p]));
  for (const proxy of after.proxies) {
    if (proxy.error !== '') continue;
    if (proxy.service !== '') acc(proxy.service).proxies += 1;
    for (const s of proxy.samples) {
      if (s.name !== TOP_METRICS.ejectionsActive) continue;
      const service = serviceOfCluster(s.labels['envoy_cluster_name'] ?? '');
      if (service !== undefined) acc(service).ejections += s.value;
    }
    const prev = previous.get(proxy.nodeId);
    if (!prev) continue;
    for (const s of increases(prev, proxy)) {
      if (s.name === TOP_METRICS.downstreamRqXx && isInbound(s) && proxy.service !== '') {
        const a = acc(proxy.service);
        a.requests += s.value;
        if (s.labels['envoy_response_code_class'] === '5') a.failures += s.value;
      } else if (s.name === TOP_METRICS.downstreamRqTimeBucket && isInbound(s) && proxy.service !== '') {
        const le = s.labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels['le']);
        if (Number.isNaN(le)) continue;
        const a = acc(proxy.service);
        a.buckets.set(le, (a.buckets.get(le) ?? 0) + s.value);
      } else if (s.name === TOP_METRICS.tcpDownstreamCx && isInboundTcp(s) && proxy.service !== '') {
        const a = acc(proxy.service);
        a.tcp = true;
        a.tcpConnections += s.value;
      } else if (
        (s.name === TOP_METRICS.tcpDownstreamRxBytes || s.name === TOP_METRICS.tcpDownstreamTxBytes) &&
        isInboundTcp(s) &&
        proxy.service !== ''
      ) {
        const a = acc(proxy.service);
        a.tcp = true;
        a.tcpBytes += s.value;
      } else if (s.name === TOP_METRICS.upstreamRqXx) {
        const cluster = s.labels['envoy_cluster_name'] ?? '';
        const service = serviceOfCluster(cluster);
        if (service === undefined) continue;
        const a = acc(service);
        a.clusters.set(cluster, (a.clusters.get(cluster) ?? 0) + s.value);
      }
    }
  }
  return [...byService.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([service, a]) => {
      const buckets = [...a.buckets].map(([le, count]) => ({ le, count }));
      const upstreamTotal = [...a.clusters.values()].reduce((x, y) => x + y, 0);
      const upstreams = [...a.clusters.entries()]
        .filter(([, n]) => n > 0)
        .map(([cluster, n]) => ({ cluster, rps: rate(n, seconds), share: n / upstreamTotal }))
        .sort((x, y) => y.share - x.share || (x.cluster < y.cluster ? -1 : 1));
      return {
        service,
        proxies: a.proxies,
        rps: rate(a.requests, seconds),
        successRate: a.requests > 0 ? (a.requests - a.failures) / a.requests : null,
        p50Ms: histogramQuantile(0.5, buckets),
        p99Ms: histogramQuantile(0.99, buckets),
        upstreams,
        ejectionsActive: a.ejections,
        tcpCxPerSecond: a.tcp ? rate(a.tcpConnections, seconds) : null,
        tcpBytesPerSecond: a.tcp ? rate(a.tcpBytes, seconds) : null,
      };
    });
}

function rate(count: number, seconds: number): number {
  return seconds > 0 ? count / seconds : 0;
}

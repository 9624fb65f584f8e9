// The /clusters admin page: Envoy-style `cluster::host::stat::value` text, or JSON with ?format=json.
import { circuitBreakersOf } from '../upstream/circuit-breaker.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host.ts';

/** Envoy's health_flags: 'healthy', or the reasons a host takes no traffic. */
function healthFlags(host: Host): string {
  return host.healthy ? 'healthy' : '/eds_health_failed';
}

function hostStats(host: Host): [string, number][] {
  const s = host.stats;
  return [
    ['cx_active', s.activeConnections],
    ['rq_active', s.activeRequests],
    ['rq_total', s.totalRequests],
    ['rq_error', s.failures],
  ];
}

/** Envoy's text format: thresholds and counters per cluster, then one line per host statistic. */
export function clustersText(clusters: readonly Cluster[]): string {
  const lines: string[] = [];
  for (const c of clusters) {
    const cb = circuitBreakersOf(c.config.circuitBreakers);
    const n = c.name;
    lines.push(
      `${n}::default_priority::max_connections::${cb.maxConnections}`,
      `${n}::default_priority::max_pending_requests::${cb.maxPendingRequests}`,
      `${n}::default_priority::max_requests::${cb.maxRequests}`,
      `${n}::default_priority::max_retries::${cb.maxRetries}`,
      `${n}::lb_policy::${c.config.lbPolicy}`,
      `${n}::upstream_rq_total::${c.stats.upstreamRequests}`,
      `${n}::upstream_cx_total::${c.stats.upstreamConnections}`,
      `${n}::upstream_rq_overflow::${c.stats.overflow}`,
      `${n}::upstream_cx_none_healthy::${c.stats.noHealthyHost}`,
    );
    for (const h of c.hosts()) {
      const p = `${n}::${h.key}::`;
      for (const [name, value] of hostStats(h)) lines.push(`${p}${name}::${value}`);
      lines.push(
        `${p}health_flags::${healthFlags(h)}`,
        `${p}weight::${h.weight}`,
        `${p}zone::${h.zone}`,
        `${p}priority::${h.priority}`,
      );
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The same information shaped like Envoy's /clusters?format=json. */
export function clustersJson(clusters: readonly Cluster[]): Record<string, unknown> {
  return {
    cluster_statuses: clusters.map((c) => {
      const cb = circuitBreakersOf(c.config.circuitBreakers);
      return {
        name: c.name,
        added_via_api: true,
        lb_policy: c.config.lbPolicy,
        circuit_breakers: {
          thresholds: [
            {
              priority: 'DEFAULT',
              max_connections: cb.maxConnections,
              max_pending_requests: cb.maxPendingRequests,
              max_requests: cb.maxRequests,
              max_retries: cb.maxRetries,
            },
          ],
        },
        stats: {
          upstream_rq_total: c.stats.upstreamRequests,
          upstream_cx_total: c.stats.upstreamConnections,
          upstream_rq_overflow: c.stats.overflow,
          upstream_cx_none_healthy: c.stats.noHealthyHost,
        },
        host_statuses: c.hosts().map((h) => ({
          address: { socket_address: { address: h.address, port_value: h.port } },
          stats: hostStats(h).map(([name, value]) => ({ name, value })),
          health_status: { eds_health_status: h.healthy ? 'HEALTHY' : 'UNHEALTHY' },
          weight: h.weight,
          locality: { zone: h.zone },
          priority: h.priority,
        })),
      };
    }),
  };
}
